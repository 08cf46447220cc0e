/*
 * The data-parallel batch runner (DESIGN.md, "Threads", way 2).
 *
 * A mini-batch of B rows is cut into K chunks of contiguous rows, K a fixed
 * function of B alone (chunks_of: about 32 rows each, at most
 * CG__TRAINER_MAX_CHUNKS). A training step then runs in two parts, each
 * handed out piece by piece to whichever thread of a cg_pool is free
 * (cg_pool_for), so that a thread the machine slows down holds up one
 * piece, not a fixed share:
 *
 *   1. rows: chunk k runs the forward and backward pass of its rows on its
 *      own graph, through the model itself (its parameters read-only). Each
 *      chunk's loss is the mean over its rows, scaled by rows_k / B before
 *      backward, so that the chunks' gradients add up to the gradient of the
 *      batch mean. Backward computes every dL/dx (rows are independent) but
 *      leaves the parameters' gradients to part 2 (cg__graph_defer_param_
 *      grads): each linear layer records its input x_k and dL/dz_k.
 *   2. parameters: block j of rows [o0, o1) of one layer's weight and bias
 *      adds chunk 0's dz_0^T x_0, then chunk 1's, ... in chunk order, into
 *      the model's gradient (GEMMs on sub-matrices, a block of about 256 KB
 *      that stays in the thread's cache), and checks the block is finite.
 *
 * So every number depends on B, the chunk boundaries and the blocks, never
 * on which thread ran which piece, nor on how many threads there are: same
 * seed, same settings, the same bits on 1 thread or 8, on a quiet machine
 * or a busy one. No chunk has a gradient buffer of its own, and nothing
 * sums buffers afterwards. (One chunk, B <= 32, runs exactly the operations
 * of a single graph over the whole batch: its backward adds the parameters'
 * gradients itself, and part 2 only checks them.)
 *
 * Nothing here allocates after the first batch of a given size: graphs
 * reuse their arenas, the block table is made with the trainer.
 */
#include <math.h>
#include <stdatomic.h>
#include <string.h>

#include "../autograd/internal.h"
#include "internal.h"

#define CG__TRAINER_MAX_THREADS 64
#define CG__TRAINER_CHUNK_ROWS 32
#define CG__TRAINER_MAX_CHUNKS 16
/* A block of part 2: about this many weight-gradient elements (256 KB of
 * floats), a whole number of 16 rows (the GEMM kernels' row tile). */
#define CG__BLOCK_ELEMS 65536
#define CG__BLOCK_ROW_TILE 16

struct trainer_slot {
    cg_graph  *g;
    cg_rng     rng;        /* dropout, drawn from the caller's rng per batch */
    double     loss_sum;   /* loss of the chunk times its rows */
    int        correct;
    cg_status  status;
    char       errmsg[256];
};

/* Rows [o0, o1) of linear layer `layer`'s weight and bias gradients. */
struct grad_block {
    int layer, o0, o1;
};

struct cg_trainer {
    cg_model          *model;
    enum cg_loss       loss;
    int                threads;
    cg_pool           *pool;
    int                n_slots;   /* graphs made so far */
    struct trainer_slot slots[CG__TRAINER_MAX_CHUNKS];
    /* part 2, made with the trainer: */
    int                n_layers;  /* linear modules, in the forward order */
    const struct cg_module **layers;
    int                n_blocks;
    struct grad_block *blocks;
    int               *bias_at;   /* [n_layers] layer j's place in bias_scratch */
    cg_float          *bias_scratch;  /* one chunk's column sums, per block */
    const struct cg__deferred_grad **deferred;  /* [chunk * n_layers + layer] */
    atomic_bool        grads_finite;  /* cleared by a block that is not */
    /* the batch being run, for the pool's threads: */
    const struct cg_batch *batch;
    int                n_chunks;
    bool               training;
    cg_float          *out;   /* [rows, out] outputs to copy, or NULL */
};

/* The chunks of a batch of `rows` rows: a function of rows alone. */
static int chunks_of(int rows)
{
    int k = (rows + CG__TRAINER_CHUNK_ROWS - 1) / CG__TRAINER_CHUNK_ROWS;
    return k < 1 ? 1 : k > CG__TRAINER_MAX_CHUNKS ? CG__TRAINER_MAX_CHUNKS : k;
}

/* Make the graphs a batch of n_chunks needs (only when a batch first needs
 * more than before: steady steps allocate nothing). */
static cg_status ensure_slots(cg_trainer *t, int n_chunks)
{
    while (t->n_slots < n_chunks) {
        cg_graph *g = cg_graph_new();
        if (!g)
            return cg_errcode();
        t->slots[t->n_slots++].g = g;
    }
    return CG_OK;
}

/* Rows per block for a layer of `out` rows of `in` weights: as few blocks
 * of about CG__BLOCK_ELEMS as cover it, of equal rows rounded up to the
 * row tile; a function of the shape alone, so the blocks are the same for
 * every thread count. */
