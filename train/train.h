/*
 * cgrad train layer: a whole training run in one call.
 *
 * cg_fit trains a model with an optimizer on a data set, the way `cgrad
 * train` does (the command is a client of this layer): epochs of shuffled
 * mini-batches, each batch's forward and backward pass on T threads, the
 * learning rate per epoch (a schedule) and per step (warm-up), clipping,
 * validation after every epoch, early stopping, a policy for losses and
 * gradients that are not finite, atomic checkpoints from which a killed run
 * resumes bit for bit, and callbacks that see every step and every epoch.
 * It uses nn/, optim/ and data/; it knows nothing of the command line.
 *
 *     cg_dataset *data = cg_csv_load("iris.csv", NULL);
 *     cg_model *m = cg_model_from_spec("4-16-3");
 *     cg_rng rng;
 *     cg_rng_seed(&rng, 1);
 *     cg_model_init(m, CG_INIT_DEFAULT, &rng);
 *     cg_tensor *flat = cg_model_flat(m);
 *     cg_optim *opt = cg_adam_new(&flat, 1, NULL);
 *     struct cg_fit_settings s = cg_fit_defaults();
 *     s.epochs = 200, s.val_split = 0.2, s.patience = 10, s.restore_best = true;
 *     s.checkpoint = "iris.ckpt", s.out = "iris.safetensors";
 *     struct cg_fit_result r;
 *     if (cg_fit(m, opt, data, NULL, &s, &r) != CG_OK)
 *         fprintf(stderr, "%s\n", cg_errmsg());
 *     cg_fit_result_deinit(&r);
 *
 * Random streams, all from settings.seed, so that the same settings and
 * thread count give the same bits: the validation split (seed), the order
 * of each epoch's batches (seed + 1), dropout (seed + 2). The model's
 * initial weights are the caller's (the CLI draws them from seed too).
 *
 * One step, in this order: forward, loss and backward of the batch on the
 * threads (nn's cg_trainer); the check that the loss and every gradient are
 * finite; clipping (clip_norm's global L2 norm and scaling, clip_value's
 * clamp); the optimizer's update and zero grad. docs/TRAIN.md says it all
 * at length.
 */
#ifndef CG_TRAIN_H
#define CG_TRAIN_H

#include "../data/data.h"
#include "../nn/nn.h"
#include "../optim/optim.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- evaluation ------------------------------------------------------------ */

/* What an evaluation measured. */
struct cg_eval_result {
    double loss;       /* mean over the samples */
    double accuracy;   /* share of samples whose largest output is their class;
                          NaN to regress */
    size_t n;          /* samples */
};

/* How to evaluate. */
struct cg_eval_settings {
    const struct cg_norm *norm;   /* applied to every sample; NULL: none */
    enum cg_loss loss;            /* as the model was trained */
    int          batch;           /* 0: 128 */
    int          threads;         /* as cg_fit_settings.threads */
};

/* Evaluate m on ds (with s, or NULL: no normalization, cross-entropy on
 * class labels and MSE on regression targets, batches of 128, one
 * thread): mean loss and accuracy into *r; confusion (NULL, or
 * [classes, classes], row = true class, column = predicted) is incremented
 * by the counts. CG_OK, or an error in cg_errmsg(). */
cg_status cg_evaluate(cg_model *m, const cg_dataset *ds, const struct cg_eval_settings *s,
                      long *confusion, struct cg_eval_result *r);

/* ---- what the callbacks see ------------------------------------------------ */

/* After every batch: where the epoch stands, with its running figures. */
struct cg_fit_step {
    int    epoch;         /* 1-based, the epoch under way */
    int    epochs;        /* settings.epochs */
    long   step;          /* optimizer steps taken, this one included */
    size_t done, total;   /* samples of the epoch done (skipped ones too), its size */
    double loss;          /* mean loss over the epoch's batches so far */
    double accuracy;      /* running accuracy; NaN to regress */
    double lr;            /* the learning rate of this step */
    double seconds;       /* since the epoch began (a resumed epoch's earlier part too) */
    bool   skipped;       /* this batch was not finite and skipped (CG_NONFINITE_SKIP) */
};

