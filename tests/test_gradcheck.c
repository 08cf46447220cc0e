/*
 * Tests of the gradient checker's verdicts (autograd/gradcheck.c,
 * gradcheck_diagnose.c): a planted mistake in a backward pass gets the
 * diagnosis that names it, a check whose elements all sit on a kink is
 * "not checked" rather than vacuous or passed, a skipped element hides no
 * failure elsewhere, and a large step does not excuse a wrong gradient as
 * a kink. Built against both libraries; the tolerances are each build's.
 */
#include <string.h>

#include "cg_test.h"

/* ---- an op with a backward that makes one mistake on demand ---------------
 * y[r][c] = (c + 1) x[r][c]^2, so dy/dx = 2 (c + 1) x. */

enum mistake {
    RIGHT, HALF, SIGN, NOTHING, ASSIGN, PASSTHROUGH, ROW1, COLUMN0, ONE_PERCENT
};

struct op_ctx {
    enum mistake m;
};

static void square_backward(cg_tensor *out)
{
    cg_tensor *x = cg_op_input(out, 0);
    const struct op_ctx *c = cg_op_ctx(out);
    int cols = x->shape[1];

    for (size_t i = 0; i < x->size; i++) {
        int r = (int)i / cols, col = (int)i % cols;
        cg_float right = out->grad[i] * 2 * (cg_float)(col + 1) * x->data[i];
        switch (c->m) {
        case RIGHT:       x->grad[i] += right; break;
        case HALF:        x->grad[i] += right / 2; break;
        case SIGN:        x->grad[i] -= right; break;
        case NOTHING:     break;
        case ASSIGN:      x->grad[i] = right; break;
        case PASSTHROUGH: x->grad[i] += out->grad[i]; break;
        case ROW1:        x->grad[i] += r == 1 ? right * 3 : right; break;
        case COLUMN0:     x->grad[i] += col == 0 ? right / 2 + 1 : right; break;
        case ONE_PERCENT: x->grad[i] += right * (cg_float)1.01; break;
        }
    }
}

static cg_tensor *square_op(cg_graph *g, cg_tensor *const *in, void *ctx)
{
    cg_tensor *x = in[0];
    cg_tensor *y = cg_op_new(g, "square", 2, x->shape, in, 1, square_backward,
                             sizeof(struct op_ctx));
    if (!y)
        return NULL;
    *(struct op_ctx *)cg_op_ctx(y) = *(const struct op_ctx *)ctx;
    for (size_t i = 0; i < y->size; i++)
        y->data[i] = (cg_float)((int)i % x->shape[1] + 1) * x->data[i] * x->data[i];
    return y;
}

/* x: [4, 3] in +-[0.2, 1] */
static cg_tensor *input_4x3(void)
{
    cg_tensor *x = cg_param_new(2, (int[]){4, 3});
    for (size_t i = 0; i < x->size; i++)
        x->data[i] = (cg_float)((i % 2 ? -1 : 1) * (0.2 + 0.07 * (double)i));
    return x;
}

static struct cg_gradcheck_result check(enum mistake m)
{
    struct op_ctx ctx = {m};
    struct cg_gradcheck_result r;
    struct cg_gradcheck_options o = cg_gradcheck_defaults();
    static const char *const names[] = {"x"};
    cg_tensor *x = input_4x3();

    o.input_names = names;
    assert_int_equal(cg_gradcheck(square_op, &x, 1, &ctx, &o, &r), CG_OK);
    cg_tensor_free(x);
    return r;
}

static void test_right_backward_passes(void **state)
{
    (void)state;
    struct cg_gradcheck_result r = check(RIGHT);
    char buf[1024];
    assert_true(r.passed);
    assert_int_equal(r.checked, 12);
    assert_int_equal(r.wrong + r.skipped + r.overwritten, 0);
    assert_int_equal(r.pattern, CG_GRADCHECK_NO_PATTERN);
    assert_string_equal(r.diagnosis, "");
    assert_non_null(strstr(cg_gradcheck_report(&r, buf, sizeof buf), "PASS: 12 elements"));
}

static void test_missing_factor_is_named(void **state)
{
    (void)state;
    struct cg_gradcheck_result r = check(HALF);
    char buf[1024];
    assert_false(r.passed);
    assert_int_equal(r.pattern, CG_GRADCHECK_FACTOR);
    assert_near(r.factor, 0.5, 1e-3);
    assert_non_null(strstr(r.diagnosis, "a missing factor 2"));
    cg_gradcheck_report(&r, buf, sizeof buf);
    assert_non_null(strstr(buf, "FAIL: 12 elements checked, 12 wrong"));
    assert_near(r.worst_analytic / r.worst_numeric, 0.5, 1e-2);
    assert_non_null(strstr(buf, "worst element x["));
}

