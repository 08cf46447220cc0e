/*
 * `cgrad info MODEL`: what a model file (or checkpoint) holds: the
 * architecture module by module, the parameter count, the classes, the
 * normalization, the input and the training settings from its metadata.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "model_file.h"
#include "options.h"

static const char *module_text(const struct cg_module *m, char *buf, size_t n)
{
    switch (m->kind) {
    case CG_MOD_LINEAR:
        snprintf(buf, n, "Linear(%d, %d)", m->in, m->out);
        break;
    case CG_MOD_DROPOUT:
        snprintf(buf, n, "Dropout(p=%g)", m->arg);
        break;
    default:
        if (m->act == CG_ACT_LEAKY_RELU)
            snprintf(buf, n, "leaky_relu(%g)", m->arg);
        else
            snprintf(buf, n, "%s", cg_act_name(m->act));
    }
    return buf;
}

/* "zscore over 784 features" from the stored normalization. */
static void norm_text(const struct cli_model_file *mf, char *buf, size_t n)
{
    if (!mf->meta.normalization)
        snprintf(buf, n, "not recorded");
    else if (mf->norm.kind == CG_NORM_NONE || mf->norm.n == 0)
        snprintf(buf, n, "none");
    else
        snprintf(buf, n, "%s over %d features", cg_norm_kind_name(mf->norm.kind), mf->norm.n);
}

/* "input: 4 features (sepal_length, ...)": the stored names, the first few. */
static void print_features(const struct cli_model_file *mf)
{
    enum { SHOWN = 8 };
    int n = mf->meta.n_features;
    printf("input: %d features", cg_model_input_size(mf->model));
    for (int i = 0; i < n && i < SHOWN; i++)
        printf("%s%s", i ? ", " : " (", mf->meta.features[i]);
    if (n > SHOWN)
        printf(", ... %d more", n - SHOWN);
    printf("%s\n", n ? ")" : "");
}

static void print_text(const struct cli_model_file *mf, const char *spec)
{
    char buf[128];
    int n_mod = 0;
    const struct cg_module *mods = cg_model_modules(mf->model, &n_mod);
    printf("file: %s\n", mf->path);
    printf("architecture: %s\n", spec);
    for (int i = 0; i < n_mod; i++)
        printf("  (%d) %s\n", mods[i].index, module_text(&mods[i], buf, sizeof buf));
    printf("parameters: %zu\n", cg_model_num_params(mf->model));
    printf("task: %s\n", mf->classify ? "classification" : "regression");
    if (mf->classify) {
        int k = cg_model_output_size(mf->model);
        printf("classes (%d):", k);
        for (int c = 0; c < k; c++)
            printf("%s %s", c ? "," : "", cli_model_class(mf, c, buf, sizeof buf));
        printf("\n");
    }
    if (mf->width)
        printf("input: images %dx%d, %d channel%s\n", mf->width, mf->height, mf->channels,
               mf->channels == 1 ? "" : "s");
    else
        print_features(mf);
    norm_text(mf, buf, sizeof buf);
    printf("normalization: %s\n", buf);
    if (mf->meta.version)
        printf("written by: cgrad %s\n", mf->meta.version);
    if (mf->meta.n_extra)
        printf("training settings:\n");
    /* A setting left unset (no --label, no --test) is stored empty: not shown. */
    for (int i = 0; i < mf->meta.n_extra; i++)
        if (strncmp(mf->meta.extra[i].key, "checkpoint.history", 18) != 0 &&
            mf->meta.extra[i].value[0])
            printf("  %s: %s\n", mf->meta.extra[i].key, mf->meta.extra[i].value);
}

static void print_json(const struct cli_model_file *mf, const char *spec)
{
    struct cli_json j;
    char buf[128];
    int n_mod = 0;
    const struct cg_module *mods = cg_model_modules(mf->model, &n_mod);
    cli_json_init(&j, stdout);
    cli_json_begin_obj(&j);
    cli_json_key(&j, "file");
    cli_json_str(&j, mf->path);
    cli_json_key(&j, "spec");
    cli_json_str(&j, spec);
    cli_json_key(&j, "modules");
    cli_json_begin_arr(&j);
    for (int i = 0; i < n_mod; i++)
        cli_json_str(&j, module_text(&mods[i], buf, sizeof buf));
    cli_json_end(&j);
    cli_json_key(&j, "parameters");
    cli_json_int(&j, (long long)cg_model_num_params(mf->model));
    cli_json_key(&j, "task");
    cli_json_str(&j, mf->classify ? "classification" : "regression");
    cli_json_key(&j, "inputs");
    cli_json_int(&j, cg_model_input_size(mf->model));
    cli_json_key(&j, "outputs");
    cli_json_int(&j, cg_model_output_size(mf->model));
    if (mf->meta.features) {
        cli_json_key(&j, "features");
        cli_json_begin_arr(&j);
        for (int i = 0; i < mf->meta.n_features; i++)
            cli_json_str(&j, mf->meta.features[i]);
        cli_json_end(&j);
    }
    if (mf->classify) {
        cli_json_key(&j, "classes");
        cli_json_begin_arr(&j);
        for (int c = 0; c < cg_model_output_size(mf->model); c++)
            cli_json_str(&j, cli_model_class(mf, c, buf, sizeof buf));
        cli_json_end(&j);
    }
    norm_text(mf, buf, sizeof buf);
    cli_json_key(&j, "normalization");
    cli_json_str(&j, buf);
    cli_json_key(&j, "version");
    cli_json_str(&j, mf->meta.version);
    cli_json_key(&j, "settings");
    cli_json_begin_obj(&j);
    for (int i = 0; i < mf->meta.n_extra; i++)
        if (strncmp(mf->meta.extra[i].key, "checkpoint.history", 18) != 0) {
            cli_json_key(&j, mf->meta.extra[i].key);
            cli_json_str(&j, mf->meta.extra[i].value);
        }
    cli_json_end(&j);
    cli_json_end(&j);
}

int cli_info(int argc, char **argv)
{
    struct cli_settings s;
    struct cli_model_file mf;
    char spec[CG_NN_SPEC_MAX];
    cli_settings_defaults(&s);
    int rc = cli_parse(CLI_CMD_INFO, argc, argv, &s);
    if (rc != CLI_OK)
        return rc < 0 ? CLI_OK : rc;
    if ((rc = cli_model_open(&mf, s.positional[0])) == CLI_OK) {
        cg_model_spec(mf.model, spec, sizeof spec);
        if (s.json)
            print_json(&mf, spec);
        else
            print_text(&mf, spec);
    }
    cli_model_close(&mf);
    return rc;
}
