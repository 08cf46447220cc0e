/*
 * Checkpoints: save a run and resume it bit for bit.
 *
 * A checkpoint is a model file (so eval, predict and info read it) with
 * more tensors and keys: the optimizer's state tensors as "optim.<name>",
 * the best epoch's parameters as "best.params" (restore_best), and where
 * the run stands under "checkpoint.*": step, epochs, the optimizer's step
 * count, the loader's position and random state, the dropout generator,
 * the running sums of the epoch under way, the best validation loss so far
 * and the history of every epoch.
 *
 * Resuming rebuilds everything as a new run would (data, model, optimizer,
 * loader, all from the same settings), refuses if a setting that shapes the
 * result differs, then overwrites the parameters, the optimizer's state and
 * counters, the loader's position and random state and the dropout
 * generator from the file. Since the loader's order for an epoch is derived
 * from its saved generator state and every other random draw comes from
 * saved generators, the resumed run takes exactly the steps the unbroken
 * one would have; and since the epoch's sums are saved, its figures too.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define OPTIM_PREFIX "optim."
#define BEST_TENSOR  "best.params"

/* ---- save ------------------------------------------------------------------- */

/* The "checkpoint.*" texts of a save. */
struct state_text {
    char step[24], epoch[24], osteps[24], loader[160], dropout[64], sums[160], best[64];
    char *history;
};

static cg_status state_text(struct cg__fit *f, struct state_text *t, struct cg_meta_kv *kv)
{
    const struct cg__state *s = &f->st;
    const struct cg_loader_state *l = &s->loader;
    if (!(t->history = cg__history_text(f->r->history, f->r->n_history)))
        return CG_ERR_NOMEM;
    snprintf(t->step, sizeof t->step, "%ld", s->step);
    snprintf(t->epoch, sizeof t->epoch, "%d", s->epoch);
    snprintf(t->osteps, sizeof t->osteps, "%" PRId64, cg_optim_steps(f->opt));
    snprintf(t->loader, sizeof t->loader,
             "%" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64, l->epoch, l->position,
             l->rng.state, l->rng.inc, l->n);
    snprintf(t->dropout, sizeof t->dropout, "%" PRIu64 " %" PRIu64, s->dropout.state,
             s->dropout.inc);
    snprintf(t->sums, sizeof t->sums, "%.17g %ld %ld %ld %.17g", s->loss_sum, s->correct,
             s->rows, s->skipped, s->seconds);
    snprintf(t->best, sizeof t->best, "%d %.17g", s->best_epoch, s->best_loss);
    kv[0] = (struct cg_meta_kv){"checkpoint.step", t->step};
    kv[1] = (struct cg_meta_kv){"checkpoint.epoch", t->epoch};
    kv[2] = (struct cg_meta_kv){"checkpoint.optim_steps", t->osteps};
    kv[3] = (struct cg_meta_kv){"checkpoint.loader", t->loader};
    kv[4] = (struct cg_meta_kv){"checkpoint.dropout_rng", t->dropout};
    kv[5] = (struct cg_meta_kv){"checkpoint.epoch_sums", t->sums};
    kv[6] = (struct cg_meta_kv){"checkpoint.best", t->best};
    kv[7] = (struct cg_meta_kv){"checkpoint.history", t->history};
    return CG_OK;
}

cg_status cg__checkpoint_save(struct cg__fit *f, const char *path)
{
    int n_state = cg_optim_state_count(f->opt), n = 0;
    struct cg_named_tensor *tensors = cg__calloc((size_t)n_state + 2, sizeof *tensors);
    char **names = cg__calloc((size_t)n_state + 1, sizeof *names);
    struct state_text text = {0};
    struct cg_meta_kv kv[8];
    cg_status st = CG_ERR_NOMEM;

    f->st.loader = cg_loader_state(f->loader);
    f->st.dropout = f->eng.dropout_rng;
    f->st.seconds = cg__fit_now() - f->epoch_t0;
    if (!tensors || !names)
        goto out;
    for (int i = 0; i < n_state; i++) {
        const char *name = NULL;
        cg_tensor *t = cg_optim_state_tensor(f->opt, i, &name);
        size_t len = strlen(OPTIM_PREFIX) + strlen(name) + 1;
        if (!(names[i] = cg__malloc(len)))
            goto out;
        snprintf(names[i], len, "%s%s", OPTIM_PREFIX, name);
        tensors[n++] = (struct cg_named_tensor){names[i], t};
    }
    if (f->best && f->st.best_epoch > 0)
        tensors[n++] = (struct cg_named_tensor){BEST_TENSOR, f->best};
    if ((st = state_text(f, &text, kv)) == CG_OK)
        st = cg__save_model(f, path, tensors, n, kv, 8);
out:
    for (int i = 0; names && i < n_state; i++)
        cg__free(names[i]);
    cg__free(names);
    cg__free(tensors);
    cg__free(text.history);
    return st;
}

