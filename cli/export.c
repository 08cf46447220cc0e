/*
 * `cgrad export MODEL -o FILE.c [--header FILE.h] [--name NAME] [--int8]
 * [--check DATA]`: the model as one standalone C99 file (the library's
 * cg_model_export_c), and with --check, how the exported model's answers
 * compare with the float model's (`cgrad predict`'s) on DATA, computed with
 * cg_model_export_eval, which does the generated file's arithmetic.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "input.h"
#include "model_file.h"
#include "options.h"

#define CHECK_BATCH 256

/* What --check measured. */
struct check_result {
    size_t n;                    /* samples */
    size_t agree;                /* top class equal to the float model's */
    size_t correct_f, correct_e; /* top class equal to the label: float, export */
    double max_abs, max_rel;     /* largest output differences */
};

/* True when a and b name one file (the same name, or device and inode). */
static bool same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    if (!a || !b)
        return false;
    return strcmp(a, b) == 0 || (stat(a, &sa) == 0 && stat(b, &sb) == 0 &&
                                 sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino);
}

/* Refuse an output that is an input (or the other output) before anything
 * is read or written. */
static int check_paths(const struct cli_settings *s)
{
    const char *ins[] = {s->positional[0], s->check};
    const char *what[] = {"the model", "--check's data"};
    const char *outs[] = {s->c_out, s->header};
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++)
            if (same_file(outs[i], ins[j]))
                return cli_usage_error("export", "%s is %s: an output never replaces an "
                                       "input", outs[i], what[j]);
    if (same_file(s->c_out, s->header))
        return cli_usage_error("export", "%s: -o and --header name the same file", s->c_out);
    return CLI_OK;
}

/* --name, or the C file's name without its folder and ".c". */
static int pick_name(const struct cli_settings *s, char *buf, size_t n)
{
    const char *base = strrchr(s->c_out, '/') ? strrchr(s->c_out, '/') + 1 : s->c_out;
    size_t len = strlen(base);
    if (s->name) {
        snprintf(buf, n, "%s", s->name);
        if (cg_export_check_name(s->name) != CG_OK)
            return cli_usage_error("export", "--name: %s", cg_errmsg());
        return CLI_OK;
    }
    if (cli_has_suffix(base, ".c"))
        len -= 2;
    snprintf(buf, n, "%.*s", (int)(len < n ? len : n - 1), base);
    if (len >= n || cg_export_check_name(buf) != CG_OK)
        return cli_usage_error("export", "the file name '%.*s' is not a C identifier of at "
                               "most %d characters: give --name NAME", (int)len, base,
                               CG_EXPORT_NAME_MAX);
    return CLI_OK;
}

/* Fold one batch into r: yf: [rows, out] the float model's outputs, ye the
 * export's, top its classes, labels (NULL for regression). */
static void compare(struct check_result *r, cg_float *yf, const cg_float *ye, const int *top,
                    const int *labels, int rows, int out)
{
    size_t best[CHECK_BATCH];
    cg_tensor t;
    for (size_t i = 0; i < (size_t)rows * (size_t)out; i++) {
        double a = fabs((double)ye[i] - (double)yf[i]);
        double scale = fabs((double)yf[i]);
        r->max_abs = a > r->max_abs ? a : r->max_abs;
        if (scale > 0 && a / scale > r->max_rel)
            r->max_rel = a / scale;
    }
    r->n += (size_t)rows;
    if (!labels)
        return;
    cg_tensor_init(&t, yf, 2, (int[]){rows, out});
    cg_tensor_argmax_axis(best, &t, 1);
    for (int i = 0; i < rows; i++) {
        r->agree += best[i] == (size_t)top[i];
        r->correct_f += best[i] == (size_t)labels[i];
        r->correct_e += top[i] == labels[i];
    }
}

/* Run DATA through the float model (normalized, as predict does) and
 * through the export's arithmetic (raw rows), batch by batch. */
static int run_check(const struct cli_settings *s, struct cli_model_file *mf,
                     const struct cg_export_options *o, struct check_result *r)
{
    cg_trainer *tr = NULL;
    int in = cg_model_input_size(mf->model), out = cg_model_output_size(mf->model);
    int rc = CLI_RUNTIME, top[CHECK_BATCH], labels[CHECK_BATCH];
    cg_dataset *ds = cli_model_load_data(mf, s, s->check);
    cg_float *raw = calloc((size_t)CHECK_BATCH * (size_t)in, sizeof *raw);
    cg_float *x = calloc((size_t)CHECK_BATCH * (size_t)in, sizeof *x);
    cg_float *yf = calloc((size_t)CHECK_BATCH * (size_t)out, sizeof *yf);
    cg_float *ye = calloc((size_t)CHECK_BATCH * (size_t)out, sizeof *ye);

    if (!ds)
        goto out;
    if (!raw || !x || !yf || !ye ||
        !(tr = cg_trainer_new(mf->model, mf->mse ? CG_LOSS_MSE : CG_LOSS_CROSS_ENTROPY,
                              s->threads ? s->threads : 1))) {
        cli_error("out of memory");
        goto out;
    }
    for (size_t at = 0; at < cg_dataset_size(ds); at += CHECK_BATCH) {
        size_t left = cg_dataset_size(ds) - at;
        int rows = left < CHECK_BATCH ? (int)left : CHECK_BATCH;
        for (int i = 0; i < rows; i++) {
            cg_dataset_row(ds, at + (size_t)i, raw + (size_t)i * (size_t)in);
            labels[i] = cg_dataset_label(ds, at + (size_t)i);
        }
        memcpy(x, raw, (size_t)rows * (size_t)in * sizeof *x);
        cg_norm_apply(&mf->norm, x, (size_t)rows);
        if (cli_model_outputs(mf, tr, x, rows, yf) != CG_OK ||
            cg_model_export_eval(mf->model, o, raw, (size_t)rows, ye, top) != CG_OK) {
            cli_error("%s: %s", s->check, cg_errmsg());
            goto out;
        }
        compare(r, yf, ye, top, mf->classify ? labels : NULL, rows, out);
    }
    rc = CLI_OK;
out:
    cg_trainer_free(tr);
    cg_dataset_free(ds);
    free(raw);
    free(x);
    free(yf);
    free(ye);
    return rc;
}

