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

#include "input.h"
#include "train.h"

static volatile sig_atomic_t interrupted = 0;

static void on_sigint(int sig)
{
    (void)sig;
    interrupted = 1;
}

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
        if (cg_dataset_size(r->train) == 0 || cg_dataset_size(r->val) == 0)
            return cli_error("%s: --val-split %g leaves %s", path, s->val_split,
                             cg_dataset_size(r->train) ? "no validation samples"
                                                       : "no training samples");
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
        if (r->classify && cli_check_classes(r->test, s->test, r->classes, r->n_classes, path))
            return CLI_RUNTIME;
    }
    static const cg_norm_kind kinds[] = {CG_NORM_ZSCORE, CG_NORM_MINMAX, CG_NORM_NONE};
    if (cg_norm_fit(&r->norm, r->train, kinds[s->normalize]) != CG_OK)
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
    if (r->s.plot && (rc = cli_plot_write(r->s.plot, &r->hist, r->plot_title,
                                          r->val ? "validation" : "test")) != CLI_OK)
        return rc;
    if (r->s.checkpoint && (rc = cli_train_save_checkpoint(r, r->s.checkpoint)) != CLI_OK)
        return rc;
    return CLI_OK;
}


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

static int finish(struct run *r, enum stop stop)
{
    int rc;
    /* Ctrl-C always leaves a checkpoint; --steps only when one was asked for. */
    bool ckpt = stop == STOP_SIGNAL || (stop == STOP_STEPS && r->s.checkpoint);
    if (ckpt && (rc = cli_train_save_checkpoint(r, cli_train_ckpt_path(r))) != CLI_OK)
        return rc;
    if (ckpt)
        r->ckpt_written = cli_train_ckpt_path(r);
    if ((rc = cli_train_save_model(r, r->s.out)) != CLI_OK)
        return rc;
    if (stop == STOP_SIGNAL) {
        fprintf(stderr, "cgrad: interrupted at epoch %d, step %ld; model written to %s; "
                        "resume with the same options and --resume %s\n",
                r->state.epoch + 1, r->state.step, r->s.out, cli_train_ckpt_path(r));
        if (r->s.json)
            cli_train_print_json(r, stop);
        return CLI_INTERRUPTED;
    }
    if (r->val && cli_evaluate(&r->eng, r->val, &r->norm, &r->final_val, NULL) != CG_OK)
        return cli_error("validation: %s", cg_errmsg());
    if (r->test && cli_evaluate(&r->eng, r->test, &r->norm, &r->final_test, NULL) != CG_OK)
        return cli_error("test: %s", cg_errmsg());
    if (r->s.json)
        cli_train_print_json(r, stop);
    else
        cli_train_print_text(r);
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
        (rc = cli_train_build_meta(r)) != CLI_OK)
        return rc;
    if (!(r->loader = cg_loader_new(r->train, s->batch, !s->no_shuffle, false, s->seed + 1)) ||
        cg_loader_set_norm(r->loader, &r->norm) != CG_OK)
        return cli_error("%s: %s", s->positional[0], cg_errmsg());
    if (cli_engine_init(&r->eng, r->model, r->opt, s->batch, r->classify,
                        s->loss == CLI_LOSS_MSE, s->seed + 2, s->threads) != CG_OK)
        return cli_error("--threads %d: %s", s->threads, cg_errmsg());
    /* The batches are converted on the trainer's threads too. */
    cg_loader_set_pool(r->loader, cg_trainer_pool(r->eng.tr));
    r->eng.clip_norm = s->clip_norm;
    r->eng.clip_value = s->clip_value;
    if (s->resume) {
        struct cg_meta_kv kv[MAX_META + 8];
        char input_size[32];
        int n = cli_train_checkpoint_meta(r, kv, input_size, sizeof input_size);
        if ((rc = cli_checkpoint_restore(s->resume, r->model, r->opt, kv, n, &r->state,
                                         &r->hist)) != CLI_OK)
            return rc;
        if (cg_loader_restore(r->loader, &r->state.loader) != CG_OK)
            return cli_error("%s: %s", s->resume, cg_errmsg());
        r->eng.dropout_rng = r->state.dropout;
    }
    snprintf(r->plot_title, sizeof r->plot_title, "cgrad train %s: %s", s->positional[0], r->spec);
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
