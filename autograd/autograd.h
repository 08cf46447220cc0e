/*
 * cgrad autograd layer: a reverse-mode graph over tensors.
 *
 * A cg_graph owns an arena for one step's intermediates. Every op called with
 * the graph allocates its output there and records a node: its inputs, a
 * backward function, and what it saved from the forward pass. cg_backward
 * seeds d(loss)/d(loss) = 1 and walks the nodes in reverse order of creation
 * (which is a topological order: an op's inputs exist before it), calling
 * each node reachable from the root once; backward functions accumulate (+=)
 * into the gradient of every input that requires one. cg_graph_reset frees
 * every intermediate at once, in O(1).
 *
 * Ops return NULL when an input is NULL (without touching the error), and set
 * the error and return NULL when their own inputs do not fit, so a mistake
 * deep in a forward pass surfaces once, at the loss, with the first message.
 *
 *     cg_graph  *g = cg_graph_new();
 *     cg_tensor *w = cg_param_new(2, (int[]){3, 4});   // [out, in], has a grad
 *     cg_tensor *b = cg_param_new(1, (int[]){3});
 *     cg_tensor *x = cg_graph_tensor(g, 2, (int[]){8, 4});  // fill x->data
 *     int labels[8] = {0};
 *     cg_tensor *loss = cg_cross_entropy(g, cg_linear(g, x, w, b), labels);
 *     if (!loss || cg_backward(g, loss) != CG_OK)
 *         fprintf(stderr, "%s\n", cg_errmsg());
 *     // w->grad and b->grad now hold d(loss)/dw and d(loss)/db
 *     cg_graph_reset(g);
 *
 * Shapes are outermost first: B batch, I in features, O out features,
 * C classes.
 */
#ifndef CG_AUTOGRAD_H
#define CG_AUTOGRAD_H

#include "../tensor/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- the graph ---------------------------------------------------------- */

typedef struct cg_graph cg_graph;

/* A new empty graph, in training mode with gradients recorded. */
cg_graph *cg_graph_new(void);
/* Free the graph and every intermediate it holds; NULL is a no-op. */
void      cg_graph_free(cg_graph *g);
/* Forget every node and intermediate tensor, in O(1); the arena keeps its
 * blocks, so a step that repeats stops calling malloc. */
void      cg_graph_reset(cg_graph *g);
/* The arena's counters: bytes in use, high-water mark, system allocations. */
struct cg_arena_stats cg_graph_stats(const cg_graph *g);
/* The graph's arena, for the caller's own per-step scratch memory. */
cg_arena *cg_graph_arena(cg_graph *g);

/* Training mode (default true) turns dropout on. */
void      cg_graph_set_training(cg_graph *g, bool training);
bool      cg_graph_training(const cg_graph *g);
/* With gradients off (default on), ops record no backward information and
 * no output requires a gradient: inference without the memory for it. */
void      cg_graph_set_grad(cg_graph *g, bool enabled);
bool      cg_graph_grad_enabled(const cg_graph *g);

/* ---- leaves ------------------------------------------------------------- */

/* A new heap tensor that requires a gradient, with a zeroed grad buffer of
 * its own. Free with cg_tensor_free. */
cg_tensor *cg_param_new(int ndim, const int *shape);
/* A new zero-filled tensor in the graph's arena that requires no gradient
 * (an input, a target). Freed by cg_graph_reset. */
cg_tensor *cg_graph_tensor(cg_graph *g, int ndim, const int *shape);
/* An arena header over caller-owned data (no copy): feed a mini-batch
 * without copying it. The data must outlive the step. */
cg_tensor *cg_graph_wrap(cg_graph *g, cg_float *data, int ndim, const int *shape);
/* Set a tensor's gradient to zero (no-op without a grad). */
void       cg_zero_grad(cg_tensor *t);
/* True when autograd computes this tensor's gradient. */
bool       cg_requires_grad(const cg_tensor *t);

/* ---- backward ----------------------------------------------------------- */

