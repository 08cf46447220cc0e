/*
 * A thread pool made once and reused for every parallel region.
 *
 * cg_pool_for(pool, n, fn, ctx) runs fn(ctx, i, n) once for every chunk
 * i = 0..n-1 and returns when all n are done. Chunks are handed out one at a
 * time, from one atomic word, to whichever thread asks next: the caller and
 * the workers alike. A thread that the kernel deschedules (a busy machine, a
 * program with threads of its own) holds up the one chunk it is running, not
 * a fixed share of the work, and a worker that has not woken up yet when the
 * others have taken every chunk holds up nothing: the caller waits for the
 * chunks, not for the workers. cg_pool_run is cg_pool_for with one chunk
 * per thread.
 *
 * The job word: generation (24 bits) | n (20 bits) | next chunk (20 bits).
 * A thread claims a chunk with a compare-and-swap of the whole word, so a
 * late worker can never take a chunk of a job that is over: the job's fn and
 * ctx stay put until every chunk of it is done, and a claimed chunk is not.
 * (A swap that succeeds claims a chunk of the job current at that moment,
 * whatever the worker saw before: the generation wrapping around is
 * harmless.)
 *
 * Waiting adapts to what the waits have been (measured: bench/README.md).
 * A waiter spins (with `pause`) only while recent waits of its kind were
 * short, and then for about twice their average, at most 1 ms; then it
 * yields the core for a while; then it sleeps on a condition variable. A
 * wait that sleeps is long and pulls the average up, so on a busy machine
 * the threads stop spinning within a few waits, and on a quiet one short
 * waits bring the spin back: a sleeping virtual core is woken through the
 * host, tens of microseconds, which is why a quiet machine wants the spin.
 * A pool with more threads than the CPUs the process may use never spins:
 * the thread it waits for may be waiting for its core.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#include "internal.h"

#define CG__POOL_MAX_CHUNKS 0xfffff
#define CG__POOL_SPIN_CAP_NS 1000000u   /* the longest spin */
#define CG__POOL_YIELD_NS 50000u        /* then yield for this long, then sleep */

/* Kinds of wait, each with its own running average. */
enum { WAIT_WORK, WAIT_DONE, WAIT_KINDS };

/* What a worker is started with: kept in the pool, so a new worker frees
 * nothing while its creator may be allocating. */
struct worker_arg {
    struct cg_pool *pool;
    int             index;
};

struct cg_pool {
    int              n_threads;
    bool             oversubscribed;  /* more threads than the CPUs we may use */
    pthread_t       *workers;         /* n_threads - 1 of them */
    struct worker_arg *args;          /* theirs */
    int              started;         /* workers created so far */
    pthread_mutex_t  lock;
    pthread_cond_t   wake;            /* a new job or stopping */
    pthread_cond_t   done_cond;       /* the last chunk of a job finished */
    _Atomic uint64_t job;             /* generation | n | next (see above) */
    atomic_int       done;            /* chunks of the current job finished */
    atomic_int       sleepers;        /* workers asleep on `wake` */
    atomic_bool      caller_asleep;   /* the caller asleep on `done_cond` */
    atomic_bool      stopping;
    atomic_uint      wait_avg_ns[WAIT_KINDS];
    uint32_t         generation;      /* the caller's count of jobs */
    cg_pool_fn       fn;              /* the current job, stable while it runs */
    void            *ctx;
    int              delay_worker;    /* test hook: this worker sleeps ... */
    unsigned         delay_us;        /* ... this long in every chunk it runs */
};


static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint32_t job_gen(uint64_t job)
{
    return (uint32_t)(job >> 40);
}

static unsigned job_n(uint64_t job)
{
    return (unsigned)(job >> 20) & CG__POOL_MAX_CHUNKS;
}

static unsigned job_next(uint64_t job)
{
    return (unsigned)job & CG__POOL_MAX_CHUNKS;
}

/* ---- adaptive waiting ------------------------------------------------------ */

/* How long to spin for a wait of this kind: about twice the recent average,
 * nothing when that average is past the cap (waits are long: the threads
 * are being descheduled) or when the pool oversubscribes the CPUs. */
static uint64_t spin_budget(const cg_pool *p, int kind)
{
    unsigned avg = atomic_load_explicit(&p->wait_avg_ns[kind], memory_order_relaxed);
    if (p->oversubscribed || avg > CG__POOL_SPIN_CAP_NS / 2)
        return 0;
    return 2u * (uint64_t)avg + 2000u;
}

/* Fold one wait into the running average (weight 1/4: a few long waits
 * turn the spin off, a few short ones turn it back on). Racy updates from
 * several threads lose a sample now and then, which is harmless. */
