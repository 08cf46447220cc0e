/* The linear exercise: y = x @ w^T + b with x: [4, 3], w: [5, 3], b: [5]
 * (torch.nn.functional.linear). w is not square, so a transposed index
 * cannot pass by luck. */
#include "harness.h"

static void backward(cg_tensor *out)
{
    cg_tensor *x = cg_op_input(out, 0), *w = cg_op_input(out, 1), *b = cg_op_input(out, 2);

    linear_backward(x->shape[0], x->shape[1], w->shape[0], x->data, w->data, out->grad,
                    x->grad, w->grad, b->grad);
}

static cg_tensor *f(cg_graph *g, cg_tensor *const *in, void *ctx)
{
    int B = in[0]->shape[0], I = in[0]->shape[1], O = in[1]->shape[0];
    cg_tensor *y = cg_op_new(g, "linear", 2, (int[]){B, O}, in, 3, backward, 0);

    (void)ctx;
    if (!y)
        return NULL;
    for (int n = 0; n < B; n++)
        for (int o = 0; o < O; o++) {
            double acc = in[2]->data[o];
            for (int i = 0; i < I; i++)
                acc += in[0]->data[n * I + i] * in[1]->data[o * I + i];
            y->data[n * O + o] = acc;
        }
    return y;
}

const struct exercise exercise = {
    "Exercise linear: dx, dw and db of y = x @ w^T + b",
    "docs/MATH.md, Arithmetic (matmul, linear)", 3, {{4, 3}, {5, 3}, {5, 0}},
    {"x", "w", "b"}, UNIFORM, f, NULL};
