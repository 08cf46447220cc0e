/*
 * Tests of the learning-rate schedules (optim/schedule.c), closed forms of
 * torch.optim.lr_scheduler's StepLR, ExponentialLR, CosineAnnealingLR and
 * LinearLR as a warm-up factor. Expected values worked out by hand below.
 */
#include <math.h>

#include "cg_test.h"

#define TOL 1e-15

/* StepLR(base 0.1, step_size 3, gamma 0.5): 0.1 for t = 0..2, 0.05 for 3..5,
 * 0.025 for 6..8, 0.0125 at 9. */
static void test_schedule_step(void **state)
{
    (void)state;
    struct cg_schedule s = {.kind = CG_SCHEDULE_STEP, .base_lr = 0.1, .step_size = 3,
                            .gamma = 0.5};
    assert_int_equal(cg_schedule_check(&s), CG_OK);
    assert_near(cg_schedule_lr(&s, 0), 0.1, TOL);
    assert_near(cg_schedule_lr(&s, 2), 0.1, TOL);
    assert_near(cg_schedule_lr(&s, 3), 0.05, TOL);
    assert_near(cg_schedule_lr(&s, 5), 0.05, TOL);
    assert_near(cg_schedule_lr(&s, 6), 0.025, TOL);
    assert_near(cg_schedule_lr(&s, 9), 0.0125, TOL);
}

/* ExponentialLR(base 0.1, gamma 0.9): 0.1, 0.09, 0.081, ..., 0.1 * 0.9^10 =
 * 0.03486784401. */
static void test_schedule_exponential(void **state)
{
    (void)state;
    struct cg_schedule s = {.kind = CG_SCHEDULE_EXPONENTIAL, .base_lr = 0.1, .gamma = 0.9};
    assert_near(cg_schedule_lr(&s, 0), 0.1, TOL);
    assert_near(cg_schedule_lr(&s, 1), 0.09, TOL);
    assert_near(cg_schedule_lr(&s, 2), 0.081, TOL);
    assert_near(cg_schedule_lr(&s, 10), 0.03486784401, TOL);
}

/* CosineAnnealingLR(base 0.1, T_max 10, eta_min 0.001):
 * lr = 0.001 + 0.099 (1 + cos(pi t / 10)) / 2: t = 0 -> 0.1; t = 2 -> cos(pi/5)
 * = 0.80901699437494742, lr = 0.0905463412215599; t = 5 -> 0.0505;
 * t = 7 -> cos(0.7 pi) = -0.58778525229247314, lr = 0.021404630011522586;
 * t = 10 -> 0.001; past T_max the cosine rises again, as PyTorch's recursive
 * form does: t = 15 -> 0.0505, t = 20 -> 0.1. */
static void test_schedule_cosine(void **state)
{
    (void)state;
    struct cg_schedule s = {.kind = CG_SCHEDULE_COSINE, .base_lr = 0.1, .t_max = 10,
                            .eta_min = 0.001};
    assert_near(cg_schedule_lr(&s, 0), 0.1, TOL);
    assert_near(cg_schedule_lr(&s, 2), 0.0905463412215599, TOL);
    assert_near(cg_schedule_lr(&s, 5), 0.0505, TOL);
    assert_near(cg_schedule_lr(&s, 7), 0.021404630011522586, TOL);
    assert_near(cg_schedule_lr(&s, 10), 0.001, TOL);
    assert_near(cg_schedule_lr(&s, 15), 0.0505, TOL);
    assert_near(cg_schedule_lr(&s, 20), 0.1, TOL);
}

/* Warm-up over W = 4 multiplies by min(1, (t + 1) / 4): a constant 0.1 gives
 * 0.025, 0.05, 0.075, 0.1, 0.1; with StepLR(step_size 2, gamma 0.5) at t = 2
 * it is 0.05 * 0.75 = 0.0375. */
