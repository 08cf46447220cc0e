/* Tests of the losses (autograd/loss.c) against hand-worked examples of
 * their PyTorch definitions, and of vacuous gradient checks. */
#include <math.h>
#include <string.h>

#include "cg_test.h"

/* Loose enough for float sums of logs, tight for double. */
#ifdef CG_DOUBLE
#define TOL 1e-12
#else
#define TOL 1e-5
#endif

static cg_tensor *param_from(int ndim, const int *shape, const cg_float *v)
{
    cg_tensor *t = cg_param_new(ndim, shape);
    assert_non_null(t);
    memcpy(t->data, v, t->size * sizeof(cg_float));
    return t;
}

/* The example used by the cross-entropy tests: B = 2, C = 2,
 *   z = [[0, ln 3], [0, 0]], labels = [1, 0]
 *   p = softmax(z) = [[1/4, 3/4], [1/2, 1/2]]
 *   -logp = [[ln 4, ln 4/3], [ln 2, ln 2]]. */
static cg_tensor *ce_logits(void)
{
    return param_from(2, (int[]){2, 2}, (cg_float[]){0, (cg_float)log(3.0), 0, 0});
}

static const int ce_labels[2] = {1, 0};

static void test_cross_entropy_plain(void **state)
{
    (void)state;
    cg_graph *g = cg_graph_new();
    cg_tensor *z = ce_logits();
    /* L = (ln 4/3 + ln 2) / 2 = ln(8/3) / 2. */
    cg_tensor *loss = cg_cross_entropy(g, z, ce_labels);
    assert_non_null(loss);
    assert_near(loss->data[0], log(8.0 / 3.0) / 2, TOL);
    /* dL/dz = (p - onehot) / B = [[1/8, -1/8], [-1/4, 1/4]]. */
    assert_int_equal(cg_backward(g, loss), CG_OK);
    assert_near(z->grad[0], 0.125, TOL);
    assert_near(z->grad[1], -0.125, TOL);
    assert_near(z->grad[2], -0.25, TOL);
    assert_near(z->grad[3], 0.25, TOL);
    cg_tensor_free(z);
    cg_graph_free(g);
}

static void test_cross_entropy_weighted(void **state)
{
    (void)state;
    cg_graph *g = cg_graph_new();
    cg_tensor *z = ce_logits();
    cg_tensor *w = cg_tensor_from_array(1, (int[]){2}, (cg_float[]){2, 1});
    /* Weighted mean divides by the targets' weights w_1 + w_0 = 1 + 2:
     * L = (1 ln 4/3 + 2 ln 2) / 3 = ln(16/3) / 3. */
    cg_tensor *loss = cg_cross_entropy_ex(g, z, ce_labels, w, 0);
    assert_near(loss->data[0], log(16.0 / 3.0) / 3, TOL);
    /* Row 1 (label 0, weight 2): dL/dz = 2 (p - onehot) / 3 = [-1/3, 1/3]. */
    assert_int_equal(cg_backward(g, loss), CG_OK);
    assert_near(z->grad[2], -1.0 / 3, TOL);
    assert_near(z->grad[3], 1.0 / 3, TOL);
    cg_tensor_free(w);
    cg_tensor_free(z);
    cg_graph_free(g);
}

static void test_cross_entropy_label_smoothing(void **state)
{
    (void)state;
    cg_graph *g = cg_graph_new();
    cg_tensor *z = ce_logits();
    /* e = 0.2, C = 2: the smoothed targets are q = (1 - e) onehot + e / C:
     * row 0 q = [0.1, 0.9], row 1 q = [0.9, 0.1].
     * L = mean_n sum_c q_c (-logp_c)
     *   = (0.1 ln 4 + 0.9 ln 4/3 + (0.9 + 0.1) ln 2) / 2 = 1.5 ln 2 - 0.45 ln 3. */
    cg_tensor *loss = cg_cross_entropy_ex(g, z, ce_labels, NULL, (cg_float)0.2);
    assert_near(loss->data[0], 1.5 * log(2.0) - 0.45 * log(3.0), TOL);
    /* dL/dz = (p - q) / B: row 0 = ([1/4, 3/4] - [0.1, 0.9]) / 2 = [0.075, -0.075]. */
    assert_int_equal(cg_backward(g, loss), CG_OK);
    assert_near(z->grad[0], 0.075, TOL);
    assert_near(z->grad[1], -0.075, TOL);
    cg_tensor_free(z);
    cg_graph_free(g);
}

