/*
 * Data sets: the shared sample store, the accessors, and stratified splits
 * into index views (no sample is copied).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "internal.h"

/* ---- store ---------------------------------------------------------------- */

struct cg__store *cg__store_new(void)
{
    struct cg__store *s = cg__calloc(1, sizeof *s);
    if (s)
        s->refs = 1;
    return s;
}

void cg__names_free(char **names, int n)
{
    if (!names)
        return;
    for (int i = 0; i < n; i++)
        cg__free(names[i]);
    cg__free(names);
}

void cg__store_release(struct cg__store *s)
{
    if (!s || --s->refs > 0)
        return;
    cg__free(s->u8);
    cg__free(s->f);
    cg__free(s->labels);
    cg__free(s->targets);
    cg__names_free(s->class_names, s->n_classes);
    cg__names_free(s->target_names, s->n_targets);
    cg__names_free(s->feature_names, s->n_features);
    cg__free(s->warning);
    cg__free(s);
}

cg_dataset *cg__dataset_wrap(struct cg__store *s)
{
    cg_dataset *ds = cg__calloc(1, sizeof *ds);
    if (!ds) {
        cg__store_release(s);
        return NULL;
    }
    ds->s = s;
    ds->n = s->n;
    return ds;
}

char **cg__names_numbered(int n)
{
    char **names = cg__calloc(n > 0 ? (size_t)n : 1, sizeof *names);
    char buf[24];

    if (!names)
        return NULL;
    for (int i = 0; i < n; i++) {
        snprintf(buf, sizeof buf, "%d", i);
        names[i] = cg__strdup(buf);
        if (!names[i]) {
            cg__names_free(names, i);
            return NULL;
        }
    }
    return names;
}

cg_status cg__store_warn(struct cg__store *s, size_t count, const char *what,
                         const char *first)
{
    char buf[640];

    s->skipped = count;
    if (count == 0)
        return CG_OK;
    snprintf(buf, sizeof buf, "skipped %zu %s; first: %s", count, what, first);
    s->warning = cg__strdup(buf);
    return s->warning ? CG_OK : CG_ERR_NOMEM;
}

/* ---- accessors ------------------------------------------------------------ */

void cg_dataset_free(cg_dataset *ds)
{
    if (!ds)
        return;
    cg__store_release(ds->s);
    cg__free(ds->idx);
    cg__free(ds);
}

size_t cg_dataset_size(const cg_dataset *ds)
{
    return ds ? ds->n : 0;
}

int cg_dataset_features(const cg_dataset *ds)
{
    return ds ? ds->s->n_features : 0;
}

cg_task cg_dataset_task(const cg_dataset *ds)
{
    return ds ? ds->s->task : CG_TASK_NONE;
}

int cg_dataset_classes(const cg_dataset *ds)
{
    return ds && ds->s->task == CG_TASK_CLASSIFY ? ds->s->n_classes : 0;
}

const char *cg_dataset_class_name(const cg_dataset *ds, int id)
{
    if (!ds || ds->s->task != CG_TASK_CLASSIFY || id < 0 || id >= ds->s->n_classes)
        return NULL;
    return ds->s->class_names[id];
}

int cg_dataset_targets(const cg_dataset *ds)
{
    return ds && ds->s->task == CG_TASK_REGRESS ? ds->s->n_targets : 0;
}

const char *cg_dataset_feature_name(const cg_dataset *ds, int j)
{
    if (!ds || !ds->s->feature_names || j < 0 || j >= ds->s->n_features)
        return NULL;
    return ds->s->feature_names[j];
}

const char *cg_dataset_target_name(const cg_dataset *ds, int k)
{
    if (!ds || !ds->s->target_names || k < 0 || k >= ds->s->n_targets)
        return NULL;
    return ds->s->target_names[k];
}

bool cg_dataset_image_shape(const cg_dataset *ds, int *width, int *height, int *channels)
{
    if (!ds || ds->s->channels == 0)
        return false;
    if (width)
        *width = ds->s->width;
    if (height)
        *height = ds->s->height;
    if (channels)
        *channels = ds->s->channels;
    return true;
}

int cg_dataset_label(const cg_dataset *ds, size_t i)
{
    if (!ds || ds->s->task != CG_TASK_CLASSIFY || i >= ds->n)
        return -1;
    return ds->s->labels[cg__ds_index(ds, i)];
}

cg_status cg_dataset_row(const cg_dataset *ds, size_t i, cg_float *x)
{
    size_t f, k;

    if (!ds || !x)
        return cg__fail(CG_ERR_ARG, "cg_dataset_row: NULL argument");
    if (i >= ds->n)
        return cg__fail(CG_ERR_ARG, "cg_dataset_row: sample %zu of %zu", i, ds->n);
    f = (size_t)ds->s->n_features;
    k = cg__ds_index(ds, i);
    if (ds->s->u8) {
        const uint8_t *src = ds->s->u8 + k * f;
        for (size_t j = 0; j < f; j++)
            x[j] = (cg_float)src[j];
    } else {
        memcpy(x, ds->s->f + k * f, f * sizeof *x);
    }
    return CG_OK;
}

