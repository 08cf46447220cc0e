/*
 * Mini-batches: a loader walks a data set in a shuffled order, converting
 * each drawn sample to cg_float (bytes included) and normalizing it into the
 * caller's buffer. Nothing is allocated after cg_loader_new.
 *
 * Order: epoch e's order is cg_rng_shuffle(0..N-1) with the loader's
 * generator as it stood at the start of epoch e (seeded once with `seed`,
 * so epoch 1 continues the stream of epoch 0). The state records that
 * generator, so a restore re-derives the order instead of storing it.
 */
#include <string.h>

#include "internal.h"

struct cg_loader {
    const cg_dataset     *ds;
    const struct cg_norm *norm;      /* borrowed, or NULL */
    int                   batch;
    bool                  shuffle, drop_last;
    size_t               *order;     /* [N] positions in ds */
    cg_rng                rng;       /* draws the next shuffle */
    cg_rng                epoch_rng; /* rng as it was before this epoch's shuffle */
    uint64_t              epoch;
    size_t                pos;
    cg_pool              *pool;      /* borrowed, or NULL: converts rows in parallel */
    /* the rows being converted, [first, first + rows) of the batch, for the
     * pool's threads: */
    cg_float             *x;
    int                  *labels;
    cg_float             *targets;
    size_t                first, rows;
};

static void start_epoch(cg_loader *l)
{
    l->epoch_rng = l->rng;
    for (size_t i = 0; i < l->ds->n; i++)
        l->order[i] = i;
    if (l->shuffle)
        cg_rng_shuffle(&l->rng, l->order, l->ds->n);
    l->pos = 0;
}

cg_loader *cg_loader_new(const cg_dataset *ds, int batch, bool shuffle, bool drop_last,
                         uint64_t seed)
{
    cg_loader *l;

    if (!ds)
        return cg__fail_null(CG_ERR_ARG, "cg_loader_new: NULL data set");
    if (batch <= 0)
        return cg__fail_null(CG_ERR_ARG, "cg_loader_new: batch size %d is not positive", batch);
    l = cg__calloc(1, sizeof *l);
    if (!l)
        return NULL;
    l->order = cg__calloc(ds->n ? ds->n : 1, sizeof *l->order);
    if (!l->order) {
        cg__free(l);
        return NULL;
    }
    l->ds = ds;
    l->batch = batch;
    l->shuffle = shuffle;
    l->drop_last = drop_last;
    cg_rng_seed(&l->rng, seed);
    start_epoch(l);
    return l;
}

void cg_loader_free(cg_loader *loader)
{
    if (!loader)
        return;
    cg__free(loader->order);
    cg__free(loader);
}

cg_status cg_loader_set_norm(cg_loader *loader, const struct cg_norm *norm)
{
    if (!loader)
        return cg__fail(CG_ERR_ARG, "cg_loader_set_norm: NULL loader");
    if (norm && norm->n != 0 && norm->n != loader->ds->s->n_features)
        return cg__fail(CG_ERR_SHAPE, "cg_loader_set_norm: the norm has %d features, "
                        "the data set %d", norm->n, loader->ds->s->n_features);
    loader->norm = norm && norm->n > 0 ? norm : NULL;
    return CG_OK;
}

size_t cg_loader_batches(const cg_loader *loader)
{
    size_t n = loader->ds->n, b = (size_t)loader->batch;
    return loader->drop_last ? n / b : (n + b - 1) / b;
}

/* x[j] = (src[j] - off[j]) * sc[j] for f features. restrict: the buffers
 * never overlap, and saying so lets gcc's cheap cost model vectorize the
 * loops (without it, the alias checks they would need keep them scalar:
 * a conversion a byte at a time, 5% of a demo epoch). */
static void norm_u8(cg_float *restrict x, const uint8_t *restrict src,
                    const cg_float *restrict off, const cg_float *restrict sc, size_t f)
{
    for (size_t j = 0; j < f; j++)
        x[j] = ((cg_float)src[j] - off[j]) * sc[j];
}

static void norm_float(cg_float *restrict x, const cg_float *restrict src,
                       const cg_float *restrict off, const cg_float *restrict sc, size_t f)
{
    for (size_t j = 0; j < f; j++)
        x[j] = (src[j] - off[j]) * sc[j];
}

static void widen_u8(cg_float *restrict x, const uint8_t *restrict src, size_t f)
{
    for (size_t j = 0; j < f; j++)
        x[j] = (cg_float)src[j];
}

/* x: [F] = normalized features of store sample k. */
static void convert_row(const cg_loader *l, size_t k, cg_float *x)
{
    const struct cg__store *s = l->ds->s;
    size_t f = (size_t)s->n_features;
    const cg_float *off = l->norm ? l->norm->offset : NULL;
    const cg_float *sc = l->norm ? l->norm->scale : NULL;

    if (s->u8 && off)
        norm_u8(x, s->u8 + k * f, off, sc, f);
    else if (s->u8)
        widen_u8(x, s->u8 + k * f, f);
    else if (off)
        norm_float(x, s->f + k * f, off, sc, f);
    else
        memcpy(x, s->f + k * f, f * sizeof *x);
}

