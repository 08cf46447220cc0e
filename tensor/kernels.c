/*
 * Math kernels: GEMM through CBLAS, element-wise arithmetic, reductions,
 * row softmax with the log-sum-exp trick, norms.
 *
 * Legend for shapes: R rows, C columns; for GEMM, M x K times K x N.
 * Loops are plain and written so that gcc vectorizes them at -O2.
 */
#define _DEFAULT_SOURCE   /* MAP_ANONYMOUS, MAP_NORESERVE */
#include <math.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <cblas.h>

#include "internal.h"

#ifdef CG_DOUBLE
#define CG__GEMM cblas_dgemm
#else
#define CG__GEMM cblas_sgemm
#endif

/* ---- GEMM ---------------------------------------------------------------- */

void cg_kernel_gemm(bool ta, bool tb, int m, int n, int k, cg_float alpha,
                    const cg_float *a, const cg_float *b, cg_float beta, cg_float *c)
{
    cg__gemm_ld(ta, tb, m, n, k, alpha, a, ta ? m : k, b, tb ? k : n, beta, c, n);
}

void cg__gemm_ld(bool ta, bool tb, int m, int n, int k, cg_float alpha, const cg_float *a,
                 int lda, const cg_float *b, int ldb, cg_float beta, cg_float *c, int ldc)
{
    if (m == 0 || n == 0)
        return;
    if (k == 0) {
        /* BLAS leaves c untouched for k == 0 only when beta == 1. */
        for (size_t i = 0; i < (size_t)m; i++)
            for (size_t j = 0; j < (size_t)n; j++) {
                cg_float *e = c + i * (size_t)ldc + j;
                *e = beta == 0 ? 0 : beta * *e;
            }
        return;
    }
    cg__blas_default();
    CG__GEMM(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
             m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

static bool is_matrix(const cg_tensor *t)
{
    return t && t->ndim == 2;
}

cg_status cg_tensor_gemm(bool ta, bool tb, cg_float alpha, const cg_tensor *a,
                         const cg_tensor *b, cg_float beta, cg_tensor *c)
{
    char sa[64], sb[64], sc[64];
    int m, k, kb, n;

    if (!a || !b || !c)
        return cg__fail(CG_ERR_ARG, "cg_tensor_gemm: NULL tensor");
    if (c->data == a->data || c->data == b->data)
        return cg__fail(CG_ERR_ARG, "cg_tensor_gemm: c must not share data with a or b");
    if (!is_matrix(a) || !is_matrix(b) || !is_matrix(c))
        return cg__fail(CG_ERR_SHAPE, "cg_tensor_gemm: a is %s, b is %s, c is %s; "
                        "all must be matrices", cg_shape_str(a, sa, sizeof sa),
                        cg_shape_str(b, sb, sizeof sb), cg_shape_str(c, sc, sizeof sc));
    m = ta ? a->shape[1] : a->shape[0];
    k = ta ? a->shape[0] : a->shape[1];
    kb = tb ? b->shape[1] : b->shape[0];
    n = tb ? b->shape[0] : b->shape[1];
    if (k != kb || c->shape[0] != m || c->shape[1] != n)
        return cg__fail(CG_ERR_SHAPE, "cg_tensor_gemm: a%s is %s, b%s is %s, c is %s",
                        ta ? "^T" : "", cg_shape_str(a, sa, sizeof sa), tb ? "^T" : "",
                        cg_shape_str(b, sb, sizeof sb), cg_shape_str(c, sc, sizeof sc));
    cg_kernel_gemm(ta, tb, m, n, k, alpha, a->data, b->data, beta, c->data);
    return CG_OK;
}

/* ---- element-wise -------------------------------------------------------- */

static cg_status check_same3(const char *op, const cg_tensor *out, const cg_tensor *a,
                             const cg_tensor *b)
{
    char so[64], sa[64], sb[64];

    if (!out || !a || !b)
        return cg__fail(CG_ERR_ARG, "%s: NULL tensor", op);
    if (a->size != b->size || out->size != a->size)
        return cg__fail(CG_ERR_SHAPE, "%s: out is %s, a is %s, b is %s", op,
                        cg_shape_str(out, so, sizeof so), cg_shape_str(a, sa, sizeof sa),
                        cg_shape_str(b, sb, sizeof sb));
    return CG_OK;
}

cg_status cg_tensor_add(cg_tensor *out, const cg_tensor *a, const cg_tensor *b)
{
    cg_status st = check_same3("cg_tensor_add", out, a, b);
    if (st != CG_OK)
        return st;
    for (size_t i = 0; i < out->size; i++)
        out->data[i] = a->data[i] + b->data[i];
    return CG_OK;
}

cg_status cg_tensor_sub(cg_tensor *out, const cg_tensor *a, const cg_tensor *b)
{
    cg_status st = check_same3("cg_tensor_sub", out, a, b);
    if (st != CG_OK)
        return st;
    for (size_t i = 0; i < out->size; i++)
        out->data[i] = a->data[i] - b->data[i];
    return CG_OK;
}

cg_status cg_tensor_mul(cg_tensor *out, const cg_tensor *a, const cg_tensor *b)
{
    cg_status st = check_same3("cg_tensor_mul", out, a, b);
    if (st != CG_OK)
        return st;
    for (size_t i = 0; i < out->size; i++)
        out->data[i] = a->data[i] * b->data[i];
    return CG_OK;
}

cg_status cg_tensor_scale(cg_tensor *out, const cg_tensor *a, cg_float s)
{
    cg_status st = check_same3("cg_tensor_scale", out, a, a);
    if (st != CG_OK)
        return st;
    for (size_t i = 0; i < out->size; i++)
        out->data[i] = s * a->data[i];
    return CG_OK;
}

cg_status cg_tensor_axpy(cg_tensor *y, cg_float alpha, const cg_tensor *x)
{
    cg_status st = check_same3("cg_tensor_axpy", y, x, x);
    if (st != CG_OK)
        return st;
    for (size_t i = 0; i < y->size; i++)
        y->data[i] += alpha * x->data[i];
    return CG_OK;
}

void cg_kernel_add_row(cg_float *y, const cg_float *b, int rows, int cols)
{
    for (int r = 0; r < rows; r++) {
        cg_float *row = y + (size_t)r * (size_t)cols;
        for (int c = 0; c < cols; c++)
            row[c] += b[c];
    }
}

cg_status cg_tensor_add_row(cg_tensor *x, const cg_tensor *bias)
{
    char sx[64], sb[64];

    if (!x || !bias)
        return cg__fail(CG_ERR_ARG, "cg_tensor_add_row: NULL tensor");
    if ((size_t)cg_tensor_cols(x) != bias->size)
        return cg__fail(CG_ERR_SHAPE, "cg_tensor_add_row: x is %s, bias is %s",
                        cg_shape_str(x, sx, sizeof sx), cg_shape_str(bias, sb, sizeof sb));
    cg_kernel_add_row(x->data, bias->data, cg_tensor_rows(x), cg_tensor_cols(x));
    return CG_OK;
}

/* ---- reductions ---------------------------------------------------------- */

/* Sums accumulate in double so that a float tensor of a million elements
 * keeps its digits. */
cg_float cg_tensor_sum(const cg_tensor *t)
{
    double s = 0;
    for (size_t i = 0; i < t->size; i++)
        s += (double)t->data[i];
    return (cg_float)s;
}

cg_float cg_tensor_mean(const cg_tensor *t)
{
    double s = 0;

    if (!t->size)
        return (cg_float)NAN;
    for (size_t i = 0; i < t->size; i++)
        s += (double)t->data[i];
    return (cg_float)(s / (double)t->size);
}

cg_float cg_tensor_max(const cg_tensor *t)
{
    return t->size ? t->data[cg_tensor_argmax(t)] : (cg_float)-INFINITY;
}

size_t cg_tensor_argmax(const cg_tensor *t)
{
    return cg__argmax(t->data, t->size, 1);
}

int cg_kernel_argmax(const cg_float *x, int n)
{
    return n > 0 ? (int)cg__argmax(x, (size_t)n, 1) : 0;
}

enum reduce_kind { REDUCE_SUM, REDUCE_MEAN, REDUCE_MAX };

static cg_status check_axis(const char *op, const cg_tensor *out_or_null, size_t out_size,
                            const cg_tensor *x, int axis)
{
    char sx[64];

    if (!x)
        return cg__fail(CG_ERR_ARG, "%s: x is NULL", op);
    if (x->ndim != 2)
        return cg__fail(CG_ERR_SHAPE, "%s: x is %s, must be a matrix", op,
                        cg_shape_str(x, sx, sizeof sx));
    if (axis != 0 && axis != 1)
        return cg__fail(CG_ERR_ARG, "%s: axis is %d, must be 0 or 1", op, axis);
    if (out_or_null && out_or_null->size != out_size) {
        char so[64];
        return cg__fail(CG_ERR_SHAPE, "%s: x is %s, out along axis %d is %s", op,
                        cg_shape_str(x, sx, sizeof sx), axis,
                        cg_shape_str(out_or_null, so, sizeof so));
    }
    return CG_OK;
}

static cg_status reduce_axis(const char *op, cg_tensor *out, const cg_tensor *x, int axis,
                             enum reduce_kind kind)
{
    int rows, cols, n_out, n_in;
    size_t stride_in, stride_out;
    cg_status st;

    if (!out)
        return cg__fail(CG_ERR_ARG, "%s: out is NULL", op);
    /* shape[1 - axis] only once axis is known to be 0 or 1 */
    st = check_axis(op, out, x && x->ndim == 2 && (axis == 0 || axis == 1)
                                 ? (size_t)x->shape[1 - axis] : 0, x, axis);
    if (st != CG_OK)
        return st;
    rows = x->shape[0];
    cols = x->shape[1];
    n_out = axis == 0 ? cols : rows;
    n_in = axis == 0 ? rows : cols;
    stride_in = axis == 0 ? (size_t)cols : 1;   /* step along the reduced axis */
    stride_out = axis == 0 ? 1 : (size_t)cols;  /* step between outputs */
    for (int o = 0; o < n_out; o++) {
        const cg_float *p = x->data + (size_t)o * stride_out;
        if (kind == REDUCE_MAX) {
            out->data[o] = n_in ? p[cg__argmax(p, (size_t)n_in, stride_in) * stride_in]
                                : (cg_float)-INFINITY;
            continue;
        }
        double s = 0;
        for (int i = 0; i < n_in; i++)
            s += (double)p[(size_t)i * stride_in];
        out->data[o] = (cg_float)(kind == REDUCE_MEAN ? s / n_in : s);
    }
    return CG_OK;
}

cg_status cg_tensor_sum_axis(cg_tensor *out, const cg_tensor *x, int axis)
{
    return reduce_axis("cg_tensor_sum_axis", out, x, axis, REDUCE_SUM);
}

cg_status cg_tensor_mean_axis(cg_tensor *out, const cg_tensor *x, int axis)
{
    return reduce_axis("cg_tensor_mean_axis", out, x, axis, REDUCE_MEAN);
}

cg_status cg_tensor_max_axis(cg_tensor *out, const cg_tensor *x, int axis)
{
    return reduce_axis("cg_tensor_max_axis", out, x, axis, REDUCE_MAX);
}

cg_status cg_tensor_argmax_axis(size_t *idx, const cg_tensor *x, int axis)
{
    cg_status st;
    int rows, cols;

    if (!idx)
        return cg__fail(CG_ERR_ARG, "cg_tensor_argmax_axis: idx is NULL");
    st = check_axis("cg_tensor_argmax_axis", NULL, 0, x, axis);
    if (st != CG_OK)
        return st;
    rows = x->shape[0];
    cols = x->shape[1];
    if (axis == 1)
        for (int r = 0; r < rows; r++)
            idx[r] = cg__argmax(x->data + (size_t)r * (size_t)cols, (size_t)cols, 1);
    else
        for (int c = 0; c < cols; c++)
            idx[c] = cg__argmax(x->data + c, (size_t)rows, (size_t)cols);
    return CG_OK;
}

/* ---- softmax ------------------------------------------------------------- */

cg_float cg_kernel_logsumexp(const cg_float *x, int n)
{
    if (n <= 0)
        return (cg_float)-INFINITY;   /* log of an empty sum */
    return (cg_float)cg__softmax_row(NULL, x, n);
}

void cg_kernel_softmax_rows(cg_float *out, const cg_float *x, int rows, int cols)
{
    if (cols <= 0)
        return;
    for (int r = 0; r < rows; r++)
        cg__softmax_row(out + (size_t)r * (size_t)cols, x + (size_t)r * (size_t)cols, cols);
}

/* log_softmax(x)_c = x_c - lse(x), one rounding from double. */
void cg_kernel_log_softmax_rows(cg_float *out, const cg_float *x, int rows, int cols)
{
    if (cols <= 0)
        return;
    for (int r = 0; r < rows; r++) {
        const cg_float *xr = x + (size_t)r * (size_t)cols;
        cg_float *yr = out + (size_t)r * (size_t)cols;
        double lse = cg__softmax_row(NULL, xr, cols);

        for (int c = 0; c < cols; c++)
            yr[c] = (cg_float)((double)xr[c] - lse);
    }
}

static cg_status check_rows(const char *op, const cg_tensor *out, const cg_tensor *x)
{
    char so[64], sx[64];

    if (!out || !x)
        return cg__fail(CG_ERR_ARG, "%s: NULL tensor", op);
    if (!cg_tensor_same_shape(out, x) || x->ndim < 1 || x->ndim > 2 || x->size == 0)
        return cg__fail(CG_ERR_SHAPE, "%s: out is %s, x is %s", op,
                        cg_shape_str(out, so, sizeof so), cg_shape_str(x, sx, sizeof sx));
    return CG_OK;
}

cg_status cg_tensor_softmax(cg_tensor *out, const cg_tensor *x)
{
    cg_status st = check_rows("cg_tensor_softmax", out, x);
    if (st != CG_OK)
        return st;
    cg_kernel_softmax_rows(out->data, x->data, cg_tensor_rows(x), cg_tensor_cols(x));
    return CG_OK;
}

cg_status cg_tensor_log_softmax(cg_tensor *out, const cg_tensor *x)
{
    cg_status st = check_rows("cg_tensor_log_softmax", out, x);
    if (st != CG_OK)
        return st;
    cg_kernel_log_softmax_rows(out->data, x->data, cg_tensor_rows(x), cg_tensor_cols(x));
    return CG_OK;
}

/* ---- norms --------------------------------------------------------------- */

cg_float cg_tensor_norm_l1(const cg_tensor *t)
{
    double s = 0;
    for (size_t i = 0; i < t->size; i++)
        s += fabs((double)t->data[i]);
    return (cg_float)s;
}

cg_float cg_tensor_norm_l2(const cg_tensor *t)
{
    double s = 0;
    for (size_t i = 0; i < t->size; i++)
        s += (double)t->data[i] * (double)t->data[i];
    return (cg_float)sqrt(s);
}

cg_float cg_tensor_norm_max(const cg_tensor *t)
{
    cg_float m = 0;
    for (size_t i = 0; i < t->size; i++) {
        cg_float a = t->data[i] < 0 ? -t->data[i] : t->data[i];
        if (a > m || isnan(a))
            m = a;
    }
    return m;
}

/* ---- threads ------------------------------------------------------------- */

/* OpenBLAS (0.3.21, Debian 12) takes a working buffer of BLAS_BUFFER bytes
 * (its BUFFER_SIZE on x86_64, 32 << 22) for every thread that runs a GEMM
 * at once, and for each of its own worker threads when it starts them; when
 * the mmap fails it retries forever (OpenBLAS issue 5289, fixed in 0.3.30):
 * under `ulimit -v` a process hung at 100% CPU. So before OpenBLAS needs
 * them, check the address space is there (a PROT_NONE mapping counts
 * against RLIMIT_AS like a real one) and fail cleanly if it is not, after
 * everything else a thread takes at its start (its malloc arena, below)
 * has been taken (docs/RELIABILITY.md, "Memory limits"). */
#define BLAS_BUFFER ((size_t)128 << 20)
#define BLAS_SLACK  ((size_t)16 << 20)    /* OpenBLAS's headers, the kernels' stacks */

bool cg__blas_fits(size_t buffers)
{
    size_t bytes = buffers * (BLAS_BUFFER + ((size_t)1 << 16)) + BLAS_SLACK;
    void *p = mmap(NULL, bytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

    if (p == MAP_FAILED)
        return false;
    munmap(p, bytes);
    return true;
}

/* Each thread of the pool once: a chunk's thread waits until every chunk
 * has been taken, so that no thread runs two (the pool hands chunks to
 * whichever thread asks first). */
struct each_thread {
    atomic_int taken;
    int        n;
};

static void wait_for_all_taken(struct each_thread *e)
{
    atomic_fetch_add(&e->taken, 1);
    while (atomic_load(&e->taken) < e->n)
        sched_yield();
}

static void run_on_each_thread(cg_pool *pool, cg_pool_fn fn)
{
    struct each_thread e;
    e.n = cg_pool_size(pool);
    atomic_init(&e.taken, 0);
    cg_pool_run(pool, fn, &e);
}

/* The C library's malloc arena of the thread, made now: glibc gives each
 * new thread that calls malloc an arena of its own, a 64 MB reservation
 * (128 MB while it is being aligned). Made later, in the middle of the
 * first step, it took the room that OpenBLAS's second buffer needed (at
 * `ulimit -v` 350 MB with 2 threads, 18 of 180 runs hung in OpenBLAS's
 * retries). */
static void make_malloc_arena(void *ctx, int thread, int n_threads)
{
    void *volatile p = malloc(64);
    (void)thread, (void)n_threads;
    free(p);
    wait_for_all_taken(ctx);
}

/* One tiny product per thread, all at once (each waits for the others
 * first): OpenBLAS takes its buffers now. Whether it takes one per thread
 * here or the rest at the first step's products, they fit: the address
 * space for them was checked after the arenas were made. */
static void warm_gemm(void *ctx, int thread, int n_threads)
{
    cg_float a = 1, b = 1, c = 0;
    (void)thread, (void)n_threads;
    wait_for_all_taken(ctx);
    cg_kernel_gemm(false, false, 1, 1, 1, 1, &a, &b, 0, &c);
}

cg_status cg_blas_reserve(cg_pool *pool)
{
    int n = cg_pool_size(pool);

    run_on_each_thread(pool, make_malloc_arena);
    if (!cg__blas_fits((size_t)n))
        return cg__fail(CG_ERR_NOMEM, "out of memory: the address space left (ulimit -v) "
                        "cannot hold the BLAS working buffers of %d thread%s (%zu MB each)",
                        n, n == 1 ? "" : "s", BLAS_BUFFER >> 20);
    run_on_each_thread(pool, warm_gemm);
    return CG_OK;
}
