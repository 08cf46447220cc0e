/*
 * AdaGrad with learning-rate decay, weight decay and an initial accumulator
 * value: torch.optim.Adagrad.
 */
#include <math.h>

#include "internal.h"

enum { SLOT_SUM };

#ifdef CG_DOUBLE
#define SQRT sqrt
#else
#define SQRT sqrtf
#endif

struct cg_adagrad_params cg_adagrad_defaults(void)
{
    return (struct cg_adagrad_params){.lr = 0.01, .eps = 1e-10};
}

static void adagrad_prepare(cg_optim *o)
{
    const struct cg_adagrad_params *hp = &o->hp.adagrad;
    /* clr = lr / (1 + (t - 1) * lr_decay), in double as PyTorch's Python float. */
    double clr = o->lr / (1.0 + (double)(o->steps - 1) * hp->lr_decay);
    o->k.adagrad = (struct cg__adagrad_scalars){
        .clr = (cg_float)clr,
        .weight_decay = (cg_float)hp->weight_decay,
        .eps = (cg_float)hp->eps,
    };
}

/*
 * https://pytorch.org/docs/stable/generated/torch.optim.Adagrad.html
 *
 *   state_sum starts at initial_accumulator_value
 *   g = grad
 *   clr = lr / (1 + (t - 1) * lr_decay)
 *   if weight_decay != 0:  g = g + weight_decay * p
 *   state_sum = state_sum + g^2
 *   p = p - clr * g / (sqrt(state_sum) + eps)
 *
 * p, grad, state_sum: [n] (a range of parameter i and its state).
 */
CG__KERNEL void adagrad_kernel(const struct cg__adagrad_scalars *k, cg_float *restrict p,
                               const cg_float *restrict grad, cg_float *restrict sum,
                               size_t n, bool decay)
{
    const cg_float wd = k->weight_decay, eps = k->eps, neg_clr = -k->clr;
    for (size_t j = 0; j < n; j++) {
        cg_float g = decay ? grad[j] + wd * p[j] : grad[j];
        sum[j] = sum[j] + g * g;
        p[j] = p[j] + neg_clr * g / (SQRT(sum[j]) + eps);
    }
}

CG__VECTOR_CLONES static void adagrad_update(const cg_optim *o, int i, size_t begin, size_t end)
{
    const struct cg__adagrad_scalars *k = &o->k.adagrad;
    cg_float *p = o->params[i]->data + begin;
    const cg_float *grad = o->params[i]->grad + begin;
    cg_float *sum = cg__slot(o, i, SLOT_SUM) + begin;
    if (k->weight_decay != 0)
        adagrad_kernel(k, p, grad, sum, end - begin, true);
    else
        adagrad_kernel(k, p, grad, sum, end - begin, false);
}

static void adagrad_describe(const cg_optim *o, char *buf, size_t n)
{
    const struct cg_adagrad_params *hp = &o->hp.adagrad;
    cg__describe_num(buf, n, "lr", hp->lr);
    cg__describe_num(buf, n, "lr_decay", hp->lr_decay);
    cg__describe_num(buf, n, "weight_decay", hp->weight_decay);
    cg__describe_num(buf, n, "initial_accumulator_value", hp->initial_accumulator_value);
    cg__describe_num(buf, n, "eps", hp->eps);
}

static const struct cg__optim_ops adagrad_ops = {
    .name = "adagrad",
    .slot_names = {"sum"},
    .prepare = adagrad_prepare,
    .update = adagrad_update,
    .describe = adagrad_describe,
};

cg_optim *cg_adagrad_new(cg_tensor *const *params, int n, const struct cg_adagrad_params *p)
{
    static const char fn[] = "cg_adagrad_new";
    struct cg_adagrad_params hp = p ? *p : cg_adagrad_defaults();
    /* PyTorch's checks (torch/optim/adagrad.py). */
    if (!cg__check_nonneg(fn, "lr_decay", hp.lr_decay) ||
        !cg__check_nonneg(fn, "weight_decay", hp.weight_decay) ||
        !cg__check_nonneg(fn, "initial_accumulator_value", hp.initial_accumulator_value) ||
        !cg__check_nonneg(fn, "eps", hp.eps))
        return NULL;
    bool used[CG__MAX_SLOTS] = {true};
    cg_optim *o = cg__optim_new(fn, &adagrad_ops, params, n, used, hp.lr);
    if (!o)
        return NULL;
    o->hp.adagrad = hp;
    for (int i = 0; i < n; i++)
        cg_tensor_fill(o->slots[(size_t)i * CG__MAX_SLOTS + SLOT_SUM],
                       (cg_float)hp.initial_accumulator_value);
    return o;
}
