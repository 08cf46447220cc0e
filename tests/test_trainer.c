/* Tests of the data-parallel batch runner (nn/trainer.c). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cg_test.h"
#include "../tensor/internal.h"

#define ROWS 13
#define IN 5
#define OUT 3

struct fixture {
    cg_model *m;
    cg_float  x[ROWS * IN];
    int       labels[ROWS];
    cg_float  targets[ROWS * OUT];
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    cg_rng rng;
    cg_rng_seed(&rng, 7);
    f->m = cg_model_from_spec("5-8-6-3:act=tanh");
    if (!f->m || cg_model_init(f->m, CG_INIT_DEFAULT, &rng) != CG_OK)
        return -1;
    for (int i = 0; i < ROWS * IN; i++)
        f->x[i] = (cg_float)cg_rng_normal(&rng, 0, 1);
    for (int i = 0; i < ROWS; i++)
        f->labels[i] = (int)cg_rng_below(&rng, OUT);
    for (int i = 0; i < ROWS * OUT; i++)
        f->targets[i] = (cg_float)cg_rng_uniform(&rng);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    cg_model_free(f->m);
    free(f);
    return 0;
}

/* The reference: one graph, the whole batch, cg_backward on the mean loss. */
static double reference_grads(struct fixture *f, enum cg_loss kind, cg_float *grads)
{
    cg_graph *g = cg_graph_new();
    cg_tensor *x = cg_graph_wrap(g, f->x, 2, (int[]){ROWS, IN});
    cg_tensor *y = cg_model_forward(g, f->m, x, NULL);
    cg_tensor *loss = kind == CG_LOSS_CROSS_ENTROPY
        ? cg_cross_entropy(g, y, f->labels)
        : cg_mse_loss(g, y, cg_graph_wrap(g, f->targets, 2, (int[]){ROWS, OUT}));
    assert_non_null(loss);
    assert_int_equal(cg_backward(g, loss), CG_OK);
    double value = (double)loss->data[0];
    cg_tensor *flat = cg_model_flat(f->m);
    memcpy(grads, flat->grad, flat->size * sizeof *grads);
    cg_model_zero_grad(f->m);
    cg_graph_free(g);
    return value;
}

static void check_threads_match_reference(struct fixture *f, enum cg_loss kind)
{
    cg_tensor *flat = cg_model_flat(f->m);
    cg_float *want = calloc(flat->size, sizeof *want);
    double want_loss = reference_grads(f, kind, want);
    struct cg_batch b = {f->x, f->labels, kind == CG_LOSS_MSE ? f->targets : NULL, ROWS};

    for (int threads = 1; threads <= 4; threads++) {
        cg_trainer *t = cg_trainer_new(f->m, kind, threads);
        struct cg_batch_result r;
        assert_non_null(t);
        assert_int_equal(cg_trainer_backward(t, &b, NULL, &r), CG_OK);
        /* 13 rows are one chunk, which runs exactly the reference's
         * operations whatever the thread count: the same bits. */
        assert_true(r.loss == want_loss);
        assert_memory_equal(flat->grad, want, flat->size * sizeof *want);
        cg_model_zero_grad(f->m);
        cg_trainer_free(t);
    }
    free(want);
}

static void test_trainer_matches_one_graph_cross_entropy(void **state)
{
    check_threads_match_reference(*state, CG_LOSS_CROSS_ENTROPY);
}

static void test_trainer_matches_one_graph_mse(void **state)
{
    check_threads_match_reference(*state, CG_LOSS_MSE);
}

static void test_trainer_is_deterministic_and_accumulates(void **state)
{
    struct fixture *f = *state;
    cg_tensor *flat = cg_model_flat(f->m);
    cg_float *first = calloc(flat->size, sizeof *first);
    struct cg_batch b = {f->x, f->labels, NULL, ROWS};
    cg_trainer *t = cg_trainer_new(f->m, CG_LOSS_CROSS_ENTROPY, 2);

    assert_int_equal(cg_trainer_backward(t, &b, NULL, NULL), CG_OK);
    memcpy(first, flat->grad, flat->size * sizeof *first);
    /* The same batch again from zero: the same bits. */
    cg_model_zero_grad(f->m);
    assert_int_equal(cg_trainer_backward(t, &b, NULL, NULL), CG_OK);
    assert_memory_equal(flat->grad, first, flat->size * sizeof *first);
    /* Without zeroing, a second batch adds to the gradients: twice the
     * first, up to rounding (the sums are ordered differently). */
    assert_int_equal(cg_trainer_backward(t, &b, NULL, NULL), CG_OK);
    for (size_t i = 0; i < flat->size; i++)
        assert_near(flat->grad[i], 2 * first[i], 10 * CG_TEST_TOL);
    cg_model_zero_grad(f->m);
    cg_trainer_free(t);
    free(first);
}

