/* Tests of the nn layer: specs, parameter names and order, initialisation,
 * forward values, replicas (nn/spec.c, nn/model.c, nn/forward.c). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cg_test.h"

/* ---- specs ------------------------------------------------------------------------------- */

static void test_spec_round_trip(void **state)
{
    /* input -> canonical form */
    static const char *const cases[][2] = {
        {"784-256-128-10", "784-256-128-10"},
        {"784-256-128-10:act=relu:dropout=0.2", "784-256-128-10:dropout=0.2"},
        {"4-8-3:out=softmax:act=tanh", "4-8-3:act=tanh:out=softmax"},
        {"2-4-1:act=sigmoid:out=sigmoid", "2-4-1:act=sigmoid:out=sigmoid"},
        {"10-5-2:act=leaky_relu:slope=0.2", "10-5-2:act=leaky_relu:slope=0.2"},
        {"10-5-2:act=leaky_relu:slope=0.01", "10-5-2:act=leaky_relu"},
        {"3-3:dropout=0:out=none", "3-3"},
        {"1-1:dropout=0.1", "1-1:dropout=0.1"},
    };
    char buf[CG_NN_SPEC_MAX], again[CG_NN_SPEC_MAX];
    (void)state;

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cg_model *m = cg_model_from_spec(cases[i][0]), *m2;
        assert_non_null(m);
        assert_int_equal(cg_model_spec(m, buf, sizeof buf), CG_OK);
        assert_string_equal(buf, cases[i][1]);
        /* parse(print(m)) builds the same architecture, and prints the same. */
        m2 = cg_model_from_spec(buf);
        assert_non_null(m2);
        assert_memory_equal(cg_model_arch(m2), cg_model_arch(m), sizeof(struct cg_arch));
        assert_int_equal(cg_model_spec(m2, again, sizeof again), CG_OK);
        assert_string_equal(again, buf);
        cg_model_free(m2);
        cg_model_free(m);
    }
}

static void test_arch_built_in_code_prints_its_spec(void **state)
{
    struct cg_arch a = cg_arch_default(3, (int[]){5, 7, 2});
    char buf[CG_NN_SPEC_MAX];
    struct cg_arch back;
    (void)state;
    a.act = CG_ACT_LEAKY_RELU;
    a.slope = 0.3;
    a.dropout = 1.0 / 3.0;   /* needs 16 digits to read back exactly */
    a.out = CG_ACT_TANH;
    assert_int_equal(cg_arch_print(&a, buf, sizeof buf), CG_OK);
    assert_string_equal(buf, "5-7-2:act=leaky_relu:slope=0.3:dropout=0.3333333333333333:out=tanh");
    assert_int_equal(cg_arch_parse(&back, buf), CG_OK);
    assert_memory_equal(&back, &a, sizeof a);
    assert_int_equal(cg_arch_print(&a, buf, 10), CG_ERR_ARG);
    assert_errmsg_contains("too small");
}

