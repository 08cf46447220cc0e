/*
 * Internals of the train layer shared between its files (prefix cg__). Not
 * installed.
 *
 *     engine.c      one training step and the evaluation of a data set
 *     fit.c         cg_fit: the run, epoch by epoch, and how it ends
 *     settings.c    the settings as metadata, the model file, the history as text
 *     checkpoint.c  saving a run and resuming it bit for bit
 *     dist_step.c   the backward pass of a step across processes (dist.h)
 */
#ifndef CG_TRAIN_INTERNAL_H
#define CG_TRAIN_INTERNAL_H

#include "../tensor/internal.h"
#include "train.h"

/* ---- the engine (engine.c) --------------------------------------------------
 * The model, the optimizer, the nn layer's batch runner on T threads and the
 * batch buffers the loader fills: what a step and an evaluation need. */

struct cg__engine {
    cg_model   *model;       /* borrowed */
    cg_optim   *opt;         /* borrowed; NULL to evaluate only */
    cg_trainer *tr;          /* owned */
    cg_tensor  *flat;        /* cg_model_flat(model): every parameter */
    cg_rng      dropout_rng;
    int         batch, in, out;
    bool        classify;    /* the batches have labels, else targets */
    double      clip_norm;   /* 0: none */
    double      clip_value;  /* 0: none */
    cg_float   *x;           /* [batch, in] */
    int        *labels;      /* [batch] */
    cg_float   *targets;     /* [batch, out] */
    cg_float   *y;           /* [batch, out] outputs, for a confusion matrix */
    /* across processes (dist_step.c) */
    cg_dist    *dist;        /* NULL: this process alone */
    bool        deterministic;
    bool        spread;      /* cg__dist_backward runs the batches */
    cg_float   *shares;      /* deterministic: [CG__DIST_SHARES, P] the shares' gradients */
};

/* What was not finite in a failed step. */
enum cg__bad { CG__BAD_NONE, CG__BAD_LOSS, CG__BAD_GRAD, CG__BAD_NORM };

/* What one step measured. */
struct cg__step_result {
    double      loss;        /* mean loss of the batch */
    int         correct;     /* rows whose largest output is their label */
    double      grad_norm;   /* with clip_norm: the global L2 norm before clipping */
    enum cg__bad bad;        /* CG_ERR_NUMERIC: what was not finite */
    const char *param;       /* CG__BAD_GRAD: the first such parameter's name */
    double      value;       /* the value that was not finite */
};

/* Set up e for m (and opt, or NULL) with batches of `batch` rows of data
 * with labels (classify) or targets, on `threads` threads. */
cg_status cg__engine_init(struct cg__engine *e, cg_model *m, cg_optim *opt, enum cg_loss loss,
                          int batch, int threads, bool classify);
/* Free what cg__engine_init allocated; a zeroed engine is a no-op. */
void      cg__engine_deinit(struct cg__engine *e);
/* The next batch of ld into the buffers: its rows, 0 at an epoch's end. */
int       cg__engine_next(struct cg__engine *e, cg_loader *ld);
/* cg__engine_next for a training batch: across processes, only the rows
 * this process runs (cg__dist_rows) are converted; the count is the whole
 * batch's. */
int       cg__engine_next_train(struct cg__engine *e, cg_loader *ld);
/* One training step on the first `rows` rows of the buffers. A loss or a
 * gradient that is not finite is CG_ERR_NUMERIC with r->bad saying which,
 * and the parameters are left as they were. No allocation after the first. */
cg_status cg__engine_step(struct cg__engine *e, int rows, struct cg__step_result *r);
/* Evaluate on ds (see cg_evaluate). */
cg_status cg__engine_evaluate(struct cg__engine *e, const cg_dataset *ds,
                              const struct cg_norm *norm, long *confusion,
                              struct cg_eval_result *r);

/* ---- across processes (dist_step.c) -------------------------------------------
 * The deterministic sum cuts a batch into at most this many shares (so at
 * most this many processes have work in it); and a run has at most
 * CG__DIST_MAX_PROCS processes. */
#define CG__DIST_SHARES     16
#define CG__DIST_MAX_PROCS  4096

/* Set e up to run its batches across dist's processes (deterministic: in
 * shares added in a fixed order). */
cg_status cg__dist_engine_init(struct cg__engine *e, cg_dist *dist, bool deterministic);
/* The backward pass of batch b (the whole batch, the same in every
 * process) across the processes: the gradient of its mean loss in every
 * process's flat gradient buffer, its figures into *r. Every process calls
 * it, and every process returns the same status. */
cg_status cg__dist_backward(struct cg__engine *e, const struct cg_batch *b,
                            struct cg_batch_result *r);
/* The rows [r0, r1) of a batch of `rows` rows that this process runs: its
 * shard, or with the deterministic sum the rows of its shares (empty when
 * it has none). */
void      cg__dist_rows(const struct cg__engine *e, int rows, int *r0, int *r1);

