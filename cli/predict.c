/*
 * `cgrad predict MODEL INPUT...`: for each image file, or each row of a CSV
 * file without the label column, the predicted class and its probability
 * (the --top K most probable), or the predicted values for regression.
 * Inputs are read and normalized as the model's training data were.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "input.h"
#include "model_file.h"
#include "options.h"

struct predictor {
    const struct cli_settings *s;
    struct cli_model_file *mf;
    cg_trainer *tr;         /* runs each batch's forward pass on --threads threads */
    int       batch, in, out;
    cg_float *x, *y;      /* [batch, in], [batch, out] */
    int      *order;      /* [out] classes by probability */
    const char *names[512];   /* the inputs of the pending batch */
    long      rows[512];      /* CSV row (1-based), 0 for an image */
    int       pending;
    struct cli_json j;      /* --json: written to a memory buffer first, */
    char     *json_text;    /* so that a failure prints no half object */
    size_t    json_len;
};

static bool is_image(const char *path)
{
    static const char *const ext[] = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tga",
                                      ".pnm", ".ppm", ".pgm"};
    for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++)
        if (cli_has_suffix(path, ext[i]))
            return true;
    return false;
}

/* Classes of row i sorted by probability, most probable first (stable). */
static void rank(struct predictor *p, const cg_float *prob, int k)
{
    for (int c = 0; c < k; c++) {
        int at = c;
        while (at > 0 && prob[p->order[at - 1]] < prob[c]) {
            p->order[at] = p->order[at - 1];
            at--;
        }
        p->order[at] = c;
    }
}

static void emit(struct predictor *p, int i)
{
    int out = p->out, top = p->s->top < out ? p->s->top : out;
    const cg_float *y = p->y + (size_t)i * (size_t)out;
    char buf[32];
    if (p->mf->classify)
        rank(p, y, out);
    if (p->s->json) {
        struct cli_json *j = &p->j;
        cli_json_begin_obj(j);
        cli_json_key(j, "input");
        cli_json_str(j, p->names[i]);
        if (p->rows[i]) {
            cli_json_key(j, "row");
            cli_json_int(j, p->rows[i]);
        }
        cli_json_key(j, p->mf->classify ? "top" : "values");
        cli_json_begin_arr(j);
        for (int t = 0; t < (p->mf->classify ? top : out); t++) {
            if (!p->mf->classify) {
                cli_json_num(j, (double)y[t]);
                continue;
            }
            cli_json_begin_obj(j);
            cli_json_key(j, "class");
            cli_json_str(j, cli_model_class(p->mf, p->order[t], buf, sizeof buf));
            cli_json_key(j, "probability");
            cli_json_num(j, (double)y[p->order[t]]);
            cli_json_end(j);
        }
        cli_json_end(j);
        cli_json_end(j);
        return;
    }
    if (p->rows[i])
        printf("%s:%ld", p->names[i], p->rows[i]);
    else
        printf("%s", p->names[i]);
    if (p->mf->classify)
        for (int t = 0; t < top; t++)
            printf("  %s %.4f", cli_model_class(p->mf, p->order[t], buf, sizeof buf),
                   (double)y[p->order[t]]);
    else
        for (int t = 0; t < out; t++)
            printf("  %.6g", (double)y[t]);
    printf("\n");
}

/* Run the pending rows through the model and print them. */
static int flush(struct predictor *p)
{
    if (!p->pending)
        return CLI_OK;
    cg_norm_apply(&p->mf->norm, p->x, (size_t)p->pending);
    struct cg_batch b = {p->x, NULL, NULL, p->pending};
    if (cg_trainer_forward(p->tr, &b, p->y, NULL) != CG_OK)
        return cli_error("%s: %s", p->mf->path, cg_errmsg());
    if (p->mf->classify)   /* probabilities */
        cg_kernel_softmax_rows(p->y, p->y, p->pending, p->out);
    for (int i = 0; i < p->pending; i++)
        emit(p, i);
    p->pending = 0;
    return CLI_OK;
}

/* The next free row of the batch buffer, after a flush if it is full. */
static cg_float *next_row(struct predictor *p, const char *name, long row, int *rc)
{
    if (p->pending == p->batch && (*rc = flush(p)) != CLI_OK)
        return NULL;
    p->names[p->pending] = name;
    p->rows[p->pending] = row;
    return p->x + (size_t)p->pending * (size_t)p->in;
}

