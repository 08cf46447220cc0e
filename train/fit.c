/*
 * cg_fit: a whole training run (train.h).
 *
 *     setup      check the settings; split off the validation share; fit the
 *                normalization; the settings as metadata; the loader (order
 *                from seed + 1); the engine (dropout from seed + 2); resume
 *     epochs     until the last epoch, max_steps, a stop request or
 *                patience's end: batches (step callback, checkpoint every N
 *                steps), then the epoch's end (validation, history, best
 *                weights, checkpoint, epoch callback)
 *     the end    a stop's checkpoint, the best weights back, the final
 *                validation figures, the model file
 */
#include <math.h>
#include <string.h>
#include <time.h>

#include "internal.h"

struct cg_fit_settings cg_fit_defaults(void)
{
    struct cg_fit_settings s;
    memset(&s, 0, sizeof s);
    s.epochs = 10;
    s.batch = 128;
    s.shuffle = true;
    s.seed = 1;
    s.threads = 1;
    s.loss = CG_LOSS_CROSS_ENTROPY;
    s.normalize = CG_NORM_ZSCORE;
    s.schedule.kind = CG_SCHEDULE_CONSTANT;
    s.on_nonfinite = CG_NONFINITE_STOP;
    return s;
}

double cg__fit_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

const char *cg__fit_name(const struct cg__fit *f, const char *key)
{
    for (int i = 0; i < f->s->n_names; i++)
        if (f->s->names[i].key && strcmp(f->s->names[i].key, key) == 0)
            return f->s->names[i].value;
    return key;
}

/* ---- setup ---------------------------------------------------------------------- */

static cg_status bad_setting(const struct cg__fit *f, const char *key, const char *why)
{
    return cg__fail(CG_ERR_ARG, "%s: %s", cg__fit_name(f, key), why);
}

/* The numbers of the settings, each on its own. */
static cg_status check_numbers(const struct cg__fit *f)
{
    const struct cg_fit_settings *s = f->s;
    if (s->epochs < 0)
        return bad_setting(f, "epochs", "must be 0 or more");
    if (s->batch < 1)
        return bad_setting(f, "batch", "must be at least 1");
    if (s->max_steps < 0 || s->warmup < 0 || s->checkpoint_steps < 0 || s->patience < 0)
        return cg__fail(CG_ERR_ARG, "cg_fit: a negative count (max_steps, warmup, "
                        "checkpoint_steps or patience)");
    if (!(s->val_split >= 0 && s->val_split < 1))
        return bad_setting(f, "val_split", "must be in [0, 1)");
    if (!(s->clip_norm >= 0 && s->clip_value >= 0 && s->min_delta >= 0) ||
        !isfinite(s->clip_norm) || !isfinite(s->clip_value) || !isfinite(s->min_delta))
        return cg__fail(CG_ERR_ARG, "cg_fit: clip_norm, clip_value and min_delta must be "
                        "finite and 0 or more");
    if (s->loss != CG_LOSS_CROSS_ENTROPY && s->loss != CG_LOSS_MSE)
        return bad_setting(f, "loss", "is not a cg_loss");
    if (s->schedule.warmup_steps != 0)
        return bad_setting(f, "schedule", "warmup_steps would count epochs: set warmup "
                           "(optimizer steps) instead");
    return CG_OK;
}

