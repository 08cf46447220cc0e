/*
 * A linear layer and its activation as one op: y = act(x @ w^T + b).
 *
 * Separately, cg_linear writes z, cg_relu reads z and writes y, and backward
 * zeroes dL/dz, adds dL/dy * act'(z) into it, then runs the GEMMs. Fused, z
 * is activated in place (one buffer, one pass fewer), and backward writes
 * dz = dy * act'(y) straight into arena scratch (no zeroing, no read-back)
 * before the same GEMMs. Every expression is the one the separate ops use, so
 * the numbers are the same bits.
 *
 * The derivative comes from the output: relu' = (y > 0), sigmoid' = y(1-y),
 * tanh' = 1 - y^2, leaky_relu' = (y > 0 ? 1 : slope), which needs
 * sign(y) = sign(z), true for a slope > 0. x: [B, I], w: [O, I], b: [O] or
 * NULL -> y: [B, O]. docs/MATH.md derives each.
 */
#include <string.h>

#include "internal.h"

struct linear_act_ctx {
    enum cg_act act;
    cg_float    slope;
    cg_float   *dz;     /* [B, O] scratch for backward, taken in forward so
                           that running out of memory is reported there */
    struct cg__deferred_grad deferred;
};

/* y = act(y) in place: the same expressions as activation.c. */
static void activate(cg_float *restrict y, size_t n, enum cg_act act, cg_float slope)
{
    switch (act) {
    case CG_ACT_RELU:
        for (size_t i = 0; i < n; i++)
            y[i] = y[i] > 0 ? y[i] : 0;
        break;
    case CG_ACT_LEAKY_RELU:
        for (size_t i = 0; i < n; i++)
            y[i] = y[i] > 0 ? y[i] : slope * y[i];
        break;
    case CG_ACT_SIGMOID:
        for (size_t i = 0; i < n; i++)
            y[i] = 1 / (1 + cg__exp(-y[i]));
        break;
    case CG_ACT_TANH:
        for (size_t i = 0; i < n; i++)
            y[i] = cg__tanh(y[i]);
        break;
    default:
        break;
    }
}

/* dz = dy * act'(y), written (not added): dz is fresh scratch. */
static void activation_grad(cg_float *restrict dz, const cg_float *restrict dy,
                            const cg_float *restrict y, size_t n,
                            enum cg_act act, cg_float slope)
{
    switch (act) {
    /* Both sides loaded before the select, so gcc if-converts and vectorizes. */
    case CG_ACT_RELU:
        for (size_t i = 0; i < n; i++) {
            cg_float g = dy[i];
            dz[i] = y[i] > 0 ? g : 0;
        }
        break;
    case CG_ACT_LEAKY_RELU:
        for (size_t i = 0; i < n; i++) {
            cg_float g = dy[i];
            dz[i] = y[i] > 0 ? g : slope * g;
        }
        break;
    case CG_ACT_SIGMOID:
        for (size_t i = 0; i < n; i++)
            dz[i] = dy[i] * y[i] * (1 - y[i]);
        break;
    case CG_ACT_TANH:
        for (size_t i = 0; i < n; i++)
            dz[i] = dy[i] * (1 - y[i] * y[i]);
        break;
    default:
        memcpy(dz, dy, n * sizeof *dz);
        break;
    }
}

static void linear_act_backward(cg_tensor *out)
{
    struct linear_act_ctx *c = cg_op_ctx(out);
    cg_float *dz = out->grad;

    if (c->act != CG_ACT_NONE) {
        dz = c->dz;
        activation_grad(dz, out->grad, out->data, out->size, c->act, c->slope);
    }
    cg__linear_grads(out, &c->deferred, dz);
}

cg_tensor *cg_linear_act(cg_graph *g, cg_tensor *x, cg_tensor *w, cg_tensor *b,
                         enum cg_act act, cg_float negative_slope)
{
    struct linear_act_ctx *ctx;
    cg_tensor *y;

    if (!g)
        return cg__fail_null(CG_ERR_ARG, "cg_linear_act: graph is NULL");
    if (!x || !w)
        return NULL;
    if (act != CG_ACT_NONE && act != CG_ACT_RELU && act != CG_ACT_SIGMOID &&
        act != CG_ACT_TANH && !(act == CG_ACT_LEAKY_RELU && negative_slope > 0))
        return cg__fail_null(CG_ERR_ARG, "cg_linear_act: activation %d (slope %g) cannot "
                             "be fused: use cg_linear and the activation's op", (int)act,
                             (double)negative_slope);
    if (cg__linear_check("cg_linear_act", x, w, b) != CG_OK)
        return NULL;
    y = cg__op(g, "linear_act", 2, (int[]){x->shape[0], w->shape[0]},
               (cg_tensor *[]){x, w, b}, 3, linear_act_backward, sizeof *ctx, (void **)&ctx);
    if (!y)
        return NULL;
    if (ctx) {
        ctx->act = act;
        ctx->slope = negative_slope;
        ctx->dz = NULL;
        if (act != CG_ACT_NONE &&
            !(ctx->dz = cg_arena_alloc(cg_graph_arena(g), y->size * sizeof(cg_float))))
            return NULL;
    }
    cg__linear_forward(x, w, b, y->data);
    activate(y->data, y->size, act, negative_slope);
    return y;
}
