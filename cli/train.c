/*
 * `cgrad train DATA [options]`: load the data, build the model and the
 * optimizer from the options, and hand the run to the library's cg_fit
 * (train/train.h), which splits, normalizes, trains, validates, stops
 * early, writes checkpoints and the model file. What is the command
 * line's own are its callbacks: the progress bar, the metrics CSV and the
 * plot after every epoch, Ctrl-C as a stop request; and the printing.
 *
 * Random streams, all derived from --seed so that the same settings give
 * bit-identical weights: the weights (seed, drawn here), the validation
 * split (seed), the loader's shuffles (seed + 1), dropout (seed + 2).
 */
#define _GNU_SOURCE
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "input.h"
#include "train.h"

/* Ctrl-C: while the data and the model load (nothing written yet), say so
 * and exit at once; once training runs, a stop request (the run is saved). */
static volatile sig_atomic_t interrupted = 0;
static volatile sig_atomic_t training = 0;
static char loading_msg[PATH_MAX + 96];
static size_t loading_len;

static void on_sigint(int sig)
{
    (void)sig;
    if (!training) {
        ssize_t n = write(STDERR_FILENO, loading_msg, loading_len);
        (void)n;
        _exit(CLI_INTERRUPTED);
    }
    interrupted = 1;
}

/* Ctrl-C handled from now on: `old` keeps what to restore. */
static void catch_sigint(const char *data, struct sigaction *old)
{
    struct sigaction sa;
    int n = snprintf(loading_msg, sizeof loading_msg,
                     "cgrad: interrupted while loading %s; nothing was written\n", data);
    loading_len = n < 0 ? 0 : (size_t)n < sizeof loading_msg ? (size_t)n : sizeof loading_msg - 1;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sa.sa_flags = SA_RESETHAND;   /* a second Ctrl-C kills at once */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, old);
}

/* ---- data --------------------------------------------------------------- */

