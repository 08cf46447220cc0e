/*
 * The train layer: cg_fit and cg_evaluate (train/train.h).
 *
 * Fixtures, written to a temporary folder by a seeded generator:
 * - blobs.csv: 3 classes of 4 features around centres 4 apart, noise in
 *   [-1, 1]: separable, so training is well behaved;
 * - noisy.csv / clean.csv: 2 features, class = (a + b > 0), the 40 training
 *   rows with 30% of their labels flipped, the 200 validation rows clean. A
 *   big network memorizes the flips: the validation loss falls for a few
 *   epochs, then turns up (what early stopping is for);
 * - spike.csv: x, y regression rows in pairs, y = 4, 4, 0, 0, 4, 4, ...;
 *   a 1-4-1 model whose 4 hidden units all output big = 2^(max exponent
 *   - 2) and whose output weights are 1 / big predicts 4: a batch of y = 4
 *   has zero gradients, a batch of y = 0 a finite loss (16) and an infinite
 *   gradient of 2.weight (the hidden outputs times 2 * 4 per row).
 */
#define _GNU_SOURCE   /* realpath */
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cg_test.h"

static char dir[64];

/* Paths: at(0), at(1) and at(2) are for the moment (load, same_file, a
 * check); the settings keep theirs in at(3) and at(4) while runs load. */

#ifdef CG_DOUBLE
#define FLOAT_MAX     DBL_MAX
#define FLOAT_MAX_EXP DBL_MAX_EXP
#else
#define FLOAT_MAX     FLT_MAX
#define FLOAT_MAX_EXP FLT_MAX_EXP
#endif

static const char *at(int k, const char *rel)
{
    return cg_test_path(dir, k, rel);
}

/* ---- fixtures ----------------------------------------------------------------- */

static uint32_t lcg(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return *s >> 8;
}

/* uniform in [-1, 1] */
static double noise(uint32_t *s)
{
    return (double)lcg(s) / (double)(1u << 24) * 2.0 - 1.0;
}

static void write_blobs(const char *name, int n, uint32_t seed)
{
    static const double centre[3][4] = {{0, 0, 0, 0}, {4, 4, 0, 0}, {0, 4, 4, 4}};
    static const char *const names[3] = {"red", "green", "blue"};
    FILE *f = fopen(at(0, name), "w");
    assert_non_null(f);
    fprintf(f, "a,b,c,d,colour\n");
    for (int i = 0; i < n; i++)
        fprintf(f, "%.4f,%.4f,%.4f,%.4f,%s\n", centre[i % 3][0] + noise(&seed),
                centre[i % 3][1] + noise(&seed), centre[i % 3][2] + noise(&seed),
                centre[i % 3][3] + noise(&seed), names[i % 3]);
    assert_int_equal(fclose(f), 0);
}

static void write_halves(const char *name, int n, double flip, uint32_t seed)
{
    FILE *f = fopen(at(0, name), "w");
    assert_non_null(f);
    fprintf(f, "a,b,label\n");
    for (int i = 0; i < n; i++) {
        double a = noise(&seed), b = noise(&seed);
        int c = a + b > 0;
        if ((noise(&seed) + 1) / 2 < flip)
            c = !c;
        fprintf(f, "%.4f,%.4f,%d\n", a, b, c);
    }
    assert_int_equal(fclose(f), 0);
}

static void write_spike(const char *name, int n)
{
    FILE *f = fopen(at(0, name), "w");
    assert_non_null(f);
    fprintf(f, "x,y\n");
    for (int i = 0; i < n; i++)
        fprintf(f, "%d.5,%d\n", i, (i / 2) % 2 ? 0 : 4);
    assert_int_equal(fclose(f), 0);
}

static int setup(void **state)
{
    (void)state;
    if (cg_test_dir_make(dir, sizeof dir, "cg_train_") != 0)
        return -1;
    write_blobs("blobs.csv", 150, 1);
    write_halves("noisy.csv", 40, 0.3, 3);
    write_halves("clean.csv", 200, 0.0, 4);
    write_spike("spike.csv", 8);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return cg_test_dir_remove(dir);
}

/* ---- helpers -------------------------------------------------------------------- */

