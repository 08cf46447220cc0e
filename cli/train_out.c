/*
 * What `cgrad train` writes: the model file with its metadata, checkpoints
 * of the run, and the final result on stdout (see train.h).
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "input.h"
#include "train.h"

/* ---- metadata ------------------------------------------------------------- */

static void add_meta(struct run *r, const char *key, const char *value)
{
    if (r->n_meta < MAX_META && value)
        r->meta[r->n_meta++] = (struct cg_meta_kv){key, value};
}

/* A number's text kept in the run (meta values are borrowed pointers). */
static const char *num_text(struct run *r, const char *fmt, double v)
{
    char *t = r->texts[r->n_texts < 19 ? r->n_texts++ : 19];
    snprintf(t, sizeof r->texts[0], fmt, v);
    return t;
}

/* The settings (all of cli_fixed_settings plus information for `info`).
 * Only facts that do not depend on how the run was split into sessions,
 * so a resumed run writes the same model file as an unbroken one. */
int cli_train_build_meta(struct run *r)
{
    const struct cli_settings *s = &r->s;
    if (!(r->norm_text = cli_norm_to_text(&r->norm)))
        return cli_error("out of memory");
    if (r->classify && !(r->classes_json = cli_classes_json(r->classes, r->n_classes)))
        return cli_error("out of memory");
    add_meta(r, "data", r->data_real);
    add_meta(r, "data_format", cli_format_names[r->format]);
    add_meta(r, "label", s->label ? s->label : "");
    add_meta(r, "task", r->classify ? "classification" : "regression");
    add_meta(r, "test", s->test ? s->test : "");
    add_meta(r, "val_split", num_text(r, "%g", s->val_split));
    add_meta(r, "normalize", cli_normalize_names[s->normalize]);
    int w, h, c;
    if (cg_dataset_image_shape(r->train, &w, &h, &c)) {
        char *t = r->texts[r->n_texts < 19 ? r->n_texts++ : 19];
        snprintf(t, sizeof r->texts[0], "%dx%dx%d", w, h, c);
        add_meta(r, "image_size", t);
    } else {
        add_meta(r, "image_size", "");
    }
    add_meta(r, "optimizer", r->optim_desc);
    add_meta(r, "loss", cli_loss_names[s->loss]);
    add_meta(r, "batch", num_text(r, "%.0f", s->batch));
    /* a 64-bit seed exactly: "%.0f" of a double rounded 2^53 + 1 to 2^53 */
    char *seed = r->texts[r->n_texts < 19 ? r->n_texts++ : 19];
    snprintf(seed, sizeof r->texts[0], "%" PRIu64, s->seed);
    add_meta(r, "seed", seed);
    add_meta(r, "shuffle", s->no_shuffle ? "no" : "yes");
    add_meta(r, "schedule", cli_schedule_names[s->schedule]);
    if (s->schedule == CLI_SCHED_STEP) {
        char *t = r->texts[r->n_texts < 19 ? r->n_texts++ : 19];
        snprintf(t, sizeof r->texts[0], "step gamma=%g step_size=%d", s->gamma, s->step_size);
        r->meta[r->n_meta - 1].value = t;
    } else if (s->schedule == CLI_SCHED_EXP) {
        r->meta[r->n_meta - 1].value = num_text(r, "exp gamma=%g", s->gamma);
    }
    add_meta(r, "warmup", num_text(r, "%.0f", s->warmup));
    add_meta(r, "clip_norm", num_text(r, "%g", s->clip_norm));
    add_meta(r, "clip_value", num_text(r, "%g", s->clip_value));
    return CLI_OK;
}

/* Save the model file: parameters, the nn layer's keys and our settings. */
int cli_train_save_model(struct run *r, const char *path)
{
    struct cg_meta_kv extra[MAX_META + 2];
    int n = 0;
    for (int i = 0; i < r->n_meta; i++)
        if (strcmp(r->meta[i].key, "task") != 0)
            extra[n++] = r->meta[i];
    char epochs[32], steps[32];
    snprintf(epochs, sizeof epochs, "%d", r->state.epoch);
    snprintf(steps, sizeof steps, "%ld", r->state.step);
    extra[n++] = (struct cg_meta_kv){"epochs", epochs};
    extra[n++] = (struct cg_meta_kv){"steps", steps};
    struct cg_model_meta mm = {0};
    mm.task = r->classify ? "classification" : "regression";
    mm.classes = r->classify ? r->classes : NULL;
    mm.n_classes = r->classify ? r->n_classes : 0;
    mm.normalization = r->norm_text;
    mm.extra = extra;
    mm.n_extra = n;
    if (cg_model_save(r->model, path, &mm) != CG_OK) {
        const char *msg = cg_errmsg();
        return cli_error("%s%s%s", strstr(msg, path) ? "" : path, strstr(msg, path) ? "" : ": ",
                         msg);
    }
    return CLI_OK;
}