static void test_trainer_allocates_nothing_after_first_batch(void **state)
{
    struct fixture *f = *state;
    struct cg_batch b = {f->x, f->labels, NULL, ROWS};
    cg_float out[ROWS * OUT];

    cg_test_alloc_install(-1, 0);
    cg_trainer *t = cg_trainer_new(f->m, CG_LOSS_CROSS_ENTROPY, 2);
    assert_non_null(t);
    assert_int_equal(cg_trainer_backward(t, &b, NULL, NULL), CG_OK);
    assert_int_equal(cg_trainer_forward(t, &b, out, NULL), CG_OK);
    cg_test_alloc.calls = 0;
    for (int step = 0; step < 20; step++) {
        assert_int_equal(cg_trainer_backward(t, &b, NULL, NULL), CG_OK);
        assert_int_equal(cg_trainer_forward(t, &b, out, NULL), CG_OK);
    }
    assert_int_equal(cg_test_alloc.calls, 0);
    cg_trainer_free(t);
    cg_test_alloc_remove();
    cg_model_zero_grad(f->m);
}

static void test_trainer_forward_outputs_and_accuracy(void **state)
{
    struct fixture *f = *state;
    cg_float out1[ROWS * OUT], out2[ROWS * OUT];
    struct cg_batch b = {f->x, f->labels, NULL, ROWS};
    struct cg_batch_result r1, r2;
    cg_trainer *t1 = cg_trainer_new(f->m, CG_LOSS_CROSS_ENTROPY, 1);
    cg_trainer *t2 = cg_trainer_new(f->m, CG_LOSS_CROSS_ENTROPY, 3);

    assert_int_equal(cg_trainer_forward(t1, &b, out1, &r1), CG_OK);
    assert_int_equal(cg_trainer_forward(t2, &b, out2, &r2), CG_OK);
    /* Rows do not mix in a forward pass, but a GEMM of fewer rows may block
     * its sums differently: equal up to rounding. */
    for (int i = 0; i < ROWS * OUT; i++)
        assert_near(out2[i], out1[i], 10 * CG_TEST_TOL);
    assert_int_equal(r1.correct, r2.correct);
    int correct = 0;
    for (int i = 0; i < ROWS; i++) {
        int best = 0;
        for (int c = 1; c < OUT; c++)
            if (out1[i * OUT + c] > out1[i * OUT + best])
                best = c;
        correct += best == f->labels[i];
    }
    assert_int_equal(r1.correct, correct);
    /* Without labels: outputs only, loss NaN. */
    struct cg_batch inputs_only = {f->x, NULL, NULL, 2};
    assert_int_equal(cg_trainer_forward(t2, &inputs_only, out2, &r2), CG_OK);
    assert_true(isnan(r2.loss));
    for (int i = 0; i < 2 * OUT; i++)
        assert_near(out2[i], out1[i], 10 * CG_TEST_TOL);
    cg_trainer_free(t1);
    cg_trainer_free(t2);
}

static void test_trainer_reports_a_worker_error(void **state)
{
    struct fixture *f = *state;
    int bad[ROWS];
    memcpy(bad, f->labels, sizeof bad);
    bad[ROWS - 1] = 7;   /* in the last thread's slice */
    struct cg_batch b = {f->x, bad, NULL, ROWS};
    cg_trainer *t = cg_trainer_new(f->m, CG_LOSS_CROSS_ENTROPY, 2);

    cg_clear_error();
    assert_int_equal(cg_trainer_backward(t, &b, NULL, NULL), CG_ERR_ARG);
    assert_errmsg_contains("7");
    cg_model_zero_grad(f->m);
    struct cg_batch empty = {f->x, f->labels, NULL, 0};
    assert_int_equal(cg_trainer_backward(t, &empty, NULL, NULL), CG_ERR_ARG);
    struct cg_batch no_labels = {f->x, NULL, NULL, ROWS};
    assert_int_equal(cg_trainer_backward(t, &no_labels, NULL, NULL), CG_ERR_ARG);
    assert_errmsg_contains("no labels");
    cg_trainer_free(t);
    assert_null(cg_trainer_new(f->m, CG_LOSS_MSE, 65));
    assert_null(cg_trainer_new(NULL, CG_LOSS_MSE, 1));
    /* 0 and less: as many threads as the CPUs the process may use. */
    t = cg_trainer_new(f->m, CG_LOSS_MSE, 0);
    assert_non_null(t);
    assert_int_equal(cg_trainer_threads(t), cg_cpu_count());
    cg_trainer_free(t);
}

