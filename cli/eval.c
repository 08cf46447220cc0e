/*
 * `cgrad eval MODEL DATA`: the model's loss and accuracy on DATA, read as
 * training read its data (label column, classes, image size, the stored
 * normalization), with per-class precision and recall and the confusion
 * matrix (text, and an SVG picture with --confusion). The last line of the
 * plain output is `accuracy <value>` (`loss <value>` for regression).
 * An IDX folder means its t10k (test) pair.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "input.h"
#include "model_file.h"
#include "options.h"

struct class_stats {
    double precision, recall;   /* NaN when undefined (nothing predicted / present) */
    long   support;             /* samples of the class */
};

/* Per-class figures from the confusion counts [k, k] (row = true class). */
static void class_stats(const long *conf, int k, struct class_stats *cs)
{
    for (int c = 0; c < k; c++) {
        long row = 0, col = 0;
        for (int j = 0; j < k; j++) {
            row += conf[c * k + j];
            col += conf[j * k + c];
        }
        long tp = conf[c * k + c];
        cs[c].support = row;
        cs[c].recall = row ? (double)tp / (double)row : (double)NAN;
        cs[c].precision = col ? (double)tp / (double)col : (double)NAN;
    }
}

static void print_text(const struct cli_model_file *mf, const struct cg_eval_result *r,
                       const long *conf, const struct class_stats *cs, int k)
{
    char buf[32];
    printf("samples %zu\nloss %.6f\n", r->n, r->loss);
    if (!mf->classify)
        return;   /* the loss is the last line */
    int w = 5;
    for (int c = 0; c < k; c++) {
        int len = (int)strlen(cli_model_class(mf, c, buf, sizeof buf));
        w = len > w ? (len > 24 ? 24 : len) : w;
    }
    printf("\n%-*s  precision  recall  support\n", w, "class");
    for (int c = 0; c < k; c++)
        printf("%-*.*s  %9.4f  %6.4f  %7ld\n", w, w, cli_model_class(mf, c, buf, sizeof buf),
               cs[c].precision, cs[c].recall, cs[c].support);
    printf("\nconfusion matrix (rows: true class, columns: predicted, in class order)\n");
    long max = 1;
    for (int i = 0; i < k * k; i++)
        max = conf[i] > max ? conf[i] : max;
    int cw = snprintf(buf, sizeof buf, "%ld", max) + 1;
    for (int i = 0; i < k; i++) {
        printf("%-*.*s ", w, w, cli_model_class(mf, i, buf, sizeof buf));
        for (int j = 0; j < k; j++)
            printf("%*ld", cw, conf[i * k + j]);
        printf("\n");
    }
    printf("\naccuracy %.4f\n", r->accuracy);
}

static void print_json(const struct cli_model_file *mf, const struct cg_eval_result *r,
                       const long *conf, const struct class_stats *cs, int k)
{
    struct cli_json j;
    char buf[32];
    cli_json_init(&j, stdout);
    cli_json_begin_obj(&j);
    cli_json_key(&j, "samples");
    cli_json_int(&j, (long long)r->n);
    cli_json_key(&j, "loss");
    cli_json_num(&j, r->loss);
    if (mf->classify) {
        cli_json_key(&j, "accuracy");
        cli_json_num(&j, r->accuracy);
        cli_json_key(&j, "classes");
        cli_json_begin_arr(&j);
        for (int c = 0; c < k; c++) {
            cli_json_begin_obj(&j);
            cli_json_key(&j, "name");
            cli_json_str(&j, cli_model_class(mf, c, buf, sizeof buf));
            cli_json_key(&j, "precision");
            cli_json_num(&j, cs[c].precision);
            cli_json_key(&j, "recall");
            cli_json_num(&j, cs[c].recall);
            cli_json_key(&j, "support");
            cli_json_int(&j, cs[c].support);
            cli_json_end(&j);
        }
        cli_json_end(&j);
        cli_json_key(&j, "confusion");
        cli_json_begin_arr(&j);
        for (int i = 0; i < k; i++) {
            cli_json_begin_arr(&j);
            for (int c = 0; c < k; c++)
                cli_json_int(&j, conf[i * k + c]);
            cli_json_end(&j);
        }
        cli_json_end(&j);
    }
    cli_json_end(&j);
}