/* A data set against the model: features, and classes or targets. */
static cg_status check_data(const struct cg__fit *f, const cg_dataset *ds, const char *what)
{
    int in = cg_model_input_size(f->model), out = cg_model_output_size(f->model);
    cg_task task = cg_dataset_task(ds);
    if (cg_dataset_features(ds) != in)
        return cg__fail(CG_ERR_SHAPE, "cg_fit: the %s has %d features, the model %d inputs",
                        what, cg_dataset_features(ds), in);
    if (task == CG_TASK_CLASSIFY && cg_dataset_classes(ds) > out)
        return cg__fail(CG_ERR_SHAPE, "cg_fit: the %s has %d classes, the model %d outputs",
                        what, cg_dataset_classes(ds), out);
    if (task == CG_TASK_REGRESS && cg_dataset_targets(ds) != out)
        return cg__fail(CG_ERR_SHAPE, "cg_fit: the %s has %d targets, the model %d outputs",
                        what, cg_dataset_targets(ds), out);
    if (task == CG_TASK_NONE)
        return cg__fail(CG_ERR_ARG, "cg_fit: the %s has no labels or targets", what);
    if (task != CG_TASK_CLASSIFY && f->s->loss == CG_LOSS_CROSS_ENTROPY)
        return cg__fail(CG_ERR_ARG, "cg_fit: %s ce needs class labels, and the %s has values "
                        "to regress", cg__fit_name(f, "loss"), what);
    return CG_OK;
}

/* The training and validation sets: as given, or a split of train_set. */
static cg_status choose_data(struct cg__fit *f, const cg_dataset *train_set,
                             const cg_dataset *val_set)
{
    const struct cg_fit_settings *s = f->s;
    cg_status st;
    f->train = train_set;
    f->val = val_set;
    if (s->val_split > 0) {
        if (val_set)
            return bad_setting(f, "val_split", "splits train_set, but a val_set was given");
        if ((st = cg_dataset_split(train_set, s->val_split, s->seed, &f->split[0],
                                   &f->split[1])) != CG_OK)
            return st;
        f->train = f->split[0];
        f->val = f->split[1];
        if (cg_dataset_size(f->train) == 0 || cg_dataset_size(f->val) == 0)
            return cg__fail(CG_ERR_ARG, "%s %g leaves %s", cg__fit_name(f, "val_split"),
                            s->val_split, cg_dataset_size(f->train) ? "no validation samples"
                                                                     : "no training samples");
    }
    if ((s->patience > 0 || s->restore_best) && !f->val)
        return bad_setting(f, s->patience > 0 ? "patience" : "restore_best",
                           "early stopping needs validation data (val_set or val_split)");
    if ((st = check_data(f, f->train, "training data")) != CG_OK)
        return st;
    return f->val ? check_data(f, f->val, "validation data") : CG_OK;
}

/* The class names the model file will hold, against the model. */
static cg_status check_classes(const struct cg__fit *f)
{
    const struct cg_fit_settings *s = f->s;
    int out = cg_model_output_size(f->model);
    if (cg_dataset_task(f->train) != CG_TASK_CLASSIFY)
        return CG_OK;
    int n = s->class_names ? s->n_class_names : cg_dataset_classes(f->train);
    if (n != out)
        return cg__fail(CG_ERR_SHAPE, "cg_fit: %d class names for a model of %d outputs", n,
                        out);
    for (int c = 0; s->class_names && c < n; c++)
        if (!s->class_names[c])
            return cg__fail(CG_ERR_ARG, "cg_fit: class name %d is NULL", c);
    return CG_OK;
}

/* The normalization: the given one (copied), or fitted on the training split. */
static cg_status choose_norm(struct cg__fit *f)
{
    const struct cg_norm *given = f->s->norm;
    if (given)
        return cg_norm_init(&f->r->norm, given->kind, given->n, given->offset, given->scale);
    return cg_norm_fit(&f->r->norm, f->train, f->s->normalize);
}

/* The schedule as given, its base rate the optimizer's when not set. */
static cg_status choose_schedule(struct cg__fit *f)
{
    f->sched = f->s->schedule;
    if (f->sched.base_lr == 0)
        f->sched.base_lr = cg_optim_lr(f->opt);
    if (cg_schedule_check(&f->sched) != CG_OK)
        return cg__fail(CG_ERR_ARG, "%s: %s", cg__fit_name(f, "schedule"), cg_errmsg());
    return CG_OK;
}

