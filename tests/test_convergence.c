/*
 * Convergence of every optimizer on small problems, through autograd
 * (cg_param_new, cg_linear, cg_tanh, cg_sigmoid, cg_mse_loss,
 * cg_cross_entropy, cg_backward): XOR with a 2-4-1 network, a linear
 * least-squares regression, and a 3-class linear classifier. Fixed seeds;
 * each test asserts the final loss is below a bound (and, for XOR, that the
 * four outputs are on the right side of 0.5).
 */
#include <math.h>

#include "cg_test.h"

enum { SGD, SGD_NESTEROV, RMSPROP, ADAGRAD, ADAM, ADAMW, N_OPTIM };
static const char *const optim_names[N_OPTIM] = {"sgd", "sgd nesterov", "rmsprop",
                                                 "adagrad", "adam", "adamw"};

/* An optimizer with settings that suit these small full-batch problems. */
static cg_optim *make_optim(int which, cg_tensor *const *ps, int n, double lr_scale)
{
    switch (which) {
    case SGD:
        return cg_sgd_new(ps, n, &(struct cg_sgd_params){.lr = 0.5 * lr_scale,
                                                         .momentum = 0.9});
    case SGD_NESTEROV:
        return cg_sgd_new(ps, n, &(struct cg_sgd_params){.lr = 0.5 * lr_scale,
                                                         .momentum = 0.9, .nesterov = true});
    case RMSPROP: {
        struct cg_rmsprop_params hp = cg_rmsprop_defaults();
        hp.lr = 0.01 * lr_scale;
        return cg_rmsprop_new(ps, n, &hp);
    }
    case ADAGRAD: {
        struct cg_adagrad_params hp = cg_adagrad_defaults();
        hp.lr = 0.5 * lr_scale;
        return cg_adagrad_new(ps, n, &hp);
    }
    case ADAM: {
        struct cg_adam_params hp = cg_adam_defaults();
        hp.lr = 0.05 * lr_scale;
        return cg_adam_new(ps, n, &hp);
    }
    default: {
        struct cg_adam_params hp = cg_adamw_defaults();
        hp.lr = 0.05 * lr_scale;
        return cg_adamw_new(ps, n, &hp);
    }
    }
}

static void init_uniform(cg_tensor *t, cg_rng *rng, double bound)
{
    cg_tensor_rand_uniform(t, rng, (cg_float)-bound, (cg_float)bound);
}

/* ---- XOR: x: [4, 2] -> tanh(x w1^T + b1): [4, 4] -> sigmoid(. w2^T + b2): [4, 1],
 * MSE against (0, 1, 1, 0). */
static cg_float XOR_X[8] = {0, 0, 0, 1, 1, 0, 1, 1};
static cg_float XOR_Y[4] = {0, 1, 1, 0};

static void xor_with(int which)
{
    cg_rng rng;
    cg_rng_seed(&rng, 7);
    cg_tensor *w1 = cg_param_new(2, (int[]){4, 2}), *b1 = cg_param_new(1, (int[]){4});
    cg_tensor *w2 = cg_param_new(2, (int[]){1, 4}), *b2 = cg_param_new(1, (int[]){1});
    cg_tensor *ps[4] = {w1, b1, w2, b2};
    init_uniform(w1, &rng, 1.0);
    init_uniform(b1, &rng, 1.0);
    init_uniform(w2, &rng, 1.0);
    init_uniform(b2, &rng, 1.0);
    cg_optim *o = make_optim(which, ps, 4, 1.0);
    cg_graph *g = cg_graph_new();
    assert_non_null(o);
    assert_non_null(g);
    double loss = 1, first = 0;
    cg_float out[4] = {0};
    for (int step = 0; step < 1000; step++) {
        cg_tensor *x = cg_graph_wrap(g, XOR_X, 2, (int[]){4, 2});
        cg_tensor *y = cg_graph_wrap(g, XOR_Y, 2, (int[]){4, 1});
        cg_tensor *h = cg_tanh(g, cg_linear(g, x, w1, b1));
        cg_tensor *pred = cg_sigmoid(g, cg_linear(g, h, w2, b2));
        cg_tensor *l = cg_mse_loss(g, pred, y);
        assert_non_null(l);
        cg_optim_zero_grad(o);
        assert_int_equal(cg_backward(g, l), CG_OK);
        loss = (double)l->data[0];
        if (step == 0)
            first = loss;
        for (int i = 0; i < 4; i++)
            out[i] = pred->data[i];
        assert_int_equal(cg_optim_step(o), CG_OK);
        cg_graph_reset(g);
    }
    /* A bound far below the starting loss: an optimizer that did nothing fails. */
    if (!(loss < 0.02) || !(first > 0.1))
        fail_msg("xor with %s: loss %g -> %g after 1000 steps", optim_names[which], first,
                 loss);
    for (int i = 0; i < 4; i++)
        if ((out[i] > (cg_float)0.5) != (XOR_Y[i] > 0))
            fail_msg("xor with %s: output %d is %g", optim_names[which], i, (double)out[i]);
    cg_graph_free(g);
    cg_optim_free(o);
    for (int i = 0; i < 4; i++)
        cg_tensor_free(ps[i]);
}

