/* Tests of the ops (autograd/arith.c, activation.c, softmax.c, reduce.c,
 * dropout.c) and of the gradient checker (autograd/gradcheck*.c): forward
 * values against hand-worked numbers, and every op and loss of the built-in
 * suite gradient-checked on several shapes. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cg_test.h"

static cg_tensor *arena_from(cg_graph *g, int ndim, const int *shape, const cg_float *v)
{
    cg_tensor *t = cg_graph_tensor(g, ndim, shape);
    assert_non_null(t);
    memcpy(t->data, v, t->size * sizeof(cg_float));
    return t;
}

/* ---- gradient checks -------------------------------------------------------- */

/* The softmax family over one column is constant (softmax = 1, log-softmax
 * = 0, cross-entropy = 0), and dropout of a single element may drop it: for
 * those a vacuous result is the right answer. */
static bool may_be_vacuous(const char *name, int rows, int cols)
{
    bool softmaxish = strstr(name, "softmax") || strstr(name, "cross_entropy");
    /* One row of a relu layer may come out all negative: no gradient at all. */
    bool one_relu_row = !strcmp(name, "linear_relu") && rows == 1;
    return (softmaxish && cols == 1) || (!strcmp(name, "dropout") && rows * cols == 1) ||
           one_relu_row;
}

static void test_every_op_and_loss_passes_gradcheck(void **state)
{
    (void)state;
    /* Typical, a batch of 1, a feature count of 1, both, a wider one. */
    static const int dims[][2] = {{4, 3}, {1, 5}, {6, 1}, {1, 1}, {3, 7}};
    int n = cg_gradcheck_suite_count();
    int failures = 0;

    assert_true(n >= 26);
    for (size_t d = 0; d < sizeof dims / sizeof dims[0]; d++) {
        for (int i = 0; i < n; i++) {
            struct cg_gradcheck_result r;
            char shape[128];
            const char *name = cg_gradcheck_suite_name(i);
            cg_status st = cg_gradcheck_suite_run_dims(i, dims[d][0], dims[d][1],
                                                       (uint64_t)(d + 1), NULL, &r, shape,
                                                       sizeof shape);
            bool ok = st == CG_OK && r.skipped == 0 &&
                      (r.passed || (r.vacuous && may_be_vacuous(name, dims[d][0], dims[d][1])));
#ifdef CG_DOUBLE
            /* The double build's defaults: rtol 1e-6, so a pass means every
             * element's relative error is below 1e-6. */
            ok = ok && (r.vacuous || r.max_rel_err < 1e-6);
#endif
            if (!ok) {
                print_error("%s %s: %s passed %d vacuous %d rel %.3g abs %.3g worst input "
                            "%d [%zu] analytic %.10g numeric %.10g skipped %zu\n",
                            name, shape, st == CG_OK ? "" : cg_errmsg(), r.passed, r.vacuous,
                            r.max_rel_err, r.max_abs_err, r.worst_input, r.worst_index,
                            r.worst_analytic, r.worst_numeric, r.skipped);
                failures++;
            }
        }
    }
    assert_int_equal(failures, 0);
    assert_null(cg_gradcheck_suite_name(n));
    assert_null(cg_gradcheck_suite_name(-1));
}

static void test_suite_run_describes_shapes(void **state)
{
    (void)state;
    struct cg_gradcheck_result r;
    char shape[128];
    int linear = -1;

    for (int i = 0; i < cg_gradcheck_suite_count(); i++)
        if (!strcmp(cg_gradcheck_suite_name(i), "linear"))
            linear = i;
    assert_true(linear >= 0);
    assert_int_equal(cg_gradcheck_suite_run(linear, 3, &r, shape, sizeof shape), CG_OK);
    assert_true(r.passed);
    /* R = 4, C = 3, K = C + 1: x [4, 4], w [3, 4], b [3]. */
    assert_string_equal(shape, "[4, 4], [3, 4], [3]");
    assert_int_equal(r.checked, 16 + 12 + 3);
    assert_int_equal(cg_gradcheck_suite_run(999, 3, &r, shape, sizeof shape), CG_ERR_ARG);
    assert_errmsg_contains("no entry 999");
}

