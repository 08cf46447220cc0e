/*
 * The backward pass of a step across processes (dist.h): what
 * cg__engine_step runs in place of the trainer's own backward when
 * settings.dist has more than one process, or settings.deterministic is
 * set. Every process draws the same seeded order of batches and runs part
 * of each, the rows cg__dist_rows gives it, which are all its loader
 * converts (cg__engine_next_train); what comes out is, in
 * every process, the gradient of the whole batch's mean loss in the
 * model's flat gradient buffer and the batch's loss and correct count.
 *
 * Two ways to add the parts:
 *
 *   shards         (the default) process p runs the rows cg_pool_range(B,
 *                  p, N) of the batch on its trainer (its threads), scales
 *                  its gradient by rows_p / B, and one all-reduce (MPI_SUM)
 *                  over the flat gradient buffer adds them. The sums' order
 *                  is MPI's, so the last bits depend on N (docs/DISTRIBUTED.md).
 *   shares         (deterministic) the batch is cut into D = min(B,
 *                  CG__DIST_SHARES) shares, a function of B alone; process p
 *                  runs shares cg_pool_range(D, p, N), each alone on its
 *                  trainer (threads and all), and keeps each share's
 *                  gradient, scaled by rows_s / B, apart; one all-gather
 *                  gives every process every share, and each adds them in
 *                  share order. The same operations for any N: the same
 *                  bits as one process with the same setting.
 *
 * Dropout: the engine's generator draws one seed per process (shards) or
 * per share (shares) each step, the same draws in every process, so the
 * generator stays in step everywhere and a checkpoint holds it whole.
 *
 * Every process takes part in every collective even when its own part
 * failed: a flag travels with the figures, and all of them fail together
 * instead of waiting for each other.
 */
#include <math.h>
#include <string.h>

#include "internal.h"

/* What travels with the gradients: loss * rows, correct rows, failures. */
enum { FIG_LOSS, FIG_CORRECT, FIG_FAILED, FIGS };

static uint64_t draw_seed(cg_rng *rng)
{
    uint64_t hi = cg_rng_u32(rng);
    return hi << 32 | cg_rng_u32(rng);
}

/* True when every x[i] is finite (x - x is NaN for an infinity or NaN). */
static bool all_finite(const cg_float *x, size_t n)
{
    int bad = 0;
    for (size_t i = 0; i < n; i++)
        bad |= !(x[i] - x[i] == 0);
    return !bad;
}

/* Rows [r0, r1) of the batch b. */
static struct cg_batch rows_of(const struct cg__engine *e, const struct cg_batch *b, int r0,
                               int r1)
{
    return (struct cg_batch){b->x + (size_t)r0 * (size_t)e->in,
                             b->labels ? b->labels + r0 : NULL,
                             b->targets ? b->targets + (size_t)r0 * (size_t)e->out : NULL,
                             r1 - r0};
}

/* Run rows [r0, r1) on the trainer with dropout from seed; their figures
 * into fig. The trainer adds d(mean loss of the rows) into the model's
 * gradients. */
static cg_status run_rows(struct cg__engine *e, const struct cg_batch *b, int r0, int r1,
                          uint64_t seed, double *fig)
{
    struct cg_batch part = rows_of(e, b, r0, r1);
    struct cg_batch_result br;
    cg_rng rng;
    cg_rng_seed(&rng, seed);
    cg_status st = cg_trainer_backward(e->tr, &part, &rng, &br);
    if (st != CG_OK) {
        fig[FIG_FAILED] += 1;
        return st;
    }
    fig[FIG_LOSS] += br.loss * part.rows;
    fig[FIG_CORRECT] += br.correct;
    return CG_OK;
}

/* The end of both ways: the figures of the whole batch, and the same
 * status in every process. */
static cg_status finish(struct cg__engine *e, const struct cg_batch *b, cg_status own,
                        const double *fig, struct cg_batch_result *r)
{
    r->loss = fig[FIG_LOSS] / b->rows;
    r->correct = (int)fig[FIG_CORRECT];
    r->grads_finite = own == CG_OK && all_finite(e->flat->grad, e->flat->size);
    if (own != CG_OK)
        return own;
    if (fig[FIG_FAILED] > 0)
        return cg__fail(CG_ERR_STATE, "another process failed its part of the step");
    return CG_OK;
}

static cg_status shards_backward(struct cg__engine *e, const struct cg_batch *b,
                                 struct cg_batch_result *r)
{
    int n = cg_dist_size(e->dist), me = cg_dist_rank(e->dist), r0, r1;
    double fig[FIGS] = {0, 0, 0};
    uint64_t seed = 0;
    cg_status st = CG_OK, cst;

    for (int p = 0; p < n; p++) {
        uint64_t s = draw_seed(&e->dropout_rng);
        seed = p == me ? s : seed;
    }
    cg__dist_rows(e, b->rows, &r0, &r1);
    if (r1 > r0 && (st = run_rows(e, b, r0, r1, seed, fig)) == CG_OK && r1 - r0 != b->rows) {
        cg_float c = (cg_float)(r1 - r0) / (cg_float)b->rows;
        cg_float *g = e->flat->grad;
        for (size_t i = 0; i < e->flat->size; i++)
            g[i] *= c;
    }
    if ((cst = cg_dist_sum(e->dist, e->flat->grad, e->flat->size)) != CG_OK ||
        (cst = cg_dist_sum_f64(e->dist, fig, FIGS)) != CG_OK)
        return cst;
    return finish(e, b, st, fig, r);
}

