/* Tests of tensor creation, views, printing and the math kernels (tensor/). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cg_test.h"

/* A heap matrix [r, c] from literal values. */
static cg_tensor *mat(int r, int c, const cg_float *v)
{
    cg_tensor *t = cg_tensor_from_array(2, (int[]){r, c}, v);
    assert_non_null(t);
    return t;
}

static cg_tensor *vec(int n, const cg_float *v)
{
    cg_tensor *t = cg_tensor_from_array(1, (int[]){n}, v);
    assert_non_null(t);
    return t;
}

/* What cg_tensor_print writes, in a malloc'ed string. */
static char *print_to_string(const cg_tensor *t)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);

    assert_non_null(f);
    cg_tensor_print(t, f);
    fclose(f);
    return buf;
}

/* ---- creation ------------------------------------------------------------ */

static void test_new_is_zero_filled_with_shape(void **state)
{
    (void)state;
    cg_tensor *t = cg_tensor_new(3, (int[]){2, 3, 4});
    assert_non_null(t);
    assert_int_equal(t->ndim, 3);
    assert_int_equal(t->size, 24);
    assert_int_equal(t->shape[0], 2);
    assert_int_equal(t->shape[2], 4);
    assert_int_equal(t->shape[3], 1);          /* unused entries are 1 */
    assert_null(t->grad);
    assert_true(t->flags & CG_TENSOR_OWNS_DATA);
    for (size_t i = 0; i < t->size; i++)
        assert_true(t->data[i] == 0);
    assert_int_equal(cg_tensor_rows(t), 2);
    assert_int_equal(cg_tensor_cols(t), 12);
    cg_tensor_free(t);
    cg_tensor_free(NULL);

    cg_tensor *s = cg_tensor_new(0, NULL);     /* a scalar: one element */
    assert_non_null(s);
    assert_int_equal(s->size, 1);
    assert_int_equal(cg_tensor_rows(s), 1);
    assert_int_equal(cg_tensor_cols(s), 1);
    cg_tensor_free(s);

    cg_tensor *e = cg_tensor_new(2, (int[]){0, 5});   /* empty, still 5 columns */
    assert_non_null(e);
    assert_int_equal(e->size, 0);
    assert_int_equal(cg_tensor_rows(e), 0);
    assert_int_equal(cg_tensor_cols(e), 5);
    cg_tensor_free(e);
}

static void test_new_in_arena(void **state)
{
    (void)state;
    cg_arena *a = cg_arena_new();
    cg_tensor *t = cg_tensor_new_in(a, 2, (int[]){3, 5});
    assert_non_null(t);
    assert_true(t->flags & CG_TENSOR_IN_ARENA);
    assert_int_equal(t->size, 15);
    for (size_t i = 0; i < t->size; i++)
        assert_true(t->data[i] == 0);
    cg_tensor_free(t);                          /* a no-op for arena tensors */
    assert_true(cg_arena_stats(a).used >= 15 * sizeof(cg_float));
    cg_arena_free(a);

    cg_clear_error();
    assert_null(cg_tensor_new_in(NULL, 1, (int[]){3}));
    assert_int_equal(cg_errcode(), CG_ERR_ARG);
    assert_errmsg_contains("cg_tensor_new_in");
}

static void test_from_array_and_clone_are_copies(void **state)
{
    (void)state;
    cg_float v[] = {1, 2, 3, 4, 5, 6};
    cg_tensor *t = mat(2, 3, v);
    v[0] = 100;                                  /* the tensor holds a copy */
    assert_true(t->data[0] == 1);
    cg_tensor *c = cg_tensor_clone(t);
    assert_non_null(c);
    assert_true(cg_tensor_same_shape(c, t));
    assert_tensor_near(c, ((double[]){1, 2, 3, 4, 5, 6}), 6, 0);
    c->data[5] = -1;                             /* and so does the clone */
    assert_true(t->data[5] == 6);
    cg_tensor_free(c);
    cg_tensor_free(t);

    cg_clear_error();
    assert_null(cg_tensor_from_array(1, (int[]){2}, NULL));
    assert_int_equal(cg_errcode(), CG_ERR_ARG);
}