/* A wrong backward: y = x^2 with dy/dx claimed to be x (half the truth). */
static void half_square_backward(cg_tensor *out)
{
    cg_tensor *x = cg_op_input(out, 0);
    for (size_t i = 0; i < out->size; i++)
        x->grad[i] += out->grad[i] * x->data[i];
}

static cg_tensor *wrong_square(cg_graph *g, cg_tensor *const *in, void *ctx)
{
    (void)ctx;
    cg_tensor *y = cg_op_new(g, "wrong_square", in[0]->ndim, in[0]->shape, in, 1,
                             half_square_backward, 0);
    if (y)
        for (size_t i = 0; i < y->size; i++)
            y->data[i] = in[0]->data[i] * in[0]->data[i];
    return y;
}

static void test_gradcheck_catches_wrong_backward(void **state)
{
    (void)state;
    cg_tensor *x = cg_param_new(1, (int[]){3});
    struct cg_gradcheck_result r;
    x->data[0] = 1;
    x->data[1] = -2;
    x->data[2] = 0.5;
    assert_int_equal(cg_gradcheck(wrong_square, &x, 1, NULL, NULL, &r), CG_OK);
    assert_false(r.passed);
    assert_false(r.vacuous);
    assert_int_equal(r.checked, 3);
    /* The error is w_k x_k: largest relative to |2 w_k x_k| equally, so the
     * worst element is one whose analytic value is half the numeric one. */
    assert_int_equal(r.worst_input, 0);
    assert_near(r.worst_analytic, r.worst_numeric / 2, 1e-2);
    assert_true(r.max_abs_err > 0.2);
    cg_tensor_free(x);
}

static cg_tensor *relu_sum(cg_graph *g, cg_tensor *const *in, void *ctx)
{
    (void)ctx;
    return cg_sum(g, cg_relu(g, in[0]));
}

static void test_gradcheck_restores_inputs_and_skips_kinks(void **state)
{
    (void)state;
    cg_tensor *x = cg_param_new(1, (int[]){4});
    cg_float before[4] = {(cg_float)0.3, 0, (cg_float)-0.7, (cg_float)0.1};
    struct cg_gradcheck_result r;

    memcpy(x->data, before, sizeof before);
    x->grad[0] = 5; /* zeroed before and after */
    assert_int_equal(cg_gradcheck(relu_sum, &x, 1, NULL, NULL, &r), CG_OK);
    /* x = 0 sits on the kink: analytic 0, numeric 1/2; counted, not compared. */
    assert_int_equal(r.skipped, 1);
    assert_int_equal(r.checked, 3);
    assert_true(r.passed);
    assert_memory_equal(x->data, before, sizeof before);
    for (int i = 0; i < 4; i++)
        assert_true(x->grad[i] == 0);
    cg_tensor_free(x);
}

static void test_gradcheck_rejects_bad_arguments(void **state)
{
    (void)state;
    struct cg_gradcheck_result r;
    cg_tensor *plain = cg_tensor_new(1, (int[]){2});
    assert_int_equal(cg_gradcheck(relu_sum, &plain, 1, NULL, NULL, &r), CG_ERR_ARG);
    assert_errmsg_contains("input 0 has no gradient");
    assert_int_equal(cg_gradcheck(relu_sum, &plain, 0, NULL, NULL, &r), CG_ERR_ARG);
    cg_tensor_free(plain);
}

/* ---- forward values --------------------------------------------------------- */

static void test_activations_forward(void **state)
{
    (void)state;
    cg_graph *g = cg_graph_new();
    cg_tensor *x = arena_from(g, 1, (int[]){4}, (cg_float[]){0, 2, -3, -1000});

    /* sigmoid(0) = 1/2; sigmoid(2) = 1/(1 + e^-2); sigmoid(-1000) underflows to 0. */
    assert_tensor_near(cg_sigmoid(g, x),
                       ((double[]){0.5, 1 / (1 + exp(-2.0)), 1 / (1 + exp(3.0)), 0}), 4,
                       CG_TEST_TOL);
    assert_tensor_near(cg_tanh(g, x), ((double[]){0, tanh(2.0), tanh(-3.0), -1}), 4,
                       CG_TEST_TOL);
    assert_tensor_near(cg_relu(g, x), ((double[]){0, 2, 0, 0}), 4, CG_TEST_TOL);
    /* leaky_relu(x, 0.1) = x for x > 0, 0.1 x else: {0, 2, -0.3, -100}. */
    assert_tensor_near(cg_leaky_relu(g, x, (cg_float)0.1), ((double[]){0, 2, -0.3, -100}), 4,
                       1e-4);
    cg_graph_free(g);
}