static cg_dataset *load(const char *name, cg_task task)
{
    struct cg_csv_options o = {0};
    o.task = task;
    cg_dataset *ds = cg_csv_load(at(0, name), &o);
    if (!ds)
        fail_msg("%s: %s", name, cg_errmsg());
    return ds;
}

/* A model of this spec with weights drawn from seed, as `cgrad train` draws them. */
static cg_model *new_model(const char *spec, uint64_t seed)
{
    cg_rng rng;
    cg_rng_seed(&rng, seed);
    cg_model *m = cg_model_from_spec(spec);
    assert_non_null(m);
    assert_int_equal(cg_model_init(m, CG_INIT_DEFAULT, &rng), CG_OK);
    return m;
}

static cg_optim *new_adam(cg_model *m, double lr)
{
    struct cg_adam_params p = cg_adam_defaults();
    cg_tensor *flat = cg_model_flat(m);
    p.lr = lr;
    cg_optim *o = cg_adam_new(&flat, 1, &p);
    assert_non_null(o);
    return o;
}

static bool same_params(cg_model *a, cg_model *b)
{
    const cg_tensor *x = cg_model_flat(a), *y = cg_model_flat(b);
    return x->size == y->size && memcmp(x->data, y->data, x->size * sizeof *x->data) == 0;
}

static bool same_file(const char *a, const char *b)
{
    FILE *fa = fopen(at(0, a), "rb"), *fb = fopen(at(1, b), "rb");
    bool same = fa && fb;
    while (same) {
        int ca = fgetc(fa), cb = fgetc(fb);
        same = ca == cb;
        if (ca == EOF || cb == EOF)
            break;
    }
    if (fa)
        fclose(fa);
    if (fb)
        fclose(fb);
    return same;
}

/* Two histories alike in every figure but the wall-clock seconds. */
static void assert_same_history(const struct cg_fit_result *a, const struct cg_fit_result *b)
{
    assert_int_equal(a->n_history, b->n_history);
    for (int i = 0; i < a->n_history; i++) {
        const struct cg_fit_epoch x = a->history[i], y = b->history[i];
        /* bits: a NaN figure must be NaN in both */
        if (x.epoch != y.epoch || x.step != y.step || x.skipped != y.skipped ||
            memcmp(&x.lr, &y.lr, sizeof x.lr) || memcmp(&x.train_loss, &y.train_loss, 8) ||
            memcmp(&x.train_acc, &y.train_acc, 8) || memcmp(&x.val_loss, &y.val_loss, 8) ||
            memcmp(&x.val_acc, &y.val_acc, 8))
            fail_msg("epoch %d: loss %.17g acc %.17g val %.17g against loss %.17g acc %.17g "
                     "val %.17g", x.epoch, x.train_loss, x.train_acc, x.val_loss, y.train_loss,
                     y.train_acc, y.val_loss);
    }
}

/* A run of spec on blobs.csv with s; the model and result stay the caller's. */
static cg_status fit_blobs(cg_model *m, const struct cg_fit_settings *s, struct cg_fit_result *r)
{
    cg_dataset *ds = load("blobs.csv", CG_TASK_CLASSIFY);
    cg_optim *o = new_adam(m, 0.01);
    cg_status st = cg_fit(m, o, ds, NULL, s, r);
    cg_optim_free(o);
    cg_dataset_free(ds);
    return st;
}

/* ---- the same as `cgrad train` ----------------------------------------------------- */

static const char *cgrad_program(void)
{
    static char path[PATH_MAX];
    const char *build = getenv("BUILD");
    char rel[PATH_MAX];
    snprintf(rel, sizeof rel, "%s/cgrad", build && *build ? build : "build");
    return realpath(rel, path) && access(path, X_OK) == 0 ? path : NULL;
}