/* The loader, the engine, and the best weights' buffer. */
static cg_status make_runner(struct cg__fit *f)
{
    const struct cg_fit_settings *s = f->s;
    cg_status st;
    if (!(f->loader = cg_loader_new(f->train, s->batch, s->shuffle, false, s->seed + 1)) ||
        (st = cg_loader_set_norm(f->loader, &f->r->norm)) != CG_OK)
        return cg_errcode();
    st = cg__engine_init(&f->eng, f->model, f->opt, s->loss, s->batch, s->threads,
                         cg_dataset_task(f->train) == CG_TASK_CLASSIFY);
    if (st != CG_OK) {
        if (st != CG_ERR_NOMEM)
            cg__errmsg_prefix("%s %d", cg__fit_name(f, "threads"), s->threads);
        return st;
    }
    cg_rng_seed(&f->eng.dropout_rng, s->seed + 2);
    if ((st = cg__dist_engine_init(&f->eng, s->dist, s->deterministic)) != CG_OK)
        return st;
    f->eng.clip_norm = s->clip_norm;
    f->eng.clip_value = s->clip_value;
    /* The batches are converted on the trainer's threads too. */
    cg_loader_set_pool(f->loader, cg_trainer_pool(f->eng.tr));
    if (s->restore_best) {
        size_t p = cg_model_num_params(f->model);
        if (p > (size_t)INT32_MAX)
            return cg__fail(CG_ERR_ARG, "cg_fit: restore_best keeps a copy of at most 2^31 "
                            "parameters");
        if (!(f->best = cg_tensor_new(1, (int[]){(int)p})))
            return cg_errcode();
    }
    return CG_OK;
}

static cg_status setup(struct cg__fit *f, const cg_dataset *train_set, const cg_dataset *val_set)
{
    cg_status st;
    f->st.best_loss = (double)INFINITY;
    if ((st = check_numbers(f)) != CG_OK || (st = choose_data(f, train_set, val_set)) != CG_OK ||
        (st = check_classes(f)) != CG_OK || (st = choose_norm(f)) != CG_OK ||
        (st = choose_schedule(f)) != CG_OK || (st = cg__meta_build(f)) != CG_OK ||
        (st = make_runner(f)) != CG_OK)
        return st;
    if (f->s->resume && (st = cg__checkpoint_restore(f, f->s->resume)) != CG_OK)
        return st;
    /* Every process starts from rank 0's weights. */
    if ((st = cg__fit_share_weights(f)) != CG_OK)
        return st;
    f->epoch_t0 = cg__fit_now() - f->st.seconds;
    return CG_OK;
}

/* ---- the epochs ------------------------------------------------------------------- */

static void end_run(struct cg__fit *f, enum cg_fit_end end)
{
    f->ended = true;
    f->r->end = end;
}

/* The learning rate of the next step: the epoch's schedule times the
 * linear warm-up over the first `warmup` steps. */
static double step_lr(const struct cg__fit *f)
{
    double lr = cg_schedule_lr(&f->sched, f->st.epoch);
    if (f->s->warmup > 0 && f->st.step < f->s->warmup)
        lr *= (double)(f->st.step + 1) / (double)f->s->warmup;
    return lr;
}

static const char *nonfinite_word(double v)
{
    return isnan(v) ? "NaN" : "infinite";
}

/* The message of a non-finite stop: what, where, at which rate. */
static cg_status nonfinite_stop(struct cg__fit *f, const struct cg__step_result *sr, double lr)
{
    char what[96];
    if (sr->bad == CG__BAD_LOSS)
        snprintf(what, sizeof what, "the loss is %s", nonfinite_word(sr->value));
    else if (sr->bad == CG__BAD_GRAD && sr->param)
        snprintf(what, sizeof what, "the gradient of %s is %s", sr->param,
                 nonfinite_word(sr->value));
    else
        snprintf(what, sizeof what, "the gradient norm is %s", nonfinite_word(sr->value));
    end_run(f, CG_FIT_END_NONFINITE);
    return cg__fail(CG_ERR_NUMERIC, "%s at epoch %d, step %ld (lr %g)", what, f->st.epoch + 1,
                    f->st.step + 1, lr);
}

