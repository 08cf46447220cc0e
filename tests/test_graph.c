/* Tests of the graph machinery (autograd/graph.c): gradient accumulation,
 * reachability, backward's errors, arena reuse, NULL propagation, grad
 * mode, custom ops, the graph as Graphviz DOT. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cg_test.h"

static cg_tensor *param_from(int ndim, const int *shape, const cg_float *v)
{
    cg_tensor *t = cg_param_new(ndim, shape);
    assert_non_null(t);
    memcpy(t->data, v, t->size * sizeof(cg_float));
    return t;
}

static void test_tensor_used_twice_gets_summed_gradient(void **state)
{
    (void)state;
    cg_graph *g = cg_graph_new();
    cg_tensor *w = param_from(1, (int[]){2}, (cg_float[]){1, -2});
    /* L = sum(2w + 3w) = 5 sum(w): dL/dw = 5 for each element. */
    cg_tensor *loss = cg_sum(g, cg_add(g, cg_scale(g, w, 2), cg_scale(g, w, 3)));
    assert_non_null(loss);
    assert_near(loss->data[0], -5, CG_TEST_TOL);
    assert_int_equal(cg_backward(g, loss), CG_OK);
    assert_near(w->grad[0], 5, CG_TEST_TOL);
    assert_near(w->grad[1], 5, CG_TEST_TOL);
    /* The same tensor as both inputs of one op: L = sum(w + w), dL/dw = 2. */
    cg_graph_reset(g);
    cg_zero_grad(w);
    assert_int_equal(cg_backward(g, cg_sum(g, cg_add(g, w, w))), CG_OK);
    assert_near(w->grad[0], 2, CG_TEST_TOL);
    cg_tensor_free(w);
    cg_graph_free(g);
}

static void test_diamond_graph(void **state)
{
    (void)state;
    cg_graph *g = cg_graph_new();
    cg_tensor *x = param_from(1, (int[]){2}, (cg_float[]){1, 2});
    /* a = 2x; b = 3a; c = a * a; L = sum(b + c) = sum(6x + 4x^2);
     * dL/dx = 6 + 8x = {14, 22}; L = (6 + 4) + (12 + 16) = 38. */
    cg_tensor *a = cg_scale(g, x, 2);
    cg_tensor *b = cg_scale(g, a, 3);
    cg_tensor *c = cg_mul(g, a, a);
    cg_tensor *loss = cg_sum(g, cg_add(g, b, c));
    assert_non_null(loss);
    assert_near(loss->data[0], 38, CG_TEST_TOL);
    assert_int_equal(cg_backward(g, loss), CG_OK);
    assert_near(x->grad[0], 14, CG_TEST_TOL);
    assert_near(x->grad[1], 22, CG_TEST_TOL);
    /* The intermediate a got its own arena gradient: dL/da = 3 + 2a = {7, 11}. */
    assert_non_null(a->grad);
    assert_near(a->grad[0], 7, CG_TEST_TOL);
    assert_near(a->grad[1], 11, CG_TEST_TOL);
    cg_tensor_free(x);
    cg_graph_free(g);
}

static void test_backward_errors(void **state)
{
    (void)state;
    cg_graph *g = cg_graph_new();
    cg_tensor *x = param_from(1, (int[]){3}, (cg_float[]){1, 2, 3});
    cg_tensor *y = cg_scale(g, x, 2);

    assert_int_equal(cg_backward(g, y), CG_ERR_SHAPE);
    assert_errmsg_contains("cg_backward: root is [3]");
    assert_errmsg_contains("cg_backward_seed");
    /* With a seed: dx = 2 * seed. */
    cg_tensor *seed = cg_tensor_from_array(1, (int[]){3}, (cg_float[]){1, 2, 3});
    assert_int_equal(cg_backward_seed(g, y, seed), CG_OK);
    assert_near(x->grad[2], 6, CG_TEST_TOL);
    /* Twice without a reset. */
    assert_int_equal(cg_backward_seed(g, y, seed), CG_ERR_STATE);
    assert_errmsg_contains("cg_graph_reset");
    assert_near(x->grad[2], 6, CG_TEST_TOL);
    /* After a reset the graph works again. */
    cg_graph_reset(g);
    assert_int_equal(cg_backward(g, cg_sum(g, x)), CG_OK);
    assert_near(x->grad[0], 2 + 1, CG_TEST_TOL);
    /* A seed of the wrong size. */
    cg_graph_reset(g);
    cg_tensor *bad = cg_tensor_new(1, (int[]){2});
    assert_int_equal(cg_backward_seed(g, cg_scale(g, x, 1), bad), CG_ERR_SHAPE);
    assert_errmsg_contains("root is [3], seed is [2]");
    /* A root that does not depend on any parameter. */
    cg_graph_reset(g);
    cg_tensor *in = cg_graph_tensor(g, 1, (int[]){3});
    assert_int_equal(cg_backward(g, cg_sum(g, in)), CG_ERR_ARG);
    assert_errmsg_contains("does not require a gradient");
    cg_tensor_free(bad);
    cg_tensor_free(seed);
    cg_tensor_free(x);
    cg_graph_free(g);
}

