/* The MSE exercise: L = mean((pred - target)^2) on pred, target: [4, 3]. */
#include "harness.h"

static void backward(cg_tensor *out)
{
    cg_tensor *p = cg_op_input(out, 0), *t = cg_op_input(out, 1);

    mse_backward((int)p->size, p->data, t->data, out->grad[0], p->grad, t->grad);
}

static cg_tensor *f(cg_graph *g, cg_tensor *const *in, void *ctx)
{
    cg_tensor *loss = cg_op_new(g, "mse", 0, NULL, in, 2, backward, 0);
    double total = 0;

    (void)ctx;
    if (!loss)
        return NULL;
    for (size_t i = 0; i < in[0]->size; i++)
        total += (in[0]->data[i] - in[1]->data[i]) * (in[0]->data[i] - in[1]->data[i]);
    loss->data[0] = total / (double)in[0]->size;
    return loss;
}

const struct exercise exercise = {
    "Exercise mse: the gradients of L = mean((pred - target)^2)",
    "docs/MATH.md, MSE", 2, {{4, 3}, {4, 3}}, {"pred", "target"}, UNIFORM, f, NULL};