static int open_data(struct run *r)
{
    struct cli_settings *s = &r->s;
    const char *path = s->positional[0];

    if ((r->format = cli_detect_format(path, s->format)) < 0)
        return CLI_RUNTIME;
    if (!(r->data_real = realpath(path, NULL)))
        return cli_error("%s: cannot resolve the path", path);
    struct cli_read how = {r->format, s->label, s->task, s->image_w, s->image_h,
                           s->color == CLI_COLOR_GRAY ? 1 : s->color == CLI_COLOR_RGB ? 3 : 0,
                           NULL, 0};
    if (!(r->data = cli_load(path, &how, false, &r->test)))
        return CLI_RUNTIME;
    r->classify = cg_dataset_task(r->data) == CG_TASK_CLASSIFY;
    r->n_in = cg_dataset_features(r->data);
    r->n_classes = cg_dataset_classes(r->data);
    r->n_out = r->classify ? r->n_classes : cg_dataset_targets(r->data);
    if (r->classify) {
        if (r->n_classes < 2)
            return cli_error("%s: only %d class: a classifier needs at least 2", path,
                             r->n_classes);
        if (!(r->classes = calloc((size_t)r->n_classes, sizeof *r->classes)))
            return cli_error("out of memory");
        for (int c = 0; c < r->n_classes; c++)
            r->classes[c] = cg_dataset_class_name(r->data, c);
    }
    if (s->test) {
        int fmt = cli_detect_format(s->test, CLI_FORMAT_AUTO);
        if (fmt < 0)
            return CLI_RUNTIME;
        cg_dataset_free(r->test);
        int w = 0, h = 0, ch = 0;
        cg_dataset_image_shape(r->data, &w, &h, &ch);
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
    return CLI_OK;
}

/* ---- the callbacks ------------------------------------------------------------ */

static enum cg_fit_action on_step(const struct cg_fit_step *step, void *user)
{
    struct run *r = user;
    cli_progress_step(&r->progress, step);
    if (r->point)
        cg_dist_alive(r->point->watch);
    return interrupted ? CG_FIT_STOP : CG_FIT_CONTINUE;
}

/* After an epoch: its line, the metrics file, the plot. */
static enum cg_fit_action on_epoch(const struct cg_fit_epoch *history, int n, void *user)
{
    struct run *r = user;
    const struct cli_settings *s = &r->s;
    struct cli_history h = {history, n};
    int rc = CLI_OK;

    cli_progress_epoch(&r->progress, &history[n - 1]);
    if (s->metrics)
        rc = cli_metrics_write(s->metrics, &h);
    if (rc == CLI_OK && s->plot)
        rc = cli_plot_write(s->plot, &h, r->plot_title, s->val_split > 0 ? "validation" : "test");
    if (rc != CLI_OK) {
        r->callback_rc = rc;
        return CG_FIT_ABORT;
    }
    return interrupted ? CG_FIT_STOP : CG_FIT_CONTINUE;
}

/* ---- the run -------------------------------------------------------------------- */

/* The options as the library's settings. */
static void fit_settings(struct run *r, struct cg_fit_settings *f)
{
    const struct cli_settings *s = &r->s;
    static const cg_norm_kind norms[] = {CG_NORM_ZSCORE, CG_NORM_MINMAX, CG_NORM_NONE};
    static const enum cg_schedule_kind kinds[] = {CG_SCHEDULE_CONSTANT, CG_SCHEDULE_STEP,
                                                  CG_SCHEDULE_EXPONENTIAL, CG_SCHEDULE_COSINE};
    *f = cg_fit_defaults();
    f->epochs = s->epochs;
    f->batch = s->batch;
    f->max_steps = s->steps;
    f->shuffle = !s->no_shuffle;
    f->seed = s->seed;
    f->threads = s->threads;
    f->loss = s->loss == CLI_LOSS_MSE ? CG_LOSS_MSE : CG_LOSS_CROSS_ENTROPY;
    f->val_split = s->val_split;
    f->class_names = r->class_names;
    f->n_class_names = r->class_names ? r->n_classes : 0;
    f->normalize = norms[s->normalize];
    f->clip_norm = s->clip_norm;
    f->clip_value = s->clip_value;
    f->schedule = (struct cg_schedule){kinds[s->schedule], s->lr, s->step_size, s->gamma,
                                       s->epochs, 0.0, 0};
    f->warmup = s->warmup;
    f->on_nonfinite = s->on_nonfinite == CLI_NONFINITE_SKIP ? CG_NONFINITE_SKIP
                                                            : CG_NONFINITE_STOP;
    f->patience = s->patience;
    f->min_delta = s->min_delta;
    f->restore_best = s->restore_best;
    f->out = s->out;
    f->checkpoint = s->checkpoint;
    f->checkpoint_steps = s->checkpoint_steps;
    f->stop_checkpoint = cli_train_ckpt_path(r);
    f->resume = s->resume;
    f->meta = r->meta;
    f->n_meta = r->n_meta;
    f->names = cli_setting_names;
    f->n_names = cli_n_setting_names;
    f->on_step = on_step;
    f->on_epoch = on_epoch;
    f->user = r;
    f->dist = r->dist;
    f->deterministic = s->deterministic;
    if (r->point) {   /* a sweep's: no file */
        f->out = NULL;
        f->stop_checkpoint = NULL;
    }
}

/* A non-finite stop: the library's message and what to do about it. */
static int nonfinite_error(const struct run *r)
{
    const char *kept = r->res.checkpoint ? r->res.checkpoint : r->s.resume;
    return cli_error("%s: try a lower --lr or --clip-norm 1; %s%s", cg_errmsg(),
                     kept ? "the last good checkpoint is kept in " : "no model was written",
                     kept ? kept : "");
}

/* After cg_fit: the test set (when validation was a split of DATA), and
 * the result. */
static int report(struct run *r)
{
    if (r->point)
        cli_train_point_fill(r);
    if (cg_dist_rank(r->dist) != 0 || r->point)
        return r->res.end == CG_FIT_END_REQUEST ? CLI_INTERRUPTED : CLI_OK;   /* rank 0's */
    if (r->res.end == CG_FIT_END_REQUEST) {
        fprintf(stderr, "cgrad: interrupted at epoch %d, step %ld; model written to %s; "
                        "resume with the same options and --resume %s\n",
                r->res.epochs + 1, r->res.steps, r->s.out, r->res.checkpoint);
        if (r->s.json)
            cli_train_print_json(r);
        return CLI_INTERRUPTED;
    }
    if (r->test && r->s.val_split > 0) {
        struct cg_eval_settings es = {&r->res.norm,
                                      r->s.loss == CLI_LOSS_MSE ? CG_LOSS_MSE
                                                                : CG_LOSS_CROSS_ENTROPY,
                                      r->s.batch, r->s.threads};
        if (cg_evaluate(r->model, r->test, &es, NULL, &r->test_result) != CG_OK)
            return cli_error("test: %s", cg_errmsg());
    }
    if (r->s.json)
        cli_train_print_json(r);
    else
        cli_train_print_text(r);
    return CLI_OK;
}

static int run_fit(struct run *r)
{
    struct cg_fit_settings fs;

    fit_settings(r, &fs);
    training = 1;
    cli_progress_init(&r->progress, r->s.json ? stderr : stdout, r->s.quiet, r->classify,
                      r->s.epochs);
    cg_status st = cg_fit(r->model, r->opt, r->data, r->s.val_split > 0 ? NULL : r->test, &fs,
                          &r->res);
    cli_progress_end(&r->progress);
    if (r->callback_rc != CLI_OK)
        return r->callback_rc;
    if (st == CG_ERR_NUMERIC)
        return nonfinite_error(r);
    if (st != CG_OK)
        return cli_error("%s", cg_errmsg());
    return report(r);
}

/* ---- the command ----------------------------------------------------------------- */

static void run_free(struct run *r)
{
    cg_fit_result_deinit(&r->res);
    cg_optim_free(r->opt);
    cg_model_free(r->model);
    cg_dataset_free(r->data);
    cg_dataset_free(r->test);
    free(r->classes);
    free(r->class_names);
    free(r->class_text);
    free(r->ckpt_default);
    free(r->data_real);
    for (int i = 0; i < MAX_META; i++)
        free(r->meta_text[i]);
}

static int setup(struct run *r)
{
    struct cli_settings *s = &r->s;
    int rc;
    if ((rc = open_data(r)) != CLI_OK)
        return rc;
    if (s->class_names && (rc = cli_class_names(r, s->class_names)) != CLI_OK)
        return rc;
    if (s->task == CLI_TASK_REGRESS && s->loss == CLI_LOSS_CE)
        return cli_usage_error("train", "--loss ce needs classes, not --task regress");
    if (!r->classify && s->loss == CLI_LOSS_CE)
        return cli_usage_error("train", "--loss ce needs classes: %s has values to regress "
                                        "(try --loss mse)", s->positional[0]);
    if ((s->patience || s->restore_best) && s->val_split == 0 && !r->test)
        return cli_usage_error("train", "%s needs validation data: --val-split F or --test PATH",
                               s->patience ? "--patience" : "--restore-best");
    cli_settings_finish(s, r->classify);
    if ((rc = make_model(r)) != CLI_OK || (rc = make_optim(r)) != CLI_OK)
        return rc;
    cli_train_build_meta(r);
    snprintf(r->plot_title, sizeof r->plot_title, "cgrad train %s: %s", s->positional[0], r->spec);
    return CLI_OK;
}

int cli_train_run(cg_dist *dist, int argc, char **argv, struct cli_train_point *point)
{
    struct run *r = calloc(1, sizeof *r);
    if (!r)
        return cli_error("out of memory");
    r->dist = dist;
    r->point = point;
    cli_settings_defaults(&r->s);
    r->test_result = (struct cg_eval_result){(double)NAN, (double)NAN, 0};
    int rc = cli_parse(CLI_CMD_TRAIN, argc, argv, &r->s);
    if (rc != CLI_OK) {
        free(r);
        return rc < 0 ? CLI_OK : rc;
    }
    if (point)
        r->s.quiet = true;
    /* Every process parses the same options: the same timeout everywhere. */
    cg_dist_set_timeout(point ? point->watch : dist, r->s.dist_timeout);
    struct sigaction old;
    catch_sigint(r->s.positional[0], &old);
    if ((rc = setup(r)) == CLI_OK)
        rc = run_fit(r);
    sigaction(SIGINT, &old, NULL);
    training = 0;
    run_free(r);
    free(r);
    return rc;
}

/* Under mpirun, every process runs the command; rank 0 alone prints (the
 * others' stdout goes nowhere; their errors still show). */
int cli_dist_join(cg_dist **dist)
{
    if (!(*dist = cg_dist_init()))
        return cli_error("%s", cg_errmsg());
    if (cg_dist_rank(*dist) != 0 && !freopen("/dev/null", "w", stdout)) {
        cg_dist_free(*dist);
        return cli_error("/dev/null: cannot open");
    }
    return CLI_OK;
}

int cli_dist_leave(cg_dist *dist, int rc)
{
    /* A last meeting, watched: MPI_Finalize would wait without a limit for
     * a rank 0 that hung in its last writes. */
    if (cg_dist_barrier(dist) != CG_OK && rc == CLI_OK)
        rc = cli_error("%s", cg_errmsg());
    cg_dist_free(dist);
    return rc;
}

int cli_train(int argc, char **argv)
{
    cg_dist *dist;
    int rc = cli_dist_join(&dist);
    if (rc != CLI_OK)
        return rc;
    rc = cli_train_run(dist, argc, argv, NULL);
    return cli_dist_leave(dist, rc);
}
