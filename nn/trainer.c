/*
 * The data-parallel batch runner (DESIGN.md, "Threads", way 2).
 *
 * A mini-batch of B rows is cut into T contiguous slices, one per thread of a
 * cg_pool. Thread t runs the forward and backward pass of its slice on its
 * own graph with single-threaded GEMMs, through its own "replica" of the
 * model: the same parameter data, read-only, and a gradient buffer of its own
 * (thread 0 uses the model itself). Each slice's loss is the mean over its
 * rows; scaling it by rows_t / B before backward makes the sum of the slices'
 * gradients the gradient of the batch mean. The replicas' gradients are then
 * added into the model's in a fixed order (replica 1, 2, ...), split by
 * parameter range across the same threads, so the result depends on the
 * thread count but never on timing: same seed, same threads, same bits.
 *
 * Nothing here allocates after the first batch: graphs reuse their arenas,
 * the replicas and their gradient buffers are made once.
 */
#include <math.h>
#include <string.h>

#include "internal.h"

#define CG__TRAINER_MAX_THREADS 64

struct trainer_slot {
    cg_model  *model;      /* the model itself (slot 0) or a replica */
    cg_graph  *g;
    cg_rng     rng;        /* dropout, drawn from the caller's rng per batch */
    double     loss_sum;   /* loss of the slice times its rows */
    int        correct;
    bool       grads_finite;  /* over this thread's share of the model's grads */
    cg_status  status;
    char       errmsg[256];
};

struct cg_trainer {
    cg_model          *model;
    enum cg_loss       loss;
    int                threads;
    cg_pool           *pool;
    struct trainer_slot slots[CG__TRAINER_MAX_THREADS];
    /* the batch being run, for the pool's workers: */
    const struct cg_batch *batch;
    bool               training;
    cg_float          *out;   /* [rows, out] outputs to copy, or NULL */
};

cg_trainer *cg_trainer_new(cg_model *m, enum cg_loss loss, int threads)
{
    cg_trainer *t;

    if (!m)
        return cg__fail_null(CG_ERR_ARG, "cg_trainer_new: model is NULL");
    if (threads < 1 || threads > CG__TRAINER_MAX_THREADS)
        return cg__fail_null(CG_ERR_ARG, "cg_trainer_new: %d threads (1 to %d)", threads,
                             CG__TRAINER_MAX_THREADS);
    if (loss != CG_LOSS_CROSS_ENTROPY && loss != CG_LOSS_MSE)
        return cg__fail_null(CG_ERR_ARG, "cg_trainer_new: unknown loss %d", (int)loss);
    t = cg__calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->model = m;
    t->loss = loss;
    t->threads = threads;
    if (threads > 1 && !(t->pool = cg_pool_new(threads)))
        goto out_free;
    if (cg_blas_reserve(t->pool) != CG_OK)
        goto out_free;
    for (int i = 0; i < threads; i++) {
        struct trainer_slot *s = &t->slots[i];
        s->model = i == 0 ? m : cg_model_replica_new(m);
        s->g = cg_graph_new();
        if (!s->model || !s->g)
            goto out_free;
    }
    return t;

out_free:
    cg_trainer_free(t);
    return NULL;
}

void cg_trainer_free(cg_trainer *t)
{
    if (!t)
        return;
    for (int i = 0; i < t->threads; i++) {
        cg_graph_free(t->slots[i].g);
        if (i > 0)
            cg_model_free(t->slots[i].model);
    }
    cg_pool_free(t->pool);
    cg__free(t);
}

int cg_trainer_threads(const cg_trainer *t)
{
    return t ? t->threads : 0;
}

cg_pool *cg_trainer_pool(cg_trainer *t)
{
    return t ? t->pool : NULL;
}

/* ---- one slice ------------------------------------------------------------ */