/* A callback asked to abort: where the run was. */
static cg_status aborted(struct cg__fit *f, bool epoch_end)
{
    end_run(f, CG_FIT_END_ERROR);
    if (epoch_end)
        return cg__fail(CG_ERR_STATE, "cg_fit: the epoch callback aborted the run after "
                        "epoch %d", f->st.epoch);
    return cg__fail(CG_ERR_STATE, "cg_fit: the step callback aborted the run at epoch %d, "
                    "step %ld", f->st.epoch + 1, f->st.step);
}

/* Tell the step callback; its answer may end the run. */
static cg_status after_batch(struct cg__fit *f, double lr, bool skipped)
{
    const struct cg_fit_settings *s = f->s;
    const struct cg__state *t = &f->st;
    enum cg_fit_action a = CG_FIT_CONTINUE;
    cg_status st;
    if (!s->on_step)
        return CG_OK;
    struct cg_fit_step info = {
        .epoch = t->epoch + 1,
        .epochs = s->epochs,
        .step = t->step,
        .done = (size_t)cg_loader_state(f->loader).position,
        .total = cg_dataset_size(f->train),
        .loss = t->rows ? t->loss_sum / (double)t->rows : (double)NAN,
        .accuracy = f->eng.classify && t->rows ? (double)t->correct / (double)t->rows
                                               : (double)NAN,
        .lr = lr,
        .seconds = cg__fit_now() - f->epoch_t0,
        .skipped = skipped,
    };
    if (cg__fit_writes(f))
        a = s->on_step(&info, s->user);
    if ((st = cg__fit_share_action(f, &a)) != CG_OK)
        return st;
    if (a == CG_FIT_ABORT)
        return aborted(f, false);
    if (a == CG_FIT_STOP)
        end_run(f, CG_FIT_END_REQUEST);
    return CG_OK;
}

static cg_status save_checkpoint(struct cg__fit *f, const char *path)
{
    cg_status st = cg__fit_writes(f) ? cg__checkpoint_save(f, path) : CG_OK;
    st = cg__fit_share_status(f, st);
    if (st == CG_OK)
        f->r->checkpoint = path;
    return st;
}

/* One batch: the step, its figures, the callback, the stops and checkpoints
 * that follow a step. */
static cg_status run_batch(struct cg__fit *f, int rows)
{
    const struct cg_fit_settings *s = f->s;
    struct cg__step_result sr;
    double lr = step_lr(f);
    cg_status st;

    cg_optim_set_lr(f->opt, lr);
    st = cg__engine_step(&f->eng, rows, &sr);
    bool nonfinite = st == CG_ERR_NUMERIC && sr.bad != CG__BAD_NONE;
    bool skipped = nonfinite && s->on_nonfinite == CG_NONFINITE_SKIP;
    if (nonfinite && !skipped)
        return nonfinite_stop(f, &sr, lr);
    if (st != CG_OK && !skipped) {
        end_run(f, CG_FIT_END_ERROR);
        cg__errmsg_prefix("step %ld", f->st.step + 1);
        return st;
    }
    if (skipped) {
        f->st.skipped++;
    } else {
        f->st.step++;
        f->st.loss_sum += sr.loss * rows;
        f->st.correct += sr.correct;
        f->st.rows += rows;
    }
    if ((st = after_batch(f, lr, skipped)) != CG_OK || f->ended)
        return st;
    if (s->max_steps && f->st.step >= s->max_steps) {
        end_run(f, CG_FIT_END_MAX_STEPS);
        return CG_OK;
    }
    if (s->checkpoint && s->checkpoint_steps && !skipped && f->st.step % s->checkpoint_steps == 0)
        return save_checkpoint(f, s->checkpoint);
    return CG_OK;
}

