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
 * the piecewise-linear model, while for a smooth s that second difference
 * over the step, K(e), is only about e s'' / 2. An element that fails but
 * whose error K(e) could explain is measured again at e/3 and e/9: with a
 * smooth s, K shrinks with the step (by 3 each time) while a wrong
 * gradient's error stays, so the error soon stands out and fails; a kink
 * still inside the smallest step keeps K as it was, and only then is the
 * element skipped and counted. So a wrong gradient is never excused as a
 * kink only because the step is large.
 *
 * Accumulation: backward must add (+=) into gradients. After the first
 * backward the checker runs a second one over gradients pre-filled with a
 * known value g0 (max(1, |a|)): an element that then holds a instead of
 * a + g0 was assigned, and is counted in `overwritten`.
 *
 * What the errors look like is worked out in gradcheck_diagnose.c.
 */
#include <float.h>
#include <string.h>

#include "gradcheck_internal.h"

struct cg_gradcheck_options cg_gradcheck_defaults(void)
{
#ifdef CG_DOUBLE
    /* Truncation error ~ e^2 s''' = 1e-12, rounding ~ 1e-16 |s| / e = 1e-10. */
    struct cg_gradcheck_options o = {1e-6, 1e-8, 1e-6, 42, NULL, false};
#else
    /* float: rounding ~ 6e-8 |s| / e = 6e-5 dominates; truncation ~ 1e-6. */
    struct cg_gradcheck_options o = {1e-3, 1e-3, 1e-2, 42, NULL, false};
#endif
    return o;
}

/* Everything one check needs, to keep the functions below short. */
struct checker {
    struct cg_gradcheck_options o;
    struct cg_gradcheck_result *r;
    cg_gradcheck_fn f;
    void          *ctx;
    cg_graph      *g;
    cg_tensor *const *inputs;
    int            n_inputs;
    cg_tensor     *w;           /* the output weighting: y's shape */
    double         s0;          /* s at the unperturbed inputs */
    double         worst_ratio; /* error / tolerance of the worst element */
    double         max_mag;     /* largest |analytic| or |numeric| compared */
    struct cg__gc_data d;       /* every element's figures, for the diagnosis */
};

/* y = f(inputs) on a fresh graph; NULL and a status when f fails. */
static cg_status build(struct checker *c, cg_tensor **y)
{
    cg_graph_reset(c->g);
    *y = c->f(c->g, c->inputs, c->ctx);
    if (!*y)
        return cg_errcode() != CG_OK ? cg_errcode()
                                     : cg__fail(CG_ERR_ARG, "cg_gradcheck: f returned NULL");
    if (c->w && (*y)->size != c->w->size)
        return cg__fail(CG_ERR_STATE, "cg_gradcheck: f gave %zu elements, then %zu",
                        c->w->size, (*y)->size);
    return CG_OK;
}

