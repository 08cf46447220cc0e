/* Tests of transpose, det, inverse, solve and eigh (tensor/linalg.c). */
#include <math.h>
#include <stdlib.h>

#include "cg_test.h"

/* The work is in double; results are stored in cg_float, so the float build
 * is good to a few ulps of the largest value (tests scale by it). */
#ifdef CG_DOUBLE
#define LA_TOL 1e-12
#else
#define LA_TOL 2e-6
#endif

static cg_tensor *mat(int r, int c, const cg_float *v)
{
    cg_tensor *t = cg_tensor_from_array(2, (int[]){r, c}, v);
    assert_non_null(t);
    return t;
}

static cg_tensor *zeros(int r, int c)
{
    cg_tensor *t = cg_tensor_new(2, (int[]){r, c});
    assert_non_null(t);
    return t;
}

/* ---- transpose ------------------------------------------------------------ */

static void test_transpose(void **state)
{
    (void)state;
    cg_tensor *a = mat(2, 3, (cg_float[]){1, 2, 3, 4, 5, 6});
    cg_tensor *t = zeros(3, 2);
    cg_tensor *s = mat(2, 2, (cg_float[]){1, 2, 3, 4});

    assert_int_equal(cg_transpose(t, a), CG_OK);
    assert_tensor_near(t, ((double[]){1, 4, 2, 5, 3, 6}), 6, 0);
    assert_int_equal(cg_transpose(s, s), CG_OK);          /* square, in place */
    assert_tensor_near(s, ((double[]){1, 3, 2, 4}), 4, 0);

    cg_clear_error();
    assert_int_equal(cg_transpose(a, a), CG_ERR_SHAPE);   /* [2, 3] into [2, 3] */
    assert_errmsg_contains("cg_transpose");
    assert_errmsg_contains("a is [2, 3]");
    assert_errmsg_contains("out is [2, 3]");
    assert_int_equal(cg_transpose(NULL, a), CG_ERR_ARG);
    cg_tensor_free(a);
    cg_tensor_free(t);
    cg_tensor_free(s);
}

/* ---- inverse ------------------------------------------------------------ */

static void test_inverse_2x2(void **state)
{
    (void)state;
    /* [[a, b], [c, d]]^-1 = [[d, -b], [-c, a]] / (ad - bc), with ad - bc =
     * -4 + 6 = 2: [[4, -2], [3, -1]] / 2 = [[2, -1], [1.5, -0.5]]. */
    cg_tensor *a = mat(2, 2, (cg_float[]){-1, 2, -3, 4});
    cg_tensor *inv = zeros(2, 2);
    assert_int_equal(cg_inverse(inv, a), CG_OK);
    assert_tensor_near(inv, ((double[]){2, -1, 1.5, -0.5}), 4, LA_TOL * 2);
    assert_int_equal(cg_inverse(a, a), CG_OK);            /* in place */
    assert_tensor_near(a, ((double[]){2, -1, 1.5, -0.5}), 4, LA_TOL * 2);
    cg_tensor_free(a);
    cg_tensor_free(inv);
}

