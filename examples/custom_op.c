/*
 * A differentiable op defined outside the library: softplus,
 *     y = log(1 + exp(x)),   dy/dx = 1 / (1 + exp(-x)) = sigmoid(x)
 * (torch.nn.functional.softplus with beta = 1), then checked against finite
 * differences with cg_gradcheck. Exits 0 only if the check passed.
 *
 *     make examples && build/examples/custom_op
 */
#include <math.h>
#include <stdio.h>

#include <cgrad.h>

/* Backward: read the output's gradient and the input's data, add into the
 * input's gradient (+=, never =), only when it has one. */
static void softplus_backward(cg_tensor *out)
{
    cg_tensor *x = cg_op_input(out, 0);

    if (!x->grad)
        return;
    for (size_t i = 0; i < out->size; i++)
        x->grad[i] += out->grad[i] / (1 + (cg_float)exp(-(double)x->data[i]));
}

/* Forward: x: any shape -> y: same shape. Written as max(x, 0) +
 * log(1 + exp(-|x|)), which never overflows. A NULL input (an earlier op
 * failed) gives NULL, keeping that op's error message. */
static cg_tensor *softplus(cg_graph *g, cg_tensor *x)
{
    cg_tensor *y;

    if (!x)
        return NULL;
    y = cg_op_new(g, "softplus", x->ndim, x->shape, &x, 1, softplus_backward, 0);
    if (!y)
        return NULL;
    for (size_t i = 0; i < y->size; i++) {
        double v = (double)x->data[i];
        y->data[i] = (cg_float)((v > 0 ? v : 0) + log1p(exp(-fabs(v))));
    }
    return y;
}

/* What cg_gradcheck differentiates: softplus of the first input. */
static cg_tensor *check_fn(cg_graph *g, cg_tensor *const *inputs, void *ctx)
{
    (void)ctx;
    return softplus(g, inputs[0]);
}

int main(void)
{
    cg_tensor *x = cg_param_new(2, (int[]){3, 4});
    struct cg_gradcheck_result r;
    cg_rng rng;
    int ok;

    if (!x) {
        fprintf(stderr, "custom_op: %s\n", cg_errmsg());
        return 1;
    }
    cg_rng_seed(&rng, 1);
    cg_tensor_rand_uniform(x, &rng, -3, 3);
    if (cg_gradcheck(check_fn, &x, 1, NULL, NULL, &r) != CG_OK) {
        fprintf(stderr, "custom_op: %s\n", cg_errmsg());
        cg_tensor_free(x);
        return 1;
    }
    printf("softplus gradcheck: %s (%zu elements, max abs error %.3g, max rel error %.3g;\n"
           "  worst: x[%zu] analytic %.8g, numeric %.8g)\n",
           r.passed ? "passed" : r.vacuous ? "VACUOUS" : "FAILED", r.checked,
           r.max_abs_err, r.max_rel_err, r.worst_index, r.worst_analytic, r.worst_numeric);
    ok = r.passed;
    cg_tensor_free(x);
    return ok ? 0 : 1;
}
