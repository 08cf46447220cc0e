/*
 * A run's settings as metadata, the model file, and the history as text.
 *
 * The model file and every checkpoint carry the same metadata: the model
 * file's own keys (task, classes, normalization; nn/nn.h), the caller's
 * facts (settings.meta, e.g. the CLI's data path) and the settings that
 * decide the bits of the result (loss, optimizer, batch, seed, ...). Only
 * facts that do not depend on how the run was split into sessions go in,
 * so a resumed run writes the same model file as an unbroken one; a resume
 * is refused when one of them differs (checkpoint.c).
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* ---- the settings as metadata ------------------------------------------------- */

/* Keys the library writes besides the model file's own: a caller's key may
 * not be one of them. */
static const char *const library_keys[] = {
    "val_split", "normalize", "optimizer", "loss", "batch", "seed", "shuffle", "schedule",
    "warmup", "clip_norm", "clip_value", "restore_best", "epochs", "steps", "best_epoch",
    "format", "version", "spec", "input_size", "task", "classes", "features", "normalization",
    "deterministic", "processes",
};

static bool is_library_key(const char *key)
{
    for (size_t i = 0; i < sizeof library_keys / sizeof library_keys[0]; i++)
        if (strcmp(key, library_keys[i]) == 0)
            return true;
    return strncmp(key, "checkpoint.", 11) == 0;
}

static void add(struct cg__meta *m, const char *key, const char *value)
{
    m->kv[m->n++] = (struct cg_meta_kv){key, value};
}

/* A number's text, kept in m (metadata values are borrowed pointers). */
static const char *num(struct cg__meta *m, const char *fmt, ...) CG__PRINTF(2, 3);
static const char *num(struct cg__meta *m, const char *fmt, ...)
{
    char *t = m->num[m->n_num++];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t, sizeof m->num[0], fmt, ap);
    va_end(ap);
    return t;
}

/* The schedule's kind and the parameters that shape it; not t_max, which
 * follows the number of epochs, and not the base rate, which the
 * optimizer's text holds. The names are those of `cgrad train --schedule`. */
static void schedule_text(char *buf, size_t n, const struct cg_schedule *s)
{
    switch (s->kind) {
    case CG_SCHEDULE_STEP:
        snprintf(buf, n, "step gamma=%g step_size=%" PRId64, s->gamma, s->step_size);
        break;
    case CG_SCHEDULE_EXPONENTIAL:
        snprintf(buf, n, "exp gamma=%g", s->gamma);
        break;
    case CG_SCHEDULE_COSINE:
        if (s->eta_min != 0)
            snprintf(buf, n, "cosine eta_min=%g", s->eta_min);
        else
            snprintf(buf, n, "cosine");
        break;
    default:
        snprintf(buf, n, "none");
    }
}

/* The class names of the model file: the settings', else the data set's. */
static cg_status class_names(struct cg__meta *m, const struct cg__fit *f)
{
    if (cg_dataset_task(f->train) != CG_TASK_CLASSIFY)
        return CG_OK;
    m->n_classes = f->s->class_names ? f->s->n_class_names : cg_dataset_classes(f->train);
    if (!(m->classes = cg__calloc((size_t)m->n_classes + 1, sizeof *m->classes)))
        return CG_ERR_NOMEM;
    for (int c = 0; c < m->n_classes; c++)
        m->classes[c] = f->s->class_names ? f->s->class_names[c]
                                          : cg_dataset_class_name(f->train, c);
    return CG_OK;
}

/* The input columns' names (a CSV table's header), so that predict finds
 * the columns by name in a file that has more of them; none for images. */
static cg_status feature_names(struct cg__meta *m, const struct cg__fit *f)
{
    int n = cg_dataset_features(f->train);
    if (n <= 0 || !cg_dataset_feature_name(f->train, 0))
        return CG_OK;
    if (!(m->features = cg__calloc((size_t)n, sizeof *m->features)))
        return CG_ERR_NOMEM;
    for (int j = 0; j < n; j++)
        m->features[j] = cg_dataset_feature_name(f->train, j);
    m->n_features = n;
    return CG_OK;
}

/* The model file's normalization text. */
static cg_status norm_text(struct cg__meta *m, const struct cg_norm *norm)
{
    size_t len = cg_norm_print(norm, NULL, 0);
    if (!(m->norm_text = cg__malloc(len + 1)))
        return CG_ERR_NOMEM;
    cg_norm_print(norm, m->norm_text, len + 1);
    return CG_OK;
}

