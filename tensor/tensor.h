/*
 * cgrad tensor layer: n-dimensional arrays of cg_float and the math on them.
 *
 * A cg_tensor has up to CG_MAX_DIMS dimensions, listed outermost first as in
 * PyTorch (a batch of 32 rows of 784 features is [32, 784]), and contiguous
 * row-major data. Tensors live on the heap (cg_tensor_new, freed with
 * cg_tensor_free) or in an arena (cg_tensor_new_in, freed all at once with the
 * arena). This layer knows nothing of graphs or gradients; the `grad` and
 * `node` fields belong to autograd/.
 *
 * Errors: functions that can fail return NULL or a cg_status other than
 * CG_OK, and cg_errmsg() says what and where. Nothing here exits or aborts on
 * bad input.
 *
 *     cg_tensor *a = cg_tensor_from_array(2, (int[]){2, 2},
 *                                         (cg_float[]){-1, 2, -3, 4});
 *     cg_tensor *inv = cg_tensor_new(2, (int[]){2, 2});
 *     if (!a || !inv || cg_inverse(inv, a) != CG_OK)
 *         fprintf(stderr, "%s\n", cg_errmsg());
 *     cg_tensor_print(inv, stdout);          // [[2, -1], [1.5, -0.5]]
 *     cg_tensor_free(inv);
 *     cg_tensor_free(a);
 */
#ifndef CG_TENSOR_H
#define CG_TENSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- version ------------------------------------------------------------ */

/* The library's version, "major.minor.patch"; model files record it. Here,
 * in the lowest layer, so that every layer may use it. */
#define CG_VERSION "0.1.0"

/* ---- numbers ------------------------------------------------------------ */

#ifdef CG_DOUBLE
typedef double cg_float;
#define CG_FLOAT_NAME "F64"
#else
typedef float cg_float;
#define CG_FLOAT_NAME "F32"
#endif

#define CG_MAX_DIMS 4

/* ---- errors ------------------------------------------------------------- */

typedef enum cg_status {
    CG_OK = 0,
    CG_ERR_NOMEM,    /* an allocation failed */
    CG_ERR_SHAPE,    /* shapes that do not fit together */
    CG_ERR_ARG,      /* a bad argument: NULL, out of range, bad option */
    CG_ERR_IO,       /* a file could not be opened, read or written */
    CG_ERR_FORMAT,   /* a file's contents are not what they must be */
    CG_ERR_NUMERIC,  /* a singular matrix, a NaN or an infinity */
    CG_ERR_STATE     /* a call at the wrong time (backward twice, ...) */
} cg_status;

/* The message of the last error on this thread ("" if none). */
const char *cg_errmsg(void);
/* The status of the last error on this thread (CG_OK if none). */
cg_status   cg_errcode(void);
/* Forget the last error of this thread. */
void        cg_clear_error(void);
/* A short constant text for a status ("out of memory", ...). */
const char *cg_status_str(cg_status status);
/* Copy src into dst (n > 0 bytes, always NUL-terminated, cut if too long)
 * with every control character written as \n, \r, \t or \xNN, so that a
 * message quoting a file's text stays one line. cg_errmsg() is made with it;
 * a program that prints its own messages can use it too. Returns dst. */
char       *cg_escape_text(char *dst, size_t n, const char *src);
/* Copy src into dst (n bytes, always NUL-terminated, cut only between
 * characters; dst NULL with n 0 only measures) as valid UTF-8: every byte
 * that does not begin a valid sequence becomes U+FFFD (as Python's
 * errors="replace"). For text that must be UTF-8, a file's metadata, from
 * a source that need not be, a file name. Returns the length src needs
 * (dst is complete when it is < n). */
size_t      cg_utf8_repair(char *dst, size_t n, const char *src);

/* ---- memory ------------------------------------------------------------- */

/* The allocator every allocation of the library goes through. Functions get
 * the `ctx` given here. realloc may be NULL (the library then mallocs and
 * copies). */
struct cg_allocator {
    void *(*malloc)(size_t size, void *ctx);
    void *(*realloc)(void *ptr, size_t size, void *ctx);
    void  (*free)(void *ptr, void *ctx);
    void  *ctx;
};

/* Install an allocator (copied), or the C library's with NULL. Call it before
 * the library allocates anything, or after everything it allocated is freed. */
void cg_set_allocator(const struct cg_allocator *allocator);

/* An arena: a bump allocator whose blocks are kept across resets, so a
 * workload that repeats (a training step) stops calling malloc once the arena
 * has grown to its high-water mark. */
