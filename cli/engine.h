/*
 * The two functions that do the numerical work of the cgrad program: one
 * training step on a mini-batch, and the evaluation of a whole data set.
 * Their interface is deliberately narrow (an engine holding the model, the
 * optimizer, the nn layer's data-parallel batch runner and the batch
 * buffers): --threads N runs each batch's forward and backward on N threads
 * (cg_trainer), with single-threaded GEMMs.
 *
 *     struct cli_engine e;
 *     cli_engine_init(&e, model, opt, batch, classify, mse, dropout_seed, threads);
 *     while ((rows = cg_loader_next(ld, e.x, e.labels, NULL)) > 0)
 *         if (cli_train_step(&e, rows, &r) != CG_OK) ...;   // r.loss, r.correct
 *     cli_evaluate(&e, val_set, &norm, &result, NULL);        // result.accuracy
 *     cli_engine_deinit(&e);
 */
#ifndef CG_CLI_ENGINE_H
#define CG_CLI_ENGINE_H

#include <stdbool.h>
#include <stdint.h>

#include "cgrad.h"

struct cli_engine {
    cg_model  *model;      /* borrowed */
    cg_optim  *opt;        /* borrowed; NULL for evaluation only */
    cg_trainer *tr;        /* owned: runs batches on `threads` threads */
    cg_tensor *flat;       /* cg_model_flat(model): all parameters */
    cg_rng     dropout_rng;
    int        batch, in, out;
    bool       classify;
    bool       mse;        /* loss: MSE (on one-hot targets to classify), else CE */
    double     clip_norm;  /* 0: none */
    double     clip_value; /* 0: none */
    /* batch buffers, written by the loader: */
    cg_float  *x;          /* [batch, in] */
    int       *labels;     /* [batch] (classification) */
    cg_float  *targets;    /* [batch, out] (regression) */
    cg_float  *y;          /* [batch, out] outputs, for evaluation */
};

/* What one step measured. */
struct cli_step_result {
    double loss;        /* mean loss of the batch */
    int    correct;     /* rows whose argmax is the label (classification) */
    double grad_norm;   /* with clip_norm: the gradients' global L2 norm before
                           clipping; else 0, or NaN when one is not finite */
};

/* What an evaluation measured. */
struct cli_eval_result {
    double loss;        /* mean over the samples */
    double accuracy;    /* NaN for regression */
    size_t n;           /* samples */
};

/* Set up an engine for model (and opt, or NULL) on `threads` threads:
 * makes the batch runner and the batch buffers, and sets OpenBLAS to one
 * thread when threads > 1 (else to one as well: a product of 128 rows gains
 * little from it). CG_OK, or an error in cg_errmsg(). */
cg_status cli_engine_init(struct cli_engine *e, cg_model *model, cg_optim *opt, int batch,
                          bool classify, bool mse, uint64_t dropout_seed, int threads);
/* Free what cli_engine_init allocated; a zeroed engine is a no-op. */
void      cli_engine_deinit(struct cli_engine *e);

/* One training step on the first `rows` samples of the batch buffers:
 * forward, loss and backward (on the threads), clipping, optimizer step,
 * zero grad. A loss or gradient norm that is not finite is CG_ERR_NUMERIC
 * and the parameters are left as they were. Allocates nothing after the
 * first step. */
cg_status cli_train_step(struct cli_engine *e, int rows, struct cli_step_result *r);

/* Evaluate the model on ds with norm applied (NULL: none): mean loss and
 * accuracy; confusion (NULL, or [classes, classes], row = true class) is
 * incremented by the counts. */
cg_status cli_evaluate(struct cli_engine *e, const cg_dataset *ds, const struct cg_norm *norm,
                       struct cli_eval_result *r, long *confusion);

/* The model's outputs for rows samples of x: [rows, in] (already
 * normalized) into out: [rows, out]: probabilities (softmax) to classify,
 * the values to regress. */
cg_status cli_predict_rows(struct cli_engine *e, const cg_float *x, int rows, cg_float *out);

#endif /* CG_CLI_ENGINE_H */