static int block_rows(int out, int in)
{
    size_t elems = (size_t)out * (size_t)(in > 0 ? in : 1);
    size_t blocks = (elems + CG__BLOCK_ELEMS - 1) / CG__BLOCK_ELEMS;
    size_t rows = ((size_t)out + blocks - 1) / blocks;

    rows = (rows + CG__BLOCK_ROW_TILE - 1) / CG__BLOCK_ROW_TILE * CG__BLOCK_ROW_TILE;
    return rows < (size_t)out ? (int)rows : out;
}

/* The linear layers of the model and the blocks of part 2. */
static cg_status make_blocks(cg_trainer *t)
{
    int n_mods, bias_len = 0;
    const struct cg_module *mods = cg_model_modules(t->model, &n_mods);

    for (int i = 0; i < n_mods; i++)
        if (mods[i].kind == CG_MOD_LINEAR) {
            t->n_layers++;
            t->n_blocks += (mods[i].out + block_rows(mods[i].out, mods[i].in) - 1) /
                           block_rows(mods[i].out, mods[i].in);
            bias_len += mods[i].out;
        }
    t->layers = cg__calloc((size_t)t->n_layers + 1, sizeof *t->layers);
    t->blocks = cg__calloc((size_t)t->n_blocks + 1, sizeof *t->blocks);
    t->bias_at = cg__calloc((size_t)t->n_layers + 1, sizeof *t->bias_at);
    t->bias_scratch = cg__calloc((size_t)bias_len + 1, sizeof *t->bias_scratch);
    t->deferred = cg__calloc((size_t)CG__TRAINER_MAX_CHUNKS * (size_t)t->n_layers + 1,
                             sizeof *t->deferred);
    if (!t->layers || !t->blocks || !t->bias_at || !t->bias_scratch || !t->deferred)
        return CG_ERR_NOMEM;
    int layer = 0, block = 0;
    bias_len = 0;
    for (int i = 0; i < n_mods; i++) {
        const struct cg_module *mod = &mods[i];
        if (mod->kind != CG_MOD_LINEAR)
            continue;
        int rows = block_rows(mod->out, mod->in);
        for (int o0 = 0; o0 < mod->out; o0 += rows)
            t->blocks[block++] = (struct grad_block){
                layer, o0, o0 + rows < mod->out ? o0 + rows : mod->out};
        t->bias_at[layer] = bias_len;
        bias_len += mod->out;
        t->layers[layer++] = mod;
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
    if (cg_blas_reserve(t->pool) != CG_OK || make_blocks(t) != CG_OK ||
        ensure_slots(t, 1) != CG_OK)
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
    for (int i = 0; i < t->n_slots; i++)
        cg_graph_free(t->slots[i].g);
    cg__free(t->layers);
    cg__free(t->blocks);
    cg__free(t->bias_at);
    cg__free(t->bias_scratch);
    cg__free(t->deferred);
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

/* ---- part 1: one chunk ------------------------------------------------------- */

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
 * thread the pool gave it to: everything it writes is chunk k's own (its
 * graph; in training the graph keeps what part 2 reads until then). */
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
    cg_graph_reset(s->g);
    if (rows == 0)
        return;
    cg_graph_set_training(s->g, t->training);
    cg_graph_set_grad(s->g, t->training);
    /* One chunk is the whole batch: its backward adds the gradients itself,
     * exactly as one graph would, and part 2 only checks them. */
    cg__graph_defer_param_grads(s->g, n_chunks > 1);
    x = cg_graph_wrap(s->g, (cg_float *)(uintptr_t)(b->x + (size_t)r0 * (size_t)in), 2,
                      (int[]){rows, in});
    y = cg_model_forward(s->g, t->model, x, t->training ? &s->rng : NULL);
    if (!y)
        goto out_fail;
    if (t->out)
        memcpy(t->out + (size_t)r0 * (size_t)out, y->data,
               (size_t)rows * (size_t)out * sizeof(cg_float));
    if (b->labels)
        s->correct = chunk_correct(y, b->labels + r0, rows);
    if (!b->labels && !b->targets)
        return;   /* outputs only (predict): there is nothing to take a loss against */
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
    return;

out_fail:
    slot_fail(s);
}

/* ---- part 2: the parameters' gradients ------------------------------------------ */

/* True when every x[i] is finite: x - x is 0 for a finite x and NaN for an
 * infinity or a NaN, a test the compiler vectorizes. */
static bool all_finite(const cg_float *x, size_t n)
{
    int bad = 0;
    for (size_t i = 0; i < n; i++)
        bad |= !(x[i] - x[i] == 0);
    return !bad;
}

