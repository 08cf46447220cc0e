/*
 * One training step and the evaluation of a data set (see engine.h).
 *
 * A step follows DESIGN.md's "one training step": forward through the
 * model on the batch, the loss (cross-entropy on logits, or MSE), backward
 * (these three by the nn layer's cg_trainer, on --threads threads, which
 * also resets its graphs), the global gradient norm (clipped with
 * --clip-norm, torch.nn.utils.clip_grad_norm_), the element clamp
 * (--clip-value, clip_grad_value_), the optimizer's update and zero grad
 * (one pass over memory: cg_optim_step_zero_grad).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"

/* The CLI is a program, not the library: it allocates with the C library. */
static void *alloc_array(size_t n, size_t size)
{
    return calloc(n ? n : 1, size);
}

cg_status cli_engine_init(struct cli_engine *e, cg_model *model, cg_optim *opt, int batch,
                          bool classify, bool mse, uint64_t dropout_seed, int threads)
{
    memset(e, 0, sizeof *e);
    e->model = model;
    e->opt = opt;
    e->batch = batch;
    e->in = cg_model_input_size(model);
    e->out = cg_model_output_size(model);
    e->classify = classify;
    e->mse = mse;
    e->flat = cg_model_flat(model);
    cg_rng_seed(&e->dropout_rng, dropout_seed);
    cg_set_blas_threads(1);
    e->tr = cg_trainer_new(model, mse ? CG_LOSS_MSE : CG_LOSS_CROSS_ENTROPY, threads);
    if (!e->tr)
        return cg_errcode();
    e->x = alloc_array((size_t)batch * (size_t)e->in, sizeof *e->x);
    e->labels = alloc_array((size_t)batch, sizeof *e->labels);
    e->targets = alloc_array((size_t)batch * (size_t)e->out, sizeof *e->targets);
    e->y = alloc_array((size_t)batch * (size_t)e->out, sizeof *e->y);
    if (!e->x || !e->labels || !e->targets || !e->y || !e->flat) {
        cli_engine_deinit(e);
        cg_clear_error();
        return CG_ERR_NOMEM;
    }
    return CG_OK;
}

void cli_engine_deinit(struct cli_engine *e)
{
    cg_trainer_free(e->tr);
    free(e->x);
    free(e->labels);
    free(e->targets);
    free(e->y);
    memset(e, 0, sizeof *e);
}

/* The batch of the first `rows` samples of the buffers. */
static struct cg_batch batch_of(const struct cli_engine *e, int rows)
{
    return (struct cg_batch){e->x, e->classify ? e->labels : NULL,
                             e->classify ? NULL : e->targets, rows};
}

/* With --clip-norm: the global L2 norm of all gradients, which are then
 * clipped to clip_norm. Without: 0 when every gradient is finite, NaN if
 * not, as the trainer found while it summed them (a full norm costs a few
 * percent of a step). */
static double grad_norm(struct cli_engine *e, const struct cg_batch_result *br)
{
    if (e->clip_norm > 0)
        return (double)cg_clip_grad_norm(&e->flat, 1, e->clip_norm);
    return br->grads_finite ? 0.0 : (double)NAN;
}

cg_status cli_train_step(struct cli_engine *e, int rows, struct cli_step_result *r)
{
    struct cg_batch b = batch_of(e, rows);
    struct cg_batch_result br;
    cg_status st = cg_trainer_backward(e->tr, &b, &e->dropout_rng, &br);
    r->loss = br.loss;
    r->correct = br.correct;
    r->grad_norm = (double)NAN;
    if (st != CG_OK)
        goto out_zero;
    if (!isfinite(r->loss)) {
        st = CG_ERR_NUMERIC;
        goto out_zero;
    }
    r->grad_norm = grad_norm(e, &br);
    if (!isfinite(r->grad_norm)) {
        st = CG_ERR_NUMERIC;
        goto out_zero;
    }
    if (e->clip_value > 0 && (st = cg_clip_grad_value(&e->flat, 1, e->clip_value)) != CG_OK)
        goto out_zero;
    st = cg_optim_step_zero_grad(e->opt, cg_trainer_pool(e->tr));
    if (st == CG_OK)
        return CG_OK;
out_zero:
    cg_optim_zero_grad_pool(e->opt, cg_trainer_pool(e->tr));
    return st;
}

cg_status cli_evaluate(struct cli_engine *e, const cg_dataset *ds, const struct cg_norm *norm,
                       struct cli_eval_result *r, long *confusion)
{
    cg_status st = CG_OK;
    double loss_sum = 0;
    size_t correct = 0, n = 0;
    cg_loader *ld = cg_loader_new(ds, e->batch, false, false, 0);
    if (!ld)
        return cg_errcode();
    cg_loader_set_pool(ld, cg_trainer_pool(e->tr));
    if (norm && (st = cg_loader_set_norm(ld, norm)) != CG_OK)
        goto out;
    int rows;
    while ((rows = cg_loader_next(ld, e->x, e->classify ? e->labels : NULL,
                                  e->classify ? NULL : e->targets)) > 0) {
        struct cg_batch b = batch_of(e, rows);
        struct cg_batch_result br;
        if ((st = cg_trainer_forward(e->tr, &b, confusion ? e->y : NULL, &br)) != CG_OK)
            goto out;
        loss_sum += br.loss * rows;
        correct += (size_t)br.correct;
        n += (size_t)rows;
        for (int i = 0; confusion && e->classify && i < rows; i++) {
            const cg_float *y = e->y + (size_t)i * (size_t)e->out;
            int best = 0;
            for (int c = 1; c < e->out; c++)
                best = y[c] > y[best] ? c : best;
            confusion[(size_t)e->labels[i] * (size_t)e->out + (size_t)best]++;
        }
    }
    r->n = n;
    r->loss = n ? loss_sum / (double)n : (double)NAN;
    r->accuracy = e->classify && n ? (double)correct / (double)n : (double)NAN;
out:
    cg_loader_free(ld);
    return st;
}

cg_status cli_predict_rows(struct cli_engine *e, const cg_float *x, int rows, cg_float *out)
{
    struct cg_batch b = {x, NULL, NULL, rows};
    cg_status st = cg_trainer_forward(e->tr, &b, out, NULL);
    if (st == CG_OK && e->classify)
        cg_kernel_softmax_rows(out, out, rows, e->out);
    return st;
}