static void test_softmax_forward(void **state)
{
    (void)state;
    cg_graph *g = cg_graph_new();
    /* Row 0: softmax(0, ln 3) = (1/4, 3/4). Row 1: (1000, 1000) does not
     * overflow: (1/2, 1/2); log-softmax = (-ln 2, -ln 2). */
    cg_float l3 = (cg_float)log(3.0);
    cg_tensor *x = arena_from(g, 2, (int[]){2, 2}, (cg_float[]){0, l3, 1000, 1000});
    cg_tensor *s = cg_softmax(g, x), *ls = cg_log_softmax(g, x);

    assert_tensor_near(s, ((double[]){0.25, 0.75, 0.5, 0.5}), 4, CG_TEST_TOL);
    assert_tensor_near(ls, ((double[]){log(0.25), log(0.75), -log(2.0), -log(2.0)}), 4,
                       CG_TEST_TOL * 10);
    /* Random rows sum to 1. */
    cg_rng rng;
    cg_rng_seed(&rng, 5);
    cg_tensor *r = cg_graph_tensor(g, 2, (int[]){3, 7});
    cg_tensor_rand_uniform(r, &rng, -5, 5);
    cg_tensor *sr = cg_softmax(g, r);
    for (int i = 0; i < 3; i++) {
        double sum = 0;
        for (int j = 0; j < 7; j++)
            sum += (double)sr->data[i * 7 + j];
        assert_near(sum, 1, CG_TEST_TOL * 10);
    }
    cg_graph_free(g);
}

static void test_arith_forward(void **state)
{
    (void)state;
    cg_graph *g = cg_graph_new();
    cg_tensor *a = arena_from(g, 2, (int[]){2, 2}, (cg_float[]){1, 2, 3, 4});
    cg_tensor *b = arena_from(g, 2, (int[]){2, 1}, (cg_float[]){5, 6});
    cg_tensor *row = arena_from(g, 1, (int[]){2}, (cg_float[]){10, -1});

    /* [[1, 2], [3, 4]] @ [[5], [6]] = [[17], [39]]. */
    assert_tensor_near(cg_matmul(g, a, b), ((double[]){17, 39}), 2, CG_TEST_TOL);
    assert_tensor_near(cg_add(g, a, row), ((double[]){11, 1, 13, 3}), 4, CG_TEST_TOL);
    assert_tensor_near(cg_sub(g, a, row), ((double[]){-9, 3, -7, 5}), 4, CG_TEST_TOL);
    assert_tensor_near(cg_mul(g, a, row), ((double[]){10, -2, 30, -4}), 4, CG_TEST_TOL);
    assert_tensor_near(cg_mul(g, a, a), ((double[]){1, 4, 9, 16}), 4, CG_TEST_TOL);
    assert_tensor_near(cg_scale(g, a, (cg_float)-0.5), ((double[]){-0.5, -1, -1.5, -2}), 4,
                       CG_TEST_TOL);
    /* linear: x [1, 2] = [[1, 2]], w [3, 2] = [[1, 0], [0, 1], [1, 1]],
     * b = [0.5, -1, 0]: y = [1 + 0.5, 2 - 1, 3 + 0] = [1.5, 1, 3]. */
    cg_tensor *x = arena_from(g, 2, (int[]){1, 2}, (cg_float[]){1, 2});
    cg_tensor *w = arena_from(g, 2, (int[]){3, 2}, (cg_float[]){1, 0, 0, 1, 1, 1});
    cg_tensor *bias = arena_from(g, 1, (int[]){3}, (cg_float[]){0.5, -1, 0});
    cg_tensor *y = cg_linear(g, x, w, bias);
    assert_tensor_near(y, ((double[]){1.5, 1, 3}), 3, CG_TEST_TOL);
    assert_int_equal(y->ndim, 2);
    assert_int_equal(y->shape[0], 1);
    assert_int_equal(y->shape[1], 3);
    assert_tensor_near(cg_linear(g, x, w, NULL), ((double[]){1, 2, 3}), 3, CG_TEST_TOL);
    assert_null(cg_linear(g, x, w, row)); /* bias [2] for 3 outputs */
    assert_errmsg_contains("cg_linear: x is [1, 2], w is [3, 2], b is [2]");
    cg_graph_free(g);
}

