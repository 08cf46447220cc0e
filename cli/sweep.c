/*
 * `cgrad sweep DATA [train options]`: train once for every point of a grid
 * of settings and print one table of the results. An option of the grid
 * takes a comma-separated list (`--lr 1e-3,3e-3,1e-2 --hidden 64,128` is
 * six points; for --hidden, one point's layers are joined by ':', as in
 * `--hidden 64:32,128`); every other option is cgrad train's and the same
 * for every point.
 *
 * Under `mpirun -np N`, point i runs in process i mod N, each training in
 * its process alone (its own threads), so N points train at a time; rank 0
 * gathers the figures and prints the table. A point writes no file: the
 * options that name one (--out, --checkpoint, --resume, --metrics, --plot)
 * are refused.
 */
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "train.h"

/* The options a grid may vary. */
static const char *const axis_names[] = {
    "lr", "hidden", "batch", "epochs", "dropout", "weight-decay", "momentum", "seed",
    "act", "optim", "warmup", "clip-norm", "schedule",
};

#define MAX_AXES 8
#define MAX_VALUES 64
#define MAX_POINTS 4096
#define MAX_ARGS 256

struct axis {
    const char *name;
    int         arg;                 /* its value's index in argv */
    int         n;
    char       *values[MAX_VALUES];  /* point values, owned ("64:32" as "64,32") */
};

struct sweep {
    int         argc;
    char      **argv;                /* "sweep" DATA options... */
    struct axis axes[MAX_AXES];
    int         n_axes;
    long        n_points;
    bool        json;
};

static bool is_in(const char *name, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(name, list[i]) == 0)
            return true;
    return false;
}
#define IS_IN(name, list) is_in((name), (list), sizeof(list) / sizeof(list)[0])

static void sweep_free(struct sweep *w)
{
    for (int a = 0; a < w->n_axes; a++)
        for (int v = 0; v < w->axes[a].n; v++)
            free(w->axes[a].values[v]);
}

/* The values of axis a from its list text. */
static int split_values(struct axis *a, const char *list)
{
    const char *p = list;
    for (;;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == 0)
            return cli_usage_error("sweep", "--%s %s: an empty value", a->name, list);
        if (a->n == MAX_VALUES)
            return cli_usage_error("sweep", "--%s: more than %d values", a->name, MAX_VALUES);
        char *v = strndup(p, len);
        if (!v)
            return cli_error("out of memory");
        if (strcmp(a->name, "hidden") == 0)
            for (char *c = v; *c; c++)
                *c = *c == ':' ? ',' : *c;
        a->values[a->n++] = v;
        if (!end)
            return CLI_OK;
        p = end + 1;
    }
}

/* Find the grid's axes and refuse the file options. */
static int read_axes(struct sweep *w)
{
    for (int i = 1; i < w->argc; i++) {
        const char *arg = w->argv[i];
        if (strncmp(arg, "--", 2) != 0)
            continue;
        char name[64];
        const char *eq = strchr(arg, '=');
        snprintf(name, sizeof name, "%.*s", eq ? (int)(eq - arg - 2) : (int)strlen(arg + 2),
                 arg + 2);
        if (cli_sweep_refuses(name))
            return cli_usage_error("sweep", "--%s: every point would write it; a sweep writes "
                                   "no file", name);
        if (!IS_IN(name, axis_names) || (!eq && i + 1 >= w->argc))
            continue;
        /* one value: an option like any other */
        if (!strchr(eq ? eq + 1 : w->argv[i + 1], ','))
            continue;
        for (int a = 0; a < w->n_axes; a++)
            if (strcmp(w->axes[a].name, name) == 0)
                return cli_usage_error("sweep", "--%s given twice", name);
        if (w->n_axes == MAX_AXES)
            return cli_usage_error("sweep", "more than %d grid options", MAX_AXES);
        struct axis *a = &w->axes[w->n_axes++];
        a->name = axis_names[0];
        for (size_t k = 0; k < sizeof axis_names / sizeof axis_names[0]; k++)
            if (strcmp(axis_names[k], name) == 0)
                a->name = axis_names[k];
        a->arg = eq ? i : i + 1;
        int rc = split_values(a, eq ? eq + 1 : w->argv[i + 1]);
        if (rc != CLI_OK)
            return rc;
        if (!eq)
            i++;
    }
    w->n_points = 1;
    for (int a = 0; a < w->n_axes; a++)
        if ((w->n_points *= w->axes[a].n) > MAX_POINTS)
            return cli_usage_error("sweep", "more than %d points", MAX_POINTS);
    return CLI_OK;
}

