/*
 * The built-in gradient-check suite: one entry per op and loss of
 * autograd.h, each run by cg_gradcheck on seeded random inputs. The
 * `cgrad gradcheck` command and tests/test_ops.c run it.
 *
 * Shapes: R rows, C columns, K = C + 1 the inner dimension of matmul and
 * linear. Inputs are uniform in [-1, 1], except where a kink or a domain
 * asks otherwise: relu and leaky_relu get |x| in [0.1, 1] (well away from
 * the kink at 0 compared to any eps), KL targets and BCE targets [0.1, 1].
 */
#include <string.h>

#include "internal.h"

struct suite_ctx {
    int               *labels;    /* [R] in [0, C) */
    cg_tensor         *weights;   /* [C] class weights in [0.5, 2] */
    uint64_t           seed;      /* dropout's mask */
    enum cg_reduction  reduction;
};

enum shape_code { S_RC, S_C, S_RK, S_KC, S_CK };
enum dist { D_UNIFORM, D_AWAY_FROM_ZERO, D_POSITIVE };

struct suite_case {
    const char     *name;
    cg_gradcheck_fn f;
    int             n_inputs;
    enum shape_code shapes[3];
    enum dist       dist[3];
    enum cg_reduction reduction;
    const char     *names[3];   /* the inputs' names in the verdict */
    const char     *math;       /* the forward and the gradient in one line */
};

#define SUITE_FN(fname, expr)                                                       \
    static cg_tensor *fname(cg_graph *g, cg_tensor *const *in, void *ctx)         \
    {                                                                               \
        const struct suite_ctx *c = ctx;                                            \
        (void)c;                                                                    \
        return expr;                                                                \
    }

SUITE_FN(f_add, cg_add(g, in[0], in[1]))
SUITE_FN(f_sub, cg_sub(g, in[0], in[1]))
SUITE_FN(f_mul, cg_mul(g, in[0], in[1]))
SUITE_FN(f_scale, cg_scale(g, in[0], (cg_float)-1.5))
SUITE_FN(f_matmul, cg_matmul(g, in[0], in[1]))
SUITE_FN(f_linear, cg_linear(g, in[0], in[1], in[2]))
SUITE_FN(f_linear_nobias, cg_linear(g, in[0], in[1], NULL))
SUITE_FN(f_linear_relu, cg_linear_act(g, in[0], in[1], in[2], CG_ACT_RELU, 0))
SUITE_FN(f_linear_leaky_relu, cg_linear_act(g, in[0], in[1], in[2], CG_ACT_LEAKY_RELU, (cg_float)0.1))
SUITE_FN(f_linear_sigmoid, cg_linear_act(g, in[0], in[1], in[2], CG_ACT_SIGMOID, 0))
SUITE_FN(f_linear_tanh, cg_linear_act(g, in[0], in[1], NULL, CG_ACT_TANH, 0))
SUITE_FN(f_sigmoid, cg_sigmoid(g, in[0]))
SUITE_FN(f_tanh, cg_tanh(g, in[0]))
SUITE_FN(f_relu, cg_relu(g, in[0]))
SUITE_FN(f_leaky_relu, cg_leaky_relu(g, in[0], (cg_float)0.1))
SUITE_FN(f_softmax, cg_softmax(g, in[0]))
SUITE_FN(f_log_softmax, cg_log_softmax(g, in[0]))
SUITE_FN(f_sum, cg_sum(g, in[0]))
SUITE_FN(f_mean, cg_mean(g, in[0]))
SUITE_FN(f_reshape, cg_reshape(g, in[0], 2, (int[]){in[0]->shape[1], in[0]->shape[0]}))
SUITE_FN(f_cross_entropy, cg_cross_entropy(g, in[0], c->labels))
SUITE_FN(f_cross_entropy_ex,
         cg_cross_entropy_ex(g, in[0], c->labels, c->weights, (cg_float)0.1))