/* The loss of y: [rows, out] against the slice's labels or targets. */
static cg_tensor *slice_loss(const cg_trainer *t, cg_graph *g, cg_tensor *y,
                             const struct cg_batch *b, int r0, int rows)
{
    int out = cg_model_output_size(t->model);
    cg_tensor *target;

    if (t->loss == CG_LOSS_CROSS_ENTROPY)
        return cg_cross_entropy(g, y, b->labels + r0);
    if (b->targets) {
        target = cg_graph_wrap(g, (cg_float *)(uintptr_t)(b->targets + (size_t)r0 * (size_t)out),
                               2, (int[]){rows, out});
        return cg_mse_loss(g, y, target);
    }
    /* MSE on one-hot targets of the class labels. */
    target = cg_graph_tensor(g, 2, (int[]){rows, out});
    if (!target)
        return NULL;
    for (int i = 0; i < rows; i++) {
        int label = b->labels[r0 + i];
        if (label < 0 || label >= out)
            return cg__fail_null(CG_ERR_ARG, "row %d: label %d is not a class in [0, %d)",
                                 r0 + i, label, out);
        target->data[(size_t)i * (size_t)out + (size_t)label] = 1;
    }
    return cg_mse_loss(g, y, target);
}

/* Rows of y: [rows, out] whose largest output is the row's label. */
static int slice_correct(const cg_tensor *y, const int *labels, int rows)
{
    int cols = y->shape[1], correct = 0;

    for (int i = 0; i < rows; i++) {
        const cg_float *row = y->data + (size_t)i * (size_t)cols;
        correct += (int)cg__argmax(row, (size_t)cols, 1) == labels[i];
    }
    return correct;
}

static void slot_fail(struct trainer_slot *s)
{
    s->status = cg_errcode() != CG_OK ? cg_errcode() : CG_ERR_STATE;
    snprintf(s->errmsg, sizeof s->errmsg, "%s", cg_errmsg());
}

/* Forward (and backward in training) of thread `thread`'s slice. */
static void run_slice(void *ctx, int thread, int n_threads)
{
    cg_trainer *t = ctx;
    struct trainer_slot *s = &t->slots[thread];
    const struct cg_batch *b = t->batch;
    int in = cg_model_input_size(t->model), out = cg_model_output_size(t->model);
    int r0, r1, rows;
    cg_tensor *x, *y, *loss;

    cg_pool_range(b->rows, thread, n_threads, &r0, &r1);
    rows = r1 - r0;
    s->loss_sum = 0;
    s->correct = 0;
    s->status = CG_OK;
    if (rows == 0)
        return;
    cg_graph_set_training(s->g, t->training);
    cg_graph_set_grad(s->g, t->training);
    x = cg_graph_wrap(s->g, (cg_float *)(uintptr_t)(b->x + (size_t)r0 * (size_t)in), 2,
                      (int[]){rows, in});
    y = cg_model_forward(s->g, s->model, x, t->training ? &s->rng : NULL);
    if (!y)
        goto out_fail;
    if (t->out)
        memcpy(t->out + (size_t)r0 * (size_t)out, y->data,
               (size_t)rows * (size_t)out * sizeof(cg_float));
    if (b->labels)
        s->correct = slice_correct(y, b->labels + r0, rows);
    if (!b->labels && !b->targets) {
        /* Outputs only (predict): there is nothing to take a loss against. */
        cg_graph_reset(s->g);
        return;
    }
    loss = slice_loss(t, s->g, y, b, r0, rows);
    if (!loss)
        goto out_fail;
    s->loss_sum = (double)loss->data[0] * rows;
    if (t->training && isfinite(s->loss_sum)) {
        /* d(batch mean)/d(slice mean) = rows / B; a slice that is the whole
         * batch needs no scaling op (x * 1 is x, bit for bit). */
        if (rows != b->rows)
            loss = cg_scale(s->g, loss, (cg_float)rows / (cg_float)b->rows);
        if (!loss || cg_backward(s->g, loss) != CG_OK)
            goto out_fail;
    }
    cg_graph_reset(s->g);
    return;

out_fail:
    slot_fail(s);
    cg_graph_reset(s->g);
}

/* True when every x[i] is finite: x - x is 0 for a finite x and NaN for an
 * infinity or a NaN, a test the compiler vectorizes. */
static bool all_finite(const cg_float *x, int n)
{
    int bad = 0;
    for (int i = 0; i < n; i++)
        bad |= !(x[i] - x[i] == 0);
    return !bad;
}

/* The chunk of the gradients summed, zeroed and checked while it is in the
 * first-level cache: 1024 elements of each replica's buffer. */