static void test_bad_specs_point_at_the_token(void **state)
{
    static const char *const cases[][2] = {
        {"", "expected a layer size at column 1"},
        {"784", "needs an input and an output size"},
        {"784-x-10", "expected a layer size at column 5: \"x\""},
        {"784-0-10", "out of range [1, 16777216] at column 5: \"0\""},
        {"784-99999999-10", "out of range"},
        {"784-256-", "expected a layer size at column 9"},
        {"784-256:act=gelu", "unknown activation (relu, leaky_relu, sigmoid, tanh) at column 13: \"gelu\""},
        {"784-256:act=softmax", "unknown activation"},
        {"784-256:out=relu", "unknown output activation"},
        {"784-256:dropout=1", "dropout rate not in [0, 1) at column 17: \"1\""},
        {"784-256:dropout=-0.5", "dropout rate not in [0, 1)"},
        {"784-256:dropout=abc", "expected a number at column 17"},
        {"784-256:dropout=0.2:dropout=0.3", "option given twice at column 21"},
        {"784-256:lr=0.1", "expected act=, slope=, dropout= or out= at column 9: \"lr=0.1\""},
        {"784-256:slope=0.2", "slope= needs act=leaky_relu"},
        {"784-256 ", "expected '-', ':' or the end at column 8"},
        {"784-256:", "expected act="},
        {"1-2-3-4-5-6-7-8-9-10-11-12-13-14-15-16-17-18-19-20-21-22-23-24-25-26-27-28-29-30-31-32-33-34",
         "too many layers"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cg_clear_error();
        assert_null(cg_model_from_spec(cases[i][0]));
        assert_int_equal(cg_errcode(), CG_ERR_ARG);
        assert_errmsg_contains(cases[i][1]);
        if (cases[i][0][0])
            assert_errmsg_contains(cases[i][0]);   /* the spec is quoted */
    }
}

/* ---- parameters ----------------------------------------------------------------------------- */

static void test_param_names_follow_sequential_indices(void **state)
{
    /* nn.Sequential(Linear, ReLU, Linear, ReLU, Linear): 0, 2, 4 */
    static const char *const plain[] = {"0.weight", "0.bias", "2.weight", "2.bias",
                                        "4.weight", "4.bias"};
    /* with Dropout after each hidden ReLU: Linear 0, ReLU 1, Dropout 2, Linear 3, ... */
    static const char *const drop[] = {"0.weight", "0.bias", "3.weight", "3.bias",
                                       "6.weight", "6.bias"};
    cg_model *a = cg_model_from_spec("784-256-128-10");
    cg_model *b = cg_model_from_spec("784-256-128-10:dropout=0.2:out=softmax");
    const struct cg_param *p;
    const struct cg_module *mod;
    int n;
    (void)state;

    p = cg_model_params(a, &n);
    assert_int_equal(n, 6);
    for (int i = 0; i < 6; i++)
        assert_string_equal(p[i].name, plain[i]);
    assert_int_equal(p[0].tensor->shape[0], 256);   /* weight [out, in] */
    assert_int_equal(p[0].tensor->shape[1], 784);
    assert_int_equal(p[1].tensor->ndim, 1);
    assert_int_equal(p[5].tensor->shape[0], 10);
    /* 784*256+256 + 256*128+128 + 128*10+10 */
    assert_int_equal(cg_model_num_params(a), 200960 + 32896 + 1290);

    p = cg_model_params(b, &n);
    for (int i = 0; i < 6; i++)
        assert_string_equal(p[i].name, drop[i]);
    mod = cg_model_modules(b, &n);
    assert_int_equal(n, 8);   /* L R D L R D L Softmax */
    assert_int_equal(mod[2].kind, CG_MOD_DROPOUT);
    assert_true(mod[2].arg == 0.2);
    assert_int_equal(mod[7].kind, CG_MOD_ACT);
    assert_int_equal(mod[7].act, CG_ACT_SOFTMAX);
    assert_ptr_equal(cg_model_param(b, "3.weight"), p[2].tensor);
    assert_null(cg_model_param(b, "2.weight"));
    cg_model_free(a);
    cg_model_free(b);
}

static void test_params_are_views_of_one_flat_buffer(void **state)
{
    cg_model *m = cg_model_from_spec("3-4-2");
    const struct cg_param *p;
    cg_tensor *flat = cg_model_flat(m);
    size_t at = 0;
    int n;
    (void)state;

    p = cg_model_params(m, &n);
    assert_int_equal(flat->size, 3 * 4 + 4 + 4 * 2 + 2);
    for (int i = 0; i < n; i++) {
        assert_ptr_equal(p[i].tensor->data, flat->data + at);
        assert_ptr_equal(p[i].tensor->grad, flat->grad + at);
        assert_true(cg_requires_grad(p[i].tensor));
        at += p[i].tensor->size;
    }
    assert_int_equal(at, flat->size);
    for (size_t i = 0; i < flat->size; i++)
        flat->grad[i] = 1;
    cg_model_zero_grad(m);
    for (size_t i = 0; i < flat->size; i++)
        assert_true(flat->grad[i] == 0);
    cg_model_free(m);
    cg_model_free(NULL);
}

/* ---- initialisation --------------------------------------------------------------------------- */

/* Mean and population variance of a tensor. */
static void moments(const cg_tensor *t, double *mean, double *var)
{
    double s = 0, ss = 0;
    for (size_t i = 0; i < t->size; i++)
        s += (double)t->data[i];
    *mean = s / (double)t->size;
    for (size_t i = 0; i < t->size; i++)
        ss += ((double)t->data[i] - *mean) * ((double)t->data[i] - *mean);
    *var = ss / (double)t->size;
}

static void test_init_kinds_fit_their_distributions(void **state)
{
    /* fan_in 400, fan_out 300: w is [300, 400], 120000 draws.
     * U(-b, b) has variance b^2 / 3; the sample variance of n draws is
     * within a few percent at n = 120000; the mean within 5 standard errors
     * sqrt(var / n). */
    const double fi = 400, fo = 300;
    const struct { enum cg_init kind; bool uniform; double bound_or_std; } cases[] = {
        {CG_INIT_DEFAULT, true, 1 / sqrt(fi)},
        {CG_INIT_XAVIER_UNIFORM, true, sqrt(6 / (fi + fo))},
        {CG_INIT_XAVIER_NORMAL, false, sqrt(2 / (fi + fo))},
        {CG_INIT_KAIMING_UNIFORM, true, sqrt(6 / fi)},
        {CG_INIT_KAIMING_NORMAL, false, sqrt(2 / fi)},
    };
    cg_model *m = cg_model_from_spec("400-300");
    cg_tensor *w = cg_model_param(m, "0.weight"), *b = cg_model_param(m, "0.bias");
    cg_rng rng;
    (void)state;

    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        double x = cases[c].bound_or_std, var_expected, mean, var;
        cg_rng_seed(&rng, 100 + c);
        assert_int_equal(cg_model_init(m, cases[c].kind, &rng), CG_OK);
        var_expected = cases[c].uniform ? x * x / 3 : x * x;
        moments(w, &mean, &var);
        assert_true(fabs(mean) < 5 * sqrt(var_expected / (double)w->size));
        assert_near(var / var_expected, 1.0, 0.03);
        for (size_t i = 0; i < w->size; i++)
            assert_true(fabs((double)w->data[i]) <= (cases[c].uniform ? x : 6 * x) * (1 + 1e-6));
        if (cases[c].kind == CG_INIT_DEFAULT) {
            /* nn.Linear: the bias is U(-1/sqrt(fan_in), 1/sqrt(fan_in)) too. */
            double bmax = 0;
            for (size_t i = 0; i < b->size; i++)
                bmax = fmax(bmax, fabs((double)b->data[i]));
            assert_true(bmax <= x * (1 + 1e-6) && bmax > x / 2);
        } else {
            for (size_t i = 0; i < b->size; i++)
                assert_true(b->data[i] == 0);
        }
    }
    cg_model_free(m);
}

