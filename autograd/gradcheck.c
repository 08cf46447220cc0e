/*
 * Gradient checking: analytic gradients from one backward pass against
 * central finite differences, element by element.
 *
 * The output y of f is reduced to the scalar s = sum_j w_j y_j with fixed
 * random weights w_j in +-[0.5, 1] (so every output element matters and
 * none cancels by symmetry); backward is seeded with w. For each input
 * element x_k the numeric derivative is (s(x_k + e) - s(x_k - e)) / (2e),
 * with 2e the step actually taken after rounding.
 *
 * Kinks: near a point where the slope of s jumps by D (ReLU at 0), the
 * central difference is off by |s(x+e) + s(x-e) - 2 s(x)| / (2e) exactly in
 * the piecewise-linear model, while for a smooth s that second difference is
 * only about e^2 s''. An element that fails the tolerance but whose error
 * that second difference explains is counted as skipped, not compared. The
 * suite and the tests keep inputs away from kinks, and expect skipped = 0.
 */
#include <string.h>

#include "internal.h"

#define CG__GRADCHECK_MAX_INPUTS 64

struct cg_gradcheck_options cg_gradcheck_defaults(void)
{
#ifdef CG_DOUBLE
    /* Truncation error ~ e^2 s''' = 1e-12, rounding ~ 1e-16 |s| / e = 1e-10. */
    struct cg_gradcheck_options o = {1e-6, 1e-8, 1e-6, 42};
#else
    /* float: rounding ~ 6e-8 |s| / e = 6e-5 dominates; truncation ~ 1e-6. */
    struct cg_gradcheck_options o = {1e-3, 1e-3, 1e-2, 42};
#endif
    return o;
}

/* s = sum_j w_j y_j of a fresh graph built by f, in double. */
static cg_status evaluate(cg_gradcheck_fn f, cg_graph *g, cg_tensor *const *inputs,
                          void *ctx, const cg_tensor *w, double *s)
{
    cg_tensor *y;
    double acc = 0;

    cg_graph_reset(g);
    y = f(g, inputs, ctx);
    if (!y)
        return cg_errcode() != CG_OK ? cg_errcode()
                                     : cg__fail(CG_ERR_ARG, "cg_gradcheck: f returned NULL");
    if (y->size != w->size)
        return cg__fail(CG_ERR_STATE, "cg_gradcheck: f gave %zu elements, then %zu",
                        w->size, y->size);
    for (size_t j = 0; j < y->size; j++)
        acc += (double)w->data[j] * (double)y->data[j];
    *s = acc;
    return CG_OK;
}

static cg_status check_args(cg_gradcheck_fn f, cg_tensor *const *inputs, int n,
                            const struct cg_gradcheck_result *result)
{
    if (!f || !inputs || !result)
        return cg__fail(CG_ERR_ARG, "cg_gradcheck: %s is NULL",
                        !f ? "f" : !inputs ? "inputs" : "result");
    if (n < 1 || n > CG__GRADCHECK_MAX_INPUTS)
        return cg__fail(CG_ERR_ARG, "cg_gradcheck: %d inputs, must be 1 to %d", n,
                        CG__GRADCHECK_MAX_INPUTS);
    for (int i = 0; i < n; i++)
        if (!inputs[i] || !cg_requires_grad(inputs[i]) || !inputs[i]->grad)
            return cg__fail(CG_ERR_ARG, "cg_gradcheck: input %d %s", i,
                            !inputs[i] ? "is NULL" : "has no gradient (use cg_param_new)");
    return CG_OK;
}

/* Everything one comparison needs, to keep the loop below short. */
struct checker {
    struct cg_gradcheck_options o;
    struct cg_gradcheck_result *r;
    double s0;          /* s at the unperturbed inputs */
    double worst_ratio; /* error / tolerance of the worst element */
    double max_mag;     /* largest |analytic| or |numeric| compared */
    bool   failed;
};

