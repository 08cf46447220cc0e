/*
 * `cgrad gradcheck [--op NAME]`: run the autograd layer's built-in suite
 * (every op and loss against central finite differences on seeded random
 * inputs) and print a table: op, input shapes, the largest absolute and
 * relative errors, elements checked and skipped (near a kink), pass. Exits 1
 * if any check fails (a vacuous check, every gradient zero, is a failure).
 */
#include <string.h>

#include "cli.h"
#include "options.h"

struct check {
    const char *name;
    char shape[128];
    struct cg_gradcheck_result r;
};

static void print_row(const struct check *c)
{
    printf("%-20s %-24s %11.3e %11.3e %8zu %7zu  %s\n", c->name, c->shape, c->r.max_abs_err,
           c->r.max_rel_err, c->r.checked, c->r.skipped,
           c->r.passed ? "ok" : c->r.vacuous ? "FAILED (vacuous)" : "FAILED");
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
    cli_json_key(j, "vacuous");
    cli_json_bool(j, c->r.vacuous);
    cli_json_key(j, "passed");
    cli_json_bool(j, c->r.passed);
    cli_json_end(j);
}

int cli_gradcheck(int argc, char **argv)
{
    struct cli_settings s;
    struct cli_json j;
    cli_settings_defaults(&s);
    int rc = cli_parse(CLI_CMD_GRADCHECK, argc, argv, &s);
    if (rc != CLI_OK)
        return rc < 0 ? CLI_OK : rc;
    int n = cg_gradcheck_suite_count(), found = 0, failed = 0;
    if (s.op) {
        for (int i = 0; i < n; i++)
            found += strcmp(cg_gradcheck_suite_name(i), s.op) == 0;
        if (!found) {
            fprintf(stderr, "cgrad: --op: unknown op '%s'; the ops are:", s.op);
            for (int i = 0; i < n; i++)
                fprintf(stderr, " %s", cg_gradcheck_suite_name(i));
            fprintf(stderr, "\n");
            return CLI_USAGE;
        }
    }
    cg_set_blas_threads(s.threads);
    if (cg_blas_reserve(NULL) != CG_OK)
        return cli_error("%s", cg_errmsg());
    if (s.json) {
        cli_json_init(&j, stdout);
        cli_json_begin_obj(&j);
        cli_json_key(&j, "precision");
        cli_json_str(&j, CG_FLOAT_NAME);
        cli_json_key(&j, "checks");
        cli_json_begin_arr(&j);
    } else {
        printf("%-20s %-24s %11s %11s %8s %7s  %s\n", "op", "shape", "max abs err",
               "max rel err", "checked", "skipped", "result");
    }
    for (int i = 0; i < n; i++) {
        struct check c = {cg_gradcheck_suite_name(i), "", {0}};
        if (s.op && strcmp(c.name, s.op) != 0)
            continue;
        cg_clear_error();
        if (cg_gradcheck_suite_run(i, s.seed, &c.r, c.shape, sizeof c.shape) != CG_OK) {
            if (s.json)
                printf("\n");
            return cli_error("gradcheck %s: %s", c.name, cg_errmsg());
        }
        failed += !c.r.passed;
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
        printf("%d of %d checks failed (%s precision)\n", failed, s.op ? found : n,
               CG_FLOAT_NAME);
    }
    return failed ? CLI_RUNTIME : CLI_OK;
}
