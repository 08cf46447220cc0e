/*
 * Stochastic gradient descent with momentum, dampening, Nesterov momentum and
 * weight decay: torch.optim.SGD.
 */
#include "internal.h"

enum { SLOT_MOMENTUM };

struct cg_sgd_params cg_sgd_defaults(void)
{
    /* PyTorch's lr is a required argument; 0.01 is cgrad's choice. */
    return (struct cg_sgd_params){.lr = 0.01};
}

static void sgd_prepare(cg_optim *o)
{
    const struct cg_sgd_params *hp = &o->hp.sgd;
    o->k.sgd = (struct cg__sgd_scalars){
        .lr = (cg_float)o->lr,
        .weight_decay = (cg_float)hp->weight_decay,
        .momentum = (cg_float)hp->momentum,
        .one_minus_dampening = (cg_float)(1.0 - hp->dampening),
        .first = o->steps == 1,
    };
}

/*
 * https://pytorch.org/docs/stable/generated/torch.optim.SGD.html
 *
 *   g = grad
 *   if weight_decay != 0:  g = g + weight_decay * p
 *   if momentum != 0:
 *       if t > 1:  b = momentum * b + (1 - dampening) * g
 *       else:      b = g                       (no dampening on step 1)
 *       if nesterov:  g = g + momentum * b
 *       else:         g = b
 *   p = p - lr * g
 *
 * p, grad, b: [n] (a range of parameter i and its state). The operation
 * order is PyTorch's (grad.add(p, alpha=wd), buf.mul_(mu).add_(g,
 * alpha=1-damp), p.add_(g, alpha=-lr)).
 */
CG__KERNEL void sgd_kernel(const struct cg__sgd_scalars *k, cg_float *restrict p,
                           const cg_float *restrict grad, cg_float *restrict b, size_t n,
                           bool decay, bool momentum, bool first, bool nesterov)
{
    const cg_float wd = k->weight_decay, mu = k->momentum, damp1 = k->one_minus_dampening;
    const cg_float neg_lr = -k->lr;
    for (size_t j = 0; j < n; j++) {
        cg_float g = decay ? grad[j] + wd * p[j] : grad[j];
        if (momentum) {
            b[j] = first ? g : b[j] * mu + damp1 * g;
            g = nesterov ? g + mu * b[j] : b[j];
        }
        p[j] = p[j] + neg_lr * g;
    }
}

CG__VECTOR_CLONES static void sgd_update(const cg_optim *o, int i, size_t begin, size_t end)
{
    const struct cg__sgd_scalars *k = &o->k.sgd;
    cg_float *p = o->params[i]->data + begin;
    const cg_float *grad = o->params[i]->grad + begin;
    cg_float *b = cg__slot(o, i, SLOT_MOMENTUM);
    size_t n = end - begin;
    const bool decay = k->weight_decay != 0;

    if (!b) {
        if (decay)
            sgd_kernel(k, p, grad, NULL, n, true, false, false, false);
        else
            sgd_kernel(k, p, grad, NULL, n, false, false, false, false);
        return;
    }
    b += begin;
    /* One branch-free loop per combination of options. */
    switch ((decay ? 4 : 0) | (k->first ? 2 : 0) | (o->hp.sgd.nesterov ? 1 : 0)) {
    case 0: sgd_kernel(k, p, grad, b, n, false, true, false, false); break;
    case 1: sgd_kernel(k, p, grad, b, n, false, true, false, true); break;
    case 2: sgd_kernel(k, p, grad, b, n, false, true, true, false); break;
    case 3: sgd_kernel(k, p, grad, b, n, false, true, true, true); break;
    case 4: sgd_kernel(k, p, grad, b, n, true, true, false, false); break;
    case 5: sgd_kernel(k, p, grad, b, n, true, true, false, true); break;
    case 6: sgd_kernel(k, p, grad, b, n, true, true, true, false); break;
    default: sgd_kernel(k, p, grad, b, n, true, true, true, true); break;
    }
}

static void sgd_describe(const cg_optim *o, char *buf, size_t n)
{
    const struct cg_sgd_params *hp = &o->hp.sgd;
    cg__describe_num(buf, n, "lr", hp->lr);
    cg__describe_num(buf, n, "momentum", hp->momentum);
    cg__describe_num(buf, n, "dampening", hp->dampening);
    cg__describe_num(buf, n, "weight_decay", hp->weight_decay);
    cg__describe_bool(buf, n, "nesterov", hp->nesterov);
}

static const struct cg__optim_ops sgd_ops = {
    .name = "sgd",
    .slot_names = {"momentum_buffer"},
    .prepare = sgd_prepare,
    .update = sgd_update,
    .describe = sgd_describe,
};

cg_optim *cg_sgd_new(cg_tensor *const *params, int n, const struct cg_sgd_params *p)
{
    static const char fn[] = "cg_sgd_new";
    struct cg_sgd_params hp = p ? *p : cg_sgd_defaults();
    /* PyTorch's checks (torch/optim/sgd.py). */
    if (!cg__check_nonneg(fn, "momentum", hp.momentum) ||
        !cg__check_nonneg(fn, "weight_decay", hp.weight_decay))
        return NULL;
    if (!(hp.dampening == hp.dampening))
        return cg__fail_null(CG_ERR_ARG, "%s: dampening is NaN", fn);
    if (hp.nesterov && (hp.momentum <= 0 || hp.dampening != 0))
        return cg__fail_null(CG_ERR_ARG,
                             "%s: nesterov requires momentum > 0 and dampening 0 "
                             "(momentum %g, dampening %g)",
                             fn, hp.momentum, hp.dampening);
    bool used[CG__MAX_SLOTS] = {hp.momentum != 0};
    cg_optim *o = cg__optim_new(fn, &sgd_ops, params, n, used, hp.lr);
    if (o)
        o->hp.sgd = hp;
    return o;
}
