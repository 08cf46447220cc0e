/*
 * Shared helpers for the cmocka tests. Include after <cmocka.h>'s
 * prerequisites; this header includes them itself.
 */
#ifndef CG_TEST_H
#define CG_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cgrad.h"

/* Tolerance that fits the build: tight for double, loose for float. */
#ifdef CG_DOUBLE
#define CG_TEST_TOL 1e-12
#else
#define CG_TEST_TOL 1e-5
#endif

/* cmocka 1.1.5 has assert_float_equal but no double version. Fails with both
 * values and the tolerance printed. */
void cg_assert_near(double actual, double expected, double tol, const char *file, int line);
#define assert_near(actual, expected, tol) \
    cg_assert_near((double)(actual), (double)(expected), (double)(tol), __FILE__, __LINE__)

/* Element-wise: every data[i] of t within tol of expected[i]. */
void cg_assert_tensor_near(const cg_tensor *t, const double *expected, size_t n, double tol,
                           const char *file, int line);
#define assert_tensor_near(t, expected, n, tol) \
    cg_assert_tensor_near((t), (expected), (n), (tol), __FILE__, __LINE__)

/* The current error message contains `needle`. */
#define assert_errmsg_contains(needle) \
    cg_assert_errmsg_contains((needle), __FILE__, __LINE__)
void cg_assert_errmsg_contains(const char *needle, const char *file, int line);

/* ---- a test allocator ------------------------------------------------------
 * An allocator for cg_set_allocator that fails on demand and counts, so a
 * test can fail the N-th allocation of a call for every N and check that each
 * failure is clean (CG_ERR_NOMEM, nothing leaked), or check that a loop
 * allocates nothing:
 *
 *     for (long n = 0;; n++) {
 *         cg_test_alloc_install(n, 0);         // the first n succeed
 *         cg_dataset *ds = cg_csv_load(path, NULL);
 *         cg_dataset_free(ds);
 *         cg_test_alloc_remove();
 *         assert_int_equal(cg_test_alloc.live, 0);
 *         if (ds)
 *             break;
 *         assert_int_equal(cg_errcode(), CG_ERR_NOMEM);
 *     }
 *
 * One allocator per process; the counters are plain longs, so fail
 * allocations only where a single thread allocates. */
struct cg_test_alloc {
    /* How many more allocations succeed; the next one fails. Decremented by
     * each allocation that succeeds; < 0: none fails. A test may change it
     * while the allocator is installed. */
    long allow;
    long calls;        /* malloc and realloc calls, failed ones included */
    long live;         /* blocks handed out and not yet freed */
    size_t largest;    /* the largest size asked of malloc or realloc */
};
extern struct cg_test_alloc cg_test_alloc;

/* Flags for cg_test_alloc_install. */
enum {
    /* Only one allocation fails (the one after the `allow` that succeed);
     * later ones succeed again, so the paths after a failure that allocate
     * run with memory. Without it every later allocation fails too. */
    CG_TEST_ALLOC_ONCE = 1,
    /* Install no realloc hook: the library's cg__realloc then mallocs,
     * copies and frees through this allocator, so its fallback path runs.
     * Either way a realloc is one call that can fail. */
    CG_TEST_ALLOC_NO_REALLOC = 2
};

/* Reset the counters, set `allow` (< 0: no allocation fails) and install the
 * allocator with `flags` (0 or CG_TEST_ALLOC_* or-ed). realloc counts as a
 * call; realloc(NULL, n) makes a live block; a failed realloc leaves the
 * block live; free(NULL) does nothing. */
void cg_test_alloc_install(long allow, unsigned flags);
/* Reinstall the C library's allocator (the counters stay readable). */
void cg_test_alloc_remove(void);
/* Reinstall the test allocator as it was removed: same counters, `allow` and
 * flags (to free through it, counted, what it handed out). */
void cg_test_alloc_resume(void);

/* The out-of-memory walk of a data-set loader: load(ctx) runs with its n-th
 * allocation failing (CG_TEST_ALLOC_ONCE | CG_TEST_ALLOC_NO_REALLOC) for
 * n = 0, 1, ... until it succeeds. Every failed run must report
 * CG_ERR_NOMEM, and every run, failed or not, must leave no block allocated.
 * Fails the test if it has not succeeded after max runs. */
void cg_test_walk_dataset_allocations(cg_dataset *(*load)(void *ctx), void *ctx, long max);

/* ---- skipping ------------------------------------------------------------------
 * A test that cannot run here says why before it skips, and make test's
 * summary (tests/run.sh) counts the reasons:
 *     if (geteuid() == 0) {
 *         cg_test_skipping("root writes into read-only folders");
 *         skip();
 *     } */
void cg_test_skipping(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- a temporary folder per test program ------------------------------------ */

/* Make a new folder "/tmp/<stem>XXXXXX" (mkdtemp) and write its name into
 * dir (size bytes). 0, or -1 as a cmocka setup function returns it. */
int cg_test_dir_make(char *dir, size_t size, const char *stem);
/* Remove dir and everything in it; an empty name does nothing. 0 or -1. */
int cg_test_dir_remove(const char *dir);
/* Write n bytes at p to path, gzip-compressed when gz; fails the test on
 * any error. */
void cg_test_write_file(const char *path, const void *p, size_t n, bool gz);
/* A safetensors file at path: the 8-byte length of json, json, then
 * data_len bytes of float32 values 1, 2, 3, ... (a header is written as
 * given, so a test can make any malformed one). */
void cg_test_write_safetensors(const char *path, const char *json, size_t data_len);
/* "<dir>/<rel>" in the k-th of CG_TEST_PATHS buffers, so that that many paths
 * can be in use at once (k in 0..CG_TEST_PATHS-1). */
#define CG_TEST_PATHS 8
const char *cg_test_path(const char *dir, int k, const char *rel);

#endif /* CG_TEST_H */
