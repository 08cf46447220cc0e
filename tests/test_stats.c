/* Tests of the column statistics (tensor/stats.c). */
#include <math.h>

#include "cg_test.h"

/* x: [4, 3], worked by hand:
 *   col 0: 1, 2, 3, 4  mean 2.5  deviations -1.5 -0.5 0.5 1.5   sum sq 5
 *   col 1: 2, 4, 6, 8  mean 5    deviations -3 -1 1 3  (2 col 0) sum sq 20
 *   col 2: 1, 3, 2, 0  mean 1.5  deviations -0.5 1.5 0.5 -1.5   sum sq 5
 * co-moments: (0,1) = 2 * 5 = 10; (0,2) = 0.75 - 0.75 + 0.25 - 2.25 = -2;
 * (1,2) = 2 * -2 = -4. Population divides by 4, unbiased by 3. */
static const cg_float X[] = {1, 2, 1, 2, 4, 3, 3, 6, 2, 4, 8, 0};

static cg_tensor *data(void)
{
    cg_tensor *x = cg_tensor_from_array(2, (int[]){4, 3}, X);
    assert_non_null(x);
    return x;
}

static void test_mean_var_std(void **state)
{
    (void)state;
    cg_tensor *x = data();
    cg_tensor *v = cg_tensor_new(1, (int[]){3});

    assert_int_equal(cg_stats_mean(v, x), CG_OK);
    assert_tensor_near(v, ((double[]){2.5, 5, 1.5}), 3, CG_TEST_TOL);
    assert_int_equal(cg_stats_var(v, x, false), CG_OK);
    assert_tensor_near(v, ((double[]){1.25, 5, 1.25}), 3, CG_TEST_TOL);
    assert_int_equal(cg_stats_var(v, x, true), CG_OK);
    assert_tensor_near(v, ((double[]){5.0 / 3, 20.0 / 3, 5.0 / 3}), 3, CG_TEST_TOL);
    assert_int_equal(cg_stats_std(v, x, false), CG_OK);
    assert_tensor_near(v, ((double[]){1.118033988749895, 2.23606797749979,
                                      1.118033988749895}), 3, CG_TEST_TOL);
    assert_int_equal(cg_stats_std(v, x, true), CG_OK);
    assert_tensor_near(v, ((double[]){1.2909944487358056, 2.581988897471611,
                                      1.2909944487358056}), 3, CG_TEST_TOL);
    cg_tensor_free(x);
    cg_tensor_free(v);
}

static void test_cov_and_corr(void **state)
{
    (void)state;
    cg_tensor *x = data();
    cg_tensor *c = cg_tensor_new(2, (int[]){3, 3});

    assert_int_equal(cg_stats_cov(c, x, false), CG_OK);
    assert_tensor_near(c, ((double[]){1.25, 2.5, -0.5,
                                      2.5, 5, -1,
                                      -0.5, -1, 1.25}), 9, CG_TEST_TOL);
    assert_int_equal(cg_stats_cov(c, x, true), CG_OK);
    assert_tensor_near(c, ((double[]){5.0 / 3, 10.0 / 3, -2.0 / 3,
                                      10.0 / 3, 20.0 / 3, -4.0 / 3,
                                      -2.0 / 3, -4.0 / 3, 5.0 / 3}), 9, CG_TEST_TOL);
    /* corr(0,1) = 10 / sqrt(5 * 20) = 1; corr(0,2) = -2 / sqrt(5 * 5) = -0.4;
     * corr(1,2) = -4 / sqrt(20 * 5) = -0.4. */
    assert_int_equal(cg_stats_corr(c, x), CG_OK);
    assert_tensor_near(c, ((double[]){1, 1, -0.4,
                                      1, 1, -0.4,
                                      -0.4, -0.4, 1}), 9, CG_TEST_TOL);
    cg_tensor_free(x);
    cg_tensor_free(c);
}