static void test_reshape_view_shares_data(void **state)
{
    (void)state;
    cg_tensor *t = mat(2, 3, (cg_float[]){1, 2, 3, 4, 5, 6});
    cg_tensor *v = cg_tensor_reshape(t, 2, (int[]){3, 2});
    assert_non_null(v);
    assert_int_equal(v->shape[0], 3);
    assert_int_equal(v->shape[1], 2);
    assert_ptr_equal(v->data, t->data);
    v->data[3] = 40;                             /* v[1, 1] is t[1, 0] */
    assert_true(t->data[3] == 40);
    cg_tensor_free(v);                           /* frees the header only */
    assert_true(t->data[3] == 40);

    cg_clear_error();
    assert_null(cg_tensor_reshape(t, 2, (int[]){4, 2}));
    assert_int_equal(cg_errcode(), CG_ERR_SHAPE);
    assert_errmsg_contains("[2, 3]");
    assert_errmsg_contains("6 elements");
    cg_tensor_free(t);
}

static void test_fill_and_copy(void **state)
{
    (void)state;
    cg_tensor *a = cg_tensor_new(2, (int[]){2, 2});
    cg_tensor *b = cg_tensor_new(1, (int[]){4});
    cg_tensor *c = cg_tensor_new(1, (int[]){3});
    cg_tensor_fill(a, (cg_float)2.5);
    assert_tensor_near(a, ((double[]){2.5, 2.5, 2.5, 2.5}), 4, 0);
    assert_int_equal(cg_tensor_copy(b, a), CG_OK);   /* same size, other shape */
    assert_tensor_near(b, ((double[]){2.5, 2.5, 2.5, 2.5}), 4, 0);

    cg_clear_error();
    assert_int_equal(cg_tensor_copy(c, a), CG_ERR_SHAPE);
    assert_errmsg_contains("dst is [3]");
    assert_errmsg_contains("src is [2, 2]");
    assert_int_equal(cg_tensor_copy(NULL, a), CG_ERR_ARG);
    cg_tensor_free(a);
    cg_tensor_free(b);
    cg_tensor_free(c);
}

static void test_print_nests_like_pytorch(void **state)
{
    (void)state;
    cg_tensor *m = mat(2, 2, (cg_float[]){1, 2, 3, 4});
    cg_tensor *v = vec(3, (cg_float[]){1.5, -0.5, 0});
    cg_tensor *s = cg_tensor_from_array(0, NULL, (cg_float[]){7});
    char *p;

    p = print_to_string(m);
    assert_string_equal(p, "tensor[2, 2] [[1, 2], [3, 4]]\n");
    free(p);
    p = print_to_string(v);
    assert_string_equal(p, "tensor[3] [1.5, -0.5, 0]\n");
    free(p);
    p = print_to_string(s);
    assert_string_equal(p, "tensor[] 7\n");
    free(p);
    p = print_to_string(NULL);
    assert_string_equal(p, "(null)\n");
    free(p);
    cg_tensor_free(m);
    cg_tensor_free(v);
    cg_tensor_free(s);
}

static void test_shape_str(void **state)
{
    (void)state;
    char buf[64], small[4];
    cg_tensor *t = cg_tensor_new(3, (int[]){2, 30, 4});
    cg_tensor *s = cg_tensor_new(0, NULL);

    assert_string_equal(cg_shape_str(t, buf, sizeof buf), "[2, 30, 4]");
    assert_string_equal(cg_shape_str(s, buf, sizeof buf), "[]");
    assert_string_equal(cg_shape_str(NULL, buf, sizeof buf), "(null)");
    /* Truncated, but always terminated inside the buffer. */
    cg_shape_str(t, small, sizeof small);
    assert_true(strlen(small) < sizeof small);
    assert_memory_equal(small, "[2,", 3);
    cg_tensor_free(t);
    cg_tensor_free(s);
}