static void test_cross_entropy_weighted_and_smoothed(void **state)
{
    (void)state;
    cg_graph *g = cg_graph_new();
    cg_tensor *z = ce_logits();
    cg_tensor *w = cg_tensor_from_array(1, (int[]){2}, (cg_float[]){2, 1});
    /* PyTorch: (1 - e) * weighted NLL + (e / C) * sum_n sum_c w_c (-logp_{n,c}) / W,
     * W = sum of the targets' weights = 3, e = 0.2, C = 2.
     * weighted NLL = (4 ln 2 - ln 3) / 3 (the test above: ln(16/3) / 3);
     * smoothing sum: row 0: 2 ln 4 + 1 ln 4/3 = 6 ln 2 - ln 3;
     *                row 1: 2 ln 2 + 1 ln 2  = 3 ln 2; total 9 ln 2 - ln 3.
     * L = 0.8 (4 ln 2 - ln 3) / 3 + 0.1 (9 ln 2 - ln 3) / 3
     *   = (4.1 ln 2 - 0.9 ln 3) / 3. */
    cg_tensor *loss = cg_cross_entropy_ex(g, z, ce_labels, w, (cg_float)0.2);
    assert_near(loss->data[0], (4.1 * log(2.0) - 0.9 * log(3.0)) / 3, TOL);
    cg_tensor_free(w);
    cg_tensor_free(z);
    cg_graph_free(g);
}

static void test_cross_entropy_large_logits(void **state)
{
    (void)state;
    cg_graph *g = cg_graph_new();
    /* z = [1000, 0], label 1: -logp_1 = lse - 0 = 1000 + log(1 + e^-1000) = 1000,
     * where a naive exp(1000) would overflow. dL/dz = p - onehot = [1, -1]. */
    cg_tensor *z = param_from(2, (int[]){1, 2}, (cg_float[]){1000, 0});
    cg_tensor *loss = cg_cross_entropy(g, z, (int[]){1});
    assert_near(loss->data[0], 1000, 1e-9 * 1000 + TOL);
    assert_int_equal(cg_backward(g, loss), CG_OK);
    assert_near(z->grad[0], 1, TOL);
    assert_near(z->grad[1], -1, TOL);
    cg_tensor_free(z);
    cg_graph_free(g);
}

/* One softmax for the whole library: for one row, cross-entropy's gradient
 * is softmax(z) - onehot and its value is -log_softmax(z)[y], so they must be
 * the very bits of cg_softmax and cg_log_softmax (predict's softmax is the
 * same kernel). Rows with spread, ties, large and tiny logits. */
static void test_cross_entropy_is_the_softmax_kernel_to_the_bit(void **state)
{
    static const double rows[][5] = {
        {0.1, -1.7, 2.3, 0.7, -0.2},  {3, 3, 3, 3, 3},
        {88.5, 90, -20, 0.001, 89.9}, {-1e-3, 2e-4, 7e-5, -3e-3, 1e-4},
        {-30, -31.5, -29.25, -40, -30.125},
    };
    cg_graph *g = cg_graph_new();
    cg_tensor *z = cg_param_new(2, (int[]){1, 5});
    (void)state;

    for (int r = 0; r < 5; r++) {
        for (int y = 0; y < 5; y++) {
            for (int c = 0; c < 5; c++)
                z->data[c] = (cg_float)rows[r][c];
            cg_zero_grad(z);
            cg_tensor *loss = cg_cross_entropy(g, z, (int[]){y});
            cg_tensor *p = cg_softmax(g, z), *logp = cg_log_softmax(g, z);
            assert_non_null(loss);
            assert_non_null(p);
            assert_non_null(logp);
            assert_int_equal(cg_backward(g, loss), CG_OK);
            for (int c = 0; c < 5; c++) {
                cg_float want = c == y ? p->data[c] - 1 : p->data[c];
                if (memcmp(&z->grad[c], &want, sizeof want) != 0)
                    fail_msg("row %d label %d: dL/dz[%d] = %.17g, softmax gives %.17g", r,
                             y, c, (double)z->grad[c], (double)want);
            }
            cg_float nlogp = -logp->data[y];
            if (memcmp(&loss->data[0], &nlogp, sizeof nlogp) != 0)
                fail_msg("row %d label %d: loss %.17g, -log_softmax %.17g", r, y,
                         (double)loss->data[0], (double)nlogp);
            cg_graph_reset(g);
        }
    }
    cg_tensor_free(z);
    cg_graph_free(g);
}

