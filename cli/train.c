/*
 * `cgrad train DATA [options]`: load the data, build the model and the
 * optimizer, run the epochs (progress, validation, metrics, plot,
 * checkpoint), and save the model with everything eval and predict need.
 *
 * Random streams, all derived from --seed so that the same settings give
 * bit-identical weights: the weights (seed), the validation split (seed),
 * the loader's shuffles (seed + 1), dropout (seed + 2).
 */
#define _GNU_SOURCE
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "cli.h"
#include "engine.h"
#include "input.h"
#include "options.h"

static volatile sig_atomic_t interrupted = 0;

static void on_sigint(int sig)
{
    (void)sig;
    interrupted = 1;
}

#define MAX_META 40

struct run {
    struct cli_settings s;
    char  *data_real;                 /* DATA as an absolute path */
    int    format;
    cg_dataset *train, *val, *test;   /* val: split off; test: --test or IDX t10k */
    bool   classify;
    const char **classes;             /* [n_classes] borrowed from train */
    int    n_classes, n_in, n_out;
    struct cg_norm norm;
    cg_model  *model;
    cg_optim  *opt;
    struct cg_schedule sched;
    cg_loader *loader;
    struct cli_engine eng;
    struct cli_history hist;
    struct cli_run_state state;
    /* the metadata of the model file and the checkpoint */
    struct cg_meta_kv meta[MAX_META];
    int    n_meta;
    char   spec[CG_NN_SPEC_MAX], optim_desc[CG_OPTIM_DESCRIBE_MAX];
    char  *norm_text, *classes_json, *ckpt_default;
    char   texts[20][64];             /* storage for the numbers in meta */
    int    n_texts;
    struct cli_eval_result final_val, final_test;
    double seconds;
    char   plot_title[1024];
    const char *ckpt_written;         /* the checkpoint of a stop, if any */
};

/* ---- data --------------------------------------------------------------- */

static int open_data(struct run *r)
{
    struct cli_settings *s = &r->s;
    const char *path = s->positional[0];
    cg_dataset *all = NULL;

    if ((r->format = cli_detect_format(path, s->format)) < 0)
        return CLI_RUNTIME;
    if (!(r->data_real = realpath(path, NULL)))
        return cli_error("%s: cannot resolve the path", path);
    struct cli_read how = {r->format, s->label, s->task, s->image_w, s->image_h,
                           s->color == CLI_COLOR_GRAY ? 1 : s->color == CLI_COLOR_RGB ? 3 : 0,
                           NULL, 0};
    if (!(all = cli_load(path, &how, false, &r->test)))
        return CLI_RUNTIME;
    r->classify = cg_dataset_task(all) == CG_TASK_CLASSIFY;
    if (s->val_split > 0) {
        if (cg_dataset_split(all, s->val_split, s->seed, &r->train, &r->val) != CG_OK) {
            cg_dataset_free(all);
            return cli_error("%s: %s", path, cg_errmsg());
        }
        cg_dataset_free(all);
    } else {
        r->train = all;
    }
    r->n_in = cg_dataset_features(r->train);
    r->n_classes = cg_dataset_classes(r->train);
    r->n_out = r->classify ? r->n_classes : cg_dataset_targets(r->train);
    if (r->classify) {
        if (r->n_classes < 2)
            return cli_error("%s: only %d class: a classifier needs at least 2", path,
                             r->n_classes);
        if (!(r->classes = calloc((size_t)r->n_classes, sizeof *r->classes)))
            return cli_error("out of memory");
        for (int c = 0; c < r->n_classes; c++)
            r->classes[c] = cg_dataset_class_name(r->train, c);
    }
    if (s->test) {
        int fmt = cli_detect_format(s->test, CLI_FORMAT_AUTO);
        if (fmt < 0)
            return CLI_RUNTIME;
        cg_dataset_free(r->test);
        int w = 0, h = 0, ch = 0;
        cg_dataset_image_shape(r->train, &w, &h, &ch);
        how = (struct cli_read){fmt, s->label, r->classify ? CLI_TASK_CLASSIFY : CLI_TASK_REGRESS,
                                w, h, ch, r->classify ? r->classes : NULL, r->n_classes};
        if (!(r->test = cli_load(s->test, &how, true, NULL)))
            return CLI_RUNTIME;
        if (cg_dataset_features(r->test) != r->n_in)
            return cli_error("%s: %d features, but %s has %d", s->test,
                             cg_dataset_features(r->test), path, r->n_in);
    }
    if (cg_norm_fit(&r->norm, r->train, (cg_norm_kind)(s->normalize == CLI_NORM_ZSCORE
                                                           ? CG_NORM_ZSCORE
                                                           : s->normalize == CLI_NORM_MINMAX
                                                                 ? CG_NORM_MINMAX
                                                                 : CG_NORM_NONE)) != CG_OK)
        return cli_error("%s: %s", path, cg_errmsg());
    return CLI_OK;
}