typedef struct cg_arena cg_arena;

struct cg_arena_stats {
    size_t used;        /* bytes handed out since the last reset */
    size_t high_water;  /* the most bytes ever in use at once */
    size_t capacity;    /* bytes held in all blocks */
    size_t sys_allocs;  /* blocks allocated from the system, ever */
};

/* A new empty arena (its first block is allocated on first use). */
cg_arena *cg_arena_new(void);
/* Free the arena and every block it holds; NULL is a no-op. */
void      cg_arena_free(cg_arena *arena);
/* `size` bytes aligned to CG_ALIGN, uninitialised; NULL if out of memory. */
void     *cg_arena_alloc(cg_arena *arena, size_t size);
/* Like cg_arena_alloc, zero-filled. */
void     *cg_arena_calloc(cg_arena *arena, size_t count, size_t size);
/* Forget everything handed out, in O(1); keeps the blocks for reuse. */
void      cg_arena_reset(cg_arena *arena);
/* The arena's counters. */
struct cg_arena_stats cg_arena_stats(const cg_arena *arena);

#define CG_ALIGN 64

/* ---- files ---------------------------------------------------------------
 * The library's one way of writing a file, which model files and
 * checkpoints use too. A regular file (or a new name) is written to a
 * temporary file "<path>.tmp.XXXXXX" in the same folder, flushed, fsync'ed
 * and renamed over path, so path always holds the old or the new contents;
 * an existing file keeps its mode. A temporary file that an earlier writer of
 * the same path left behind (killed during its write) is removed. A
 * character device or a FIFO (/dev/null, /dev/stdout) is written in place,
 * and its write errors reported (/dev/full: "No space left on device"); a
 * symbolic link is followed; a folder or any other kind of file is refused. */

/* Write data[0..len) to path as above. CG_ERR_IO naming path on failure. */
cg_status cg_write_file(const char *path, const void *data, size_t len);
/* True when a and b name the same file: both exist and have the same device
 * and inode (links and different spellings included), or neither exists and
 * both would be created under the same name in the same folder. */
bool      cg_same_file(const char *a, const char *b);

/* ---- tensors ------------------------------------------------------------ */

struct cg_node;

typedef struct cg_tensor {
    cg_float *data;            /* [shape...] row-major, contiguous */
    cg_float *grad;            /* same shape; NULL when no gradient is kept */
    size_t    size;            /* number of elements: product of shape */
    int       ndim;            /* 0 (scalar) to CG_MAX_DIMS */
    int       shape[CG_MAX_DIMS];  /* outermost first; unused entries are 1 */
    unsigned  flags;           /* CG_TENSOR_* below */
    struct cg_node *node;      /* the op that made it (autograd); NULL for leaves */
} cg_tensor;

enum {
    CG_TENSOR_OWNS_DATA = 1u << 0, /* data shares the header's allocation */
    CG_TENSOR_IN_ARENA  = 1u << 1, /* the header lives in an arena */
    CG_TENSOR_REQUIRES_GRAD = 1u << 2, /* autograd computes its gradient */
    CG_TENSOR_OWNS_GRAD = 1u << 3  /* grad was allocated for it; freed with it */
};

/* A new zero-filled heap tensor of the given shape; NULL on a bad shape or out
 * of memory. Free with cg_tensor_free. */
cg_tensor *cg_tensor_new(int ndim, const int *shape);
/* A new zero-filled tensor in `arena`; freed with the arena. */
cg_tensor *cg_tensor_new_in(cg_arena *arena, int ndim, const int *shape);
/* A new heap tensor holding a copy of `values` (size elements of shape). */
cg_tensor *cg_tensor_from_array(int ndim, const int *shape, const cg_float *values);
/* A new heap tensor with the same shape and data as `src`. */
cg_tensor *cg_tensor_clone(const cg_tensor *src);
/* A heap header viewing src's data under another shape of the same size.
 * The view does not own the data: free it before (or after) src, with
 * cg_tensor_free, but do not use it after src is freed. */
cg_tensor *cg_tensor_reshape(const cg_tensor *src, int ndim, const int *shape);
/* Free a heap tensor (its data only if it owns it). NULL and arena tensors
 * are no-ops. */
void       cg_tensor_free(cg_tensor *t);

/* Initialise a caller-provided header over caller-provided data (no
 * allocation). Returns CG_ERR_SHAPE on a bad shape. */
cg_status  cg_tensor_init(cg_tensor *t, cg_float *data, int ndim, const int *shape);

