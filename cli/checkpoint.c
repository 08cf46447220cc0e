/*
 * Checkpoints: save and resume a training run bit for bit (checkpoint.h).
 *
 * Resuming rebuilds everything as a new run would (data, model, optimizer,
 * loader, all from the same settings), then overwrites the parameters, the
 * optimizer state and counters, the loader's position and random state and
 * the dropout generator from the file. Since the loader's order for an
 * epoch is derived from its saved generator state and every other random
 * draw comes from saved generators, the resumed run takes exactly the steps
 * the unbroken one would have.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"

const struct cli_fixed_setting cli_fixed_settings[] = {
    {"spec", "the model (--hidden, --act, --dropout)"},
    {"data", "DATA"},
    {"data_format", "--format"},
    {"label", "--label"},
    {"task", "--task"},
    {"test", "--test"},
    {"val_split", "--val-split"},
    {"normalize", "--normalize"},
    {"image_size", "--image-size / --grayscale / --rgb"},
    {"optimizer", "the optimizer or its settings (--optim, --lr, --momentum, ...)"},
    {"loss", "--loss"},
    {"batch", "--batch"},
    {"seed", "--seed"},
    {"shuffle", "--no-shuffle"},
    {"schedule", "--schedule"},
    {"warmup", "--warmup"},
    {"clip_norm", "--clip-norm"},
    {"clip_value", "--clip-value"},
};
const int cli_n_fixed_settings = (int)(sizeof cli_fixed_settings / sizeof cli_fixed_settings[0]);

#define OPTIM_PREFIX "optim."

/* ---- save ----------------------------------------------------------------- */

int cli_checkpoint_save(const char *path, cg_model *m, cg_optim *opt,
                        const struct cg_meta_kv *meta, int n_meta,
                        const struct cli_run_state *state, const struct cli_history *h)
{
    int n_params = 0;
    const struct cg_param *params = cg_model_params(m, &n_params);
    int n_state = cg_optim_state_count(opt);
    int n_tensors = n_params + n_state;
    struct cg_named_tensor *tensors = calloc((size_t)n_tensors + 1, sizeof *tensors);
    char **names = calloc((size_t)n_state + 1, sizeof *names);
    struct cg_meta_kv *kv = calloc((size_t)n_meta + 8, sizeof *kv);
    char *history = cli_history_csv(h);
    char step[32], epoch[32], loader[160], dropout[64], osteps[32];
    int rc = CLI_RUNTIME;

    if (!tensors || !names || !kv || !history) {
        cli_error("%s: out of memory", path);
        goto out;
    }
    for (int i = 0; i < n_params; i++)
        tensors[i] = (struct cg_named_tensor){params[i].name, params[i].tensor};
    for (int i = 0; i < n_state; i++) {
        const char *name = NULL;
        cg_tensor *t = cg_optim_state_tensor(opt, i, &name);
        size_t len = strlen(OPTIM_PREFIX) + strlen(name) + 1;
        if (!(names[i] = malloc(len))) {
            cli_error("%s: out of memory", path);
            goto out;
        }
        snprintf(names[i], len, "%s%s", OPTIM_PREFIX, name);
        tensors[n_params + i] = (struct cg_named_tensor){names[i], t};
    }
    snprintf(step, sizeof step, "%ld", state->step);
    snprintf(epoch, sizeof epoch, "%d", state->epoch);
    snprintf(osteps, sizeof osteps, "%" PRId64, cg_optim_steps(opt));
    snprintf(loader, sizeof loader, "%" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64,
             state->loader.epoch, state->loader.position, state->loader.rng.state,
             state->loader.rng.inc, state->loader.n);
    snprintf(dropout, sizeof dropout, "%" PRIu64 " %" PRIu64, state->dropout.state,
             state->dropout.inc);
    memcpy(kv, meta, (size_t)n_meta * sizeof *kv);
    int n = n_meta;
    kv[n++] = (struct cg_meta_kv){"checkpoint.step", step};
    kv[n++] = (struct cg_meta_kv){"checkpoint.epoch", epoch};
    kv[n++] = (struct cg_meta_kv){"checkpoint.optim_steps", osteps};
    kv[n++] = (struct cg_meta_kv){"checkpoint.loader", loader};
    kv[n++] = (struct cg_meta_kv){"checkpoint.dropout_rng", dropout};
    kv[n++] = (struct cg_meta_kv){"checkpoint.history", history};
    if (cg_safetensors_save(path, tensors, n_tensors, kv, n) != CG_OK) {
        const char *msg = cg_errmsg();
        cli_error("%s%s%s", strstr(msg, path) ? "" : path, strstr(msg, path) ? "" : ": ", msg);
        goto out;
    }
    rc = CLI_OK;
out:
    for (int i = 0; names && i < n_state; i++)
        free(names[i]);
    free(names);
    free(tensors);
    free(kv);
    free(history);
    return rc;
}

/* ---- restore ---------------------------------------------------------------- */

static const char *meta_value(const struct cg_meta_kv *meta, int n, const char *key)
{
    for (int i = 0; i < n; i++)
        if (strcmp(meta[i].key, key) == 0)
            return meta[i].value;
    return NULL;
}

/* The settings of the run against those of the checkpoint. */
static int check_settings(const cg_safetensors *ck, const char *path,
                          const struct cg_meta_kv *meta, int n_meta)
{
    for (int i = 0; i < cli_n_fixed_settings; i++) {
        const char *key = cli_fixed_settings[i].key;
        const char *now = meta_value(meta, n_meta, key);
        const char *then = cg_safetensors_meta(ck, key);
        if (!now)
            now = "";
        if (!then)
            then = "";
        if (strcmp(now, then) != 0)
            return cli_error("%s: cannot resume: %s changed ('%s' in the checkpoint, '%s' now); "
                             "a resumed run must keep it", path, cli_fixed_settings[i].option,
                             then, now);
    }
    return CLI_OK;
}

