/*
 * Arithmetic ops: add, sub, mul (element-wise, or a row vector broadcast
 * over a matrix), scale, matmul and linear.
 *
 * Legend: R rows, C columns; M x K times K x N for matmul; B batch, I in
 * features, O out features for linear. Each forward is followed by its
 * backward; backward functions accumulate (+=) into the inputs' gradients.
 * docs/MATH.md derives each backward.
 */
#include <string.h>

#include "internal.h"

/* ---- shape checks --------------------------------------------------------- */

/* b fits a if it has a's shape, or is a row [C] and a is [..., C]. */
static bool binary_fits(const cg_tensor *a, const cg_tensor *b)
{
    if (cg_tensor_same_shape(a, b))
        return true;
    return b->ndim == 1 && a->ndim >= 2 && b->shape[0] == a->shape[a->ndim - 1];
}

static cg_tensor *binary_out(cg_graph *g, const char *op, cg_tensor *a, cg_tensor *b,
                             cg_backward_fn backward)
{
    char sa[64], sb[64];
    void *ctx;

    if (!g)
        return cg__fail_null(CG_ERR_ARG, "%s: graph is NULL", op);
    if (!a || !b)
        return NULL;
    if (!binary_fits(a, b))
        return cg__fail_null(CG_ERR_SHAPE, "%s: a is %s, b is %s", op,
                             cg_shape_str(a, sa, sizeof sa), cg_shape_str(b, sb, sizeof sb));
    return cg__op(g, op + 3, a->ndim, a->shape, (cg_tensor *[]){a, b}, 2, backward, 0, &ctx);
}

/* In backward, b was broadcast over rows when it is smaller than out; with
 * one row the two cases are the same loop. */
static int bcast_rows(const cg_tensor *out, const cg_tensor *b)
{
    return b->size == out->size ? 1 : (int)(out->size / (b->size ? b->size : 1));
}

/* ---- add ------------------------------------------------------------------ */

/* The backward of y = a + sign b (add: sign 1, sub: sign -1). dL/da = dy;
 * dL/db = sign dy, summed over the rows when b was broadcast. (-1 * x is
 * -x exactly, and d + -x is d - x: the same bits as a subtraction.) */
static void add_sub_backward(cg_tensor *out, cg_float sign)
{
    const cg_tensor *a = cg_op_input(out, 0), *b = cg_op_input(out, 1);
    cg_float *da = cg__grad(a), *db = cg__grad(b);
    const cg_float *dy = out->grad;
    size_t cols = b->size;
    int rows = bcast_rows(out, b);

    if (da)
        for (size_t i = 0; i < out->size; i++)
            da[i] += dy[i];
    if (db)
        for (int r = 0; r < rows; r++)
            for (size_t c = 0; c < cols; c++)
                db[c] += sign * dy[(size_t)r * cols + c];
}

/* y = a + b (torch.add). a: [R, C], b: [R, C] or [C] -> y: [R, C]. */
static void add_backward(cg_tensor *out)
{
    add_sub_backward(out, 1);
}

cg_tensor *cg_add(cg_graph *g, cg_tensor *a, cg_tensor *b)
{
    cg_tensor *y = binary_out(g, "cg_add", a, b, add_backward);

    if (!y)
        return NULL;
    int rows = bcast_rows(y, b);
    size_t cols = b->size;
    for (int r = 0; r < rows; r++) {
        const cg_float *ar = a->data + (size_t)r * cols;
        cg_float *yr = y->data + (size_t)r * cols;
        for (size_t c = 0; c < cols; c++)
            yr[c] = ar[c] + b->data[c];
    }
    return y;
}

/* ---- sub ------------------------------------------------------------------ */

/* y = a - b (torch.sub). dL/da = dy; dL/db = -dy (row sums if broadcast). */
static void sub_backward(cg_tensor *out)
{
    add_sub_backward(out, -1);
}

cg_tensor *cg_sub(cg_graph *g, cg_tensor *a, cg_tensor *b)
{
    cg_tensor *y = binary_out(g, "cg_sub", a, b, sub_backward);

    if (!y)
        return NULL;
    int rows = bcast_rows(y, b);
    size_t cols = b->size;
    for (int r = 0; r < rows; r++) {
        const cg_float *ar = a->data + (size_t)r * cols;
        cg_float *yr = y->data + (size_t)r * cols;
        for (size_t c = 0; c < cols; c++)
            yr[c] = ar[c] - b->data[c];
    }
    return y;
}