static void test_fit_writes_the_bits_of_cgrad_train(void **state)
{
    (void)state;
#ifdef CG_DOUBLE
    cg_test_skipping("the cgrad program is the float build: compared in the float run");
    skip();
#endif
    const char *cgrad = cgrad_program();
    if (!cgrad) {
        cg_test_skipping("no build/cgrad to compare with");
        skip();
    }
    char cmd[PATH_MAX * 2], data[PATH_MAX];
    snprintf(cmd, sizeof cmd, "cd %s && %s train blobs.csv --hidden 16,8 --dropout 0.1 "
             "--epochs 6 --batch 16 --val-split 0.2 --optim sgd --momentum 0.9 --lr 0.05 "
             "--schedule cosine --warmup 5 --clip-norm 1 --seed 7 --patience 2 --restore-best "
             "--quiet --out cli.st >/dev/null", dir, cgrad);
    assert_int_equal(system(cmd), 0);

    /* The same run through the library, as a program that embeds it would
     * write it, with the facts the command line records about its data. */
    assert_non_null(realpath(at(0, "blobs.csv"), data));
    struct cg_meta_kv meta[] = {{"data", data}, {"data_format", "csv"}, {"label", ""},
                                {"test", ""}, {"image_size", ""}};
    struct cg_arch arch = cg_arch_default(4, (int[]){4, 16, 8, 3});
    arch.dropout = 0.1;
    cg_model *m = cg_model_new(&arch);
    cg_rng rng;
    cg_rng_seed(&rng, 7);
    assert_int_equal(cg_model_init(m, CG_INIT_DEFAULT, &rng), CG_OK);
    cg_tensor *flat = cg_model_flat(m);
    struct cg_sgd_params sgd = {0.05, 0.9, 0, 0, false};
    cg_optim *o = cg_sgd_new(&flat, 1, &sgd);
    struct cg_fit_settings s = cg_fit_defaults();
    s.epochs = 6, s.batch = 16, s.val_split = 0.2, s.seed = 7;
    s.schedule = (struct cg_schedule){CG_SCHEDULE_COSINE, 0.05, 1, 0.1, 6, 0, 0};
    s.warmup = 5, s.clip_norm = 1, s.patience = 2, s.restore_best = true;
    s.meta = meta, s.n_meta = 5, s.out = at(3, "lib.st");
    cg_dataset *ds = load("blobs.csv", CG_TASK_CLASSIFY);
    struct cg_fit_result r;
    assert_int_equal(cg_fit(m, o, ds, NULL, &s, &r), CG_OK);
    assert_true(same_file("cli.st", "lib.st"));
    cg_fit_result_deinit(&r);
    cg_dataset_free(ds);
    cg_optim_free(o);
    cg_model_free(m);
}

/* ---- early stopping ------------------------------------------------------------------ */

static void test_early_stopping_stops_after_patience_with_the_best_weights(void **state)
{
    (void)state;
    cg_dataset *train = load("noisy.csv", CG_TASK_CLASSIFY), *val = load("clean.csv",
                                                                         CG_TASK_CLASSIFY);
    struct cg_fit_settings s = cg_fit_defaults();
    s.epochs = 60, s.batch = 8, s.patience = 5, s.restore_best = true;
    cg_model *m = new_model("2-64-64-2", 1);
    cg_optim *o = new_adam(m, 0.01);
    struct cg_fit_result r;
    assert_int_equal(cg_fit(m, o, train, val, &s, &r), CG_OK);

    /* It stopped early, `patience` epochs after the lowest validation loss,
     * and no epoch after that one improved on it. */
    assert_int_equal(r.end, CG_FIT_END_EARLY);
    assert_true(r.best_epoch >= 1 && r.best_epoch < 60 - 5);
    assert_int_equal(r.epochs, r.best_epoch + 5);
    assert_int_equal(r.n_history, r.epochs);
    double best = r.history[r.best_epoch - 1].val_loss;
    for (int e = 1; e <= r.epochs; e++)
        assert_true(e == r.best_epoch || r.history[e - 1].val_loss > best ||
                    (e < r.best_epoch && r.history[e - 1].val_loss >= best));
    assert_true(r.history[r.epochs - 1].val_loss > best);   /* it turned up */
    assert_true(r.restored);
    assert_true(r.val.loss == best);    /* the final figures are the best epoch's */

    /* The restored weights are those of a run that ended at the best epoch. */
    cg_model *ref = new_model("2-64-64-2", 1);
    cg_optim *ro = new_adam(ref, 0.01);
    struct cg_fit_result rr;
    s.epochs = r.best_epoch, s.patience = 0, s.restore_best = false;
    assert_int_equal(cg_fit(ref, ro, train, val, &s, &rr), CG_OK);
    assert_int_equal(rr.end, CG_FIT_END_DONE);
    assert_true(same_params(m, ref));
    assert_true(rr.val.loss == best);

    cg_fit_result_deinit(&r);
    cg_fit_result_deinit(&rr);
    cg_optim_free(o);
    cg_optim_free(ro);
    cg_model_free(m);
    cg_model_free(ref);
    cg_dataset_free(train);
    cg_dataset_free(val);
}