/* Point p's value of axis a (the last axis varies fastest). */
static const char *point_value(const struct sweep *w, long p, int a)
{
    for (int b = w->n_axes - 1; b > a; b--)
        p /= w->axes[b].n;
    return w->axes[a].values[p % w->axes[a].n];
}

/* Point p's command line for cgrad train, in args (texts in buf). */
static int point_argv(const struct sweep *w, long p, char **args, char *buf, size_t n)
{
    int argc = 0;
    size_t used = 0;
    args[argc++] = (char *)(uintptr_t) "train";
    for (int i = 1; i < w->argc && argc < MAX_ARGS - 1; i++) {
        const char *arg = w->argv[i];
        if (strcmp(arg, "--json") == 0)
            continue;
        for (int a = 0; a < w->n_axes; a++) {
            if (w->axes[a].arg != i)
                continue;
            const char *eq = strchr(arg, '=');
            int len = snprintf(buf + used, n - used, "%.*s%s", eq ? (int)(eq - arg + 1) : 0,
                               arg, point_value(w, p, a));
            arg = buf + used;
            used += (size_t)len + 1;
            if (used > n)
                return cli_error("sweep: the options are too long");
        }
        args[argc++] = (char *)(uintptr_t)arg;
    }
    args[argc] = NULL;
    return argc;
}

/* The figures of a point, as doubles that travel between processes. */
enum { F_DONE, F_EPOCHS, F_TRAIN_LOSS, F_TRAIN_ACC, F_VAL_LOSS, F_VAL_ACC, F_SECONDS, F_N };

static int run_point(const struct sweep *w, cg_dist *d, long p, double *fig)
{
    char *args[MAX_ARGS], buf[8192];
    int argc = point_argv(w, p, args, buf, sizeof buf);
    struct cli_train_point pt = {.watch = d};
    if (argc < 0)
        return CLI_RUNTIME;
    int rc = cli_train_run(NULL, argc, args, &pt);
    if (rc != CLI_OK)
        return rc;
    fig[F_DONE] = 1;
    fig[F_EPOCHS] = pt.epochs;
    fig[F_TRAIN_LOSS] = pt.train_loss;
    fig[F_TRAIN_ACC] = pt.train_acc;
    fig[F_VAL_LOSS] = pt.val_loss;
    fig[F_VAL_ACC] = pt.val_acc;
    fig[F_SECONDS] = pt.seconds;
    return CLI_OK;
}

/* ---- the table ---------------------------------------------------------------- */

/* The point of lowest validation loss, else of lowest training loss; -1. */
static long best_point(const struct sweep *w, const double *figs)
{
    long best = -1;
    int k = F_VAL_LOSS;
    for (long p = 0; p < w->n_points; p++)
        k = isnan(figs[p * F_N + F_VAL_LOSS]) ? F_TRAIN_LOSS : k;
    for (long p = 0; p < w->n_points; p++) {
        const double *f = figs + p * F_N;
        if (f[F_DONE] > 0 && !isnan(f[k]) && (best < 0 || f[k] < figs[best * F_N + k]))
            best = p;
    }
    return best;
}

static void print_cell(double v)
{
    if (isnan(v))
        printf("  %10s", "-");
    else
        printf("  %10.6g", v);
}

