/*
 * Learning-rate schedules as pure functions of a counter t (the epoch or the
 * step): the closed forms of torch.optim.lr_scheduler's StepLR,
 * ExponentialLR, CosineAnnealingLR and LinearLR (as a warm-up factor).
 * PyTorch's schedulers update the lr recursively from the previous one; in
 * exact arithmetic that gives these values, in floating point they may differ
 * in the last bits (docs/OPTIM.md). A pure function makes a resumed run get
 * exactly the rates of an uninterrupted one.
 */
#include <math.h>

#include "internal.h"

#define PI 3.14159265358979323846

cg_status cg_schedule_check(const struct cg_schedule *s)
{
    static const char fn[] = "cg_schedule";
    if (!s)
        return cg__fail(CG_ERR_ARG, "%s: schedule is NULL", fn);
    if (!(s->base_lr >= 0))
        return cg__fail(CG_ERR_ARG, "%s: base_lr must be >= 0, got %g", fn, s->base_lr);
    if (s->warmup_steps < 0)
        return cg__fail(CG_ERR_ARG, "%s: warmup_steps must be >= 0, got %lld", fn,
                        (long long)s->warmup_steps);
    switch (s->kind) {
    case CG_SCHEDULE_CONSTANT:
        return CG_OK;
    case CG_SCHEDULE_STEP:
        if (s->step_size <= 0)
            return cg__fail(CG_ERR_ARG, "%s: step_size must be > 0, got %lld", fn,
                            (long long)s->step_size);
        if (!(s->gamma >= 0))
            return cg__fail(CG_ERR_ARG, "%s: gamma must be >= 0, got %g", fn, s->gamma);
        return CG_OK;
    case CG_SCHEDULE_EXPONENTIAL:
        if (!(s->gamma >= 0))
            return cg__fail(CG_ERR_ARG, "%s: gamma must be >= 0, got %g", fn, s->gamma);
        return CG_OK;
    case CG_SCHEDULE_COSINE:
        if (s->t_max <= 0)
            return cg__fail(CG_ERR_ARG, "%s: t_max must be > 0, got %lld", fn,
                            (long long)s->t_max);
        if (!(s->eta_min >= 0))
            return cg__fail(CG_ERR_ARG, "%s: eta_min must be >= 0, got %g", fn, s->eta_min);
        return CG_OK;
    }
    return cg__fail(CG_ERR_ARG, "%s: unknown kind %d", fn, (int)s->kind);
}

/* The schedule without warm-up at counter t >= 0. */
static double base_schedule(const struct cg_schedule *s, int64_t t)
{
    switch (s->kind) {
    case CG_SCHEDULE_STEP:          /* StepLR._get_closed_form_lr */
        return s->base_lr * pow(s->gamma, (double)(t / s->step_size));
    case CG_SCHEDULE_EXPONENTIAL:   /* ExponentialLR._get_closed_form_lr */
        return s->base_lr * pow(s->gamma, (double)t);
    case CG_SCHEDULE_COSINE:        /* CosineAnnealingLR._get_closed_form_lr */
        return s->eta_min + (s->base_lr - s->eta_min) *
                                (1 + cos(PI * (double)t / (double)s->t_max)) / 2;
    case CG_SCHEDULE_CONSTANT:
        break;
    }
    return s->base_lr;
}

/*
 * https://pytorch.org/docs/stable/generated/torch.optim.lr_scheduler.StepLR.html
 * https://pytorch.org/docs/stable/generated/torch.optim.lr_scheduler.ExponentialLR.html
 * https://pytorch.org/docs/stable/generated/torch.optim.lr_scheduler.CosineAnnealingLR.html
 * https://pytorch.org/docs/stable/generated/torch.optim.lr_scheduler.LinearLR.html
 *
 * lr(t) = base(t) * min(1, (t + 1) / W) with W = warmup_steps > 0, else base(t).
 * The warm-up factor is LinearLR(start_factor = 1/W, end_factor = 1,
 * total_iters = W - 1): 1/W + (1 - 1/W) min(t, W-1) / (W-1) = min(1, (t+1)/W).
 */
double cg_schedule_lr(const struct cg_schedule *s, int64_t t)
{
    if (cg_schedule_check(s) != CG_OK)
        return (double)NAN;
    if (t < 0)
        t = 0;
    double lr = base_schedule(s, t);
    if (s->warmup_steps > 0 && t + 1 < s->warmup_steps)
        lr *= (double)(t + 1) / (double)s->warmup_steps;
    return lr;
}