static void test_bad_shapes_are_shape_errors(void **state)
{
    (void)state;
    cg_clear_error();
    assert_null(cg_tensor_new(2, (int[]){3, -1}));
    assert_int_equal(cg_errcode(), CG_ERR_SHAPE);
    assert_errmsg_contains("negative");
    assert_errmsg_contains("-1");

    cg_clear_error();
    assert_null(cg_tensor_new(5, (int[]){1, 2, 3, 4, 5}));
    assert_int_equal(cg_errcode(), CG_ERR_SHAPE);
    assert_errmsg_contains("not 5");

    cg_clear_error();
    assert_null(cg_tensor_new(-1, (int[]){1}));
    assert_int_equal(cg_errcode(), CG_ERR_SHAPE);

    cg_tensor t;
    assert_int_equal(cg_tensor_init(&t, NULL, 2, (int[]){-2, 2}), CG_ERR_SHAPE);
    assert_int_equal(cg_tensor_init(NULL, NULL, 1, (int[]){2}), CG_ERR_ARG);
}

/* ---- GEMM ---------------------------------------------------------------- */

/* A = [[1, 2, 3], [4, 5, 6]], B = [[7, 8], [9, 10], [11, 12]]:
 * A B = [[1*7 + 2*9 + 3*11, 1*8 + 2*10 + 3*12],
 *        [4*7 + 5*9 + 6*11, 4*8 + 5*10 + 6*12]] = [[58, 64], [139, 154]]. */
static const double AB[] = {58, 64, 139, 154};

static void test_gemm_all_transposes(void **state)
{
    (void)state;
    cg_tensor *a = mat(2, 3, (cg_float[]){1, 2, 3, 4, 5, 6});
    cg_tensor *at = mat(3, 2, (cg_float[]){1, 4, 2, 5, 3, 6});       /* A^T stored */
    cg_tensor *b = mat(3, 2, (cg_float[]){7, 8, 9, 10, 11, 12});
    cg_tensor *bt = mat(2, 3, (cg_float[]){7, 9, 11, 8, 10, 12});    /* B^T stored */
    cg_tensor *c = cg_tensor_new(2, (int[]){2, 2});

    assert_int_equal(cg_tensor_gemm(false, false, 1, a, b, 0, c), CG_OK);
    assert_tensor_near(c, AB, 4, 0);
    cg_tensor_fill(c, 99);                     /* beta = 0 ignores the old c */
    assert_int_equal(cg_tensor_gemm(true, false, 1, at, b, 0, c), CG_OK);
    assert_tensor_near(c, AB, 4, 0);
    cg_tensor_fill(c, 99);
    assert_int_equal(cg_tensor_gemm(false, true, 1, a, bt, 0, c), CG_OK);
    assert_tensor_near(c, AB, 4, 0);
    cg_tensor_fill(c, 99);
    assert_int_equal(cg_tensor_gemm(true, true, 1, at, bt, 0, c), CG_OK);
    assert_tensor_near(c, AB, 4, 0);

    /* alpha and beta: 2 A B - 1 * ones = [[115, 127], [277, 307]] */
    cg_tensor_fill(c, 1);
    assert_int_equal(cg_tensor_gemm(false, false, 2, a, b, -1, c), CG_OK);
    assert_tensor_near(c, ((double[]){115, 127, 277, 307}), 4, 0);

    /* B A: [3, 2] x [2, 3] -> [3, 3]; row 0 = [7*1 + 8*4, 7*2 + 8*5, 7*3 + 8*6] */
    cg_tensor *ba = cg_tensor_new(2, (int[]){3, 3});
    assert_int_equal(cg_tensor_gemm(false, false, 1, b, a, 0, ba), CG_OK);
    assert_tensor_near(ba, ((double[]){39, 54, 69, 49, 68, 87, 59, 82, 105}), 9, 0);

    cg_tensor_free(ba);
    cg_tensor_free(a);
    cg_tensor_free(at);
    cg_tensor_free(b);
    cg_tensor_free(bt);
    cg_tensor_free(c);
}