static void test_cross_entropy_errors(void **state)
{
    (void)state;
    cg_graph *g = cg_graph_new();
    cg_tensor *z = ce_logits();
    cg_tensor *w3 = cg_tensor_new(1, (int[]){3});

    assert_null(cg_cross_entropy(g, z, (int[]){0, 2}));
    assert_int_equal(cg_errcode(), CG_ERR_ARG);
    assert_errmsg_contains("cg_cross_entropy: labels[1] is 2, must be in [0, 2)");
    assert_null(cg_cross_entropy(g, z, (int[]){-1, 0}));
    assert_errmsg_contains("labels[0] is -1");
    assert_null(cg_cross_entropy(g, z, NULL));
    assert_errmsg_contains("labels is NULL");
    assert_null(cg_cross_entropy_ex(g, z, ce_labels, w3, 0));
    assert_int_equal(cg_errcode(), CG_ERR_SHAPE);
    assert_errmsg_contains("class weights [3]");
    assert_null(cg_cross_entropy_ex(g, z, ce_labels, NULL, (cg_float)1.5));
    assert_errmsg_contains("label smoothing is 1.5");
    assert_null(cg_nll_loss(g, z, (int[]){5, 0}));
    assert_errmsg_contains("cg_nll_loss: labels[0] is 5");
    cg_tensor_free(w3);
    cg_tensor_free(z);
    cg_graph_free(g);
}

static void test_nll_loss(void **state)
{
    (void)state;
    cg_graph *g = cg_graph_new();
    /* L = -(logp[0][1] + logp[1][0]) / 2 = (2 + 0.5) / 2 = 1.25;
     * dL/dlogp = -1/2 at the labels, 0 elsewhere. */
    cg_tensor *x = param_from(2, (int[]){2, 2}, (cg_float[]){-1, -2, (cg_float)-0.5, -3});
    cg_tensor *loss = cg_nll_loss(g, x, (int[]){1, 0});
    assert_near(loss->data[0], 1.25, TOL);
    assert_int_equal(cg_backward(g, loss), CG_OK);
    assert_near(x->grad[0], 0, TOL);
    assert_near(x->grad[1], -0.5, TOL);
    assert_near(x->grad[2], -0.5, TOL);
    assert_near(x->grad[3], 0, TOL);
    cg_tensor_free(x);
    cg_graph_free(g);
}

static void test_mse_loss(void **state)
{
    (void)state;
    cg_graph *g = cg_graph_new();
    /* pred [1, 2, 3], target [1, 0, 5]: L = (0 + 4 + 4) / 3 = 8/3;
     * dL/dpred = 2 (pred - target) / 3 = [0, 4/3, -4/3]. */
    cg_tensor *p = param_from(1, (int[]){3}, (cg_float[]){1, 2, 3});
    cg_tensor *t = cg_graph_tensor(g, 1, (int[]){3});
    t->data[0] = 1;
    t->data[2] = 5;
    cg_tensor *loss = cg_mse_loss(g, p, t);
    assert_near(loss->data[0], 8.0 / 3, TOL);
    assert_int_equal(cg_backward(g, loss), CG_OK);
    assert_near(p->grad[1], 4.0 / 3, TOL);
    assert_near(p->grad[2], -4.0 / 3, TOL);
    assert_null(cg_mse_loss(g, p, cg_graph_tensor(g, 1, (int[]){4})));
    assert_errmsg_contains("cg_mse_loss: input is [3], target is [4]");
    cg_tensor_free(p);
    cg_graph_free(g);
}

static void test_bce_with_logits(void **state)
{
    (void)state;
    cg_graph *g = cg_graph_new();
    /* l = max(x, 0) - x t + log(1 + exp(-|x|)):
     *   x = 0,     t = 1: ln 2
     *   x = 2,     t = 0: 2 + log(1 + e^-2) = log(1 + e^2)
     *   x = -1000, t = 0: 0
     *   x = 1000,  t = 1: 0
     *   x = -1000, t = 1: 1000 (a naive log(sigmoid(-1000)) is log 0)
     * L = (ln 2 + log(1 + e^2) + 1000) / 5. */
    cg_tensor *x = param_from(1, (int[]){5}, (cg_float[]){0, 2, -1000, 1000, -1000});
    cg_tensor *t = cg_graph_tensor(g, 1, (int[]){5});
    t->data[0] = t->data[3] = t->data[4] = 1;
    cg_tensor *loss = cg_bce_with_logits(g, x, t);
    assert_near(loss->data[0], (log(2.0) + log(1 + exp(2.0)) + 1000) / 5, 1e-6 + TOL * 100);
    /* dL/dx = (sigmoid(x) - t) / 5: [-0.1, sigmoid(2)/5, 0, 0, -0.2], all finite. */
    assert_int_equal(cg_backward(g, loss), CG_OK);
    assert_near(x->grad[0], -0.1, TOL);
    assert_near(x->grad[1], 1 / (1 + exp(-2.0)) / 5, TOL);
    assert_near(x->grad[2], 0, TOL);
    assert_near(x->grad[3], 0, TOL);
    assert_near(x->grad[4], -0.2, TOL);
    cg_tensor_free(x);
    cg_graph_free(g);
}