static void test_inverse_3x3_times_matrix_is_identity(void **state)
{
    (void)state;
    /* The second-difference matrix tridiag(-1, 2, -1) of order 3 has the
     * inverse [[3, 2, 1], [2, 4, 2], [1, 2, 3]] / 4 (det 4). Its first pivot
     * is not the column's largest only after elimination: a fair LU test. */
    cg_tensor *a = mat(3, 3, (cg_float[]){2, -1, 0, -1, 2, -1, 0, -1, 2});
    cg_tensor *inv = zeros(3, 3);
    cg_tensor *prod = zeros(3, 3);
    assert_int_equal(cg_inverse(inv, a), CG_OK);
    assert_tensor_near(inv, ((double[]){0.75, 0.5, 0.25, 0.5, 1, 0.5, 0.25, 0.5, 0.75}),
                       9, LA_TOL);
    assert_int_equal(cg_tensor_gemm(false, false, 1, inv, a, 0, prod), CG_OK);
    assert_tensor_near(prod, ((double[]){1, 0, 0, 0, 1, 0, 0, 0, 1}), 9, LA_TOL * 4);

    /* A general one, needing pivoting: A = [[0, 2, 1], [1, 1, 1], [2, 0, 3]]. */
    cg_tensor *b = mat(3, 3, (cg_float[]){0, 2, 1, 1, 1, 1, 2, 0, 3});
    assert_int_equal(cg_inverse(inv, b), CG_OK);
    assert_int_equal(cg_tensor_gemm(false, false, 1, b, inv, 0, prod), CG_OK);
    assert_tensor_near(prod, ((double[]){1, 0, 0, 0, 1, 0, 0, 0, 1}), 9, LA_TOL * 8);
    cg_tensor_free(a);
    cg_tensor_free(b);
    cg_tensor_free(inv);
    cg_tensor_free(prod);
}

/* ---- det ---------------------------------------------------------------- */

static void test_det_of_known_matrices(void **state)
{
    (void)state;
    cg_float d = 0;
    /* ad - bc = 4 - 6 = -2 */
    cg_tensor *a = mat(2, 2, (cg_float[]){1, 2, 3, 4});
    /* a permutation matrix: the zero pivot forces a row swap, det -1 */
    cg_tensor *p = mat(2, 2, (cg_float[]){0, 1, 1, 0});
    /* cofactors along row 0: 0*(3-0) - 2*(3-2) + 1*(0-2) = -4, and partial
     * pivoting swaps rows 0 and 2 first */
    cg_tensor *b = mat(3, 3, (cg_float[]){0, 2, 1, 1, 1, 1, 2, 0, 3});
    cg_tensor *diag = mat(3, 3, (cg_float[]){2, 0, 0, 0, 3, 0, 0, 0, 4});
    cg_tensor *sing = mat(2, 2, (cg_float[]){1, 2, 2, 4});
    cg_tensor *one = cg_tensor_new(2, (int[]){0, 0});      /* det of 0x0 is 1 */

    assert_int_equal(cg_det(&d, a), CG_OK);
    assert_near(d, -2, LA_TOL * 4);
    assert_int_equal(cg_det(&d, p), CG_OK);
    assert_near(d, -1, 0);
    assert_int_equal(cg_det(&d, b), CG_OK);
    assert_near(d, -4, LA_TOL * 4);
    assert_int_equal(cg_det(&d, diag), CG_OK);
    assert_near(d, 24, 0);
    cg_clear_error();
    d = 5;
    assert_int_equal(cg_det(&d, sing), CG_OK);             /* singular: 0, no error */
    assert_near(d, 0, 0);
    assert_int_equal(cg_errcode(), CG_OK);
    assert_int_equal(cg_det(&d, one), CG_OK);
    assert_near(d, 1, 0);
    cg_tensor_free(a);
    cg_tensor_free(p);
    cg_tensor_free(b);
    cg_tensor_free(diag);
    cg_tensor_free(sing);
    cg_tensor_free(one);
}

/* ---- solve -------------------------------------------------------------- */

