/*
 * Losses, each a scalar (ndim 0) with PyTorch's definition and default
 * reduction 'mean' (docs.pytorch.org/docs/stable/nn.html#loss-functions):
 * cross-entropy from logits (fused with log-softmax, with class weights and
 * label smoothing), NLL, MSE, BCE with logits, KL divergence.
 *
 * Legend: B batch, C classes, N all elements. labels: [B] class ids in
 * [0, C); they and the class weights are copied into the graph's arena, so
 * the caller's arrays need not outlive the call. docs/MATH.md derives each
 * backward.
 */
#include <string.h>

#include "internal.h"

/* ---- checks --------------------------------------------------------------- */

static cg_status check_labels(const char *op, const int *labels, int batch, int classes)
{
    if (!labels)
        return cg__fail(CG_ERR_ARG, "%s: labels is NULL", op);
    for (int n = 0; n < batch; n++)
        if (labels[n] < 0 || labels[n] >= classes)
            return cg__fail(CG_ERR_ARG, "%s: labels[%d] is %d, must be in [0, %d)", op, n,
                            labels[n], classes);
    return CG_OK;
}

/* scores: [B, C] with B, C >= 1, and valid labels. */
static cg_status check_class_input(const char *op, const cg_tensor *x, const int *labels)
{
    char sx[64];

    if (x->ndim != 2 || x->shape[0] < 1 || x->shape[1] < 1)
        return cg__fail(CG_ERR_SHAPE, "%s: input is %s, must be [B, C] with B, C >= 1", op,
                        cg_shape_str(x, sx, sizeof sx));
    return check_labels(op, labels, x->shape[0], x->shape[1]);
}

static int *copy_labels(cg_graph *g, const int *labels, int batch)
{
    int *copy = cg_arena_alloc(cg_graph_arena(g), (size_t)batch * sizeof *copy);

    if (copy)
        memcpy(copy, labels, (size_t)batch * sizeof *copy);
    return copy;
}

static cg_status check_same(const char *op, const cg_tensor *a, const cg_tensor *b)
{
    char sa[64], sb[64];

    if (!cg_tensor_same_shape(a, b) || a->size == 0)
        return cg__fail(CG_ERR_SHAPE, "%s: input is %s, target is %s; they must have one "
                        "non-empty shape", op, cg_shape_str(a, sa, sizeof sa),
                        cg_shape_str(b, sb, sizeof sb));
    return CG_OK;
}

/* ---- cross-entropy -------------------------------------------------------- */

struct ce_ctx {
    cg_float *prob;     /* [B, C] softmax(z) */
    int      *labels;   /* [B] */
    cg_float *weight;   /* [C] or NULL (all 1) */
    cg_float  eps;      /* label smoothing */
    double    norm;     /* W: sum of the targets' weights (B without weights) */
    double    wsum;     /* S: sum of all class weights (C without weights) */
};

/* torch.nn.CrossEntropyLoss(weight=w, label_smoothing=e), reduction 'mean',
 * z: [B, C] logits, y: [B] labels, logp = log_softmax(z):
 *   L = [(1-e) sum_n w_{y_n} (-logp_{n,y_n}) + (e/C) sum_n sum_c w_c (-logp_{n,c})] / W,
 *   W = sum_n w_{y_n}
 * (PyTorch's cross_entropy_loss_label_smoothing: the smoothing term is also
 * divided by the weights of the targets). With -logp_{n,c} = lse_n - z_{n,c}
 * and d(-logp_{n,k})/dz_{n,c} = p_{n,c} - [c = k], p = softmax(z):
 *   dL/dz_{n,c} = [((1-e) w_{y_n} + (e/C) S) p_{n,c} - (1-e) w_{y_n} [c = y_n]
 *                  - (e/C) w_c] / W,   S = sum_c w_c.
 * Without weights this is (p_{n,c} - q_{n,c}) / B with q the smoothed
 * one-hot target: softmax minus target, never a log of 0. */
