/* Tests of the thread pool (tensor/pool.c). */
#include <time.h>

#include "cg_test.h"

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
    assert_null(cg_pool_new(0));
    assert_int_equal(cg_errcode(), CG_ERR_ARG);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pool_runs_every_share_many_times),
        cmocka_unit_test(test_pool_range_partitions),
        cmocka_unit_test(test_pool_rejects_bad_size_and_null_runs_inline),
        cmocka_unit_test(test_idle_pool_sleeps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