SUITE_FN(f_nll_loss, cg_nll_loss(g, in[0], c->labels))
SUITE_FN(f_mse_loss, cg_mse_loss(g, in[0], in[1]))
SUITE_FN(f_bce_with_logits, cg_bce_with_logits(g, in[0], in[1]))
SUITE_FN(f_kl_div, cg_kl_div(g, in[0], in[1], c->reduction))

/* The same mask on every call: the rng restarts from the seed. */
static cg_tensor *f_dropout(cg_graph *g, cg_tensor *const *in, void *ctx)
{
    const struct suite_ctx *c = ctx;
    cg_rng rng;

    cg_rng_seed(&rng, c->seed);
    return cg_dropout(g, in[0], (cg_float)0.3, &rng);
}

#define U D_UNIFORM
static const struct suite_case cases[] = {
    {"add", f_add, 2, {S_RC, S_RC}, {U, U}, CG_REDUCE_MEAN,
     {"a", "b"},
     "y = a + b: da += dy, db += dy (docs/MATH.md: Arithmetic)"},
    {"add_row", f_add, 2, {S_RC, S_C}, {U, U}, CG_REDUCE_MEAN,
     {"a", "b"},
     "y[r][c] = a[r][c] + b[c]: da += dy, db[c] += sum_r dy[r][c] (docs/MATH.md: Arithmetic)"},
    {"sub", f_sub, 2, {S_RC, S_RC}, {U, U}, CG_REDUCE_MEAN,
     {"a", "b"},
     "y = a - b: da += dy, db -= dy (docs/MATH.md: Arithmetic)"},
    {"sub_row", f_sub, 2, {S_RC, S_C}, {U, U}, CG_REDUCE_MEAN,
     {"a", "b"},
     "y[r][c] = a[r][c] - b[c]: da += dy, db[c] -= sum_r dy[r][c] (docs/MATH.md: Arithmetic)"},
    {"mul", f_mul, 2, {S_RC, S_RC}, {U, U}, CG_REDUCE_MEAN,
     {"a", "b"},
     "y = a * b: da += dy * b, db += dy * a (docs/MATH.md: Arithmetic)"},
    {"mul_row", f_mul, 2, {S_RC, S_C}, {U, U}, CG_REDUCE_MEAN,
     {"a", "b"},
     "y[r][c] = a[r][c] b[c]: da += dy * b, db[c] += sum_r dy[r][c] a[r][c] (docs/MATH.md: "
     "Arithmetic)"},
    {"scale", f_scale, 1, {S_RC}, {U}, CG_REDUCE_MEAN,
     {"a", NULL},
     "y = -1.5 a: da += -1.5 dy (docs/MATH.md: Arithmetic)"},
    {"matmul", f_matmul, 2, {S_RK, S_KC}, {U, U}, CG_REDUCE_MEAN,
     {"a", "b"},
     "y = a @ b: da += dy @ b^T, db += a^T @ dy (docs/MATH.md: Arithmetic)"},
    {"linear", f_linear, 3, {S_RK, S_CK, S_C}, {U, U, U}, CG_REDUCE_MEAN,
     {"x", "w", "b"},
     "y = x @ w^T + b: dx += dy @ w, dw += dy^T @ x, db += column sums of dy (docs/MATH.md: "
     "Arithmetic)"},
    {"linear_nobias", f_linear_nobias, 2, {S_RK, S_CK}, {U, U}, CG_REDUCE_MEAN,
     {"x", "w"},
     "y = x @ w^T: dx += dy @ w, dw += dy^T @ x (docs/MATH.md: Arithmetic)"},
    {"linear_relu", f_linear_relu, 3, {S_RK, S_CK, S_C}, {U, U, D_POSITIVE}, CG_REDUCE_MEAN,
     {"x", "w", "b"},
     "y = relu(x @ w^T + b): dz = dy * (y > 0), then linear's products from dz "
     "(docs/MATH.md: A linear layer and its activation as one op)"},
    {"linear_leaky_relu", f_linear_leaky_relu, 3, {S_RK, S_CK, S_C}, {U, U, U}, CG_REDUCE_MEAN,
     {"x", "w", "b"},
     "y = leaky_relu(x @ w^T + b, 0.1): dz = dy * (y > 0 ? 1 : 0.1), then linear's products "
     "(docs/MATH.md: A linear layer and its activation as one op)"},
    {"linear_sigmoid", f_linear_sigmoid, 3, {S_RK, S_CK, S_C}, {U, U, U}, CG_REDUCE_MEAN,
     {"x", "w", "b"},
     "y = sigmoid(x @ w^T + b): dz = dy * y (1 - y), then linear's products (docs/MATH.md: "
     "A linear layer and its activation as one op)"},
    {"linear_tanh", f_linear_tanh, 2, {S_RK, S_CK}, {U, U}, CG_REDUCE_MEAN,
     {"x", "w"},
     "y = tanh(x @ w^T): dz = dy * (1 - y^2), then linear's products (docs/MATH.md: A "
     "linear layer and its activation as one op)"},
    {"sigmoid", f_sigmoid, 1, {S_RC}, {U}, CG_REDUCE_MEAN,
     {"x"},
     "y = 1 / (1 + e^-x): dx += dy * y (1 - y) (docs/MATH.md: Activations)"},
    {"tanh", f_tanh, 1, {S_RC}, {U}, CG_REDUCE_MEAN,
     {"x"},
     "y = tanh(x): dx += dy * (1 - y^2) (docs/MATH.md: Activations)"},
    {"relu", f_relu, 1, {S_RC}, {D_AWAY_FROM_ZERO}, CG_REDUCE_MEAN,
     {"x"},
     "y = max(x, 0): dx += dy * (x > 0); no derivative at 0, so inputs stay 0.1 away "
     "(docs/MATH.md: Activations)"},
    {"leaky_relu", f_leaky_relu, 1, {S_RC}, {D_AWAY_FROM_ZERO}, CG_REDUCE_MEAN,
     {"x"},
     "y = x > 0 ? x : 0.1 x: dx += dy * (x > 0 ? 1 : 0.1) (docs/MATH.md: Activations)"},
    {"softmax", f_softmax, 1, {S_RC}, {U}, CG_REDUCE_MEAN,
     {"x"},
     "y = e^x / sum_j e^x_j per row: dx += y * (dy - sum_j dy_j y_j) (docs/MATH.md: Softmax "
     "and log-softmax)"},
    {"log_softmax", f_log_softmax, 1, {S_RC}, {U}, CG_REDUCE_MEAN,
     {"x"},
     "y = x - logsumexp(x) per row: dx += dy - softmax(x) * sum_j dy_j (docs/MATH.md: "
     "Softmax and log-softmax)"},
    {"sum", f_sum, 1, {S_RC}, {U}, CG_REDUCE_MEAN,
     {"x"},
     "y = sum_i x_i: dx += dy (docs/MATH.md: Reductions and reshape)"},
    {"mean", f_mean, 1, {S_RC}, {U}, CG_REDUCE_MEAN,
     {"x"},
     "y = sum_i x_i / N: dx += dy / N (docs/MATH.md: Reductions and reshape)"},
    {"reshape", f_reshape, 1, {S_RC}, {U}, CG_REDUCE_MEAN,
     {"x"},
     "the same numbers under another shape: dx += dy element by element (docs/MATH.md: "
     "Reductions and reshape)"},
    {"dropout", f_dropout, 1, {S_RC}, {U}, CG_REDUCE_MEAN,
     {"x"},
     "y = m * x, m = 0 or 1/(1-p) (p = 0.3, a fixed mask): dx += m * dy (docs/MATH.md: "
     "Dropout)"},
    {"cross_entropy", f_cross_entropy, 1, {S_RC}, {U}, CG_REDUCE_MEAN,
     {"logits"},
     "L = -mean_n log softmax(z)[n][y_n]: dz = (softmax(z) - onehot(y)) / B (docs/MATH.md: "
     "Cross-entropy fused with log-softmax)"},
    {"cross_entropy_ex", f_cross_entropy_ex, 1, {S_RC}, {U}, CG_REDUCE_MEAN,
     {"logits"},
     "class weights w and label smoothing 0.1: dz = (((1-e) w_y + e S / C) p - (1-e) w_y "
     "onehot - e w / C) / W (docs/MATH.md: Cross-entropy fused with log-softmax)"},
    {"nll_loss", f_nll_loss, 1, {S_RC}, {U}, CG_REDUCE_MEAN,
     {"logp"},
     "L = -mean_n x[n][y_n]: dx[n][y_n] -= 1 / B (docs/MATH.md: NLL)"},
    {"mse_loss", f_mse_loss, 2, {S_RC, S_RC}, {U, U}, CG_REDUCE_MEAN,
     {"pred", "target"},
     "L = mean (x - t)^2: dx += 2 (x - t) / N, dt -= 2 (x - t) / N (docs/MATH.md: MSE)"},
    {"bce_with_logits", f_bce_with_logits, 2, {S_RC, S_RC}, {U, D_POSITIVE}, CG_REDUCE_MEAN,
     {"logits", "target"},
     "l = max(x, 0) - x t + log(1 + e^-|x|): dx = (sigmoid(x) - t) / N, dt = -x / N "
     "(docs/MATH.md: BCE with logits)"},
    {"kl_div_mean", f_kl_div, 2, {S_RC, S_RC}, {U, D_POSITIVE}, CG_REDUCE_MEAN,
     {"logp", "target"},
     "l = t (log t - logp), mean over N: dlogp = -t / N, dt = (log t + 1 - logp) / N "
     "(docs/MATH.md: KL divergence)"},
    {"kl_div_sum", f_kl_div, 2, {S_RC, S_RC}, {U, D_POSITIVE}, CG_REDUCE_SUM,
     {"logp", "target"},
     "l = t (log t - logp), summed: dlogp = -t, dt = log t + 1 - logp (docs/MATH.md: KL "
     "divergence)"},
    {"kl_div_batchmean", f_kl_div, 2, {S_RC, S_RC}, {U, D_POSITIVE}, CG_REDUCE_BATCHMEAN,
     {"logp", "target"},
     "l = t (log t - logp), summed over the batch B: dlogp = -t / B, dt = (log t + 1 - "
     "logp) / B (docs/MATH.md: KL divergence)"},
};
#undef U