/* Rows [r0, r1) of the current batch into the caller's buffers. */
static void fill_rows(const cg_loader *loader, size_t r0, size_t r1)
{
    const cg_dataset *ds = loader->ds;
    const struct cg__store *s = ds->s;
    size_t f = (size_t)s->n_features, t = (size_t)s->n_targets;

    for (size_t r = r0; r < r1; r++) {
        size_t k = cg__ds_index(ds, loader->order[loader->pos + r]);
        if (loader->x)
            convert_row(loader, k, loader->x + r * f);
        if (loader->labels && s->task == CG_TASK_CLASSIFY)
            loader->labels[r] = s->labels[k];
        if (loader->targets && s->task == CG_TASK_REGRESS)
            memcpy(loader->targets + r * t, s->targets + k * t, t * sizeof *loader->targets);
    }
}

/* Rows a chunk of the conversion on a pool holds: more chunks than
 * threads, handed out to whichever is free. */
#define CG__LOADER_CHUNK_ROWS 16

/* Chunk `chunk`'s contiguous rows of those being converted. */
static void fill_share(void *ctx, int chunk, int n_chunks)
{
    const cg_loader *loader = ctx;
    int r0, r1;

    cg_pool_range((int)loader->rows, chunk, n_chunks, &r0, &r1);
    fill_rows(loader, loader->first + (size_t)r0, loader->first + (size_t)r1);
}

int cg__loader_next_part(cg_loader *loader, cg_float *x, int *labels, cg_float *targets,
                         cg__batch_part_fn part, void *ctx)
{
    const cg_dataset *ds = loader->ds;
    size_t left = ds->n - loader->pos, rows;
    int r0, r1;

    if (left == 0 || (loader->drop_last && left < (size_t)loader->batch)) {
        loader->epoch++;
        start_epoch(loader);
        return 0;
    }
    rows = left < (size_t)loader->batch ? left : (size_t)loader->batch;
    r0 = 0, r1 = (int)rows;
    if (part)
        part(ctx, (int)rows, &r0, &r1);
    loader->first = (size_t)r0;
    loader->rows = (size_t)(r1 - r0);
    loader->x = x;
    loader->labels = labels;
    loader->targets = targets;
    if (loader->pool)
        cg_pool_for(loader->pool,
                    (int)((loader->rows + CG__LOADER_CHUNK_ROWS - 1) / CG__LOADER_CHUNK_ROWS),
                    fill_share, loader);
    else
        fill_rows(loader, loader->first, loader->first + loader->rows);
    loader->pos += rows;
    return (int)rows;
}

int cg_loader_next(cg_loader *loader, cg_float *x, int *labels, cg_float *targets)
{
    return cg__loader_next_part(loader, x, labels, targets, NULL, NULL);
}

void cg_loader_set_pool(cg_loader *loader, cg_pool *pool)
{
    if (loader)
        loader->pool = pool;
}

struct cg_loader_state cg_loader_state(const cg_loader *loader)
{
    struct cg_loader_state st;

    memset(&st, 0, sizeof st);
    st.epoch = loader->epoch;
    st.position = loader->pos;
    st.rng = loader->epoch_rng;
    st.n = loader->ds->n;
    return st;
}

cg_status cg_loader_restore(cg_loader *loader, const struct cg_loader_state *state)
{
    if (!loader || !state)
        return cg__fail(CG_ERR_ARG, "cg_loader_restore: NULL argument");
    if (state->n != loader->ds->n || state->position > state->n)
        return cg__fail(CG_ERR_STATE, "cg_loader_restore: the state is for %llu samples "
                        "(at %llu), the data set has %zu",
                        (unsigned long long)state->n, (unsigned long long)state->position,
                        loader->ds->n);
    loader->rng = state->rng;
    loader->epoch = state->epoch;
    start_epoch(loader);
    loader->pos = (size_t)state->position;
    return CG_OK;
}

/* ---- one-hot -------------------------------------------------------------- */

cg_status cg_one_hot(cg_tensor *out, const int *labels, int rows)
{
    int b, c;

    if (!out || (!labels && rows > 0))
        return cg__fail(CG_ERR_ARG, "cg_one_hot: NULL argument");
    if (out->ndim != 2 || rows < 0 || rows > out->shape[0])
        return cg__fail(CG_ERR_SHAPE, "cg_one_hot: out must be [B, C] with B >= %d rows",
                        rows);
    b = out->shape[0];
    c = out->shape[1];
    for (int r = 0; r < rows; r++)
        if (labels[r] < 0 || labels[r] >= c)
            return cg__fail(CG_ERR_ARG, "cg_one_hot: row %d: label %d is not in 0..%d",
                            r, labels[r], c - 1);
    memset(out->data, 0, (size_t)b * (size_t)c * sizeof *out->data);
    for (int r = 0; r < rows; r++)
        out->data[(size_t)r * (size_t)c + (size_t)labels[r]] = 1;
    return CG_OK;
}
