/*
 * Opening a model file for eval, predict and info (see model_file.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "input.h"
#include "model_file.h"

const char *cli_model_extra(const struct cli_model_file *mf, const char *key)
{
    for (int i = 0; i < mf->meta.n_extra; i++)
        if (strcmp(mf->meta.extra[i].key, key) == 0)
            return mf->meta.extra[i].value;
    return NULL;
}

const char *cli_model_class(const struct cli_model_file *mf, int c, char *buf, size_t n)
{
    if (mf->meta.classes && c >= 0 && c < mf->meta.n_classes)
        return mf->meta.classes[c];
    snprintf(buf, n, "%d", c);
    return buf;
}

static int bad_meta(const struct cli_model_file *mf, const char *key)
{
    return cli_error("%s: bad metadata '%s'", mf->path, key);
}

/* One decimal number of "WxHxC" in [1, max], at *p; advances *p. */
static bool read_dim(const char **p, long max, int *out)
{
    char *end;
    if (**p < '0' || **p > '9')
        return false;
    errno = 0;
    long v = strtol(*p, &end, 10);
    if (errno || v < 1 || v > max)
        return false;
    *out = (int)v;
    *p = end;
    return true;
}

/* "WxHxC" must say exactly the model's input count: predict writes
 * W * H * C values into a row of that many (a larger claim wrote past it,
 * a smaller one left garbage). */
static int read_image_size(struct cli_model_file *mf, const char *text)
{
    const char *p = text;
    int in = cg_model_input_size(mf->model);
    if (!read_dim(&p, 65536, &mf->width) || *p++ != 'x' ||
        !read_dim(&p, 65536, &mf->height) || *p++ != 'x' ||
        !read_dim(&p, 3, &mf->channels) || *p || mf->channels == 2) {
        mf->width = 0;
        return cli_error("%s: bad metadata 'image_size': '%s' is not WxHxC (C 1 or 3)",
                         mf->path, text);
    }
    long long n = (long long)mf->width * mf->height * mf->channels;
    if (n != in) {
        mf->width = 0;
        return cli_error("%s: metadata 'image_size' %s is %lld inputs, the model takes %d",
                         mf->path, text, n, in);
    }
    return CLI_OK;
}

int cli_model_open(struct cli_model_file *mf, const char *path)
{
    memset(mf, 0, sizeof *mf);
    mf->path = path;
    cg_clear_error();
    if (!(mf->model = cg_model_load(path, &mf->meta))) {
        const char *msg = cg_errmsg();
        return cli_error("%s%s%s", strstr(msg, path) ? "" : path, strstr(msg, path) ? "" : ": ",
                         msg[0] ? msg : "cannot load the model");
    }
    int in = cg_model_input_size(mf->model);
    mf->classify = !mf->meta.task || strcmp(mf->meta.task, "regression") != 0;
    const char *loss = cli_model_extra(mf, "loss");
    mf->mse = loss ? strcmp(loss, "mse") == 0 : !mf->classify;
    const char *label = cli_model_extra(mf, "label");
    mf->label = label && label[0] ? label : NULL;
    mf->data_format = cli_model_extra(mf, "data_format");
    const char *size = cli_model_extra(mf, "image_size");
    if (size && size[0] && read_image_size(mf, size) != CLI_OK)
        return CLI_RUNTIME;
    if (mf->meta.normalization) {
        cg_status st = cg_norm_parse(&mf->norm, mf->meta.normalization, in);
        if (st == CG_ERR_SHAPE)
            return cli_error("%s: metadata 'normalization' is not for the model's %d inputs",
                             path, in);
        if (st != CG_OK)
            return bad_meta(mf, "normalization");
    }
    if (mf->classify && mf->meta.classes && mf->meta.n_classes != cg_model_output_size(mf->model))
        return cli_error("%s: %d class names for %d outputs", path, mf->meta.n_classes,
                         cg_model_output_size(mf->model));
    return CLI_OK;
}

void cli_model_close(struct cli_model_file *mf)
{
    cg_model_free(mf->model);
    cg_model_meta_deinit(&mf->meta);
    cg_norm_deinit(&mf->norm);
    memset(mf, 0, sizeof *mf);
}

cg_status cli_model_outputs(const struct cli_model_file *mf, cg_trainer *tr, const cg_float *x,
                            int rows, cg_float *y)
{
    struct cg_batch b = {x, NULL, NULL, rows};
    cg_status st = cg_trainer_forward(tr, &b, y, NULL);
    if (st == CG_OK && mf->classify)
        cg_kernel_softmax_rows(y, y, rows, cg_model_output_size(mf->model));
    return st;
}