/* Backpropagate from a scalar root (one element): seeds its gradient with 1
 * and accumulates into every parameter reachable from it. A root with more
 * than one element is CG_ERR_SHAPE: use cg_backward_seed. Calling it twice
 * on the same graph without a reset is CG_ERR_STATE; a root that requires no
 * gradient is CG_ERR_ARG. A NULL root (an op before failed) returns that
 * op's status and keeps its message. Intermediates get arena gradients
 * (readable until the reset), and so does an arena leaf on which the caller
 * set CG_TENSOR_REQUIRES_GRAD (the gradient with respect to an input). */
cg_status cg_backward(cg_graph *g, cg_tensor *root);
/* The same with an explicit seed gradient of root's shape. */
cg_status cg_backward_seed(cg_graph *g, cg_tensor *root, const cg_tensor *seed);

/* ---- ops -----------------------------------------------------------------
 * Each returns a new tensor in g's arena, or NULL. */

/* a + b, a - b, a * b element-wise; b may also be a row vector [C] added to
 * every row of a: [R, C] (a bias). */
cg_tensor *cg_add(cg_graph *g, cg_tensor *a, cg_tensor *b);
cg_tensor *cg_sub(cg_graph *g, cg_tensor *a, cg_tensor *b);
cg_tensor *cg_mul(cg_graph *g, cg_tensor *a, cg_tensor *b);
/* s * a */
cg_tensor *cg_scale(cg_graph *g, cg_tensor *a, cg_float s);
/* a: [M, K] @ b: [K, N] -> [M, N] */
cg_tensor *cg_matmul(cg_graph *g, cg_tensor *a, cg_tensor *b);
/* x: [B, I], w: [O, I], b: [O] or NULL -> x @ w^T + b: [B, O]
 * (torch.nn.functional.linear). */
cg_tensor *cg_linear(cg_graph *g, cg_tensor *x, cg_tensor *w, cg_tensor *b);
/* Element-wise activations, any shape. */
cg_tensor *cg_sigmoid(cg_graph *g, cg_tensor *x);
cg_tensor *cg_tanh(cg_graph *g, cg_tensor *x);
cg_tensor *cg_relu(cg_graph *g, cg_tensor *x);
cg_tensor *cg_leaky_relu(cg_graph *g, cg_tensor *x, cg_float negative_slope);
/* The activations cg_linear_act fuses (and nn/ builds models from). */
enum cg_act {
    CG_ACT_NONE,
    CG_ACT_RELU,
    CG_ACT_LEAKY_RELU,
    CG_ACT_SIGMOID,
    CG_ACT_TANH,
    CG_ACT_SOFTMAX
};
/* act(x @ w^T + b) as one node: the bias, the GEMM and the activation in one
 * pass over the output, and in backward one pass from dL/dy to dL/dz before
 * the GEMMs, with no intermediate tensor or gradient buffer. act is
 * CG_ACT_NONE, RELU, SIGMOID, TANH or LEAKY_RELU with a slope > 0 (the
 * derivative is read from the output y, which needs sign(y) = sign(z)); the
 * numbers are those of cg_linear followed by the activation. x: [B, I],
 * w: [O, I], b: [O] or NULL -> [B, O]. */
cg_tensor *cg_linear_act(cg_graph *g, cg_tensor *x, cg_tensor *w, cg_tensor *b,
                         enum cg_act act, cg_float negative_slope);
/* Row-wise over the last dimension of x: [B, C]. */
cg_tensor *cg_softmax(cg_graph *g, cg_tensor *x);
cg_tensor *cg_log_softmax(cg_graph *g, cg_tensor *x);
/* Sum and mean of all elements -> a scalar (ndim 0). */
cg_tensor *cg_sum(cg_graph *g, cg_tensor *x);
cg_tensor *cg_mean(cg_graph *g, cg_tensor *x);
/* The same elements under another shape. */
cg_tensor *cg_reshape(cg_graph *g, cg_tensor *x, int ndim, const int *shape);
/* Inverted dropout: in training mode each element is zeroed with probability
 * p (one cg_rng_uniform per element, in order: dropped when below p) and the
 * rest scaled by 1/(1-p). In eval mode or with p = 0 it returns x itself
 * and leaves rng untouched. p outside [0, 1) is CG_ERR_ARG. */
cg_tensor *cg_dropout(cg_graph *g, cg_tensor *x, cg_float p, cg_rng *rng);

