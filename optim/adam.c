/*
 * Adam and AdamW, with amsgrad: torch.optim.Adam and torch.optim.AdamW.
 * They share one update; AdamW decays the parameter itself (decoupled weight
 * decay) where Adam adds weight_decay * p to the gradient.
 */
#include <math.h>
#include <stdio.h>

#include "internal.h"

enum { SLOT_EXP_AVG, SLOT_EXP_AVG_SQ, SLOT_MAX_EXP_AVG_SQ };

#ifdef CG_DOUBLE
#define SQRT sqrt
#else
#define SQRT sqrtf
#endif

struct cg_adam_params cg_adam_defaults(void)
{
    return (struct cg_adam_params){.lr = 1e-3, .betas = {0.9, 0.999}, .eps = 1e-8};
}

struct cg_adam_params cg_adamw_defaults(void)
{
    struct cg_adam_params hp = cg_adam_defaults();
    hp.weight_decay = 1e-2;
    return hp;
}

/* The per-step scalars, in double as PyTorch computes them in Python floats,
 * then rounded once: bias_correction1 = 1 - beta1^t, step_size = lr /
 * bias_correction1, bias_correction2_sqrt = sqrt(1 - beta2^t). */
static const struct cg__optim_ops adamw_ops;  /* defined below */

static void adam_prepare(cg_optim *o)
{
    const struct cg_adam_params *hp = &o->hp.adam;
    double t = (double)o->steps;
    double bias_correction1 = 1.0 - pow(hp->betas[0], t);
    double bias_correction2 = 1.0 - pow(hp->betas[1], t);
    o->k.adam = (struct cg__adam_scalars){
        .beta1 = (cg_float)hp->betas[0],
        .one_minus_beta1 = (cg_float)(1.0 - hp->betas[0]),
        .beta2 = (cg_float)hp->betas[1],
        .one_minus_beta2 = (cg_float)(1.0 - hp->betas[1]),
        .eps = (cg_float)hp->eps,
        .weight_decay = (cg_float)hp->weight_decay,
        .neg_step_size = (cg_float)-(o->lr / bias_correction1),
        .bias_correction2_sqrt = (cg_float)sqrt(bias_correction2),
        .decay = (cg_float)(1.0 - o->lr * hp->weight_decay),
    };
}

/*
 * https://pytorch.org/docs/stable/generated/torch.optim.Adam.html
 * https://pytorch.org/docs/stable/generated/torch.optim.AdamW.html
 *
 *   g = grad
 *   AdamW:                       p = p * (1 - lr * weight_decay)
 *   Adam, if weight_decay != 0:  g = g + weight_decay * p
 *   m = beta1 * m + (1 - beta1) * g                    (exp_avg)
 *   v = beta2 * v + (1 - beta2) * g^2                  (exp_avg_sq)
 *   if amsgrad:  vmax = max(vmax, v);  v^ = vmax       (max_exp_avg_sq)
 *   else:        v^ = v
 *   denom = sqrt(v^) / sqrt(1 - beta2^t) + eps
 *   p = p - (lr / (1 - beta1^t)) * m / denom
 *
 * That is the docs' m^ / (sqrt(v^ / bc2) + eps) written the way PyTorch's
 * implementation evaluates it. p, grad, m, v, vmax: [n] (a range of
 * parameter i and its state).
 */
CG__KERNEL void adam_kernel(const struct cg__adam_scalars *k, cg_float *restrict p,
                            const cg_float *restrict grad, cg_float *restrict m,
                            cg_float *restrict v, cg_float *restrict vmax, size_t n,
                            bool decay, bool amsgrad)
{
    const cg_float wd = k->weight_decay, beta1 = k->beta1, beta1c = k->one_minus_beta1;
    const cg_float beta2 = k->beta2, beta2c = k->one_minus_beta2, eps = k->eps;
    const cg_float neg_step_size = k->neg_step_size, bc2_sqrt = k->bias_correction2_sqrt;
    for (size_t j = 0; j < n; j++) {
        cg_float g = decay ? grad[j] + wd * p[j] : grad[j];
        m[j] = beta1 * m[j] + beta1c * g;
        v[j] = v[j] * beta2 + beta2c * g * g;
        cg_float vhat = v[j];
        if (amsgrad) {
            /* torch.maximum: a NaN in either gives NaN (fmax would drop it). */
            vmax[j] = (vmax[j] < v[j] || v[j] != v[j]) ? v[j] : vmax[j];
            vhat = vmax[j];
        }
        cg_float denom = SQRT(vhat) / bc2_sqrt + eps;
        p[j] = p[j] + neg_step_size * m[j] / denom;
    }
}