/* The checkpoint's metadata: the model file's keys and the settings. */
int cli_train_checkpoint_meta(const struct run *r, struct cg_meta_kv *kv, char *input_size,
                              size_t n_buf)
{
    int n = 0;
    snprintf(input_size, n_buf, "%d", r->n_in);
    kv[n++] = (struct cg_meta_kv){"format", "cgrad"};
    kv[n++] = (struct cg_meta_kv){"version", CG_VERSION};
    kv[n++] = (struct cg_meta_kv){"spec", r->spec};
    kv[n++] = (struct cg_meta_kv){"input_size", input_size};
    if (r->classes_json)
        kv[n++] = (struct cg_meta_kv){"classes", r->classes_json};
    kv[n++] = (struct cg_meta_kv){"normalization", r->norm_text};
    for (int i = 0; i < r->n_meta; i++)
        kv[n++] = r->meta[i];
    return n;
}

/* The checkpoint: the model file's keys plus the run state. */
int cli_train_save_checkpoint(struct run *r, const char *path)
{
    struct cg_meta_kv kv[MAX_META + 8];
    char input_size[32];
    int n = cli_train_checkpoint_meta(r, kv, input_size, sizeof input_size);
    r->state.loader = cg_loader_state(r->loader);
    r->state.dropout = r->eng.dropout_rng;
    return cli_checkpoint_save(path, r->model, r->opt, kv, n, &r->state, &r->hist);
}

const char *cli_train_ckpt_path(struct run *r)
{
    if (r->s.checkpoint)
        return r->s.checkpoint;
    if (!r->ckpt_default) {
        const char *out = r->s.out;
        size_t n = strlen(out) + 32;
        if ((r->ckpt_default = malloc(n))) {
            size_t base = strlen(out);
            if (cli_has_suffix(out, ".safetensors"))
                base -= strlen(".safetensors");
            snprintf(r->ckpt_default, n, "%.*s.ckpt.safetensors", (int)base, out);
        }
    }
    return r->ckpt_default ? r->ckpt_default : "cgrad.ckpt.safetensors";
}

/* ---- results ------------------------------------------------------------------ */

void cli_train_print_json(const struct run *r, enum stop stop)
{
    struct cli_json j;
    const struct cli_epoch_row *last = r->hist.n ? &r->hist.rows[r->hist.n - 1] : NULL;
    cli_json_init(&j, stdout);
    cli_json_begin_obj(&j);
    cli_json_key(&j, "task");
    cli_json_str(&j, r->classify ? "classification" : "regression");
    cli_json_key(&j, "epochs");
    cli_json_int(&j, r->state.epoch);
    cli_json_key(&j, "steps");
    cli_json_int(&j, r->state.step);
    cli_json_key(&j, "stopped");
    cli_json_str(&j, stop == STOP_STEPS ? "steps" : stop == STOP_SIGNAL ? "interrupted" : "done");
    cli_json_key(&j, "seconds");
    cli_json_num(&j, r->seconds);
    cli_json_key(&j, "train_loss");
    cli_json_num(&j, last ? last->train_loss : (double)NAN);
    cli_json_key(&j, "train_accuracy");
    cli_json_num(&j, last ? last->train_acc : (double)NAN);
    cli_json_key(&j, "val_loss");
    cli_json_num(&j, r->val ? r->final_val.loss : (double)NAN);
    cli_json_key(&j, "val_accuracy");
    cli_json_num(&j, r->val ? r->final_val.accuracy : (double)NAN);
    cli_json_key(&j, "test_loss");
    cli_json_num(&j, r->test ? r->final_test.loss : (double)NAN);
    cli_json_key(&j, "test_accuracy");
    cli_json_num(&j, r->test ? r->final_test.accuracy : (double)NAN);
    cli_json_key(&j, "parameters");
    cli_json_int(&j, (long long)cg_model_num_params(r->model));
    cli_json_key(&j, "spec");
    cli_json_str(&j, r->spec);
    cli_json_key(&j, "model");
    cli_json_str(&j, r->s.out);
    cli_json_key(&j, "checkpoint");
    cli_json_str(&j, r->ckpt_written ? r->ckpt_written : r->s.checkpoint);
    cli_json_key(&j, "metrics");
    cli_json_str(&j, r->s.metrics);
    cli_json_key(&j, "plot");
    cli_json_str(&j, r->s.plot);
    cli_json_end(&j);
}

void cli_train_print_text(const struct run *r)
{
    const struct cli_epoch_row *last = r->hist.n ? &r->hist.rows[r->hist.n - 1] : NULL;
    printf("trained %s: %d epochs, %ld steps, %.1f s\n", r->spec, r->state.epoch, r->state.step,
           r->seconds);
    if (last) {
        printf("train loss %.4f", last->train_loss);
        if (r->classify)
            printf("  accuracy %.4f", last->train_acc);
        printf("\n");
    }
    if (r->val) {
        printf("validation loss %.4f", r->final_val.loss);
        if (r->classify)
            printf("  accuracy %.4f", r->final_val.accuracy);
        printf("\n");
    }
    if (r->test) {
        printf("test loss %.4f", r->final_test.loss);
        if (r->classify)
            printf("  accuracy %.4f", r->final_test.accuracy);
        printf("\n");
    }
    printf("model: %s\n", r->s.out);
    if (r->s.checkpoint)
        printf("checkpoint: %s\n", r->s.checkpoint);
    if (r->s.metrics)
        printf("metrics: %s\n", r->s.metrics);
    if (r->s.plot)
        printf("plot: %s\n", r->s.plot);
}