static void test_xor_every_optimizer(void **state)
{
    (void)state;
    for (int which = 0; which < N_OPTIM; which++)
        xor_with(which);
}

/* ---- Regression: x: [32, 3] uniform in [-1, 1], y = x (2, -3, 0.5)^T + 1,
 * a linear model w: [1, 3], b: [1] fitted by MSE: the loss goes to 0. */
static void test_regression_every_optimizer(void **state)
{
    (void)state;
    cg_float xs[32 * 3], ys[32];
    cg_rng rng;
    cg_rng_seed(&rng, 11);
    for (int i = 0; i < 32; i++) {
        for (int j = 0; j < 3; j++)
            xs[i * 3 + j] = (cg_float)(2 * cg_rng_uniform(&rng) - 1);
        ys[i] = 2 * xs[i * 3] - 3 * xs[i * 3 + 1] + (cg_float)0.5 * xs[i * 3 + 2] + 1;
    }
    for (int which = 0; which < N_OPTIM; which++) {
        cg_tensor *w = cg_param_new(2, (int[]){1, 3}), *b = cg_param_new(1, (int[]){1});
        cg_tensor *ps[2] = {w, b};
        /* Plain gradient descent on a quadratic: a smaller step for SGD. */
        cg_optim *o = make_optim(which, ps, 2, which <= SGD_NESTEROV ? 0.2 : 1.0);
        cg_graph *g = cg_graph_new();
        double loss = 1, first = 0;
        for (int step = 0; step < 1500; step++) {
            cg_tensor *x = cg_graph_wrap(g, xs, 2, (int[]){32, 3});
            cg_tensor *y = cg_graph_wrap(g, ys, 2, (int[]){32, 1});
            cg_tensor *l = cg_mse_loss(g, cg_linear(g, x, w, b), y);
            assert_non_null(l);
            cg_optim_zero_grad(o);
            assert_int_equal(cg_backward(g, l), CG_OK);
            loss = (double)l->data[0];
            if (step == 0)
                first = loss;
            assert_int_equal(cg_optim_step(o), CG_OK);
            cg_graph_reset(g);
        }
        if (!(loss < 1e-3) || !(first > 1))
            fail_msg("regression with %s: loss %g -> %g", optim_names[which], first, loss);
        cg_graph_free(g);
        cg_optim_free(o);
        cg_tensor_free(w);
        cg_tensor_free(b);
    }
}

/* ---- Classification: three Gaussian clusters (std 0.5) around (2, 0),
 * (-1, 1.7), (-1, -1.7), 20 points each; a linear classifier w: [3, 2],
 * b: [3] trained with cross-entropy. */
static void test_classification_every_optimizer(void **state)
{
    (void)state;
    static const double centre[3][2] = {{2, 0}, {-1, 1.7}, {-1, -1.7}};
    cg_float xs[60 * 2];
    int labels[60];
    cg_rng rng;
    cg_rng_seed(&rng, 3);
    for (int i = 0; i < 60; i++) {
        labels[i] = i % 3;
        for (int j = 0; j < 2; j++)
            xs[i * 2 + j] = (cg_float)cg_rng_normal(&rng, centre[i % 3][j], 0.5);
    }
    for (int which = 0; which < N_OPTIM; which++) {
        cg_tensor *w = cg_param_new(2, (int[]){3, 2}), *b = cg_param_new(1, (int[]){3});
        cg_tensor *ps[2] = {w, b};
        cg_optim *o = make_optim(which, ps, 2, 1.0);
        cg_graph *g = cg_graph_new();
        double loss = 1, first = 0;
        int correct = 0;
        for (int step = 0; step < 500; step++) {
            cg_tensor *x = cg_graph_wrap(g, xs, 2, (int[]){60, 2});
            cg_tensor *logits = cg_linear(g, x, w, b);
            cg_tensor *l = cg_cross_entropy(g, logits, labels);
            assert_non_null(l);
            cg_optim_zero_grad(o);
            assert_int_equal(cg_backward(g, l), CG_OK);
            loss = (double)l->data[0];
            if (step == 0)
                first = loss;
            size_t pred[60];
            assert_int_equal(cg_tensor_argmax_axis(pred, logits, 1), CG_OK);
            correct = 0;
            for (int i = 0; i < 60; i++)
                correct += (int)pred[i] == labels[i];
            assert_int_equal(cg_optim_step(o), CG_OK);
            cg_graph_reset(g);
        }
        /* Zero weights start at log(3) = 1.0986. */
        if (!(loss < 0.05) || !(first > 1) || correct < 60)
            fail_msg("classification with %s: loss %g -> %g, %d/60 correct",
                     optim_names[which], first, loss, correct);
        cg_graph_free(g);
        cg_optim_free(o);
        cg_tensor_free(w);
        cg_tensor_free(b);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_xor_every_optimizer),
        cmocka_unit_test(test_regression_every_optimizer),
        cmocka_unit_test(test_classification_every_optimizer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
