/*
 * The optimizer interface: construction of the common part, step, zero_grad,
 * learning rate, step count, state for checkpoints, the settings text.
 * The algorithms themselves are in sgd.c, rmsprop.c, adagrad.c and adam.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* ---- construction ----------------------------------------------------------- */

bool cg__check_nonneg(const char *fn, const char *option, double value)
{
    if (value >= 0)
        return true;
    cg__fail(CG_ERR_ARG, "%s: %s must be >= 0, got %g", fn, option, value);
    return false;
}

/* CG_OK if params[0..n) can be optimized: non-NULL, with data and a grad
 * buffer, and no two sharing memory (a flat buffer and a view of it would be
 * updated twice). */
static cg_status check_params(const char *fn, cg_tensor *const *params, int n)
{
    if (n <= 0 || !params)
        return cg__fail(CG_ERR_ARG, "%s: empty parameter list (n = %d)", fn, n);
    for (int i = 0; i < n; i++) {
        const cg_tensor *t = params[i];
        if (!t)
            return cg__fail(CG_ERR_ARG, "%s: params[%d] is NULL", fn, i);
        if (t->size > 0 && (!t->data || !t->grad))
            return cg__fail(CG_ERR_ARG, "%s: params[%d] has no %s buffer", fn, i,
                            t->data ? "grad" : "data");
        uintptr_t lo = (uintptr_t)t->data, hi = lo + t->size * sizeof(cg_float);
        for (int j = 0; j < i && t->size > 0; j++) {
            const cg_tensor *u = params[j];
            uintptr_t ulo = (uintptr_t)u->data, uhi = ulo + u->size * sizeof(cg_float);
            if (u->size > 0 && lo < uhi && ulo < hi)
                return cg__fail(CG_ERR_ARG, "%s: params[%d] overlaps params[%d]", fn, i, j);
        }
    }
    return CG_OK;
}

/* Allocate the state tensor of slot s of parameter i and its name. */
static cg_status add_slot(cg_optim *o, int i, int s)
{
    const cg_tensor *p = o->params[i];
    cg_tensor *t = cg_tensor_new(p->ndim, p->shape);
    if (!t)
        return cg_errcode();
    char name[64];
    snprintf(name, sizeof name, "p%d.%s", i, o->ops->slot_names[s]);
    char *dup = cg__strdup(name);
    if (!dup) {
        cg_tensor_free(t);
        return CG_ERR_NOMEM;
    }
    o->slots[(size_t)i * CG__MAX_SLOTS + (size_t)s] = t;
    o->state[o->n_state] = t;
    o->state_names[o->n_state] = dup;
    o->n_state++;
    return CG_OK;
}

cg_optim *cg__optim_new(const char *fn, const struct cg__optim_ops *ops,
                        cg_tensor *const *params, int n, const bool used[CG__MAX_SLOTS],
                        double lr)
{
    if (!cg__check_nonneg(fn, "lr", lr) || check_params(fn, params, n) != CG_OK)
        return NULL;
    int per_param = 0;
    for (int s = 0; s < CG__MAX_SLOTS; s++)
        per_param += used[s];

    cg_optim *o = cg__calloc(1, sizeof *o);
    if (!o)
        goto out_free;
    o->ops = ops;
    o->n = n;
    o->lr = lr;
    size_t n_slots = (size_t)n * CG__MAX_SLOTS, n_state = (size_t)n * (size_t)per_param;
    o->params = cg__calloc((size_t)n, sizeof *o->params);
    o->slots = cg__calloc(n_slots, sizeof *o->slots);
    o->state = cg__calloc(n_state ? n_state : 1, sizeof *o->state);
    o->state_names = cg__calloc(n_state ? n_state : 1, sizeof *o->state_names);
    if (!o->params || !o->slots || !o->state || !o->state_names)
        goto out_free;
    memcpy(o->params, params, (size_t)n * sizeof *params);
    for (int i = 0; i < n; i++)
        for (int s = 0; s < CG__MAX_SLOTS; s++)
            if (used[s] && add_slot(o, i, s) != CG_OK)
                goto out_free;
    return o;

out_free:
    cg__errmsg_prefix("%s", fn);
    cg_optim_free(o);
    return NULL;
}