/* One epoch's figures: a row of the history. NaN where there is no figure. */
struct cg_fit_epoch {
    int    epoch;         /* 1-based */
    long   step;          /* optimizer steps taken by its end */
    double lr;            /* the learning rate of its last step */
    double train_loss;    /* mean over its batches (a resumed epoch's earlier part too) */
    double train_acc;     /* running accuracy over its batches; NaN to regress */
    double val_loss;      /* on the validation data after the epoch; NaN without */
    double val_acc;
    double seconds;       /* wall-clock, its validation included */
    long   skipped;       /* batches skipped as not finite */
};

/* What a callback tells the run. */
enum cg_fit_action {
    CG_FIT_CONTINUE = 0,  /* go on */
    CG_FIT_STOP,          /* stop now as after a stop request: checkpoint and model
                             are written, cg_fit returns CG_OK (CG_FIT_END_REQUEST) */
    CG_FIT_ABORT          /* stop at once, write nothing; cg_fit returns CG_ERR_STATE
                             (the callback reports its own reason) */
};

/* After each batch. A signal handler's flag is checked here to stop a run
 * cleanly (as `cgrad train` does for Ctrl-C). */
typedef enum cg_fit_action (*cg_fit_step_fn)(const struct cg_fit_step *step, void *user);
/* After each epoch's validation, early-stopping bookkeeping and checkpoint:
 * history[0..n) is every epoch so far (those of a resumed run's earlier
 * sessions too); history[n - 1] is the epoch that just ended. */
typedef enum cg_fit_action (*cg_fit_epoch_fn)(const struct cg_fit_epoch *history, int n,
                                             void *user);

/* ---- settings ---------------------------------------------------------------- */

/* What to do with a loss or a gradient that is not finite. */
enum cg_nonfinite {
    CG_NONFINITE_STOP = 0,  /* stop before the update: CG_ERR_NUMERIC, and cg_errmsg()
                               names the epoch, the step and the loss, or the first
                               parameter (state_dict order) whose gradient is not
                               finite, or the gradient norm */
    CG_NONFINITE_SKIP       /* drop the batch (no update, its gradients zeroed), count
                               it, and go on */
};

/* A whole run's settings. Start from cg_fit_defaults() and change fields. */
struct cg_fit_settings {
    /* the run */
    int          epochs;        /* 10: passes over the training data */
    int          batch;         /* 128: an epoch's last batch may be smaller */
    long         max_steps;     /* 0: no limit; else stop after this many optimizer
                                   steps in all (those before a resume count) */
    bool         shuffle;       /* true: a new order each epoch (seed + 1) */
    uint64_t     seed;          /* 1 */
    int          threads;       /* 1: each batch is split across this many threads;
                                   0: as many as the CPUs this process may use */
    enum cg_loss loss;          /* CG_LOSS_CROSS_ENTROPY (classes only) or CG_LOSS_MSE */
    /* the data */
    double       val_split;     /* 0: the share of train_set held out (stratified,
                                   drawn from seed) for validation; needs val_set NULL */
    cg_norm_kind normalize;     /* CG_NORM_ZSCORE, fitted on the training split */
    const struct cg_norm *norm; /* NULL; else used as it is (borrowed) instead */
    const char *const *class_names;  /* NULL; else the class names the model file
                                        records, in place of the data set's */
    int          n_class_names;
    /* the step */
    double       clip_norm;     /* 0: none; else clip_grad_norm_ to this L2 norm */
    double       clip_value;    /* 0: none; else clamp every gradient to [-v, v] */
    struct cg_schedule schedule;  /* the learning rate per epoch (t = epochs done):
                                     CONSTANT; base_lr 0 means the optimizer's lr;
                                     its warmup_steps must be 0 (see warmup) */
    long         warmup;        /* 0; else multiply the rate by (step + 1) / warmup
                                   over the first `warmup` optimizer steps */
    enum cg_nonfinite on_nonfinite;   /* CG_NONFINITE_STOP */
    /* early stopping, on the validation loss */
    int          patience;      /* 0: off; else stop when this many epochs in a row
                                   have not lowered the best validation loss by more
                                   than min_delta (so after epoch best + patience) */
    double       min_delta;     /* 0 */
    bool         restore_best;  /* false; true: the run ends with the weights of the
                                   epoch of lowest validation loss */
    /* files (NULL: none) */
    const char  *out;           /* the trained model, written when the run ends
                                   (not after an error or a non-finite stop) */
    const char  *checkpoint;    /* written at every epoch's end, every
                                   checkpoint_steps steps and when a stop ends the run */
    long         checkpoint_steps;   /* 0: only at epochs' ends */
    const char  *stop_checkpoint;    /* where a stop request saves the run when
                                        checkpoint is NULL */
    const char  *resume;        /* continue the run saved in this checkpoint */
    /* The caller's facts about the run (say the data file's path): written
     * into the model file and every checkpoint, and a resume whose value of
     * one of them differs is refused. Borrowed. */
    const struct cg_meta_kv *meta;
    int          n_meta;
    /* What messages call a setting, by its key: its metadata key, else its
     * field's name ("batch" -> "--batch", "patience" -> "--patience"); a
     * key not listed is called by the key. Borrowed. */
    const struct cg_meta_kv *names;
    int          n_names;
    /* callbacks (NULL: none) and the pointer they are given */
    cg_fit_step_fn  on_step;
    cg_fit_epoch_fn on_epoch;
    void           *user;
};