static void test_gemm_inner_dimension_zero_scales_c(void **state)
{
    (void)state;
    cg_tensor *a = cg_tensor_new(2, (int[]){2, 0});
    cg_tensor *b = cg_tensor_new(2, (int[]){0, 2});
    cg_tensor *c = mat(2, 2, (cg_float[]){1, 2, 3, 4});
    assert_int_equal(cg_tensor_gemm(false, false, 1, a, b, 3, c), CG_OK);
    assert_tensor_near(c, ((double[]){3, 6, 9, 12}), 4, 0);
    cg_tensor_free(a);
    cg_tensor_free(b);
    cg_tensor_free(c);
}

static void test_gemm_shape_mismatch_names_both_shapes(void **state)
{
    (void)state;
    cg_tensor *a = cg_tensor_new(2, (int[]){2, 3});
    cg_tensor *b = cg_tensor_new(2, (int[]){4, 5});
    cg_tensor *c = cg_tensor_new(2, (int[]){2, 5});
    cg_tensor *v = cg_tensor_new(1, (int[]){3});

    cg_clear_error();
    assert_int_equal(cg_tensor_gemm(false, false, 1, a, b, 0, c), CG_ERR_SHAPE);
    assert_errmsg_contains("cg_tensor_gemm");
    assert_errmsg_contains("[2, 3]");
    assert_errmsg_contains("[4, 5]");
    cg_clear_error();
    assert_int_equal(cg_tensor_gemm(false, false, 1, a, v, 0, c), CG_ERR_SHAPE);
    assert_errmsg_contains("matrices");
    cg_clear_error();
    assert_int_equal(cg_tensor_gemm(false, false, 1, c, c, 0, c), CG_ERR_ARG);
    assert_errmsg_contains("share");
    assert_int_equal(cg_tensor_gemm(false, false, 1, NULL, b, 0, c), CG_ERR_ARG);
    cg_tensor_free(a);
    cg_tensor_free(b);
    cg_tensor_free(c);
    cg_tensor_free(v);
}

/* ---- element-wise -------------------------------------------------------- */

static void test_elementwise(void **state)
{
    (void)state;
    cg_tensor *a = vec(3, (cg_float[]){1, 2, 3});
    cg_tensor *b = vec(3, (cg_float[]){4, 5, 6});
    cg_tensor *o = cg_tensor_new(1, (int[]){3});
    cg_tensor *w = cg_tensor_new(1, (int[]){4});

    assert_int_equal(cg_tensor_add(o, a, b), CG_OK);
    assert_tensor_near(o, ((double[]){5, 7, 9}), 3, 0);
    assert_int_equal(cg_tensor_sub(o, a, b), CG_OK);
    assert_tensor_near(o, ((double[]){-3, -3, -3}), 3, 0);
    assert_int_equal(cg_tensor_mul(o, a, b), CG_OK);
    assert_tensor_near(o, ((double[]){4, 10, 18}), 3, 0);
    assert_int_equal(cg_tensor_scale(o, a, (cg_float)2.5), CG_OK);
    assert_tensor_near(o, ((double[]){2.5, 5, 7.5}), 3, 0);
    assert_int_equal(cg_tensor_add(a, a, b), CG_OK);           /* out = a in place */
    assert_tensor_near(a, ((double[]){5, 7, 9}), 3, 0);
    assert_int_equal(cg_tensor_axpy(b, -2, a), CG_OK);          /* [4,5,6] - 2[5,7,9] */
    assert_tensor_near(b, ((double[]){-6, -9, -12}), 3, 0);

    cg_clear_error();
    assert_int_equal(cg_tensor_add(o, a, w), CG_ERR_SHAPE);
    assert_errmsg_contains("cg_tensor_add");
    assert_errmsg_contains("b is [4]");
    cg_clear_error();
    assert_int_equal(cg_tensor_axpy(w, 1, a), CG_ERR_SHAPE);
    assert_errmsg_contains("[4]");
    assert_errmsg_contains("[3]");
    assert_int_equal(cg_tensor_mul(o, NULL, b), CG_ERR_ARG);
    cg_tensor_free(a);
    cg_tensor_free(b);
    cg_tensor_free(o);
    cg_tensor_free(w);
}