/* ---- losses --------------------------------------------------------------
 * Scalar outputs, with the definitions of PyTorch's losses of the same
 * names and their default reduction (mean). labels: [B] class ids in [0, C). */

/* Cross-entropy from logits: [B, C] (fused with log-softmax). */
cg_tensor *cg_cross_entropy(cg_graph *g, cg_tensor *logits, const int *labels);
/* With class weights: [C] (or NULL) and label smoothing in [0, 1], as
 * torch.nn.CrossEntropyLoss(weight, label_smoothing). */
cg_tensor *cg_cross_entropy_ex(cg_graph *g, cg_tensor *logits, const int *labels,
                               const cg_tensor *class_weights, cg_float label_smoothing);
/* Negative log-likelihood of log-probabilities logp: [B, C]. */
cg_tensor *cg_nll_loss(cg_graph *g, cg_tensor *logp, const int *labels);
/* mean((pred - target)^2); pred and target of one shape. */
cg_tensor *cg_mse_loss(cg_graph *g, cg_tensor *pred, cg_tensor *target);
/* Binary cross-entropy with logits; targets in [0, 1], same shape. */
cg_tensor *cg_bce_with_logits(cg_graph *g, cg_tensor *logits, cg_tensor *target);

enum cg_reduction { CG_REDUCE_MEAN, CG_REDUCE_SUM, CG_REDUCE_BATCHMEAN };
/* KL divergence of log-probabilities logp: [B, C] against probabilities
 * target: [B, C], as torch.nn.functional.kl_div(logp, target, reduction). */
cg_tensor *cg_kl_div(cg_graph *g, cg_tensor *logp, cg_tensor *target,
                     enum cg_reduction reduction);

/* ---- the graph as a picture ----------------------------------------------- */

/* A label for a leaf tensor in cg_graph_dot's picture ("0.weight"). */
struct cg_dot_name {
    const cg_tensor *tensor;
    const char      *name;
};

/* Write the part of g's graph that root depends on (every node when root is
 * NULL) as Graphviz DOT to out: a box per op (its name and output shape), an
 * ellipse per leaf (a parameter, filled, or data, dashed), an edge per input
 * labelled with the shape that flows on it, solid where a gradient flows
 * back and dashed where none does, and the root drawn as the loss. Nodes
 * and leaves that need a gradient say so. names (n_names entries, or NULL)
 * label leaves; others are "input", "param". Call it after the forward pass,
 * before or after cg_backward. CG_ERR_IO when writing fails; the graph is
 * not changed. (`cgrad graph` writes one for a model; dot -Tsvg draws it.) */
cg_status cg_graph_dot(const cg_graph *g, const cg_tensor *root,
                       const struct cg_dot_name *names, int n_names, FILE *out);

/* ---- custom ops ----------------------------------------------------------
 * An op defined outside the library: create its output with cg_op_new, write
 * the forward result into out->data, and save what backward needs in the
 * context bytes. Backward reads out->grad and adds into the inputs' grads
 * (only those with a non-NULL grad). It must use no global or static
 * mutable state: graphs may run on several threads. examples/custom_op.c
 * defines softplus this way. (The library's own ops also skip an input whose
 * CG_TENSOR_REQUIRES_GRAD flag is cleared: a frozen parameter.) */

typedef void (*cg_backward_fn)(cg_tensor *out);

/* A new output of the given shape (zero-filled) recorded as a node with these
 * inputs (at most CG_MAX_INPUTS), backward function and ctx_bytes of zeroed
 * context memory, all in g's arena (name is copied). It requires a gradient
 * when gradients are on and an input does. A NULL input gives NULL without
 * touching the error. */
#define CG_MAX_INPUTS 4
cg_tensor *cg_op_new(cg_graph *g, const char *name, int ndim, const int *shape,
                     cg_tensor *const *inputs, int n_inputs, cg_backward_fn backward,
                     size_t ctx_bytes);
/* The i-th input of the op that made out. */
cg_tensor *cg_op_input(const cg_tensor *out, int i);
/* The context memory of the op that made out (ctx_bytes long). */
void      *cg_op_ctx(const cg_tensor *out);
/* The op's name ("relu", ...), or NULL for a leaf. */
const char *cg_op_name(const cg_tensor *t);