static void test_init_is_fixed_by_the_seed_and_order(void **state)
{
    cg_model *a = cg_model_from_spec("3-5-2"), *b = cg_model_from_spec("3-5-2");
    cg_rng r1, r2, r3;
    cg_float w0, b0, lo, hi;
    size_t bytes = cg_model_num_params(a) * sizeof(cg_float);
    (void)state;

    for (int kind = CG_INIT_DEFAULT; kind <= CG_INIT_KAIMING_NORMAL; kind++) {
        cg_rng_seed(&r1, 42);
        cg_rng_seed(&r2, 42);
        assert_int_equal(cg_model_init(a, (enum cg_init)kind, &r1), CG_OK);
        assert_int_equal(cg_model_init(b, (enum cg_init)kind, &r2), CG_OK);
        assert_memory_equal(cg_model_flat(a)->data, cg_model_flat(b)->data, bytes);
        cg_rng_seed(&r2, 43);
        assert_int_equal(cg_model_init(b, (enum cg_init)kind, &r2), CG_OK);
        assert_memory_not_equal(cg_model_flat(a)->data, cg_model_flat(b)->data, bytes);
    }
    /* The order: 0.weight's 15 draws row-major, then 0.bias, then 2.weight.
     * Default init, bound b = 1/sqrt(3): element = lo + (hi - lo) * u with
     * lo = -b and hi = b rounded to cg_float, as cg_tensor_rand_uniform. */
    cg_rng_seed(&r1, 9);
    assert_int_equal(cg_model_init(a, CG_INIT_DEFAULT, &r1), CG_OK);
    cg_rng_seed(&r3, 9);
    lo = (cg_float)(-1 / sqrt(3.0));
    hi = (cg_float)(1 / sqrt(3.0));
    w0 = (cg_float)((double)lo + ((double)hi - (double)lo) * cg_rng_uniform(&r3));
    for (int i = 0; i < 14; i++)
        cg_rng_uniform(&r3);
    b0 = (cg_float)((double)lo + ((double)hi - (double)lo) * cg_rng_uniform(&r3));
    assert_true(cg_model_param(a, "0.weight")->data[0] == w0);
    assert_true(cg_model_param(a, "0.bias")->data[0] == b0);
    cg_model_free(a);
    cg_model_free(b);
}