/* The defaults above. */
struct cg_fit_settings cg_fit_defaults(void);

/* ---- the run ------------------------------------------------------------------- */

/* Why a run ended. */
enum cg_fit_end {
    CG_FIT_END_DONE = 0,    /* all epochs trained */
    CG_FIT_END_EARLY,       /* early stopping: patience ran out */
    CG_FIT_END_MAX_STEPS,   /* max_steps reached */
    CG_FIT_END_REQUEST,     /* a callback asked to stop */
    CG_FIT_END_NONFINITE,   /* a loss or gradient was not finite (CG_NONFINITE_STOP) */
    CG_FIT_END_ERROR        /* any other failure */
};

/* What a run did. Release with cg_fit_result_deinit. */
struct cg_fit_result {
    enum cg_fit_end end;
    int    epochs;          /* epochs completed (a resumed run's earlier ones too) */
    long   steps;           /* optimizer steps taken in all */
    long   skipped;         /* batches skipped as not finite, in all */
    int    best_epoch;      /* the epoch of lowest validation loss; 0: none yet */
    double best_val_loss;   /* its validation loss; NaN: none */
    bool   restored;        /* the model holds best_epoch's weights (restore_best) */
    struct cg_eval_result val;  /* the final model on the validation data, when
                                   the run ended without a stop request; else NaN */
    double seconds;         /* this call's wall-clock time */
    struct cg_fit_epoch *history;  /* [n_history]: every epoch's figures; owned */
    int    n_history;
    struct cg_norm norm;    /* the normalization of the inputs (fitted or given);
                               owned: pass it to cg_evaluate for other data */
    const char *checkpoint; /* the last checkpoint this call wrote, or NULL */
};

/* Train m (whose parameters the caller initialised, or that settings.resume
 * restores) with opt (built over cg_model_flat(m)) on train_set, validating
 * on val_set (NULL: none, or settings.val_split's share of train_set) after
 * every epoch. Both data sets are borrowed. *r is always filled in (release
 * it with cg_fit_result_deinit): CG_OK when the run ended as planned, early,
 * at max_steps or on a stop request; CG_ERR_NUMERIC for a non-finite stop;
 * another status for an error, which cg_errmsg() describes. On a non-finite
 * stop the parameters are those before the failed step. */
cg_status cg_fit(cg_model *m, cg_optim *opt, const cg_dataset *train_set,
                 const cg_dataset *val_set, const struct cg_fit_settings *settings,
                 struct cg_fit_result *r);

/* Free what cg_fit put in *r and zero it; a zeroed result is a no-op. */
void      cg_fit_result_deinit(struct cg_fit_result *r);

#ifdef __cplusplus
}
#endif

#endif /* CG_TRAIN_H */
