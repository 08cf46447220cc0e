/*
 * Inverted dropout (torch.nn.functional.dropout): x: any shape -> y: same.
 *
 * In training mode each element is zeroed with probability p and the others
 * are scaled by 1/(1-p), so that the expected value of y is x and eval mode
 * needs no rescaling. docs/MATH.md has the derivation.
 */
#include "internal.h"

/* y = x * m with m_i = 0 (probability p) or 1/(1-p); dL/dx = dy * m.
 * ctx: a pointer to the mask m in the graph's arena. */
static void dropout_backward(cg_tensor *out)
{
    cg_float *dx = cg__grad(cg_op_input(out, 0));
    const cg_float *m = *(cg_float *const *)cg_op_ctx(out);

    if (dx)
        for (size_t i = 0; i < out->size; i++)
            dx[i] += out->grad[i] * m[i];
}

/* In eval mode, or with p = 0, the result is x itself (not a copy): the
 * identity costs nothing and its gradient flows straight to x. The rng is
 * then not used. In training mode the rng gives one cg_rng_uniform per
 * element, in order; an element is dropped when that draw is below p. */
cg_tensor *cg_dropout(cg_graph *g, cg_tensor *x, cg_float p, cg_rng *rng)
{
    cg_float scale, *mask = NULL;
    cg_tensor *y;
    void *ctx;

    if (!g)
        return cg__fail_null(CG_ERR_ARG, "cg_dropout: graph is NULL");
    if (!x)
        return NULL;
    if (!(p >= 0 && p < 1))
        return cg__fail_null(CG_ERR_ARG, "cg_dropout: p is %g, must be in [0, 1)", (double)p);
    if (!cg_graph_training(g) || p == 0)
        return x;
    if (!rng)
        return cg__fail_null(CG_ERR_ARG, "cg_dropout: rng is NULL");
    y = cg__op(g, "dropout", x->ndim, x->shape, &x, 1, dropout_backward, sizeof mask, &ctx);
    if (!y)
        return NULL;
    if (ctx) {
        mask = cg_arena_alloc(cg_graph_arena(g), (x->size ? x->size : 1) * sizeof *mask);
        if (!mask)
            return NULL;
        *(cg_float **)ctx = mask;
    }
    scale = 1 / (1 - p);
    for (size_t i = 0; i < x->size; i++) {
        cg_float m = cg_rng_uniform(rng) < (double)p ? 0 : scale;
        if (mask)
            mask[i] = m;
        y->data[i] = x->data[i] * m;
    }
    return y;
}
