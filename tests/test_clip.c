/*
 * Tests of gradient clipping (optim/clip.c): torch.nn.utils.clip_grad_norm_
 * and clip_grad_value_.
 *
 * The gradients: a = (3, 4) and b = (12), so the total L2 norm is
 * sqrt(9 + 16 + 144) = 13 (and the norm of the per-tensor norms 5 and 12 is
 * the same 13).
 */
#include <math.h>
#include <string.h>

#include "cg_test.h"

#ifdef CG_DOUBLE
#define REL 1e-12
#else
#define REL 2e-6
#endif

struct grads {
    cg_float ga[2], gb[1];
    cg_tensor *t[2];
};

static void grads_init(struct grads *g)
{
    g->ga[0] = 3;
    g->ga[1] = 4;
    g->gb[0] = 12;
    g->t[0] = cg_tensor_new(1, (int[]){2});
    g->t[1] = cg_tensor_new(1, (int[]){1});
    assert_non_null(g->t[0]);
    assert_non_null(g->t[1]);
    g->t[0]->grad = g->ga;
    g->t[1]->grad = g->gb;
}

static void grads_free(struct grads *g)
{
    cg_tensor_free(g->t[0]);
    cg_tensor_free(g->t[1]);
}

/* Norm above the bound: clip_coef = 6.5 / (13 + 1e-6) = 0.49999996153846454,
 * grads (3, 4, 12) * clip_coef. */
static void test_clip_norm_above_bound(void **state)
{
    (void)state;
    struct grads g;
    grads_init(&g);
    assert_near(cg_clip_grad_norm(g.t, 2, 6.5), 13, 13 * REL);
    assert_near(g.ga[0], 1.4999998846153937, REL);
    assert_near(g.ga[1], 1.9999998461538582, REL);
    assert_near(g.gb[0], 5.999999538461575, 6 * REL);
    /* The clipped norm is now (just under) the bound. */
    assert_near(cg_clip_grad_norm(g.t, 2, 100), 6.5 * 0.99999992307692, 6.5 * REL);
    grads_free(&g);
}

/* Norm below the bound: clip_coef = 20 / (13 + 1e-6) > 1, clamped to 1, so
 * the grads are unchanged. */
static void test_clip_norm_below_bound(void **state)
{
    (void)state;
    struct grads g;
    grads_init(&g);
    assert_near(cg_clip_grad_norm(g.t, 2, 20), 13, 13 * REL);
    assert_true(g.ga[0] == 3 && g.ga[1] == 4 && g.gb[0] == 12);
    grads_free(&g);
}

/* Exactly at the bound, PyTorch's + 1e-6 still scales by
 * 13 / (13 + 1e-6) = 0.9999999230769291. */
static void test_clip_norm_at_bound(void **state)
{
    (void)state;
    struct grads g;
    grads_init(&g);
    assert_near(cg_clip_grad_norm(g.t, 2, 13), 13, 13 * REL);
    assert_near(g.ga[0], 2.9999997692307874, 3 * REL);
    assert_near(g.gb[0], 11.99999907692315, 12 * REL);
    assert_true(g.gb[0] < 12);
    grads_free(&g);
}

/* A non-finite gradient: the norm is returned, the grads are left alone. */
static void test_clip_norm_not_finite(void **state)
{
    (void)state;
    struct grads g;
    grads_init(&g);
    g.ga[1] = (cg_float)INFINITY;
    cg_float norm = cg_clip_grad_norm(g.t, 2, 1);
    assert_true(isinf(norm));
    assert_true(g.ga[0] == 3 && g.gb[0] == 12);
    g.ga[1] = (cg_float)NAN;
    assert_true(isnan(cg_clip_grad_norm(g.t, 2, 1)));
    assert_true(g.ga[0] == 3 && g.gb[0] == 12);
    grads_free(&g);
}

/* Tensors without a grad are skipped; no tensors give a norm of 0. */
static void test_clip_norm_skips_missing_grads(void **state)
{
    (void)state;
    struct grads g;
    grads_init(&g);
    g.t[0]->grad = NULL;
    assert_near(cg_clip_grad_norm(g.t, 2, 6), 12, 12 * REL);
    /* 12 * 6 / (12 + 1e-6) */
    assert_near(g.gb[0], 12 * 6 / (12 + 1e-6), 6 * REL);
    assert_near(cg_clip_grad_norm(NULL, 0, 1), 0, 0);
    grads_free(&g);
}

static void test_clip_bad_arguments(void **state)
{
    (void)state;
    struct grads g;
    grads_init(&g);
    cg_clear_error();
    assert_near(cg_clip_grad_norm(g.t, 2, -1), -1, 0);
    assert_int_equal(cg_errcode(), CG_ERR_ARG);
    assert_errmsg_contains("cg_clip_grad_norm: max_norm must be >= 0");
    assert_near(cg_clip_grad_norm(g.t, -2, 1), -1, 0);
    assert_errmsg_contains("cg_clip_grad_norm: bad parameter list");
    assert_near(cg_clip_grad_norm((cg_tensor *[]){g.t[0], NULL}, 2, 1), -1, 0);
    assert_errmsg_contains("params[1] is NULL");
    assert_int_equal(cg_clip_grad_value(g.t, 2, (double)NAN), CG_ERR_ARG);
    assert_errmsg_contains("cg_clip_grad_value: clip_value");
    assert_true(g.ga[0] == 3 && g.ga[1] == 4 && g.gb[0] == 12);
    grads_free(&g);
}

/* Clip by value 3.5: (3, 4, 12) -> (3, 3.5, 3.5); (-5, NaN) -> (-3.5, NaN). */
static void test_clip_value(void **state)
{
    (void)state;
    struct grads g;
    grads_init(&g);
    assert_int_equal(cg_clip_grad_value(g.t, 2, 3.5), CG_OK);
    assert_true(g.ga[0] == 3 && g.ga[1] == (cg_float)3.5 && g.gb[0] == (cg_float)3.5);
    g.ga[0] = -5;
    g.ga[1] = (cg_float)NAN;
    assert_int_equal(cg_clip_grad_value(g.t, 2, 3.5), CG_OK);
    assert_true(g.ga[0] == (cg_float)-3.5);
    assert_true(isnan(g.ga[1]));
    grads_free(&g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clip_norm_above_bound),
        cmocka_unit_test(test_clip_norm_below_bound),
        cmocka_unit_test(test_clip_norm_at_bound),
        cmocka_unit_test(test_clip_norm_not_finite),
        cmocka_unit_test(test_clip_norm_skips_missing_grads),
        cmocka_unit_test(test_clip_bad_arguments),
        cmocka_unit_test(test_clip_value),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
