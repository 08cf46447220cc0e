/*
 * cgrad optim layer: optimizers, gradient clipping, learning-rate schedules.
 *
 * An optimizer sees a list of parameters: tensors whose `data` and `grad`
 * (same size) it reads and writes. It knows nothing of models or graphs; a
 * model that keeps all its parameters in one flat buffer may hand over a
 * single tensor covering everything. Each optimizer computes what the
 * torch.optim class of the same name documents, with its defaults, in
 * cg_float element math (scalars such as bias corrections are computed once
 * per step in double, as PyTorch computes them in Python floats), so that a
 * run can be compared number for number. docs/OPTIM.md gives every update
 * rule as computed here.
 *
 *     struct cg_adam_params hp = cg_adam_defaults();     // lr 1e-3, ...
 *     hp.weight_decay = 1e-4;
 *     cg_optim *opt = cg_adam_new(params, n_params, &hp);
 *     struct cg_schedule sched = {.kind = CG_SCHEDULE_COSINE,
 *                                 .base_lr = hp.lr, .t_max = epochs,
 *                                 .warmup_steps = 5};
 *     for (int64_t epoch = 0; epoch < epochs; epoch++) {
 *         cg_optim_set_lr(opt, cg_schedule_lr(&sched, epoch));
 *         ... forward, cg_backward ...
 *         cg_float norm = cg_clip_grad_norm(params, n_params, 1.0);
 *         if (!isfinite(norm)) break;            // grads were left unchanged
 *         cg_optim_step(opt);
 *         cg_optim_zero_grad(opt);
 *     }
 *     cg_optim_free(opt);
 *
 * Hyper-parameters and learning rates are doubles, like PyTorch's Python
 * floats; they are rounded to cg_float where they meet the element math.
 */
#ifndef CG_OPTIM_H
#define CG_OPTIM_H

