/* Tests of the thread pool (tensor/pool.c) and the CPU count and OpenBLAS
 * settings (tensor/cpus.c). */
#define _GNU_SOURCE
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cblas.h>

#include "cg_test.h"
#include "../tensor/internal.h"

struct sum_job {
    const int *values;
    int        n;
    long       partial[8];
    int        seen_threads;
};

static void sum_share(void *ctx, int thread, int n_threads)
{
    struct sum_job *job = ctx;
    int begin, end;
    long s = 0;

    cg_pool_range(job->n, thread, n_threads, &begin, &end);
    for (int i = begin; i < end; i++)
        s += job->values[i];
    job->partial[thread] = s;
}

static void test_pool_runs_every_share_many_times(void **state)
{
    (void)state;
    static int values[1001];
    long expected = 0;
    for (int i = 0; i < 1001; i++) {
        values[i] = i * 3 - 7;
        expected += values[i];
    }
    for (int threads = 1; threads <= 4; threads++) {
        cg_pool *p = cg_pool_new(threads);
        assert_non_null(p);
        assert_int_equal(cg_pool_size(p), threads);
        /* Many generations in a row: no share may be lost or run twice. */
        for (int run = 0; run < 2000; run++) {
            struct sum_job job = {values, 1001 - run % 5, {0}, 0};
            long want = expected;
            for (int i = job.n; i < 1001; i++)
                want -= values[i];
            cg_pool_run(p, sum_share, &job);
            long got = 0;
            for (int t = 0; t < threads; t++)
                got += job.partial[t];
            assert_int_equal(got, want);
        }
        cg_pool_free(p);
    }
}

static void test_pool_range_partitions(void **state)
{
    (void)state;
    int begin, end, next = 0;
    for (int t = 0; t < 3; t++) {
        cg_pool_range(10, t, 3, &begin, &end);
        assert_int_equal(begin, next);
        assert_true(end - begin == 3 || end - begin == 4);
        next = end;
    }
    assert_int_equal(next, 10);
    cg_pool_range(1, 1, 2, &begin, &end);
    assert_int_equal(begin, end);
}

static void test_pool_rejects_bad_size_and_null_runs_inline(void **state)
{
    (void)state;
    assert_null(cg_pool_new(257));
    assert_int_equal(cg_errcode(), CG_ERR_ARG);
    /* 0 and less: as many threads as the CPUs the process may use. */
    for (int n = 0; n >= -1; n--) {
        cg_pool *p = cg_pool_new(n);
        assert_non_null(p);
        assert_int_equal(cg_pool_size(p), cg_cpu_count());
        cg_pool_free(p);
    }
    static const int values[3] = {1, 2, 3};
    struct sum_job job = {values, 3, {0}, 0};
    cg_pool_run(NULL, sum_share, &job);
    assert_int_equal(job.partial[0], 6);
    assert_int_equal(cg_pool_size(NULL), 1);
    cg_pool_free(NULL);
}

static double process_cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void nop_share(void *ctx, int thread, int n_threads)
{
    (void)ctx;
    (void)thread;
    (void)n_threads;
}

/* Workers spin for about a millisecond after a run, then sleep: a pool left
 * idle must not keep a core busy. Over 300 ms of idleness, 3 spinning
 * workers would use about 900 ms of CPU; sleeping ones use next to none. */
static void test_idle_pool_sleeps(void **state)
{
    (void)state;
    cg_pool *p = cg_pool_new(4);
    assert_non_null(p);
    cg_pool_run(p, nop_share, NULL);
    double cpu0 = process_cpu_seconds();
    struct timespec idle = {0, 300 * 1000 * 1000};
    nanosleep(&idle, NULL);
    double used = process_cpu_seconds() - cpu0;
    cg_pool_free(p);
    assert_true(used < 0.15);
}

/* ---- chunks handed out dynamically ------------------------------------------ */

struct count_job {
    atomic_int runs[4096];   /* how many times each chunk ran */
    int        n_seen;       /* the n every chunk was given */
    atomic_int wrong_n;
};

static void count_chunk(void *ctx, int i, int n)
{
    struct count_job *job = ctx;
    /* About a microsecond of work, so that every thread gets chunks. */
    for (volatile int w = 0; w < 300; w++)
        ;
    atomic_fetch_add(&job->runs[i], 1);
    if (n != job->n_seen)
        atomic_fetch_add(&job->wrong_n, 1);
}

/* Run n chunks on p and check each ran exactly once with the right n. */
static void check_every_chunk_once(cg_pool *p, struct count_job *job, int n)
{
    for (int i = 0; i < n; i++)
        atomic_store(&job->runs[i], 0);
    job->n_seen = n;
    atomic_store(&job->wrong_n, 0);
    cg_pool_for(p, n, count_chunk, job);
    for (int i = 0; i < n; i++)
        assert_int_equal(atomic_load(&job->runs[i]), 1);
    assert_int_equal(atomic_load(&job->wrong_n), 0);
}

/* More chunks than threads, fewer, none; with a worker that sleeps in
 * every chunk it takes (the others take the rest) and without. */