static void test_min_delta_makes_small_gains_no_gain(void **state)
{
    (void)state;
    cg_dataset *train = load("noisy.csv", CG_TASK_CLASSIFY), *val = load("clean.csv",
                                                                         CG_TASK_CLASSIFY);
    struct cg_fit_settings s = cg_fit_defaults();
    s.epochs = 60, s.batch = 8, s.patience = 3, s.min_delta = 10;   /* no gain is that large */
    cg_model *m = new_model("2-64-64-2", 1);
    cg_optim *o = new_adam(m, 0.01);
    struct cg_fit_result r;
    assert_int_equal(cg_fit(m, o, train, val, &s, &r), CG_OK);
    /* the first epoch is the best (anything beats no loss at all), the
     * next three gain less than 10: it stops after epoch 4 */
    assert_int_equal(r.best_epoch, 1);
    assert_int_equal(r.epochs, 4);
    assert_int_equal(r.end, CG_FIT_END_EARLY);
    assert_false(r.restored);
    cg_fit_result_deinit(&r);
    cg_optim_free(o);
    cg_model_free(m);
    cg_dataset_free(train);
    cg_dataset_free(val);
}

static void test_early_stopping_needs_validation_data(void **state)
{
    (void)state;
    struct cg_fit_settings s = cg_fit_defaults();
    struct cg_meta_kv names[] = {{"patience", "--patience"}};
    s.patience = 3, s.names = names, s.n_names = 1;
    cg_model *m = new_model("4-3", 1);
    struct cg_fit_result r;
    assert_int_equal(fit_blobs(m, &s, &r), CG_ERR_ARG);
    assert_errmsg_contains("--patience");
    assert_int_equal(r.end, CG_FIT_END_ERROR);
    cg_fit_result_deinit(&r);
    cg_model_free(m);
}

/* ---- what is not finite ------------------------------------------------------------- */

/* spike.csv's model (see the top): 1-4-1, hidden outputs max / 2, output
 * weights 2 / max: the prediction is 4. */
static cg_model *spike_model(void)
{
    cg_model *m = cg_model_from_spec("1-4-1");
    /* a power of two whose inverse is a normal number: w * big is 1 exactly */
    cg_float big = (cg_float)ldexp(1.0, FLOAT_MAX_EXP - 2);
    assert_non_null(m);
    cg_model_zero_grad(m);
    memset(cg_model_flat(m)->data, 0, cg_model_flat(m)->size * sizeof(cg_float));
    for (int j = 0; j < 4; j++) {
        cg_model_param(m, "0.bias")->data[j] = big;
        cg_model_param(m, "2.weight")->data[j] = 1 / big;
    }
    return m;
}

static cg_status fit_spike(cg_model *m, enum cg_nonfinite policy, struct cg_fit_result *r)
{
    cg_dataset *ds = load("spike.csv", CG_TASK_REGRESS);
    cg_optim *o = new_adam(m, 0.01);
    struct cg_fit_settings s = cg_fit_defaults();
    s.epochs = 3, s.batch = 2, s.shuffle = false, s.loss = CG_LOSS_MSE;
    s.normalize = CG_NORM_NONE, s.on_nonfinite = policy;
    cg_status st = cg_fit(m, o, ds, NULL, &s, r);
    cg_optim_free(o);
    cg_dataset_free(ds);
    return st;
}

static void test_nonfinite_gradient_stops_naming_epoch_step_and_parameter(void **state)
{
    (void)state;
    cg_model *m = spike_model(), *before = spike_model();
    struct cg_fit_result r;
    assert_int_equal(fit_spike(m, CG_NONFINITE_STOP, &r), CG_ERR_NUMERIC);
    /* the first batch (y = 4) is a step with zero gradients; the second is
     * infinite in 2.weight only (the hidden layer's gradients are tiny) */
    assert_errmsg_contains("the gradient of 2.weight is infinite at epoch 1, step 2");
    assert_int_equal(r.end, CG_FIT_END_NONFINITE);
    assert_int_equal(r.steps, 1);
    assert_true(same_params(m, before));   /* zero gradients, then nothing */
    cg_fit_result_deinit(&r);
    cg_model_free(m);
    cg_model_free(before);
}