/* ---- mul ------------------------------------------------------------------ */

/* y = a * b element-wise (torch.mul). dL/da = dy * b; dL/db = dy * a (summed
 * over the rows if b was broadcast). a and b may be the same tensor: both
 * terms then land in its gradient, 2 a dy, as d(a^2)/da says. */
static void mul_backward(cg_tensor *out)
{
    const cg_tensor *a = cg_op_input(out, 0), *b = cg_op_input(out, 1);
    cg_float *da = cg__grad(a), *db = cg__grad(b);
    const cg_float *dy = out->grad;
    size_t cols = b->size;
    int rows = bcast_rows(out, b);

    for (int r = 0; r < rows; r++) {
        size_t o = (size_t)r * cols;
        if (da)
            for (size_t c = 0; c < cols; c++)
                da[o + c] += dy[o + c] * b->data[c];
        if (db)
            for (size_t c = 0; c < cols; c++)
                db[c] += dy[o + c] * a->data[o + c];
    }
}

cg_tensor *cg_mul(cg_graph *g, cg_tensor *a, cg_tensor *b)
{
    cg_tensor *y = binary_out(g, "cg_mul", a, b, mul_backward);

    if (!y)
        return NULL;
    int rows = bcast_rows(y, b);
    size_t cols = b->size;
    for (int r = 0; r < rows; r++) {
        const cg_float *ar = a->data + (size_t)r * cols;
        cg_float *yr = y->data + (size_t)r * cols;
        for (size_t c = 0; c < cols; c++)
            yr[c] = ar[c] * b->data[c];
    }
    return y;
}

/* ---- scale ---------------------------------------------------------------- */

/* y = s * a (torch.mul by a Python number). dL/da = s dy. */
static void scale_backward(cg_tensor *out)
{
    const cg_tensor *a = cg_op_input(out, 0);
    cg_float *da = cg__grad(a), s = *(const cg_float *)cg_op_ctx(out);

    if (da)
        for (size_t i = 0; i < out->size; i++)
            da[i] += s * out->grad[i];
}

cg_tensor *cg_scale(cg_graph *g, cg_tensor *a, cg_float s)
{
    cg_tensor *y;
    void *ctx;

    if (!g)
        return cg__fail_null(CG_ERR_ARG, "cg_scale: graph is NULL");
    if (!a)
        return NULL;
    y = cg__op(g, "scale", a->ndim, a->shape, &a, 1, scale_backward, sizeof s, &ctx);
    if (!y)
        return NULL;
    if (ctx)
        memcpy(ctx, &s, sizeof s);
    for (size_t i = 0; i < y->size; i++)
        y->data[i] = s * a->data[i];
    return y;
}

/* ---- matmul --------------------------------------------------------------- */

/* y = a @ b (torch.matmul of two matrices). a: [M, K], b: [K, N] -> y: [M, N].
 * dL/da = dy @ b^T: [M, K]; dL/db = a^T @ dy: [K, N]. Both are GEMMs with
 * transpose flags and beta = 1, accumulating in place, with no copies. */
static void matmul_backward(cg_tensor *out)
{
    const cg_tensor *a = cg_op_input(out, 0), *b = cg_op_input(out, 1);
    cg_float *da = cg__grad(a), *db = cg__grad(b);
    int m = a->shape[0], k = a->shape[1], n = b->shape[1];

    if (da)
        cg_kernel_gemm(false, true, m, k, n, 1, out->grad, b->data, 1, da);
    if (db)
        cg_kernel_gemm(true, false, k, n, m, 1, a->data, out->grad, 1, db);
}

cg_tensor *cg_matmul(cg_graph *g, cg_tensor *a, cg_tensor *b)
{
    char sa[64], sb[64];
    cg_tensor *y;
    void *ctx;

    if (!g)
        return cg__fail_null(CG_ERR_ARG, "cg_matmul: graph is NULL");
    if (!a || !b)
        return NULL;
    if (a->ndim != 2 || b->ndim != 2 || a->shape[1] != b->shape[0])
        return cg__fail_null(CG_ERR_SHAPE, "cg_matmul: a is %s, b is %s",
                             cg_shape_str(a, sa, sizeof sa), cg_shape_str(b, sb, sizeof sb));
    y = cg__op(g, "matmul", 2, (int[]){a->shape[0], b->shape[1]}, (cg_tensor *[]){a, b}, 2,
               matmul_backward, 0, &ctx);
    if (!y)
        return NULL;
    cg_kernel_gemm(false, false, a->shape[0], b->shape[1], a->shape[1], 1, a->data, b->data,
                   0, y->data);
    return y;
}