/* After a validated epoch: a lower loss (by more than min_delta) is the new
 * best, and its weights are kept with restore_best. */
static void track_best(struct cg__fit *f, double val_loss)
{
    if (!(val_loss < f->st.best_loss - f->s->min_delta))
        return;
    f->st.best_loss = val_loss;
    f->st.best_epoch = f->st.epoch;
    if (f->best)
        memcpy(f->best->data, f->eng.flat->data, f->best->size * sizeof *f->best->data);
}

/* The epoch's row: its figures, validation, the best, the checkpoint, the
 * callback. */
static cg_status end_epoch(struct cg__fit *f)
{
    const struct cg_fit_settings *s = f->s;
    struct cg__state *t = &f->st;
    struct cg_eval_result e = {(double)NAN, (double)NAN, 0};
    cg_status st;

    struct cg_fit_epoch row = {
        .epoch = t->epoch + 1,
        .step = t->step,
        .lr = cg_optim_lr(f->opt),
        .train_loss = t->rows ? t->loss_sum / (double)t->rows : (double)NAN,
        .train_acc = f->eng.classify && t->rows ? (double)t->correct / (double)t->rows
                                                : (double)NAN,
        .skipped = t->skipped,
    };
    if (f->val && (st = cg__engine_evaluate(&f->eng, f->val, &f->r->norm, NULL, &e)) != CG_OK) {
        cg__errmsg_prefix("validation");
        return st;
    }
    row.val_loss = e.loss;
    row.val_acc = e.accuracy;
    row.seconds = cg__fit_now() - f->epoch_t0;
    if ((st = cg__history_add(f, &row)) != CG_OK)
        return st;
    t->epoch++;
    t->loss_sum = 0;
    t->correct = t->rows = t->skipped = 0;
    t->seconds = 0;
    f->epoch_t0 = cg__fit_now();
    if (f->val)
        track_best(f, row.val_loss);
    if (s->checkpoint && (st = save_checkpoint(f, s->checkpoint)) != CG_OK)
        return st;
    enum cg_fit_action a = s->on_epoch && cg__fit_writes(f)
                               ? s->on_epoch(f->r->history, f->r->n_history, s->user)
                               : CG_FIT_CONTINUE;
    if ((st = cg__fit_share_action(f, &a)) != CG_OK)
        return st;
    if (a == CG_FIT_ABORT)
        return aborted(f, true);
    if (a == CG_FIT_STOP)
        end_run(f, CG_FIT_END_REQUEST);
    return CG_OK;
}

/* One epoch, or what is left of it after a resume. */
static cg_status run_epoch(struct cg__fit *f)
{
    cg_status st;
    int rows;
    while ((rows = cg__engine_next_train(&f->eng, f->loader)) > 0)
        if ((st = run_batch(f, rows)) != CG_OK || f->ended)
            return st;
    return end_epoch(f);
}

/* Whether patience has run out: `patience` epochs since the best. */
static bool patience_out(const struct cg__fit *f)
{
    return f->s->patience > 0 && f->st.epoch - f->st.best_epoch >= f->s->patience;
}

static cg_status run_epochs(struct cg__fit *f)
{
    const struct cg_fit_settings *s = f->s;
    cg_status st = CG_OK;
    while (!f->ended && st == CG_OK) {
        if (s->max_steps && f->st.step >= s->max_steps)
            end_run(f, CG_FIT_END_MAX_STEPS);
        else if (f->st.epoch >= s->epochs)
            end_run(f, CG_FIT_END_DONE);
        else if (patience_out(f))
            end_run(f, CG_FIT_END_EARLY);
        else
            st = run_epoch(f);
    }
    return st;
}

/* ---- the end ---------------------------------------------------------------------- */

/* A stop request always leaves a checkpoint (checkpoint, else
 * stop_checkpoint); max_steps only when checkpoints were asked for. The
 * epoch's end wrote one already for the other ends. */