static void test_add_row(void **state)
{
    (void)state;
    cg_tensor *x = mat(2, 3, (cg_float[]){1, 2, 3, 4, 5, 6});
    cg_tensor *bias = vec(3, (cg_float[]){10, 20, 30});
    cg_tensor *bad = vec(2, (cg_float[]){1, 1});

    assert_int_equal(cg_tensor_add_row(x, bias), CG_OK);
    assert_tensor_near(x, ((double[]){11, 22, 33, 14, 25, 36}), 6, 0);
    cg_clear_error();
    assert_int_equal(cg_tensor_add_row(x, bad), CG_ERR_SHAPE);
    assert_errmsg_contains("x is [2, 3]");
    assert_errmsg_contains("bias is [2]");
    cg_tensor_free(x);
    cg_tensor_free(bias);
    cg_tensor_free(bad);
}

/* ---- reductions ---------------------------------------------------------- */

/* x = [[1, 5, -2],
 *      [3, 0,  4]]: sum 11, mean 11/6, max 5 at flat index 1;
 * columns: sums [4, 5, 2], means [2, 2.5, 1], max [3, 5, 4] at rows [1, 0, 1];
 * rows: sums [4, 7], means [4/3, 7/3], max [5, 4] at columns [1, 2]. */
static const cg_float X[] = {1, 5, -2, 3, 0, 4};

static void test_reductions_over_all(void **state)
{
    (void)state;
    cg_tensor *x = mat(2, 3, X);
    cg_tensor *e = cg_tensor_new(1, (int[]){0});
    assert_near(cg_tensor_sum(x), 11, 0);
    assert_near(cg_tensor_mean(x), 11.0 / 6.0, CG_TEST_TOL);
    assert_near(cg_tensor_max(x), 5, 0);
    assert_int_equal(cg_tensor_argmax(x), 1);
    assert_near(cg_tensor_sum(e), 0, 0);
    assert_true(isnan((double)cg_tensor_mean(e)));
    cg_tensor_free(x);
    cg_tensor_free(e);
}

static void test_reductions_along_axes(void **state)
{
    (void)state;
    cg_tensor *x = mat(2, 3, X);
    cg_tensor *c = cg_tensor_new(1, (int[]){3});
    cg_tensor *r = cg_tensor_new(1, (int[]){2});
    size_t idx[3];

    assert_int_equal(cg_tensor_sum_axis(c, x, 0), CG_OK);
    assert_tensor_near(c, ((double[]){4, 5, 2}), 3, 0);
    assert_int_equal(cg_tensor_mean_axis(c, x, 0), CG_OK);
    assert_tensor_near(c, ((double[]){2, 2.5, 1}), 3, 0);
    assert_int_equal(cg_tensor_max_axis(c, x, 0), CG_OK);
    assert_tensor_near(c, ((double[]){3, 5, 4}), 3, 0);
    assert_int_equal(cg_tensor_argmax_axis(idx, x, 0), CG_OK);
    assert_int_equal(idx[0], 1);
    assert_int_equal(idx[1], 0);
    assert_int_equal(idx[2], 1);

    assert_int_equal(cg_tensor_sum_axis(r, x, 1), CG_OK);
    assert_tensor_near(r, ((double[]){4, 7}), 2, 0);
    assert_int_equal(cg_tensor_mean_axis(r, x, 1), CG_OK);
    assert_tensor_near(r, ((double[]){4.0 / 3.0, 7.0 / 3.0}), 2, CG_TEST_TOL);
    assert_int_equal(cg_tensor_max_axis(r, x, 1), CG_OK);
    assert_tensor_near(r, ((double[]){5, 4}), 2, 0);
    assert_int_equal(cg_tensor_argmax_axis(idx, x, 1), CG_OK);
    assert_int_equal(idx[0], 1);
    assert_int_equal(idx[1], 2);

    cg_clear_error();
    assert_int_equal(cg_tensor_sum_axis(r, x, 0), CG_ERR_SHAPE);
    assert_errmsg_contains("x is [2, 3]");
    assert_errmsg_contains("[2]");
    cg_clear_error();
    assert_int_equal(cg_tensor_sum_axis(c, x, 5), CG_ERR_ARG);
    assert_errmsg_contains("axis is 5");
    assert_int_equal(cg_tensor_max_axis(c, x, -1), CG_ERR_ARG);
    assert_int_equal(cg_tensor_argmax_axis(idx, c, 0), CG_ERR_SHAPE);
    cg_tensor_free(x);
    cg_tensor_free(c);
    cg_tensor_free(r);
}