/* True when the two tensors have the same dimensions. Never sets an error. */
bool       cg_tensor_same_shape(const cg_tensor *a, const cg_tensor *b);
/* Number of rows (first dimension) and columns (product of the rest) of a
 * tensor seen as a matrix; a scalar is 1x1, a vector [n] is 1 x n. */
int        cg_tensor_rows(const cg_tensor *t);
int        cg_tensor_cols(const cg_tensor *t);

void       cg_tensor_fill(cg_tensor *t, cg_float value);
/* Copy src's data into dst; both must have the same number of elements. */
cg_status  cg_tensor_copy(cg_tensor *dst, const cg_tensor *src);
/* Print shape and values, nested like PyTorch: [[1, 2], [3, 4]]. */
void       cg_tensor_print(const cg_tensor *t, FILE *out);
/* Write "[2, 3]" into buf (at most n bytes); returns buf. */
char      *cg_shape_str(const cg_tensor *t, char *buf, size_t n);

/* ---- kernels -------------------------------------------------------------
 * Each writes into `out`, which the caller allocates with the right shape;
 * out may be the same tensor as an input for the element-wise ones. */

/* c = alpha * op(a) @ op(b) + beta * c, op(x) = x or x^T (never copied).
 * a: [M, K] (or [K, M] if ta), b: [K, N] (or [N, K] if tb), c: [M, N];
 * c must not share data with a or b (CG_ERR_ARG). */
cg_status cg_tensor_gemm(bool ta, bool tb, cg_float alpha, const cg_tensor *a,
                         const cg_tensor *b, cg_float beta, cg_tensor *c);

cg_status cg_tensor_add(cg_tensor *out, const cg_tensor *a, const cg_tensor *b);
cg_status cg_tensor_sub(cg_tensor *out, const cg_tensor *a, const cg_tensor *b);
cg_status cg_tensor_mul(cg_tensor *out, const cg_tensor *a, const cg_tensor *b);
/* out = s * a */
cg_status cg_tensor_scale(cg_tensor *out, const cg_tensor *a, cg_float s);
/* y += alpha * x */
cg_status cg_tensor_axpy(cg_tensor *y, cg_float alpha, const cg_tensor *x);
/* x: [R, C] += bias: [C] on every row. */
cg_status cg_tensor_add_row(cg_tensor *x, const cg_tensor *bias);

/* Reductions over all elements. An empty tensor sums to 0. */
cg_float  cg_tensor_sum(const cg_tensor *t);
cg_float  cg_tensor_mean(const cg_tensor *t);
cg_float  cg_tensor_max(const cg_tensor *t);
size_t    cg_tensor_argmax(const cg_tensor *t);
/* Reductions of a matrix x: [R, C] along axis 0 (out: [C]) or 1 (out: [R]). */
cg_status cg_tensor_sum_axis(cg_tensor *out, const cg_tensor *x, int axis);
cg_status cg_tensor_mean_axis(cg_tensor *out, const cg_tensor *x, int axis);
cg_status cg_tensor_max_axis(cg_tensor *out, const cg_tensor *x, int axis);
/* idx: [R] (axis 1) or [C] (axis 0) of indices of the largest element. */
cg_status cg_tensor_argmax_axis(size_t *idx, const cg_tensor *x, int axis);

/* Row-wise softmax and log-softmax of x: [R, C] (a vector [C] is one row)
 * with the log-sum-exp trick; out has x's shape and may be x. */
cg_status cg_tensor_softmax(cg_tensor *out, const cg_tensor *x);
cg_status cg_tensor_log_softmax(cg_tensor *out, const cg_tensor *x);

/* Norms over all elements. */
cg_float  cg_tensor_norm_l1(const cg_tensor *t);
cg_float  cg_tensor_norm_l2(const cg_tensor *t);    /* also Frobenius */
cg_float  cg_tensor_norm_max(const cg_tensor *t);
#define   cg_tensor_norm_frobenius cg_tensor_norm_l2

/* Raw kernels on arrays, for fused code in the layers above. */
/* y[R, C] += b[C] on every row */
void      cg_kernel_add_row(cg_float *y, const cg_float *b, int rows, int cols);
/* out[r, :] = softmax(x[r, :]) for x, out: [R, C]; out may equal x. The one
 * softmax of the library: cg_softmax, cross-entropy and predict use it. */