/* ---- model and optimizer -------------------------------------------------- */

static int make_model(struct run *r)
{
    const struct cli_settings *s = &r->s;
    static const enum cg_act acts[] = {CG_ACT_RELU, CG_ACT_SIGMOID, CG_ACT_TANH,
                                       CG_ACT_LEAKY_RELU};
    int sizes[CLI_MAX_HIDDEN + 2];
    int n = 0;
    sizes[n++] = r->n_in;
    for (int i = 0; i < s->n_hidden; i++)
        sizes[n++] = s->hidden[i];
    sizes[n++] = r->n_out;
    struct cg_arch arch = cg_arch_default(n, sizes);
    arch.act = acts[s->act];
    arch.dropout = s->dropout;
    cg_rng rng;
    cg_rng_seed(&rng, s->seed);
    if (!(r->model = cg_model_new(&arch)) || cg_model_init(r->model, CG_INIT_DEFAULT, &rng) != CG_OK)
        return cli_error("the model: %s", cg_errmsg());
    cg_model_spec(r->model, r->spec, sizeof r->spec);
    if (s->init && cg_model_load_weights(r->model, s->init) != CG_OK) {
        const char *msg = cg_errmsg();
        return cli_error("%s%s%s", strstr(msg, s->init) ? "" : s->init,
                         strstr(msg, s->init) ? "" : ": ", msg);
    }
    return CLI_OK;
}

static int make_optim(struct run *r)
{
    const struct cli_settings *s = &r->s;
    cg_tensor *flat = cg_model_flat(r->model);
    switch (s->optim) {
    case CLI_OPTIM_SGD: {
        struct cg_sgd_params p = {s->lr, s->momentum, s->dampening, s->weight_decay,
                                  s->nesterov};
        r->opt = cg_sgd_new(&flat, 1, &p);
        break;
    }
    case CLI_OPTIM_RMSPROP: {
        struct cg_rmsprop_params p = {s->lr, s->alpha, s->eps, s->weight_decay, s->momentum,
                                      false};
        r->opt = cg_rmsprop_new(&flat, 1, &p);
        break;
    }
    case CLI_OPTIM_ADAGRAD: {
        struct cg_adagrad_params p = {s->lr, 0, s->weight_decay, 0, s->eps};
        r->opt = cg_adagrad_new(&flat, 1, &p);
        break;
    }
    default: {
        struct cg_adam_params p = {s->lr, {s->beta1, s->beta2}, s->eps, s->weight_decay, false};
        r->opt = s->optim == CLI_OPTIM_ADAM ? cg_adam_new(&flat, 1, &p)
                                            : cg_adamw_new(&flat, 1, &p);
    }
    }
    if (!r->opt)
        return cli_error("--optim %s: %s", cli_optim_names[s->optim], cg_errmsg());
    cg_optim_describe(r->opt, r->optim_desc, sizeof r->optim_desc);
    static const enum cg_schedule_kind kinds[] = {CG_SCHEDULE_CONSTANT, CG_SCHEDULE_STEP,
                                                  CG_SCHEDULE_EXPONENTIAL, CG_SCHEDULE_COSINE};
    r->sched = (struct cg_schedule){kinds[s->schedule], s->lr, s->step_size, s->gamma,
                                    s->epochs, 0.0, 0};
    if (cg_schedule_check(&r->sched) != CG_OK)
        return cli_error("--schedule %s: %s", cli_schedule_names[s->schedule], cg_errmsg());
    return CLI_OK;
}

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
static int build_meta(struct run *r)
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
    add_meta(r, "seed", num_text(r, "%.0f", (double)s->seed));
    add_meta(r, "shuffle", s->no_shuffle ? "no" : "yes");
    add_meta(r, "schedule", cli_schedule_names[s->schedule]);
    if (s->schedule == CLI_SCHED_STEP || s->schedule == CLI_SCHED_EXP)
        r->meta[r->n_meta - 1].value = num_text(r, s->schedule == CLI_SCHED_STEP ? "step gamma=%g"
                                                                                : "exp gamma=%g",
                                                s->gamma);
    add_meta(r, "warmup", num_text(r, "%.0f", s->warmup));
    add_meta(r, "clip_norm", num_text(r, "%g", s->clip_norm));
    add_meta(r, "clip_value", num_text(r, "%g", s->clip_value));
    return CLI_OK;
}