/* The raw argmax that the trainer's accuracy uses: the first of equal
 * maxima, a NaN counts as the largest (it must not hide behind a finite
 * class), and the rows of cg_tensor_argmax_axis. */
static void test_kernel_argmax(void **state)
{
    (void)state;
    cg_tensor *x = mat(2, 3, X);
    size_t idx[2];

    assert_int_equal(cg_kernel_argmax((cg_float[]){1, 3, 3, 2}, 4), 1);
    assert_int_equal(cg_kernel_argmax((cg_float[]){-5, -7}, 2), 0);
    assert_int_equal(cg_kernel_argmax((cg_float[]){1, (cg_float)NAN, 9}, 3), 1);
    assert_int_equal(cg_kernel_argmax((cg_float[]){(cg_float)NAN, 9}, 2), 0);
    assert_int_equal(cg_kernel_argmax((cg_float[]){(cg_float)-INFINITY, (cg_float)-1e30}, 2), 1);
    assert_int_equal(cg_kernel_argmax(NULL, 0), 0);
    assert_int_equal(cg_tensor_argmax_axis(idx, x, 1), CG_OK);
    for (int r = 0; r < 2; r++)
        assert_int_equal(cg_kernel_argmax(x->data + 3 * r, 3), (int)idx[r]);
    cg_tensor_free(x);
}

/* ---- softmax ------------------------------------------------------------- */

static void test_softmax_is_stable(void **state)
{
    (void)state;
    /* Row 0: exp overflows without the max shift; softmax is [0.5, 0.5].
     * Row 1: [1, 2, 3] -> e^(i-3) / (e^-2 + e^-1 + 1)
     *        = [0.090030573170380, 0.244728471054798, 0.665240955774822]. */
    cg_tensor *x = mat(2, 2, (cg_float[]){1000, 1000, -1000, -1000});
    cg_tensor *y = cg_tensor_new(2, (int[]){2, 2});
    cg_tensor *x3 = mat(2, 3, (cg_float[]){1, 2, 3, -1000, 0, 1000});
    cg_tensor *y3 = cg_tensor_new(2, (int[]){2, 3});

    assert_int_equal(cg_tensor_softmax(y, x), CG_OK);
    assert_tensor_near(y, ((double[]){0.5, 0.5, 0.5, 0.5}), 4, CG_TEST_TOL);
    assert_int_equal(cg_tensor_softmax(y3, x3), CG_OK);
    for (size_t i = 0; i < y3->size; i++)
        assert_true(isfinite((double)y3->data[i]));
    /* Row [-1000, 0, 1000]: e^-2000 and e^-1000 are 0 next to 1. */
    assert_tensor_near(y3, ((double[]){0.090030573170380, 0.244728471054798,
                                       0.665240955774822, 0, 0, 1}), 6, CG_TEST_TOL);
    /* In place. */
    assert_int_equal(cg_tensor_softmax(x3, x3), CG_OK);
    assert_tensor_near(x3, ((double[]){0.090030573170380, 0.244728471054798,
                                       0.665240955774822, 0, 0, 1}), 6, CG_TEST_TOL);
    cg_tensor_free(x);
    cg_tensor_free(y);
    cg_tensor_free(x3);
    cg_tensor_free(y3);
}

