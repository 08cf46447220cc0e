/*
 * One training step on a trainer (cg_optim_train_step, optim.h): the
 * batch's gradients (cg_trainer_backward), the checks that the loss and
 * every gradient are finite, then the update and zero grad in one pass over
 * memory (cg_optim_step_zero_grad), all on the trainer's threads.
 */
#include <math.h>

#include "internal.h"

cg_status cg_optim_train_step(cg_optim *o, cg_trainer *t, const struct cg_batch *b,
                              cg_rng *rng, struct cg_batch_result *r)
{
    struct cg_batch_result res;
    cg_status st;

    if (!o || !t)
        return cg__fail(CG_ERR_ARG, "cg_optim_train_step: NULL optimizer or trainer");
    r = r ? r : &res;
    st = cg_trainer_backward(t, b, rng, r);
    if (st == CG_OK && !isfinite(r->loss))
        st = cg__fail(CG_ERR_NUMERIC, "cg_optim_train_step: the loss is not finite");
    else if (st == CG_OK && !r->grads_finite)
        st = cg__fail(CG_ERR_NUMERIC, "cg_optim_train_step: a gradient is not finite");
    if (st == CG_OK)
        return cg_optim_step_zero_grad(o, cg_trainer_pool(t));
    cg_optim_zero_grad_pool(o, cg_trainer_pool(t));
    return st;
}
