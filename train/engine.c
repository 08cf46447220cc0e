/*
 * One training step and the evaluation of a data set.
 *
 * A step follows DESIGN.md's "one training step": forward through the
 * model on the batch, the loss (cross-entropy on logits, or MSE) and
 * backward, these three by the nn layer's cg_trainer on T threads (which
 * also resets its graphs); the check that the loss and every gradient are
 * finite; the global gradient norm, clipped (torch.nn.utils.clip_grad_norm_);
 * the element clamp (clip_grad_value_); the optimizer's update and zero grad
 * in one pass over memory (cg_optim_step_zero_grad).
 */
#include <math.h>
#include <string.h>

#include "../data/internal.h"
#include "internal.h"

cg_status cg__engine_init(struct cg__engine *e, cg_model *m, cg_optim *opt, enum cg_loss loss,
                          int batch, int threads, bool classify)
{
    size_t in_len, out_len;

    memset(e, 0, sizeof *e);
    e->model = m;
    e->opt = opt;
    e->batch = batch;
    e->in = cg_model_input_size(m);
    e->out = cg_model_output_size(m);
    e->classify = classify;
    e->flat = cg_model_flat(m);
    /* cgrad's threads split the batch; OpenBLAS's would compete with them,
     * and a product of 128 rows gains little from its own threads anyway. */
    cg_set_blas_threads(1);
    if (!cg__mul_size((size_t)batch, (size_t)e->in, &in_len) ||
        !cg__mul_size((size_t)batch, (size_t)e->out, &out_len))
        return cg__fail(CG_ERR_ARG, "batches of %d rows of %d inputs are too large", batch,
                        e->in);
    if (!(e->tr = cg_trainer_new(m, loss, threads)))
        return cg_errcode();
    e->x = cg__calloc(in_len, sizeof *e->x);
    e->labels = cg__calloc((size_t)batch, sizeof *e->labels);
    e->targets = cg__calloc(out_len, sizeof *e->targets);
    e->y = cg__calloc(out_len, sizeof *e->y);
    if (!e->x || !e->labels || !e->targets || !e->y) {
        cg__engine_deinit(e);
        return CG_ERR_NOMEM;
    }
    return CG_OK;
}

void cg__engine_deinit(struct cg__engine *e)
{
    cg_trainer_free(e->tr);
    cg__free(e->x);
    cg__free(e->labels);
    cg__free(e->targets);
    cg__free(e->y);
    cg__free(e->shares);
    memset(e, 0, sizeof *e);
}

int cg__engine_next(struct cg__engine *e, cg_loader *ld)
{
    return cg_loader_next(ld, e->x, e->classify ? e->labels : NULL,
                          e->classify ? NULL : e->targets);
}

static void own_rows(void *ctx, int rows, int *r0, int *r1)
{
    cg__dist_rows(ctx, rows, r0, r1);
}

int cg__engine_next_train(struct cg__engine *e, cg_loader *ld)
{
    if (!e->spread)
        return cg__engine_next(e, ld);
    return cg__loader_next_part(ld, e->x, e->classify ? e->labels : NULL,
                                e->classify ? NULL : e->targets, own_rows, e);
}

/* The batch of the first `rows` rows of the buffers. */
static struct cg_batch batch_of(const struct cg__engine *e, int rows)
{
    return (struct cg_batch){e->x, e->classify ? e->labels : NULL,
                             e->classify ? NULL : e->targets, rows};
}

/* ---- a step ------------------------------------------------------------------ */

/* The first parameter (state_dict order) with a gradient that is not
 * finite, for the message: only on the way to a stop, so a plain scan. */
static void find_bad_grad(const struct cg__engine *e, struct cg__step_result *r)
{
    int n;
    const struct cg_param *p = cg_model_params(e->model, &n);
    for (int i = 0; i < n; i++) {
        const cg_tensor *t = p[i].tensor;
        for (size_t k = 0; k < t->size; k++)
            if (!isfinite((double)t->grad[k])) {
                r->param = p[i].name;
                r->value = (double)t->grad[k];
                return;
            }
    }
}

/* The checks between backward and the update: the loss, every gradient
 * (the trainer tested them while it summed the threads' parts), and with
 * clip_norm the global norm, which can overflow while every element is
 * finite. Then the clipping itself. */