void cg_optim_free(cg_optim *o)
{
    if (!o)
        return;
    for (int i = 0; i < o->n_state; i++) {
        cg_tensor_free(o->state[i]);
        cg__free(o->state_names[i]);
    }
    cg__free(o->state_names);
    cg__free(o->state);
    cg__free(o->slots);
    cg__free(o->params);
    cg__free(o);
}

/* ---- stepping --------------------------------------------------------------- */

cg_status cg__optim_begin_step(cg_optim *o)
{
    for (int i = 0; i < o->n; i++)
        if (o->params[i]->size > 0 && !o->params[i]->grad)
            return cg__fail(CG_ERR_STATE, "cg_optim_step: params[%d] has no grad buffer", i);
    if (o->steps >= CG_OPTIM_MAX_STEPS)
        return cg__fail(CG_ERR_STATE, "cg_optim_step: %lld steps taken, the limit",
                        (long long)o->steps);
    o->steps++;
    o->ops->prepare(o);
    return CG_OK;
}

void cg__optim_update_range(const cg_optim *o, int i, size_t begin, size_t end)
{
    o->ops->update(o, i, begin, end);
}

cg_status cg_optim_step(cg_optim *o)
{
    if (!o)
        return cg__fail(CG_ERR_ARG, "cg_optim_step: optimizer is NULL");
    cg_status st = cg__optim_begin_step(o);
    if (st != CG_OK)
        return st;
    for (int i = 0; i < o->n; i++)
        cg__optim_update_range(o, i, 0, o->params[i]->size);
    return CG_OK;
}

/* Thread t's contiguous share [*begin, *end) of a tensor of n elements. */
static void share_of(size_t n, int thread, int n_threads, size_t *begin, size_t *end)
{
    *begin = n * (size_t)thread / (size_t)n_threads;
    *end = n * (size_t)(thread + 1) / (size_t)n_threads;
}

/* Thread t updates its contiguous share of every parameter. */
static void step_share(void *ctx, int thread, int n_threads)
{
    const cg_optim *o = ctx;
    size_t begin, end;

    for (int i = 0; i < o->n; i++) {
        share_of(o->params[i]->size, thread, n_threads, &begin, &end);
        cg__optim_update_range(o, i, begin, end);
    }
}

/* A step whose update runs as `share` on the threads of pool. */
static cg_status step_on_pool(const char *fn, cg_optim *o, cg_pool *pool, cg_pool_fn share)
{
    if (!o)
        return cg__fail(CG_ERR_ARG, "%s: optimizer is NULL", fn);
    cg_status st = cg__optim_begin_step(o);
    if (st != CG_OK)
        return st;
    cg_pool_run(pool, share, o);
    return CG_OK;
}

cg_status cg_optim_step_pool(cg_optim *o, cg_pool *pool)
{
    return step_on_pool("cg_optim_step_pool", o, pool, step_share);
}

/* The chunk of a gradient updated and then zeroed while it is still in the
 * first-level cache: 1024 elements of each array an update touches (Adam:
 * parameter, gradient and two moments, 16 KiB in float). */
#define CG__STEP_ZERO_CHUNK 1024

/* Thread t updates its contiguous share of every parameter and zeroes the
 * same share of the gradient right after each chunk was read. */
static void step_zero_share(void *ctx, int thread, int n_threads)
{
    const cg_optim *o = ctx;
    size_t begin, end;

    for (int i = 0; i < o->n; i++) {
        share_of(o->params[i]->size, thread, n_threads, &begin, &end);
        for (size_t c = begin; c < end; c += CG__STEP_ZERO_CHUNK) {
            size_t c_end = end - c < CG__STEP_ZERO_CHUNK ? end : c + CG__STEP_ZERO_CHUNK;
            cg__optim_update_range(o, i, c, c_end);
            memset(o->params[i]->grad + c, 0, (c_end - c) * sizeof(cg_float));
        }
    }
}

cg_status cg_optim_step_zero_grad(cg_optim *o, cg_pool *pool)
{
    return step_on_pool("cg_optim_step_zero_grad", o, pool, step_zero_share);
}