/* The pass that sums the threads' gradients also says whether they are all
 * finite, wherever the bad one is. */
static void test_trainer_reports_non_finite_gradients(void **state)
{
    struct fixture *f = *state;
    struct cg_batch b = {f->x, f->labels, NULL, ROWS};
    struct cg_batch_result r;
    cg_tensor *flat = cg_model_flat(f->m);

    for (int threads = 1; threads <= 3; threads++) {
        cg_trainer *t = cg_trainer_new(f->m, CG_LOSS_CROSS_ENTROPY, threads);
        assert_int_equal(cg_trainer_backward(t, &b, NULL, &r), CG_OK);
        assert_true(r.grads_finite);
        cg_model_zero_grad(f->m);
        flat->grad[flat->size - 1] = (cg_float)INFINITY;   /* the last thread's share */
        assert_int_equal(cg_trainer_backward(t, &b, NULL, &r), CG_OK);
        assert_false(r.grads_finite);
        cg_model_zero_grad(f->m);
        flat->grad[0] = (cg_float)NAN;                     /* the first's */
        assert_int_equal(cg_trainer_backward(t, &b, NULL, &r), CG_OK);
        assert_false(r.grads_finite);
        cg_model_zero_grad(f->m);
        cg_trainer_free(t);
    }
}

/* A batch of 70 rows for the tests below: 3 chunks. */
#define BIG_ROWS 70

static void big_batch(cg_float *x, int *labels, int in, int classes)
{
    cg_rng rng;
    cg_rng_seed(&rng, 11);
    for (int i = 0; i < BIG_ROWS * in; i++)
        x[i] = (cg_float)cg_rng_normal(&rng, 0, 1);
    for (int i = 0; i < BIG_ROWS; i++)
        labels[i] = (int)cg_rng_below(&rng, (uint32_t)classes);
}

/* A model of 108,123 parameters and a batch of 3 chunks: the second
 * layer's weight gradient (30 x 3000) is summed over the chunks in two
 * blocks of rows (16 and 14), the others in one each. It matches one graph
 * over the whole batch up to rounding, with the same bits on 1, 2 and 3
 * threads; a second batch from zero gives the same bits (nothing is left
 * over from the first), and a NaN anywhere, in any block, weight or bias,
 * is reported. */
static void test_trainer_sums_across_chunks(void **state)
{
    (void)state;
    static cg_float x[BIG_ROWS * IN];
    static int labels[BIG_ROWS];
    struct cg_batch b = {x, labels, NULL, BIG_ROWS};
    struct cg_batch_result r;
    cg_rng rng;
    cg_model *m = cg_model_from_spec("5-3000-30-3");
    cg_rng_seed(&rng, 3);
    big_batch(x, labels, IN, OUT);
    assert_non_null(m);
    assert_int_equal(cg_model_init(m, CG_INIT_DEFAULT, &rng), CG_OK);
    cg_tensor *flat = cg_model_flat(m);
    cg_float *want = calloc(flat->size, sizeof *want), *first = calloc(flat->size, sizeof *first);
    cg_float *one_thread = calloc(flat->size, sizeof *one_thread);
    assert_int_equal(flat->size, 108123);

    cg_graph *g = cg_graph_new();
    cg_tensor *y = cg_model_forward(g, m, cg_graph_wrap(g, x, 2, (int[]){BIG_ROWS, IN}), NULL);
    assert_int_equal(cg_backward(g, cg_cross_entropy(g, y, labels)), CG_OK);
    memcpy(want, flat->grad, flat->size * sizeof *want);
    cg_graph_free(g);
    cg_model_zero_grad(m);
    for (int threads = 1; threads <= 3; threads++) {
        cg_trainer *t = cg_trainer_new(m, CG_LOSS_CROSS_ENTROPY, threads);
        assert_int_equal(cg_trainer_backward(t, &b, NULL, &r), CG_OK);
        assert_true(r.grads_finite);
        for (size_t i = 0; i < flat->size; i++)
            assert_near(flat->grad[i], want[i], 100 * CG_TEST_TOL);
        /* the same bits on every thread count, blocks included */
        if (threads == 1)
            memcpy(one_thread, flat->grad, flat->size * sizeof *one_thread);
        assert_memory_equal(flat->grad, one_thread, flat->size * sizeof *one_thread);
        memcpy(first, flat->grad, flat->size * sizeof *first);
        cg_model_zero_grad(m);
        assert_int_equal(cg_trainer_backward(t, &b, NULL, &r), CG_OK);
        assert_memory_equal(flat->grad, first, flat->size * sizeof *first);
        /* 0.weight, 0.bias, 2.weight's two blocks, 2.bias, 4.weight, 4.bias */
        static const size_t bad[] = {0,      14999,  15000,  17999,  18000,  18000 + 47999,
                                     18000 + 48000,  18000 + 89999,  108000, 108029,
                                     108030, 108119, 108120, 108122};
        for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
            cg_model_zero_grad(m);
            flat->grad[bad[k]] = (cg_float)NAN;
            assert_int_equal(cg_trainer_backward(t, &b, NULL, &r), CG_OK);
            assert_false(r.grads_finite);
        }
        cg_model_zero_grad(m);
        cg_trainer_free(t);
    }
    free(want);
    free(first);
    free(one_thread);
    cg_model_free(m);
}