static void test_init_names(void **state)
{
    enum cg_init k;
    (void)state;
    for (int i = CG_INIT_DEFAULT; i <= CG_INIT_KAIMING_NORMAL; i++) {
        assert_int_equal(cg_init_parse(cg_init_name((enum cg_init)i), &k), CG_OK);
        assert_int_equal(k, i);
    }
    assert_string_equal(cg_init_name(CG_INIT_XAVIER_NORMAL), "xavier_normal");
    assert_int_equal(cg_init_parse("he", &k), CG_ERR_ARG);
    assert_errmsg_contains("unknown init \"he\"");
}

/* ---- forward ---------------------------------------------------------------------------------- */

/* The 4-3-2 model of tests/data/make_torch_fixture.py. */
static cg_model *fixture_model(void)
{
    static const cg_float w0[] = {0.5, -0.25, 1, 0, 0.125, 2, -1, 0.75, -0.5, 0.25, 0.5, -2};
    static const cg_float b0[] = {0.5, -1, 0.25}, w2[] = {1, -1, 0.5, -0.5, 2, 0.25};
    static const cg_float b2[] = {0.0625, -0.125};
    cg_model *m = cg_model_from_spec("4-3-2");
    memcpy(cg_model_param(m, "0.weight")->data, w0, sizeof w0);
    memcpy(cg_model_param(m, "0.bias")->data, b0, sizeof b0);
    memcpy(cg_model_param(m, "2.weight")->data, w2, sizeof w2);
    memcpy(cg_model_param(m, "2.bias")->data, b2, sizeof b2);
    return m;
}

static void test_forward_by_hand(void **state)
{
    cg_model *m = fixture_model();
    cg_graph *g = cg_graph_new();
    cg_tensor *x = cg_graph_tensor(g, 2, (int[]){2, 4}), *y;
    /* Row 1, x = [1, 2, 3, 4]:
     *   W0 x + b0 = [0.5-0.5+3+0 + 0.5, 0.125+4-3+3 - 1, -0.5+0.5+1.5-8 + 0.25]
     *             = [3.5, 3.125, -6.25] -> ReLU -> [3.5, 3.125, 0]
     *   W2 h + b2 = [3.5-3.125+0 + 0.0625, -1.75+6.25+0 - 0.125] = [0.4375, 4.375]
     * Row 2, x = 0: h = ReLU(b0) = [0.5, 0, 0.25]
     *   [0.5-0+0.125 + 0.0625, -0.25+0+0.0625 - 0.125] = [0.6875, -0.3125] */
    const double expected[] = {0.4375, 4.375, 0.6875, -0.3125};
    (void)state;

    for (int i = 0; i < 4; i++)
        x->data[i] = (cg_float)(i + 1);
    y = cg_model_forward(g, m, x, NULL);
    assert_non_null(y);
    assert_int_equal(y->shape[0], 2);
    assert_int_equal(y->shape[1], 2);
    assert_tensor_near(y, expected, 4, CG_TEST_TOL);
    cg_graph_free(g);
    cg_model_free(m);
}

