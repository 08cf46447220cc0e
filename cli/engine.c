/*
 * One training step and the evaluation of a data set (see engine.h).
 *
 * A step follows DESIGN.md's "one training step": forward through the
 * model on the batch, the loss (cross-entropy on logits, or MSE), backward,
 * the global gradient norm (clipped with --clip-norm, torch.nn.utils.
 * clip_grad_norm_), the element clamp (--clip-value, clip_grad_value_), the
 * optimizer's update, zero grad, and the graph reset that frees every
 * intermediate at once.
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
                          bool classify, bool mse, uint64_t dropout_seed)
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
    e->g = cg_graph_new();
    e->x = alloc_array((size_t)batch * (size_t)e->in, sizeof *e->x);
    e->labels = alloc_array((size_t)batch, sizeof *e->labels);
    e->targets = alloc_array((size_t)batch * (size_t)e->out, sizeof *e->targets);
    e->argmax = alloc_array((size_t)batch, sizeof *e->argmax);
    if (!e->g || !e->x || !e->labels || !e->targets || !e->argmax || !e->flat) {
        cli_engine_deinit(e);
        cg_clear_error();
        return CG_ERR_NOMEM;
    }
    return CG_OK;
}

void cli_engine_deinit(struct cli_engine *e)
{
    cg_graph_free(e->g);
    free(e->x);
    free(e->labels);
    free(e->targets);
    free(e->argmax);
    memset(e, 0, sizeof *e);
}

/* The loss of output y: [rows, out] against the batch's labels or targets. */
static cg_tensor *batch_loss(struct cli_engine *e, cg_tensor *y, int rows)
{
    if (!e->mse)
        return cg_cross_entropy(e->g, y, e->labels);
    cg_tensor *t;
    if (e->classify) {
        t = cg_graph_tensor(e->g, 2, (int[]){rows, e->out});
        if (!t || cg_one_hot(t, e->labels, rows) != CG_OK)
            return NULL;
    } else {
        t = cg_graph_wrap(e->g, e->targets, 2, (int[]){rows, e->out});
    }
    return cg_mse_loss(e->g, y, t);
}

/* Rows of y: [rows, out] whose largest output is the label. */
static int count_correct(struct cli_engine *e, const cg_tensor *y, int rows)
{
    if (!e->classify || cg_tensor_argmax_axis(e->argmax, y, 1) != CG_OK)
        return 0;
    int correct = 0;
    for (int i = 0; i < rows; i++)
        correct += (int)e->argmax[i] == e->labels[i];
    return correct;
}

/* With --clip-norm: the global L2 norm of all gradients, which are then
 * clipped to clip_norm. Without: 0 when every gradient is finite, NaN if
 * not; x - x is 0 for a finite x and NaN for an infinite or NaN one, a test
 * the compiler vectorizes (a full norm costs a few percent of a step). */
static double grad_norm(struct cli_engine *e)
{
    if (e->clip_norm > 0)
        return (double)cg_clip_grad_norm(&e->flat, 1, e->clip_norm);
    const cg_float *g = e->flat->grad;
    int bad = 0;
    for (size_t i = 0; i < e->flat->size; i++)
        bad |= !(g[i] - g[i] == 0);
    return bad ? (double)NAN : 0.0;
}

cg_status cli_train_step(struct cli_engine *e, int rows, struct cli_step_result *r)
{
    cg_status st = CG_OK;
    cg_graph_set_training(e->g, true);
    cg_graph_set_grad(e->g, true);
    cg_tensor *x = cg_graph_wrap(e->g, e->x, 2, (int[]){rows, e->in});
    cg_tensor *y = cg_model_forward(e->g, e->model, x, &e->dropout_rng);
    cg_tensor *loss = batch_loss(e, y, rows);
    if (!loss) {
        st = cg_errcode() != CG_OK ? cg_errcode() : CG_ERR_STATE;
        goto out_reset;
    }
    r->loss = (double)loss->data[0];
    r->correct = count_correct(e, y, rows);
    r->grad_norm = (double)NAN;
    if (!isfinite(r->loss)) {
        st = CG_ERR_NUMERIC;
        goto out_zero;
    }
    if ((st = cg_backward(e->g, loss)) != CG_OK)
        goto out_zero;
    r->grad_norm = grad_norm(e);
    if (!isfinite(r->grad_norm)) {
        st = CG_ERR_NUMERIC;
        goto out_zero;
    }
    if (e->clip_value > 0 && (st = cg_clip_grad_value(&e->flat, 1, e->clip_value)) != CG_OK)
        goto out_zero;
    st = cg_optim_step(e->opt);
out_zero:
    cg_model_zero_grad(e->model);
out_reset:
    cg_graph_reset(e->g);
    return st;
}

/* Forward of rows samples already in e->x, in eval mode without gradients;
 * y stays in the graph until the caller resets it. */
static cg_tensor *forward_eval(struct cli_engine *e, int rows)
{
    cg_graph_set_training(e->g, false);
    cg_graph_set_grad(e->g, false);
    cg_tensor *x = cg_graph_wrap(e->g, e->x, 2, (int[]){rows, e->in});
    return cg_model_forward(e->g, e->model, x, NULL);
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
    if (norm && (st = cg_loader_set_norm(ld, norm)) != CG_OK)
        goto out;
    int rows;
    while ((rows = cg_loader_next(ld, e->x, e->classify ? e->labels : NULL,
                                  e->classify ? NULL : e->targets)) > 0) {
        cg_tensor *y = forward_eval(e, rows);
        cg_tensor *loss = batch_loss(e, y, rows);
        if (!loss) {
            st = cg_errcode() != CG_OK ? cg_errcode() : CG_ERR_STATE;
            cg_graph_reset(e->g);
            goto out;
        }
        loss_sum += (double)loss->data[0] * rows;
        correct += (size_t)count_correct(e, y, rows);
        if (confusion && e->classify)
            for (int i = 0; i < rows; i++)
                confusion[(size_t)e->labels[i] * (size_t)e->out + e->argmax[i]]++;
        n += (size_t)rows;
        cg_graph_reset(e->g);
    }
    r->n = n;
    r->loss = n ? loss_sum / (double)n : (double)NAN;
    r->accuracy = e->classify && n ? (double)correct / (double)n : (double)NAN;
out:
    cg_graph_set_training(e->g, true);
    cg_graph_set_grad(e->g, true);
    cg_loader_free(ld);
    return st;
}

cg_status cli_predict_rows(struct cli_engine *e, const cg_float *x, int rows, cg_float *out)
{
    memcpy(e->x, x, (size_t)rows * (size_t)e->in * sizeof *x);
    cg_tensor *y = forward_eval(e, rows);
    cg_status st = CG_OK;
    if (!y)
        st = cg_errcode() != CG_OK ? cg_errcode() : CG_ERR_STATE;
    else if (e->classify)
        cg_kernel_softmax_rows(out, y->data, rows, e->out);
    else
        memcpy(out, y->data, (size_t)rows * (size_t)e->out * sizeof *out);
    cg_graph_reset(e->g);
    cg_graph_set_training(e->g, true);
    cg_graph_set_grad(e->g, true);
    return st;
}
