/*
 * The GEMM roofline of an MLP training step, measured in the same run as the
 * figure it is compared with.
 *
 * For a network of sizes s0-s1-...-sL and batch B, one step of cgrad runs, per
 * layer l (in = s(l-1), out = s(l)):
 *   forward   Y  = X  W^T   [B, out] = [B, in] [out, in]^T   (transpose flag)
 *   backward  dW = dY^T X   [out, in] = [B, out]^T [B, in]
 *   backward  dX = dY W     [B, in]  = [B, out] [out, in]    (not for layer 1:
 *                                       the input needs no gradient)
 * The roofline is the time those products take and nothing else, the faster
 * of two ways of using T threads:
 *   blas: OpenBLAS's own threads (T) inside each product, whole batch;
 *   data: T threads from a cg_pool, each running its slice of the batch with
 *         single-threaded OpenBLAS (the dW products of the slices are left
 *         unsummed: the sum is not GEMM work).
 * Each way is timed as the best of `reps` runs of one step's products.
 */
#ifndef CG_BENCH_ROOFLINE_H
#define CG_BENCH_ROOFLINE_H

#include <stdlib.h>
#include <time.h>

#include <cblas.h>

#include "cgrad.h"

#define ROOF_MAX_LAYERS 8
#define ROOF_MAX_THREADS 8

struct roof_net {
    int n_sizes;
    int sizes[ROOF_MAX_LAYERS + 1];
    int batch;
};

struct roof_buffers {
    cg_float *x[ROOF_MAX_LAYERS + 1];   /* activations [B, s_l] */
    cg_float *dx[ROOF_MAX_LAYERS + 1];  /* their gradients */
    cg_float *w[ROOF_MAX_LAYERS];       /* [out, in] */
    cg_float *dw[ROOF_MAX_THREADS][ROOF_MAX_LAYERS];
};

static inline double roof_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Multiply-adds of one forward pass of one sample. */
static inline double roof_forward_macs(const struct roof_net *net)
{
    double macs = 0;
    for (int l = 1; l < net->n_sizes; l++)
        macs += (double)net->sizes[l - 1] * (double)net->sizes[l];
    return macs;
}

/* Multiply-adds of the products one step of cgrad runs (see above), per sample. */
static inline double roof_step_macs(const struct roof_net *net)
{
    double macs = 0;
    for (int l = 1; l < net->n_sizes; l++) {
        double m = (double)net->sizes[l - 1] * (double)net->sizes[l];
        macs += l == 1 ? 2 * m : 3 * m;
    }
    return macs;
}

static inline cg_float *roof_alloc(size_t n)
{
    cg_float *p = calloc(n, sizeof(cg_float));
    if (!p) {
        fprintf(stderr, "bench: out of memory\n");
        exit(1);
    }
    for (size_t i = 0; i < n; i++)
        p[i] = (cg_float)((double)(i % 17) * 0.01 - 0.08);
    return p;
}

static inline void roof_buffers_init(struct roof_buffers *b, const struct roof_net *net,
                                     int threads)
{
    for (int l = 0; l < net->n_sizes; l++) {
        b->x[l] = roof_alloc((size_t)net->batch * (size_t)net->sizes[l]);
        b->dx[l] = roof_alloc((size_t)net->batch * (size_t)net->sizes[l]);
    }
    for (int l = 1; l < net->n_sizes; l++) {
        size_t n = (size_t)net->sizes[l] * (size_t)net->sizes[l - 1];
        b->w[l - 1] = roof_alloc(n);
        for (int t = 0; t < threads; t++)
            b->dw[t][l - 1] = roof_alloc(n);
    }
}

static inline void roof_buffers_free(struct roof_buffers *b, const struct roof_net *net,
                                     int threads)
{
    for (int l = 0; l < net->n_sizes; l++) {
        free(b->x[l]);
        free(b->dx[l]);
    }
    for (int l = 1; l < net->n_sizes; l++) {
        free(b->w[l - 1]);
        for (int t = 0; t < threads; t++)
            free(b->dw[t][l - 1]);
    }
}

