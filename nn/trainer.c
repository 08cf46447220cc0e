/*
 * The data-parallel batch runner (DESIGN.md, "Threads", way 2).
 *
 * A mini-batch of B rows is cut into K chunks of contiguous rows, K a fixed
 * function of B alone (chunks_of: about 32 rows each, at most
 * CG__TRAINER_MAX_CHUNKS), and the chunks are handed out one at a time to
 * whichever thread of a cg_pool is free (cg_pool_for). Chunk k runs the
 * forward and backward pass of its rows on its own graph through its own
 * "replica" of the model: the same parameter data, read-only, and a
 * gradient buffer of its own (chunk 0 uses the model itself). Each chunk's
 * loss is the mean over its rows; scaling it by rows_k / B before backward
 * makes the sum of the chunks' gradients the gradient of the batch mean.
 * The replicas' gradients are then added into the model's in a fixed order
 * (replica 1, 2, ...), over parameter ranges handed out the same way.
 *
 * So every number depends on B and the chunk boundaries, never on which
 * thread ran which chunk, nor on how many threads there are: same seed,
 * same settings, the same bits on 1 thread or 8, on a quiet machine or a
 * busy one. (One chunk, B <= 32, runs exactly the operations of a single
 * graph over the whole batch.)
 *
 * Nothing here allocates after the first batch of a given size: graphs
 * reuse their arenas, the replicas are made once, when a batch first needs
 * them.
 */
#include <math.h>
#include <stdatomic.h>
#include <string.h>

#include "internal.h"

#define CG__TRAINER_MAX_THREADS 64
#define CG__TRAINER_CHUNK_ROWS 32
#define CG__TRAINER_MAX_CHUNKS 16
/* The gradient sum's chunks: parameter ranges of this many elements. */
#define CG__REDUCE_RANGE 16384

struct trainer_slot {
    cg_model  *model;      /* the model itself (slot 0) or a replica */
    cg_graph  *g;
    cg_rng     rng;        /* dropout, drawn from the caller's rng per batch */
    double     loss_sum;   /* loss of the chunk times its rows */
    int        correct;
    cg_status  status;
    char       errmsg[256];
};

struct cg_trainer {
    cg_model          *model;
    enum cg_loss       loss;
    int                threads;
    cg_pool           *pool;
    int                n_slots;   /* slots made so far (replicas + the model) */
    struct trainer_slot slots[CG__TRAINER_MAX_CHUNKS];
    atomic_bool        grads_finite;  /* cleared by a range of the sum that is not */
    /* the batch being run, for the pool's threads: */
    const struct cg_batch *batch;
    int                n_chunks;
    bool               ran;       /* the last batch's chunks ran (maybe failing) */
    bool               training;
    cg_float          *out;   /* [rows, out] outputs to copy, or NULL */
};

/* The chunks of a batch of `rows` rows: a function of rows alone. */
static int chunks_of(int rows)
{
    int k = (rows + CG__TRAINER_CHUNK_ROWS - 1) / CG__TRAINER_CHUNK_ROWS;
    return k < 1 ? 1 : k > CG__TRAINER_MAX_CHUNKS ? CG__TRAINER_MAX_CHUNKS : k;
}

/* A slot: the model itself (k = 0) or a new replica, and a graph. */
static cg_status slot_init(cg_trainer *t, int k)
{
    struct trainer_slot *s = &t->slots[k];
    s->model = k == 0 ? t->model : cg_model_replica_new(t->model);
    s->g = cg_graph_new();
    return s->model && s->g ? CG_OK : cg_errcode();
}

/* Make the slots a batch of n_chunks needs (only when a batch first needs
 * more than before: steady steps allocate nothing). */
static cg_status ensure_slots(cg_trainer *t, int n_chunks)
{
    while (t->n_slots < n_chunks) {
        cg_status st = slot_init(t, t->n_slots);
        t->n_slots++;   /* freed by cg_trainer_free whatever happened */
        if (st != CG_OK)
            return st;
    }
    return CG_OK;
}

cg_trainer *cg_trainer_new(cg_model *m, enum cg_loss loss, int threads)
{
    cg_trainer *t;

    if (!m)
        return cg__fail_null(CG_ERR_ARG, "cg_trainer_new: model is NULL");
    if (threads <= 0)
        threads = cg_cpu_count();
    if (threads > CG__TRAINER_MAX_THREADS)
        return cg__fail_null(CG_ERR_ARG, "cg_trainer_new: %d threads (1 to %d, or 0: auto)",
                             threads, CG__TRAINER_MAX_THREADS);
    if (loss != CG_LOSS_CROSS_ENTROPY && loss != CG_LOSS_MSE)
        return cg__fail_null(CG_ERR_ARG, "cg_trainer_new: unknown loss %d", (int)loss);
    t = cg__calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->model = m;
    t->loss = loss;
    t->threads = threads;
    atomic_init(&t->grads_finite, true);
    if (threads > 1 && !(t->pool = cg_pool_new(threads)))
        goto out_free;
    if (cg_blas_reserve(t->pool) != CG_OK || ensure_slots(t, 1) != CG_OK)
        goto out_free;
    return t;

out_free:
    cg_trainer_free(t);
    return NULL;
}