cg_status cg_dataset_target_row(const cg_dataset *ds, size_t i, cg_float *y)
{
    size_t t;

    if (!ds || !y)
        return cg__fail(CG_ERR_ARG, "cg_dataset_target_row: NULL argument");
    if (ds->s->task != CG_TASK_REGRESS)
        return cg__fail(CG_ERR_ARG, "cg_dataset_target_row: not a regression data set");
    if (i >= ds->n)
        return cg__fail(CG_ERR_ARG, "cg_dataset_target_row: sample %zu of %zu", i, ds->n);
    t = (size_t)ds->s->n_targets;
    memcpy(y, ds->s->targets + cg__ds_index(ds, i) * t, t * sizeof *y);
    return CG_OK;
}

size_t cg_dataset_skipped(const cg_dataset *ds)
{
    return ds ? ds->s->skipped : 0;
}

const char *cg_dataset_warning(const cg_dataset *ds)
{
    return ds ? ds->s->warning : NULL;
}

/* ---- split ---------------------------------------------------------------- */

/* A view of ds holding the samples i (0..ds->n-1) with in_val[i] == want. */
static cg_dataset *make_view(const cg_dataset *ds, const bool *in_val, bool want,
                             size_t count)
{
    cg_dataset *v = cg__calloc(1, sizeof *v);
    size_t k = 0;

    if (!v)
        return NULL;
    v->idx = cg__calloc(count ? count : 1, sizeof *v->idx);
    if (!v->idx) {
        cg__free(v);
        return NULL;
    }
    for (size_t i = 0; i < ds->n; i++)
        if (in_val[i] == want)
            v->idx[k++] = cg__ds_index(ds, i);
    v->n = count;
    v->s = ds->s;
    ds->s->refs++;
    return v;
}

/* Mark round(frac * n) of the samples grp[0..n) for validation, drawn by a
 * Fisher-Yates shuffle of the group. Returns the number marked. */
static size_t draw_group(cg_rng *rng, size_t *grp, size_t n, double frac, bool *in_val)
{
    size_t k = (size_t)floor(frac * (double)n + 0.5);

    cg_rng_shuffle(rng, grp, n);
    for (size_t i = 0; i < k; i++)
        in_val[grp[i]] = true;
    return k;
}

cg_status cg_dataset_split(const cg_dataset *ds, double val_fraction, uint64_t seed,
                           cg_dataset **train, cg_dataset **val)
{
    cg_status st = CG_ERR_NOMEM;
    size_t *order = NULL, *start = NULL, n_val = 0;
    bool *in_val = NULL;
    int classes;
    cg_rng rng;

    if (train)
        *train = NULL;
    if (val)
        *val = NULL;
    if (!ds || !train || !val)
        return cg__fail(CG_ERR_ARG, "cg_dataset_split: NULL argument");
    if (!(val_fraction >= 0.0 && val_fraction < 1.0))
        return cg__fail(CG_ERR_ARG, "cg_dataset_split: validation fraction %g is not in [0, 1)",
                        val_fraction);
    classes = ds->s->task == CG_TASK_CLASSIFY ? ds->s->n_classes : 1;
    order = cg__calloc(ds->n ? ds->n : 1, sizeof *order);
    start = cg__calloc((size_t)classes + 1, sizeof *start);
    in_val = cg__calloc(ds->n ? ds->n : 1, sizeof *in_val);
    if (!order || !start || !in_val)
        goto out;
    /* Group the samples by class (a counting sort, stable), then draw the
     * validation part of each group with one generator, classes in order. */
    for (size_t i = 0; i < ds->n; i++)
        start[classes > 1 ? cg_dataset_label(ds, i) + 1 : 1]++;
    for (int c = 0; c < classes; c++)
        start[c + 1] += start[c];
    for (size_t i = 0; i < ds->n; i++)
        order[start[classes > 1 ? cg_dataset_label(ds, i) : 0]++] = i;
    cg_rng_seed(&rng, seed);
    for (int c = 0; c < classes; c++) {
        size_t end = start[c], begin = c == 0 ? 0 : start[c - 1];
        n_val += draw_group(&rng, order + begin, end - begin, val_fraction, in_val);
    }
    *train = make_view(ds, in_val, false, ds->n - n_val);
    *val = make_view(ds, in_val, true, n_val);
    if (!*train || !*val) {
        cg_dataset_free(*train);
        cg_dataset_free(*val);
        *train = *val = NULL;
        goto out;
    }
    st = CG_OK;
out:
    cg__free(order);
    cg__free(start);
    cg__free(in_val);
    return st;
}

bool cg_data_reads_file(const char *data, const char *file)
{
    struct stat st;

    if (!data || !file)
        return false;
    if (cg_same_file(data, file))
        return true;
    if (stat(data, &st) != 0 || !S_ISDIR(st.st_mode))
        return false;
    return cg__idx_dir_reads(data, file) || cg__image_folder_reads(data, file);
}