static void test_solve_vector_and_matrix(void **state)
{
    (void)state;
    /* 2x + y = 3, x + 3y = 5: x = (9 - 5) / 5 = 0.8, y = (10 - 3) / 5 = 1.4.
     * Second column: 2x + y = 1, x + 3y = 0: x = 0.6, y = -0.2. */
    cg_tensor *a = mat(2, 2, (cg_float[]){2, 1, 1, 3});
    cg_tensor *b = cg_tensor_from_array(1, (int[]){2}, (cg_float[]){3, 5});
    cg_tensor *x = cg_tensor_new(1, (int[]){2});
    cg_tensor *bm = mat(2, 2, (cg_float[]){3, 1, 5, 0});
    cg_tensor *xm = zeros(2, 2);

    assert_int_equal(cg_solve(x, a, b), CG_OK);
    assert_tensor_near(x, ((double[]){0.8, 1.4}), 2, LA_TOL * 2);
    assert_int_equal(cg_solve(xm, a, bm), CG_OK);
    assert_tensor_near(xm, ((double[]){0.8, 0.6, 1.4, -0.2}), 4, LA_TOL * 2);
    assert_int_equal(cg_solve(bm, a, bm), CG_OK);           /* x may be b */
    assert_tensor_near(bm, ((double[]){0.8, 0.6, 1.4, -0.2}), 4, LA_TOL * 2);

    cg_clear_error();
    assert_int_equal(cg_solve(xm, a, b), CG_ERR_SHAPE);     /* x not shaped like b */
    assert_errmsg_contains("b is [2]");
    assert_errmsg_contains("x is [2, 2]");
    cg_tensor_free(a);
    cg_tensor_free(b);
    cg_tensor_free(x);
    cg_tensor_free(bm);
    cg_tensor_free(xm);
}

/* ---- errors ------------------------------------------------------------- */

static void test_singular_is_a_numeric_error(void **state)
{
    (void)state;
    cg_tensor *sing = mat(2, 2, (cg_float[]){1, 2, 2, 4});
    /* Singular in exact arithmetic (row 3 = 2 row 2 - row 1), but elimination
     * in floating point leaves a rounding residue instead of an exact 0
     * pivot: the relative tolerance must still call it singular. */
    cg_tensor *s3 = mat(3, 3, (cg_float[]){1, 2, 3, 4, 5, 6, 7, 8, 9});
    cg_tensor *zero = zeros(3, 3);
    cg_tensor *inv2 = zeros(2, 2), *inv3 = zeros(3, 3);
    cg_tensor *b = cg_tensor_new(1, (int[]){3});
    cg_float d = 1;

    cg_clear_error();
    assert_int_equal(cg_inverse(inv2, sing), CG_ERR_NUMERIC);
    assert_errmsg_contains("cg_inverse");
    assert_errmsg_contains("[2, 2] is singular");
    cg_clear_error();
    assert_int_equal(cg_inverse(inv3, s3), CG_ERR_NUMERIC);
    assert_errmsg_contains("singular");
    assert_int_equal(cg_det(&d, s3), CG_OK);
    assert_near(d, 0, 0);
    cg_clear_error();
    assert_int_equal(cg_solve(b, zero, b), CG_ERR_NUMERIC);
    assert_errmsg_contains("cg_solve");
    assert_errmsg_contains("singular");
    for (size_t i = 0; i < inv3->size; i++)                 /* no NaN left behind */
        assert_false(isnan((double)inv3->data[i]));

    s3->data[4] = (cg_float)NAN;                            /* not finite: also numeric */
    cg_clear_error();
    assert_int_equal(cg_inverse(inv3, s3), CG_ERR_NUMERIC);
    assert_errmsg_contains("a[1, 1] is nan");
    cg_tensor_free(sing);
    cg_tensor_free(s3);
    cg_tensor_free(zero);
    cg_tensor_free(inv2);
    cg_tensor_free(inv3);
    cg_tensor_free(b);
}

