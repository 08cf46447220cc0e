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

/* The model's outputs for rows samples x: [rows, in] (normalized), run on
 * tr (made for mf->model), into y: [rows, out]: the class probabilities
 * (softmax) to classify, the values to regress. */
cg_status   cli_model_outputs(const struct cli_model_file *mf, cg_trainer *tr, const cg_float *x,
                              int rows, cg_float *y);

struct cli_settings;
/* Load DATA at path as the model's training read its data (label column,
 * classes, image size; an IDX folder means its t10k pair; s->format and
 * s->label may override), checked against the model's sizes (eval.c). NULL
 * after printing the error. */
cg_dataset *cli_model_load_data(const struct cli_model_file *mf, const struct cli_settings *s,
                                const char *path);

#endif /* CG_CLI_MODEL_FILE_H */
