/*
 * What `cgrad train` adds to the library's run: the facts only it knows
 * for the model file, the options' names for the library's messages, and
 * the final result on stdout (see train.h).
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "train.h"

/* ---- metadata ------------------------------------------------------------- */

/* What the library's messages call each setting (a refused resume names
 * the option to change back). */
const struct cg_meta_kv cli_setting_names[] = {
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
    {"restore_best", "--restore-best"},
    {"epochs", "--epochs"},
    {"threads", "--threads"},
    {"patience", "--patience"},
    {"deterministic", "--deterministic"},
};
const int cli_n_setting_names = (int)(sizeof cli_setting_names / sizeof cli_setting_names[0]);

/* Metadata must be UTF-8 and a path or a column name need not be: a byte
 * that is not becomes U+FFFD in the file (the run itself reads the real
 * name), rather than a model refused at the end of the training. */
static void add_meta(struct run *r, const char *key, const char *value)
{
    if (r->n_meta >= MAX_META)
        return;
    size_t need = cg_utf8_repair(NULL, 0, value) + 1;
    char *text = malloc(need);
    if (text)
        cg_utf8_repair(text, need, value);
    r->meta_text[r->n_meta] = text;
    /* out of memory: the value as it is (the save names it if it fails) */
    r->meta[r->n_meta] = (struct cg_meta_kv){key, text ? text : value};
    r->n_meta++;
}

/* The facts only the command line knows; the library adds the settings.
 * Only facts that do not depend on how the run was split into sessions,
 * so a resumed run writes the same model file as an unbroken one. */
void cli_train_build_meta(struct run *r)
{
    const struct cli_settings *s = &r->s;
    int w, h, c;
    add_meta(r, "data", r->data_real);
    add_meta(r, "data_format", cli_format_names[r->format]);
    add_meta(r, "label", s->label ? s->label : "");
    add_meta(r, "test", s->test ? s->test : "");
    if (cg_dataset_image_shape(r->data, &w, &h, &c))
        snprintf(r->image_size, sizeof r->image_size, "%dx%dx%d", w, h, c);
    add_meta(r, "image_size", r->image_size);
}

const char *cli_train_ckpt_path(struct run *r)
{
    if (r->s.checkpoint)
        return r->s.checkpoint;
    if (!r->ckpt_default) {
        size_t n = cli_stop_checkpoint(r->s.out, NULL, 0) + 1;
        if ((r->ckpt_default = malloc(n)))
            cli_stop_checkpoint(r->s.out, r->ckpt_default, n);
    }
    return r->ckpt_default ? r->ckpt_default : "cgrad.ckpt.safetensors";
}

/* ---- results ------------------------------------------------------------------ */

static const char *end_word(enum cg_fit_end end)
{
    switch (end) {
    case CG_FIT_END_EARLY:     return "early";
    case CG_FIT_END_MAX_STEPS: return "steps";
    case CG_FIT_END_REQUEST:   return "interrupted";
    default:                   return "done";
    }
}

/* The final figures on the test set: cg_fit's validation figures when the
 * test set was its validation data, else those of the evaluation after. */
static const struct cg_eval_result *test_figures(const struct run *r)
{
    if (!r->test)
        return NULL;
    return r->s.val_split > 0 ? &r->test_result : &r->res.val;
}

void cli_train_point_fill(const struct run *r)
{
    const struct cg_fit_result *res = &r->res;
    const struct cg_fit_epoch *last = res->n_history ? &res->history[res->n_history - 1] : NULL;
    *r->point = (struct cli_train_point){res->epochs,
                                         last ? last->train_loss : (double)NAN,
                                         last ? last->train_acc : (double)NAN,
                                         res->val.loss, res->val.accuracy, res->seconds,
                                         r->point->watch};
}