static int bad_key(const char *path, const char *key)
{
    return cli_error("%s: not a cgrad checkpoint (bad or missing metadata '%s')", path, key);
}

/* A checkpoint's counter: the whole text a decimal integer in [lo, hi]
 * (a crafted 2^63-1 overflowed the step count, an epoch of -3 was taken). */
static bool read_count(const cg_safetensors *ck, const char *key, uint64_t lo, uint64_t hi,
                       uint64_t *out)
{
    const char *v = cg_safetensors_meta(ck, key);
    char *end;
    if (!v || *v < '0' || *v > '9')
        return false;
    errno = 0;
    unsigned long long x = strtoull(v, &end, 10);
    if (errno || *end || x < lo || x > hi)
        return false;
    *out = x;
    return true;
}

/* "a b c ..." of n unsigned 64-bit numbers, exactly n. */
static bool read_u64s(const cg_safetensors *ck, const char *key, uint64_t *x, int n)
{
    const char *v = cg_safetensors_meta(ck, key);
    for (int i = 0; v && i < n; i++) {
        char *end;
        if (*v < '0' || *v > '9')
            return false;
        errno = 0;
        x[i] = strtoull(v, &end, 10);
        if (errno || (*end != ' ' && *end) || (*end == ' ') != (i + 1 < n))
            return false;
        v = *end ? end + 1 : end;
    }
    return v != NULL;
}

/* The run state and history from the metadata. Counters are bounded by
 * what a run can reach: 2^53 steps (CG_OPTIM_MAX_STEPS), 10^7 epochs. */
static int read_state(const cg_safetensors *ck, const char *path, struct cli_run_state *st,
                      int64_t *optim_steps, struct cli_history *h)
{
    uint64_t v, x[5];
    if (!read_count(ck, "checkpoint.step", 0, CG_OPTIM_MAX_STEPS, &v))
        return bad_key(path, "checkpoint.step");
    st->step = (long)v;
    if (!read_count(ck, "checkpoint.epoch", 0, 10000000, &v))
        return bad_key(path, "checkpoint.epoch");
    st->epoch = (int)v;
    if (!read_count(ck, "checkpoint.optim_steps", 0, CG_OPTIM_MAX_STEPS, &v))
        return bad_key(path, "checkpoint.optim_steps");
    *optim_steps = (int64_t)v;
    if (!read_u64s(ck, "checkpoint.loader", x, 5))
        return bad_key(path, "checkpoint.loader");
    st->loader = (struct cg_loader_state){x[0], x[1], {x[2], x[3]}, x[4]};
    if (!read_u64s(ck, "checkpoint.dropout_rng", x, 2))
        return bad_key(path, "checkpoint.dropout_rng");
    st->dropout = (cg_rng){x[0], x[1]};
    const char *hist = cg_safetensors_meta(ck, "checkpoint.history");
    int rc = hist ? cli_history_parse(h, hist) : CLI_USAGE;
    return rc == CLI_USAGE ? bad_key(path, "checkpoint.history") : rc;
}

/* Copy the optimizer's state tensors from the checkpoint. */
static int read_optim(const cg_safetensors *ck, const char *path, cg_optim *opt)
{
    for (int i = 0; i < cg_optim_state_count(opt); i++) {
        const char *name = NULL;
        cg_tensor *t = cg_optim_state_tensor(opt, i, &name);
        char key[128];
        snprintf(key, sizeof key, "%s%s", OPTIM_PREFIX, name);
        const cg_tensor *src = cg_safetensors_get(ck, key);
        if (!src)
            return cli_error("%s: no optimizer state '%s' (was the checkpoint written with "
                             "another optimizer?)", path, key);
        if (src->size != t->size)
            return cli_error("%s: optimizer state '%s' has %zu values, expected %zu", path, key,
                             src->size, t->size);
        cg_tensor_copy(t, src);
    }
    return CLI_OK;
}

int cli_checkpoint_restore(const char *path, cg_model *m, cg_optim *opt,
                           const struct cg_meta_kv *meta, int n_meta,
                           struct cli_run_state *state, struct cli_history *h)
{
    int64_t optim_steps = 0;
    int rc;
    cg_clear_error();
    cg_safetensors *ck = cg_safetensors_load(path);
    if (!ck) {
        const char *msg = cg_errmsg();
        return cli_error("%s%s%s", strstr(msg, path) ? "" : path, strstr(msg, path) ? "" : ": ",
                         msg);
    }
    if (!cg_safetensors_meta(ck, "checkpoint.step")) {
        rc = cli_error("%s: not a checkpoint (a model file? use --init to start from its "
                       "weights)", path);
        goto out;
    }
    if ((rc = check_settings(ck, path, meta, n_meta)) != CLI_OK ||
        (rc = read_state(ck, path, state, &optim_steps, h)) != CLI_OK ||
        (rc = read_optim(ck, path, opt)) != CLI_OK)
        goto out;
    if (cg_model_load_weights(m, path) != CG_OK || cg_optim_set_steps(opt, optim_steps) != CG_OK) {
        rc = cli_error("%s", cg_errmsg());
        goto out;
    }
    rc = CLI_OK;
out:
    cg_safetensors_free(ck);
    return rc;
}