static void print_table(const struct sweep *w, const double *figs, int procs)
{
    long best = best_point(w, figs);
    for (int a = 0; a < w->n_axes; a++)
        printf("--%-10s", w->axes[a].name);
    printf("  %10s  %10s  %10s  %10s  %10s  %10s\n", "epochs_run", "train_loss", "train_acc",
           "val_loss", "val_acc", "seconds");
    for (long p = 0; p < w->n_points; p++) {
        const double *f = figs + p * F_N;
        for (int a = 0; a < w->n_axes; a++)
            printf("%-12s", point_value(w, p, a));
        if (f[F_DONE] == 0) {
            printf("  failed (its message is above)\n");
            continue;
        }
        printf("  %10d", (int)f[F_EPOCHS]);
        for (int k = F_TRAIN_LOSS; k <= F_SECONDS; k++)
            print_cell(f[k]);
        printf("%s\n", p == best ? "  *" : "");
    }
    printf("%ld points on %d process%s; * lowest %s loss\n", w->n_points, procs,
           procs == 1 ? "" : "es",
           best >= 0 && !isnan(figs[best * F_N + F_VAL_LOSS]) ? "validation" : "training");
}

static void print_json(const struct sweep *w, const double *figs, int procs)
{
    static const char *const keys[F_N] = {NULL, "epochs_run", "train_loss", "train_accuracy",
                                          "val_loss", "val_accuracy", "seconds"};
    struct cli_json j;
    cli_json_init(&j, stdout);
    cli_json_begin_obj(&j);
    cli_json_key(&j, "processes");
    cli_json_int(&j, procs);
    cli_json_key(&j, "best");
    cli_json_int(&j, best_point(w, figs));
    cli_json_key(&j, "points");
    cli_json_begin_arr(&j);
    for (long p = 0; p < w->n_points; p++) {
        const double *f = figs + p * F_N;
        cli_json_begin_obj(&j);
        cli_json_key(&j, "settings");
        cli_json_begin_obj(&j);
        for (int a = 0; a < w->n_axes; a++) {
            cli_json_key(&j, w->axes[a].name);
            cli_json_str(&j, point_value(w, p, a));
        }
        cli_json_end(&j);
        cli_json_key(&j, "ok");
        cli_json_bool(&j, f[F_DONE] > 0);
        for (int k = 1; k < F_N; k++) {
            cli_json_key(&j, keys[k]);
            cli_json_num(&j, f[F_DONE] > 0 ? f[k] : (double)NAN);
        }
        cli_json_end(&j);
    }
    cli_json_end(&j);
    cli_json_end(&j);
    putchar('\n');
}

/* ---- the command ------------------------------------------------------------------ */

/* Run this process's points (p mod N == rank) and add every process's
 * figures into figs [n_points, F_N]. */
static int run_points(const struct sweep *w, cg_dist *d, double *figs)
{
    int rc = CLI_OK;
    for (long p = cg_dist_rank(d); p < w->n_points; p += cg_dist_size(d)) {
        int prc = run_point(w, d, p, figs + p * F_N);
        rc = prc == CLI_INTERRUPTED ? prc : rc;
    }
    if (cg_dist_sum_f64(d, figs, (int)(w->n_points * F_N)) != CG_OK)
        return cli_error("%s", cg_errmsg());
    return rc;
}

int cli_sweep(int argc, char **argv)
{
    struct sweep w;
    memset(&w, 0, sizeof w);
    w.argc = argc;
    w.argv = argv;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            cli_print_help(CLI_CMD_SWEEP, stdout);
            return CLI_OK;
        }
        w.json = w.json || strcmp(argv[i], "--json") == 0;
    }
    if (argc > MAX_ARGS - 2)
        return cli_usage_error("sweep", "more than %d arguments", MAX_ARGS - 2);
    cg_dist *d;
    int rc = read_axes(&w);
    if (rc != CLI_OK || (rc = cli_dist_join(&d)) != CLI_OK) {
        sweep_free(&w);
        return rc;
    }
    double *figs = calloc((size_t)w.n_points * F_N, sizeof *figs);
    if (!figs) {
        rc = cli_error("out of memory");
    } else {
        rc = run_points(&w, d, figs);
        if (cg_dist_rank(d) == 0 && rc != CLI_INTERRUPTED) {
            if (w.json)
                print_json(&w, figs, cg_dist_size(d));
            else
                print_table(&w, figs, cg_dist_size(d));
        }
        /* A point that failed printed why; the sweep failed with it. */
        for (long p = 0; rc == CLI_OK && p < w.n_points; p++)
            rc = figs[p * F_N + F_DONE] > 0 ? CLI_OK : CLI_RUNTIME;
    }
    free(figs);
    sweep_free(&w);
    return cli_dist_leave(d, rc);
}
