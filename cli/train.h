/*
 * The state of one `cgrad train` run, shared by train.c (data, model,
 * optimizer, the loop) and train_out.c (model file, checkpoint metadata,
 * the printed results). Not a public interface.
 */
#ifndef CG_CLI_TRAIN_H
#define CG_CLI_TRAIN_H

#include "checkpoint.h"
#include "cli.h"
#include "engine.h"
#include "options.h"

#define MAX_META 40

/* Everything a run holds; freed by run_free in train.c. */
struct run {
    struct cli_settings s;
    char  *data_real;                 /* DATA as an absolute path */
    int    format;
    cg_dataset *train, *val, *test;   /* val: split off; test: --test or IDX t10k */
    bool   classify;
    const char **classes;             /* [n_classes] borrowed from train */
    int    n_classes, n_in, n_out;
    struct cg_norm norm;
    cg_model  *model;
    cg_optim  *opt;
    struct cg_schedule sched;
    cg_loader *loader;
    struct cli_engine eng;
    struct cli_history hist;
    struct cli_run_state state;
    /* the metadata of the model file and the checkpoint */
    struct cg_meta_kv meta[MAX_META];
    int    n_meta;
    char   spec[CG_NN_SPEC_MAX], optim_desc[CG_OPTIM_DESCRIBE_MAX];
    char  *norm_text, *classes_json, *ckpt_default;
    char   texts[20][64];             /* storage for the numbers in meta */
    int    n_texts;
    struct cli_eval_result final_val, final_test;
    double seconds;
    char   plot_title[1024];
    const char *ckpt_written;         /* the checkpoint of a stop, if any */
};

/* Why the loop ended. */
enum stop { RUN_ON, STOP_STEPS, STOP_SIGNAL };

/* The model file's and the checkpoint's settings metadata (r->meta). */
int         cli_train_build_meta(struct run *r);
/* Save the model file (atomically). */
int         cli_train_save_model(struct run *r, const char *path);
/* The checkpoint's metadata into kv (MAX_META + 8 entries); returns the count. */
int         cli_train_checkpoint_meta(const struct run *r, struct cg_meta_kv *kv,
                                      char *input_size, size_t n_buf);
/* Save a checkpoint of the run as it stands. */
int         cli_train_save_checkpoint(struct run *r, const char *path);
/* --checkpoint, or <out>.ckpt.safetensors for a stop without one. */
const char *cli_train_ckpt_path(struct run *r);
/* The final result: one JSON object, or the summary lines. */
void        cli_train_print_json(const struct run *r, enum stop stop);
void        cli_train_print_text(const struct run *r);

#endif /* CG_CLI_TRAIN_H */