/* A 4-8-3 MLP trained by plain SGD for 100 steps on one graph that is reset
 * every step: after the first step the arena never grows again. */
static void test_reset_reuses_arena_for_100_steps(void **state)
{
    (void)state;
    cg_rng rng;
    cg_graph *g = cg_graph_new();
    cg_tensor *w1 = cg_param_new(2, (int[]){8, 4}), *b1 = cg_param_new(1, (int[]){8});
    cg_tensor *w2 = cg_param_new(2, (int[]){3, 8}), *b2 = cg_param_new(1, (int[]){3});
    cg_tensor *params[] = {w1, b1, w2, b2};
    cg_float xs[16 * 4];
    int labels[16];
    struct cg_arena_stats first = {0, 0, 0, 0};
    double loss0 = 0, loss_last = 0;

    cg_rng_seed(&rng, 7);
    cg_tensor_rand_uniform(w1, &rng, -0.5, 0.5);
    cg_tensor_rand_uniform(w2, &rng, -0.5, 0.5);
    for (int i = 0; i < 16; i++) {
        labels[i] = i % 3;
        for (int j = 0; j < 4; j++)
            xs[i * 4 + j] = (cg_float)(j == labels[i] ? 1.0 : 0.1 * (double)j);
    }
    for (int step = 0; step < 100; step++) {
        cg_graph_reset(g);
        cg_tensor *x = cg_graph_wrap(g, xs, 2, (int[]){16, 4});
        cg_tensor *h = cg_relu(g, cg_linear(g, x, w1, b1));
        cg_tensor *loss = cg_cross_entropy(g, cg_linear(g, h, w2, b2), labels);
        assert_non_null(loss);
        assert_int_equal(cg_backward(g, loss), CG_OK);
        for (int p = 0; p < 4; p++) {
            for (size_t i = 0; i < params[p]->size; i++)
                params[p]->data[i] -= (cg_float)0.5 * params[p]->grad[i];
            cg_zero_grad(params[p]);
        }
        if (step == 0) {
            first = cg_graph_stats(g);
            loss0 = (double)loss->data[0];
        } else {
            struct cg_arena_stats s = cg_graph_stats(g);
            assert_int_equal(s.sys_allocs, first.sys_allocs);
            assert_int_equal(s.high_water, first.high_water);
        }
        loss_last = (double)loss->data[0];
    }
    assert_true(first.sys_allocs >= 1);
    /* Training on a separable toy set must lower the loss. */
    assert_true(loss_last < 0.5 * loss0);
    for (int p = 0; p < 4; p++)
        cg_tensor_free(params[p]);
    cg_graph_free(g);
}

static void test_null_propagates_and_first_error_is_kept(void **state)
{
    (void)state;
    cg_graph *g = cg_graph_new();
    cg_tensor *x = cg_graph_tensor(g, 2, (int[]){4, 3});
    cg_tensor *w = cg_param_new(2, (int[]){5, 2});
    cg_tensor *w2 = cg_param_new(2, (int[]){2, 5});
    int labels[4] = {0, 1, 0, 1};

    cg_clear_error();
    cg_tensor *h = cg_linear(g, x, w, NULL);      /* [4, 3] against [5, 2]: fails */
    assert_null(h);
    assert_int_equal(cg_errcode(), CG_ERR_SHAPE);
    assert_errmsg_contains("cg_linear: x is [4, 3], w is [5, 2]");
    h = cg_relu(g, h);
    h = cg_linear(g, h, w2, NULL);
    h = cg_dropout(g, h, (cg_float)0.5, NULL);
    cg_tensor *loss = cg_cross_entropy(g, h, labels);
    assert_null(loss);
    assert_errmsg_contains("cg_linear: x is [4, 3], w is [5, 2]");
    assert_int_equal(cg_backward(g, loss), CG_ERR_SHAPE);
    assert_errmsg_contains("cg_linear: x is [4, 3], w is [5, 2]");
    cg_tensor_free(w);
    cg_tensor_free(w2);
    cg_graph_free(g);
}