static void test_log_softmax_matches_log_of_softmax(void **state)
{
    (void)state;
    /* log_softmax(x) = x - logsumexp(x). Row [-1000, 0, 1000]: logsumexp is
     * 1000 (+ log(1 + e^-1000 + e^-2000) = 0 in any precision), so the row is
     * [-2000, -1000, 0] exactly, where log(softmax) would give -inf twice. */
    cg_tensor *x = mat(2, 3, (cg_float[]){1, 2, 3, -1000, 0, 1000});
    cg_tensor *ls = cg_tensor_new(2, (int[]){2, 3});
    cg_tensor *s = cg_tensor_new(2, (int[]){2, 3});

    assert_int_equal(cg_tensor_log_softmax(ls, x), CG_OK);
    assert_int_equal(cg_tensor_softmax(s, x), CG_OK);
    for (size_t i = 0; i < 3; i++)        /* representable row: log(softmax) */
        assert_near(ls->data[i], log((double)s->data[i]), CG_TEST_TOL);
    assert_near(ls->data[0], 1 - 3 - log(exp(-2.0) + exp(-1.0) + 1), CG_TEST_TOL);
    assert_near(ls->data[3], -2000, 0);
    assert_near(ls->data[4], -1000, 0);
    assert_near(ls->data[5], 0, 0);
    assert_near(cg_kernel_logsumexp((cg_float[]){1000, 1000}, 2), 1000 + log(2.0),
                CG_TEST_TOL * 1000);
    cg_tensor_free(x);
    cg_tensor_free(ls);
    cg_tensor_free(s);
}

static void test_softmax_rejects_bad_shapes(void **state)
{
    (void)state;
    cg_tensor *x = cg_tensor_new(2, (int[]){2, 3});
    cg_tensor *y = cg_tensor_new(2, (int[]){3, 2});
    cg_tensor *x3 = cg_tensor_new(3, (int[]){2, 2, 2});

    cg_clear_error();
    assert_int_equal(cg_tensor_softmax(y, x), CG_ERR_SHAPE);
    assert_errmsg_contains("out is [3, 2]");
    assert_errmsg_contains("x is [2, 3]");
    assert_int_equal(cg_tensor_log_softmax(x3, x3), CG_ERR_SHAPE);
    cg_tensor_free(x);
    cg_tensor_free(y);
    cg_tensor_free(x3);
}

/* ---- norms --------------------------------------------------------------- */

static void test_norms(void **state)
{
    (void)state;
    /* [-1, 2, 3, 4, -5]: L1 = 15, L2 = sqrt(1+4+9+16+25) = sqrt(55), max 5;
     * Frobenius of [[1, 2], [3, 4]] = sqrt(30). */
    cg_tensor *v = vec(5, (cg_float[]){-1, 2, 3, 4, -5});
    cg_tensor *m = mat(2, 2, (cg_float[]){1, 2, 3, 4});
    assert_near(cg_tensor_norm_l1(v), 15, 0);
    assert_near(cg_tensor_norm_l2(v), 7.416198487095663, CG_TEST_TOL);
    assert_near(cg_tensor_norm_max(v), 5, 0);
    assert_near(cg_tensor_norm_frobenius(m), 5.477225575051661, CG_TEST_TOL);
    cg_tensor_free(v);
    cg_tensor_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_is_zero_filled_with_shape),
        cmocka_unit_test(test_new_in_arena),
        cmocka_unit_test(test_from_array_and_clone_are_copies),
        cmocka_unit_test(test_reshape_view_shares_data),
        cmocka_unit_test(test_fill_and_copy),
        cmocka_unit_test(test_print_nests_like_pytorch),
        cmocka_unit_test(test_shape_str),
        cmocka_unit_test(test_bad_shapes_are_shape_errors),
        cmocka_unit_test(test_gemm_all_transposes),
        cmocka_unit_test(test_gemm_inner_dimension_zero_scales_c),
        cmocka_unit_test(test_gemm_shape_mismatch_names_both_shapes),
        cmocka_unit_test(test_elementwise),
        cmocka_unit_test(test_add_row),
        cmocka_unit_test(test_reductions_over_all),
        cmocka_unit_test(test_reductions_along_axes),
        cmocka_unit_test(test_kernel_argmax),
        cmocka_unit_test(test_softmax_is_stable),
        cmocka_unit_test(test_log_softmax_matches_log_of_softmax),
        cmocka_unit_test(test_softmax_rejects_bad_shapes),
        cmocka_unit_test(test_norms),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