/* Thread t zeroes its contiguous share of every gradient. */
static void zero_share(void *ctx, int thread, int n_threads)
{
    const cg_optim *o = ctx;
    size_t begin, end;

    for (int i = 0; i < o->n; i++) {
        cg_tensor *p = o->params[i];
        share_of(p->size, thread, n_threads, &begin, &end);
        if (p->grad && end > begin)
            memset(p->grad + begin, 0, (end - begin) * sizeof *p->grad);
    }
}

void cg_optim_zero_grad_pool(cg_optim *o, cg_pool *pool)
{
    if (o)
        cg_pool_run(pool, zero_share, o);
}

void cg_optim_zero_grad(cg_optim *o)
{
    if (!o)
        return;
    for (int i = 0; i < o->n; i++) {
        cg_tensor *p = o->params[i];
        if (p->grad && p->size > 0)
            memset(p->grad, 0, p->size * sizeof *p->grad);
    }
}

/* ---- learning rate and step count ------------------------------------------- */

cg_status cg_optim_set_lr(cg_optim *o, double lr)
{
    if (!o)
        return cg__fail(CG_ERR_ARG, "cg_optim_set_lr: optimizer is NULL");
    if (!cg__check_nonneg("cg_optim_set_lr", "lr", lr))
        return CG_ERR_ARG;
    o->lr = lr;
    return CG_OK;
}

double cg_optim_lr(const cg_optim *o)
{
    return o ? o->lr : 0.0;
}

int64_t cg_optim_steps(const cg_optim *o)
{
    return o ? o->steps : 0;
}

cg_status cg_optim_set_steps(cg_optim *o, int64_t steps)
{
    if (!o)
        return cg__fail(CG_ERR_ARG, "cg_optim_set_steps: optimizer is NULL");
    if (steps < 0 || steps > CG_OPTIM_MAX_STEPS)
        return cg__fail(CG_ERR_ARG, "cg_optim_set_steps: steps must be in [0, 2^53], got "
                        "%lld", (long long)steps);
    o->steps = steps;
    return CG_OK;
}

/* ---- state and settings ----------------------------------------------------- */

int cg_optim_state_count(const cg_optim *o)
{
    return o ? o->n_state : 0;
}

cg_tensor *cg_optim_state_tensor(cg_optim *o, int i, const char **name)
{
    if (!o)
        return cg__fail_null(CG_ERR_ARG, "cg_optim_state_tensor: optimizer is NULL");
    if (i < 0 || i >= o->n_state)
        return cg__fail_null(CG_ERR_ARG,
                             "cg_optim_state_tensor: index %d out of range [0, %d)", i,
                             o->n_state);
    if (name)
        *name = o->state_names[i];
    return o->state[i];
}

const char *cg_optim_name(const cg_optim *o)
{
    return o ? o->ops->name : "";
}

void cg__describe_text(char *buf, size_t n, const char *text)
{
    size_t used = strlen(buf);
    if (used + 1 < n)
        snprintf(buf + used, n - used, "%s", text);
}

void cg__format_num(char *out, size_t n, double value)
{
    /* The shortest %g form that reads back to the same double: 0.001, not
     * 0.0010000000000000000208, so the text is short and still exact. */
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(out, n, "%.*g", prec, value);
        if (strtod(out, NULL) == value)
            break;
    }
}

void cg__describe_num(char *buf, size_t n, const char *key, double value)
{
    char num[40], item[80];
    cg__format_num(num, sizeof num, value);
    snprintf(item, sizeof item, " %s=%s", key, num);
    cg__describe_text(buf, n, item);
}

void cg__describe_bool(char *buf, size_t n, const char *key, bool value)
{
    char item[80];
    snprintf(item, sizeof item, " %s=%d", key, value ? 1 : 0);
    cg__describe_text(buf, n, item);
}

char *cg_optim_describe(const cg_optim *o, char *buf, size_t n)
{
    if (!buf || n == 0)
        return buf;
    buf[0] = '\0';
    if (!o)
        return buf;
    cg__describe_text(buf, n, o->ops->name);
    o->ops->describe(o, buf, n);
    return buf;
}
