/*
 * `cgrad gradcheck [--op NAME] [--float]`: run the autograd layer's built-in
 * suite (every op and loss against central finite differences on seeded
 * random inputs) and print a table: op, input shapes, the largest absolute
 * and relative errors, elements checked and skipped (near a kink), the
 * verdict; under a failing row, the library's report of it (worst element,
 * pattern). Exits 1 if any check fails (vacuous or all skipped included).
 *
 * The checks run in double precision (the library twin of cli/lib64.h)
 * unless --float asks for float's errors. `--explain NAME` prints how one
 * op's check works and its error against the step in both precisions.
 */
#include <float.h>
#include <math.h>
#include <string.h>

#include "cli.h"
#include "lib64.h"
#include "options.h"

/* One precision's door to the suite. */
struct precision {
    const char *name;      /* "double" */
    const char *json_name; /* "F64", as CG_FLOAT_NAME */
    double      u;         /* unit roundoff */
    struct cg_gradcheck_options (*defaults)(void);
    cg_status (*run)(int i, int rows, int cols, uint64_t seed,
                     const struct cg_gradcheck_options *opts,
                     struct cg_gradcheck_result *r, char *shape, size_t shape_len);
    const char *(*errmsg)(void);
    void (*clear_error)(void);
};

static const struct precision doubles = {"double", "F64", DBL_EPSILON / 2,
                                         cg64_gradcheck_defaults,
                                         cg64_gradcheck_suite_run_dims, cg64_errmsg,
                                         cg64_clear_error};
static const struct precision floats = {"float", "F32", (double)FLT_EPSILON / 2, cg_gradcheck_defaults,
                                        cg_gradcheck_suite_run_dims, cg_errmsg,
                                        cg_clear_error};

struct check {
    const char *name;
    char shape[128];
    struct cg_gradcheck_result r;
};

/* Entry i on the suite's typical shapes (4 rows, 3 columns) at step eps
 * (NaN: the precision's default). */
static cg_status run_one(const struct precision *p, int i, uint64_t seed, double eps,
                         bool at_eps_only, struct check *c)
{
    struct cg_gradcheck_options o = p->defaults();

    if (!isnan(eps))
        o.eps = eps;
    o.at_eps_only = at_eps_only;
    c->name = cg_gradcheck_suite_name(i);
    p->clear_error();
    return p->run(i, 4, 3, seed, &o, &c->r, c->shape, sizeof c->shape);
}

static const char *verdict(const struct cg_gradcheck_result *r)
{
    if (r->passed)
        return "ok";
    if (r->all_skipped)
        return "NOT CHECKED (all skipped)";
    if (r->vacuous)
        return "FAILED (vacuous)";
    return "FAILED";
}

static void print_row(const struct check *c)
{
    char report[1024];

    printf("%-20s %-24s %11.3e %11.3e %8zu %7zu  %s", c->name, c->shape, c->r.max_abs_err,
           c->r.max_rel_err, c->r.checked, c->r.skipped, verdict(&c->r));
    if (!c->r.passed && c->r.pattern != CG_GRADCHECK_NO_PATTERN)
        printf(" (%s)", cg_gradcheck_pattern_name(c->r.pattern));
    printf("\n");
    if (c->r.passed)
        return;
    /* the report, indented under the row */
    cg_gradcheck_report(&c->r, report, sizeof report);
    for (char *line = strtok(report, "\n"); line; line = strtok(NULL, "\n"))
        printf("    %s\n", line);
}

