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
    const char **class_names;         /* [n_classes] --class-names, in class_text */
    char  *class_text;
    int    n_classes, n_in, n_out;
    cg_model  *model;
    cg_optim  *opt;
    struct cg_fit_result res;
    cg_dist   *dist;                  /* the processes mpirun started, or this one */
    struct cli_train_point *point;    /* a sweep's point: its figures, nothing printed */
    struct cg_eval_result test_result;  /* a test set besides a validation split */
    /* the facts of the run the library records in its files (settings.meta) */
    struct cg_meta_kv meta[MAX_META];
    int    n_meta;
    char  *meta_text[MAX_META];       /* values made valid UTF-8, owned */
    char   image_size[48];
    char   spec[CG_NN_SPEC_MAX];
    char  *ckpt_default;
    char   plot_title[1024];
    /* the callbacks' */
    struct cli_progress progress;
    int    callback_rc;               /* a callback's error, printed already */
};

/* --class-names FILE|a,b,c (IDX data only) into r->class_names, as many
 * as the data has classes. CLI_OK, or the status after the message. */
int         cli_class_names(struct run *r, const char *arg);
/* What a sweep keeps of one training (sweep.c). */
struct cli_train_point {
    int    epochs;
    double train_loss, train_acc;   /* the last epoch's */
    double val_loss, val_acc;       /* the final model on the validation data (a
                                       split, else --test); NaN without */
    double seconds;
    cg_dist *watch;                 /* in: the sweep's processes, whose watchdog hears at
                                       every step that this one is alive (cg_dist_alive) */
};

/* One `cgrad train` with argv (argv[0] "train") in the processes dist
 * (borrowed; NULL: alone). point: NULL, or a sweep's point, which writes
 * no file, prints nothing but errors, and fills *point. The exit status. */
int         cli_train_run(cg_dist *dist, int argc, char **argv, struct cli_train_point *point);
/* Join the processes mpirun started (cg_dist_init) and send the stdout of
 * all but rank 0 to /dev/null; CLI_OK, or the error printed. */
int         cli_dist_join(cg_dist **dist);
/* Meet the others a last time (watched: a rank that hung in its last writes
 * is named) and leave the processes (cg_dist_free, which ends the whole job
 * after a watchdog's verdict). rc: the command's status so far; the
 * status to exit with. */
int         cli_dist_leave(cg_dist *dist, int rc);
/* Fill r->point from the ended run. */
void        cli_train_point_fill(const struct run *r);

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
