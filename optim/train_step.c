/*
 * One training step with the sum of the trainer's chunk gradients fused
 * into the optimizer's pass (cg_optim_train_step, optim.h).
 *
 * cg_trainer_backward sums the chunks' gradient buffers into the model's
 * (read every buffer, write the model's), and cg_optim_step_zero_grad then
 * reads the model's gradients again with the parameters and the state. Here
 * each 1024-element piece is summed, updated and zeroed in one go, while it
 * is in the first-level cache, and the step hands work to the pool once
 * less. Every element sees the same operations in the same order as with
 * the two calls: the same bits.
 */
#include <math.h>
#include <stdatomic.h>
#include <string.h>

#include "../nn/internal.h"
#include "internal.h"

/* A chunk of the fused pass, as the trainer's sum and the step use. */
#define CG__FUSED_RANGE 16384
#define CG__FUSED_PIECE 1024

struct fused {
    cg_optim   *o;
    cg_trainer *t;
    size_t      n;       /* parameters */
    bool        update;  /* false: sum and zero only */
    atomic_bool finite;
};

/* Range r: sum the chunks' gradients, update, zero; piece by piece. */
static void fused_range(void *ctx, int r, int n_ranges)
{
    struct fused *f = ctx;
    size_t p0 = (size_t)r * CG__FUSED_RANGE;
    size_t p1 = p0 + CG__FUSED_RANGE < f->n ? p0 + CG__FUSED_RANGE : f->n;
    cg_float *grad = f->o->params[0]->grad;
    bool finite = true;

    (void)n_ranges;
    for (size_t c = p0; c < p1; c += CG__FUSED_PIECE) {
        size_t end = p1 - c < CG__FUSED_PIECE ? p1 : c + CG__FUSED_PIECE;
        finite = cg__trainer_sum_grads(f->t, c, end) && finite;
        if (f->update)
            cg__optim_update_range(f->o, 0, c, end);
        memset(grad + c, 0, (end - c) * sizeof *grad);
    }
    if (!finite)
        atomic_store(&f->finite, false);
}

/* The fused pass over every range; false if a gradient was not finite. */
static bool fused_pass(cg_optim *o, cg_trainer *t, bool update)
{
    struct fused f = {o, t, o->params[0]->size, update, true};
    int ranges = (int)((f.n + CG__FUSED_RANGE - 1) / CG__FUSED_RANGE);
    cg_pool_for(cg_trainer_pool(t), ranges, fused_range, &f);
    return atomic_load(&f.finite);
}

/* The two calls, for an optimizer that is not over the model's flat tensor. */
static cg_status two_calls(cg_optim *o, cg_trainer *t, const struct cg_batch *b, cg_rng *rng,
                           struct cg_batch_result *r)
{
    cg_status st = cg_trainer_backward(t, b, rng, r);
    if (st == CG_OK && !isfinite(r->loss))
        st = cg__fail(CG_ERR_NUMERIC, "cg_optim_train_step: the loss is not finite");
    else if (st == CG_OK && !r->grads_finite)
        st = cg__fail(CG_ERR_NUMERIC, "cg_optim_train_step: a gradient is not finite");
    if (st == CG_OK)
        return cg_optim_step_zero_grad(o, cg_trainer_pool(t));
    cg_optim_zero_grad_pool(o, cg_trainer_pool(t));
    return st;
}

cg_status cg_optim_train_step(cg_optim *o, cg_trainer *t, const struct cg_batch *b,
                              cg_rng *rng, struct cg_batch_result *r)
{
    struct cg_batch_result res = {(double)NAN, 0, false};
    cg_status st;

    if (!o || !t)
        return cg__fail(CG_ERR_ARG, "cg_optim_train_step: NULL optimizer or trainer");
    r = r ? r : &res;
    if (o->n != 1 || o->params[0] != cg_model_flat(cg__trainer_model(t)))
        return two_calls(o, t, b, rng, r);
    st = cg__trainer_run_backward(t, b, rng, r);
    if (!cg__trainer_ran(t))
        return st;
    bool update = st == CG_OK && isfinite(r->loss);
    if (update && (st = cg__optim_begin_step(o)) != CG_OK)
        update = false;
    r->grads_finite = fused_pass(o, t, update);
    if (st != CG_OK)
        return st;
    if (!isfinite(r->loss))
        return cg__fail(CG_ERR_NUMERIC, "cg_optim_train_step: the loss is not finite");
    if (!r->grads_finite)
        return cg__fail(CG_ERR_NUMERIC, "cg_optim_train_step: a gradient is not finite; "
                        "this step's update is incomplete");
    return CG_OK;
}