CG__VECTOR_CLONES static void adam_update(const cg_optim *o, int i, size_t begin, size_t end)
{
    const struct cg__adam_scalars *k = &o->k.adam;
    cg_float *p = o->params[i]->data + begin;
    const cg_float *grad = o->params[i]->grad + begin;
    cg_float *m = cg__slot(o, i, SLOT_EXP_AVG) + begin;
    cg_float *v = cg__slot(o, i, SLOT_EXP_AVG_SQ) + begin;
    cg_float *vmax = cg__slot(o, i, SLOT_MAX_EXP_AVG_SQ);
    size_t n = end - begin;
    vmax = vmax ? vmax + begin : NULL;

    /* AdamW: decoupled decay of the parameter, before the update. */
    const bool decoupled = o->ops == &adamw_ops;
    if (decoupled && k->weight_decay != 0) {
        const cg_float decay = k->decay;
        for (size_t j = 0; j < n; j++)
            p[j] = p[j] * decay;
    }
    /* Adam: L2 penalty added to the gradient. One loop per combination. */
    const bool l2 = !decoupled && k->weight_decay != 0;
    if (l2 && vmax)
        adam_kernel(k, p, grad, m, v, vmax, n, true, true);
    else if (l2)
        adam_kernel(k, p, grad, m, v, vmax, n, true, false);
    else if (vmax)
        adam_kernel(k, p, grad, m, v, vmax, n, false, true);
    else
        adam_kernel(k, p, grad, m, v, vmax, n, false, false);
}

static void adam_describe(const cg_optim *o, char *buf, size_t n)
{
    const struct cg_adam_params *hp = &o->hp.adam;
    char b1[32], b2[32], betas[80];
    cg__describe_num(buf, n, "lr", hp->lr);
    /* "betas=0.9,0.999": two numbers under one key, like PyTorch's tuple. */
    cg__format_num(b1, sizeof b1, hp->betas[0]);
    cg__format_num(b2, sizeof b2, hp->betas[1]);
    snprintf(betas, sizeof betas, " betas=%s,%s", b1, b2);
    cg__describe_text(buf, n, betas);
    cg__describe_num(buf, n, "eps", hp->eps);
    cg__describe_num(buf, n, "weight_decay", hp->weight_decay);
    cg__describe_bool(buf, n, "amsgrad", hp->amsgrad);
}

static const struct cg__optim_ops adam_ops = {
    .name = "adam",
    .slot_names = {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"},
    .prepare = adam_prepare,
    .update = adam_update,
    .describe = adam_describe,
};

static const struct cg__optim_ops adamw_ops = {
    .name = "adamw",
    .slot_names = {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"},
    .prepare = adam_prepare,
    .update = adam_update,
    .describe = adam_describe,
};

/* PyTorch's checks (torch/optim/adam.py, adamw.py), then the common part. */
static cg_optim *adam_new(const char *fn, const struct cg__optim_ops *ops,
                          cg_tensor *const *params, int n, const struct cg_adam_params *hp)
{
    if (!cg__check_nonneg(fn, "eps", hp->eps) ||
        !cg__check_nonneg(fn, "weight_decay", hp->weight_decay))
        return NULL;
    for (int b = 0; b < 2; b++)
        if (!(hp->betas[b] >= 0 && hp->betas[b] < 1))
            return cg__fail_null(CG_ERR_ARG, "%s: betas[%d] must be in [0, 1), got %g", fn,
                                 b, hp->betas[b]);
    bool used[CG__MAX_SLOTS] = {true, true, hp->amsgrad};
    cg_optim *o = cg__optim_new(fn, ops, params, n, used, hp->lr);
    if (o)
        o->hp.adam = *hp;
    return o;
}

cg_optim *cg_adam_new(cg_tensor *const *params, int n, const struct cg_adam_params *p)
{
    struct cg_adam_params hp = p ? *p : cg_adam_defaults();
    return adam_new("cg_adam_new", &adam_ops, params, n, &hp);
}

cg_optim *cg_adamw_new(cg_tensor *const *params, int n, const struct cg_adam_params *p)
{
    struct cg_adam_params hp = p ? *p : cg_adamw_defaults();
    return adam_new("cg_adamw_new", &adamw_ops, params, n, &hp);
}