static void test_sign_flip_is_named(void **state)
{
    (void)state;
    struct cg_gradcheck_result r = check(SIGN);
    assert_int_equal(r.pattern, CG_GRADCHECK_SIGN);
    assert_non_null(strstr(r.diagnosis, "sign flip"));
}

static void test_nothing_accumulated_is_named(void **state)
{
    (void)state;
    struct cg_gradcheck_result r = check(NOTHING);
    assert_false(r.passed);
    assert_false(r.vacuous); /* the numeric gradient is there */
    assert_int_equal(r.pattern, CG_GRADCHECK_ZERO);
    assert_non_null(strstr(r.diagnosis, "nothing was added"));
}

/* Assigning gives the right numbers for an input used once, and is still
 * wrong: the same backward loses a gradient that already holds a value. */
static void test_assignment_fails_though_the_numbers_agree(void **state)
{
    (void)state;
    struct cg_gradcheck_result r = check(ASSIGN);
    assert_false(r.passed);
    assert_int_equal(r.wrong, 0);
    assert_int_equal(r.overwritten, 12);
    assert_int_equal(r.pattern, CG_GRADCHECK_ASSIGN);
    assert_non_null(strstr(r.diagnosis, "(=)"));
}

static void test_missing_local_derivative_is_named(void **state)
{
    (void)state;
    struct cg_gradcheck_result r = check(PASSTHROUGH);
    assert_int_equal(r.pattern, CG_GRADCHECK_PASSTHROUGH);
}

static void test_wrong_row_and_column_are_named(void **state)
{
    (void)state;
    struct cg_gradcheck_result r = check(ROW1);
    assert_int_equal(r.pattern, CG_GRADCHECK_ROWS);
    assert_non_null(strstr(r.diagnosis, "rows 1 (of 4)"));
    r = check(COLUMN0);
    assert_int_equal(r.pattern, CG_GRADCHECK_COLUMNS);
    assert_non_null(strstr(r.diagnosis, "columns 0 (of 3)"));
}

/* ---- transpose: y = x @ w with w: [3, 2] and w's gradient written as [2, 3] */

static void matmul_backward(cg_tensor *out)
{
    cg_tensor *x = cg_op_input(out, 0), *w = cg_op_input(out, 1);
    int B = x->shape[0], I = x->shape[1], O = w->shape[1];
    for (int n = 0; n < B; n++)
        for (int i = 0; i < I; i++)
            for (int o = 0; o < O; o++) {
                x->grad[n * I + i] += out->grad[n * O + o] * w->data[i * O + o];
                w->grad[o * I + i] += x->data[n * I + i] * out->grad[n * O + o];
            }
}

static cg_tensor *matmul_op(cg_graph *g, cg_tensor *const *in, void *ctx)
{
    (void)ctx;
    int B = in[0]->shape[0], I = in[0]->shape[1], O = in[1]->shape[1];
    cg_tensor *y = cg_op_new(g, "matmul", 2, (int[]){B, O}, in, 2, matmul_backward, 0);
    if (!y)
        return NULL;
    for (int n = 0; n < B; n++)
        for (int o = 0; o < O; o++)
            for (int i = 0; i < I; i++)
                y->data[n * O + o] += in[0]->data[n * I + i] * in[1]->data[i * O + o];
    return y;
}

static void test_transposed_gradient_is_named(void **state)
{
    (void)state;
    cg_tensor *in[2] = {input_4x3(), cg_param_new(2, (int[]){3, 2})};
    struct cg_gradcheck_result r;
    struct cg_gradcheck_options o = cg_gradcheck_defaults();
    static const char *const names[] = {"x", "w"};
    o.input_names = names;
    for (size_t i = 0; i < 6; i++)
        in[1]->data[i] = (cg_float)(0.3 * (double)i - 0.8);
    assert_int_equal(cg_gradcheck(matmul_op, in, 2, NULL, &o, &r), CG_OK);
    assert_false(r.passed);
    assert_int_equal(r.pattern, CG_GRADCHECK_TRANSPOSE);
    assert_int_equal(r.pattern_input, 1);
    assert_non_null(strstr(r.diagnosis, "w [3, 2]"));
    assert_non_null(strstr(r.diagnosis, "right: x"));
    cg_tensor_free(in[0]);
    cg_tensor_free(in[1]);
}

/* ---- kinks ------------------------------------------------------------------- */

static cg_tensor *relu_op(cg_graph *g, cg_tensor *const *in, void *ctx)
{
    (void)ctx;
    return cg_relu(g, in[0]);
}

/* Every element on the kink: nothing was compared, and the verdict says so
 * (it is neither a pass nor a "vacuous", all-zero gradient). */