/* Train a 5-16-8-3 model with dropout and Adam for 6 steps on batches of
 * 3 chunks, on `threads` threads, worker 1 (if any) sleeping `delay_us` in
 * every chunk it takes, with cg_optim_train_step or the two calls; the parameters at the end into params. */
static void train_bits_with(int threads, unsigned delay_us, bool fused, cg_float *params,
                            size_t n)
{
    static cg_float x[BIG_ROWS * IN];
    static int labels[BIG_ROWS];
    cg_rng rng;
    cg_rng_seed(&rng, 5);
    big_batch(x, labels, IN, OUT);
    cg_model *m = cg_model_from_spec("5-16-8-3:dropout=0.2");
    assert_non_null(m);
    assert_int_equal(cg_model_init(m, CG_INIT_DEFAULT, &rng), CG_OK);
    cg_tensor *flat = cg_model_flat(m);
    assert_int_equal(flat->size, n);
    cg_optim *opt = cg_adam_new(&flat, 1, NULL);
    cg_trainer *t = cg_trainer_new(m, CG_LOSS_CROSS_ENTROPY, threads);
    assert_non_null(t);
    cg__pool_set_delay(cg_trainer_pool(t), 1, delay_us);
    for (int step = 0; step < 6; step++) {
        struct cg_batch b = {x, labels, NULL, BIG_ROWS - step};
        struct cg_batch_result r;
        if (fused) {
            assert_int_equal(cg_optim_train_step(opt, t, &b, &rng, &r), CG_OK);
            assert_true(r.grads_finite && isfinite(r.loss));
        } else {
            assert_int_equal(cg_trainer_backward(t, &b, &rng, NULL), CG_OK);
            assert_int_equal(cg_optim_step_zero_grad(opt, cg_trainer_pool(t)), CG_OK);
        }
        for (size_t i = 0; i < n; i++)
            assert_true(flat->grad[i] == 0);
    }
    memcpy(params, flat->data, n * sizeof *params);
    cg_trainer_free(t);
    cg_optim_free(opt);
    cg_model_free(m);
}

static void train_bits(int threads, unsigned delay_us, cg_float *params, size_t n)
{
    train_bits_with(threads, delay_us, false, params, n);
}

/* cg_optim_train_step gives the same bits as the two calls it stands for,
 * on any thread count, with a worker delayed. */
static void test_trainer_train_step_matches_two_calls(void **state)
{
    (void)state;
    enum { N = 5 * 16 + 16 + 16 * 8 + 8 + 8 * 3 + 3 };
    cg_float want[N], got[N];
    train_bits(1, 0, want, N);
    for (int threads = 1; threads <= 3; threads++) {
        train_bits_with(threads, threads == 2 ? 1000 : 0, true, got, N);
        assert_memory_equal(got, want, sizeof want);
    }
}

/* A non-finite loss or gradient updates nothing and is an error; the
 * gradients are zero afterwards either way. An optimizer over other
 * tensors than the flat one works the same. */