static cg_status check_and_clip(struct cg__engine *e, const struct cg_batch_result *br,
                                struct cg__step_result *r)
{
    if (!isfinite(br->loss)) {
        r->bad = CG__BAD_LOSS;
        r->value = br->loss;
        return CG_ERR_NUMERIC;
    }
    if (!br->grads_finite) {
        r->bad = CG__BAD_GRAD;
        find_bad_grad(e, r);
        return CG_ERR_NUMERIC;
    }
    if (e->clip_norm > 0) {
        r->grad_norm = (double)cg_clip_grad_norm(&e->flat, 1, e->clip_norm);
        if (!isfinite(r->grad_norm)) {
            r->bad = CG__BAD_NORM;
            r->value = r->grad_norm;
            return CG_ERR_NUMERIC;
        }
    }
    if (e->clip_value > 0)
        return cg_clip_grad_value(&e->flat, 1, e->clip_value);
    return CG_OK;
}

cg_status cg__engine_step(struct cg__engine *e, int rows, struct cg__step_result *r)
{
    struct cg_batch b = batch_of(e, rows);
    struct cg_batch_result br;
    cg_status st;

    memset(r, 0, sizeof *r);
    /* Across processes (dist_step.c), the gradient is the sum of theirs,
     * the same in every process, before the checks and the update. */
    st = e->spread ? cg__dist_backward(e, &b, &br)
                   : cg_trainer_backward(e->tr, &b, &e->dropout_rng, &br);
    r->loss = br.loss;
    r->correct = br.correct;
    if (st != CG_OK)
        goto out_zero;
    if ((st = check_and_clip(e, &br, r)) != CG_OK)
        goto out_zero;
    st = cg_optim_step_zero_grad(e->opt, cg_trainer_pool(e->tr));
    if (st == CG_OK)
        return CG_OK;
out_zero:
    cg_optim_zero_grad_pool(e->opt, cg_trainer_pool(e->tr));
    return st;
}

/* ---- evaluation -------------------------------------------------------------------- */

/* confusion[label][argmax of the outputs] += 1 for each of the rows. */
static void count_confusion(const struct cg__engine *e, int rows, long *confusion)
{
    for (int i = 0; i < rows; i++) {
        /* the trainer's accuracy counts with the same argmax */
        size_t best = cg__argmax(e->y + (size_t)i * (size_t)e->out, (size_t)e->out, 1);
        confusion[(size_t)e->labels[i] * (size_t)e->out + best]++;
    }
}

cg_status cg__engine_evaluate(struct cg__engine *e, const cg_dataset *ds,
                              const struct cg_norm *norm, long *confusion,
                              struct cg_eval_result *r)
{
    cg_status st = CG_OK;
    double loss_sum = 0;
    size_t correct = 0, n = 0;
    int rows;
    cg_loader *ld = cg_loader_new(ds, e->batch, false, false, 0);

    if (!ld)
        return cg_errcode();
    cg_loader_set_pool(ld, cg_trainer_pool(e->tr));
    if (norm && (st = cg_loader_set_norm(ld, norm)) != CG_OK)
        goto out;
    confusion = e->classify ? confusion : NULL;
    while ((rows = cg__engine_next(e, ld)) > 0) {
        struct cg_batch b = batch_of(e, rows);
        struct cg_batch_result br;
        if ((st = cg_trainer_forward(e->tr, &b, confusion ? e->y : NULL, &br)) != CG_OK)
            goto out;
        loss_sum += br.loss * rows;
        correct += (size_t)br.correct;
        n += (size_t)rows;
        if (confusion)
            count_confusion(e, rows, confusion);
    }
    r->n = n;
    r->loss = n ? loss_sum / (double)n : (double)NAN;
    r->accuracy = e->classify && n ? (double)correct / (double)n : (double)NAN;
out:
    cg_loader_free(ld);
    return st;
}

cg_status cg_evaluate(cg_model *m, const cg_dataset *ds, const struct cg_eval_settings *s,
                      long *confusion, struct cg_eval_result *r)
{
    struct cg__engine e;
    cg_status st;

    if (!m || !ds || !r)
        return cg__fail(CG_ERR_ARG, "cg_evaluate: NULL model, data set or result");
    bool classify = cg_dataset_task(ds) == CG_TASK_CLASSIFY;
    struct cg_eval_settings d = {NULL, classify ? CG_LOSS_CROSS_ENTROPY : CG_LOSS_MSE, 128, 1};
    if (!s)
        s = &d;
    if (s->batch < 0)
        return cg__fail(CG_ERR_ARG, "cg_evaluate: batch %d", s->batch);
    if ((st = cg__engine_init(&e, m, NULL, s->loss, s->batch ? s->batch : 128, s->threads,
                              classify)) == CG_OK)
        st = cg__engine_evaluate(&e, ds, s->norm, confusion, r);
    cg__engine_deinit(&e);
    return st;
}
