/*
 * Information measures of discrete distributions: entropy, cross-entropy and
 * Kullback-Leibler divergence, in nats (natural logarithms).
 *
 * Shapes: p, q: any shape, read as flat vectors of one size.
 * Definitions as T. M. Cover and J. A. Thomas, "Elements of Information
 * Theory", 2nd ed., sections 2.1 and 2.3, with their conventions
 * 0 log 0 = 0, 0 log(0/q) = 0 and p log(p/0) = +inf for p > 0:
 *     H(p)      = -sum_i p_i log p_i
 *     H(p, q)   = -sum_i p_i log q_i  = H(p) + KL(p || q)
 *     KL(p||q)  =  sum_i p_i log(p_i / q_i)
 * The inputs are not renormalised: give probability vectors (sum 1).
 * Sums are in double.
 */
#include <math.h>

#include "internal.h"

/* Entries must be >= 0 (a NaN fails too). */
static cg_status check_prob(const char *op, const char *name, const cg_tensor *p)
{
    if (!p)
        return cg__fail(CG_ERR_ARG, "%s: %s is NULL", op, name);
    for (size_t i = 0; i < p->size; i++)
        if (!(p->data[i] >= 0))
            return cg__fail(CG_ERR_ARG, "%s: %s[%zu] is %g, probabilities must be >= 0",
                            op, name, i, (double)p->data[i]);
    return CG_OK;
}

/* out non-NULL, p and q valid and of one size. */
static cg_status check_pair(const char *op, const cg_float *out, const cg_tensor *p,
                            const cg_tensor *q)
{
    char sp[64], sq[64];
    cg_status st;

    if (!out)
        return cg__fail(CG_ERR_ARG, "%s: out is NULL", op);
    if ((st = check_prob(op, "p", p)) != CG_OK || (st = check_prob(op, "q", q)) != CG_OK)
        return st;
    if (p->size != q->size)
        return cg__fail(CG_ERR_ARG, "%s: p is %s, q is %s: sizes differ", op,
                        cg_shape_str(p, sp, sizeof sp), cg_shape_str(q, sq, sizeof sq));
    return CG_OK;
}

cg_status cg_entropy(cg_float *out, const cg_tensor *p)
{
    double h = 0;
    cg_status st;

    if (!out)
        return cg__fail(CG_ERR_ARG, "cg_entropy: out is NULL");
    if ((st = check_prob("cg_entropy", "p", p)) != CG_OK)
        return st;
    for (size_t i = 0; i < p->size; i++) {
        double pi = (double)p->data[i];
        if (pi > 0)
            h -= pi * log(pi);
    }
    *out = (cg_float)h;
    return CG_OK;
}

cg_status cg_cross_entropy_of(cg_float *out, const cg_tensor *p, const cg_tensor *q)
{
    double h = 0;
    cg_status st = check_pair("cg_cross_entropy_of", out, p, q);

    if (st != CG_OK)
        return st;
    for (size_t i = 0; i < p->size; i++) {
        double pi = (double)p->data[i], qi = (double)q->data[i];
        if (pi > 0)
            h -= pi * log(qi);   /* log(0) = -inf gives +inf, as it must */
    }
    *out = (cg_float)h;
    return CG_OK;
}

cg_status cg_kl_divergence(cg_float *out, const cg_tensor *p, const cg_tensor *q)
{
    double d = 0;
    cg_status st = check_pair("cg_kl_divergence", out, p, q);

    if (st != CG_OK)
        return st;
    for (size_t i = 0; i < p->size; i++) {
        double pi = (double)p->data[i], qi = (double)q->data[i];
        if (pi > 0)
            d += qi > 0 ? pi * log(pi / qi) : (double)INFINITY;
    }
    *out = (cg_float)d;
    return CG_OK;
}