/* A 1-1-1 (or 2-2) model with identity weights shows each activation. */
static double act_through(const char *spec, double in)
{
    cg_model *m = cg_model_from_spec(spec);
    cg_graph *g = cg_graph_new();
    cg_tensor *x = cg_graph_tensor(g, 2, (int[]){1, 1}), *y;
    double out;
    cg_model_param(m, "0.weight")->data[0] = 1;
    cg_model_param(m, "2.weight")->data[0] = 1;
    x->data[0] = (cg_float)in;
    y = cg_model_forward(g, m, x, NULL);
    assert_non_null(y);
    out = (double)y->data[0];
    cg_graph_free(g);
    cg_model_free(m);
    return out;
}

static void test_forward_activations(void **state)
{
    cg_model *m = cg_model_from_spec("2-2:out=softmax");
    cg_graph *g = cg_graph_new();
    cg_tensor *x = cg_graph_tensor(g, 2, (int[]){1, 2}), *y;
    const double expected[] = {0.25, 0.75};   /* softmax([0, ln 3]) = [1, 3] / 4 */
    (void)state;

    assert_near(act_through("1-1-1:act=tanh", 0.5), tanh(0.5), CG_TEST_TOL);
    assert_near(act_through("1-1-1:act=sigmoid", 0), 0.5, CG_TEST_TOL);
    assert_near(act_through("1-1-1", -2), 0, CG_TEST_TOL);
    assert_near(act_through("1-1-1:act=leaky_relu", -2), -0.02, CG_TEST_TOL);
    assert_near(act_through("1-1-1:act=leaky_relu:slope=0.25", -2), -0.5, CG_TEST_TOL);
    assert_near(act_through("1-1-1:out=sigmoid", 0), 0.5, CG_TEST_TOL);
    assert_near(act_through("1-1-1:out=tanh", 1), tanh(1.0), CG_TEST_TOL);

    cg_model_param(m, "0.weight")->data[0] = 1;
    cg_model_param(m, "0.weight")->data[3] = 1;
    x->data[1] = (cg_float)log(3.0);
    y = cg_model_forward(g, m, x, NULL);
    assert_tensor_near(y, expected, 2, CG_TEST_TOL);
    cg_graph_free(g);
    cg_model_free(m);
}

static void test_forward_dropout_modes(void **state)
{
    cg_model *m = cg_model_from_spec("1-64-1:dropout=0.5");
    cg_graph *g = cg_graph_new();
    cg_tensor *x = cg_graph_tensor(g, 2, (int[]){1, 1}), *y;
    cg_tensor *w0 = cg_model_param(m, "0.weight"), *w3 = cg_model_param(m, "3.weight");
    cg_rng rng;
    (void)state;

    /* h = ReLU(1 * 1) = 1 in each of 64 units; out = sum of the kept units
     * scaled by 1/(1-p) = 2, so an even number between 0 and 128; without
     * dropout exactly 64. */
    for (int i = 0; i < 64; i++)
        w0->data[i] = w3->data[i] = 1;
    x->data[0] = 1;
    cg_rng_seed(&rng, 5);
    y = cg_model_forward(g, m, x, &rng);
    assert_non_null(y);
    assert_true(y->data[0] != 64 && fmod((double)y->data[0], 2.0) == 0);
    assert_true(y->data[0] > 16 && y->data[0] < 112);
    assert_null(cg_model_forward(g, m, x, NULL));   /* training needs rng */
    assert_int_equal(cg_errcode(), CG_ERR_ARG);
    assert_errmsg_contains("module 2 is dropout");
    cg_graph_reset(g);
    cg_graph_set_training(g, false);
    x = cg_graph_tensor(g, 2, (int[]){1, 1});
    x->data[0] = 1;
    y = cg_model_forward(g, m, x, NULL);
    assert_non_null(y);
    assert_true(y->data[0] == 64);
    cg_graph_free(g);
    cg_model_free(m);
}

static void test_forward_shape_error_names_both_numbers(void **state)
{
    cg_model *m = cg_model_from_spec("4-3-2");
    cg_graph *g = cg_graph_new();
    cg_tensor *x = cg_graph_tensor(g, 2, (int[]){8, 3});
    (void)state;
    cg_clear_error();
    assert_null(cg_model_forward(g, m, x, NULL));
    assert_int_equal(cg_errcode(), CG_ERR_SHAPE);
    assert_errmsg_contains("x is [8, 3] with 3 features, the model takes 4");
    assert_null(cg_model_forward(g, m, NULL, NULL));   /* NULL propagates */
    cg_graph_free(g);
    cg_model_free(m);
}