static void cross_entropy_backward(cg_tensor *out)
{
    const cg_tensor *z = cg_op_input(out, 0);
    const struct ce_ctx *k = cg_op_ctx(out);
    cg_float *dz = cg__grad(z);
    int batch = z->shape[0], classes = z->shape[1];
    double d = (double)out->grad[0] / k->norm, e = (double)k->eps;

    if (!dz)
        return;
    for (int n = 0; n < batch; n++) {
        size_t o = (size_t)n * (size_t)classes;
        int y = k->labels[n];
        double wy = k->weight ? (double)k->weight[y] : 1;
        cg_float a = (cg_float)(d * ((1 - e) * wy + e / classes * k->wsum));
        cg_float s = (cg_float)(d * e / classes);
        const cg_float *p = k->prob + o;
        cg_float *dzr = dz + o;
        if (k->weight)
            for (int c = 0; c < classes; c++)
                dzr[c] += a * p[c] - s * k->weight[c];
        else
            for (int c = 0; c < classes; c++)
                dzr[c] += a * p[c] - s;
        dzr[y] -= (cg_float)(d * (1 - e) * wy);
    }
}

static cg_status ce_check(const cg_tensor *z, const int *labels, const cg_tensor *w,
                          cg_float eps)
{
    char sz[64], sw[64];
    cg_status st = check_class_input("cg_cross_entropy", z, labels);

    if (st != CG_OK)
        return st;
    if (w && w->size != (size_t)z->shape[1])
        return cg__fail(CG_ERR_SHAPE, "cg_cross_entropy: logits are %s, class weights %s",
                        cg_shape_str(z, sz, sizeof sz), cg_shape_str(w, sw, sizeof sw));
    if (!(eps >= 0 && eps <= 1))
        return cg__fail(CG_ERR_ARG, "cg_cross_entropy: label smoothing is %g, must be in "
                        "[0, 1]", (double)eps);
    return CG_OK;
}

/* Fill the context: copies of labels and weights, W and S. */
static cg_status ce_save(cg_graph *g, struct ce_ctx *k, const int *labels,
                         const cg_tensor *w, int batch, int classes, cg_float eps)
{
    cg_arena *arena = cg_graph_arena(g);

    k->eps = eps;
    k->weight = NULL;
    k->prob = cg_arena_alloc(arena, (size_t)batch * (size_t)classes * sizeof(cg_float));
    k->labels = copy_labels(g, labels, batch);
    if (!k->prob || !k->labels)
        return cg_errcode();
    if (w) {
        k->weight = cg_arena_alloc(arena, (size_t)classes * sizeof(cg_float));
        if (!k->weight)
            return cg_errcode();
        memcpy(k->weight, w->data, (size_t)classes * sizeof(cg_float));
    }
    return CG_OK;
}

cg_tensor *cg_cross_entropy_ex(cg_graph *g, cg_tensor *logits, const int *labels,
                               const cg_tensor *class_weights, cg_float label_smoothing)
{
    struct ce_ctx tmp, *k;
    cg_tensor *out;
    void *ctx;
    double nll = 0, smooth = 0, norm = 0, wsum = 0, e = (double)label_smoothing;
    int batch, classes;

    if (!g)
        return cg__fail_null(CG_ERR_ARG, "cg_cross_entropy: graph is NULL");
    if (!logits)
        return NULL;
    if (ce_check(logits, labels, class_weights, label_smoothing) != CG_OK)
        return NULL;
    batch = logits->shape[0];
    classes = logits->shape[1];
    out = cg__op(g, "cross_entropy", 0, NULL, &logits, 1, cross_entropy_backward,
                 sizeof *k, &ctx);
    if (!out)
        return NULL;
    k = ctx ? ctx : &tmp;
    k->prob = NULL;
    if (ctx && ce_save(g, k, labels, class_weights, batch, classes, label_smoothing) != CG_OK)
        return NULL;
    for (int c = 0; c < classes; c++)
        wsum += class_weights ? (double)class_weights->data[c] : 1;
    for (int n = 0; n < batch; n++) {
        const cg_float *z = logits->data + (size_t)n * (size_t)classes;
        int y = labels[n];
        double wy = class_weights ? (double)class_weights->data[y] : 1;
        /* softmax (saved for backward) and lse from tensor/'s one kernel */
        double lse = cg__softmax_row(k->prob ? k->prob + (size_t)n * (size_t)classes : NULL,
                                     z, classes);
        nll += wy * (lse - (double)z[y]);
        norm += wy;
        if (e > 0) { /* sum_c w_c (lse - z_c) */
            double wz = 0;
            for (int c = 0; c < classes; c++)
                wz += (class_weights ? (double)class_weights->data[c] : 1) * (double)z[c];
            smooth += wsum * lse - wz;
        }
    }
    k->norm = norm;
    k->wsum = wsum;
    out->data[0] = (cg_float)(((1 - e) * nll + e / classes * smooth) / norm);
    return out;
}