/* ---- the run (fit.c) ------------------------------------------------------------ */

/* Where a run stands: what a checkpoint holds besides tensors. */
struct cg__state {
    long    step;           /* optimizer steps taken */
    int     epoch;          /* epochs completed */
    struct cg_loader_state loader;
    cg_rng  dropout;        /* the dropout generator */
    /* the epoch under way, so that a resumed epoch's figures are whole */
    double  loss_sum;       /* sum over its trained batches of loss * rows */
    long    correct;        /* rows classified right */
    long    rows;           /* rows trained */
    long    skipped;        /* batches skipped as not finite */
    double  seconds;        /* time spent on it before (an earlier session) */
    /* early stopping */
    int     best_epoch;     /* the epoch of lowest validation loss; 0: none */
    double  best_loss;      /* its validation loss; +inf: none */
};

/* The settings as metadata: the model file's and every checkpoint's, and
 * what a resume must find unchanged. */
#define CG__META_MAX    48   /* entries in all */
#define CG__META_CALLER 32   /* of them the caller's */

struct cg__meta {
    struct cg_meta_kv kv[CG__META_MAX];  /* the caller's, then the library's */
    int          n;
    const char  *task;                   /* "classification" or "regression" */
    const char **classes;                /* [n_classes] borrowed names; owned array */
    int          n_classes;
    const char **features;               /* [n_features] borrowed names; owned array;
                                            NULL for images */
    int          n_features;
    char        *norm_text;              /* owned */
    char         spec[CG_NN_SPEC_MAX];
    char         optim[CG_OPTIM_DESCRIBE_MAX];
    char         schedule[96];
    char         num[12][32];            /* the numbers' texts */
    int          n_num;
};

/* One cg_fit call. */
struct cg__fit {
    cg_model  *model;
    cg_optim  *opt;
    const struct cg_fit_settings *s;
    struct cg_fit_result *r;        /* the caller's: history, norm, figures */
    const cg_dataset *train, *val;  /* what the epochs use */
    cg_dataset *split[2];           /* owned views of a validation split */
    struct cg_schedule sched;       /* s->schedule with its base_lr filled in */
    cg_loader *loader;
    struct cg__engine eng;
    struct cg__state st;
    cg_tensor *best;                /* [P] the best epoch's parameters (restore_best) */
    struct cg__meta meta;
    int        hist_cap;
    double     epoch_t0;            /* when the epoch under way began, less st.seconds */
    bool       ended;               /* r->end says why */
};

/* What messages call a setting (settings.names, else the key). */
const char *cg__fit_name(const struct cg__fit *f, const char *key);
/* Seconds on a monotonic clock. */
double      cg__fit_now(void);

/* Across processes (dist_step.c): whether this process writes the files
 * and calls the callbacks (rank 0); rank 0's callback action, its status
 * after writing a file, and its weights, into every process. */
bool      cg__fit_writes(const struct cg__fit *f);
cg_status cg__fit_share_action(struct cg__fit *f, enum cg_fit_action *a);
cg_status cg__fit_share_status(struct cg__fit *f, cg_status st);
cg_status cg__fit_share_weights(struct cg__fit *f);

/* ---- settings, model file, history (settings.c) ------------------------------------ */

/* Fill f->meta from the settings, the data and the model. */
cg_status cg__meta_build(struct cg__fit *f);
void      cg__meta_deinit(struct cg__meta *m);
/* The keys a resume must find unchanged: "spec", "task" and f->meta.kv. */
int       cg__meta_fixed_count(const struct cg__fit *f);
struct cg_meta_kv cg__meta_fixed(const struct cg__fit *f, int i);
/* The model file: parameters and metadata, plus the tensors and keys of
 * a checkpoint (extra, more_kv; none for a plain model file). */
cg_status cg__save_model(const struct cg__fit *f, const char *path,
                         const struct cg_named_tensor *extra, int n_extra,
                         const struct cg_meta_kv *more_kv, int n_more);
/* Append a row to f->r->history. */
cg_status cg__history_add(struct cg__fit *f, const struct cg_fit_epoch *row);
/* The history as CSV text with every digit (a checkpoint's), cg__malloc'd. */
char     *cg__history_text(const struct cg_fit_epoch *rows, int n);
/* Parse that text (or the 8 columns of older checkpoints) onto the history. */
cg_status cg__history_parse(struct cg__fit *f, const char *text);

/* ---- checkpoints (checkpoint.c) ------------------------------------------------------ */

/* Save the run as it stands to path, atomically. */
cg_status cg__checkpoint_save(struct cg__fit *f, const char *path);
/* Resume from the checkpoint at path: refuse a changed setting, else load
 * the parameters, optimizer state, run state, history and best weights. */
cg_status cg__checkpoint_restore(struct cg__fit *f, const char *path);

#endif /* CG_TRAIN_INTERNAL_H */