/* ---- gradient checking ---------------------------------------------------
 * Compare the gradients autograd computes with central finite differences,
 * element by element. A non-scalar output is reduced to a scalar through a
 * fixed random weighting, so every output element matters. A check where the
 * analytic and numeric gradients are both (near) zero everywhere (below
 * atol / 100) is a failure ("vacuous"), not a pass. Near a kink (ReLU at 0)
 * the central difference is wrong by the jump of the slope: an element that
 * fails at the step eps while the second difference of the output says a
 * kink lies within the step is measured again at eps/4 and eps/16; if the
 * kink is still inside the step it is skipped and counted in `skipped`, and
 * if it has left the step the smaller step's difference is compared. A check
 * whose every element was skipped is not a pass ("all_skipped"): callers
 * keep inputs away from kinks and expect skipped = 0. Backward must add into
 * gradients (+=): the checker also runs backward once over gradients that
 * already hold a value, and an element whose value is lost ("overwritten")
 * fails the check. A failing check says what pattern its errors make
 * (docs/LEARNING.md: reading a verdict). */

/* Builds the output from the inputs in g (the inputs require gradients). */
typedef cg_tensor *(*cg_gradcheck_fn)(cg_graph *g, cg_tensor *const *inputs, void *ctx);

struct cg_gradcheck_options {
    double   eps;         /* finite-difference step (default 1e-6 double, 1e-3 float) */
    double   atol, rtol;  /* pass if |a - n| <= atol + rtol * |n| for every element */
    uint64_t seed;        /* for the output weighting */
    const char *const *input_names; /* n_inputs names for the verdict ("x", "w"), or NULL */
    bool     at_eps_only; /* compare every element at eps itself, never again at a
                             smaller step nor skipped (a table of error against step) */
};

/* The shape the errors of a failing check make, worst input first. */
enum cg_gradcheck_pattern {
    CG_GRADCHECK_NO_PATTERN,  /* passed, or no simple pattern */
    CG_GRADCHECK_ZERO,        /* the analytic gradient is zero: nothing accumulated */
    CG_GRADCHECK_ASSIGN,      /* backward assigns (=) where it must add (+=) */
    CG_GRADCHECK_PASSTHROUGH, /* analytic = the output's gradient: f' missing */
    CG_GRADCHECK_SIGN,        /* analytic = -numeric */
    CG_GRADCHECK_FACTOR,      /* analytic = c * numeric, one constant c */
    CG_GRADCHECK_TRANSPOSE,   /* analytic[i][j] = numeric[j][i] */
    CG_GRADCHECK_ROWS,        /* wrong only in some rows */
    CG_GRADCHECK_COLUMNS      /* wrong only in some columns */
};

#define CG_GRADCHECK_TEXT 320

/* Plain data, free of cg_float: the same in the float and double builds. */
struct cg_gradcheck_result {
    bool   passed;           /* checked, not vacuous, every element right */
    bool   vacuous;          /* every gradient (near) zero: a failure */
    bool   all_skipped;      /* every element skipped near a kink: not a pass */
    double max_abs_err;      /* the worst element's figures: */
    double max_rel_err;
    int    worst_input;
    size_t worst_index;
    double worst_analytic;
    double worst_numeric;
    char   worst_at[64];     /* "w[2, 1]": the worst element by name and index */
    size_t checked;          /* elements compared */
    size_t skipped;          /* elements not compared: a kink lies within eps */
    size_t wrong;            /* elements outside the tolerance */
    size_t overwritten;      /* elements whose backward assigned (=), not added */
    double rtol, eps;        /* the tolerance and the step used */
    enum cg_gradcheck_pattern pattern;
    int    pattern_input;    /* the input the pattern was seen in, or -1 */
    double factor;           /* CG_GRADCHECK_FACTOR: the constant c */
    char   diagnosis[CG_GRADCHECK_TEXT]; /* the pattern in words ("" on a pass) */
};
/* max_rel_err is the largest |a - n| / (|n| + atol / rtol): the check passes
 * exactly when it is at most rtol (and the check is not vacuous, not all
 * skipped, and nothing was overwritten). */

/* Default options for this build's precision: double eps 1e-6, atol 1e-8,
 * rtol 1e-6; float eps 1e-3, atol 1e-3, rtol 1e-2; seed 42. */