static void test_nonfinite_loss_stops_naming_the_loss(void **state)
{
    (void)state;
    cg_model *m = spike_model();
    /* an output weight of max makes the prediction overflow */
    cg_model_param(m, "2.weight")->data[0] = FLOAT_MAX;
    struct cg_fit_result r;
    assert_int_equal(fit_spike(m, CG_NONFINITE_STOP, &r), CG_ERR_NUMERIC);
    assert_errmsg_contains("the loss is");
    assert_errmsg_contains("at epoch 1, step 1");
    assert_int_equal(r.steps, 0);
    cg_fit_result_deinit(&r);
    cg_model_free(m);
}

static void test_nonfinite_batches_skipped_and_counted(void **state)
{
    (void)state;
    cg_model *m = spike_model();
    struct cg_fit_result r;
    assert_int_equal(fit_spike(m, CG_NONFINITE_SKIP, &r), CG_OK);
    /* 4 batches an epoch, every other one infinite, 3 epochs */
    assert_int_equal(r.end, CG_FIT_END_DONE);
    assert_int_equal(r.steps, 6);
    assert_int_equal(r.skipped, 6);
    assert_int_equal(r.n_history, 3);
    for (int e = 0; e < 3; e++) {
        assert_int_equal(r.history[e].skipped, 2);
        assert_true(r.history[e].train_loss == 0);   /* the y = 4 batches only */
    }
    cg_fit_result_deinit(&r);
    cg_model_free(m);
}

/* ---- callbacks, stops and resumes ----------------------------------------------------- */

struct watch {
    long stop_at;        /* ask to stop after this step; 0: never */
    long abort_at;       /* abort after this step; 0: never */
    long steps_seen;
    int  epochs_seen;
    long allocs_step2;   /* allocations up to the end of step 2, and of step 8 */
    long allocs_step8;
};

static enum cg_fit_action watch_step(const struct cg_fit_step *st, void *user)
{
    struct watch *w = user;
    w->steps_seen++;
    assert_true(st->done > 0 && st->done <= st->total);
    if (st->step == 2)
        w->allocs_step2 = cg_test_alloc.calls;
    if (st->step == 8)
        w->allocs_step8 = cg_test_alloc.calls;
    if (w->abort_at && st->step == w->abort_at)
        return CG_FIT_ABORT;
    return w->stop_at && st->step == w->stop_at ? CG_FIT_STOP : CG_FIT_CONTINUE;
}

static enum cg_fit_action watch_epoch(const struct cg_fit_epoch *h, int n, void *user)
{
    struct watch *w = user;
    w->epochs_seen++;
    assert_int_equal(h[n - 1].epoch, n);
    return CG_FIT_CONTINUE;
}

/* The settings of the resume tests: 150 blobs, batches of 16 (10 steps an
 * epoch), dropout, shuffled, a schedule and warm-up, validation. */
static struct cg_fit_settings resume_settings(struct watch *w)
{
    struct cg_fit_settings s = cg_fit_defaults();
    s.epochs = 4, s.batch = 16, s.val_split = 0.2, s.seed = 3, s.warmup = 4;
    s.schedule = (struct cg_schedule){CG_SCHEDULE_COSINE, 0, 0, 0, 4, 0, 0};
    s.on_step = watch_step, s.on_epoch = watch_epoch, s.user = w;
    return s;
}

