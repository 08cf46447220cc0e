/*
 * Row-wise softmax and log-softmax over the last dimension: x: [R, C] ->
 * y: [R, C] (any x with at least one dimension; R is the product of the
 * others). Both use the log-sum-exp trick of tensor/kernels.c, and both
 * backward passes read only the saved output y. docs/MATH.md derives them.
 * For a classifier's loss use cg_cross_entropy, which fuses log-softmax and
 * NLL into one op with a simpler, more accurate gradient.
 */
#include "internal.h"

static cg_tensor *rows_out(cg_graph *g, const char *op, cg_tensor *x,
                           cg_backward_fn backward)
{
    char sx[64];
    void *ctx;

    if (!g)
        return cg__fail_null(CG_ERR_ARG, "%s: graph is NULL", op);
    if (!x)
        return NULL;
    if (x->ndim < 1 || x->size == 0)
        return cg__fail_null(CG_ERR_SHAPE, "%s: x is %s, needs at least one element in a "
                             "last dimension", op, cg_shape_str(x, sx, sizeof sx));
    return cg__op(g, op + 3, x->ndim, x->shape, &x, 1, backward, 0, &ctx);
}

static int last_dim(const cg_tensor *t)
{
    return t->shape[t->ndim - 1];
}

/* ---- softmax -------------------------------------------------------------- */

/* y_i = exp(x_i) / sum_j exp(x_j) per row (torch.softmax(x, dim=-1)).
 * Jacobian dy_i/dx_j = y_i (delta_ij - y_j), so
 * dL/dx_j = sum_i dy_i y_i (delta_ij - y_j) = y_j (dy_j - sum_i dy_i y_i). */
static void softmax_backward(cg_tensor *out)
{
    cg_float *dx = cg__grad(cg_op_input(out, 0));
    int cols = last_dim(out), rows = (int)(out->size / (size_t)cols);

    if (!dx)
        return;
    for (int r = 0; r < rows; r++) {
        size_t o = (size_t)r * (size_t)cols;
        const cg_float *y = out->data + o, *dy = out->grad + o;
        cg_float dot = 0;
        for (int c = 0; c < cols; c++)
            dot += dy[c] * y[c];
        for (int c = 0; c < cols; c++)
            dx[o + (size_t)c] += y[c] * (dy[c] - dot);
    }
}

cg_tensor *cg_softmax(cg_graph *g, cg_tensor *x)
{
    cg_tensor *y = rows_out(g, "cg_softmax", x, softmax_backward);

    if (!y)
        return NULL;
    cg_kernel_softmax_rows(y->data, x->data, (int)(x->size / (size_t)last_dim(x)),
                           last_dim(x));
    return y;
}

/* ---- log_softmax ---------------------------------------------------------- */

/* y_i = x_i - log sum_j exp(x_j) per row (torch.log_softmax(x, dim=-1)).
 * dy_i/dx_j = delta_ij - softmax(x)_j, so
 * dL/dx_j = dy_j - softmax(x)_j sum_i dy_i, with softmax(x)_j = exp(y_j). */
static void log_softmax_backward(cg_tensor *out)
{
    cg_float *dx = cg__grad(cg_op_input(out, 0));
    int cols = last_dim(out), rows = (int)(out->size / (size_t)cols);

    if (!dx)
        return;
    for (int r = 0; r < rows; r++) {
        size_t o = (size_t)r * (size_t)cols;
        const cg_float *y = out->data + o, *dy = out->grad + o;
        cg_float sum = 0;
        for (int c = 0; c < cols; c++)
            sum += dy[c];
        for (int c = 0; c < cols; c++)
            dx[o + (size_t)c] += dy[c] - cg__exp(y[c]) * sum;
    }
}

cg_tensor *cg_log_softmax(cg_graph *g, cg_tensor *x)
{
    cg_tensor *y = rows_out(g, "cg_log_softmax", x, log_softmax_backward);

    if (!y)
        return NULL;
    cg_kernel_log_softmax_rows(y->data, x->data, (int)(x->size / (size_t)last_dim(x)),
                               last_dim(x));
    return y;
}