static void test_trainer_train_step_errors(void **state)
{
    struct fixture *f = *state;
    cg_tensor *flat = cg_model_flat(f->m);
    cg_float *before = calloc(flat->size, sizeof *before);
    cg_optim *opt = cg_adam_new(&flat, 1, NULL);
    cg_trainer *t = cg_trainer_new(f->m, CG_LOSS_MSE, 2);
    cg_float targets[ROWS * OUT];
    struct cg_batch_result r;

    memcpy(targets, f->targets, sizeof targets);
    targets[0] = (cg_float)INFINITY;
    struct cg_batch bad = {f->x, NULL, targets, ROWS};
    memcpy(before, flat->data, flat->size * sizeof *before);
    assert_int_equal(cg_optim_train_step(opt, t, &bad, NULL, &r), CG_ERR_NUMERIC);
    assert_errmsg_contains("loss");
    assert_memory_equal(flat->data, before, flat->size * sizeof *before);
    assert_int_equal(cg_optim_steps(opt), 0);
    flat->grad[3] = (cg_float)NAN;   /* as a bad backward would leave it */
    struct cg_batch good = {f->x, NULL, f->targets, ROWS};
    assert_int_equal(cg_optim_train_step(opt, t, &good, NULL, &r), CG_ERR_NUMERIC);
    assert_false(r.grads_finite);
    assert_errmsg_contains("gradient");
    for (size_t i = 0; i < flat->size; i++)
        assert_true(flat->grad[i] == 0);
    assert_memory_equal(flat->data, before, flat->size * sizeof *before);
    assert_int_equal(cg_optim_steps(opt), 0);
    cg_optim_free(opt);
    /* Over the model's layers' tensors. */
    cg_tensor *params[16];
    int n;
    const struct cg_param *ps = cg_model_params(f->m, &n);
    assert_true(n > 1 && n <= 16);
    for (int i = 0; i < n; i++)
        params[i] = ps[i].tensor;
    opt = cg_adam_new(params, n, NULL);
    assert_int_equal(cg_optim_train_step(opt, t, &good, NULL, &r), CG_OK);
    assert_true(r.grads_finite);
    assert_int_equal(cg_optim_steps(opt), 1);
    assert_true(memcmp(flat->data, before, flat->size * sizeof *before) != 0);
    for (size_t i = 0; i < flat->size; i++)
        assert_true(flat->grad[i] == 0);
    cg_optim_free(opt);
    cg_trainer_free(t);
    free(before);
}

/* The same bits whatever the scheduling and the thread count: 1 to 4
 * threads, and a worker that sleeps 2 ms in every chunk it takes (as a
 * thread the kernel descheduled would), so that the others take its share
 * of the chunks. */
static void test_trainer_bits_do_not_depend_on_threads_or_timing(void **state)
{
    (void)state;
    enum { N = 5 * 16 + 16 + 16 * 8 + 8 + 8 * 3 + 3 };
    cg_float want[N], got[N];
    train_bits(1, 0, want, N);
    for (int threads = 2; threads <= 4; threads++) {
        for (unsigned delay = 0; delay <= 2000; delay += 2000) {
            train_bits(threads, delay, got, N);
            assert_memory_equal(got, want, sizeof want);
        }
    }
}

static void test_trainer_more_threads_than_rows(void **state)
{
    struct fixture *f = *state;
    struct cg_batch b = {f->x, f->labels, NULL, 1};
    struct cg_batch_result r;
    cg_trainer *t = cg_trainer_new(f->m, CG_LOSS_CROSS_ENTROPY, 4);

    assert_int_equal(cg_trainer_backward(t, &b, NULL, &r), CG_OK);
    assert_true(isfinite(r.loss) && r.loss > 0);
    assert_true(cg_tensor_norm_l2(cg_model_flat(f->m)) > 0);
    cg_model_zero_grad(f->m);
    cg_trainer_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_trainer_matches_one_graph_cross_entropy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_trainer_matches_one_graph_mse, setup, teardown),
        cmocka_unit_test_setup_teardown(test_trainer_is_deterministic_and_accumulates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_trainer_allocates_nothing_after_first_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_trainer_forward_outputs_and_accuracy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_trainer_reports_a_worker_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_trainer_sums_across_chunks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_trainer_more_threads_than_rows, setup, teardown),
        cmocka_unit_test(test_trainer_bits_do_not_depend_on_threads_or_timing),
        cmocka_unit_test(test_trainer_train_step_matches_two_calls),
        cmocka_unit_test_setup_teardown(test_trainer_train_step_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_trainer_reports_non_finite_gradients, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