static void test_shape_errors_name_the_op(void **state)
{
    (void)state;
    cg_graph *g = cg_graph_new();
    cg_tensor *a = cg_graph_tensor(g, 2, (int[]){2, 3});
    cg_tensor *b = cg_graph_tensor(g, 2, (int[]){4, 5});

    assert_null(cg_matmul(g, a, b));
    assert_int_equal(cg_errcode(), CG_ERR_SHAPE);
    assert_errmsg_contains("cg_matmul: a is [2, 3], b is [4, 5]");
    assert_null(cg_add(g, a, b));
    assert_errmsg_contains("cg_add: a is [2, 3], b is [4, 5]");
    assert_null(cg_reshape(g, a, 1, (int[]){5}));
    assert_errmsg_contains("cg_reshape: x is [2, 3]");
    assert_null(cg_cross_entropy(g, a, (int[]){0, 3}));
    assert_int_equal(cg_errcode(), CG_ERR_ARG);
    assert_errmsg_contains("labels[1] is 3, must be in [0, 3)");
    assert_null(cg_dropout(g, a, (cg_float)1.0, NULL));
    assert_int_equal(cg_errcode(), CG_ERR_ARG);
    assert_errmsg_contains("cg_dropout: p is 1");
    cg_graph_free(g);
}

static void test_grad_disabled_records_nothing(void **state)
{
    (void)state;
    cg_graph *g = cg_graph_new();
    cg_tensor *w = param_from(1, (int[]){2}, (cg_float[]){1, 2});

    assert_true(cg_graph_grad_enabled(g));
    assert_true(cg_graph_training(g));
    cg_graph_set_grad(g, false);
    assert_false(cg_graph_grad_enabled(g));
    cg_tensor *y = cg_sigmoid(g, cg_scale(g, w, 2));
    assert_non_null(y);
    assert_false(cg_requires_grad(y));
    assert_null(cg_op_name(y));
    assert_int_equal(cg_backward(g, cg_sum(g, y)), CG_ERR_ARG);
    cg_graph_set_grad(g, true);
    cg_graph_reset(g);
    y = cg_sigmoid(g, cg_scale(g, w, 2));
    assert_true(cg_requires_grad(y));
    assert_string_equal(cg_op_name(y), "sigmoid");
    assert_true(cg_requires_grad(w));
    assert_null(cg_op_name(w));
    cg_tensor_free(w);
    cg_graph_free(g);
}

static void test_arena_leaf_gets_input_gradient(void **state)
{
    (void)state;
    cg_graph *g = cg_graph_new();
    cg_tensor *x = cg_graph_tensor(g, 1, (int[]){2});
    x->data[0] = 3;
    x->data[1] = -1;
    x->flags |= CG_TENSOR_REQUIRES_GRAD;
    /* L = sum(x * x): dL/dx = 2x = {6, -2}. */
    assert_int_equal(cg_backward(g, cg_sum(g, cg_mul(g, x, x))), CG_OK);
    assert_non_null(x->grad);
    assert_near(x->grad[0], 6, CG_TEST_TOL);
    assert_near(x->grad[1], -2, CG_TEST_TOL);
    cg_graph_free(g);
}

/* A custom op: y = c * x^3 with c saved in the context; dy/dx = 3 c x^2. */
static void cube_backward(cg_tensor *out)
{
    cg_tensor *x = cg_op_input(out, 0);
    cg_float c = *(cg_float *)cg_op_ctx(out);
    if (!x->grad)
        return;
    for (size_t i = 0; i < out->size; i++)
        x->grad[i] += out->grad[i] * 3 * c * x->data[i] * x->data[i];
}