#include "../tensor/tensor.h"
#include "../nn/nn.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- optimizers ----------------------------------------------------------
 * One opaque type behind every algorithm. Constructors copy the list of
 * parameter pointers (not the tensors: those stay the caller's and must
 * outlive the optimizer), allocate every state buffer up front (a step never
 * allocates), and return NULL with CG_ERR_ARG and a message naming the option
 * for a bad hyper-parameter (PyTorch's own checks), an empty list, a NULL
 * tensor, a tensor without a grad buffer, or two parameters whose data
 * overlap. A NULL params struct means the defaults. */

typedef struct cg_optim cg_optim;

/* torch.optim.SGD. PyTorch's lr has no default; cgrad's is 0.01. */
struct cg_sgd_params {
    double lr;            /* 0.01 */
    double momentum;      /* 0 */
    double dampening;     /* 0 */
    double weight_decay;  /* 0: L2 penalty added to the gradient */
    bool   nesterov;      /* false; needs momentum > 0 and dampening 0 */
};

/* torch.optim.RMSprop. */
struct cg_rmsprop_params {
    double lr;            /* 0.01 */
    double alpha;         /* 0.99: smoothing of the squared-gradient average */
    double eps;           /* 1e-8, added outside the square root */
    double weight_decay;  /* 0 */
    double momentum;      /* 0 */
    bool   centered;      /* false: subtract the square of the grad average */
};

/* torch.optim.Adagrad. */
struct cg_adagrad_params {
    double lr;                         /* 0.01 */
    double lr_decay;                   /* 0 */
    double weight_decay;               /* 0 */
    double initial_accumulator_value;  /* 0 */
    double eps;                        /* 1e-10 */
};

/* torch.optim.Adam and torch.optim.AdamW (which differ in weight decay:
 * Adam adds it to the gradient, AdamW decays the parameter directly). */
struct cg_adam_params {
    double lr;            /* 0.001 */
    double betas[2];      /* 0.9, 0.999 */
    double eps;           /* 1e-8 */
    double weight_decay;  /* Adam 0, AdamW 0.01 */
    bool   amsgrad;       /* false */
};

/* The defaults of each torch.optim class. */
struct cg_sgd_params     cg_sgd_defaults(void);
struct cg_rmsprop_params cg_rmsprop_defaults(void);
struct cg_adagrad_params cg_adagrad_defaults(void);
struct cg_adam_params    cg_adam_defaults(void);
struct cg_adam_params    cg_adamw_defaults(void);   /* weight_decay 0.01 */

/* A new optimizer over params[0..n); free with cg_optim_free. */
cg_optim *cg_sgd_new(cg_tensor *const *params, int n, const struct cg_sgd_params *p);
cg_optim *cg_rmsprop_new(cg_tensor *const *params, int n, const struct cg_rmsprop_params *p);
cg_optim *cg_adagrad_new(cg_tensor *const *params, int n, const struct cg_adagrad_params *p);
cg_optim *cg_adam_new(cg_tensor *const *params, int n, const struct cg_adam_params *p);
cg_optim *cg_adamw_new(cg_tensor *const *params, int n, const struct cg_adam_params *p);

/* Free the optimizer and its state (not the parameters); NULL is a no-op. */
void      cg_optim_free(cg_optim *o);

/* One update of every parameter from its grad; the step count goes up by
 * one first (so the first step is step 1, as in the docs' pseudocode).
 * CG_ERR_STATE if a parameter's grad buffer has gone (nothing is changed). */
cg_status cg_optim_step(cg_optim *o);
/* The same step split across the threads of pool (NULL: the caller alone):
 * every element's update is the same arithmetic, so the result is the same
 * bits as cg_optim_step whatever the thread count. */
cg_status cg_optim_step_pool(cg_optim *o, cg_pool *pool);
/* Set every parameter's grad to zero (PyTorch's zero_grad(set_to_none=False)). */
void      cg_optim_zero_grad(cg_optim *o);
/* The same, each thread of pool (NULL: the caller alone) zeroing its share. */
void      cg_optim_zero_grad_pool(cg_optim *o, cg_pool *pool);

/* cg_optim_step_pool then cg_optim_zero_grad_pool in one pass over memory:
 * each chunk of a gradient is zeroed right after its update read it, while
 * it is still in cache. The same bits as the two calls; on an error nothing
 * is changed, the grads included. */
cg_status cg_optim_step_zero_grad(cg_optim *o, cg_pool *pool);

/* A whole training step on trainer t (nn/nn.h): cg_trainer_backward on
 * batch b, then o's update and zero grad in one pass over memory
 * (cg_optim_step_zero_grad), on t's threads. r (may be NULL) receives the
 * batch's figures. A loss or a gradient that is not finite is
 * CG_ERR_NUMERIC and updates nothing. The gradients are zero afterwards in
 * every case. (No clipping: for that, make the two calls and clip between
 * them, as cg_fit does.) */
cg_status cg_optim_train_step(cg_optim *o, cg_trainer *t, const struct cg_batch *b,
                              cg_rng *rng, struct cg_batch_result *r);

/* Set the learning rate used by the following steps (a schedule calls this
 * before each epoch or step). A negative or NaN lr is CG_ERR_ARG. */
cg_status cg_optim_set_lr(cg_optim *o, double lr);
/* The current learning rate. */
double    cg_optim_lr(const cg_optim *o);
/* The most steps an optimizer takes: 2^53, where a count is still exact as
 * the double that the bias corrections and schedules compute with. A step
 * past it is CG_ERR_STATE, a restored count above it CG_ERR_ARG. */
#define CG_OPTIM_MAX_STEPS ((int64_t)1 << 53)

/* The number of steps taken (or restored with cg_optim_set_steps). */
int64_t   cg_optim_steps(const cg_optim *o);

/* ---- state, for checkpoints ----------------------------------------------
 * An optimizer's state is its step count plus a list of named tensors, each
 * of the shape of its parameter, named "p<i>.<buffer>" after the parameter's
 * position i and PyTorch's state_dict key: "p0.momentum_buffer" (SGD with
 * momentum, RMSprop with momentum), "p0.square_avg", "p0.grad_avg"
 * (RMSprop, centered), "p0.sum" (Adagrad), "p0.exp_avg", "p0.exp_avg_sq",
 * "p0.max_exp_avg_sq" (Adam/AdamW, amsgrad). Save: read the tensors and the
 * step count. Restore into a new optimizer built with the same settings:
 * copy into the tensors and set the step count; the run then continues
 * bit for bit as if it had never stopped. */

/* The number of state tensors. */
int        cg_optim_state_count(const cg_optim *o);
/* State tensor i in [0, count), owned by the optimizer, writable; its name
 * goes to *name if name is not NULL. NULL (CG_ERR_ARG) for i out of range. */
cg_tensor *cg_optim_state_tensor(cg_optim *o, int i, const char **name);
/* Set the step count (restore); a count outside [0, CG_OPTIM_MAX_STEPS] is
 * CG_ERR_ARG. */
cg_status  cg_optim_set_steps(cg_optim *o, int64_t steps);

/* The algorithm: "sgd", "rmsprop", "adagrad", "adam" or "adamw". */
const char *cg_optim_name(const cg_optim *o);
/* A canonical one-line text of the algorithm and its hyper-parameters as
 * given to the constructor (lr is the constructor's, not the current one), e.g.
 * "adam lr=0.001 betas=0.9,0.999 eps=1e-08 weight_decay=0 amsgrad=0",
 * numbers in their shortest round-trip form. Two optimizers describe alike
 * iff their settings are equal. Writes at most n bytes (truncated, always
 * terminated if n > 0); returns buf. CG_OPTIM_DESCRIBE_MAX always suffices. */
#define CG_OPTIM_DESCRIBE_MAX 256
char       *cg_optim_describe(const cg_optim *o, char *buf, size_t n);

/* ---- gradient clipping --------------------------------------------------- */

/* torch.nn.utils.clip_grad_norm_ with norm_type 2: total_norm = the L2 norm of
 * all gradients together (the norm of the per-tensor norms); every grad is
 * multiplied by min(1, max_norm / (total_norm + 1e-6)). Returns total_norm
 * before clipping. A non-finite total norm (a NaN or infinite gradient) is
 * returned and the grads are left unchanged (PyTorch would scale them into
 * NaNs). Tensors with a NULL grad are skipped. Returns -1 with CG_ERR_ARG for
 * n < 0, a NULL list or entry, or a negative or NaN max_norm. */
cg_float  cg_clip_grad_norm(cg_tensor *const *params, int n, double max_norm);
/* torch.nn.utils.clip_grad_value_: clamp every gradient element to
 * [-clip_value, clip_value] (NaN stays NaN). CG_ERR_ARG for bad arguments as
 * above. */
cg_status cg_clip_grad_value(cg_tensor *const *params, int n, double clip_value);

/* ---- learning-rate schedules ---------------------------------------------
 * A schedule is a value and the learning rate a pure function of a counter t
 * (0, 1, 2, ...: the epoch or the step, the caller's choice), so a resumed
 * run gets the same rates. The caller passes the result to cg_optim_set_lr.
 * In closed form (docs/OPTIM.md compares them with PyTorch's recursive ones):
 *   CONSTANT     base_lr
 *   STEP         base_lr * gamma^floor(t / step_size)       (StepLR)
 *   EXPONENTIAL  base_lr * gamma^t                          (ExponentialLR)
 *   COSINE       eta_min + (base_lr - eta_min)(1 + cos(pi t / t_max)) / 2
 *                                                          (CosineAnnealingLR)
 * and, with warmup_steps W > 0, times the linear warm-up factor
 *   min(1, (t + 1) / W)   (LinearLR(start_factor=1/W, total_iters=W-1)). */

enum cg_schedule_kind {
    CG_SCHEDULE_CONSTANT = 0,
    CG_SCHEDULE_STEP,
    CG_SCHEDULE_EXPONENTIAL,
    CG_SCHEDULE_COSINE
};

struct cg_schedule {
    enum cg_schedule_kind kind;
    double  base_lr;       /* the optimizer's initial lr */
    int64_t step_size;     /* STEP: > 0 */
    double  gamma;         /* STEP, EXPONENTIAL: decay factor, >= 0 */
    int64_t t_max;         /* COSINE: > 0, half the period */
    double  eta_min;       /* COSINE: the lowest lr, >= 0 */
    int64_t warmup_steps;  /* any kind: 0 = no warm-up */
};

/* CG_OK if the schedule's fields fit its kind, else CG_ERR_ARG naming the
 * field. */
cg_status cg_schedule_check(const struct cg_schedule *s);
/* The learning rate at counter t >= 0 (a negative t counts as 0). NaN for a
 * schedule that cg_schedule_check rejects. */
double    cg_schedule_lr(const struct cg_schedule *s, int64_t t);

#ifdef __cplusplus
}
#endif

#endif /* CG_OPTIM_H */
