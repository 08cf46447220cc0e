/*
 * Normalization: the affine map y[j] = (x[j] - offset[j]) * scale[j],
 * fitted on a training split and kept so that a saved model applies the
 * same map to new inputs. Z-score follows sklearn's StandardScaler
 * (population std, a zero std left as 1) and min-max its MinMaxScaler with
 * feature_range (0, 1); images use per-channel statistics and x / 255
 * (torchvision's ToTensor, then Normalize(mean, std) per channel).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

const char *cg_norm_kind_name(cg_norm_kind kind)
{
    switch (kind) {
    case CG_NORM_NONE:   return "none";
    case CG_NORM_ZSCORE: return "zscore";
    case CG_NORM_MINMAX: return "minmax";
    }
    return "unknown";
}

void cg_norm_deinit(struct cg_norm *norm)
{
    if (!norm)
        return;
    cg__free(norm->offset);
    cg__free(norm->scale);
    memset(norm, 0, sizeof *norm);
}

/* Allocate zero offsets and unit scales for n features. */
static cg_status norm_alloc(struct cg_norm *norm, cg_norm_kind kind, int n)
{
    memset(norm, 0, sizeof *norm);
    norm->kind = kind;
    if (n == 0)
        return CG_OK;
    norm->offset = cg__calloc((size_t)n, sizeof *norm->offset);
    norm->scale = cg__calloc((size_t)n, sizeof *norm->scale);
    if (!norm->offset || !norm->scale) {
        cg_norm_deinit(norm);
        return CG_ERR_NOMEM;
    }
    norm->n = n;
    for (int j = 0; j < n; j++)
        norm->scale[j] = 1;
    return CG_OK;
}

cg_status cg_norm_init(struct cg_norm *norm, cg_norm_kind kind, int n,
                       const cg_float *offset, const cg_float *scale)
{
    if (!norm)
        return cg__fail(CG_ERR_ARG, "cg_norm_init: NULL norm");
    memset(norm, 0, sizeof *norm);
    if (kind < CG_NORM_NONE || kind > CG_NORM_MINMAX || n < 0 || (n > 0 && (!offset || !scale)))
        return cg__fail(CG_ERR_ARG, "cg_norm_init: bad kind %d or arrays for %d features",
                        (int)kind, n);
    for (int j = 0; j < n; j++)
        if (!isfinite((double)offset[j]) || !isfinite((double)scale[j]))
            return cg__fail(CG_ERR_NUMERIC, "cg_norm_init: feature %d: offset or scale "
                            "is not finite", j);
    if (norm_alloc(norm, kind, n) != CG_OK)
        return CG_ERR_NOMEM;
    if (n > 0) {
        memcpy(norm->offset, offset, (size_t)n * sizeof *offset);
        memcpy(norm->scale, scale, (size_t)n * sizeof *scale);
    }
    return CG_OK;
}

/* ---- as text, for model files ------------------------------------------------ */

/* Digits that make a cg_float read back exactly. */
#define FLOAT_DIGITS (sizeof(cg_float) == sizeof(float) ? 9 : 17)

/* snprintf that never runs past n and adds what it would have written. */
static size_t put(char *buf, size_t n, size_t used, const char *fmt, double v)
{
    size_t room = used < n ? n - used : 0;
    int k = snprintf(room ? buf + used : NULL, room, fmt, (int)FLOAT_DIGITS, v);
    return used + (k > 0 ? (size_t)k : 0);
}

size_t cg_norm_print(const struct cg_norm *norm, char *buf, size_t n)
{
    size_t room = buf ? n : 0;
    int k = snprintf(room ? buf : NULL, room, "%s %d", cg_norm_kind_name(norm->kind), norm->n);
    size_t used = k > 0 ? (size_t)k : 0;
    for (int i = 0; i < norm->n; i++)
        used = put(buf, room, used, " %.*g", (double)norm->offset[i]);
    for (int i = 0; i < norm->n; i++)
        used = put(buf, room, used, " %.*g", (double)norm->scale[i]);
    return used;
}

cg_status cg_norm_parse(struct cg_norm *norm, const char *text, int features)
{
    static const cg_norm_kind kinds[] = {CG_NORM_NONE, CG_NORM_ZSCORE, CG_NORM_MINMAX};
    char name[16];
    int n, used, kind = -1;

    memset(norm, 0, sizeof *norm);
    if (!text || sscanf(text, "%15s %d%n", name, &n, &used) != 2 || n < 0 || n > (1 << 26))
        return cg__fail(CG_ERR_FORMAT, "normalization: not 'KIND N offsets... scales...'");
    if (features >= 0 && n != 0 && n != features)
        return cg__fail(CG_ERR_SHAPE, "normalization: %d features, the data %d", n, features);
    for (int k = 0; k < 3; k++)
        if (strcmp(name, cg_norm_kind_name(kinds[k])) == 0)
            kind = k;
    if (kind < 0)
        return cg__fail(CG_ERR_FORMAT, "normalization: unknown kind '%s'", name);
    cg_float *v = cg__calloc((size_t)n * 2 + 1, sizeof *v);
    if (!v)
        return CG_ERR_NOMEM;
    const char *p = text + used;
    for (int i = 0; i < 2 * n; i++) {
        char *end;
        double x = strtod(p, &end);
        if (end == p || !isfinite(x)) {
            cg__free(v);
            return cg__fail(CG_ERR_FORMAT, "normalization: value %d of %d is missing or "
                            "not finite", i + 1, 2 * n);
        }
        v[i] = (cg_float)x;
        p = end;
    }
    cg_status st = cg_norm_init(norm, kinds[kind], n, n ? v : NULL, n ? v + n : NULL);
    cg__free(v);
    return st;
}

