/*
 * A model file opened for eval, predict and info: the model, its metadata,
 * and what the metadata says about reading inputs (classes, label column,
 * image size, normalization, loss).
 */
#ifndef CG_CLI_MODEL_FILE_H
#define CG_CLI_MODEL_FILE_H

#include "cgrad.h"

struct cli_model_file {
    const char *path;
    cg_model   *model;
    struct cg_model_meta meta;
    bool        classify;
    bool        mse;                        /* trained with MSE */
    struct cg_norm norm;
    int         width, height, channels;    /* images; 0 for tables */
    const char *label;                      /* CSV label column, NULL: last */
    const char *data_format;                /* "csv", "idx", "images" or NULL */
};

/* Open a model file. CLI_OK, or CLI_RUNTIME after printing the error (it
 * names the file). */
int         cli_model_open(struct cli_model_file *mf, const char *path);
void        cli_model_close(struct cli_model_file *mf);
/* An extra metadata value, or NULL. */
const char *cli_model_extra(const struct cli_model_file *mf, const char *key);
/* Class c's name ("3" when the file has no names). */
const char *cli_model_class(const struct cli_model_file *mf, int c, char *buf, size_t n);

#endif /* CG_CLI_MODEL_FILE_H */