void      cg_kernel_softmax_rows(cg_float *out, const cg_float *x, int rows, int cols);
/* out[r, :] = log_softmax(x[r, :]) for x, out: [R, C]; out may equal x. */
void      cg_kernel_log_softmax_rows(cg_float *out, const cg_float *x, int rows, int cols);
/* log(sum(exp(x))) of x: [n] by the log-sum-exp trick; -inf when n is 0. */
cg_float  cg_kernel_logsumexp(const cg_float *x, int n);
/* The first index of the largest element of x: [n] (a NaN counts as the
 * largest, so that it shows); 0 when n is 0. */
int       cg_kernel_argmax(const cg_float *x, int n);
/* Plain GEMM on arrays, row-major, same meaning as cg_tensor_gemm. */
void      cg_kernel_gemm(bool ta, bool tb, int m, int n, int k, cg_float alpha,
                         const cg_float *a, const cg_float *b, cg_float beta,
                         cg_float *c);

/* ---- random numbers ------------------------------------------------------
 * PCG32 (O'Neill, pcg-random.org, pcg32_random_r): the same seed gives the
 * same stream on every platform and compiler. */

typedef struct cg_rng {
    uint64_t state;
    uint64_t inc;
} cg_rng;

/* Seed a generator (stream 54, as the PCG reference's pcg32-demo). */
void     cg_rng_seed(cg_rng *rng, uint64_t seed);
/* The next 32 random bits. */
uint32_t cg_rng_u32(cg_rng *rng);
/* A uniform integer in [0, bound) without modulo bias; bound > 0. */
uint32_t cg_rng_below(cg_rng *rng, uint32_t bound);
/* A uniform double in [0, 1) with 53 random bits. */
double   cg_rng_uniform(cg_rng *rng);
/* A normal deviate (Box-Muller, no cached second value, so the stream
 * position depends only on the number of calls). */
double   cg_rng_normal(cg_rng *rng, double mean, double std);
/* true with probability p. */
bool     cg_rng_bernoulli(cg_rng *rng, double p);
/* Fisher-Yates shuffle of idx[0..n). */
void     cg_rng_shuffle(cg_rng *rng, size_t *idx, size_t n);

/* Fill a tensor from a distribution (uniform: in [lo, hi)). */
void     cg_tensor_rand_uniform(cg_tensor *t, cg_rng *rng, cg_float lo, cg_float hi);
void     cg_tensor_rand_normal(cg_tensor *t, cg_rng *rng, cg_float mean, cg_float std);
void     cg_tensor_rand_bernoulli(cg_tensor *t, cg_rng *rng, cg_float p);

/* ---- statistics ----------------------------------------------------------
 * Of a matrix x: [R, C] whose rows are samples and columns features. The
 * variance is the population variance (divide by R) unless `unbiased`
 * (divide by R - 1, as torch.var's default). */

cg_status cg_stats_mean(cg_tensor *mean, const cg_tensor *x);          /* mean: [C] */
cg_status cg_stats_var(cg_tensor *var, const cg_tensor *x, bool unbiased);  /* var: [C] */
cg_status cg_stats_std(cg_tensor *std, const cg_tensor *x, bool unbiased);  /* std: [C] */
cg_status cg_stats_cov(cg_tensor *cov, const cg_tensor *x, bool unbiased);  /* cov: [C, C] */
/* Pearson correlation; a constant column is CG_ERR_NUMERIC (its correlation
 * is undefined). corr: [C, C] */
cg_status cg_stats_corr(cg_tensor *corr, const cg_tensor *x);

/* ---- information theory --------------------------------------------------
 * Of probability vectors p, q of one size (any shape, read as flat), in nats,
 * with 0 log 0 = 0. A q that is 0 where p is not gives +inf, as the math
 * does. Negative entries or sizes that differ are CG_ERR_ARG. */

cg_status cg_entropy(cg_float *out, const cg_tensor *p);                       /* H(p) */
cg_status cg_cross_entropy_of(cg_float *out, const cg_tensor *p, const cg_tensor *q); /* H(p, q) */
cg_status cg_kl_divergence(cg_float *out, const cg_tensor *p, const cg_tensor *q);   /* KL(p || q) */

/* ---- linear algebra ------------------------------------------------------
 * Square matrices a: [N, N], worked in double on a copy (out may be a). A
 * singular matrix (an LU pivot at or below max|a_ij| * N * epsilon of
 * cg_float) is CG_ERR_NUMERIC, never a NaN; so is a NaN or infinite entry. */

