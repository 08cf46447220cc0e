/*
 * Internals of the optim layer (prefix cg__), shared by its files. Not installed.
 *
 * A step is split in two so that it can later be spread over threads:
 * cg__optim_begin_step (once: count the step, compute the per-step scalars
 * such as Adam's bias corrections) and cg__optim_update_range (any number of
 * times, on disjoint element ranges [begin, end) of parameter i, each touching
 * only that range of the parameter, its grad and its state).
 */
#ifndef CG_OPTIM_INTERNAL_H
#define CG_OPTIM_INTERNAL_H

#include "../tensor/internal.h"
#include "optim.h"

#define CG__MAX_SLOTS 3

/* For the update kernels: a function with bool arguments inlined at call
 * sites with constant ones, so each combination of options becomes its own
 * branch-free loop that the compiler can vectorize. */
#if defined(__GNUC__)
#define CG__KERNEL static inline __attribute__((always_inline))
#else
#define CG__KERNEL static inline
#endif

/* Per-step scalars of each algorithm, rounded to cg_float once per step. */
struct cg__sgd_scalars {
    cg_float lr, weight_decay, momentum, one_minus_dampening;
    bool first;  /* step 1: the momentum buffer is set to the gradient */
};
struct cg__rmsprop_scalars {
    cg_float lr, alpha, one_minus_alpha, eps, weight_decay, momentum;
};
struct cg__adagrad_scalars {
    cg_float clr, weight_decay, eps;
};
struct cg__adam_scalars {
    cg_float beta1, one_minus_beta1, beta2, one_minus_beta2, eps, weight_decay;
    cg_float neg_step_size;        /* -lr / (1 - beta1^t) */
    cg_float bias_correction2_sqrt; /* sqrt(1 - beta2^t) */
    cg_float decay;                 /* AdamW: 1 - lr * weight_decay */
};

struct cg__optim_ops {
    const char *name;
    const char *slot_names[CG__MAX_SLOTS];
    /* Fill o->k from o->hp, o->lr and o->steps (already incremented). */
    void (*prepare)(cg_optim *o);
    /* Update elements [begin, end) of parameter i. */
    void (*update)(const cg_optim *o, int i, size_t begin, size_t end);
    /* Write the hyper-parameters after "name " (see cg_optim_describe). */
    void (*describe)(const cg_optim *o, char *buf, size_t n);
};

struct cg_optim {
    const struct cg__optim_ops *ops;
    int         n;          /* number of parameters */
    cg_tensor **params;     /* [n], borrowed */
    cg_tensor **slots;      /* [n * CG__MAX_SLOTS]: slot s of param i at i*MAX+s; NULL if unused */
    int         n_state;    /* non-NULL slots, listed parameter-major: */
    cg_tensor **state;      /* [n_state] */
    char      **state_names;/* [n_state] "p<i>.<slot name>" */
    int64_t     steps;
    double      lr;         /* current */
    union {
        struct cg_sgd_params     sgd;
        struct cg_rmsprop_params rmsprop;
        struct cg_adagrad_params adagrad;
        struct cg_adam_params    adam;
    } hp;
    union {
        struct cg__sgd_scalars     sgd;
        struct cg__rmsprop_scalars rmsprop;
        struct cg__adagrad_scalars adagrad;
        struct cg__adam_scalars    adam;
    } k;
};

/* The common part of every constructor: checks the parameter list (fn names
 * the caller in messages), copies it, and allocates a zeroed state tensor of
 * each parameter's shape for every slot s with used[s]. NULL on failure. */
cg_optim *cg__optim_new(const char *fn, const struct cg__optim_ops *ops,
                        cg_tensor *const *params, int n, const bool used[CG__MAX_SLOTS],
                        double lr);

/* The data of slot s of parameter i (NULL if the slot is unused). */
static inline cg_float *cg__slot(const cg_optim *o, int i, int s)
{
    cg_tensor *t = o->slots[(size_t)i * CG__MAX_SLOTS + (size_t)s];
    return t ? t->data : NULL;
}

/* Count the step and compute its scalars; CG_ERR_STATE if a grad is missing. */
cg_status cg__optim_begin_step(cg_optim *o);
/* Update elements [begin, end) of parameter i for the step begun. */
void      cg__optim_update_range(const cg_optim *o, int i, size_t begin, size_t end);

/* Append text to the string in buf (n bytes in all), truncating. */
void cg__describe_text(char *buf, size_t n, const char *text);
/* value in its shortest %g form that reads back to the same double. */
void cg__format_num(char *out, size_t n, double value);
/* Append " key=value" to buf (n bytes in all) with the value in its shortest
 * form that reads back to the same double. */
void cg__describe_num(char *buf, size_t n, const char *key, double value);
/* Append " key=0" or " key=1". */
void cg__describe_bool(char *buf, size_t n, const char *key, bool value);

/* True if value >= 0; else sets CG_ERR_ARG naming fn and the option (NaN
 * fails too) and returns false. */
bool cg__check_nonneg(const char *fn, const char *option, double value);

#endif /* CG_OPTIM_INTERNAL_H */