static void test_large_offset_keeps_its_digits(void **state)
{
    (void)state;
    /* 1e6 + [1, 2, 3, 4]: exact in float; the variance is still 1.25, where
     * the one-pass formula sum(x^2)/n - mean^2 in float would give noise. */
    cg_tensor *x = cg_tensor_from_array(2, (int[]){4, 1},
                                        (cg_float[]){1000001, 1000002, 1000003, 1000004});
    cg_tensor *v = cg_tensor_new(1, (int[]){1});
    assert_int_equal(cg_stats_var(v, x, false), CG_OK);
    assert_near(v->data[0], 1.25, CG_TEST_TOL);
    assert_int_equal(cg_stats_mean(v, x), CG_OK);
    assert_near(v->data[0], 1000002.5, 0);
    cg_tensor_free(x);
    cg_tensor_free(v);
}

static void test_constant_column(void **state)
{
    (void)state;
    /* Column 1 is constant (0.1, not exact in binary): variance exactly 0,
     * correlation undefined. */
    cg_tensor *x = cg_tensor_from_array(2, (int[]){3, 2},
                                        (cg_float[]){1, (cg_float)0.1, 2, (cg_float)0.1,
                                                     4, (cg_float)0.1});
    cg_tensor *v = cg_tensor_new(1, (int[]){2});
    cg_tensor *c = cg_tensor_new(2, (int[]){2, 2});

    assert_int_equal(cg_stats_var(v, x, true), CG_OK);
    assert_near(v->data[1], 0, 0);
    /* col 0: mean 7/3, sum sq (16 + 1 + 25) / 9 = 42/9, unbiased / 2 = 7/3 */
    assert_near(v->data[0], 7.0 / 3, CG_TEST_TOL);
    assert_int_equal(cg_stats_cov(c, x, false), CG_OK);
    assert_near(c->data[1], 0, 0);
    assert_near(c->data[3], 0, 0);
    cg_clear_error();
    assert_int_equal(cg_stats_corr(c, x), CG_ERR_NUMERIC);
    assert_errmsg_contains("cg_stats_corr");
    assert_errmsg_contains("column 1");
    assert_errmsg_contains("constant");
    cg_tensor_free(x);
    cg_tensor_free(v);
    cg_tensor_free(c);
}

static void test_bad_shapes(void **state)
{
    (void)state;
    cg_tensor *x = data();
    cg_tensor *v2 = cg_tensor_new(1, (int[]){2});
    cg_tensor *c2 = cg_tensor_new(2, (int[]){2, 2});
    cg_tensor *flat = cg_tensor_new(1, (int[]){3});
    cg_tensor *one = cg_tensor_new(2, (int[]){1, 3});
    cg_tensor *v3 = cg_tensor_new(1, (int[]){3});

    cg_clear_error();
    assert_int_equal(cg_stats_mean(v2, x), CG_ERR_SHAPE);
    assert_errmsg_contains("cg_stats_mean: x is [4, 3], mean is [2]");
    cg_clear_error();
    assert_int_equal(cg_stats_cov(c2, x, false), CG_ERR_SHAPE);
    assert_errmsg_contains("x is [4, 3], cov is [2, 2]");
    cg_clear_error();
    assert_int_equal(cg_stats_var(v3, flat, false), CG_ERR_SHAPE);   /* not a matrix */
    assert_errmsg_contains("x is [3]");
    cg_clear_error();
    assert_int_equal(cg_stats_var(v3, one, true), CG_ERR_SHAPE);     /* R - 1 = 0 */
    assert_errmsg_contains("at least 2 rows");
    assert_int_equal(cg_stats_var(v3, one, false), CG_OK);           /* one sample: 0 */
    assert_tensor_near(v3, ((double[]){0, 0, 0}), 3, 0);
    assert_int_equal(cg_stats_std(NULL, x, false), CG_ERR_ARG);
    cg_tensor_free(x);
    cg_tensor_free(v2);
    cg_tensor_free(c2);
    cg_tensor_free(flat);
    cg_tensor_free(one);
    cg_tensor_free(v3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mean_var_std),
        cmocka_unit_test(test_cov_and_corr),
        cmocka_unit_test(test_large_offset_keeps_its_digits),
        cmocka_unit_test(test_constant_column),
        cmocka_unit_test(test_bad_shapes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
