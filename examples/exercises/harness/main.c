/*
 * The exercises' main: draw the inputs, run the library's gradient check
 * (cg_gradcheck, double precision) on the exercise's op, print its verdict
 * (cg_gradcheck_report: pass, or the worst element and the pattern of the
 * errors) and exit 0 on a pass, 1 on a failure.
 */
#include <stdio.h>

#include "harness.h"

int exercise_verdict(const struct cg_gradcheck_result *r)
{
    if (r->passed) {
        printf("verdict: PASS\n");
        return 0;
    }
    printf("verdict: FAIL (%s)\n", r->all_skipped ? "all skipped"
                                   : r->vacuous   ? "vacuous"
                                                  : cg_gradcheck_pattern_name(r->pattern));
    return 1;
}

static void fill(cg_tensor *t, enum exercise_dist dist, cg_rng *rng)
{
    for (size_t i = 0; i < t->size; i++) {
        double u = cg_rng_uniform(rng);
        if (dist == AWAY_FROM_ZERO)
            t->data[i] = u < 0.5 ? -(0.1 + 1.8 * u) : 0.1 + 1.8 * (u - 0.5);
        else
            t->data[i] = (dist == WIDE ? 3 : 1) * (2 * u - 1);
    }
}

static int check(void)
{
    cg_tensor *in[4] = {NULL, NULL, NULL, NULL};
    struct cg_gradcheck_options o = cg_gradcheck_defaults();
    struct cg_gradcheck_result r;
    char report[2048];
    cg_rng rng;
    int rc = 2;

    cg_rng_seed(&rng, 7);
    o.input_names = exercise.names;
    for (int i = 0; i < exercise.n_inputs; i++) {
        const int *s = exercise.shapes[i];
        in[i] = s[1] ? cg_param_new(2, s) : cg_param_new(1, s);
        if (!in[i])
            goto out;
        fill(in[i], exercise.dist, &rng);
    }
    if (cg_gradcheck(exercise.f, in, exercise.n_inputs, NULL, &o, &r) != CG_OK) {
        fprintf(stderr, "exercise: %s\n", cg_errmsg());
        goto out;
    }
    fputs(cg_gradcheck_report(&r, report, sizeof report), stdout);
    rc = exercise_verdict(&r);
out:
    for (int i = 0; i < 4; i++)
        cg_tensor_free(in[i]);
    return rc;
}

int main(void)
{
    printf("%s\n(the math: %s)\n\n", exercise.title, exercise.math);
    return exercise.run ? exercise.run() : check();
}