static double share(size_t part, size_t whole)
{
    return whole ? (double)part / (double)whole : (double)NAN;
}

static void print_text(const struct cli_settings *s, const struct cli_model_file *mf,
                       const struct cg_export_report *rep, const struct check_result *r)
{
    printf("wrote %s: %zu bytes of C, %s weights in %zu bytes, stack at most %zu bytes\n",
           s->c_out, rep->c_bytes, s->int8 ? "int8" : "float", rep->weight_bytes,
           rep->stack_bytes);
    if (s->header)
        printf("wrote %s: %zu bytes\n", s->header, rep->h_bytes);
    if (!s->check)
        return;
    printf("check on %s (%zu samples): ", s->check, r->n);
    if (mf->classify)
        printf("top class equal to the float model's on %.2f%%; accuracy %.4f (float model "
               "%.4f); ", 100 * share(r->agree, r->n), share(r->correct_e, r->n),
               share(r->correct_f, r->n));
    printf("outputs within %.3g of the float model's (relative %.3g)\n", r->max_abs,
           r->max_rel);
}

static void print_json(const struct cli_settings *s, const struct cli_model_file *mf,
                       const struct cg_export_report *rep, const struct check_result *r)
{
    struct cli_json j;
    cli_json_init(&j, stdout);
    cli_json_begin_obj(&j);
    cli_json_key(&j, "c_file");
    cli_json_str(&j, s->c_out);
    cli_json_key(&j, "c_bytes");
    cli_json_int(&j, (long long)rep->c_bytes);
    cli_json_key(&j, "header");
    cli_json_str(&j, s->header);
    cli_json_key(&j, "weights");
    cli_json_str(&j, s->int8 ? "int8" : "float");
    cli_json_key(&j, "weight_bytes");
    cli_json_int(&j, (long long)rep->weight_bytes);
    cli_json_key(&j, "stack_bytes");
    cli_json_int(&j, (long long)rep->stack_bytes);
    if (s->check) {
        cli_json_key(&j, "check");
        cli_json_begin_obj(&j);
        cli_json_key(&j, "samples");
        cli_json_int(&j, (long long)r->n);
        if (mf->classify) {
            cli_json_key(&j, "top_class_agreement");
            cli_json_num(&j, share(r->agree, r->n));
            cli_json_key(&j, "accuracy");
            cli_json_num(&j, share(r->correct_e, r->n));
            cli_json_key(&j, "float_accuracy");
            cli_json_num(&j, share(r->correct_f, r->n));
        }
        cli_json_key(&j, "max_abs_diff");
        cli_json_num(&j, r->max_abs);
        cli_json_key(&j, "max_rel_diff");
        cli_json_num(&j, r->max_rel);
        cli_json_end(&j);
    }
    cli_json_end(&j);
    fputc('\n', stdout);
}

int cli_export(int argc, char **argv)
{
    struct cli_settings s;
    struct cli_model_file mf;
    struct check_result r = {0};
    struct cg_export_report rep;
    char name[CG_EXPORT_NAME_MAX + 1];

    cli_settings_defaults(&s);
    int rc = cli_parse(CLI_CMD_EXPORT, argc, argv, &s);
    if (rc != CLI_OK)
        return rc < 0 ? CLI_OK : rc;
    if (!s.c_out)
        return cli_usage_error("export", "missing -o FILE.c");
    if ((rc = pick_name(&s, name, sizeof name)) != CLI_OK || (rc = check_paths(&s)) != CLI_OK)
        return rc;
    if ((rc = cli_model_open(&mf, s.positional[0])) != CLI_OK) {
        cli_model_close(&mf);
        return rc;
    }
    struct cg_export_options o = {
        .name = name, .header = s.header, .int8 = s.int8, .classify = mf.classify,
        .n_norm = mf.norm.n, .norm_offset = mf.norm.offset, .norm_scale = mf.norm.scale,
        .classes = mf.classify ? mf.meta.classes : NULL,
        .n_classes = mf.classify && mf.meta.classes ? mf.meta.n_classes : 0,
        .source = s.positional[0]};
    /* The check first: a data set that does not fit the model writes nothing. */
    if (s.check && (rc = run_check(&s, &mf, &o, &r)) != CLI_OK)
        goto out;
    cg_clear_error();
    if (cg_model_export_c(mf.model, s.c_out, &o, &rep) != CG_OK) {
        const char *msg = cg_errmsg();
        bool named = strstr(msg, s.c_out) || (s.header && strstr(msg, s.header));
        rc = cli_error("%s%s%s", named ? "" : s.positional[0], named ? "" : ": ", msg);
        goto out;
    }
    if (s.json)
        print_json(&s, &mf, &rep, &r);
    else
        print_text(&s, &mf, &rep, &r);
out:
    cli_model_close(&mf);
    return rc;
}