#define N_CASES ((int)(sizeof cases / sizeof cases[0]))

int cg_gradcheck_suite_count(void)
{
    return N_CASES;
}

const char *cg_gradcheck_suite_name(int i)
{
    return i >= 0 && i < N_CASES ? cases[i].name : NULL;
}

const char *cg_gradcheck_suite_math(int i)
{
    return i >= 0 && i < N_CASES ? cases[i].math : NULL;
}

int cg_gradcheck_suite_find(const char *name)
{
    for (int i = 0; name && i < N_CASES; i++)
        if (strcmp(cases[i].name, name) == 0)
            return i;
    return -1;
}

static cg_tensor *new_input(enum shape_code code, enum dist dist, int rows, int cols,
                            cg_rng *rng)
{
    int k = cols + 1;
    cg_tensor *t;

    switch (code) {
    case S_RC: t = cg_param_new(2, (int[]){rows, cols}); break;
    case S_C:  t = cg_param_new(1, (int[]){cols}); break;
    case S_RK: t = cg_param_new(2, (int[]){rows, k}); break;
    case S_KC: t = cg_param_new(2, (int[]){k, cols}); break;
    default:   t = cg_param_new(2, (int[]){cols, k}); break;
    }
    if (!t)
        return NULL;
    for (size_t i = 0; i < t->size; i++) {
        double u = cg_rng_uniform(rng);
        if (dist == D_AWAY_FROM_ZERO) /* +-[0.1, 1] */
            t->data[i] = (cg_float)(u < 0.5 ? -(0.1 + 1.8 * u) : 0.1 + 1.8 * (u - 0.5));
        else if (dist == D_POSITIVE) /* [0.1, 1] */
            t->data[i] = (cg_float)(0.1 + 0.9 * u);
        else
            t->data[i] = (cg_float)(2 * u - 1);
    }
    return t;
}