static void compare(struct checker *c, int input, size_t k, double a, double n,
                    double fp, double fm, double h)
{
    double err = fabs(a - n), tol = c->o.atol + c->o.rtol * fabs(n);
    double floor = c->o.rtol > 0 ? c->o.atol / c->o.rtol : 0;
    double den = fabs(n) + floor, rel, ratio;

    if (err > tol && err <= 1.5 * fabs(fp + fm - 2 * c->s0) / h + tol) {
        c->r->skipped++; /* a kink within the step explains the difference */
        return;
    }
    c->r->checked++;
    rel = den > 0 ? err / den : (err > 0 ? (double)INFINITY : 0);
    ratio = tol > 0 ? err / tol : (err > 0 ? (double)INFINITY : 0);
    if (err > c->r->max_abs_err)
        c->r->max_abs_err = err;
    if (rel > c->r->max_rel_err)
        c->r->max_rel_err = rel;
    if (fabs(a) > c->max_mag)
        c->max_mag = fabs(a);
    if (fabs(n) > c->max_mag)
        c->max_mag = fabs(n);
    if (err > tol)
        c->failed = true;
    if (c->r->worst_input < 0 || ratio > c->worst_ratio) {
        c->worst_ratio = ratio;
        c->r->worst_input = input;
        c->r->worst_index = k;
        c->r->worst_analytic = a;
        c->r->worst_numeric = n;
    }
}

/* Perturb every element of every input in turn, restoring it exactly. */
static cg_status numeric_pass(struct checker *c, cg_gradcheck_fn f, cg_graph *g,
                              cg_tensor *const *inputs, int n_inputs, void *ctx,
                              const cg_tensor *w)
{
    for (int i = 0; i < n_inputs; i++) {
        cg_tensor *x = inputs[i];
        for (size_t k = 0; k < x->size; k++) {
            cg_float v = x->data[k];
            cg_float xp = v + (cg_float)c->o.eps, xm = v - (cg_float)c->o.eps;
            double fp = 0, fm = 0;
            cg_status st;
            x->data[k] = xp;
            st = evaluate(f, g, inputs, ctx, w, &fp);
            x->data[k] = xm;
            if (st == CG_OK)
                st = evaluate(f, g, inputs, ctx, w, &fm);
            x->data[k] = v;
            if (st != CG_OK)
                return st;
            double h = (double)xp - (double)xm;
            compare(c, i, k, (double)x->grad[k], (fp - fm) / h, fp, fm, h);
        }
    }
    return CG_OK;
}

/* The weights w: y's shape, values +-[0.5, 1]. */
static cg_tensor *output_weights(const cg_tensor *y, uint64_t seed)
{
    cg_tensor *w = cg_tensor_new(y->ndim, y->shape);
    cg_rng rng;

    if (!w)
        return NULL;
    cg_rng_seed(&rng, seed);
    for (size_t j = 0; j < w->size; j++) {
        double u = cg_rng_uniform(&rng);
        w->data[j] = (cg_float)(u < 0.5 ? -(0.5 + u) : u);
    }
    return w;
}

cg_status cg_gradcheck(cg_gradcheck_fn f, cg_tensor *const *inputs, int n_inputs,
                       void *ctx, const struct cg_gradcheck_options *opts,
                       struct cg_gradcheck_result *result)
{
    struct checker c;
    cg_graph *g = NULL;
    cg_tensor *y, *w = NULL;
    cg_status st = check_args(f, inputs, n_inputs, result);

    if (st != CG_OK)
        return st;
    memset(&c, 0, sizeof c);
    c.o = opts ? *opts : cg_gradcheck_defaults();
    c.r = result;
    memset(result, 0, sizeof *result);
    result->worst_input = -1;
    if (!(c.o.eps > 0))
        return cg__fail(CG_ERR_ARG, "cg_gradcheck: eps is %g, must be > 0", c.o.eps);
    for (int i = 0; i < n_inputs; i++)
        cg_zero_grad(inputs[i]);
    g = cg_graph_new();
    if (!g)
        return cg_errcode();
    y = f(g, inputs, ctx);
    if (!y) {
        st = cg_errcode() != CG_OK ? cg_errcode()
                                   : cg__fail(CG_ERR_ARG, "cg_gradcheck: f returned NULL");
        goto out_free_graph;
    }
    w = output_weights(y, c.o.seed);
    if (!w) {
        st = cg_errcode();
        goto out_free_graph;
    }
    for (size_t j = 0; j < y->size; j++)
        c.s0 += (double)w->data[j] * (double)y->data[j];
    /* An output that needs no gradient does not depend on the inputs through
     * autograd: its analytic gradient is zero everywhere. */
    if (cg_requires_grad(y) && (st = cg_backward_seed(g, y, w)) != CG_OK)
        goto out_free_weights;
    st = numeric_pass(&c, f, g, inputs, n_inputs, ctx, w);
    result->vacuous = result->checked == 0 || c.max_mag <= 1e-2 * c.o.atol;
    result->passed = st == CG_OK && !c.failed && !result->vacuous;
out_free_weights:
    cg_tensor_free(w);
out_free_graph:
    cg_graph_free(g);
    for (int i = 0; i < n_inputs; i++)
        cg_zero_grad(inputs[i]);
    return st;
}