/* s = sum_j w_j y_j of a fresh graph built by f, in double. */
static cg_status evaluate(struct checker *c, double *s)
{
    cg_tensor *y;
    cg_status st = build(c, &y);
    double acc = 0;

    if (st != CG_OK)
        return st;
    for (size_t j = 0; j < y->size; j++)
        acc += (double)c->w->data[j] * (double)y->data[j];
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

/* ---- the analytic side ---------------------------------------------------- */

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

/* One backward from y seeded with w, when y depends on the inputs through
 * autograd (otherwise every analytic gradient is zero). */
static cg_status backward(struct checker *c, cg_tensor *y)
{
    return cg_requires_grad(y) ? cg_backward_seed(c->g, y, c->w) : CG_OK;
}

/* The first pass: s0, w, and the analytic gradients into d.a. */
static cg_status analytic_pass(struct checker *c)
{
    cg_tensor *y;
    cg_status st = build(c, &y);

    if (st != CG_OK)
        return st;
    if (!(c->w = output_weights(y, c->o.seed)))
        return cg_errcode();
    for (size_t j = 0; j < y->size; j++)
        c->s0 += (double)c->w->data[j] * (double)y->data[j];
    if ((st = backward(c, y)) != CG_OK)
        return st;
    for (int i = 0; i < c->n_inputs; i++)
        for (size_t k = 0; k < c->inputs[i]->size; k++)
            c->d.a[c->d.off[i] + k] = (double)c->inputs[i]->grad[k];
    return CG_OK;
}

/* The second pass over gradients that already hold g0 = max(1, |a|): a
 * backward that adds leaves a + g0, one that assigns leaves a. */
static cg_status accumulation_pass(struct checker *c)
{
    cg_tensor *y;
    cg_status st;

    for (int i = 0; i < c->n_inputs; i++)
        for (size_t k = 0; k < c->inputs[i]->size; k++) {
            double a = c->d.a[c->d.off[i] + k];
            c->inputs[i]->grad[k] = (cg_float)(fabs(a) > 1 ? fabs(a) : 1);
        }
    if ((st = build(c, &y)) != CG_OK || (st = backward(c, y)) != CG_OK)
        return st;
    for (int i = 0; i < c->n_inputs; i++)
        for (size_t k = 0; k < c->inputs[i]->size; k++) {
            size_t e = c->d.off[i] + k;
            double g0 = fabs(c->d.a[e]) > 1 ? fabs(c->d.a[e]) : 1;
            if (fabs((double)c->inputs[i]->grad[k] - c->d.a[e] - g0) > 0.5 * g0) {
                c->d.state[e] |= CG__GC_OVERWRITTEN;
                c->r->overwritten++;
            }
        }
    for (int i = 0; i < c->n_inputs; i++)
        cg_zero_grad(c->inputs[i]);
    return CG_OK;
}

/* ---- the numeric side ----------------------------------------------------- */

/* The central difference of s at input i's element k with step eps, and K,
 * the second difference over the step. */
static cg_status central(struct checker *c, int i, size_t k, double eps, double *n,
                         double *kink)
{
    cg_tensor *x = c->inputs[i];
    cg_float v = x->data[k];
    cg_float xp = v + (cg_float)eps, xm = v - (cg_float)eps;
    double h = (double)xp - (double)xm, fp = 0, fm = 0;
    cg_status st;

    if (!(h > 0))
        return cg__fail(CG_ERR_ARG, "cg_gradcheck: the step %g is lost in the rounding of "
                        "input %d element %zu (%g + %g == %g): take a larger eps", eps, i, k,
                        (double)v, eps, (double)v);
    x->data[k] = xp;
    st = evaluate(c, &fp);
    x->data[k] = xm;
    if (st == CG_OK)
        st = evaluate(c, &fm);
    x->data[k] = v;
    *n = (fp - fm) / h;
    *kink = fabs(fp + fm - 2 * c->s0) / h;
    return st;
}

/* Record one compared element. */
static void compare(struct checker *c, int input, size_t k, double a, double n)
{
    double err = fabs(a - n), tol = c->o.atol + c->o.rtol * fabs(n);
    double floor = c->o.rtol > 0 ? c->o.atol / c->o.rtol : 0;
    double den = fabs(n) + floor, rel, ratio;
    size_t e = c->d.off[input] + k;

    c->d.n[e] = n;
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
    if (err > tol) {
        c->d.state[e] |= CG__GC_WRONG;
        c->r->wrong++;
    }
    if (c->r->worst_input < 0 || ratio > c->worst_ratio) {
        c->worst_ratio = ratio;
        c->r->worst_input = input;
        c->r->worst_index = k;
        c->r->worst_analytic = a;
        c->r->worst_numeric = n;
    }
}

/* An error the kink measure K cannot explain, or no error at all. */
static bool decided(const struct checker *c, double a, double n, double kink)
{
    double err = fabs(a - n), tol = c->o.atol + c->o.rtol * fabs(n);
    return err <= tol || err > 1.5 * kink + tol;
}

/* One element: compared at eps, or, while a kink within the step could
 * explain its error, at eps/3 and eps/9. Still unexplained after that, it
 * is compared (and fails) if K shrank with the step as a smooth function's
 * does, and skipped as a kink if K stayed. */
static cg_status judge(struct checker *c, int i, size_t k)
{
    double a = c->d.a[c->d.off[i] + k], eps = c->o.eps, n, kink, first;
    cg_status st = central(c, i, k, eps, &n, &kink);

    first = kink;
    for (int retry = 0; st == CG_OK && !c->o.at_eps_only && !decided(c, a, n, kink) &&
                        retry < 2; retry++) {
        eps /= 3;
        st = central(c, i, k, eps, &n, &kink);
    }
    if (st != CG_OK)
        return st;
    if (c->o.at_eps_only || decided(c, a, n, kink) || kink < first / 4) {
        compare(c, i, k, a, n);
        return CG_OK;
    }
    c->d.state[c->d.off[i] + k] |= CG__GC_SKIPPED;
    c->r->skipped++;
    return CG_OK;
}

static cg_status numeric_pass(struct checker *c)
{
    for (int i = 0; i < c->n_inputs; i++)
        for (size_t k = 0; k < c->inputs[i]->size; k++) {
            cg_status st = judge(c, i, k);
            if (st != CG_OK)
                return st;
        }
    return CG_OK;
}

/* ---- the check ------------------------------------------------------------ */

static void finish(struct checker *c)
{
    struct cg_gradcheck_result *r = c->r;

    r->all_skipped = r->checked == 0 && r->skipped > 0;
    r->vacuous = !r->all_skipped && (r->checked == 0 || c->max_mag <= 1e-2 * c->o.atol);
    r->passed = !r->vacuous && !r->all_skipped && r->wrong == 0 && r->overwritten == 0;
    cg__gradcheck_diagnose(&c->d, c->inputs, c->n_inputs, c->w, &c->o, r);
}

static void result_init(struct cg_gradcheck_result *r, const struct cg_gradcheck_options *o)
{
    memset(r, 0, sizeof *r);
    r->worst_input = -1;
    r->pattern_input = -1;
    r->rtol = o->rtol;
    r->eps = o->eps;
}

cg_status cg_gradcheck_compare(const double *got, const double *want, int ndim,
                               const int *shape, const struct cg_gradcheck_options *opts,
                               struct cg_gradcheck_result *result)
{
    struct checker c;
    cg_tensor header;
    cg_tensor *in[1] = {&header};
    cg_status st;

    if (!got || !want || !result)
        return cg__fail(CG_ERR_ARG, "cg_gradcheck_compare: %s is NULL",
                        !got ? "got" : !want ? "want" : "result");
    if ((st = cg_tensor_init(&header, NULL, ndim, shape)) != CG_OK)
        return st;
    memset(&c, 0, sizeof c);
    c.o = opts ? *opts : cg_gradcheck_defaults();
    c.r = result;
    c.inputs = in;
    c.n_inputs = 1;
    result_init(result, &c.o);
    if ((st = cg__gc_data_init(&c.d, in, 1)) != CG_OK)
        return st;
    for (size_t k = 0; k < header.size; k++) {
        c.d.a[k] = got[k];
        compare(&c, 0, k, got[k], want[k]);
    }
    finish(&c);
    cg__gc_data_deinit(&c.d);
    return CG_OK;
}

cg_status cg_gradcheck(cg_gradcheck_fn f, cg_tensor *const *inputs, int n_inputs,
                       void *ctx, const struct cg_gradcheck_options *opts,
                       struct cg_gradcheck_result *result)
{
    struct checker c;
    cg_status st = check_args(f, inputs, n_inputs, result);

    if (st != CG_OK)
        return st;
    memset(&c, 0, sizeof c);
    c.o = opts ? *opts : cg_gradcheck_defaults();
    c.r = result;
    c.f = f;
    c.ctx = ctx;
    c.inputs = inputs;
    c.n_inputs = n_inputs;
    result_init(result, &c.o);
    if (!(c.o.eps > 0))
        return cg__fail(CG_ERR_ARG, "cg_gradcheck: eps is %g, must be > 0", c.o.eps);
    for (int i = 0; i < n_inputs; i++)
        cg_zero_grad(inputs[i]);
    if ((st = cg__gc_data_init(&c.d, inputs, n_inputs)) != CG_OK)
        return st;
    if (!(c.g = cg_graph_new())) {
        st = cg_errcode();
        goto out_free_data;
    }
    if ((st = analytic_pass(&c)) == CG_OK && (st = accumulation_pass(&c)) == CG_OK &&
        (st = numeric_pass(&c)) == CG_OK)
        finish(&c);
    cg_tensor_free(c.w);
    cg_graph_free(c.g);
out_free_data:
    cg__gc_data_deinit(&c.d);
    for (int i = 0; i < n_inputs; i++)
        cg_zero_grad(inputs[i]);
    return st;
}