struct cg_gradcheck_options cg_gradcheck_defaults(void);
/* Check f at inputs[0..n_inputs) (heap tensors requiring grad: cg_param_new).
 * f is called about 2 * (elements) + 2 times, each on a fresh graph; it must
 * give the same output for the same inputs (seed any rng inside f). Returns
 * CG_OK when the check ran (see result->passed), an error if f failed or
 * the step eps is lost in an input's rounding (x + eps == x). opts NULL
 * means the defaults. Every input is restored exactly and its grad left
 * zeroed. */
cg_status cg_gradcheck(cg_gradcheck_fn f, cg_tensor *const *inputs, int n_inputs,
                       void *ctx, const struct cg_gradcheck_options *opts,
                       struct cg_gradcheck_result *result);
/* The checker's comparison and verdict for any computed array against a
 * reference: got plays the analytic gradient and want the numeric one,
 * element by element with opts' atol and rtol (NULL: the defaults), and
 * result says which elements differ and the pattern they make (not
 * "overwritten", which needs a backward). got, want: the shape given. For
 * exercises whose answer is no gradient (an optimizer step). */
cg_status cg_gradcheck_compare(const double *got, const double *want, int ndim,
                               const int *shape, const struct cg_gradcheck_options *opts,
                               struct cg_gradcheck_result *result);
/* The verdict in words, for a person: "PASS ..." or "FAIL ..." with the worst
 * element (input, index, analytic, numeric, their ratio) and the diagnosis,
 * or why the check proves nothing (vacuous, all skipped). Several lines,
 * written into buf (n bytes, truncated to fit); returns buf. */
char *cg_gradcheck_report(const struct cg_gradcheck_result *r, char *buf, size_t n);
/* The pattern's short name: "none", "zero", "assign", "passthrough", "sign",
 * "factor", "transpose", "rows", "columns". */
const char *cg_gradcheck_pattern_name(enum cg_gradcheck_pattern p);

/* ---- the built-in suite ---------------------------------------------------
 * One gradient check per op and loss above (broadcast and no-bias variants,
 * each kl_div reduction), on seeded random inputs kept away from kinks.
 * For `cgrad gradcheck` and the tests:
 *
 *     for (int i = 0; i < cg_gradcheck_suite_count(); i++) {
 *         struct cg_gradcheck_result r;
 *         char shape[128];
 *         if (cg_gradcheck_suite_run(i, 1, &r, shape, sizeof shape) != CG_OK)
 *             fprintf(stderr, "%s\n", cg_errmsg());
 *         else
 *             printf("%-18s %-24s %s\n", cg_gradcheck_suite_name(i), shape,
 *                    r.passed ? "ok" : "FAILED");
 *     }
 */

/* The number of entries. */
int         cg_gradcheck_suite_count(void);
/* Entry i's name ("linear", "kl_div_batchmean", ...), NULL out of range. */
const char *cg_gradcheck_suite_name(int i);
/* Entry i's forward and gradient in one line, with the docs/MATH.md section
 * that derives it; NULL out of range. */
const char *cg_gradcheck_suite_math(int i);
/* The index of the entry of that name, or -1. */
int         cg_gradcheck_suite_find(const char *name);
/* Run entry i with the default options on typical shapes (R = 4 rows, C = 3
 * columns), inputs drawn from `seed`; writes the inputs' shapes ("[4, 3],
 * [3]") into shape (shape_len bytes, may be 0). The verdict names the
 * inputs as the math line does ("x", "w", "b"). */
cg_status   cg_gradcheck_suite_run(int i, uint64_t seed, struct cg_gradcheck_result *r,
                                   char *shape, size_t shape_len);
/* The same on R = rows, C = cols (K = C + 1 for matmul and linear), with
 * the given options (NULL: the defaults; their seed is replaced by `seed`).
 * The softmax family with C = 1 is constant: its check is vacuous. */
cg_status   cg_gradcheck_suite_run_dims(int i, int rows, int cols, uint64_t seed,
                                        const struct cg_gradcheck_options *opts,
                                        struct cg_gradcheck_result *r, char *shape,
                                        size_t shape_len);

#ifdef __cplusplus
}
#endif

#endif /* CG_AUTOGRAD_H */