static void json_row(struct cli_json *j, const struct check *c)
{
    cli_json_begin_obj(j);
    cli_json_key(j, "op");
    cli_json_str(j, c->name);
    cli_json_key(j, "shape");
    cli_json_str(j, c->shape);
    cli_json_key(j, "max_abs_err");
    cli_json_num(j, c->r.max_abs_err);
    cli_json_key(j, "max_rel_err");
    cli_json_num(j, c->r.max_rel_err);
    cli_json_key(j, "checked");
    cli_json_int(j, (long long)c->r.checked);
    cli_json_key(j, "skipped");
    cli_json_int(j, (long long)c->r.skipped);
    cli_json_key(j, "wrong");
    cli_json_int(j, (long long)c->r.wrong);
    cli_json_key(j, "overwritten");
    cli_json_int(j, (long long)c->r.overwritten);
    cli_json_key(j, "vacuous");
    cli_json_bool(j, c->r.vacuous);
    cli_json_key(j, "all_skipped");
    cli_json_bool(j, c->r.all_skipped);
    cli_json_key(j, "passed");
    cli_json_bool(j, c->r.passed);
    cli_json_key(j, "worst");
    cli_json_str(j, c->r.worst_input >= 0 ? c->r.worst_at : NULL);
    cli_json_key(j, "pattern");
    cli_json_str(j, cg_gradcheck_pattern_name(c->r.pattern));
    cli_json_key(j, "diagnosis");
    cli_json_str(j, c->r.diagnosis);
    cli_json_end(j);
}

/* ---- --explain --------------------------------------------------------------- */

static void explain_method(const struct cg_gradcheck_options *d,
                           const struct cg_gradcheck_options *f)
{
    printf("How the check works\n"
           "  1. The op's output y is reduced to one number, s = sum_j w_j y_j, with fixed\n"
           "     random weights w_j in +-[0.5, 1], so that every output element counts.\n"
           "  2. Analytic: one backward pass seeded with dL/dy = w gives a_k = ds/dx_k for\n"
           "     every input element x_k: what the op's backward computes.\n"
           "  3. Numeric: the central difference, for every element in turn,\n"
           "         n_k = (s(x_k + e) - s(x_k - e)) / (2e)\n"
           "     Its truncation error is e^2 s'''/6 (a one-sided difference's is e s''/2);\n"
           "     rounding adds about u |s| / e, u the unit roundoff (%.1e in double,\n"
           "     %.1e in float). The default step balances the two: e = %g in double,\n"
           "     %g in float.\n"
           "  4. The error measure: rel_k = |a_k - n_k| / (|n_k| + atol / rtol): relative\n"
           "     for large gradients, absolute below atol / rtol. An element passes when\n"
           "     |a_k - n_k| <= atol + rtol |n_k|, that is rel_k <= rtol (double: atol %g,\n"
           "     rtol %g; float: atol %g, rtol %g). A check where every gradient is zero\n"
           "     is vacuous (a failure); an element within e of a kink is skipped.\n\n",
           doubles.u, floats.u, d->eps, f->eps, d->atol, d->rtol, f->atol, f->rtol);
}

/* One cell of the table: the largest |a - n| at step e, or why there is none. */
static double explain_cell(const struct precision *p, int i, uint64_t seed, double e,
                           char *cell, size_t n)
{
    struct check c;

    if (run_one(p, i, seed, e, true, &c) != CG_OK) {
        snprintf(cell, n, "%s", strstr(p->errmsg(), "is lost in the rounding") ? "step lost"
                                                                                : "error");
        return (double)INFINITY;
    }
    snprintf(cell, n, "%.2e", c.r.max_abs_err);
    return c.r.max_abs_err;
}

static void explain_table(int i, uint64_t seed, const struct cg_gradcheck_options *d,
                          const struct cg_gradcheck_options *f)
{
    double best[2] = {(double)INFINITY, (double)INFINITY}, best_e[2] = {0, 0};
    const struct precision *ps[2] = {&floats, &doubles};
    char cell[2][32];

    printf("The largest |a_k - n_k| against the step e (F, D: float's and double's "
           "default)\n      e          float        double\n");
    for (int k = 1; k <= 10; k++) {
        double e = pow(10, -k);
        for (int q = 0; q < 2; q++) {
            double err = explain_cell(ps[q], i, seed, e, cell[q], sizeof cell[q]);
            if (err < best[q]) {
                best[q] = err;
                best_e[q] = e;
            }
        }
        printf("  %5.0e %c%c  %11s   %11s\n", e, fabs(e - f->eps) < 1e-3 * e ? 'F' : ' ',
               fabs(e - d->eps) < 1e-3 * e ? 'D' : ' ', cell[0], cell[1]);
    }
    printf("\nReading the table: going down, the error first falls with e^2 (truncation),\n"
           "then grows with 1/e (rounding), much earlier in float than in double. Here\n"
           "the smallest error is %.1e at e = %.0e in float and %.1e at e = %.0e in\n"
           "double. Where s is linear in the inputs (add, sum, one factor of a product)\n"
           "truncation is zero and the error only grows. \"step lost\": x + e rounds back\n"
           "to x. No float step gets near double's errors: that is why float's tolerance\n"
           "is rtol %g and the checks run in double by default.\n",
           best[0], best_e[0], best[1], best_e[1], f->rtol);
}