static cg_tensor *cube(cg_graph *g, cg_tensor *x, cg_float c)
{
    if (!x)
        return NULL;
    cg_tensor *y = cg_op_new(g, "cube", x->ndim, x->shape, &x, 1, cube_backward, sizeof c);
    if (!y)
        return NULL;
    *(cg_float *)cg_op_ctx(y) = c;
    for (size_t i = 0; i < y->size; i++)
        y->data[i] = c * x->data[i] * x->data[i] * x->data[i];
    return y;
}

static void test_custom_op(void **state)
{
    (void)state;
    cg_graph *g = cg_graph_new();
    cg_tensor *x = param_from(1, (int[]){2}, (cg_float[]){2, -1});
    /* y = 0.5 x^3 = {4, -0.5}; L = sum(y) = 3.5; dL/dx = 1.5 x^2 = {6, 1.5}. */
    cg_tensor *y = cube(g, x, (cg_float)0.5);
    assert_non_null(y);
    assert_string_equal(cg_op_name(y), "cube");
    assert_ptr_equal(cg_op_input(y, 0), x);
    assert_null(cg_op_input(y, 1));
    cg_tensor *loss = cg_sum(g, y);
    assert_near(loss->data[0], 3.5, CG_TEST_TOL);
    assert_int_equal(cg_backward(g, loss), CG_OK);
    assert_near(x->grad[0], 6, CG_TEST_TOL);
    assert_near(x->grad[1], 1.5, CG_TEST_TOL);
    /* Bad arguments. */
    assert_null(cg_op_new(g, "bad", 1, (int[]){2}, &x, CG_MAX_INPUTS + 1, cube_backward, 0));
    assert_int_equal(cg_errcode(), CG_ERR_ARG);
    assert_errmsg_contains("cg_op_new: bad");
    cg_tensor_free(x);
    cg_graph_free(g);
}

/* Two graphs on two threads, each with its own headers over the same
 * weights (shared data, separate grads), as the data-parallel trainer will
 * run them: each gets the gradient a single thread computes for its slice. */
struct slice_job {
    const cg_float *w_data;  /* [3, 4] shared */
    const cg_float *x;       /* [2, 4] this thread's slice */
    const int      *labels;  /* [2] */
    cg_float        grad[12];
    cg_status       st;
};

static void *run_slice(void *arg)
{
    struct slice_job *j = arg;
    cg_tensor w;
    cg_graph *g = cg_graph_new();

    cg_tensor_init(&w, (cg_float *)(uintptr_t)j->w_data, 2, (int[]){3, 4});
    w.grad = j->grad;
    w.flags = CG_TENSOR_REQUIRES_GRAD;
    memset(j->grad, 0, sizeof j->grad);
    for (int rep = 0; rep < 200 && g; rep++) {
        cg_graph_reset(g);
        memset(j->grad, 0, sizeof j->grad);
        cg_tensor *x = cg_graph_wrap(g, (cg_float *)(uintptr_t)j->x, 2, (int[]){2, 4});
        j->st = cg_backward(g, cg_cross_entropy(g, cg_tanh(g, cg_linear(g, x, &w, NULL)),
                                                j->labels));
    }
    cg_graph_free(g);
    return NULL;
}

static void test_graphs_on_two_threads(void **state)
{
    (void)state;
    cg_float w[12], x[16];
    int labels[4] = {0, 2, 1, 2};
    struct slice_job jobs[2], ref[2];
    pthread_t th[2];
    cg_rng rng;

    cg_rng_seed(&rng, 3);
    for (int i = 0; i < 12; i++)
        w[i] = (cg_float)(cg_rng_uniform(&rng) - 0.5);
    for (int i = 0; i < 16; i++)
        x[i] = (cg_float)cg_rng_uniform(&rng);
    for (int t = 0; t < 2; t++) {
        jobs[t] = (struct slice_job){w, x + 8 * t, labels + 2 * t, {0}, CG_OK};
        ref[t] = jobs[t];
        run_slice(&ref[t]); /* one at a time first */
    }
    for (int t = 0; t < 2; t++)
        assert_int_equal(pthread_create(&th[t], NULL, run_slice, &jobs[t]), 0);
    for (int t = 0; t < 2; t++)
        assert_int_equal(pthread_join(th[t], NULL), 0);
    for (int t = 0; t < 2; t++) {
        assert_int_equal(jobs[t].st, CG_OK);
        assert_memory_equal(jobs[t].grad, ref[t].grad, sizeof ref[t].grad);
    }
    /* The two slices differ, so the two gradients differ. */
    assert_memory_not_equal(jobs[0].grad, jobs[1].grad, sizeof jobs[0].grad);
}