static void test_stop_request_checkpoints_and_resumes_bit_identical(void **state)
{
    (void)state;
    struct watch w = {0};
    struct cg_fit_settings s = resume_settings(&w);
    struct cg_fit_result whole, part, rest;

    cg_model *a = new_model("4-8-3:dropout=0.2", 3);
    assert_int_equal(fit_blobs(a, &s, &whole), CG_OK);
    assert_int_equal(w.steps_seen, 32);    /* 120 training rows: 8 batches an epoch */
    assert_int_equal(w.epochs_seen, 4);

    /* stopped in the middle of the second epoch, from the step callback */
    w = (struct watch){.stop_at = 13};
    s.stop_checkpoint = at(3, "stop.ckpt");
    cg_model *b = new_model("4-8-3:dropout=0.2", 3);
    assert_int_equal(fit_blobs(b, &s, &part), CG_OK);
    assert_int_equal(part.end, CG_FIT_END_REQUEST);
    assert_int_equal(part.steps, 13);
    assert_int_equal(part.epochs, 1);
    assert_string_equal(part.checkpoint, at(2, "stop.ckpt"));
    assert_true(isnan(part.val.loss));   /* no final figures after a stop request */

    /* resumed: the same weights, and the interrupted epoch's figures whole */
    w = (struct watch){0};
    s.stop_checkpoint = NULL;
    s.resume = at(3, "stop.ckpt");
    cg_model *c = new_model("4-8-3:dropout=0.2", 99);   /* weights from the checkpoint */
    assert_int_equal(fit_blobs(c, &s, &rest), CG_OK);
    assert_int_equal(w.steps_seen, 32 - 13);
    assert_true(same_params(a, c));
    assert_same_history(&whole, &rest);
    assert_true(whole.val.loss == rest.val.loss);

    cg_fit_result_deinit(&whole);
    cg_fit_result_deinit(&part);
    cg_fit_result_deinit(&rest);
    cg_model_free(a);
    cg_model_free(b);
    cg_model_free(c);
}

static void test_checkpoint_every_n_steps_and_abort(void **state)
{
    (void)state;
    struct watch w = {0};
    struct cg_fit_settings s = resume_settings(&w);
    struct cg_fit_result whole, part, rest;

    cg_model *a = new_model("4-8-3:dropout=0.2", 3);
    assert_int_equal(fit_blobs(a, &s, &whole), CG_OK);

    /* checkpoints every 3 steps; aborted after step 11: the last checkpoint
     * is step 9's, and the abort writes nothing */
    w = (struct watch){.abort_at = 11};
    s.checkpoint = at(3, "steps.ckpt"), s.checkpoint_steps = 3, s.out = at(4, "never.st");
    cg_model *b = new_model("4-8-3:dropout=0.2", 3);
    assert_int_equal(fit_blobs(b, &s, &part), CG_ERR_STATE);
    assert_errmsg_contains("step callback");
    assert_int_equal(part.end, CG_FIT_END_ERROR);
    assert_int_equal(access(at(2, "never.st"), F_OK), -1);
    cg_safetensors *ck = cg_safetensors_load(at(2, "steps.ckpt"));
    assert_non_null(ck);
    assert_string_equal(cg_safetensors_meta(ck, "checkpoint.step"), "9");
    cg_safetensors_free(ck);

    w = (struct watch){0};
    s.resume = s.checkpoint, s.checkpoint_steps = 0, s.out = NULL;
    cg_model *c = new_model("4-8-3:dropout=0.2", 5);
    assert_int_equal(fit_blobs(c, &s, &rest), CG_OK);
    assert_int_equal(w.steps_seen, 32 - 9);
    assert_true(same_params(a, c));
    assert_same_history(&whole, &rest);

    cg_fit_result_deinit(&whole);
    cg_fit_result_deinit(&part);
    cg_fit_result_deinit(&rest);
    cg_model_free(a);
    cg_model_free(b);
    cg_model_free(c);
}

static void test_resume_refuses_a_changed_setting_by_its_name(void **state)
{
    (void)state;
    struct cg_fit_settings s = cg_fit_defaults();
    struct cg_fit_result r;
    struct cg_meta_kv names[] = {{"batch", "--batch"}};
    s.epochs = 1, s.batch = 16, s.val_split = 0.2, s.checkpoint = at(3, "set.ckpt");
    cg_model *m = new_model("4-3", 1);
    assert_int_equal(fit_blobs(m, &s, &r), CG_OK);
    cg_fit_result_deinit(&r);

    s.resume = s.checkpoint, s.checkpoint = NULL, s.epochs = 2;
    s.batch = 8, s.names = names, s.n_names = 1;
    assert_int_equal(fit_blobs(m, &s, &r), CG_ERR_STATE);
    assert_errmsg_contains("set.ckpt: cannot resume: --batch changed ('16' in the checkpoint, "
                           "'8' now)");
    cg_fit_result_deinit(&r);
    /* turning restore_best on finds no best weights to restore: refused */
    s.batch = 16, s.restore_best = true;
    assert_int_equal(fit_blobs(m, &s, &r), CG_ERR_STATE);
    assert_errmsg_contains("restore_best changed");
    cg_fit_result_deinit(&r);
    /* a model file is not a checkpoint */
    s.restore_best = false, s.out = at(4, "plain.st"), s.resume = NULL;
    assert_int_equal(fit_blobs(m, &s, &r), CG_OK);
    cg_fit_result_deinit(&r);
    s.resume = at(4, "plain.st"), s.out = NULL;
    assert_int_equal(fit_blobs(m, &s, &r), CG_ERR_FORMAT);
    assert_errmsg_contains("not a checkpoint");
    cg_fit_result_deinit(&r);
    cg_model_free(m);
}