cg_status cg_transpose(cg_tensor *out, const cg_tensor *a);   /* a: [R, C] -> out: [C, R] */
cg_status cg_det(cg_float *det, const cg_tensor *a);           /* 0 for singular, no error */
cg_status cg_inverse(cg_tensor *out, const cg_tensor *a);      /* out: [N, N] */
cg_status cg_solve(cg_tensor *x, const cg_tensor *a, const cg_tensor *b);  /* a x = b; b, x: [N] or [N, K] */
/* Eigen-decomposition of a symmetric matrix by cyclic Jacobi rotations:
 * values: [N] ascending, vectors: [N, N] with eigenvector i in column i
 * (may be NULL). A non-symmetric a (|a_ij - a_ji| above 16 N epsilon of
 * cg_float times max|a_ij|) is CG_ERR_ARG; within that, the mean of the two
 * triangles is used. */
cg_status cg_eigh(cg_tensor *values, cg_tensor *vectors, const cg_tensor *a);

/* ---- threads --------------------------------------------------------------
 * A pool of threads created once and reused. cg_pool_for cuts a job into n
 * chunks and hands them out one at a time to whichever thread of the pool is
 * free (the caller is one of them), so a thread that the machine slows down
 * holds up one chunk, not a fixed share; it returns when every chunk is
 * done. Which thread runs which chunk changes from run to run: a chunk's
 * result must depend only on its index. fn must not call the same pool.
 *
 * Waiting threads spin only while recent waits were short (then for about
 * twice their average, at most 1 ms), then yield the core, then sleep; a
 * pool with more threads than cg_cpu_count() never spins. An idle pool
 * sleeps.
 *
 * Thread counts: wherever one enters the library (cg_pool_new,
 * cg_set_blas_threads, the nn layer's cg_trainer_new), 0 or less means
 * "auto": cg_cpu_count(). */

typedef struct cg_pool cg_pool;
typedef void (*cg_pool_fn)(void *ctx, int chunk, int n_chunks);

/* The number of CPUs this process may use: its affinity mask, capped by a
 * cgroup CPU quota (v2 cpu.max, v1 cfs quota and period) rounded up; at
 * least 1. Read anew at every call; never allocates. */
int      cg_cpu_count(void);
/* A pool of n_threads (1 to 256; 1 runs everything on the caller; 0 or
 * less: cg_cpu_count()). NULL and cg_errmsg() on failure. */
cg_pool *cg_pool_new(int n_threads);
/* Stop and join the workers; NULL is a no-op. */
void     cg_pool_free(cg_pool *pool);
/* The number of threads (1 for a NULL pool). */
int      cg_pool_size(const cg_pool *pool);
/* Run fn(ctx, i, n) for every chunk i = 0..n-1, each exactly once, on the
 * pool's threads (a NULL pool: on the caller, in order), and wait for all.
 * One thread at a time may call it on a given pool. */
void     cg_pool_for(cg_pool *pool, int n, cg_pool_fn fn, void *ctx);
/* cg_pool_for with one chunk per thread of the pool: fn(ctx, t, T). */
void     cg_pool_run(cg_pool *pool, cg_pool_fn fn, void *ctx);
/* Chunk `thread`'s contiguous share [begin, end) of n items, for n_threads
 * chunks: shares differ by at most one, the larger first. */
void     cg_pool_range(int n, int thread, int n_threads, int *begin, int *end);

/* OpenBLAS's threads. Unless the program calls this (or sets
 * OPENBLAS_NUM_THREADS in the environment), the first matrix product cgrad
 * runs sets OpenBLAS to 1 thread, for the whole process: cgrad's own threads
 * (cg_trainer) and an embedder's threads then never compete with OpenBLAS's
 * for the cores, and a product allocates nothing outside cg_set_allocator.
 * Call it, at any time, to choose: n threads inside each product (0 or less:
 * cg_cpu_count()); cgrad then leaves OpenBLAS's setting alone. The count
 * changes the last bits of products. 1 thread when the address space
 * (ulimit -v) has no room for n threads' working buffers. */
void     cg_set_blas_threads(int n);
/* Make sure GEMMs on every thread of pool (NULL: the caller) can get
 * OpenBLAS's working buffers, and have OpenBLAS take them now: OpenBLAS
 * 0.3.21 retries a failed buffer allocation forever, so under an
 * address-space limit a first product would hang instead of failing.
 * CG_ERR_NOMEM (no hang) when the room is not there. Each thread of the pool
 * first makes its C library malloc arena (glibc reserves 64 MB for it), so
 * that the room checked is the room left. cg_trainer_new calls it;
 * a program that calls cg_matmul or cg_kernel_gemm itself calls it once per
 * thread that multiplies. */
cg_status cg_blas_reserve(cg_pool *pool);

#ifdef __cplusplus
}
#endif

#endif /* CG_TENSOR_H */
