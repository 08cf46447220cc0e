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

#endif /* CG_TEST_H */