cg_tensor *cg_cross_entropy(cg_graph *g, cg_tensor *logits, const int *labels)
{
    return cg_cross_entropy_ex(g, logits, labels, NULL, 0);
}

/* ---- nll ------------------------------------------------------------------ */

/* torch.nn.NLLLoss, reduction 'mean': logp: [B, C], y: [B],
 * L = -(1/B) sum_n logp_{n,y_n}; dL/dlogp_{n,c} = -[c = y_n] / B.
 * ctx: the labels. */
static void nll_backward(cg_tensor *out)
{
    const cg_tensor *x = cg_op_input(out, 0);
    const int *labels = *(int *const *)cg_op_ctx(out);
    cg_float *dx = cg__grad(x), d = out->grad[0] / (cg_float)x->shape[0];
    int classes = x->shape[1];

    if (dx)
        for (int n = 0; n < x->shape[0]; n++)
            dx[(size_t)n * (size_t)classes + (size_t)labels[n]] -= d;
}

cg_tensor *cg_nll_loss(cg_graph *g, cg_tensor *logp, const int *labels)
{
    cg_tensor *out;
    void *ctx;
    double s = 0;
    int batch, classes;

    if (!g)
        return cg__fail_null(CG_ERR_ARG, "cg_nll_loss: graph is NULL");
    if (!logp)
        return NULL;
    if (check_class_input("cg_nll_loss", logp, labels) != CG_OK)
        return NULL;
    batch = logp->shape[0];
    classes = logp->shape[1];
    out = cg__op(g, "nll_loss", 0, NULL, &logp, 1, nll_backward, sizeof(int *), &ctx);
    if (!out)
        return NULL;
    if (ctx && !(*(int **)ctx = copy_labels(g, labels, batch)))
        return NULL;
    for (int n = 0; n < batch; n++)
        s -= (double)logp->data[(size_t)n * (size_t)classes + (size_t)labels[n]];
    out->data[0] = (cg_float)(s / batch);
    return out;
}

/* ---- mse ------------------------------------------------------------------ */

/* torch.nn.MSELoss, reduction 'mean': x, t: same shape, N elements,
 * L = (1/N) sum_i (x_i - t_i)^2; dL/dx_i = 2 (x_i - t_i) / N = -dL/dt_i.
 * The difference is recomputed rather than saved: one read of each input
 * instead of a write and a read of a buffer. */
static void mse_backward(cg_tensor *out)
{
    const cg_tensor *x = cg_op_input(out, 0), *t = cg_op_input(out, 1);
    cg_float *dx = cg__grad(x), *dt = cg__grad(t);
    cg_float k = 2 * out->grad[0] / (cg_float)x->size;

    for (size_t i = 0; i < x->size; i++) {
        cg_float d = k * (x->data[i] - t->data[i]);
        if (dx)
            dx[i] += d;
        if (dt)
            dt[i] -= d;
    }
}

cg_tensor *cg_mse_loss(cg_graph *g, cg_tensor *pred, cg_tensor *target)
{
    cg_tensor *out;
    void *ctx;
    double s = 0;

    if (!g)
        return cg__fail_null(CG_ERR_ARG, "cg_mse_loss: graph is NULL");
    if (!pred || !target)
        return NULL;
    if (check_same("cg_mse_loss", pred, target) != CG_OK)
        return NULL;
    out = cg__op(g, "mse_loss", 0, NULL, (cg_tensor *[]){pred, target}, 2, mse_backward, 0,
                 &ctx);
    if (!out)
        return NULL;
    for (size_t i = 0; i < pred->size; i++) {
        double d = (double)pred->data[i] - (double)target->data[i];
        s += d * d;
    }
    out->data[0] = (cg_float)(s / (double)pred->size);
    return out;
}

/* ---- bce with logits ------------------------------------------------------ */

/* torch.nn.BCEWithLogitsLoss, reduction 'mean': x logits, t targets in [0, 1],
 * same shape, N elements. Per element
 *   l = -[t log s(x) + (1-t) log(1 - s(x))] = max(x, 0) - x t + log(1 + exp(-|x|)),
 * the second form never overflows (exp of a non-positive number) nor takes a
 * log of 0. dl/dx = s(x) - t, dl/dt = -x (PyTorch differentiates the target
 * too), each divided by N. */
