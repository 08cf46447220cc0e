/*
 * Opening a model file for eval, predict and info (see model_file.h).
 */
#include <stdio.h>
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
    mf->classify = !mf->meta.task || strcmp(mf->meta.task, "regression") != 0;
    const char *loss = cli_model_extra(mf, "loss");
    mf->mse = loss ? strcmp(loss, "mse") == 0 : !mf->classify;
    const char *label = cli_model_extra(mf, "label");
    mf->label = label && label[0] ? label : NULL;
    mf->data_format = cli_model_extra(mf, "data_format");
    const char *size = cli_model_extra(mf, "image_size");
    if (size && size[0] &&
        sscanf(size, "%dx%dx%d", &mf->width, &mf->height, &mf->channels) != 3)
        return bad_meta(mf, "image_size");
    if (mf->meta.normalization) {
        if (cg_norm_parse(&mf->norm, mf->meta.normalization) != CG_OK)
            return bad_meta(mf, "normalization");
        if (mf->norm.n != 0 && mf->norm.n != cg_model_input_size(mf->model))
            return cli_error("%s: the normalization has %d features, the model %d inputs", path,
                             mf->norm.n, cg_model_input_size(mf->model));
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