/* Share s's rows of a batch of `rows` rows in d shares. */
static void share_rows(int rows, int s, int d, int *r0, int *r1)
{
    cg_pool_range(rows, s, d, r0, r1);
}

/* The shares of a batch of `rows` rows: D, a function of the rows alone. */
static int shares_of(int rows)
{
    return rows < CG__DIST_SHARES ? rows : CG__DIST_SHARES;
}

void cg__dist_rows(const struct cg__engine *e, int rows, int *r0, int *r1)
{
    int n = cg_dist_size(e->dist), me = cg_dist_rank(e->dist), s0, s1, unused;
    if (!e->deterministic) {
        cg_pool_range(rows, me, n, r0, r1);
        return;
    }
    int d = shares_of(rows);
    cg_pool_range(d, me, n, &s0, &s1);
    if (s0 == s1) {
        *r0 = *r1 = 0;
        return;
    }
    share_rows(rows, s0, d, r0, &unused);
    share_rows(rows, s1 - 1, d, &unused, r1);
}

static cg_status shares_backward(struct cg__engine *e, const struct cg_batch *b,
                                 struct cg_batch_result *r)
{
    int n = cg_dist_size(e->dist), me = cg_dist_rank(e->dist);
    int d = shares_of(b->rows);
    size_t p = e->flat->size;
    double fig[CG__DIST_SHARES][FIGS];
    size_t counts[CG__DIST_MAX_PROCS], displs[CG__DIST_MAX_PROCS];
    cg_status st = CG_OK, cst;
    int s0, s1;

    memset(fig, 0, sizeof fig);
    for (int q = 0; q < n; q++) {
        cg_pool_range(d, q, n, &s0, &s1);
        counts[q] = (size_t)(s1 - s0) * p;
        displs[q] = (size_t)s0 * p;
    }
    uint64_t seeds[CG__DIST_SHARES];
    for (int s = 0; s < d; s++)
        seeds[s] = draw_seed(&e->dropout_rng);
    cg_pool_range(d, me, n, &s0, &s1);
    for (int s = s0; s < s1 && st == CG_OK; s++) {
        int r0, r1;
        share_rows(b->rows, s, d, &r0, &r1);
        st = run_rows(e, b, r0, r1, seeds[s], fig[s]);
        /* The share's part of the batch mean, apart from the others. */
        cg_float c = (cg_float)(r1 - r0) / (cg_float)b->rows, *dst = e->shares + (size_t)s * p;
        cg_float *g = e->flat->grad;
        for (size_t i = 0; i < p; i++) {
            dst[i] = r1 - r0 == b->rows ? g[i] : g[i] * c;
            g[i] = 0;
        }
    }
    if ((cst = cg_dist_gather_all(e->dist, e->shares, counts, displs)) != CG_OK ||
        (cst = cg_dist_sum_f64(e->dist, &fig[0][0], d * FIGS)) != CG_OK)
        return cst;
    /* Adding zeros leaves every figure as its own process had it; the
     * shares' figures are then added in share order, as the gradients. */
    double total[FIGS] = {0, 0, 0};
    cg_float *g = e->flat->grad;
    memcpy(g, e->shares, p * sizeof *g);
    for (int s = 1; s < d; s++) {
        const cg_float *src = e->shares + (size_t)s * p;
        for (size_t i = 0; i < p; i++)
            g[i] += src[i];
    }
    for (int s = 0; s < d; s++)
        for (int k = 0; k < FIGS; k++)
            total[k] += fig[s][k];
    return finish(e, b, st, total, r);
}

cg_status cg__dist_engine_init(struct cg__engine *e, cg_dist *dist, bool deterministic)
{
    int n = cg_dist_size(dist);
    if (n > CG__DIST_MAX_PROCS)
        return cg__fail(CG_ERR_ARG, "%d processes: cg_fit trains on at most %d", n,
                        CG__DIST_MAX_PROCS);
    e->dist = dist;
    e->deterministic = deterministic;
    e->spread = deterministic || n > 1;
    if (!deterministic)
        return CG_OK;
    size_t len;
    if (!cg__mul_size(e->flat->size, CG__DIST_SHARES, &len))
        return cg__fail(CG_ERR_ARG, "the deterministic sum's shares are too large");
    if (!(e->shares = cg__calloc(len, sizeof *e->shares)))
        return CG_ERR_NOMEM;
    return CG_OK;
}

cg_status cg__dist_backward(struct cg__engine *e, const struct cg_batch *b,
                            struct cg_batch_result *r)
{
    return e->deterministic ? shares_backward(e, b, r) : shards_backward(e, b, r);
}

/* ---- the run's decisions (fit.c) ---------------------------------------------------- */

bool cg__fit_writes(const struct cg__fit *f)
{
    return cg_dist_rank(f->s->dist) == 0;
}

cg_status cg__fit_share_action(struct cg__fit *f, enum cg_fit_action *a)
{
    int v = (int)*a;
    cg_status st = cg_dist_broadcast_int(f->s->dist, &v);
    *a = (enum cg_fit_action)v;
    return st;
}

cg_status cg__fit_share_status(struct cg__fit *f, cg_status st)
{
    int v = (int)st;
    cg_status cst = cg_dist_broadcast_int(f->s->dist, &v);
    if (cst != CG_OK)
        return cst;
    if (st == CG_OK && v != CG_OK)
        return cg__fail((cg_status)v, "rank 0 failed to write a file (its message says which)");
    return st;
}

cg_status cg__fit_share_weights(struct cg__fit *f)
{
    return cg_dist_broadcast(f->s->dist, f->eng.flat->data, f->eng.flat->size);
}
