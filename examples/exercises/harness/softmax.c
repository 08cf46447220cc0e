/* The softmax exercise: y = softmax(x) row by row, x: [4, 5]. */
#include <math.h>

#include "harness.h"

static void backward(cg_tensor *out)
{
    cg_tensor *x = cg_op_input(out, 0);

    softmax_backward(out->shape[0], out->shape[1], out->data, out->grad, x->grad);
}

static cg_tensor *f(cg_graph *g, cg_tensor *const *in, void *ctx)
{
    int R = in[0]->shape[0], C = in[0]->shape[1];
    cg_tensor *y = cg_op_new(g, "softmax", 2, in[0]->shape, in, 1, backward, 0);

    (void)ctx;
    for (int r = 0; y && r < R; r++) {
        const double *x = in[0]->data + r * C;
        double m = x[0], sum = 0;
        for (int c = 1; c < C; c++)
            m = x[c] > m ? x[c] : m;
        for (int c = 0; c < C; c++)
            sum += (y->data[r * C + c] = exp(x[c] - m));
        for (int c = 0; c < C; c++)
            y->data[r * C + c] /= sum;
    }
    return y;
}

const struct exercise exercise = {
    "Exercise softmax: the Jacobian-vector product of y = softmax(x)",
    "docs/MATH.md, Softmax and log-softmax", 1, {{4, 5}}, {"x"}, WIDE, f, NULL};