static int add_image(struct predictor *p, const char *path)
{
    const struct cli_model_file *mf = p->mf;
    int rc = CLI_OK;
    if (!mf->width)
        return cli_error("%s: %s was not trained on images", path, mf->path);
    cg_float *x = next_row(p, path, 0, &rc);
    if (!x)
        return rc;
    cg_clear_error();
    if (cg_image_load_features(path, mf->width, mf->height, mf->channels, x) != CG_OK) {
        const char *msg = cg_errmsg();
        return cli_error("%s%s%s", strstr(msg, path) ? "" : path, strstr(msg, path) ? "" : ": ",
                         msg);
    }
    p->pending++;
    return CLI_OK;
}

static int add_csv(struct predictor *p, const char *path)
{
    struct cg_csv_options o = {0};
    o.task = CG_TASK_NONE;
    int rc = CLI_OK;
    cg_clear_error();
    cg_dataset *ds = cg_csv_load(path, &o);
    if (!ds) {
        const char *msg = cg_errmsg();
        return cli_error("%s%s%s", strstr(msg, path) ? "" : path, strstr(msg, path) ? "" : ": ",
                         msg);
    }
    if (cg_dataset_features(ds) != p->in) {
        rc = cli_error("%s: %d columns, but %s takes %d features (leave out the label column)",
                       path, cg_dataset_features(ds), p->mf->path, p->in);
        goto out;
    }
    for (size_t i = 0; i < cg_dataset_size(ds); i++) {
        cg_float *x = next_row(p, path, (long)i + 1, &rc);
        if (!x)
            goto out;
        cg_dataset_row(ds, i, x);
        p->pending++;
    }
    rc = flush(p);   /* the names point into this call's path only */
out:
    cg_dataset_free(ds);
    return rc;
}

int cli_predict(int argc, char **argv)
{
    struct cli_settings s;
    struct cli_model_file mf;
    struct predictor p;
    memset(&p, 0, sizeof p);
    cli_settings_defaults(&s);
    int rc = cli_parse(CLI_CMD_PREDICT, argc, argv, &s);
    if (rc != CLI_OK)
        return rc < 0 ? CLI_OK : rc;
    if ((rc = cli_model_open(&mf, s.positional[0])) != CLI_OK) {
        cli_model_close(&mf);
        return rc;
    }
    p.s = &s;
    p.mf = &mf;
    p.batch = 256;
    p.in = cg_model_input_size(mf.model);
    p.out = cg_model_output_size(mf.model);
    p.x = calloc((size_t)p.batch * (size_t)p.in, sizeof *p.x);
    p.y = calloc((size_t)p.batch * (size_t)p.out, sizeof *p.y);
    p.order = calloc((size_t)p.out, sizeof *p.order);
    cg_set_blas_threads(1);
    if (!p.x || !p.y || !p.order ||
        !(p.tr = cg_trainer_new(mf.model, mf.mse ? CG_LOSS_MSE : CG_LOSS_CROSS_ENTROPY,
                                s.threads))) {
        rc = cli_error("out of memory");
        goto out;
    }
    if (s.json) {
        FILE *mem = open_memstream(&p.json_text, &p.json_len);
        if (!mem) {
            rc = cli_error("out of memory");
            goto out;
        }
        cli_json_init(&p.j, mem);
        cli_json_begin_obj(&p.j);
        cli_json_key(&p.j, "predictions");
        cli_json_begin_arr(&p.j);
    }
    for (int i = 1; i < s.n_positional && rc == CLI_OK; i++)
        rc = is_image(s.positional[i]) ? add_image(&p, s.positional[i])
                                       : add_csv(&p, s.positional[i]);
    if (rc == CLI_OK)
        rc = flush(&p);
    if (s.json) {
        cli_json_end(&p.j);
        cli_json_end(&p.j);
        if (fclose(p.j.f) != 0 && rc == CLI_OK)
            rc = cli_error("out of memory");
        if (rc == CLI_OK)
            fwrite(p.json_text, 1, p.json_len, stdout);
        free(p.json_text);
    }
out:
    cg_trainer_free(p.tr);
    free(p.x);
    free(p.y);
    free(p.order);
    cli_model_close(&mf);
    return rc;
}
