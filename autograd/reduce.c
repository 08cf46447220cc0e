/*
 * Reductions to a scalar (sum, mean) and reshape. x: any shape; sum and mean
 * return a scalar (ndim 0, one element). docs/MATH.md derives the backward
 * passes.
 */
#include "internal.h"

/* ---- sum ------------------------------------------------------------------ */

/* y = sum_i x_i (torch.sum); dy/dx_i = 1, so dL/dx_i = dy. */
static void sum_backward(cg_tensor *out)
{
    cg_float *dx = cg__grad(cg_op_input(out, 0)), dy = out->grad[0];
    size_t n = cg_op_input(out, 0)->size;

    if (dx)
        for (size_t i = 0; i < n; i++)
            dx[i] += dy;
}

/* The sum in double: a float tensor of a million elements keeps its digits. */
static double sum_all(const cg_tensor *x)
{
    double s = 0;

    for (size_t i = 0; i < x->size; i++)
        s += (double)x->data[i];
    return s;
}

cg_tensor *cg_sum(cg_graph *g, cg_tensor *x)
{
    cg_tensor *y;
    void *ctx;

    if (!g)
        return cg__fail_null(CG_ERR_ARG, "cg_sum: graph is NULL");
    if (!x)
        return NULL;
    y = cg__op(g, "sum", 0, NULL, &x, 1, sum_backward, 0, &ctx);
    if (y)
        y->data[0] = (cg_float)sum_all(x);
    return y;
}

/* ---- mean ----------------------------------------------------------------- */

/* y = (1/n) sum_i x_i (torch.mean); dL/dx_i = dy / n. The mean of an empty
 * tensor is NaN, as in PyTorch. */
static void mean_backward(cg_tensor *out)
{
    const cg_tensor *x = cg_op_input(out, 0);
    cg_float *dx = cg__grad(x), d = out->grad[0] / (cg_float)x->size;

    if (dx)
        for (size_t i = 0; i < x->size; i++)
            dx[i] += d;
}

cg_tensor *cg_mean(cg_graph *g, cg_tensor *x)
{
    cg_tensor *y;
    void *ctx;

    if (!g)
        return cg__fail_null(CG_ERR_ARG, "cg_mean: graph is NULL");
    if (!x)
        return NULL;
    y = cg__op(g, "mean", 0, NULL, &x, 1, mean_backward, 0, &ctx);
    if (y)
        y->data[0] = (cg_float)(sum_all(x) / (double)x->size);
    return y;
}

/* ---- reshape -------------------------------------------------------------- */

/* y = x under another shape of the same size (torch.reshape): a view of x's
 * data, no copy. Its gradient is a buffer of its own, added back into x's
 * element by element (the same order). */
static void reshape_backward(cg_tensor *out)
{
    cg_float *dx = cg__grad(cg_op_input(out, 0));

    if (dx)
        for (size_t i = 0; i < out->size; i++)
            dx[i] += out->grad[i];
}

cg_tensor *cg_reshape(cg_graph *g, cg_tensor *x, int ndim, const int *shape)
{
    char sx[64];
    size_t size;
    void *ctx;

    if (!g)
        return cg__fail_null(CG_ERR_ARG, "cg_reshape: graph is NULL");
    if (!x)
        return NULL;
    if (cg__shape_size(ndim, shape, &size) != CG_OK) {
        cg__errmsg_prefix("cg_reshape");
        return NULL;
    }
    if (size != x->size)
        return cg__fail_null(CG_ERR_SHAPE, "cg_reshape: x is %s (%zu elements), the new "
                             "shape has %zu", cg_shape_str(x, sx, sizeof sx), x->size, size);
    return cg__op_view(g, "reshape", ndim, shape, x->data, &x, 1, reshape_backward, 0, &ctx);
}