static void test_non_square_is_a_shape_error(void **state)
{
    (void)state;
    cg_tensor *a = zeros(2, 3);
    cg_tensor *out = zeros(2, 3);
    cg_tensor *sq = mat(2, 2, (cg_float[]){1, 0, 0, 1});
    cg_tensor *out3 = zeros(3, 3);
    cg_tensor *vals = cg_tensor_new(1, (int[]){2});
    cg_float d;

    cg_clear_error();
    assert_int_equal(cg_det(&d, a), CG_ERR_SHAPE);
    assert_errmsg_contains("cg_det: a is [2, 3]");
    cg_clear_error();
    assert_int_equal(cg_inverse(out, a), CG_ERR_SHAPE);
    assert_errmsg_contains("[2, 3]");
    cg_clear_error();
    assert_int_equal(cg_inverse(out3, sq), CG_ERR_SHAPE);   /* out of the wrong size */
    assert_errmsg_contains("a is [2, 2]");
    assert_errmsg_contains("out is [3, 3]");
    cg_clear_error();
    assert_int_equal(cg_eigh(vals, NULL, a), CG_ERR_SHAPE);
    assert_errmsg_contains("cg_eigh");
    cg_clear_error();
    assert_int_equal(cg_eigh(vals, out3, sq), CG_ERR_SHAPE);
    assert_errmsg_contains("vectors is [3, 3]");
    assert_int_equal(cg_det(NULL, sq), CG_ERR_ARG);
    cg_tensor_free(a);
    cg_tensor_free(out);
    cg_tensor_free(sq);
    cg_tensor_free(out3);
    cg_tensor_free(vals);
}

/* ---- eigh --------------------------------------------------------------- */

/* A V = V diag(L) and V^T V = I, summed in double. */
static void assert_eigenpairs(const cg_tensor *a, const cg_tensor *l, const cg_tensor *v,
                              double tol)
{
    int n = a->shape[0];
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            double av = 0, vv = 0;
            for (int k = 0; k < n; k++) {
                av += (double)a->data[i * n + k] * (double)v->data[k * n + j];
                vv += (double)v->data[k * n + i] * (double)v->data[k * n + j];
            }
            assert_near(av, (double)v->data[i * n + j] * (double)l->data[j], tol);
            assert_near(vv, i == j ? 1 : 0, tol);
        }
}

static void test_eigh_2x2(void **state)
{
    (void)state;
    /* [[-1, 2], [2, -1]]: det(A - tI) = (t + 1)^2 - 4 = 0 at t = -3 and 1,
     * with eigenvectors [1, -1] / sqrt(2) and [1, 1] / sqrt(2). */
    cg_tensor *a = mat(2, 2, (cg_float[]){-1, 2, 2, -1});
    cg_tensor *l = cg_tensor_new(1, (int[]){2});
    cg_tensor *v = zeros(2, 2);
    assert_int_equal(cg_eigh(l, v, a), CG_OK);
    assert_tensor_near(l, ((double[]){-3, 1}), 2, LA_TOL * 4);
    assert_eigenpairs(a, l, v, LA_TOL * 4);
    /* Up to sign: column 0 is +-[1, -1] / sqrt(2), column 1 +-[1, 1] / sqrt(2). */
    assert_near(fabs((double)v->data[0]), sqrt(0.5), LA_TOL);
    assert_near((double)v->data[0] + (double)v->data[2], 0, LA_TOL);
    assert_near((double)v->data[1] - (double)v->data[3], 0, LA_TOL);
    cg_tensor_fill(l, 0);
    assert_int_equal(cg_eigh(l, NULL, a), CG_OK);           /* values only */
    assert_tensor_near(l, ((double[]){-3, 1}), 2, LA_TOL * 4);
    cg_tensor_free(a);
    cg_tensor_free(l);
    cg_tensor_free(v);
}