/* Save the model file: parameters, the nn layer's keys and our settings. */
static int save_model(struct run *r, const char *path)
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
static int checkpoint_meta(const struct run *r, struct cg_meta_kv *kv, char *input_size, size_t n_buf)
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
static int save_checkpoint(struct run *r, const char *path)
{
    struct cg_meta_kv kv[MAX_META + 8];
    char input_size[32];
    int n = checkpoint_meta(r, kv, input_size, sizeof input_size);
    r->state.loader = cg_loader_state(r->loader);
    r->state.dropout = r->eng.dropout_rng;
    return cli_checkpoint_save(path, r->model, r->opt, kv, n, &r->state, &r->hist);
}

/* ---- the loop ---------------------------------------------------------------- */

/* The learning rate of the next step: the epoch's schedule times the
 * linear warm-up over the first --warmup steps. */
static double step_lr(const struct run *r)
{
    double lr = cg_schedule_lr(&r->sched, r->state.epoch);
    if (r->s.warmup > 0 && r->state.step < r->s.warmup)
        lr *= (double)(r->state.step + 1) / r->s.warmup;
    return lr;
}

static const char *ckpt_path(struct run *r)
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

static int nan_stop(struct run *r, double loss, double norm)
{
    char what[64];
    if (!isfinite(loss))
        snprintf(what, sizeof what, "the loss is %s", isnan(loss) ? "NaN" : "infinite");
    else if (r->s.clip_norm > 0)
        snprintf(what, sizeof what, "the gradient norm is %s", isnan(norm) ? "NaN" : "infinite");
    else
        snprintf(what, sizeof what, "a gradient is not finite");
    bool kept = r->s.checkpoint && r->state.epoch > 0;
    cli_error("%s at epoch %d, step %ld (lr %g): try a lower --lr or --clip-norm 1; %s%s", what,
              r->state.epoch + 1, r->state.step + 1, step_lr(r),
              kept ? "the last good checkpoint is kept in " : "no model was written",
              kept ? r->s.checkpoint : "");
    return CLI_RUNTIME;
}

/* Validation figures (val set, else test set) into the row. */
static int validate(struct run *r, struct cli_epoch_row *row)
{
    const cg_dataset *ds = r->val ? r->val : r->test;
    row->val_loss = row->val_acc = (double)NAN;
    if (!ds)
        return CLI_OK;
    struct cli_eval_result e;
    if (cli_evaluate(&r->eng, ds, &r->norm, &e, NULL) != CG_OK)
        return cli_error("validation: %s", cg_errmsg());
    row->val_loss = e.loss;
    row->val_acc = e.accuracy;
    return CLI_OK;
}