/* ---- replicas ----------------------------------------------------------------------------------- */

static void test_replica_shares_data_with_its_own_grads(void **state)
{
    cg_model *m = cg_model_from_spec("2-1");
    cg_model *r = cg_model_replica_new(m);
    cg_graph *g = cg_graph_new();
    cg_tensor *x = cg_graph_tensor(g, 2, (int[]){3, 2}), *y;
    cg_rng rng;
    /* y = x w^T + b summed over 3 rows: dL/dw = sum of the rows of x =
     * [1+3+5, 2+4+6] = [9, 12], dL/db = 3. */
    const double gw[] = {9, 12}, gb[] = {3};
    (void)state;

    assert_non_null(r);
    assert_ptr_equal(cg_model_flat(r)->data, cg_model_flat(m)->data);
    assert_ptr_not_equal(cg_model_flat(r)->grad, cg_model_flat(m)->grad);
    assert_ptr_equal(cg_model_param(r, "0.weight")->data, cg_model_param(m, "0.weight")->data);
    cg_rng_seed(&rng, 1);
    assert_int_equal(cg_model_init(m, CG_INIT_DEFAULT, &rng), CG_OK);
    assert_int_equal(cg_model_init(r, CG_INIT_DEFAULT, &rng), CG_ERR_STATE);
    for (int i = 0; i < 6; i++)
        x->data[i] = (cg_float)(i + 1);
    y = cg_sum(g, cg_model_forward(g, r, x, NULL));
    assert_int_equal(cg_backward(g, y), CG_OK);
    for (int i = 0; i < 2; i++)
        assert_near(cg_model_param(r, "0.weight")->grad[i], gw[i], CG_TEST_TOL);
    assert_near(cg_model_param(r, "0.bias")->grad[0], gb[0], CG_TEST_TOL);
    for (size_t i = 0; i < cg_model_num_params(m); i++)
        assert_true(cg_model_flat(m)->grad[i] == 0);   /* the original's grads untouched */
    cg_graph_free(g);
    cg_model_free(r);
    cg_model_free(m);
}

/* Fail the N-th allocation of building a model and a replica, for every N:
 * a clean CG_ERR_NOMEM and nothing leaked each time. */
static void test_out_of_memory_at_every_allocation(void **state)
{
    bool done = false;
    (void)state;
    for (int n = 0; n < 20 && !done; n++) {
        cg_model *m, *r = NULL;
        cg_test_alloc_install(n, CG_TEST_ALLOC_NO_REALLOC);
        m = cg_model_from_spec("3-4-2");
        if (m)
            r = cg_model_replica_new(m);
        done = r != NULL;
        if (!done)
            assert_int_equal(cg_errcode(), CG_ERR_NOMEM);
        cg_model_free(r);
        cg_model_free(m);
        cg_test_alloc_remove();
        assert_int_equal(cg_test_alloc.live, 0);
    }
    assert_true(done);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spec_round_trip),
        cmocka_unit_test(test_arch_built_in_code_prints_its_spec),
        cmocka_unit_test(test_bad_specs_point_at_the_token),
        cmocka_unit_test(test_param_names_follow_sequential_indices),
        cmocka_unit_test(test_params_are_views_of_one_flat_buffer),
        cmocka_unit_test(test_init_kinds_fit_their_distributions),
        cmocka_unit_test(test_init_is_fixed_by_the_seed_and_order),
        cmocka_unit_test(test_init_names),
        cmocka_unit_test(test_forward_by_hand),
        cmocka_unit_test(test_forward_activations),
        cmocka_unit_test(test_forward_dropout_modes),
        cmocka_unit_test(test_forward_shape_error_names_both_numbers),
        cmocka_unit_test(test_replica_shares_data_with_its_own_grads),
        cmocka_unit_test(test_out_of_memory_at_every_allocation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