static void test_eigh_4x4(void **state)
{
    (void)state;
    /* tridiag(-1, 2, -1) of order n has the eigenvalues 2 - 2 cos(k pi / (n+1)),
     * k = 1..n (the discrete Laplacian): for n = 4, ascending in k. */
    cg_tensor *t = mat(4, 4, (cg_float[]){2, -1, 0, 0, -1, 2, -1, 0,
                                          0, -1, 2, -1, 0, 0, -1, 2});
    /* A dense symmetric one: only A V = V diag(L), V^T V = I and
     * trace = sum of eigenvalues = 4 + 3 + 5 + 6 = 18 are known by hand. */
    cg_tensor *a = mat(4, 4, (cg_float[]){4, 1, 2, 0.5, 1, 3, 0, 1,
                                          2, 0, 5, 2, 0.5, 1, 2, 6});
    cg_tensor *l = cg_tensor_new(1, (int[]){4});
    cg_tensor *v = zeros(4, 4);
    const double pi = 3.14159265358979323846;
    double sum = 0;

    assert_int_equal(cg_eigh(l, v, t), CG_OK);
    for (int k = 1; k <= 4; k++)
        assert_near(l->data[k - 1], 2 - 2 * cos(k * pi / 5), LA_TOL * 8);
    assert_eigenpairs(t, l, v, LA_TOL * 8);

    assert_int_equal(cg_eigh(l, v, a), CG_OK);
    for (int i = 0; i < 4; i++) {
        sum += (double)l->data[i];
        if (i)
            assert_true(l->data[i - 1] <= l->data[i]);
    }
    assert_near(sum, 18, LA_TOL * 32);
    assert_eigenpairs(a, l, v, LA_TOL * 32);
    cg_tensor_free(t);
    cg_tensor_free(a);
    cg_tensor_free(l);
    cg_tensor_free(v);
}

static void test_eigh_rejects_non_symmetric(void **state)
{
    (void)state;
    cg_tensor *a = mat(2, 2, (cg_float[]){1, 2, 3, 4});
    cg_tensor *l = cg_tensor_new(1, (int[]){2});
    cg_clear_error();
    assert_int_equal(cg_eigh(l, NULL, a), CG_ERR_ARG);
    assert_errmsg_contains("not symmetric");
    assert_errmsg_contains("a[0, 1] is 2");
    cg_tensor_free(a);
    cg_tensor_free(l);
}

/* ---- out of memory ----------------------------------------------------- */

static void test_out_of_memory_is_reported(void **state)
{
    (void)state;
    cg_tensor *a = mat(2, 2, (cg_float[]){2, 1, 1, 3});
    cg_tensor *out = zeros(2, 2);
    cg_tensor *l = cg_tensor_new(1, (int[]){2});
    cg_float d;

    cg_test_alloc_install(0, CG_TEST_ALLOC_NO_REALLOC);
    assert_int_equal(cg_inverse(out, a), CG_ERR_NOMEM);
    assert_int_equal(cg_det(&d, a), CG_ERR_NOMEM);
    assert_int_equal(cg_solve(out, a, out), CG_ERR_NOMEM);
    assert_int_equal(cg_eigh(l, out, a), CG_ERR_NOMEM);
    assert_int_equal(cg_stats_cov(out, a, false), CG_ERR_NOMEM);
    assert_int_equal(cg_stats_corr(out, a), CG_ERR_NOMEM);
    assert_errmsg_contains("out of memory");
    cg_test_alloc.allow = 100;                    /* and with memory, nothing leaks */
    assert_int_equal(cg_eigh(l, out, a), CG_OK);
    assert_int_equal(cg_inverse(out, a), CG_OK);
    assert_int_equal(cg_stats_corr(out, a), CG_OK);
    cg_test_alloc_remove();
    assert_int_equal(cg_test_alloc.live, 0);
    cg_tensor_free(a);
    cg_tensor_free(out);
    cg_tensor_free(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_transpose),
        cmocka_unit_test(test_inverse_2x2),
        cmocka_unit_test(test_inverse_3x3_times_matrix_is_identity),
        cmocka_unit_test(test_det_of_known_matrices),
        cmocka_unit_test(test_solve_vector_and_matrix),
        cmocka_unit_test(test_singular_is_a_numeric_error),
        cmocka_unit_test(test_non_square_is_a_shape_error),
        cmocka_unit_test(test_eigh_2x2),
        cmocka_unit_test(test_eigh_4x4),
        cmocka_unit_test(test_eigh_rejects_non_symmetric),
        cmocka_unit_test(test_out_of_memory_is_reported),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