static void record_wait(cg_pool *p, int kind, uint64_t waited)
{
    unsigned avg = atomic_load_explicit(&p->wait_avg_ns[kind], memory_order_relaxed);
    uint64_t w = waited > 100000000u ? 100000000u : waited;
    atomic_store_explicit(&p->wait_avg_ns[kind], (unsigned)((3u * (uint64_t)avg + w) / 4),
                          memory_order_relaxed);
}

typedef bool (*ready_fn)(cg_pool *p, uint64_t arg);

/* Spin, then yield, until ready(p, arg) or the budgets run out; true if
 * ready. *t0 receives the start of the wait. */
static bool poll_ready(cg_pool *p, int kind, ready_fn ready, uint64_t arg, uint64_t *t0)
{
    if (ready(p, arg)) {
        *t0 = 0;
        return true;
    }
    *t0 = now_ns();
    uint64_t spin_end = *t0 + spin_budget(p, kind), now = *t0;
    for (unsigned i = 1; now < spin_end; i++) {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();   /* lets the core's other hardware thread run */
#endif
        if (ready(p, arg))
            return true;
        if (i % 64 == 0)
            now = now_ns();
    }
    uint64_t yield_end = now + CG__POOL_YIELD_NS;
    while (now < yield_end) {
        sched_yield();            /* the thread we wait for may need this core */
        if (ready(p, arg))
            return true;
        now = now_ns();
    }
    return false;
}

static bool job_changed(cg_pool *p, uint64_t seen_gen)
{
    return job_gen(atomic_load(&p->job)) != (uint32_t)seen_gen || atomic_load(&p->stopping);
}

static bool all_done(cg_pool *p, uint64_t n)
{
    return (uint64_t)atomic_load(&p->done) >= n;
}

/* A worker waits for a job of another generation than seen_gen. */
static void wait_for_job(cg_pool *p, uint32_t seen_gen)
{
    uint64_t t0;
    if (!poll_ready(p, WAIT_WORK, job_changed, seen_gen, &t0)) {
        pthread_mutex_lock(&p->lock);
        atomic_fetch_add(&p->sleepers, 1);
        while (!job_changed(p, seen_gen))
            pthread_cond_wait(&p->wake, &p->lock);
        atomic_fetch_sub(&p->sleepers, 1);
        pthread_mutex_unlock(&p->lock);
    }
    if (t0)
        record_wait(p, WAIT_WORK, now_ns() - t0);
}

/* The caller waits for the n chunks of its job to be done. */
static void wait_for_chunks(cg_pool *p, unsigned n)
{
    uint64_t t0;
    if (!poll_ready(p, WAIT_DONE, all_done, n, &t0)) {
        pthread_mutex_lock(&p->lock);
        atomic_store(&p->caller_asleep, true);
        while (!all_done(p, n))
            pthread_cond_wait(&p->done_cond, &p->lock);
        atomic_store(&p->caller_asleep, false);
        pthread_mutex_unlock(&p->lock);
    }
    if (t0)
        record_wait(p, WAIT_DONE, now_ns() - t0);
}

/* ---- chunks ------------------------------------------------------------------ */

/* Claim the next chunk of the current job: its index, or -1 when none is
 * left (*gen then holds the generation that ran out). */
static int claim(cg_pool *p, uint32_t *gen, unsigned *n)
{
    uint64_t job = atomic_load(&p->job);
    for (;;) {
        *gen = job_gen(job);
        *n = job_n(job);
        if (job_next(job) >= *n)
            return -1;
        if (atomic_compare_exchange_weak(&p->job, &job, job + 1))
            return (int)job_next(job);
    }
}

static void run_chunk(cg_pool *p, int i, unsigned n, int worker)
{
    if (p->delay_us && worker == p->delay_worker) {
        struct timespec d = {0, (long)p->delay_us * 1000};
        nanosleep(&d, NULL);
    }
    p->fn(p->ctx, i, (int)n);
    if (atomic_fetch_add(&p->done, 1) + 1 == (int)n && atomic_load(&p->caller_asleep)) {
        pthread_mutex_lock(&p->lock);
        pthread_cond_signal(&p->done_cond);
        pthread_mutex_unlock(&p->lock);
    }
}

/* Run chunks of whatever job is current until none is left; returns the
 * generation that ran out. */
static uint32_t run_chunks(cg_pool *p, int worker)
{
    uint32_t gen;
    unsigned n;
    int i;
    while ((i = claim(p, &gen, &n)) >= 0)
        run_chunk(p, i, n, worker);
    return gen;
}

static void *worker_main(void *arg)
{
    struct worker_arg a = *(struct worker_arg *)arg;
    uint32_t seen = 0;

    for (;;) {
        wait_for_job(a.pool, seen);
        if (atomic_load(&a.pool->stopping))
            return NULL;
        seen = run_chunks(a.pool, a.index);
    }
}

/* ---- the pool ---------------------------------------------------------------- */