/* KL example, B = 2, C = 2:
 *   logp = log [[0.5, 0.5], [0.25, 0.75]], target = [[0.25, 0.75], [0, 1]]
 *   row 0: 0.25 ln(0.25/0.5) + 0.75 ln(0.75/0.5) = 0.25 ln 0.5 + 0.75 ln 1.5
 *   row 1: 0 (0 log 0 = 0) + 1 ln(1/0.75) = ln 4/3
 *   sum S = 0.25 ln 0.5 + 0.75 ln 1.5 + ln 4/3; mean S/4; batchmean S/2. */
static void test_kl_div_reductions(void **state)
{
    (void)state;
    double s = 0.25 * log(0.5) + 0.75 * log(1.5) + log(4.0 / 3);
    const enum cg_reduction red[3] = {CG_REDUCE_SUM, CG_REDUCE_MEAN, CG_REDUCE_BATCHMEAN};
    const double expect[3] = {s, s / 4, s / 2};

    for (int k = 0; k < 3; k++) {
        cg_graph *g = cg_graph_new();
        cg_tensor *x = param_from(2, (int[]){2, 2},
                                  (cg_float[]){(cg_float)log(0.5), (cg_float)log(0.5),
                                               (cg_float)log(0.25), (cg_float)log(0.75)});
        cg_tensor *t = param_from(2, (int[]){2, 2}, (cg_float[]){0.25, 0.75, 0, 1});
        cg_tensor *loss = cg_kl_div(g, x, t, red[k]);
        assert_near(loss->data[0], expect[k], TOL);
        assert_int_equal(cg_backward(g, loss), CG_OK);
        if (red[k] == CG_REDUCE_SUM) {
            /* dL/dlogp = -t; dL/dt = log t + 1 - logp, and 0 where t = 0. */
            assert_near(x->grad[1], -0.75, TOL);
            assert_near(t->grad[0], log(0.25) + 1 - log(0.5), TOL);
            assert_true(t->grad[2] == 0);
        }
        cg_tensor_free(x);
        cg_tensor_free(t);
        cg_graph_free(g);
    }
    cg_graph *g = cg_graph_new();
    cg_tensor *a = cg_graph_tensor(g, 1, (int[]){2});
    assert_null(cg_kl_div(g, a, a, (enum cg_reduction)7));
    assert_int_equal(cg_errcode(), CG_ERR_ARG);
    assert_errmsg_contains("cg_kl_div: reduction is 7");
    cg_graph_free(g);
}

/* ---- vacuous gradient checks ------------------------------------------------ */

/* Output = 3 * a constant: nothing depends on the input. */
static cg_tensor *ignores_input(cg_graph *g, cg_tensor *const *in, void *ctx)
{
    (void)ctx;
    cg_tensor *c = cg_graph_tensor(g, in[0]->ndim, in[0]->shape);
    if (c)
        cg_tensor_fill(c, 1);
    return cg_scale(g, c, 3);
}

/* Output = input * 0: recorded by autograd, but every gradient is 0. */
static cg_tensor *times_zero(cg_graph *g, cg_tensor *const *in, void *ctx)
{
    (void)ctx;
    return cg_mul(g, in[0], cg_graph_tensor(g, in[0]->ndim, in[0]->shape));
}

static void test_vacuous_gradcheck_is_not_a_pass(void **state)
{
    (void)state;
    cg_tensor *x = param_from(1, (int[]){3}, (cg_float[]){1, 2, 3});
    struct cg_gradcheck_result r;

    assert_int_equal(cg_gradcheck(ignores_input, &x, 1, NULL, NULL, &r), CG_OK);
    assert_true(r.vacuous);
    assert_false(r.passed);
    assert_int_equal(cg_gradcheck(times_zero, &x, 1, NULL, NULL, &r), CG_OK);
    assert_true(r.vacuous);
    assert_false(r.passed);
    assert_int_equal(r.checked, 3);
    cg_tensor_free(x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cross_entropy_plain),
        cmocka_unit_test(test_cross_entropy_weighted),
        cmocka_unit_test(test_cross_entropy_label_smoothing),
        cmocka_unit_test(test_cross_entropy_weighted_and_smoothed),
        cmocka_unit_test(test_cross_entropy_large_logits),
        cmocka_unit_test(test_cross_entropy_is_the_softmax_kernel_to_the_bit),
        cmocka_unit_test(test_cross_entropy_errors),
        cmocka_unit_test(test_nll_loss),
        cmocka_unit_test(test_mse_loss),
        cmocka_unit_test(test_bce_with_logits),
        cmocka_unit_test(test_kl_div_reductions),
        cmocka_unit_test(test_vacuous_gradcheck_is_not_a_pass),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