/* ---- restore ------------------------------------------------------------------ */

/* The settings of the run against those of the checkpoint. */
static cg_status check_settings(const struct cg__fit *f, const cg_safetensors *ck,
                                const char *path)
{
    for (int i = 0; i < cg__meta_fixed_count(f); i++) {
        struct cg_meta_kv now = cg__meta_fixed(f, i);
        const char *then = cg_safetensors_meta(ck, now.key);
        if (!then)
            then = "";
        if (strcmp(now.value, then) != 0)
            return cg__fail(CG_ERR_STATE, "%s: cannot resume: %s changed ('%s' in the "
                            "checkpoint, '%s' now); a resumed run must keep it", path,
                            cg__fit_name(f, now.key), then, now.value);
    }
    /* Recorded only when on, so the loop above sees it turned on, not off. */
    if (!f->s->deterministic && cg_safetensors_meta(ck, "deterministic"))
        return cg__fail(CG_ERR_STATE, "%s: cannot resume: %s changed ('yes' in the "
                        "checkpoint, '' now); a resumed run must keep it", path,
                        cg__fit_name(f, "deterministic"));
    return CG_OK;
}

static cg_status bad_key(const char *path, const char *key)
{
    return cg__fail(CG_ERR_FORMAT, "%s: not a cgrad checkpoint (bad or missing metadata '%s')",
                    path, key);
}

/* Whole numbers from text: n of them, each in [0, max], nothing after. */
static bool read_counts(const char *text, uint64_t *out, int n, uint64_t max)
{
    const char *p = text;
    for (int i = 0; p && i < n; i++) {
        char *end;
        while (*p == ' ')
            p++;
        errno = 0;
        unsigned long long v = strtoull(p, &end, 10);
        if (end == p || *p == '-' || errno == ERANGE || v > max)
            return false;
        out[i] = v;
        p = end;
    }
    return p && *p == '\0';
}

/* A key of whole numbers. */
static cg_status read_key(const cg_safetensors *ck, const char *path, const char *key,
                          uint64_t *out, int n, uint64_t max)
{
    const char *v = cg_safetensors_meta(ck, key);
    return v && read_counts(v, out, n, max) ? CG_OK : bad_key(path, key);
}

/* Numbers from text: n of them, nothing after ("nan" and "inf" read too). */
static bool read_doubles(const char *text, double *out, int n)
{
    const char *p = text;
    for (int i = 0; i < n; i++) {
        char *end;
        out[i] = strtod(p, &end);
        if (end == p)
            return false;
        p = end;
    }
    return *p == '\0';
}

/* A count read as a double: whole, in [0, max]. */
static bool is_count(double v, double max)
{
    return v >= 0 && v <= max && v == (double)(long)v;
}

/* The epoch's running sums and the best validation loss: absent from
 * checkpoints written before they were kept, which resume as then did. */
static cg_status read_sums(struct cg__state *s, const cg_safetensors *ck, const char *path)
{
    double v[5];
    const char *text = cg_safetensors_meta(ck, "checkpoint.epoch_sums");
    if (text) {
        if (!read_doubles(text, v, 5) || !is_count(v[1], 1e15) || !is_count(v[2], 1e15) ||
            !is_count(v[3], 1e15) || v[1] > v[2])
            return bad_key(path, "checkpoint.epoch_sums");
        s->loss_sum = v[0];
        s->correct = (long)v[1];
        s->rows = (long)v[2];
        s->skipped = (long)v[3];
        s->seconds = v[4];
    }
    text = cg_safetensors_meta(ck, "checkpoint.best");
    if (text) {
        if (!read_doubles(text, v, 2) || !is_count(v[0], s->epoch))
            return bad_key(path, "checkpoint.best");
        s->best_epoch = (int)v[0];
        s->best_loss = v[1];
    }
    return CG_OK;
}

/* The largest step and epoch counts a checkpoint may hold: far beyond any
 * run, and far from overflowing when a run counts on from them. */
#define MAX_STEPS  (UINT64_C(1) << 53)
#define MAX_EPOCHS 1000000000u