/* The caller's keys, checked: present, not the library's, not repeated. */
static cg_status caller_keys(struct cg__meta *m, const struct cg_fit_settings *s)
{
    if (s->n_meta < 0 || s->n_meta > CG__META_CALLER || (s->n_meta && !s->meta))
        return cg__fail(CG_ERR_ARG, "cg_fit: %d metadata entries (0 to %d)", s->n_meta,
                        CG__META_CALLER);
    for (int i = 0; i < s->n_meta; i++) {
        const struct cg_meta_kv *kv = &s->meta[i];
        if (!kv->key || !kv->value)
            return cg__fail(CG_ERR_ARG, "cg_fit: metadata entry %d has a NULL key or value", i);
        if (is_library_key(kv->key))
            return cg__fail(CG_ERR_ARG, "cg_fit: metadata key \"%s\" is cgrad's own", kv->key);
        for (int j = 0; j < i; j++)
            if (strcmp(kv->key, s->meta[j].key) == 0)
                return cg__fail(CG_ERR_ARG, "cg_fit: metadata key \"%s\" appears twice",
                                kv->key);
        add(m, kv->key, kv->value);
    }
    return CG_OK;
}

cg_status cg__meta_build(struct cg__fit *f)
{
    struct cg__meta *m = &f->meta;
    const struct cg_fit_settings *s = f->s;
    cg_status st;

    if ((st = caller_keys(m, s)) != CG_OK || (st = class_names(m, f)) != CG_OK ||
        (st = feature_names(m, f)) != CG_OK || (st = norm_text(m, &f->r->norm)) != CG_OK)
        return st;
    m->task = cg_dataset_task(f->train) == CG_TASK_CLASSIFY ? "classification" : "regression";
    cg_model_spec(f->model, m->spec, sizeof m->spec);
    cg_optim_describe(f->opt, m->optim, sizeof m->optim);
    schedule_text(m->schedule, sizeof m->schedule, &f->sched);
    add(m, "val_split", num(m, "%g", s->val_split));
    add(m, "normalize", cg_norm_kind_name(f->r->norm.kind));
    add(m, "optimizer", m->optim);
    add(m, "loss", s->loss == CG_LOSS_MSE ? "mse" : "ce");
    add(m, "batch", num(m, "%d", s->batch));
    add(m, "seed", num(m, "%" PRIu64, s->seed));
    add(m, "shuffle", s->shuffle ? "yes" : "no");
    add(m, "schedule", m->schedule);
    add(m, "warmup", num(m, "%ld", s->warmup));
    add(m, "clip_norm", num(m, "%g", s->clip_norm));
    add(m, "clip_value", num(m, "%g", s->clip_value));
    /* Only when set, so that files written without it say nothing new;
     * a resume that turns it on finds no best weights and is refused. */
    if (s->restore_best)
        add(m, "restore_best", "yes");
    /* The same: it decides the sums' order (dist.h). */
    if (s->deterministic)
        add(m, "deterministic", "yes");
    return CG_OK;
}

void cg__meta_deinit(struct cg__meta *m)
{
    cg__free(m->classes);
    cg__free(m->features);
    cg__free(m->norm_text);
    memset(m, 0, sizeof *m);
}

int cg__meta_fixed_count(const struct cg__fit *f)
{
    return 2 + f->meta.n;
}

struct cg_meta_kv cg__meta_fixed(const struct cg__fit *f, int i)
{
    if (i == 0)
        return (struct cg_meta_kv){"spec", f->meta.spec};
    if (i == 1)
        return (struct cg_meta_kv){"task", f->meta.task};
    return f->meta.kv[i - 2];
}

/* ---- the model file ---------------------------------------------------------------- */

cg_status cg__save_model(const struct cg__fit *f, const char *path,
                         const struct cg_named_tensor *extra, int n_extra,
                         const struct cg_meta_kv *more_kv, int n_more)
{
    const struct cg__meta *m = &f->meta;
    struct cg_meta_kv kv[CG__META_MAX + 16];
    char epochs[24], steps[24], best[24], procs[24];
    int n = 0;

    for (int i = 0; i < m->n; i++)
        kv[n++] = m->kv[i];
    if (n_more) {   /* a checkpoint: its state, not how far a model file got */
        for (int i = 0; i < n_more && n < CG__META_MAX + 16; i++)
            kv[n++] = more_kv[i];
    } else {
        snprintf(epochs, sizeof epochs, "%d", f->st.epoch);
        snprintf(steps, sizeof steps, "%ld", f->st.step);
        kv[n++] = (struct cg_meta_kv){"epochs", epochs};
        kv[n++] = (struct cg_meta_kv){"steps", steps};
        if (f->r->restored) {
            snprintf(best, sizeof best, "%d", f->st.best_epoch);
            kv[n++] = (struct cg_meta_kv){"best_epoch", best};
        }
        /* How many processes trained it (its last session), when more
         * than one: a checkpoint resumes with any number (dist.h). */
        if (cg_dist_size(f->s->dist) > 1) {
            snprintf(procs, sizeof procs, "%d", cg_dist_size(f->s->dist));
            kv[n++] = (struct cg_meta_kv){"processes", procs};
        }
    }
    struct cg_model_meta mm = {0};
    mm.task = m->task;
    mm.classes = m->classes;
    mm.n_classes = m->classes ? m->n_classes : 0;
    mm.features = m->features;
    mm.n_features = m->n_features;
    mm.normalization = m->norm_text;
    mm.extra = kv;
    mm.n_extra = n;
    cg_status st = cg_model_save_extra(f->model, path, &mm, extra, n_extra);
    if (st != CG_OK && st != CG_ERR_NOMEM && !strstr(cg_errmsg(), path))
        cg__errmsg_prefix("%s", path);
    return st;
}