static void bce_backward(cg_tensor *out)
{
    const cg_tensor *x = cg_op_input(out, 0), *t = cg_op_input(out, 1);
    cg_float *dx = cg__grad(x), *dt = cg__grad(t);
    cg_float k = out->grad[0] / (cg_float)x->size;

    for (size_t i = 0; i < x->size; i++) {
        if (dx)
            dx[i] += k * (1 / (1 + cg__exp(-x->data[i])) - t->data[i]);
        if (dt)
            dt[i] -= k * x->data[i];
    }
}

cg_tensor *cg_bce_with_logits(cg_graph *g, cg_tensor *logits, cg_tensor *target)
{
    cg_tensor *out;
    void *ctx;
    double s = 0;

    if (!g)
        return cg__fail_null(CG_ERR_ARG, "cg_bce_with_logits: graph is NULL");
    if (!logits || !target)
        return NULL;
    if (check_same("cg_bce_with_logits", logits, target) != CG_OK)
        return NULL;
    out = cg__op(g, "bce_with_logits", 0, NULL, (cg_tensor *[]){logits, target}, 2,
                 bce_backward, 0, &ctx);
    if (!out)
        return NULL;
    for (size_t i = 0; i < logits->size; i++) {
        cg_float x = logits->data[i];
        cg_float l = (x > 0 ? x : 0) - x * target->data[i] + cg__log1p(cg__exp(-cg__fabs(x)));
        s += (double)l;
    }
    out->data[0] = (cg_float)(s / (double)logits->size);
    return out;
}

/* ---- kl divergence -------------------------------------------------------- */

/* torch.nn.functional.kl_div(input=logp, target=t, reduction), log_target
 * False: l_i = t_i (log t_i - logp_i), with 0 log 0 = 0 (PyTorch's xlogy), so
 * a zero target contributes 0. Reduced by 1/N ('mean', over all elements),
 * 1/B ('batchmean', the batch is logp's first dimension) or 1 ('sum').
 * dl/dlogp_i = -t_i; dl/dt_i = log t_i + 1 - logp_i, and 0 where t_i = 0
 * (PyTorch masks it). ctx: the reduction's factor k. */
static void kl_backward(cg_tensor *out)
{
    const cg_tensor *x = cg_op_input(out, 0), *t = cg_op_input(out, 1);
    cg_float *dx = cg__grad(x), *dt = cg__grad(t);
    cg_float k = out->grad[0] * *(const cg_float *)cg_op_ctx(out);

    if (dx)
        for (size_t i = 0; i < x->size; i++)
            dx[i] -= k * t->data[i];
    if (dt)
        for (size_t i = 0; i < x->size; i++)
            if (t->data[i] != 0)
                dt[i] += k * (cg__log(t->data[i]) + 1 - x->data[i]);
}

static cg_float kl_factor(const cg_tensor *x, enum cg_reduction reduction)
{
    switch (reduction) {
    case CG_REDUCE_MEAN:
        return (cg_float)(1 / (double)x->size);
    case CG_REDUCE_BATCHMEAN:
        return (cg_float)(1 / (double)x->shape[0]);
    case CG_REDUCE_SUM:
        return 1;
    }
    return 0;
}

cg_tensor *cg_kl_div(cg_graph *g, cg_tensor *logp, cg_tensor *target,
                     enum cg_reduction reduction)
{
    cg_tensor *out;
    void *ctx;
    cg_float k;
    double s = 0;

    if (!g)
        return cg__fail_null(CG_ERR_ARG, "cg_kl_div: graph is NULL");
    if (!logp || !target)
        return NULL;
    if (check_same("cg_kl_div", logp, target) != CG_OK)
        return NULL;
    if (reduction != CG_REDUCE_MEAN && reduction != CG_REDUCE_SUM &&
        reduction != CG_REDUCE_BATCHMEAN)
        return cg__fail_null(CG_ERR_ARG, "cg_kl_div: reduction is %d, not a cg_reduction",
                             (int)reduction);
    k = kl_factor(logp, reduction);
    out = cg__op(g, "kl_div", 0, NULL, (cg_tensor *[]){logp, target}, 2, kl_backward,
                 sizeof k, &ctx);
    if (!out)
        return NULL;
    if (ctx)
        memcpy(ctx, &k, sizeof k);
    for (size_t i = 0; i < logp->size; i++) {
        double t = (double)target->data[i];
        double xlogx = t == 0 ? 0 : t * log(t);
        s += xlogx - t * (double)logp->data[i];
    }
    out->data[0] = (cg_float)(s * (double)k);
    return out;
}