/* The run state from the metadata, every counter range-checked. */
static cg_status read_state(struct cg__fit *f, const cg_safetensors *ck, const char *path,
                            int64_t *optim_steps)
{
    struct cg__state *s = &f->st;
    uint64_t v[5];
    cg_status st;
    if ((st = read_key(ck, path, "checkpoint.step", v, 1, MAX_STEPS)) != CG_OK)
        return st;
    s->step = (long)v[0];
    if ((st = read_key(ck, path, "checkpoint.epoch", v, 1, MAX_EPOCHS)) != CG_OK)
        return st;
    s->epoch = (int)v[0];
    if ((st = read_key(ck, path, "checkpoint.optim_steps", v, 1, MAX_STEPS)) != CG_OK)
        return st;
    *optim_steps = (int64_t)v[0];
    if ((st = read_key(ck, path, "checkpoint.loader", v, 5, UINT64_MAX)) != CG_OK)
        return st;
    s->loader = (struct cg_loader_state){v[0], v[1], {v[2], v[3]}, v[4]};
    if ((st = read_key(ck, path, "checkpoint.dropout_rng", v, 2, UINT64_MAX)) != CG_OK)
        return st;
    s->dropout = (cg_rng){v[0], v[1]};
    if ((st = read_sums(s, ck, path)) != CG_OK)
        return st;
    const char *h = cg_safetensors_meta(ck, "checkpoint.history");
    if (!h)
        return bad_key(path, "checkpoint.history");
    if ((st = cg__history_parse(f, h)) != CG_OK) {
        if (st != CG_ERR_NOMEM)
            cg__errmsg_prefix("%s", path);
        return st;
    }
    /* one row per finished epoch, none past the run's step */
    const struct cg_fit_result *r = f->r;
    if (r->n_history != s->epoch ||
        (r->n_history > 0 && r->history[r->n_history - 1].step > s->step))
        return cg__fail(CG_ERR_FORMAT, "%s: metadata 'checkpoint.history' has %d rows, ending "
                        "at step %ld, for %d finished epochs at step %ld", path, r->n_history,
                        r->n_history > 0 ? r->history[r->n_history - 1].step : 0L, s->epoch,
                        s->step);
    return CG_OK;
}

/* Copy the tensor called name from the checkpoint into t (same size). */
static cg_status read_tensor(const cg_safetensors *ck, const char *path, const char *name,
                             cg_tensor *t)
{
    if (!cg_safetensors_has(ck, name))
        return cg__fail(CG_ERR_FORMAT, "%s: no tensor '%s' (was the checkpoint written with "
                        "other settings?)", path, name);
    const cg_tensor *src = cg_safetensors_get(ck, name);
    if (src->size != t->size)
        return cg__fail(CG_ERR_FORMAT, "%s: '%s' has %zu values, expected %zu", path, name,
                        src->size, t->size);
    cg_tensor_copy(t, src);
    return CG_OK;
}

/* The optimizer's state tensors and, with restore_best, the best weights. */
static cg_status read_tensors(struct cg__fit *f, const cg_safetensors *ck, const char *path)
{
    cg_status st;
    for (int i = 0; i < cg_optim_state_count(f->opt); i++) {
        const char *name = NULL;
        cg_tensor *t = cg_optim_state_tensor(f->opt, i, &name);
        char key[128];
        snprintf(key, sizeof key, "%s%s", OPTIM_PREFIX, name);
        if ((st = read_tensor(ck, path, key, t)) != CG_OK)
            return st;
    }
    if (f->best && f->st.best_epoch > 0)
        return read_tensor(ck, path, BEST_TENSOR, f->best);
    return CG_OK;
}

cg_status cg__checkpoint_restore(struct cg__fit *f, const char *path)
{
    int64_t optim_steps = 0;
    cg_status st;
    cg_safetensors *ck = cg_safetensors_load(path);

    if (!ck) {
        if (!strstr(cg_errmsg(), path))
            cg__errmsg_prefix("%s", path);
        return cg_errcode();
    }
    if (!cg_safetensors_meta(ck, "checkpoint.step")) {
        st = cg__fail(CG_ERR_FORMAT, "%s: not a checkpoint (it holds no training state: a "
                      "model file?)", path);
        goto out;
    }
    if ((st = check_settings(f, ck, path)) != CG_OK ||
        (st = read_state(f, ck, path, &optim_steps)) != CG_OK ||
        (st = read_tensors(f, ck, path)) != CG_OK)
        goto out;
    if ((st = cg_model_load_weights(f->model, path)) != CG_OK ||
        (st = cg_optim_set_steps(f->opt, optim_steps)) != CG_OK)
        goto out;
    f->eng.dropout_rng = f->st.dropout;
    if ((st = cg_loader_restore(f->loader, &f->st.loader)) != CG_OK)
        cg__errmsg_prefix("%s", path);
out:
    cg_safetensors_free(ck);
    return st;
}