/* ---- the history ------------------------------------------------------------------- */

cg_status cg__history_add(struct cg__fit *f, const struct cg_fit_epoch *row)
{
    struct cg_fit_result *r = f->r;
    if (r->n_history == f->hist_cap) {
        int cap = f->hist_cap ? 2 * f->hist_cap : 16;
        struct cg_fit_epoch *h = cg__realloc(r->history, (size_t)f->hist_cap * sizeof *h,
                                             (size_t)cap * sizeof *h);
        if (!h)
            return CG_ERR_NOMEM;
        r->history = h;
        f->hist_cap = cap;
    }
    r->history[r->n_history++] = *row;
    return CG_OK;
}

#define HISTORY_HEADER "epoch,step,lr,train_loss,train_acc,val_loss,val_acc,seconds,skipped\n"

/* A figure with every digit, or nothing for NaN. */
static size_t put_num(char *buf, size_t n, double v)
{
    return (size_t)(isnan(v) ? snprintf(buf, n, ",") : snprintf(buf, n, ",%.17g", v));
}

char *cg__history_text(const struct cg_fit_epoch *rows, int n)
{
    size_t cap = sizeof HISTORY_HEADER + (size_t)n * 200, used;
    char *buf = cg__malloc(cap);
    if (!buf)
        return NULL;
    used = (size_t)snprintf(buf, cap, "%s", HISTORY_HEADER);
    for (int i = 0; i < n; i++) {
        const struct cg_fit_epoch *r = &rows[i];
        used += (size_t)snprintf(buf + used, cap - used, "%d,%ld", r->epoch, r->step);
        used += put_num(buf + used, cap - used, r->lr);
        used += put_num(buf + used, cap - used, r->train_loss);
        used += put_num(buf + used, cap - used, r->train_acc);
        used += put_num(buf + used, cap - used, r->val_loss);
        used += put_num(buf + used, cap - used, r->val_acc);
        used += put_num(buf + used, cap - used, r->seconds);
        used += (size_t)snprintf(buf + used, cap - used, ",%ld\n", r->skipped);
    }
    return buf;
}

/* The fields of one row at *p, up to max, into v: each the whole field a
 * number, or NaN when empty; *p then at the row's end ('\n' or the end of
 * the text). The count of fields, or -1 for anything else (text after a
 * number, too many fields). */
static int row_fields(const char **p, double *v, int max)
{
    for (int n = 0; n < max;) {
        double x = (double)NAN;
        if (**p != ',' && **p != '\n' && **p) {
            char *end;
            x = strtod(*p, &end);
            if (end == *p)
                return -1;
            *p = end;
        }
        v[n++] = x;
        if (**p == ',')
            (*p)++;
        else
            return **p == '\n' || !**p ? n : -1;
    }
    return -1;
}

/* A whole number in [lo, hi]. */
static bool whole(double v, double lo, double hi)
{
    return v >= lo && v <= hi && v == floor(v);
}

cg_status cg__history_parse(struct cg__fit *f, const char *text)
{
    const char *p = strchr(text, '\n');
    long last_step = 0;

    /* p is at a row's '\n', or at the text's end after the last row */
    while (p && *p == '\n' && p[1]) {
        p++;
        double v[9];
        int n = row_fields(&p, v, 9), row = f->r->n_history + 1;
        /* 8 columns (before "skipped" was added) or 9; epochs 1, 2, ...
         * in order, steps never going back */
        if ((n != 8 && n != 9) || !whole(v[0], row, row) || !whole(v[1], (double)last_step, 9e15) ||
            (n == 9 && !whole(v[8], 0, 9e15)))
            return cg__fail(CG_ERR_FORMAT, "metadata 'checkpoint.history': row %d is not the "
                            "history row of epoch %d", row, row);
        struct cg_fit_epoch r = {(int)v[0], (long)v[1], v[2], v[3], v[4], v[5], v[6], v[7],
                                 n == 9 ? (long)v[8] : 0};
        last_step = r.step;
        if (cg__history_add(f, &r) != CG_OK)
            return CG_ERR_NOMEM;
    }
    return CG_OK;
}