/* Copy the checkpoint at `from` to `to` with metadata `key` set to value. */
static void rewrite_checkpoint(const char *from, const char *to, const char *key,
                               const char *value)
{
    cg_safetensors *st = cg_safetensors_load(from);
    assert_non_null(st);
    int n = cg_safetensors_count(st), n_meta = cg_safetensors_meta_count(st);
    struct cg_named_tensor t[64];
    struct cg_meta_kv kv[64];
    assert_true(n <= 64 && n_meta <= 64);
    for (int i = 0; i < n; i++)
        t[i] = (struct cg_named_tensor){cg_safetensors_name(st, i), cg_safetensors_tensor(st, i)};
    for (int i = 0; i < n_meta; i++) {
        kv[i] = cg_safetensors_meta_at(st, i);
        if (strcmp(kv[i].key, key) == 0)
            kv[i].value = value;
    }
    assert_int_equal(cg_safetensors_save(to, t, n, kv, n_meta), CG_OK);
    cg_safetensors_free(st);
}

static void test_resume_refuses_counters_out_of_range(void **state)
{
    (void)state;
    static const struct {
        const char *key, *value;
    } bad[] = {
        {"checkpoint.step", "9223372036854775807"},
        {"checkpoint.step", "-1"},
        {"checkpoint.epoch", "-3"},
        {"checkpoint.epoch", "2147483647"},
        {"checkpoint.optim_steps", "9223372036854775807"},
        {"checkpoint.loader", "1 2 3"},
        {"checkpoint.epoch_sums", "0.5 9 3 0 0"},      /* more right than rows */
        {"checkpoint.epoch_sums", "0.5 1.5 3 0 0"},
        {"checkpoint.best", "7 0.25"},                 /* after the epochs done */
    };
    struct cg_fit_settings s = cg_fit_defaults();
    struct cg_fit_result r;
    s.epochs = 1, s.batch = 16, s.val_split = 0.2, s.checkpoint = at(3, "good.ckpt");
    cg_model *m = new_model("4-3", 1);
    assert_int_equal(fit_blobs(m, &s, &r), CG_OK);
    cg_fit_result_deinit(&r);
    s.checkpoint = NULL, s.epochs = 2, s.resume = at(4, "bad.ckpt");
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        rewrite_checkpoint(at(3, "good.ckpt"), at(4, "bad.ckpt"), bad[i].key, bad[i].value);
        cg_status st = fit_blobs(m, &s, &r);
        if (st != CG_ERR_FORMAT || !strstr(cg_errmsg(), bad[i].key))
            fail_msg("%s = %s: %s", bad[i].key, bad[i].value, cg_errmsg());
        cg_fit_result_deinit(&r);
    }
    /* the good one resumes */
    s.resume = at(3, "good.ckpt");
    assert_int_equal(fit_blobs(m, &s, &r), CG_OK);
    assert_int_equal(r.epochs, 2);
    cg_fit_result_deinit(&r);
    cg_model_free(m);
}

/* ---- evaluation, memory -------------------------------------------------------------------- */