/* After an epoch: its row, the metrics file, the plot, the checkpoint. */
static int end_epoch(struct run *r, struct cli_epoch_row *row, struct cli_progress *p)
{
    int rc;
    double t0 = cli_now();
    if ((rc = validate(r, row)) != CLI_OK)
        return rc;
    row->seconds += cli_now() - t0;
    if ((rc = cli_history_add(&r->hist, row)) != CLI_OK)
        return rc;
    cli_progress_end_epoch(p, row);
    if (r->s.metrics && (rc = cli_metrics_write(r->s.metrics, &r->hist)) != CLI_OK)
        return rc;
    if (r->s.plot && (rc = cli_plot_write(r->s.plot, &r->hist, r->plot_title)) != CLI_OK)
        return rc;
    if (r->s.checkpoint && (rc = save_checkpoint(r, r->s.checkpoint)) != CLI_OK)
        return rc;
    return CLI_OK;
}

enum stop { RUN_ON, STOP_STEPS, STOP_SIGNAL };

/* One epoch (or what is left of it after a resume). */
static int run_epoch(struct run *r, struct cli_progress *p, enum stop *stop)
{
    const struct cli_settings *s = &r->s;
    struct cli_step_result res;
    double loss_sum = 0, t0 = cli_now();
    long correct = 0;
    size_t seen = 0;
    int rows;

    cli_progress_begin_epoch(p, r->state.epoch + 1, s->epochs, cg_dataset_size(r->train));
    while ((rows = cg_loader_next(r->loader, r->eng.x, r->classify ? r->eng.labels : NULL,
                                  r->classify ? NULL : r->eng.targets)) > 0) {
        cg_optim_set_lr(r->opt, step_lr(r));
        cg_status st = cli_train_step(&r->eng, rows, &res);
        if (st == CG_ERR_NUMERIC)
            return nan_stop(r, res.loss, res.grad_norm);
        if (st != CG_OK)
            return cli_error("step %ld: %s", r->state.step + 1, cg_errmsg());
        r->state.step++;
        loss_sum += res.loss * rows;
        correct += res.correct;
        seen += (size_t)rows;
        cli_progress_update(p, seen, loss_sum / (double)seen, (double)correct / (double)seen);
        if (interrupted) {
            *stop = STOP_SIGNAL;
            return CLI_OK;
        }
        if (s->steps && r->state.step >= s->steps) {
            *stop = STOP_STEPS;
            return CLI_OK;
        }
    }
    struct cli_epoch_row row = {r->state.epoch + 1, r->state.step, cg_optim_lr(r->opt),
                                seen ? loss_sum / (double)seen : (double)NAN,
                                r->classify && seen ? (double)correct / (double)seen : (double)NAN,
                                (double)NAN, (double)NAN, cli_now() - t0};
    r->state.epoch++;
    return end_epoch(r, &row, p);
}

/* ---- results ------------------------------------------------------------------ */

static void print_json(const struct run *r, enum stop stop)
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

static void print_text(const struct run *r)
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

static int finish(struct run *r, enum stop stop)
{
    int rc;
    /* Ctrl-C always leaves a checkpoint; --steps only when one was asked for. */
    bool ckpt = stop == STOP_SIGNAL || (stop == STOP_STEPS && r->s.checkpoint);
    if (ckpt && (rc = save_checkpoint(r, ckpt_path(r))) != CLI_OK)
        return rc;
    if (ckpt)
        r->ckpt_written = ckpt_path(r);
    if ((rc = save_model(r, r->s.out)) != CLI_OK)
        return rc;
    if (stop == STOP_SIGNAL) {
        fprintf(stderr, "cgrad: interrupted at epoch %d, step %ld; model written to %s; "
                        "resume with the same options and --resume %s\n",
                r->state.epoch + 1, r->state.step, r->s.out, ckpt_path(r));
        if (r->s.json)
            print_json(r, stop);
        return CLI_INTERRUPTED;
    }
    if (r->val && cli_evaluate(&r->eng, r->val, &r->norm, &r->final_val, NULL) != CG_OK)
        return cli_error("validation: %s", cg_errmsg());
    if (r->test && cli_evaluate(&r->eng, r->test, &r->norm, &r->final_test, NULL) != CG_OK)
        return cli_error("test: %s", cg_errmsg());
    if (r->s.json)
        print_json(r, stop);
    else
        print_text(r);
    return CLI_OK;
}

