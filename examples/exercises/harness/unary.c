/*
 * Element-wise ops for the sigmoid, tanh and ReLU exercises: the forward
 * here, the backward the learner's (see harness.h).
 */
#include "harness.h"

struct unary_ctx {
    exercise_unary_backward backward;
    bool save_input;
};

static void unary_backward(cg_tensor *out)
{
    const struct unary_ctx *c = cg_op_ctx(out);
    cg_tensor *x = cg_op_input(out, 0);

    c->backward((int)out->size, c->save_input ? x->data : out->data, out->grad, x->grad);
}

cg_tensor *exercise_unary(cg_graph *g, cg_tensor *x, const char *name, double (*f)(double),
                          exercise_unary_backward backward, bool save_input)
{
    cg_tensor *y = cg_op_new(g, name, x->ndim, x->shape, &x, 1, unary_backward,
                             sizeof(struct unary_ctx));
    if (!y)
        return NULL;
    *(struct unary_ctx *)cg_op_ctx(y) = (struct unary_ctx){backward, save_input};
    for (size_t i = 0; i < y->size; i++)
        y->data[i] = f(x->data[i]);
    return y;
}