/* Each chunk's records of the layers, checked against the model's. */
static cg_status gather_deferred(cg_trainer *t)
{
    for (int k = 0; k < t->n_chunks; k++) {
        const struct cg__deferred_grad *d = cg__graph_deferred(t->slots[k].g);
        for (int j = 0; j < t->n_layers; j++, d = d->next) {
            if (!d || d->w != t->layers[j]->weight)
                return cg__fail(CG_ERR_STATE, "cg_trainer: chunk %d's backward did not "
                                "reach linear layer %d", k, j);
            t->deferred[(size_t)k * (size_t)t->n_layers + (size_t)j] = d;
        }
    }
    return CG_OK;
}

/* Block j: chunk 0's gradient added into the model's (as a single graph
 * would), then each further chunk's (with one chunk its backward added
 * them already); then the check that the block is finite. A chunk's bias
 * sums start from zero and are added whole, as the sum of separate chunk
 * buffers would be. */
static void run_block(void *ctx, int j, int n_blocks)
{
    cg_trainer *t = ctx;
    const struct grad_block *bl = &t->blocks[j];
    const struct cg_module *mod = t->layers[bl->layer];
    cg_float *dw = cg__grad(mod->weight), *db = cg__grad(mod->bias);
    cg_float *sums = t->bias_scratch + t->bias_at[bl->layer];
    size_t in = (size_t)mod->in;

    (void)n_blocks;
    for (int k = 0; k < t->n_chunks && t->n_chunks > 1; k++) {
        const struct cg__deferred_grad *d = t->deferred[(size_t)k * (size_t)t->n_layers +
                                                        (size_t)bl->layer];
        if (k == 0 || !db) {
            cg__linear_param_grads(d, bl->o0, bl->o1, dw, db);
            continue;
        }
        memset(sums + bl->o0, 0, (size_t)(bl->o1 - bl->o0) * sizeof *sums);
        cg__linear_param_grads(d, bl->o0, bl->o1, dw, sums);
        for (int o = bl->o0; o < bl->o1; o++)
            db[o] += sums[o];
    }
    bool finite = (!dw || all_finite(dw + (size_t)bl->o0 * in, (size_t)(bl->o1 - bl->o0) * in)) &&
                  (!db || all_finite(db + bl->o0, (size_t)(bl->o1 - bl->o0)));
    if (!finite)
        atomic_store(&t->grads_finite, false);
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
    r->loss = loss_sum / b->rows;
    r->correct = correct;
    return CG_OK;
}

/* Chunks and graphs for batch b. */
static cg_status prepare(cg_trainer *t, const struct cg_batch *b)
{
    t->n_chunks = chunks_of(b->rows);
    return ensure_slots(t, t->n_chunks);
}

/* Forget what the chunks' graphs kept for part 2. */
static void reset_graphs(cg_trainer *t)
{
    for (int i = 0; i < t->n_chunks; i++)
        cg_graph_reset(t->slots[i].g);
}

/* One draw per chunk from the caller's generator seeds that chunk's
 * dropout stream for this batch; one chunk uses the caller's own. */
static void seed_chunks(cg_trainer *t, cg_rng *rng)
{
    for (int i = 0; i < t->n_chunks; i++) {
        if (!rng)
            cg_rng_seed(&t->slots[i].rng, 0);
        else if (t->n_chunks == 1)
            t->slots[i].rng = *rng;
        else
            cg_rng_seed(&t->slots[i].rng, ((uint64_t)cg_rng_u32(rng) << 32) | cg_rng_u32(rng));
    }
}

cg_status cg_trainer_backward(cg_trainer *t, const struct cg_batch *b, cg_rng *rng,
                              struct cg_batch_result *r)
{
    struct cg_batch_result res;
    cg_status st = check_batch(t, b, true);

    r = r ? r : &res;
    *r = (struct cg_batch_result){(double)NAN, 0, true};
    if (st != CG_OK || (st = prepare(t, b)) != CG_OK)
        return st;
    seed_chunks(t, rng);
    t->training = true;
    t->out = NULL;
    st = run_batch(t, b, r);
    if (rng && t->n_chunks == 1)
        *rng = t->slots[0].rng;
    /* A loss that is not finite: no backward pass (the chunks skip theirs). */
    if (st == CG_OK && isfinite(r->loss) &&
        (t->n_chunks == 1 || (st = gather_deferred(t)) == CG_OK)) {
        atomic_store(&t->grads_finite, true);
        cg_pool_for(t->pool, t->n_blocks, run_block, t);
        r->grads_finite = atomic_load(&t->grads_finite);
    }
    reset_graphs(t);
    return st;
}

cg_status cg_trainer_forward(cg_trainer *t, const struct cg_batch *b, cg_float *out,
                             struct cg_batch_result *r)
{
    struct cg_batch_result res;
    cg_status st = check_batch(t, b, false);

    r = r ? r : &res;
    if (st != CG_OK || (st = prepare(t, b)) != CG_OK)
        return st;
    t->training = false;
    t->out = out;
    st = run_batch(t, b, r);
    t->out = NULL;
    reset_graphs(t);
    if (st == CG_OK && !b->labels && !b->targets)
        r->loss = (double)NAN;
    return st;
}