static void test_pool_for_runs_every_chunk_once(void **state)
{
    (void)state;
    static struct count_job job;
    static const int sizes[] = {0, 1, 2, 3, 7, 64, 1000, 4096};
    for (int threads = 1; threads <= 4; threads++) {
        cg_pool *p = cg_pool_new(threads);
        assert_non_null(p);
        for (int delay = 0; delay <= 1; delay++) {
            cg__pool_set_delay(p, threads - 1, delay ? 200 : 0);
            for (int rep = 0; rep < 20; rep++)
                for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
                    check_every_chunk_once(p, &job, delay && sizes[s] > 64 ? 64 : sizes[s]);
        }
        cg_pool_free(p);
    }
}

/* ---- a busy machine ----------------------------------------------------------- */

/* A child process that spins until killed: the "other program" of a busy
 * machine. */
static pid_t start_spinner(void)
{
    pid_t pid = fork();
    if (pid == 0) {
        alarm(30);   /* gone even if the test fails before it kills it */
        for (volatile unsigned long i = 0;; i++)
            ;
    }
    assert_true(pid > 0);
    return pid;
}

static void stop_spinner(pid_t pid)
{
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

/* Twice as many threads as CPUs plus one, beside a process that spins on a
 * core: thousands of runs finish with every chunk run once, and the pool
 * left idle afterwards still sleeps. */
static void test_pool_oversubscribed_beside_a_busy_process(void **state)
{
    (void)state;
    static struct count_job job;
    pid_t spinner = start_spinner();
    cg_pool *p = cg_pool_new(2 * cg_cpu_count() + 1);
    assert_non_null(p);
    for (int rep = 0; rep < 2000; rep++)
        check_every_chunk_once(p, &job, 1 + rep % 40);
    double cpu0 = process_cpu_seconds();
    struct timespec idle = {0, 300 * 1000 * 1000};
    nanosleep(&idle, NULL);
    double used = process_cpu_seconds() - cpu0;
    cg_pool_free(p);
    stop_spinner(spinner);
    assert_true(used < 0.15);
}

/* ---- CPUs and OpenBLAS ------------------------------------------------------------ */

/* The count follows the affinity mask: pinned to one CPU, it is 1. */
static void test_cpu_count_follows_affinity(void **state)
{
    (void)state;
    cpu_set_t saved, one;
    int all = cg_cpu_count();
    assert_true(all >= 1);
    assert_true(all <= sysconf(_SC_NPROCESSORS_ONLN));
    assert_int_equal(sched_getaffinity(0, sizeof saved, &saved), 0);
    CPU_ZERO(&one);
    for (int c = 0; c < CPU_SETSIZE; c++)
        if (CPU_ISSET(c, &saved)) {
            CPU_SET(c, &one);
            break;
        }
    assert_int_equal(sched_setaffinity(0, sizeof one, &one), 0);
    int pinned = cg_cpu_count();
    assert_int_equal(sched_setaffinity(0, sizeof saved, &saved), 0);
    assert_int_equal(pinned, 1);
    assert_int_equal(cg_cpu_count(), all);
}

/* A cgroup v2 quota, rounded up; none, or unreadable, is 0 (no limit). */
static void test_cgroup_quota_text(void **state)
{
    (void)state;
    assert_int_equal(cg__cpu_max_cpus("max 100000\n"), 0);
    assert_int_equal(cg__cpu_max_cpus("150000 100000\n"), 2);
    assert_int_equal(cg__cpu_max_cpus("100000 100000\n"), 1);
    assert_int_equal(cg__cpu_max_cpus("50000 100000\n"), 1);
    assert_int_equal(cg__cpu_max_cpus("400000 100000"), 4);
    assert_int_equal(cg__cpu_max_cpus(""), 0);
    assert_int_equal(cg__cpu_max_cpus("-1 100000"), 0);
}

/* Unless the program chose, the first product sets OpenBLAS to one thread;
 * once the program chose, cgrad leaves the setting alone. */
static void test_first_product_sets_blas_to_one_thread(void **state)
{
    (void)state;
    cg_float a[4] = {1, 2, 3, 4}, c[4];
    if (getenv("OPENBLAS_NUM_THREADS"))
        skip();
    openblas_set_num_threads(2);   /* as OpenBLAS starts on a 2-core machine */
    cg_kernel_gemm(false, false, 2, 2, 2, 1, a, a, 0, c);
    assert_int_equal(openblas_get_num_threads(), 1);
    assert_near(c[0], 7, 0);
    cg_set_blas_threads(2);
    cg_kernel_gemm(false, false, 2, 2, 2, 1, a, a, 0, c);
    assert_int_equal(openblas_get_num_threads(), cg_cpu_count() >= 2 ? 2 : 1);
    cg_set_blas_threads(0);
    assert_int_equal(openblas_get_num_threads(), cg_cpu_count());
    cg_set_blas_threads(1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_product_sets_blas_to_one_thread),
        cmocka_unit_test(test_pool_for_runs_every_chunk_once),
        cmocka_unit_test(test_pool_oversubscribed_beside_a_busy_process),
        cmocka_unit_test(test_cpu_count_follows_affinity),
        cmocka_unit_test(test_cgroup_quota_text),
        cmocka_unit_test(test_pool_runs_every_share_many_times),
        cmocka_unit_test(test_pool_range_partitions),
        cmocka_unit_test(test_pool_rejects_bad_size_and_null_runs_inline),
        cmocka_unit_test(test_idle_pool_sleeps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
