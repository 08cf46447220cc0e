/*
 * `cgrad predict MODEL INPUT...`: for each image file (or every image in a
 * folder), or each row of a CSV file (or of stdin, `-`), the predicted
 * class and its probability (the --top K most probable), or the predicted
 * values for regression. Inputs are read and normalized as the model's
 * training data were; a CSV may still hold its label column.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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

/* The library's last error, with the input's name in front unless the
 * message names it already. */
static int input_error(const char *path)
{
    const char *msg = cg_errmsg();
    return cli_error("%s%s%s", strstr(msg, path) ? "" : path, strstr(msg, path) ? "" : ": ",
                     msg);
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
    if (cli_model_outputs(p->mf, p->tr, p->x, p->pending, p->y) != CG_OK)
        return cli_error("%s: %s", p->mf->path, cg_errmsg());
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
    if (cg_image_load_features(path, mf->width, mf->height, mf->channels, x) != CG_OK)
        return input_error(path);
    p->pending++;
    return CLI_OK;
}

/* Every image under a folder, at any depth, in sorted order. */
static int add_folder(struct predictor *p, const char *dir)
{
    char **paths;
    size_t n;
    int rc = CLI_OK;
    cg_clear_error();
    if (cg_image_files(dir, &paths, &n) != CG_OK)
        return input_error(dir);
    if (n == 0)
        rc = cli_error("%s: no image files in this folder or below (png, jpg, jpeg, bmp, gif, "
                       "tga, pnm, ppm, pgm)", dir);
    for (size_t i = 0; i < n && rc == CLI_OK; i++)
        rc = add_image(p, paths[i]);
    if (rc == CLI_OK)
        rc = flush(p);   /* the names point into paths */
    cg_image_files_free(paths, n);
    return rc;
}

/* A CSV file (or stdin for "-"): the model's columns, found by the header
 * names it stores, or by position with the label column left out. */
static int add_csv(struct predictor *p, const char *path)
{
    bool in = strcmp(path, "-") == 0;
    const char *name = in ? "stdin" : path;
    struct cg_csv_options o = {0};
    o.task = CG_TASK_NONE;
    o.n_inputs = p->in;
    o.feature_names = p->mf->meta.features;
    o.label = p->mf->label;
    int rc = CLI_OK;
    cg_clear_error();
    cg_dataset *ds = in ? cg_csv_load_stream(stdin, name, &o) : cg_csv_load(path, &o);
    if (!ds)
        return input_error(name);
    for (size_t i = 0; i < cg_dataset_size(ds); i++) {
        cg_float *x = next_row(p, name, (long)i + 1, &rc);
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

/* One INPUT: "-", a folder, an image file or a CSV file. */
static int add_input(struct predictor *p, const char *path)
{
    struct stat st;
    if (strcmp(path, "-") != 0 && stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return add_folder(p, path);
    return cg_image_is_file_name(path) ? add_image(p, path) : add_csv(p, path);
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
        rc = add_input(&p, s.positional[i]);
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