/* "[4, 3], [3]": the inputs' shapes. */
static void describe(char *buf, size_t n, cg_tensor *const *in, int n_inputs)
{
    size_t len = 0;
    char s[64];

    if (!buf || n == 0)
        return;
    buf[0] = '\0';
    for (int i = 0; i < n_inputs && len < n; i++)
        len += (size_t)snprintf(buf + len, n - len, "%s%s", i ? ", " : "",
                                cg_shape_str(in[i], s, sizeof s));
}

static cg_status suite_ctx_init(struct suite_ctx *c, int rows, int cols, cg_rng *rng)
{
    c->labels = cg__malloc((size_t)rows * sizeof *c->labels);
    c->weights = cg_tensor_new(1, (int[]){cols});
    if (!c->labels || !c->weights)
        return cg_errcode();
    for (int n = 0; n < rows; n++)
        c->labels[n] = (int)cg_rng_below(rng, (uint32_t)cols);
    for (int k = 0; k < cols; k++)
        c->weights->data[k] = (cg_float)(0.5 + 1.5 * cg_rng_uniform(rng));
    c->seed = cg_rng_u32(rng);
    return CG_OK;
}

cg_status cg_gradcheck_suite_run_dims(int i, int rows, int cols, uint64_t seed,
                                      const struct cg_gradcheck_options *opts,
                                      struct cg_gradcheck_result *r, char *shape,
                                      size_t shape_len)
{
    struct suite_ctx c = {NULL, NULL, 0, CG_REDUCE_MEAN};
    struct cg_gradcheck_options o = opts ? *opts : cg_gradcheck_defaults();
    cg_tensor *in[3] = {NULL, NULL, NULL};
    cg_status st;
    cg_rng rng;

    if (i < 0 || i >= N_CASES)
        return cg__fail(CG_ERR_ARG, "gradcheck suite: no entry %d (there are %d)", i,
                        N_CASES);
    if (rows < 1 || cols < 1 || !r)
        return cg__fail(CG_ERR_ARG, "gradcheck suite: %s: rows %d, cols %d%s", cases[i].name,
                        rows, cols, r ? "" : ", result NULL");
    cg_rng_seed(&rng, seed);
    o.seed = seed;
    o.input_names = cases[i].names;
    st = suite_ctx_init(&c, rows, cols, &rng);
    c.reduction = cases[i].reduction;
    for (int k = 0; st == CG_OK && k < cases[i].n_inputs; k++)
        if (!(in[k] = new_input(cases[i].shapes[k], cases[i].dist[k], rows, cols, &rng)))
            st = cg_errcode();
    if (st == CG_OK) {
        describe(shape, shape_len, in, cases[i].n_inputs);
        st = cg_gradcheck(cases[i].f, in, cases[i].n_inputs, &c, &o, r);
    }
    if (st != CG_OK)
        cg__errmsg_prefix("gradcheck %s", cases[i].name);
    for (int k = 0; k < 3; k++)
        cg_tensor_free(in[k]);
    cg_tensor_free(c.weights);
    cg__free(c.labels);
    return st;
}

cg_status cg_gradcheck_suite_run(int i, uint64_t seed, struct cg_gradcheck_result *r,
                                 char *shape, size_t shape_len)
{
    return cg_gradcheck_suite_run_dims(i, 4, 3, seed, NULL, r, shape, shape_len);
}