void cg_trainer_free(cg_trainer *t)
{
    if (!t)
        return;
    for (int i = 0; i < t->n_slots; i++) {
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

/* ---- one chunk ------------------------------------------------------------ */

/* The loss of y: [rows, out] against the chunk's labels or targets. */
static cg_tensor *chunk_loss(const cg_trainer *t, cg_graph *g, cg_tensor *y,
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
static int chunk_correct(const cg_tensor *y, const int *labels, int rows)
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

/* Forward (and backward in training) of chunk k's rows, on whichever
 * thread the pool gave it to: everything it touches is chunk k's own. */
static void run_chunk(void *ctx, int k, int n_chunks)
{
    cg_trainer *t = ctx;
    struct trainer_slot *s = &t->slots[k];
    const struct cg_batch *b = t->batch;
    int in = cg_model_input_size(t->model), out = cg_model_output_size(t->model);
    int r0, r1, rows;
    cg_tensor *x, *y, *loss;

    cg_pool_range(b->rows, k, n_chunks, &r0, &r1);
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
        s->correct = chunk_correct(y, b->labels + r0, rows);
    if (!b->labels && !b->targets) {
        /* Outputs only (predict): there is nothing to take a loss against. */
        cg_graph_reset(s->g);
        return;
    }
    loss = chunk_loss(t, s->g, y, b, r0, rows);
    if (!loss)
        goto out_fail;
    s->loss_sum = (double)loss->data[0] * rows;
    if (t->training && isfinite(s->loss_sum)) {
        /* d(batch mean)/d(chunk mean) = rows / B; a chunk that is the whole
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

/* The piece of a range summed, zeroed and checked while it is in the
 * first-level cache: 1024 elements of each replica's buffer. */
#define CG__REDUCE_PIECE 1024

/* Range r of the parameters (CG__REDUCE_RANGE elements), summed. */
static void reduce_range(void *ctx, int r, int n_ranges)
{
    cg_trainer *t = ctx;
    size_t n = cg_model_num_params(t->model), p0 = (size_t)r * CG__REDUCE_RANGE;
    size_t p1 = p0 + CG__REDUCE_RANGE < n ? p0 + CG__REDUCE_RANGE : n;

    (void)n_ranges;
    if (!cg__trainer_sum_grads(t, p0, p1))
        atomic_store(&t->grads_finite, false);
}

static int reduce_ranges(const cg_trainer *t)
{
    size_t n = cg_model_num_params(t->model);
    return (int)((n + CG__REDUCE_RANGE - 1) / CG__REDUCE_RANGE);
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

/* Run every chunk, then gather the figures (in chunk order) and the first
 * error. */
static cg_status run_batch(cg_trainer *t, const struct cg_batch *b, struct cg_batch_result *r)
{
    double loss_sum = 0;
    int correct = 0;

    t->batch = b;
    cg_pool_for(t->pool, t->n_chunks, run_chunk, t);
    for (int i = 0; i < t->n_chunks; i++) {
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

/* Chunks and slots for batch b. */
static cg_status prepare(cg_trainer *t, const struct cg_batch *b)
{
    t->n_chunks = chunks_of(b->rows);
    return ensure_slots(t, t->n_chunks);
}

cg_status cg__trainer_run_backward(cg_trainer *t, const struct cg_batch *b, cg_rng *rng,
                                   struct cg_batch_result *r)
{
    cg_status st = check_batch(t, b, true);

    if (t)
        t->ran = false;
    if (st != CG_OK || (st = prepare(t, b)) != CG_OK)
        return st;
    /* One draw per chunk from the caller's generator seeds that chunk's
     * dropout stream for this batch; one chunk uses the caller's own. */
    for (int i = 0; i < t->n_chunks; i++) {
        if (!rng)
            cg_rng_seed(&t->slots[i].rng, 0);
        else if (t->n_chunks == 1)
            t->slots[i].rng = *rng;
        else
            cg_rng_seed(&t->slots[i].rng, ((uint64_t)cg_rng_u32(rng) << 32) | cg_rng_u32(rng));
    }
    t->training = true;
    t->out = NULL;
    t->ran = true;
    st = run_batch(t, b, r);
    if (rng && t->n_chunks == 1)
        *rng = t->slots[0].rng;
    return st;
}

bool cg__trainer_ran(const cg_trainer *t)
{
    return t->ran;
}

bool cg__trainer_sum_grads(cg_trainer *t, size_t begin, size_t end)
{
    cg_float *dst = cg_model_flat(t->model)->grad;
    bool finite = true;

    for (size_t c = begin; c < end; c += CG__REDUCE_PIECE) {
        size_t len = end - c < CG__REDUCE_PIECE ? end - c : CG__REDUCE_PIECE;
        for (int k = 1; k < t->n_chunks; k++) {
            cg_float *src = cg_model_flat(t->slots[k].model)->grad + c;
            for (size_t i = 0; i < len; i++)
                dst[c + i] += src[i];
            memset(src, 0, len * sizeof *src);
        }
        finite = all_finite(dst + c, (int)len) && finite;
    }
    return finite;
}

cg_model *cg__trainer_model(const cg_trainer *t)
{
    return t->model;
}

cg_status cg_trainer_backward(cg_trainer *t, const struct cg_batch *b, cg_rng *rng,
                              struct cg_batch_result *r)
{
    cg_status st = cg__trainer_run_backward(t, b, rng, r);

    if (!t || !t->ran)
        return st;   /* nothing ran: nothing to sum */
    atomic_store(&t->grads_finite, true);
    cg_pool_for(t->pool, reduce_ranges(t), reduce_range, t);
    if (r)
        r->grads_finite = atomic_load(&t->grads_finite);
    return st;
}

cg_status cg_trainer_forward(cg_trainer *t, const struct cg_batch *b, cg_float *out,
                             struct cg_batch_result *r)
{
    cg_status st = check_batch(t, b, false);

    if (st != CG_OK || (st = prepare(t, b)) != CG_OK)
        return st;
    t->training = false;
    t->out = out;
    st = run_batch(t, b, r);
    t->out = NULL;
    if (st == CG_OK && r && !b->labels && !b->targets)
        r->loss = (double)NAN;
    return st;
}