/* ---- linear --------------------------------------------------------------- */

/* y = x @ w^T + b (torch.nn.functional.linear).
 * x: [B, I], w: [O, I], b: [O] or NULL -> y: [B, O].
 * dL/dw = dy^T @ x: [O, I]; dL/dx = dy @ w: [B, I] (only when x needs it: the
 * first layer's input never does, and that GEMM is the largest); dL/db =
 * column sums of dy: [O]. */
void cg__linear_param_grads(const struct cg__deferred_grad *d, int o0, int o1,
                            cg_float *dw, cg_float *db)
{
    const cg_tensor *x = d->x;
    int batch = x->shape[0], in = x->shape[1], o = d->w->shape[0];

    /* rows o0..o1 of dw = columns o0..o1 of dy, transposed, times x */
    if (dw)
        cg__gemm_ld(true, false, o1 - o0, in, batch, 1, d->dy + o0, o, x->data, in, 1,
                    dw + (size_t)o0 * (size_t)in, in);
    if (db)
        for (int r = 0; r < batch; r++) {
            const cg_float *dyr = d->dy + (size_t)r * (size_t)o;
            for (int c = o0; c < o1; c++)
                db[c] += dyr[c];
        }
}

void cg__linear_grads(const cg_tensor *out, struct cg__deferred_grad *slot,
                      const cg_float *dy)
{
    const cg_tensor *x = cg_op_input(out, 0), *w = cg_op_input(out, 1);
    const cg_tensor *b = cg_op_input(out, 2);
    cg_float *dx = cg__grad(x), *dw = cg__grad(w), *db = cg__grad(b);
    int batch = x->shape[0], in = x->shape[1], o = w->shape[0];

    if ((dw || db) && slot) {
        *slot = (struct cg__deferred_grad){NULL, x, w, b, dy};
        if (!cg__op_defer(out, slot))
            cg__linear_param_grads(slot, 0, o, dw, db);
    }
    if (dx)
        cg_kernel_gemm(false, false, batch, in, o, 1, dy, w->data, 1, dx);
}

static void linear_backward(cg_tensor *out)
{
    cg__linear_grads(out, cg_op_ctx(out), out->grad);
}

cg_status cg__linear_check(const char *op, const cg_tensor *x, const cg_tensor *w,
                           const cg_tensor *b)
{
    char sx[64], sw[64], sb[64];

    if (x->ndim != 2 || w->ndim != 2 || x->shape[1] != w->shape[1] ||
        (b && (b->ndim != 1 || b->shape[0] != w->shape[0])))
        return cg__fail(CG_ERR_SHAPE, "%s: x is %s, w is %s, b is %s", op,
                        cg_shape_str(x, sx, sizeof sx), cg_shape_str(w, sw, sizeof sw),
                        b ? cg_shape_str(b, sb, sizeof sb) : "NULL");
    return CG_OK;
}

void cg__linear_forward(const cg_tensor *x, const cg_tensor *w, const cg_tensor *b,
                        cg_float *y)
{
    int batch = x->shape[0], o = w->shape[0];

    /* The bias goes into every row first, then one GEMM adds x @ w^T on top
     * (beta = 1): one pass over y instead of two. */
    if (b)
        for (int r = 0; r < batch; r++)
            memcpy(y + (size_t)r * (size_t)o, b->data, (size_t)o * sizeof(cg_float));
    cg_kernel_gemm(false, true, batch, o, x->shape[1], 1, x->data, w->data, b ? 1 : 0, y);
}

cg_tensor *cg_linear(cg_graph *g, cg_tensor *x, cg_tensor *w, cg_tensor *b)
{
    cg_tensor *y;
    void *ctx;

    if (!g)
        return cg__fail_null(CG_ERR_ARG, "cg_linear: graph is NULL");
    if (!x || !w)
        return NULL;
    if (cg__linear_check("cg_linear", x, w, b) != CG_OK)
        return NULL;
    y = cg__op(g, "linear", 2, (int[]){x->shape[0], w->shape[0]}, (cg_tensor *[]){x, w, b},
               3, linear_backward, sizeof(struct cg__deferred_grad), &ctx);
    if (!y)
        return NULL;
    cg__linear_forward(x, w, b, y->data);
    return y;
}