void cli_train_print_json(const struct run *r)
{
    struct cli_json j;
    const struct cg_fit_result *res = &r->res;
    const struct cg_fit_epoch *last = res->n_history ? &res->history[res->n_history - 1] : NULL;
    const struct cg_eval_result *test = test_figures(r);
    bool val = r->s.val_split > 0;
    cli_json_init(&j, stdout);
    cli_json_begin_obj(&j);
    cli_json_key(&j, "task");
    cli_json_str(&j, r->classify ? "classification" : "regression");
    cli_json_key(&j, "epochs");
    cli_json_int(&j, res->epochs);
    cli_json_key(&j, "steps");
    cli_json_int(&j, res->steps);
    cli_json_key(&j, "stopped");
    cli_json_str(&j, end_word(res->end));
    cli_json_key(&j, "best_epoch");
    if (res->best_epoch)
        cli_json_int(&j, res->best_epoch);
    else
        cli_json_null(&j);
    cli_json_key(&j, "restored_best");
    cli_json_bool(&j, res->restored);
    cli_json_key(&j, "skipped");
    cli_json_int(&j, res->skipped);
    cli_json_key(&j, "seconds");
    cli_json_num(&j, res->seconds);
    cli_json_key(&j, "train_loss");
    cli_json_num(&j, last ? last->train_loss : (double)NAN);
    cli_json_key(&j, "train_accuracy");
    cli_json_num(&j, last ? last->train_acc : (double)NAN);
    cli_json_key(&j, "val_loss");
    cli_json_num(&j, val ? res->val.loss : (double)NAN);
    cli_json_key(&j, "val_accuracy");
    cli_json_num(&j, val ? res->val.accuracy : (double)NAN);
    cli_json_key(&j, "test_loss");
    cli_json_num(&j, test ? test->loss : (double)NAN);
    cli_json_key(&j, "test_accuracy");
    cli_json_num(&j, test ? test->accuracy : (double)NAN);
    cli_json_key(&j, "processes");
    cli_json_int(&j, cg_dist_size(r->dist));
    cli_json_key(&j, "parameters");
    cli_json_int(&j, (long long)cg_model_num_params(r->model));
    cli_json_key(&j, "spec");
    cli_json_str(&j, r->spec);
    cli_json_key(&j, "model");
    cli_json_str(&j, r->s.out);
    cli_json_key(&j, "checkpoint");
    cli_json_str(&j, res->checkpoint ? res->checkpoint : r->s.checkpoint);
    cli_json_key(&j, "metrics");
    cli_json_str(&j, r->s.metrics);
    cli_json_key(&j, "plot");
    cli_json_str(&j, r->s.plot);
    cli_json_end(&j);
}

/* "<what> loss 0.1234  accuracy 0.9667" */
static void print_figures(const struct run *r, const char *what, double loss, double acc)
{
    printf("%s loss %.4f", what, loss);
    if (r->classify)
        printf("  accuracy %.4f", acc);
    printf("\n");
}

void cli_train_print_text(const struct run *r)
{
    const struct cg_fit_result *res = &r->res;
    const struct cg_fit_epoch *last = res->n_history ? &res->history[res->n_history - 1] : NULL;
    const struct cg_eval_result *test = test_figures(r);
    printf("trained %s: %d epochs, %ld steps, %.1f s\n", r->spec, res->epochs, res->steps,
           res->seconds);
    if (res->end == CG_FIT_END_EARLY) {
        printf("stopped early: epoch %d's validation loss was not beaten", res->best_epoch);
        if (r->s.min_delta > 0)
            printf(" by more than %g", r->s.min_delta);
        printf(" in %d epoch%s\n", r->s.patience, r->s.patience == 1 ? "" : "s");
    }
    if (res->restored)
        printf("restored the weights of epoch %d (validation loss %.4f)\n", res->best_epoch,
               res->best_val_loss);
    if (res->skipped)
        printf("skipped %ld batches whose loss or gradient was not finite\n", res->skipped);
    if (last)
        print_figures(r, "train", last->train_loss, last->train_acc);
    if (r->s.val_split > 0)
        print_figures(r, "validation", res->val.loss, res->val.accuracy);
    if (test)
        print_figures(r, "test", test->loss, test->accuracy);
    printf("model: %s\n", r->s.out);
    if (r->s.checkpoint)
        printf("checkpoint: %s\n", r->s.checkpoint);
    if (r->s.metrics)
        printf("metrics: %s\n", r->s.metrics);
    if (r->s.plot)
        printf("plot: %s\n", r->s.plot);
}