static const char *stop_checkpoint(const struct cg__fit *f)
{
    if (f->r->end == CG_FIT_END_REQUEST)
        return f->s->checkpoint ? f->s->checkpoint : f->s->stop_checkpoint;
    if (f->r->end == CG_FIT_END_MAX_STEPS)
        return f->s->checkpoint;
    return NULL;
}

static cg_status finish(struct cg__fit *f)
{
    struct cg_fit_result *r = f->r;
    const char *ck = stop_checkpoint(f);
    cg_status st;

    if (ck && (st = save_checkpoint(f, ck)) != CG_OK)
        return st;
    /* After the checkpoint, which must hold where the run stands. */
    if (f->best && f->st.best_epoch > 0) {
        memcpy(f->eng.flat->data, f->best->data, f->best->size * sizeof *f->best->data);
        r->restored = true;
    }
    if (f->val && r->end != CG_FIT_END_REQUEST &&
        (st = cg__engine_evaluate(&f->eng, f->val, &r->norm, NULL, &r->val)) != CG_OK) {
        cg__errmsg_prefix("validation");
        return st;
    }
    if (f->s->out) {
        st = cg__fit_writes(f) ? cg__save_model(f, f->s->out, NULL, 0, NULL, 0) : CG_OK;
        return cg__fit_share_status(f, st);
    }
    return CG_OK;
}

/* ---- the call --------------------------------------------------------------------- */

static void teardown(struct cg__fit *f)
{
    struct cg_fit_result *r = f->r;
    r->epochs = f->st.epoch;
    r->steps = f->st.step;
    r->skipped = f->st.skipped;
    for (int i = 0; i < r->n_history; i++)
        r->skipped += r->history[i].skipped;
    r->best_epoch = f->st.best_epoch;
    r->best_val_loss = f->st.best_epoch ? f->st.best_loss : (double)NAN;
    cg__engine_deinit(&f->eng);
    cg_loader_free(f->loader);
    cg_tensor_free(f->best);
    cg_dataset_free(f->split[0]);
    cg_dataset_free(f->split[1]);
    cg__meta_deinit(&f->meta);
}

cg_status cg_fit(cg_model *m, cg_optim *opt, const cg_dataset *train_set,
                 const cg_dataset *val_set, const struct cg_fit_settings *settings,
                 struct cg_fit_result *r)
{
    struct cg__fit f;
    cg_status st;
    double t0 = cg__fit_now();

    if (!r)
        return cg__fail(CG_ERR_ARG, "cg_fit: NULL result");
    memset(r, 0, sizeof *r);
    r->end = CG_FIT_END_ERROR;
    r->best_val_loss = (double)NAN;
    r->val = (struct cg_eval_result){(double)NAN, (double)NAN, 0};
    /* A NULL model or optimizer is what a failed constructor returned: its
     * message is kept, as ops keep the first error of a forward pass. */
    if (!m || !opt || !train_set || !settings)
        return cg_errcode() != CG_OK ? cg_errcode()
                                     : cg__fail(CG_ERR_ARG, "cg_fit: NULL model, optimizer, "
                                                "data set or settings");
    memset(&f, 0, sizeof f);
    f.model = m;
    f.opt = opt;
    f.s = settings;
    f.r = r;
    if ((st = setup(&f, train_set, val_set)) == CG_OK && (st = run_epochs(&f)) == CG_OK)
        st = finish(&f);
    if (st != CG_OK && r->end != CG_FIT_END_NONFINITE)
        r->end = CG_FIT_END_ERROR;
    r->seconds = cg__fit_now() - t0;
    teardown(&f);
    return st;
}

void cg_fit_result_deinit(struct cg_fit_result *r)
{
    if (!r)
        return;
    cg__free(r->history);
    cg_norm_deinit(&r->norm);
    memset(r, 0, sizeof *r);
}