static void test_all_skipped_is_not_checked(void **state)
{
    (void)state;
    cg_tensor *x = cg_param_new(1, (int[]){5});
    struct cg_gradcheck_result r;
    char buf[1024];
    assert_int_equal(cg_gradcheck(relu_op, &x, 1, NULL, NULL, &r), CG_OK);
    assert_false(r.passed);
    assert_false(r.vacuous);
    assert_true(r.all_skipped);
    assert_int_equal(r.skipped, 5);
    assert_int_equal(r.checked, 0);
    assert_non_null(strstr(cg_gradcheck_report(&r, buf, sizeof buf), "NOT CHECKED"));
    cg_tensor_free(x);
}

/* x[0] sits on the kink and is skipped; x[2] is wrong and still fails. */
static void relu_wrong_backward(cg_tensor *out)
{
    cg_tensor *x = cg_op_input(out, 0);
    for (size_t i = 0; i < x->size; i++)
        x->grad[i] += x->data[i] > 0 ? out->grad[i] * (i == 2 ? 2 : 1) : 0;
}

static cg_tensor *relu_wrong(cg_graph *g, cg_tensor *const *in, void *ctx)
{
    (void)ctx;
    cg_tensor *y = cg_op_new(g, "relu", 1, in[0]->shape, in, 1, relu_wrong_backward, 0);
    if (y)
        for (size_t i = 0; i < y->size; i++)
            y->data[i] = in[0]->data[i] > 0 ? in[0]->data[i] : 0;
    return y;
}

static void test_skipped_element_hides_no_failure(void **state)
{
    (void)state;
    cg_tensor *x = cg_param_new(1, (int[]){4});
    cg_float v[4] = {0, (cg_float)-0.5, (cg_float)0.7, (cg_float)0.3};
    struct cg_gradcheck_result r;
    memcpy(x->data, v, sizeof v);
    assert_int_equal(cg_gradcheck(relu_wrong, &x, 1, NULL, NULL, &r), CG_OK);
    assert_false(r.passed);
    assert_int_equal(r.skipped, 1);
    assert_int_equal(r.checked, 3);
    assert_int_equal(r.wrong, 1);
    assert_int_equal(r.worst_index, 2);
    cg_tensor_free(x);
}

/* A 10% error everywhere with a large step: the curvature makes the
 * second difference large, yet the elements are compared (at a smaller
 * step) and fail, instead of being skipped as kinks. */
static void test_large_step_does_not_excuse_an_error(void **state)
{
    (void)state;
    struct op_ctx ctx = {HALF};
    struct cg_gradcheck_result r;
    struct cg_gradcheck_options o = cg_gradcheck_defaults();
    cg_tensor *x = input_4x3();
    o.eps = 0.3;
    assert_int_equal(cg_gradcheck(square_op, &x, 1, &ctx, &o, &r), CG_OK);
    assert_false(r.passed);
    assert_false(r.all_skipped);
    assert_int_equal(r.skipped, 0);
    assert_int_equal(r.checked, 12);
    ctx.m = ONE_PERCENT;
    o.eps = 1e-2;
    assert_int_equal(cg_gradcheck(square_op, &x, 1, &ctx, &o, &r), CG_OK);
    assert_int_equal(r.skipped, 0);
    assert_int_equal(r.checked, 12);
    cg_tensor_free(x);
}

/* A step below the inputs' resolution is an error, not a NaN verdict. */
static void test_lost_step_is_an_error(void **state)
{
    (void)state;
    struct op_ctx ctx = {RIGHT};
    struct cg_gradcheck_result r;
    struct cg_gradcheck_options o = cg_gradcheck_defaults();
    cg_tensor *x = input_4x3();
    o.eps = 1e-30;
    assert_int_equal(cg_gradcheck(square_op, &x, 1, &ctx, &o, &r), CG_ERR_ARG);
    assert_errmsg_contains("is lost in the rounding");
    cg_tensor_free(x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_right_backward_passes),
        cmocka_unit_test(test_missing_factor_is_named),
        cmocka_unit_test(test_sign_flip_is_named),
        cmocka_unit_test(test_nothing_accumulated_is_named),
        cmocka_unit_test(test_assignment_fails_though_the_numbers_agree),
        cmocka_unit_test(test_missing_local_derivative_is_named),
        cmocka_unit_test(test_wrong_row_and_column_are_named),
        cmocka_unit_test(test_transposed_gradient_is_named),
        cmocka_unit_test(test_all_skipped_is_not_checked),
        cmocka_unit_test(test_skipped_element_hides_no_failure),
        cmocka_unit_test(test_large_step_does_not_excuse_an_error),
        cmocka_unit_test(test_lost_step_is_an_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
