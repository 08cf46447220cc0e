/*
 * The Adam exercise: three steps of adam_step on six parameters, each
 * step's update (the parameters' change) compared with torch.optim.Adam's.
 * The reference numbers were computed with PyTorch itself (Debian's
 * python3-torch, in float64) by scripts/adam_reference.py; run it again to
 * see them made. The comparison and its diagnosis are the gradient
 * checker's (cg_gradcheck_compare), so "analytic" in the verdict reads as
 * your update and "numeric" as PyTorch's.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"

enum { N = 6, STEPS = 3 };

static const double p0[N] = {0.5, -1.25, 2.0, 0.0, -0.3, 1.7};
static const double grads[STEPS][N] = {
    {0.1, -0.4, 2.5, -0.003, 0.07, -1.2},
    {-0.2, -0.3, 1.5, 0.004, 0.09, 0.8},
    {0.15, 0.1, -0.5, -0.001, 0.05, 0.6},
};
/* torch 1.13.0a0, torch.optim.Adam(lr=0.01, betas=(0.9, 0.999), eps=1e-8), float64 */
static const double want[STEPS][N] = {
    {0.49000000099999991, -1.24000000025, 1.99000000004, 0.0099999666667777761,
     -0.30999999857142879, 1.7099999999166666},
    {0.49366103603884887, -1.2301742497133494, 1.9804250983250853, 0.0080648680483149868,
     -0.31998744263855949, 1.7114452051996585},
    {0.492450563196004, -1.2239804526164888, 1.9742110564615738, 0.0078517506050618611,
     -0.32962403220764308, 1.7100210023892182},
};

/* An update without bias correction, over the right one, at step t. */
static double bias(int t)
{
    return (1 - pow(0.9, t)) / sqrt(1 - pow(0.999, t));
}

static int run(void)
{
    double p[N], m[N] = {0}, v[N] = {0}, got[N], ref[N];
    struct cg_gradcheck_options o = cg_gradcheck_defaults();
    static const char *const names[] = {"update"};
    struct cg_gradcheck_result r;
    char report[2048];

    memcpy(p, p0, sizeof p);
    o.atol = 1e-12;
    o.rtol = 1e-9;
    o.input_names = names;
    for (int t = 1; t <= STEPS; t++) {
        for (int k = 0; k < N; k++) {
            ref[k] = want[t - 1][k] - (t > 1 ? want[t - 2][k] : p0[k]);
            got[k] = p[k];
        }
        adam_step(N, p, grads[t - 1], m, v, t, 0.01, 0.9, 0.999, 1e-8);
        for (int k = 0; k < N; k++)
            got[k] = p[k] - got[k];
        if (cg_gradcheck_compare(got, ref, 1, (int[]){N}, &o, &r) != CG_OK) {
            fprintf(stderr, "exercise: %s\n", cg_errmsg());
            return 2;
        }
        printf("step %d: %s", t, cg_gradcheck_report(&r, report, sizeof report));
        if (r.pattern == CG_GRADCHECK_FACTOR && fabs(r.factor - bias(t)) < 1e-3 * bias(t))
            printf("  hint: %.6g is (1 - beta1^t) / sqrt(1 - beta2^t) at t = %d: the bias "
                   "correction is missing\n", r.factor, t);
        if (!r.passed)
            return exercise_verdict(&r);
        memcpy(p, want[t - 1], sizeof p); /* the next step starts where PyTorch's did */
    }
    return exercise_verdict(&r);
}

const struct exercise exercise = {
    "Exercise adam: one step of Adam with bias correction, against PyTorch's numbers",
    "docs/OPTIM.md, Adam and AdamW; docs/LEARNING.md, adam", 0, {{0, 0}}, {NULL}, UNIFORM,
    NULL, run};