static void test_reduce_and_reshape_forward(void **state)
{
    (void)state;
    cg_graph *g = cg_graph_new();
    cg_tensor *a = arena_from(g, 2, (int[]){2, 3}, (cg_float[]){1, 2, 3, 4, 5, 6});
    cg_tensor *s = cg_sum(g, a), *m = cg_mean(g, a);

    assert_int_equal(s->ndim, 0);
    assert_near(s->data[0], 21, CG_TEST_TOL);
    assert_near(m->data[0], 3.5, CG_TEST_TOL);
    cg_tensor *r = cg_reshape(g, a, 1, (int[]){6});
    assert_non_null(r);
    assert_ptr_equal(r->data, a->data); /* a view, no copy */
    assert_int_equal(r->shape[0], 6);
    cg_graph_free(g);
}

static void test_dropout_forward(void **state)
{
    (void)state;
    cg_graph *g = cg_graph_new();
    cg_tensor *x = cg_graph_tensor(g, 1, (int[]){1000});
    cg_rng rng;
    int kept = 0;

    cg_tensor_fill(x, 2);
    cg_rng_seed(&rng, 11);
    cg_tensor *y = cg_dropout(g, x, (cg_float)0.25, &rng);
    assert_non_null(y);
    /* Every element is 0 or 2 / (1 - 0.25) = 8/3; about 750 are kept. */
    for (int i = 0; i < 1000; i++) {
        if (y->data[i] != 0) {
            assert_near(y->data[i], 8.0 / 3.0, 1e-5);
            kept++;
        }
    }
    assert_true(kept > 700 && kept < 800);
    /* The mask follows the rng: element i is dropped iff its draw is < p. */
    cg_rng_seed(&rng, 11);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(cg_rng_uniform(&rng) < 0.25, y->data[i] == 0);
    /* p = 0 and eval mode: the identity, x itself. */
    assert_ptr_equal(cg_dropout(g, x, 0, &rng), x);
    cg_graph_set_training(g, false);
    assert_false(cg_graph_training(g));
    assert_ptr_equal(cg_dropout(g, x, (cg_float)0.5, NULL), x);
    assert_null(cg_dropout(g, x, (cg_float)-0.1, &rng));
    assert_int_equal(cg_errcode(), CG_ERR_ARG);
    cg_graph_free(g);
}

/* examples/custom_op defines softplus with cg_op_new, gradient-checks it
 * and exits 0 only if the check passed. */
static void test_custom_op_example_runs(void **state)
{
    (void)state;
    const char *build = getenv("BUILD");
    char cmd[512];
    snprintf(cmd, sizeof cmd, "%s/examples/custom_op > /dev/null", build ? build : "build");
    assert_int_equal(system(cmd), 0);
}

/* One forward and backward of act(x @ w^T + b), fused or as two ops; the
 * output and every gradient are copied out. */