#define CG__REDUCE_CHUNK 1024

/* model.grad[i] += replica_1.grad[i] + ... in that order, zero the replicas,
 * and check the sums are finite, over this thread's share of the
 * parameters, chunk by chunk: one pass over memory for all three. */
static void reduce_grads(void *ctx, int thread, int n_threads)
{
    cg_trainer *t = ctx;
    int n = (int)cg_model_num_params(t->model), p0, p1;
    cg_float *dst = cg_model_flat(t->model)->grad;
    bool finite = true;

    cg_pool_range(n, thread, n_threads, &p0, &p1);
    for (int c = p0; c < p1; c += CG__REDUCE_CHUNK) {
        int len = p1 - c < CG__REDUCE_CHUNK ? p1 - c : CG__REDUCE_CHUNK;
        for (int r = 1; r < t->threads; r++) {
            cg_float *src = cg_model_flat(t->slots[r].model)->grad + c;
            for (int i = 0; i < len; i++)
                dst[c + i] += src[i];
            memset(src, 0, (size_t)len * sizeof *src);
        }
        finite = all_finite(dst + c, len) && finite;
    }
    t->slots[thread].grads_finite = finite;
}

/* ---- batches ---------------------------------------------------------------- */

static cg_status check_batch(const cg_trainer *t, const struct cg_batch *b, bool need_target)
{
    if (!t || !b || !b->x)
        return cg__fail(CG_ERR_ARG, "cg_trainer: NULL trainer, batch or x");
    if (b->rows < 1)
        return cg__fail(CG_ERR_ARG, "cg_trainer: a batch of %d rows", b->rows);
    if (need_target && !b->labels && !(t->loss == CG_LOSS_MSE && b->targets))
        return cg__fail(CG_ERR_ARG, "cg_trainer: the batch has no %s",
                        t->loss == CG_LOSS_MSE ? "targets or labels" : "labels");
    return CG_OK;
}

/* Run every slice, then gather the figures and the first error. */
static cg_status run_batch(cg_trainer *t, const struct cg_batch *b, struct cg_batch_result *r)
{
    double loss_sum = 0;
    int correct = 0;

    t->batch = b;
    cg_pool_run(t->pool, run_slice, t);
    for (int i = 0; i < t->threads; i++) {
        const struct trainer_slot *s = &t->slots[i];
        if (s->status != CG_OK)
            return cg__fail(s->status, "%s", s->errmsg);
        loss_sum += s->loss_sum;
        correct += s->correct;
    }
    if (r) {
        r->loss = loss_sum / b->rows;
        r->correct = correct;
    }
    return CG_OK;
}

cg_status cg_trainer_backward(cg_trainer *t, const struct cg_batch *b, cg_rng *rng,
                              struct cg_batch_result *r)
{
    cg_status st = check_batch(t, b, true);

    if (st != CG_OK)
        return st;
    /* One draw per thread from the caller's generator seeds that thread's
     * dropout stream for this batch; one thread uses the caller's own. */
    for (int i = 0; i < t->threads; i++) {
        if (!rng)
            cg_rng_seed(&t->slots[i].rng, 0);
        else if (t->threads == 1)
            t->slots[i].rng = *rng;
        else
            cg_rng_seed(&t->slots[i].rng, ((uint64_t)cg_rng_u32(rng) << 32) | cg_rng_u32(rng));
    }
    t->training = true;
    t->out = NULL;
    st = run_batch(t, b, r);
    if (rng && t->threads == 1)
        *rng = t->slots[0].rng;
    cg_pool_run(t->pool, reduce_grads, t);
    if (r) {
        r->grads_finite = true;
        for (int i = 0; i < t->threads; i++)
            r->grads_finite = r->grads_finite && t->slots[i].grads_finite;
    }
    return st;
}

cg_status cg_trainer_forward(cg_trainer *t, const struct cg_batch *b, cg_float *out,
                             struct cg_batch_result *r)
{
    cg_status st = check_batch(t, b, false);

    if (st != CG_OK)
        return st;
    t->training = false;
    t->out = out;
    st = run_batch(t, b, r);
    t->out = NULL;
    if (st == CG_OK && r && !b->labels && !b->targets)
        r->loss = (double)NAN;
    return st;
}
