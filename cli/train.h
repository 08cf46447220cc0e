/*
 * The state of one `cgrad train` run, shared by train.c (data, model,
 * optimizer, the call to cg_fit and its callbacks) and train_out.c (the
 * facts the model file records, what messages call a setting, the printed
 * results). Not a public interface.
 */
#ifndef CG_CLI_TRAIN_H
#define CG_CLI_TRAIN_H

#include "cli.h"
#include "options.h"

#define MAX_META 8

/* Everything a run holds; freed by run_free in train.c. */
struct run {
    struct cli_settings s;
    char  *data_real;                 /* DATA as an absolute path */
    int    format;
    cg_dataset *data, *test;          /* test: --test or IDX t10k */
    bool   classify;
    const char **classes;             /* [n_classes] borrowed from data */
    int    n_classes, n_in, n_out;
    cg_model  *model;
    cg_optim  *opt;
    struct cg_fit_result res;
    struct cg_eval_result test_result;  /* a test set besides a validation split */
    /* the facts of the run the library records in its files (settings.meta) */
    struct cg_meta_kv meta[MAX_META];
    int    n_meta;
    char   image_size[48];
    char   spec[CG_NN_SPEC_MAX];
    char  *ckpt_default;
    char   plot_title[1024];
    /* the callbacks' */
    struct cli_progress progress;
    int    callback_rc;               /* a callback's error, printed already */
};

/* The facts of the run that only the command line knows (DATA's path,
 * format, label column, test set, image size) into r->meta. */
void        cli_train_build_meta(struct run *r);
/* What messages of the library call a setting: the options. */
extern const struct cg_meta_kv cli_setting_names[];
extern const int cli_n_setting_names;
/* --checkpoint, or <out>.ckpt.safetensors for a stop without one. */
const char *cli_train_ckpt_path(struct run *r);
/* The result of a run that ended (not an error): one JSON object, or the
 * summary lines. */
void        cli_train_print_json(const struct run *r);
void        cli_train_print_text(const struct run *r);

#endif /* CG_CLI_TRAIN_H */