/* ---- cg_graph_dot ----------------------------------------------------------- */

/* The DOT of loss = mean(relu(x @ w^T + b) * w2) with a node made after the
 * loss that the loss does not depend on. */
static void dot_of_small_net(char **buf, size_t *len)
{
    cg_graph *g = cg_graph_new();
    cg_tensor *w = cg_param_new(2, (int[]){3, 2}), *b = cg_param_new(1, (int[]){3});
    cg_tensor *x = cg_graph_tensor(g, 2, (int[]){4, 2});
    cg_tensor *h = cg_relu(g, cg_linear(g, x, w, b));
    cg_tensor *loss = cg_mean(g, cg_mul(g, h, h));
    struct cg_dot_name names[] = {{w, "w"}, {b, "b \"bias\""}};
    FILE *f = open_memstream(buf, len);

    assert_non_null(cg_tanh(g, h)); /* not on the loss's path */
    assert_non_null(f);
    assert_int_equal(cg_graph_dot(g, loss, names, 2, f), CG_OK);
    fclose(f);
    /* the picture leaves the graph as it was: backward still runs once */
    assert_int_equal(cg_backward(g, loss), CG_OK);
    cg_graph_free(g);
    cg_tensor_free(w);
    cg_tensor_free(b);
}

static size_t count_of(const char *s, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(s, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

static void test_graph_dot_draws_the_loss_path(void **state)
{
    (void)state;
    size_t len = 0;
    char *dot = NULL;
    dot_of_small_net(&dot, &len);
    assert_non_null(strstr(dot, "digraph cgrad {"));
    assert_non_null(strstr(dot, "label=\"w\\n[3, 2]\\nneeds grad\""));
    assert_non_null(strstr(dot, "b \\\"bias\\\"")); /* quotes escaped */
    assert_non_null(strstr(dot, "input\\n[4, 2]\\nno grad"));
    assert_non_null(strstr(dot, "mean\\n[]\\nloss (root)"));
    assert_null(strstr(dot, "tanh"));        /* off the loss's path */
    assert_int_equal(count_of(dot, " -> "), 3 + 1 + 2 + 1); /* linear, relu, mul(h, h), mean */
    assert_int_equal(count_of(dot, "[label=\" [4, 3]\"]"), 1 + 2 + 1);
    assert_int_equal(count_of(dot, "style=dashed"), 2); /* x and its edge */

    /* Graphviz reads it (scripts/deps.sh installs graphviz for make test) */
    char path[] = "/tmp/cgrad_dot_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, dot, len), (ssize_t)len);
    close(fd);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "dot -Tsvg %s -o /dev/null", path);
    int rc = system(cmd);
    remove(path);
    if (rc != 0)
        fail_msg("dot -Tsvg rejected the picture (or Graphviz is missing): status %d", rc);
    free(dot);
}

static void test_graph_dot_errors(void **state)
{
    (void)state;
    cg_graph *g = cg_graph_new();
    cg_tensor *w = cg_param_new(1, (int[]){2});
    assert_int_equal(cg_graph_dot(NULL, NULL, NULL, 0, stdout), CG_ERR_ARG);
    assert_int_equal(cg_graph_dot(g, NULL, NULL, 0, NULL), CG_ERR_ARG);
    assert_int_equal(cg_graph_dot(g, w, NULL, 0, stdout), CG_ERR_ARG);
    assert_errmsg_contains("the root is a leaf");
    cg_graph_free(g);
    cg_tensor_free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tensor_used_twice_gets_summed_gradient),
        cmocka_unit_test(test_diamond_graph),
        cmocka_unit_test(test_backward_errors),
        cmocka_unit_test(test_reset_reuses_arena_for_100_steps),
        cmocka_unit_test(test_null_propagates_and_first_error_is_kept),
        cmocka_unit_test(test_shape_errors_name_the_op),
        cmocka_unit_test(test_grad_disabled_records_nothing),
        cmocka_unit_test(test_arena_leaf_gets_input_gradient),
        cmocka_unit_test(test_custom_op),
        cmocka_unit_test(test_graphs_on_two_threads),
        cmocka_unit_test(test_graph_dot_draws_the_loss_path),
        cmocka_unit_test(test_graph_dot_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
