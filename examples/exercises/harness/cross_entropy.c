/* The cross-entropy exercise: L = -(1/B) sum_n log softmax(z)[n][y_n] on
 * logits z: [4, 3], fused with log-softmax as cg_cross_entropy is. */
#include <math.h>

#include "harness.h"

static const int labels[4] = {2, 0, 1, 2};

struct ce_ctx {
    cg_tensor *p;   /* [B, C] softmax(z), saved by the forward */
};

static void backward(cg_tensor *out)
{
    const struct ce_ctx *c = cg_op_ctx(out);
    cg_tensor *z = cg_op_input(out, 0);

    cross_entropy_backward(z->shape[0], z->shape[1], c->p->data, labels, out->grad[0],
                           z->grad);
}

static cg_tensor *f(cg_graph *g, cg_tensor *const *in, void *ctx)
{
    int B = in[0]->shape[0], C = in[0]->shape[1];
    cg_tensor *p = cg_graph_tensor(g, 2, in[0]->shape);
    cg_tensor *loss = p ? cg_op_new(g, "cross_entropy", 0, NULL, in, 1, backward,
                                    sizeof(struct ce_ctx)) : NULL;
    double total = 0;

    (void)ctx;
    if (!loss)
        return NULL;
    ((struct ce_ctx *)cg_op_ctx(loss))->p = p;
    for (int n = 0; n < B; n++) {
        const double *z = in[0]->data + n * C;
        double m = z[0], sum = 0;
        for (int c = 1; c < C; c++)
            m = z[c] > m ? z[c] : m;
        for (int c = 0; c < C; c++)
            sum += exp(z[c] - m);
        for (int c = 0; c < C; c++)
            p->data[n * C + c] = exp(z[c] - m) / sum;
        total += m + log(sum) - z[labels[n]];   /* -log softmax(z)[y] */
    }
    loss->data[0] = total / B;
    return loss;
}

const struct exercise exercise = {
    "Exercise cross_entropy: dL/dz of cross-entropy fused with log-softmax",
    "docs/MATH.md, Cross-entropy fused with log-softmax", 1, {{4, 3}}, {"logits"}, WIDE, f,
    NULL};