static void stop_workers(cg_pool *p)
{
    pthread_mutex_lock(&p->lock);
    atomic_store(&p->stopping, true);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);
    for (int i = 0; i < p->started; i++)
        pthread_join(p->workers[i], NULL);
}

static void destroy(cg_pool *p)
{
    cg__free(p->workers);
    cg__free(p->args);
    pthread_cond_destroy(&p->done_cond);
    pthread_cond_destroy(&p->wake);
    pthread_mutex_destroy(&p->lock);
    cg__free(p);
}

cg_pool *cg_pool_new(int n_threads)
{
    cg_pool *p;
    int cpus = cg_cpu_count();

    if (n_threads <= 0)
        n_threads = cpus;
    if (n_threads > 256)
        return cg__fail_null(CG_ERR_ARG, "cg_pool_new: %d threads (1 to 256, or 0: auto)",
                             n_threads);
    p = cg__calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->n_threads = n_threads;
    p->oversubscribed = n_threads > cpus;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->wake, NULL);
    pthread_cond_init(&p->done_cond, NULL);
    atomic_init(&p->job, 0);
    atomic_init(&p->done, 0);
    atomic_init(&p->sleepers, 0);
    atomic_init(&p->caller_asleep, false);
    atomic_init(&p->stopping, false);
    for (int k = 0; k < WAIT_KINDS; k++)
        atomic_init(&p->wait_avg_ns[k], 0);
    if (n_threads > 1 &&
        (!(p->workers = cg__calloc((size_t)n_threads - 1, sizeof *p->workers)) ||
         !(p->args = cg__calloc((size_t)n_threads - 1, sizeof *p->args))))
        goto out_destroy;
    for (int i = 1; i < n_threads; i++) {
        p->args[i - 1] = (struct worker_arg){p, i};
        if (pthread_create(&p->workers[i - 1], NULL, worker_main, &p->args[i - 1]) != 0) {
            cg__fail(CG_ERR_NOMEM, "cg_pool_new: cannot create thread %d", i);
            goto out_stop;
        }
        p->started++;
    }
    return p;

out_stop:
    stop_workers(p);
out_destroy:
    destroy(p);
    return NULL;
}

void cg_pool_free(cg_pool *p)
{
    if (!p)
        return;
    stop_workers(p);
    destroy(p);
}

int cg_pool_size(const cg_pool *p)
{
    return p ? p->n_threads : 1;
}

/* More chunks than the job word holds run in rounds of at most that many. */
struct round {
    cg_pool_fn fn;
    void      *ctx;
    int        first, n;
};

static void round_chunk(void *ctx, int i, int n)
{
    const struct round *r = ctx;
    (void)n;
    r->fn(r->ctx, r->first + i, r->n);
}

/* One job of n <= CG__POOL_MAX_CHUNKS chunks on a pool of 2 threads or more. */
static void run_job(cg_pool *p, int n, cg_pool_fn fn, void *ctx)
{
    p->fn = fn;
    p->ctx = ctx;
    atomic_store(&p->done, 0);
    p->generation = (p->generation + 1) & 0xffffffu;
    atomic_store(&p->job, (uint64_t)p->generation << 40 | (uint64_t)n << 20);
    if (atomic_load(&p->sleepers) > 0) {
        pthread_mutex_lock(&p->lock);
        pthread_cond_broadcast(&p->wake);
        pthread_mutex_unlock(&p->lock);
    }
    run_chunks(p, 0);
    wait_for_chunks(p, (unsigned)n);
}

void cg_pool_for(cg_pool *p, int n, cg_pool_fn fn, void *ctx)
{
    if (!p || p->n_threads == 1 || n == 1) {
        for (int i = 0; i < n; i++)
            fn(ctx, i, n);
        return;
    }
    if (n <= CG__POOL_MAX_CHUNKS) {
        if (n > 0)
            run_job(p, n, fn, ctx);
        return;
    }
    for (int first = 0; first < n; first += CG__POOL_MAX_CHUNKS) {
        struct round r = {fn, ctx, first, n};
        int left = n - first;
        run_job(p, left < CG__POOL_MAX_CHUNKS ? left : CG__POOL_MAX_CHUNKS, round_chunk, &r);
    }
}

void cg_pool_run(cg_pool *p, cg_pool_fn fn, void *ctx)
{
    cg_pool_for(p, cg_pool_size(p), fn, ctx);
}

void cg_pool_range(int n, int thread, int n_threads, int *begin, int *end)
{
    /* Contiguous shares that differ by at most one, the larger ones first. */
    int base = n / n_threads, extra = n % n_threads;
    *begin = thread * base + (thread < extra ? thread : extra);
    *end = *begin + base + (thread < extra ? 1 : 0);
}

void cg__pool_set_delay(cg_pool *p, int worker, unsigned usec)
{
    if (!p)
        return;
    p->delay_worker = worker;
    p->delay_us = usec;
}