static int explain(int i, const struct cli_settings *s)
{
    struct cg_gradcheck_options d = doubles.defaults(), f = floats.defaults();
    char report[1024];
    struct check c;

    if (run_one(&doubles, i, s->seed, s->eps, false, &c) != CG_OK)
        return cli_error("gradcheck %s: %s", cg_gradcheck_suite_name(i), doubles.errmsg());
    printf("%s: %s\ninputs: %s, drawn from seed %llu\n\n", c.name, cg_gradcheck_suite_math(i),
           c.shape, (unsigned long long)s->seed);
    explain_method(&d, &f);
    printf("At %s step, in double:\n%s\n", isnan(s->eps) ? "the default" : "the --eps",
           cg_gradcheck_report(&c.r, report, sizeof report));
    explain_table(i, s->seed, &d, &f);
    return c.r.passed ? CLI_OK : CLI_RUNTIME;
}

/* ---- the table ----------------------------------------------------------------- */

static int unknown_op(const char *option, const char *name)
{
    fprintf(stderr, "cgrad: %s: unknown op '%s'; the ops are:", option, name);
    for (int i = 0; i < cg_gradcheck_suite_count(); i++)
        fprintf(stderr, " %s", cg_gradcheck_suite_name(i));
    fprintf(stderr, "\n");
    return CLI_USAGE;
}

static void begin(const struct cli_settings *s, const struct precision *p, struct cli_json *j)
{
    if (s->json) {
        cli_json_init(j, stdout);
        cli_json_begin_obj(j);
        cli_json_key(j, "precision");
        cli_json_str(j, p->json_name);
        cli_json_key(j, "checks");
        cli_json_begin_arr(j);
    } else {
        printf("%-20s %-24s %11s %11s %8s %7s  %s\n", "op", "shape", "max abs err",
               "max rel err", "checked", "skipped", "result");
    }
}

int cli_gradcheck(int argc, char **argv)
{
    struct cli_settings s;
    struct cli_json j;
    cli_settings_defaults(&s);
    int rc = cli_parse(CLI_CMD_GRADCHECK, argc, argv, &s);
    if (rc != CLI_OK)
        return rc < 0 ? CLI_OK : rc;
    const struct precision *p = s.gc_float ? &floats : &doubles;
    int n = cg_gradcheck_suite_count(), failed = 0, ran = 0;
    if (s.op && cg_gradcheck_suite_find(s.op) < 0)
        return unknown_op("--op", s.op);
    if (s.explain && cg_gradcheck_suite_find(s.explain) < 0)
        return unknown_op("--explain", s.explain);
    cg_set_blas_threads(s.threads);
    if (cg_blas_reserve(NULL) != CG_OK)
        return cli_error("%s", cg_errmsg());
    cg64_set_blas_threads(s.threads);
    if (s.explain)
        return explain(cg_gradcheck_suite_find(s.explain), &s);
    begin(&s, p, &j);
    for (int i = 0; i < n; i++) {
        struct check c;
        if (s.op && strcmp(cg_gradcheck_suite_name(i), s.op) != 0)
            continue;
        if (run_one(p, i, s.seed, s.eps, false, &c) != CG_OK) {
            if (s.json)
                printf("\n");
            return cli_error("gradcheck %s: %s", cg_gradcheck_suite_name(i), p->errmsg());
        }
        failed += !c.r.passed;
        ran++;
        if (s.json)
            json_row(&j, &c);
        else
            print_row(&c);
    }
    if (s.json) {
        cli_json_end(&j);
        cli_json_key(&j, "failed");
        cli_json_int(&j, failed);
        cli_json_end(&j);
    } else {
        printf("%d of %d checks failed (%s precision)\n", failed, ran, p->name);
    }
    return failed ? CLI_RUNTIME : CLI_OK;
}