static void linear_then_act(bool fused, enum cg_act act, cg_float slope,
                            cg_float *y_out, cg_float *grads_out)
{
    cg_rng rng;
    cg_graph *g = cg_graph_new();
    cg_tensor *x = cg_param_new(2, (int[]){5, 4});
    cg_tensor *w = cg_param_new(2, (int[]){3, 4});
    cg_tensor *b = cg_param_new(1, (int[]){3});
    cg_tensor *y;

    cg_rng_seed(&rng, 3);
    cg_tensor_rand_uniform(x, &rng, -2, 2);
    cg_tensor_rand_uniform(w, &rng, -1, 1);
    cg_tensor_rand_uniform(b, &rng, -1, 1);
    if (fused) {
        y = cg_linear_act(g, x, w, b, act, slope);
    } else {
        y = cg_linear(g, x, w, b);
        y = act == CG_ACT_RELU ? cg_relu(g, y)
          : act == CG_ACT_LEAKY_RELU ? cg_leaky_relu(g, y, slope)
          : act == CG_ACT_SIGMOID ? cg_sigmoid(g, y)
          : act == CG_ACT_TANH ? cg_tanh(g, y) : y;
    }
    assert_non_null(y);
    memcpy(y_out, y->data, 15 * sizeof(cg_float));
    /* A weighted sum, so every output's gradient differs. */
    cg_tensor *wts = cg_graph_tensor(g, 2, (int[]){5, 3});
    for (int i = 0; i < 15; i++)
        wts->data[i] = (cg_float)(i % 7) - 3;
    assert_int_equal(cg_backward(g, cg_sum(g, cg_mul(g, y, wts))), CG_OK);
    memcpy(grads_out, x->grad, 20 * sizeof(cg_float));
    memcpy(grads_out + 20, w->grad, 12 * sizeof(cg_float));
    memcpy(grads_out + 32, b->grad, 3 * sizeof(cg_float));
    cg_tensor_free(x);
    cg_tensor_free(w);
    cg_tensor_free(b);
    cg_graph_free(g);
}

/* The fused op computes the very same bits as linear followed by the
 * activation, forward and backward. */
static void test_linear_act_equals_linear_then_act(void **state)
{
    (void)state;
    const enum cg_act acts[] = {CG_ACT_NONE, CG_ACT_RELU, CG_ACT_LEAKY_RELU, CG_ACT_SIGMOID,
                                CG_ACT_TANH};
    for (size_t k = 0; k < sizeof acts / sizeof acts[0]; k++) {
        cg_float y1[15], y2[15], g1[35], g2[35];
        linear_then_act(false, acts[k], (cg_float)0.1, y1, g1);
        linear_then_act(true, acts[k], (cg_float)0.1, y2, g2);
        assert_memory_equal(y1, y2, sizeof y1);
        assert_memory_equal(g1, g2, sizeof g1);
        /* Not vacuous: the gradients are there. */
        double norm = 0;
        for (int i = 0; i < 35; i++)
            norm += fabs((double)g1[i]);
        assert_true(norm > 0.1);
    }
}

static void test_linear_act_rejects_what_it_cannot_fuse(void **state)
{
    (void)state;
    cg_graph *g = cg_graph_new();
    cg_tensor *x = cg_graph_tensor(g, 2, (int[]){2, 4});
    cg_tensor *w = cg_param_new(2, (int[]){3, 4});
    assert_null(cg_linear_act(g, x, w, NULL, CG_ACT_LEAKY_RELU, (cg_float)-0.5));
    assert_int_equal(cg_errcode(), CG_ERR_ARG);
    assert_errmsg_contains("cannot be fused");
    assert_null(cg_linear_act(g, x, w, NULL, CG_ACT_SOFTMAX, 0));
    cg_tensor *bad = cg_param_new(2, (int[]){3, 5});
    assert_null(cg_linear_act(g, x, bad, NULL, CG_ACT_RELU, 0));
    assert_int_equal(cg_errcode(), CG_ERR_SHAPE);
    assert_errmsg_contains("cg_linear_act: x is [2, 4], w is [3, 5]");
    assert_null(cg_linear_act(g, NULL, w, NULL, CG_ACT_RELU, 0));
    cg_tensor_free(bad);
    cg_tensor_free(w);
    cg_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_op_and_loss_passes_gradcheck),
        cmocka_unit_test(test_suite_run_describes_shapes),
        cmocka_unit_test(test_gradcheck_catches_wrong_backward),
        cmocka_unit_test(test_gradcheck_restores_inputs_and_skips_kinks),
        cmocka_unit_test(test_gradcheck_rejects_bad_arguments),
        cmocka_unit_test(test_activations_forward),
        cmocka_unit_test(test_softmax_forward),
        cmocka_unit_test(test_arith_forward),
        cmocka_unit_test(test_reduce_and_reshape_forward),
        cmocka_unit_test(test_dropout_forward),
        cmocka_unit_test(test_custom_op_example_runs),
        cmocka_unit_test(test_linear_act_equals_linear_then_act),
        cmocka_unit_test(test_linear_act_rejects_what_it_cannot_fuse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