/* One step's products on rows [r0, r1) of the batch, dW into dw[slot]. */
static inline void roof_step_rows(const struct roof_net *net, struct roof_buffers *b,
                                  int r0, int r1, int slot)
{
    int rows = r1 - r0;
    if (rows <= 0)
        return;
    for (int l = 1; l < net->n_sizes; l++) {
        int in = net->sizes[l - 1], out = net->sizes[l];
        cg_kernel_gemm(false, true, rows, out, in, 1, b->x[l - 1] + (size_t)r0 * in,
                       b->w[l - 1], 0, b->x[l] + (size_t)r0 * out);
    }
    for (int l = net->n_sizes - 1; l >= 1; l--) {
        int in = net->sizes[l - 1], out = net->sizes[l];
        cg_kernel_gemm(true, false, out, in, rows, 1, b->dx[l] + (size_t)r0 * out,
                       b->x[l - 1] + (size_t)r0 * in, 1, b->dw[slot][l - 1]);
        if (l > 1)
            cg_kernel_gemm(false, false, rows, in, out, 1, b->dx[l] + (size_t)r0 * out,
                           b->w[l - 1], 0, b->dx[l - 1] + (size_t)r0 * in);
    }
}

struct roof_job {
    const struct roof_net *net;
    struct roof_buffers   *b;
};

static inline void roof_share(void *ctx, int thread, int n_threads)
{
    struct roof_job *job = ctx;
    int r0, r1;
    cg_pool_range(job->net->batch, thread, n_threads, &r0, &r1);
    roof_step_rows(job->net, job->b, r0, r1, thread);
}

struct roof_result {
    double blas_seconds;   /* one step's products, OpenBLAS threads */
    double data_seconds;   /* one step's products, data-parallel */
    double best_seconds;
    const char *best_way;
};

/*
 * After OpenBLAS last ran a product on its own threads, those threads keep
 * spinning (calling sched_yield) for about 2^28 cycles before they sleep
 * (OpenBLAS's THREAD_TIMEOUT, about 0.1 s here). Anything timed in that
 * window shares the cores with them: wait it out.
 */
static inline void roof_let_blas_threads_sleep(void)
{
    struct timespec pause = {0, 300 * 1000 * 1000};
    nanosleep(&pause, NULL);
}

/* Measure both ways with `threads` threads; leaves OpenBLAS at 1 thread and
 * its threads asleep. */
static inline struct roof_result roof_measure(const struct roof_net *net, int threads, int reps)
{
    struct roof_buffers b;
    struct roof_result r = {1e30, 1e30, 0, ""};
    struct roof_job job = {net, &b};
    cg_pool *pool = cg_pool_new(threads);

    roof_buffers_init(&b, net, threads);
    cg_set_blas_threads(threads);
    for (int rep = 0; rep < reps; rep++) {
        double t0 = roof_now();
        roof_step_rows(net, &b, 0, net->batch, 0);
        t0 = roof_now() - t0;
        if (t0 < r.blas_seconds)
            r.blas_seconds = t0;
    }
    cg_set_blas_threads(1);
    roof_let_blas_threads_sleep();
    for (int rep = 0; rep < reps; rep++) {
        double t0 = roof_now();
        cg_pool_run(pool, roof_share, &job);
        t0 = roof_now() - t0;
        if (t0 < r.data_seconds)
            r.data_seconds = t0;
    }
    cg_pool_free(pool);
    roof_buffers_free(&b, net, threads);
    r.best_seconds = r.blas_seconds < r.data_seconds ? r.blas_seconds : r.data_seconds;
    r.best_way = r.blas_seconds < r.data_seconds ? "blas threads" : "data-parallel";
    return r;
}

/*
 * One epoch's worth of the roofline's products alone (steps of a full
 * batch, back to back), the faster of the two ways of using `threads`
 * threads: what GEMM at its best could do over a whole epoch at this
 * moment of the machine, the host's slow spells included.
 */
static inline double roof_products_epoch(const struct roof_net *net, int threads, int steps,
                             const char **way)
{
    struct roof_buffers b;
    struct roof_job job = {net, &b};
    cg_pool *pool = cg_pool_new(threads);
    double t0, data_parallel, blas = 1e30;

    if (!pool) {
        fprintf(stderr, "bench: %s\n", cg_errmsg());
        exit(1);
    }
    roof_buffers_init(&b, net, threads);
    cg_set_blas_threads(1);
    t0 = roof_now();
    for (int s = 0; s < steps; s++)
        cg_pool_run(pool, roof_share, &job);
    data_parallel = roof_now() - t0;
    cg_pool_free(pool);
    if (threads > 1) {
        cg_set_blas_threads(threads);
        t0 = roof_now();
        for (int s = 0; s < steps; s++)
            roof_step_rows(net, &b, 0, net->batch, 0);
        blas = roof_now() - t0;
        cg_set_blas_threads(1);
        roof_let_blas_threads_sleep();
    }
    roof_buffers_free(&b, net, threads);
    *way = data_parallel < blas ? "data-parallel" : "blas threads";
    return data_parallel < blas ? data_parallel : blas;
}

#endif /* CG_BENCH_ROOFLINE_H */