static void test_schedule_warmup(void **state)
{
    (void)state;
    struct cg_schedule s = {.kind = CG_SCHEDULE_CONSTANT, .base_lr = 0.1, .warmup_steps = 4};
    assert_near(cg_schedule_lr(&s, 0), 0.025, TOL);
    assert_near(cg_schedule_lr(&s, 1), 0.05, TOL);
    assert_near(cg_schedule_lr(&s, 2), 0.075, TOL);
    assert_near(cg_schedule_lr(&s, 3), 0.1, TOL);
    assert_near(cg_schedule_lr(&s, 100), 0.1, TOL);
    assert_near(cg_schedule_lr(&s, -5), 0.025, TOL);
    s.kind = CG_SCHEDULE_STEP;
    s.step_size = 2;
    s.gamma = 0.5;
    assert_near(cg_schedule_lr(&s, 2), 0.0375, TOL);
    assert_near(cg_schedule_lr(&s, 4), 0.025, TOL);
}

/* A schedule drives an optimizer through cg_optim_set_lr: SGD on p = 1 with
 * grad 1 and StepLR(1, step_size 1, gamma 0.5): p = 1 - 1 - 0.5 - 0.25 = -0.75. */
static void test_schedule_drives_optimizer(void **state)
{
    (void)state;
    cg_float grad[1] = {1};
    cg_tensor *p = cg_tensor_from_array(1, (int[]){1}, (cg_float[]){1});
    p->grad = grad;
    cg_optim *o = cg_sgd_new(&p, 1, &(struct cg_sgd_params){.lr = 1});
    struct cg_schedule s = {.kind = CG_SCHEDULE_STEP, .base_lr = 1, .step_size = 1,
                            .gamma = 0.5};
    for (int64_t t = 0; t < 3; t++) {
        assert_int_equal(cg_optim_set_lr(o, cg_schedule_lr(&s, t)), CG_OK);
        assert_int_equal(cg_optim_step(o), CG_OK);
    }
    assert_near(p->data[0], -0.75, 0);
    cg_optim_free(o);
    cg_tensor_free(p);
}

static void test_schedule_bad_fields(void **state)
{
    (void)state;
    cg_clear_error();
    struct cg_schedule s = {.kind = CG_SCHEDULE_STEP, .base_lr = 0.1, .gamma = 0.5};
    assert_int_equal(cg_schedule_check(&s), CG_ERR_ARG);
    assert_errmsg_contains("step_size must be > 0");
    assert_true(isnan(cg_schedule_lr(&s, 1)));
    s = (struct cg_schedule){.kind = CG_SCHEDULE_COSINE, .base_lr = 0.1};
    assert_int_equal(cg_schedule_check(&s), CG_ERR_ARG);
    assert_errmsg_contains("t_max must be > 0");
    s = (struct cg_schedule){.kind = CG_SCHEDULE_EXPONENTIAL, .base_lr = 0.1, .gamma = -1};
    assert_int_equal(cg_schedule_check(&s), CG_ERR_ARG);
    assert_errmsg_contains("gamma must be >= 0");
    s = (struct cg_schedule){.kind = CG_SCHEDULE_CONSTANT, .base_lr = 0.1, .warmup_steps = -1};
    assert_int_equal(cg_schedule_check(&s), CG_ERR_ARG);
    assert_errmsg_contains("warmup_steps must be >= 0");
    s = (struct cg_schedule){.kind = CG_SCHEDULE_CONSTANT, .base_lr = -0.1};
    assert_int_equal(cg_schedule_check(&s), CG_ERR_ARG);
    assert_errmsg_contains("base_lr must be >= 0");
    assert_int_equal(cg_schedule_check(NULL), CG_ERR_ARG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_schedule_step),
        cmocka_unit_test(test_schedule_exponential),
        cmocka_unit_test(test_schedule_cosine),
        cmocka_unit_test(test_schedule_warmup),
        cmocka_unit_test(test_schedule_drives_optimizer),
        cmocka_unit_test(test_schedule_bad_fields),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