void cg_norm_apply(const struct cg_norm *norm, cg_float *x, size_t rows)
{
    size_t n;

    if (!norm || norm->n == 0 || !x)
        return;
    n = (size_t)norm->n;
    for (size_t r = 0; r < rows; r++, x += n)
        for (size_t j = 0; j < n; j++)
            x[j] = (x[j] - norm->offset[j]) * norm->scale[j];
}

/* ---- fitting -------------------------------------------------------------- */

/* Statistics per group: a group is a feature for tables, a channel for
 * images (feature j belongs to group j % groups). */
struct stats {
    int     groups;
    double *sum, *sq, *lo, *hi;
};

static void stats_pass(struct stats *st, const cg_dataset *ds, cg_float *row, bool second)
{
    size_t f = (size_t)ds->s->n_features;
    size_t g = (size_t)st->groups;

    for (size_t i = 0; i < ds->n; i++) {
        cg_dataset_row(ds, i, row);
        for (size_t j = 0; j < f; j++) {
            double v = (double)row[j];
            size_t k = j % g;
            if (!second) {
                st->sum[k] += v;
                st->lo[k] = v < st->lo[k] ? v : st->lo[k];
                st->hi[k] = v > st->hi[k] ? v : st->hi[k];
            } else {
                /* Two passes: sum of squared deviations from the mean, which
                 * keeps its precision where sum(x^2) - n mean^2 would not. */
                st->sq[k] += (v - st->sum[k]) * (v - st->sum[k]);
            }
        }
    }
}

/* Fill offset/scale of group k from its statistics (count values each). */
static void set_group(struct cg_norm *norm, const struct stats *st, int k, double count,
                      bool image)
{
    double off, scale;

    if (norm->kind == CG_NORM_ZSCORE) {
        double sd = sqrt(st->sq[k] / count);
        off = st->sum[k];
        /* A constant column has no spread: leave it centred, unscaled (on
         * the [0, 1] scale for images). */
        scale = sd > 0 ? 1.0 / sd : (image ? 1.0 / 255.0 : 1.0);
    } else if (image) {
        off = 0;
        scale = 1.0 / 255.0;
    } else {
        double range = st->hi[k] - st->lo[k];
        off = st->lo[k];
        scale = range > 0 ? 1.0 / range : 1.0;
    }
    for (int j = k; j < norm->n; j += st->groups) {
        norm->offset[j] = (cg_float)off;
        norm->scale[j] = (cg_float)scale;
    }
}

cg_status cg_norm_fit(struct cg_norm *norm, const cg_dataset *ds, cg_norm_kind kind)
{
    struct stats st = {0};
    cg_float *row = NULL;
    cg_status rc = CG_ERR_NOMEM;
    bool image;
    double count;

    if (!norm || !ds)
        return cg__fail(CG_ERR_ARG, "cg_norm_fit: NULL argument");
    memset(norm, 0, sizeof *norm);
    if (kind < CG_NORM_NONE || kind > CG_NORM_MINMAX)
        return cg__fail(CG_ERR_ARG, "cg_norm_fit: unknown kind %d", (int)kind);
    if (kind == CG_NORM_NONE)
        return CG_OK;
    if (ds->n == 0)
        return cg__fail(CG_ERR_ARG, "cg_norm_fit: the data set has no samples");
    image = ds->s->channels > 0;
    st.groups = image ? ds->s->channels : ds->s->n_features;
    st.sum = cg__calloc((size_t)st.groups, sizeof *st.sum);
    st.sq = cg__calloc((size_t)st.groups, sizeof *st.sq);
    st.lo = cg__calloc((size_t)st.groups, sizeof *st.lo);
    st.hi = cg__calloc((size_t)st.groups, sizeof *st.hi);
    row = cg__calloc((size_t)ds->s->n_features, sizeof *row);
    if (!st.sum || !st.sq || !st.lo || !st.hi || !row)
        goto out;
    for (int k = 0; k < st.groups; k++) {
        st.lo[k] = HUGE_VAL;
        st.hi[k] = -HUGE_VAL;
    }
    count = (double)ds->n * (double)(ds->s->n_features / st.groups);
    stats_pass(&st, ds, row, false);
    for (int k = 0; k < st.groups; k++)
        st.sum[k] /= count;           /* now the mean */
    if (kind == CG_NORM_ZSCORE)
        stats_pass(&st, ds, row, true);
    if (norm_alloc(norm, kind, ds->s->n_features) != CG_OK)
        goto out;
    for (int k = 0; k < st.groups; k++)
        set_group(norm, &st, k, count, image);
    rc = CG_OK;
out:
    cg__free(st.sum);
    cg__free(st.sq);
    cg__free(st.lo);
    cg__free(st.hi);
    cg__free(row);
    return rc;
}
