/*
 * A thread pool made once and reused for every parallel region.
 *
 * cg_pool_run(pool, fn, ctx) runs fn(ctx, t, T) on T threads at once: the
 * caller is thread 0 and T - 1 workers are the others. It returns when all of
 * them are done. A training step calls it a few times, so the hand-off must be
 * cheap: workers spin on the generation counter before they sleep on the
 * condition variable, and the caller spins before it sleeps. Threads are
 * never created per call.
 *
 * How long to spin: a sleeping thread is woken through the kernel, and on a
 * virtual machine a virtual core that went idle is woken through the host,
 * tens of microseconds. Within a training step a thread waits for the other
 * at every hand-off, often longer than a few microseconds when the host
 * slows one core; spinning for up to a millisecond (about one step of the
 * demo network) keeps those waits off the kernel: context switches in two
 * epochs of the demo went from about 5,600 to under 100 (bench/README.md).
 * Past that a thread sleeps, so an idle pool costs no CPU.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#include "internal.h"

#define CG__POOL_SPIN_NS 1000000

/* A spin wait that gives up after CG__POOL_SPIN_NS: check, then call
 * spin_more() before the next check; it reads the clock only every 256
 * calls. */
struct spin {
    uint64_t deadline;
    unsigned calls;
};

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static bool spin_more(struct spin *s)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();   /* lets the core's other hardware thread run */
#endif
    if (++s->calls % 256 != 0)
        return true;
    uint64_t t = now_ns();
    if (s->deadline == 0)
        s->deadline = t + CG__POOL_SPIN_NS;
    return t < s->deadline;
}

struct cg_pool {
    int              n_threads;
    pthread_t       *workers;       /* n_threads - 1 of them */
    int              started;       /* workers created so far */
    pthread_mutex_t  lock;
    pthread_cond_t   wake;          /* generation changed or stopping */
    pthread_cond_t   done;          /* pending reached 0 */
    atomic_uint      generation;    /* bumped once per run */
    atomic_int       pending;       /* workers still running this generation */
    atomic_bool      stopping;
    cg_pool_fn       fn;
    void            *ctx;
};

struct worker_arg {
    cg_pool *pool;
    int      index;
};

static void run_share(cg_pool *p, int index)
{
    p->fn(p->ctx, index, p->n_threads);
    if (atomic_fetch_sub(&p->pending, 1) == 1) {
        pthread_mutex_lock(&p->lock);
        pthread_cond_signal(&p->done);
        pthread_mutex_unlock(&p->lock);
    }
}

/* Wait until the generation differs from `seen`; false when stopping. */
static bool wait_for_work(cg_pool *p, unsigned seen)
{
    struct spin s = {0, 0};
    do {
        if (atomic_load(&p->generation) != seen || atomic_load(&p->stopping))
            return !atomic_load(&p->stopping);
    } while (spin_more(&s));
    pthread_mutex_lock(&p->lock);
    while (atomic_load(&p->generation) == seen && !atomic_load(&p->stopping))
        pthread_cond_wait(&p->wake, &p->lock);
    pthread_mutex_unlock(&p->lock);
    return !atomic_load(&p->stopping);
}

static void *worker_main(void *arg)
{
    struct worker_arg a = *(struct worker_arg *)arg;
    unsigned seen = 0;

    cg__free(arg);
    while (wait_for_work(a.pool, seen)) {
        seen = atomic_load(&a.pool->generation);
        run_share(a.pool, a.index);
    }
    return NULL;
}

static void stop_workers(cg_pool *p)
{
    pthread_mutex_lock(&p->lock);
    atomic_store(&p->stopping, true);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);
    for (int i = 0; i < p->started; i++)
        pthread_join(p->workers[i], NULL);
}

cg_pool *cg_pool_new(int n_threads)
{
    cg_pool *p;

    if (n_threads < 1 || n_threads > 256)
        return cg__fail_null(CG_ERR_ARG, "cg_pool_new: %d threads (1 to 256)", n_threads);
    p = cg__calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->n_threads = n_threads;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->wake, NULL);
    pthread_cond_init(&p->done, NULL);
    atomic_init(&p->generation, 0);
    atomic_init(&p->pending, 0);
    atomic_init(&p->stopping, false);
    if (n_threads > 1) {
        p->workers = cg__calloc((size_t)n_threads - 1, sizeof *p->workers);
        if (!p->workers)
            goto out_free_pool;
    }
    for (int i = 1; i < n_threads; i++) {
        struct worker_arg *a = cg__malloc(sizeof *a);
        if (!a)
            goto out_stop;
        a->pool = p;
        a->index = i;
        if (pthread_create(&p->workers[i - 1], NULL, worker_main, a) != 0) {
            cg__free(a);
            cg__fail(CG_ERR_NOMEM, "cg_pool_new: cannot create thread %d", i);
            goto out_stop;
        }
        p->started++;
    }
    return p;

out_stop:
    stop_workers(p);
out_free_pool:
    cg__free(p->workers);
    pthread_cond_destroy(&p->done);
    pthread_cond_destroy(&p->wake);
    pthread_mutex_destroy(&p->lock);
    cg__free(p);
    return NULL;
}

void cg_pool_free(cg_pool *p)
{
    if (!p)
        return;
    stop_workers(p);
    cg__free(p->workers);
    pthread_cond_destroy(&p->done);
    pthread_cond_destroy(&p->wake);
    pthread_mutex_destroy(&p->lock);
    cg__free(p);
}

int cg_pool_size(const cg_pool *p)
{
    return p ? p->n_threads : 1;
}

void cg_pool_run(cg_pool *p, cg_pool_fn fn, void *ctx)
{
    if (!p || p->n_threads == 1) {
        fn(ctx, 0, 1);
        return;
    }
    p->fn = fn;
    p->ctx = ctx;
    atomic_store(&p->pending, p->n_threads);
    pthread_mutex_lock(&p->lock);
    atomic_fetch_add(&p->generation, 1);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);
    run_share(p, 0);
    struct spin s = {0, 0};
    do {
        if (atomic_load(&p->pending) == 0)
            return;
    } while (spin_more(&s));
    pthread_mutex_lock(&p->lock);
    while (atomic_load(&p->pending) != 0)
        pthread_cond_wait(&p->done, &p->lock);
    pthread_mutex_unlock(&p->lock);
}

void cg_pool_range(int n, int thread, int n_threads, int *begin, int *end)
{
    /* Contiguous shares that differ by at most one, the larger ones first. */
    int base = n / n_threads, extra = n % n_threads;
    *begin = thread * base + (thread < extra ? thread : extra);
    *end = *begin + base + (thread < extra ? 1 : 0);
}
