/*
 * RMSprop with momentum, centering and weight decay: torch.optim.RMSprop.
 */
#include <math.h>

#include "internal.h"

enum { SLOT_SQUARE_AVG, SLOT_MOMENTUM, SLOT_GRAD_AVG };

#ifdef CG_DOUBLE
#define SQRT sqrt
#else
#define SQRT sqrtf
#endif

struct cg_rmsprop_params cg_rmsprop_defaults(void)
{
    return (struct cg_rmsprop_params){.lr = 0.01, .alpha = 0.99, .eps = 1e-8};
}

static void rmsprop_prepare(cg_optim *o)
{
    const struct cg_rmsprop_params *hp = &o->hp.rmsprop;
    o->k.rmsprop = (struct cg__rmsprop_scalars){
        .lr = (cg_float)o->lr,
        .alpha = (cg_float)hp->alpha,
        .one_minus_alpha = (cg_float)(1.0 - hp->alpha),
        .eps = (cg_float)hp->eps,
        .weight_decay = (cg_float)hp->weight_decay,
        .momentum = (cg_float)hp->momentum,
    };
}

/*
 * https://pytorch.org/docs/stable/generated/torch.optim.RMSprop.html
 *
 *   g = grad
 *   if weight_decay != 0:  g = g + weight_decay * p
 *   v = alpha * v + (1 - alpha) * g^2                  (square_avg)
 *   v~ = v
 *   if centered:
 *       ga = alpha * ga + (1 - alpha) * g              (grad_avg)
 *       v~ = v - ga^2
 *   if momentum > 0:
 *       b = momentum * b + g / (sqrt(v~) + eps)        (b starts at 0)
 *       p = p - lr * b
 *   else:
 *       p = p - lr * g / (sqrt(v~) + eps)
 *
 * p, grad, v, ga, b: [n] (a range of parameter i and its state).
 * Products in PyTorch's kernel order: addcmul is v + (s * g) * g, addcdiv
 * is p + (s * g) / d.
 */
CG__KERNEL void rmsprop_kernel(const struct cg__rmsprop_scalars *k, cg_float *restrict p,
                               const cg_float *restrict grad, cg_float *restrict v,
                               cg_float *restrict b, cg_float *restrict ga, size_t n,
                               bool decay, bool momentum, bool centered)
{
    const cg_float wd = k->weight_decay, alpha = k->alpha, alpha1 = k->one_minus_alpha;
    const cg_float mu = k->momentum, eps = k->eps, neg_lr = -k->lr;
    for (size_t j = 0; j < n; j++) {
        cg_float g = decay ? grad[j] + wd * p[j] : grad[j];
        v[j] = v[j] * alpha + alpha1 * g * g;
        cg_float vt = v[j];
        if (centered) {
            ga[j] = ga[j] * alpha + alpha1 * g;
            vt = vt + (cg_float)-1 * ga[j] * ga[j];
        }
        cg_float avg = SQRT(vt) + eps;
        if (momentum) {
            b[j] = b[j] * mu + g / avg;
            p[j] = p[j] + neg_lr * b[j];
        } else {
            p[j] = p[j] + neg_lr * g / avg;
        }
    }
}

CG__VECTOR_CLONES static void rmsprop_update(const cg_optim *o, int i, size_t begin, size_t end)
{
    const struct cg__rmsprop_scalars *k = &o->k.rmsprop;
    cg_float *p = o->params[i]->data + begin;
    const cg_float *grad = o->params[i]->grad + begin;
    cg_float *v = cg__slot(o, i, SLOT_SQUARE_AVG) + begin;
    cg_float *b = cg__slot(o, i, SLOT_MOMENTUM);
    cg_float *ga = cg__slot(o, i, SLOT_GRAD_AVG);
    size_t n = end - begin;
    b = b ? b + begin : NULL;
    ga = ga ? ga + begin : NULL;

    /* One branch-free loop per combination of options. */
    switch ((k->weight_decay != 0 ? 4 : 0) | (b ? 2 : 0) | (ga ? 1 : 0)) {
    case 0: rmsprop_kernel(k, p, grad, v, b, ga, n, false, false, false); break;
    case 1: rmsprop_kernel(k, p, grad, v, b, ga, n, false, false, true); break;
    case 2: rmsprop_kernel(k, p, grad, v, b, ga, n, false, true, false); break;
    case 3: rmsprop_kernel(k, p, grad, v, b, ga, n, false, true, true); break;
    case 4: rmsprop_kernel(k, p, grad, v, b, ga, n, true, false, false); break;
    case 5: rmsprop_kernel(k, p, grad, v, b, ga, n, true, false, true); break;
    case 6: rmsprop_kernel(k, p, grad, v, b, ga, n, true, true, false); break;
    default: rmsprop_kernel(k, p, grad, v, b, ga, n, true, true, true); break;
    }
}

static void rmsprop_describe(const cg_optim *o, char *buf, size_t n)
{
    const struct cg_rmsprop_params *hp = &o->hp.rmsprop;
    cg__describe_num(buf, n, "lr", hp->lr);
    cg__describe_num(buf, n, "alpha", hp->alpha);
    cg__describe_num(buf, n, "eps", hp->eps);
    cg__describe_num(buf, n, "weight_decay", hp->weight_decay);
    cg__describe_num(buf, n, "momentum", hp->momentum);
    cg__describe_bool(buf, n, "centered", hp->centered);
}

static const struct cg__optim_ops rmsprop_ops = {
    .name = "rmsprop",
    .slot_names = {"square_avg", "momentum_buffer", "grad_avg"},
    .prepare = rmsprop_prepare,
    .update = rmsprop_update,
    .describe = rmsprop_describe,
};

cg_optim *cg_rmsprop_new(cg_tensor *const *params, int n, const struct cg_rmsprop_params *p)
{
    static const char fn[] = "cg_rmsprop_new";
    struct cg_rmsprop_params hp = p ? *p : cg_rmsprop_defaults();
    /* PyTorch's checks (torch/optim/rmsprop.py). */
    if (!cg__check_nonneg(fn, "eps", hp.eps) ||
        !cg__check_nonneg(fn, "momentum", hp.momentum) ||
        !cg__check_nonneg(fn, "weight_decay", hp.weight_decay) ||
        !cg__check_nonneg(fn, "alpha", hp.alpha))
        return NULL;
    bool used[CG__MAX_SLOTS] = {true, hp.momentum > 0, hp.centered};
    cg_optim *o = cg__optim_new(fn, &rmsprop_ops, params, n, used, hp.lr);
    if (o)
        o->hp.rmsprop = hp;
    return o;
}