cg_dataset *cli_model_load_data(const struct cli_model_file *mf, const struct cli_settings *s,
                                const char *path)
{
    int given = s->format;
    int format = cli_detect_format(path, given);
    if (format < 0)
        return NULL;
    struct cli_read how = {format, s->label ? s->label : mf->label,
                           mf->classify ? CLI_TASK_CLASSIFY : CLI_TASK_REGRESS,
                           mf->width, mf->height, mf->channels,
                           format == CLI_FORMAT_CSV && mf->classify ? mf->meta.classes : NULL,
                           format == CLI_FORMAT_CSV && mf->classify ? mf->meta.n_classes : 0};
    cg_dataset *ds = cli_load(path, &how, true, NULL);
    if (!ds)
        return NULL;
    int in = cg_model_input_size(mf->model), out = cg_model_output_size(mf->model);
    if (cg_dataset_features(ds) != in)
        cli_error("%s: %d features per sample, but %s takes %d", path, cg_dataset_features(ds),
                  mf->path, in);
    else if (mf->classify && cli_check_classes(ds, path, mf->meta.classes, out, mf->path))
        ;   /* printed */
    else if (!mf->classify && cg_dataset_targets(ds) != out)
        cli_error("%s: %d targets per sample, but %s predicts %d", path, cg_dataset_targets(ds),
                  mf->path, out);
    else
        return ds;
    cg_dataset_free(ds);
    return NULL;
}

int cli_eval(int argc, char **argv)
{
    struct cli_settings s;
    struct cli_model_file mf;
    struct cg_eval_result r;
    cg_dataset *ds = NULL;
    long *conf = NULL;
    struct class_stats *cs = NULL;

    cli_settings_defaults(&s);
    int rc = cli_parse(CLI_CMD_EVAL, argc, argv, &s);
    if (rc != CLI_OK)
        return rc < 0 ? CLI_OK : rc;
    if ((rc = cli_model_open(&mf, s.positional[0])) != CLI_OK)
        goto out;
    rc = CLI_RUNTIME;
    if (!(ds = cli_model_load_data(&mf, &s, s.positional[1])))
        goto out;
    int k = cg_model_output_size(mf.model);
    conf = calloc((size_t)k * (size_t)k, sizeof *conf);
    cs = calloc((size_t)k, sizeof *cs);
    if (!conf || !cs) {
        cli_error("out of memory");
        goto out;
    }
    struct cg_eval_settings es = {&mf.norm, mf.mse ? CG_LOSS_MSE : CG_LOSS_CROSS_ENTROPY,
                                  s.batch, s.threads};
    if (cg_evaluate(mf.model, ds, &es, conf, &r) != CG_OK) {
        cli_error("%s: %s", s.positional[1], cg_errmsg());
        goto out;
    }
    class_stats(conf, k, cs);
    if (s.json)
        print_json(&mf, &r, conf, cs, k);
    else if (s.quiet)
        printf(mf.classify ? "accuracy %.4f\n" : "loss %.6f\n", mf.classify ? r.accuracy : r.loss);
    else
        print_text(&mf, &r, conf, cs, k);
    rc = CLI_OK;
    if (s.confusion && mf.classify) {
        char buf[32];
        const char **names = calloc((size_t)k, sizeof *names);
        char (*nums)[32] = calloc((size_t)k, sizeof *nums);
        if (!names || !nums) {
            rc = cli_error("out of memory");
        } else {
            for (int c = 0; c < k; c++) {
                snprintf(nums[c], sizeof nums[c], "%s", cli_model_class(&mf, c, buf, sizeof buf));
                names[c] = nums[c];
            }
            char title[256];
            snprintf(title, sizeof title, "confusion matrix: accuracy %.4f on %zu samples",
                     r.accuracy, r.n);
            rc = cli_plot_confusion(s.confusion, conf, k, names, title);
        }
        free(names);
        free(nums);
    }
out:
    free(conf);
    free(cs);
    cg_dataset_free(ds);
    cli_model_close(&mf);
    return rc;
}