/* ---- the command ----------------------------------------------------------------- */

static void run_free(struct run *r)
{
    cli_engine_deinit(&r->eng);
    cg_loader_free(r->loader);
    cg_optim_free(r->opt);
    cg_model_free(r->model);
    cg_norm_deinit(&r->norm);
    cg_dataset_free(r->train);
    cg_dataset_free(r->val);
    cg_dataset_free(r->test);
    cli_history_free(&r->hist);
    free(r->classes);
    free(r->norm_text);
    free(r->classes_json);
    free(r->ckpt_default);
    free(r->data_real);
}

static int setup(struct run *r)
{
    struct cli_settings *s = &r->s;
    int rc;
    if ((rc = open_data(r)) != CLI_OK)
        return rc;
    if (s->task == CLI_TASK_REGRESS && s->loss == CLI_LOSS_CE)
        return cli_usage_error("train", "--loss ce needs classes, not --task regress");
    if (!r->classify && s->loss == CLI_LOSS_CE)
        return cli_usage_error("train", "--loss ce needs classes: %s has values to regress "
                                        "(try --loss mse)", s->positional[0]);
    cli_settings_finish(s, r->classify);
    if ((rc = make_model(r)) != CLI_OK || (rc = make_optim(r)) != CLI_OK ||
        (rc = build_meta(r)) != CLI_OK)
        return rc;
    if (!(r->loader = cg_loader_new(r->train, s->batch, !s->no_shuffle, false, s->seed + 1)) ||
        cg_loader_set_norm(r->loader, &r->norm) != CG_OK)
        return cli_error("%s: %s", s->positional[0], cg_errmsg());
    if (cli_engine_init(&r->eng, r->model, r->opt, s->batch, r->classify,
                        s->loss == CLI_LOSS_MSE, s->seed + 2) != CG_OK)
        return cli_error("out of memory");
    r->eng.clip_norm = s->clip_norm;
    r->eng.clip_value = s->clip_value;
    if (s->resume) {
        struct cg_meta_kv kv[MAX_META + 8];
        char input_size[32];
        int n = checkpoint_meta(r, kv, input_size, sizeof input_size);
        if ((rc = cli_checkpoint_restore(s->resume, r->model, r->opt, kv, n, &r->state,
                                         &r->hist)) != CLI_OK)
            return rc;
        if (cg_loader_restore(r->loader, &r->state.loader) != CG_OK)
            return cli_error("%s: %s", s->resume, cg_errmsg());
        r->eng.dropout_rng = r->state.dropout;
    }
    snprintf(r->plot_title, sizeof r->plot_title, "cgrad train %s: %s", s->positional[0], r->spec);
    cg_set_blas_threads(s->threads);
    return CLI_OK;
}

int cli_train(int argc, char **argv)
{
    struct run *r = calloc(1, sizeof *r);
    if (!r)
        return cli_error("out of memory");
    cli_settings_defaults(&r->s);
    r->final_val = r->final_test = (struct cli_eval_result){(double)NAN, (double)NAN, 0};
    int rc = cli_parse(CLI_CMD_TRAIN, argc, argv, &r->s);
    if (rc != CLI_OK) {
        free(r);
        return rc < 0 ? CLI_OK : rc;
    }
    if ((rc = setup(r)) != CLI_OK)
        goto out;

    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sa.sa_flags = SA_RESETHAND;   /* a second Ctrl-C kills at once */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old);

    struct cli_progress p;
    cli_progress_init(&p, r->s.json ? stderr : stdout, r->s.quiet, r->classify);
    enum stop stop = RUN_ON;
    double t0 = cli_now();
    if (r->s.steps && r->state.step >= r->s.steps)
        stop = STOP_STEPS;
    while (stop == RUN_ON && r->state.epoch < r->s.epochs && rc == CLI_OK)
        rc = run_epoch(r, &p, &stop);
    r->seconds = cli_now() - t0;
    if (rc == CLI_OK)
        rc = finish(r, stop);
    sigaction(SIGINT, &old, NULL);
out:
    run_free(r);
    free(r);
    return rc;
}