static void test_evaluate_gives_the_final_validation_figures(void **state)
{
    (void)state;
    cg_dataset *train = load("noisy.csv", CG_TASK_CLASSIFY), *val = load("clean.csv",
                                                                         CG_TASK_CLASSIFY);
    struct cg_fit_settings s = cg_fit_defaults();
    s.epochs = 3, s.batch = 8;
    cg_model *m = new_model("2-8-2", 1);
    cg_optim *o = new_adam(m, 0.01);
    struct cg_fit_result r;
    assert_int_equal(cg_fit(m, o, train, val, &s, &r), CG_OK);
    struct cg_eval_settings es = {&r.norm, CG_LOSS_CROSS_ENTROPY, 64, 1};
    struct cg_eval_result e;
    long confusion[4] = {0};
    assert_int_equal(cg_evaluate(m, val, &es, confusion, &e), CG_OK);
    assert_true(e.loss == r.val.loss);
    assert_true(e.accuracy == r.val.accuracy);
    assert_true(e.loss == r.history[2].val_loss);
    assert_int_equal(e.n, 200);
    assert_int_equal(confusion[0] + confusion[1] + confusion[2] + confusion[3], 200);
    assert_near((double)(confusion[0] + confusion[3]) / 200, e.accuracy, 1e-12);
    cg_fit_result_deinit(&r);
    cg_optim_free(o);
    cg_model_free(m);
    cg_dataset_free(train);
    cg_dataset_free(val);
}

static void test_steps_allocate_nothing(void **state)
{
    (void)state;
    struct watch w = {0};
    struct cg_fit_settings s = resume_settings(&w);
    struct cg_fit_result r;
    s.epochs = 1;
    cg_model *m = new_model("4-8-3:dropout=0.2", 3);
    cg_test_alloc_install(-1, 0);
    assert_int_equal(fit_blobs(m, &s, &r), CG_OK);
    cg_fit_result_deinit(&r);
    cg_test_alloc_remove();
    /* steps 3 to 8, the last of the epoch (its validation comes after) */
    assert_true(w.allocs_step2 > 0);
    assert_int_equal(w.allocs_step8, w.allocs_step2);
    cg_model_free(m);
}

static void test_out_of_memory_at_every_allocation(void **state)
{
    (void)state;
    cg_dataset *ds = load("blobs.csv", CG_TASK_CLASSIFY);
    struct cg_fit_settings s = cg_fit_defaults();
    s.epochs = 2, s.batch = 32, s.val_split = 0.2, s.patience = 1, s.restore_best = true;
    s.checkpoint = at(3, "oom.ckpt"), s.out = at(4, "oom.st");
    cg_model *m = new_model("4-8-3", 1);
    cg_optim *o = new_adam(m, 0.01);
    long n;
    for (n = 0; n < 100000; n++) {
        struct cg_fit_result r;
        cg_test_alloc_install(n, CG_TEST_ALLOC_ONCE);
        cg_status st = cg_fit(m, o, ds, NULL, &s, &r);
        cg_fit_result_deinit(&r);
        cg_test_alloc_remove();
        assert_int_equal(cg_test_alloc.live, 0);
        if (st == CG_OK)
            break;
        if (st != CG_ERR_NOMEM)
            fail_msg("allocation %ld failing gave %s: %s", n, cg_status_str(st), cg_errmsg());
    }
    assert_true(n > 10);
    printf("oom: cg_fit (split, z-score, 2 epochs, validation, early stopping with the best "
           "weights, checkpoints, the model file): %ld allocation points, each failed "
           "cleanly\n", n);
    cg_optim_free(o);
    cg_model_free(m);
    cg_dataset_free(ds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fit_writes_the_bits_of_cgrad_train),
        cmocka_unit_test(test_early_stopping_stops_after_patience_with_the_best_weights),
        cmocka_unit_test(test_min_delta_makes_small_gains_no_gain),
        cmocka_unit_test(test_early_stopping_needs_validation_data),
        cmocka_unit_test(test_nonfinite_gradient_stops_naming_epoch_step_and_parameter),
        cmocka_unit_test(test_nonfinite_loss_stops_naming_the_loss),
        cmocka_unit_test(test_nonfinite_batches_skipped_and_counted),
        cmocka_unit_test(test_stop_request_checkpoints_and_resumes_bit_identical),
        cmocka_unit_test(test_checkpoint_every_n_steps_and_abort),
        cmocka_unit_test(test_resume_refuses_a_changed_setting_by_its_name),
        cmocka_unit_test(test_resume_refuses_counters_out_of_range),
        cmocka_unit_test(test_evaluate_gives_the_final_validation_figures),
        cmocka_unit_test(test_steps_allocate_nothing),
        cmocka_unit_test(test_out_of_memory_at_every_allocation),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
