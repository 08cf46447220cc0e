/* Shared helpers for the cmocka tests (see cg_test.h). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cg_test.h"

void cg_assert_near(double actual, double expected, double tol, const char *file, int line)
{
    if (fabs(actual - expected) <= tol || (isnan(actual) && isnan(expected)) ||
        (isinf(actual) && actual == expected))
        return;
    print_error("%.17g != %.17g (tolerance %g)\n", actual, expected, tol);
    _fail(file, line);
}

void cg_assert_tensor_near(const cg_tensor *t, const double *expected, size_t n, double tol,
                           const char *file, int line)
{
    if (!t) {
        print_error("tensor is NULL: %s\n", cg_errmsg());
        _fail(file, line);
        return;
    }
    if (t->size != n) {
        print_error("tensor has %zu elements, expected %zu\n", t->size, n);
        _fail(file, line);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (fabs((double)t->data[i] - expected[i]) > tol) {
            print_error("element %zu: %.17g != %.17g (tolerance %g)\n", i,
                        (double)t->data[i], expected[i], tol);
            _fail(file, line);
            return;
        }
    }
}

void cg_assert_errmsg_contains(const char *needle, const char *file, int line)
{
    if (strstr(cg_errmsg(), needle))
        return;
    print_error("error message \"%s\" does not contain \"%s\"\n", cg_errmsg(), needle);
    _fail(file, line);
}
