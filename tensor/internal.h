/*
 * Internals shared between the library's files (prefix cg__). Not installed.
 */
#ifndef CG_INTERNAL_H
#define CG_INTERNAL_H

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>

#include "tensor.h"

#if defined(__GNUC__)
#define CG__PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define CG__PRINTF(f, a)
#endif

/* Hot element-wise loops get an AVX2 copy chosen when the program loads
 * (gcc's target_clones, an ifunc): the same IEEE operations on vectors twice
 * as wide, so the same bits as the SSE2 copy (no FMA is enabled, and -std=c11
 * keeps gcc from contracting a * b + c). Elsewhere it is a no-op. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define CG__VECTOR_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define CG__VECTOR_CLONES
#endif

/* Record an error for cg_errmsg() and return the status. Every error the
 * library reports is born here: the one place for a breakpoint. */
cg_status cg__fail(cg_status status, const char *fmt, ...) CG__PRINTF(2, 3);
/* The same, returning NULL, for constructors: `return cg__fail_null(...)`. */
void *cg__fail_null(cg_status status, const char *fmt, ...) CG__PRINTF(2, 3);
/* Prefix the current error message with "prefix: " (file names, ops). */
void cg__errmsg_prefix(const char *fmt, ...) CG__PRINTF(1, 2);
/* Keep the message, change its status (a bad spec read from a file is
 * CG_ERR_FORMAT, not the parser's CG_ERR_ARG); returns status. */
cg_status cg__errcode_set(cg_status status);

/* The one door for memory: through the allocator of cg_set_allocator. On
 * failure they set CG_ERR_NOMEM with the size asked for and return NULL. */
void *cg__malloc(size_t size);
void *cg__calloc(size_t count, size_t size);
void *cg__realloc(void *ptr, size_t old_size, size_t new_size);
void  cg__free(void *ptr);
char *cg__strdup(const char *s);

/* a * b into *out; false on overflow (nothing written then). */
static inline bool cg__mul_size(size_t a, size_t b, size_t *out)
{
    if (b != 0 && a > SIZE_MAX / b)
        return false;
    *out = a * b;
    return true;
}

/* a + b into *out; false on overflow. */
static inline bool cg__add_size(size_t a, size_t b, size_t *out)
{
    if (a > SIZE_MAX - b)
        return false;
    *out = a + b;
    return true;
}

/* Math in the build's precision (no promotion to double for float). */
#ifdef CG_DOUBLE
static inline cg_float cg__exp(cg_float x) { return exp(x); }
static inline cg_float cg__log(cg_float x) { return log(x); }
static inline cg_float cg__log1p(cg_float x) { return log1p(x); }
static inline cg_float cg__tanh(cg_float x) { return tanh(x); }
static inline cg_float cg__fabs(cg_float x) { return fabs(x); }
#else
static inline cg_float cg__exp(cg_float x) { return expf(x); }
static inline cg_float cg__log(cg_float x) { return logf(x); }
static inline cg_float cg__log1p(cg_float x) { return log1pf(x); }
static inline cg_float cg__tanh(cg_float x) { return tanhf(x); }
static inline cg_float cg__fabs(cg_float x) { return fabsf(x); }
#endif

/* ---- the one softmax and the one argmax ------------------------------------
 * Inline so that the hot callers (the cross-entropy loss, the trainer's
 * accuracy) pay no call per row; tensor/kernels.c's public kernels are
 * these same functions. */

/* The first index of the largest of n elements x[0], x[stride], ...; a NaN
 * counts as the largest, so that it is not hidden; 0 when n is 0. */
static inline size_t cg__argmax(const cg_float *x, size_t n, size_t stride)
{
    size_t best = 0;
    cg_float b = n ? x[0] : 0;

    if (isnan(b))
        return 0;
    for (size_t i = 1; i < n; i++) {
        cg_float v = x[i * stride];
        if (!(v <= b)) {        /* v > b, or v is NaN */
            best = i;
            if (isnan(v))
                break;
            b = v;
        }
    }
    return best;
}

