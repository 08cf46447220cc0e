/*
 * Element-wise activations: sigmoid, tanh, relu, leaky_relu. Any shape; x
 * and y have the same shape. Each backward reads what the forward saved for
 * free: the output itself (sigmoid, tanh, relu) or the input (leaky_relu),
 * so no op keeps a buffer of its own. docs/MATH.md derives each backward.
 */
#include <string.h>

#include "internal.h"

static cg_tensor *unary_out(cg_graph *g, const char *op, cg_tensor *x,
                            cg_backward_fn backward, size_t ctx_bytes, void **ctx)
{
    if (!g)
        return cg__fail_null(CG_ERR_ARG, "%s: graph is NULL", op);
    if (!x)
        return NULL;
    return cg__op(g, op + 3, x->ndim, x->shape, &x, 1, backward, ctx_bytes, ctx);
}

/* ---- sigmoid -------------------------------------------------------------- */

/* y = 1 / (1 + exp(-x)) (torch.sigmoid); dy/dx = y (1 - y).
 * For very negative x, exp(-x) overflows to +inf and y = 1/inf = 0, which is
 * the right limit: no NaN, no branch, and the loop vectorizes. */
static void sigmoid_backward(cg_tensor *out)
{
    cg_float *dx = cg__grad(cg_op_input(out, 0));
    const cg_float *y = out->data, *dy = out->grad;

    if (dx)
        for (size_t i = 0; i < out->size; i++)
            dx[i] += dy[i] * y[i] * (1 - y[i]);
}

cg_tensor *cg_sigmoid(cg_graph *g, cg_tensor *x)
{
    void *ctx;
    cg_tensor *y = unary_out(g, "cg_sigmoid", x, sigmoid_backward, 0, &ctx);

    if (!y)
        return NULL;
    for (size_t i = 0; i < y->size; i++)
        y->data[i] = 1 / (1 + cg__exp(-x->data[i]));
    return y;
}

/* ---- tanh ----------------------------------------------------------------- */

/* y = tanh(x) (torch.tanh); dy/dx = 1 - y^2. */
static void tanh_backward(cg_tensor *out)
{
    cg_float *dx = cg__grad(cg_op_input(out, 0));
    const cg_float *y = out->data, *dy = out->grad;

    if (dx)
        for (size_t i = 0; i < out->size; i++)
            dx[i] += dy[i] * (1 - y[i] * y[i]);
}

cg_tensor *cg_tanh(cg_graph *g, cg_tensor *x)
{
    void *ctx;
    cg_tensor *y = unary_out(g, "cg_tanh", x, tanh_backward, 0, &ctx);

    if (!y)
        return NULL;
    for (size_t i = 0; i < y->size; i++)
        y->data[i] = cg__tanh(x->data[i]);
    return y;
}

/* ---- relu ----------------------------------------------------------------- */

/* y = max(x, 0) (torch.relu); dy/dx = 1 where y > 0, else 0 (PyTorch's choice
 * of 0 at the kink x = 0). y > 0 exactly when x > 0, so the saved output is
 * enough. */
static void relu_backward(cg_tensor *out)
{
    cg_float *dx = cg__grad(cg_op_input(out, 0));
    const cg_float *y = out->data, *dy = out->grad;

    if (dx)
        for (size_t i = 0; i < out->size; i++)
            dx[i] += y[i] > 0 ? dy[i] : 0;
}

cg_tensor *cg_relu(cg_graph *g, cg_tensor *x)
{
    void *ctx;
    cg_tensor *y = unary_out(g, "cg_relu", x, relu_backward, 0, &ctx);

    if (!y)
        return NULL;
    for (size_t i = 0; i < y->size; i++)
        y->data[i] = x->data[i] > 0 ? x->data[i] : 0;
    return y;
}

/* ---- leaky_relu ----------------------------------------------------------- */

/* y = x if x > 0 else negative_slope * x (torch.nn.functional.leaky_relu);
 * dy/dx = 1 if x > 0 else negative_slope (PyTorch takes the slope at 0).
 * Reads the input, since for a negative slope the output's sign says
 * nothing. ctx: the slope. */
static void leaky_relu_backward(cg_tensor *out)
{
    const cg_tensor *x = cg_op_input(out, 0);
    cg_float *dx = cg__grad(x), slope = *(const cg_float *)cg_op_ctx(out);
    const cg_float *dy = out->grad;

    if (dx)
        for (size_t i = 0; i < out->size; i++)
            dx[i] += x->data[i] > 0 ? dy[i] : slope * dy[i];
}

cg_tensor *cg_leaky_relu(cg_graph *g, cg_tensor *x, cg_float negative_slope)
{
    void *ctx;
    cg_tensor *y = unary_out(g, "cg_leaky_relu", x, leaky_relu_backward,
                             sizeof negative_slope, &ctx);

    if (!y)
        return NULL;
    if (ctx)
        memcpy(ctx, &negative_slope, sizeof negative_slope);
    for (size_t i = 0; i < y->size; i++)
        y->data[i] = x->data[i] > 0 ? x->data[i] : negative_slope * x->data[i];
    return y;
}
