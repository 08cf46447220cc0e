/* Tests of entropy, cross-entropy and KL divergence (tensor/info.c). */
#include <math.h>

#include "cg_test.h"

static cg_tensor *vec(int n, const cg_float *v)
{
    cg_tensor *t = cg_tensor_from_array(1, (int[]){n}, v);
    assert_non_null(t);
    return t;
}

static void test_entropy(void **state)
{
    (void)state;
    cg_tensor *u = vec(4, (cg_float[]){0.25, 0.25, 0.25, 0.25});
    cg_tensor *d = vec(2, (cg_float[]){1, 0});
    cg_tensor *p = vec(3, (cg_float[]){0.5, 0.25, 0.25});
    cg_tensor *m = cg_tensor_from_array(2, (int[]){2, 2},
                                        (cg_float[]){0.25, 0.25, 0.25, 0.25});
    cg_float h = -1;

    /* uniform over 4: -4 * 1/4 log(1/4) = log 4 */
    assert_int_equal(cg_entropy(&h, u), CG_OK);
    assert_near(h, 1.3862943611198906, CG_TEST_TOL);
    /* a sure outcome: 1 log 1 + 0 log 0 = 0 */
    assert_int_equal(cg_entropy(&h, d), CG_OK);
    assert_near(h, 0, 0);
    /* 0.5 log 2 + 2 * 0.25 log 4 = 1.5 log 2 */
    assert_int_equal(cg_entropy(&h, p), CG_OK);
    assert_near(h, 1.0397207708399179, CG_TEST_TOL);
    /* any shape is read flat */
    assert_int_equal(cg_entropy(&h, m), CG_OK);
    assert_near(h, 1.3862943611198906, CG_TEST_TOL);
    cg_tensor_free(u);
    cg_tensor_free(d);
    cg_tensor_free(p);
    cg_tensor_free(m);
}

static void test_cross_entropy_and_kl(void **state)
{
    (void)state;
    cg_tensor *p = vec(2, (cg_float[]){0.5, 0.5});
    cg_tensor *q = vec(2, (cg_float[]){0.25, 0.75});
    cg_float h = -1, kl = -1;

    /* H(p, q) = -0.5 log 0.25 - 0.5 log 0.75 = 0.5 (log 4 + log 4/3) */
    assert_int_equal(cg_cross_entropy_of(&h, p, q), CG_OK);
    assert_near(h, 0.8369882167858359, CG_TEST_TOL);
    /* KL(p || q) = 0.5 log(0.5/0.25) + 0.5 log(0.5/0.75) = 0.5 log(4/3)
     *            = H(p, q) - H(p) = 0.836988... - log 2 */
    assert_int_equal(cg_kl_divergence(&kl, p, q), CG_OK);
    assert_near(kl, 0.14384103622589045, CG_TEST_TOL);
    /* KL(q || p) = 0.25 log(0.5) + 0.75 log(1.5): not symmetric */
    assert_int_equal(cg_kl_divergence(&kl, q, p), CG_OK);
    assert_near(kl, 0.25 * log(0.5) + 0.75 * log(1.5), CG_TEST_TOL);
    /* KL(p || p) = 0, and H(p, p) = H(p) = log 2 */
    assert_int_equal(cg_kl_divergence(&kl, p, p), CG_OK);
    assert_near(kl, 0, 0);
    assert_int_equal(cg_cross_entropy_of(&h, p, p), CG_OK);
    assert_near(h, 0.6931471805599453, CG_TEST_TOL);
    cg_tensor_free(p);
    cg_tensor_free(q);
}

static void test_zeros(void **state)
{
    (void)state;
    cg_tensor *p = vec(3, (cg_float[]){0.5, 0.5, 0});
    cg_tensor *q = vec(3, (cg_float[]){0.5, 0, 0.5});
    cg_tensor *r = vec(3, (cg_float[]){0.25, 0.75, 0});
    cg_float v = 0;

    /* q = 0 where p > 0: the divergence and cross-entropy are +inf */
    assert_int_equal(cg_kl_divergence(&v, p, q), CG_OK);
    assert_true(isinf((double)v) && v > 0);
    assert_int_equal(cg_cross_entropy_of(&v, p, q), CG_OK);
    assert_true(isinf((double)v) && v > 0);
    /* p = 0 where q = 0 contributes 0 log(0/0) = 0:
     * KL(p || r) = 0.5 log(0.5/0.25) + 0.5 log(0.5/0.75) = 0.5 log(4/3) */
    assert_int_equal(cg_kl_divergence(&v, p, r), CG_OK);
    assert_near(v, 0.14384103622589045, CG_TEST_TOL);
    cg_tensor_free(p);
    cg_tensor_free(q);
    cg_tensor_free(r);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    cg_tensor *p = vec(2, (cg_float[]){0.5, 0.5});
    cg_tensor *neg = vec(2, (cg_float[]){1.5, -0.5});
    cg_tensor *three = vec(3, (cg_float[]){0.2, 0.3, 0.5});
    cg_float v;

    cg_clear_error();
    assert_int_equal(cg_entropy(&v, neg), CG_ERR_ARG);
    assert_errmsg_contains("cg_entropy: p[1] is -0.5");
    cg_clear_error();
    assert_int_equal(cg_kl_divergence(&v, p, neg), CG_ERR_ARG);
    assert_errmsg_contains("q[1] is -0.5");
    cg_clear_error();
    assert_int_equal(cg_kl_divergence(&v, p, three), CG_ERR_ARG);
    assert_errmsg_contains("cg_kl_divergence: p is [2], q is [3]");
    cg_clear_error();
    assert_int_equal(cg_cross_entropy_of(&v, three, p), CG_ERR_ARG);
    assert_errmsg_contains("cg_cross_entropy_of");
    assert_int_equal(cg_entropy(NULL, p), CG_ERR_ARG);
    assert_int_equal(cg_entropy(&v, NULL), CG_ERR_ARG);
    cg_tensor_free(p);
    cg_tensor_free(neg);
    cg_tensor_free(three);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_entropy),
        cmocka_unit_test(test_cross_entropy_and_kl),
        cmocka_unit_test(test_zeros),
        cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