/* The library's one softmax and log-sum-exp: cg_softmax, cg_log_softmax, the
 * cross-entropy loss and predict all come here, so their numbers agree to the
 * bit. x: [n], n >= 1; p: [n] or NULL, may be x.
 * lse = log(sum(exp(x))) = m + log(sum(exp(x - m))) with m = max(x): every
 * exp is at most 1, so nothing overflows, and the largest term is exactly 1,
 * so the sum is at least 1 and its log is never log(0). The terms are exps
 * in the build's precision (expf for float, as PyTorch's float kernels),
 * summed in double; softmax multiplies them by the rounded 1/sum, as
 * PyTorch's vectorized softmax does. lse is the same bits whether p is asked
 * for or not. A NaN anywhere makes everything NaN; an infinite max is the
 * lse itself (softmax is NaN then, as in PyTorch). */
static inline double cg__softmax_row(cg_float *p, const cg_float *x, int n)
{
    cg_float m = x[0];
    double s = 0;

    for (int i = 1; i < n; i++)
        m = x[i] > m ? x[i] : m;
    if (p) {
        for (int i = 0; i < n; i++) {
            p[i] = cg__exp(x[i] - m);
            s += (double)p[i];
        }
        cg_float inv = (cg_float)(1 / s);
        for (int i = 0; i < n; i++)
            p[i] *= inv;
    } else {
        for (int i = 0; i < n; i++)
            s += (double)cg__exp(x[i] - m);
    }
    return isinf(m) ? (double)m : (double)m + log(s);
}

/* A file being written by the one atomic writer (file.c; see "files" in
 * tensor.h): write to f, then cg__out_close. */
struct cg__out {
    FILE       *f;
    const char *path;     /* as given (borrowed) */
    char       *target;   /* a link's resolved target, or NULL */
    char       *tmp;      /* the temporary file, NULL when written in place */
    int         lock_fd;  /* holds tmp's flock until the rename */
};

/* Open path for writing (a temporary file beside it, or a device in place).
 * CG_ERR_IO with a message that does not name path (the caller prefixes). */
cg_status cg__out_open(struct cg__out *o, const char *path);
/* Finish: with s == CG_OK flush, fsync and rename over the target; else (or
 * when that fails) remove the temporary file. Returns the final status. */
cg_status cg__out_close(struct cg__out *o, cg_status s);
/* The same in one call: write(f, ctx) fills the file that cg__out_open
 * opened for path, then cg__out_close. Messages do not name path. */
cg_status cg__write_atomic(const char *path, cg_status (*write)(FILE *f, void *ctx), void *ctx);

/* True when s[0..n) is valid UTF-8 (no overlong forms, no surrogates, at
 * most U+10FFFF). */
bool cg__utf8_valid(const char *s, size_t n);
/* Before a product: set OpenBLAS to one thread unless the program chose a
 * count (cg_set_blas_threads, OPENBLAS_NUM_THREADS); a no-op after the
 * first call (tensor/cpus.c). */
void cg__blas_default(void);

/* cg_kernel_gemm on sub-matrices: row-major with leading dimensions lda,
 * ldb, ldc (the row lengths of the matrices the blocks are cut from). */
void cg__gemm_ld(bool ta, bool tb, int m, int n, int k, cg_float alpha, const cg_float *a,
                 int lda, const cg_float *b, int ldb, cg_float beta, cg_float *c, int ldc);
/* True when the address space left (ulimit -v) can hold OpenBLAS's working
 * buffers for `buffers` threads running products at once (kernels.c). */
bool cg__blas_fits(size_t buffers);

/* CPUs of a cgroup v2 cpu.max text ("max 100000": none, 0; "150000
 * 100000": 2, rounded up); 0 for text it cannot read. */
int cg__cpu_max_cpus(const char *text);

/* Test hook: worker `worker` (1..n_threads-1) of pool p sleeps usec
 * microseconds in every chunk it runs, after claiming it, as a thread the
 * kernel descheduled would (0 usec: no delay). */
void cg__pool_set_delay(cg_pool *p, int worker, unsigned usec);

/* Element count of a shape; CG_ERR_SHAPE (set) on a bad one. */
cg_status cg__shape_size(int ndim, const int *shape, size_t *size);

#endif /* CG_INTERNAL_H */
