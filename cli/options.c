/*
 * The option table of every cgrad command, its getopt_long parser, its
 * validation and the --help texts it generates (see options.h).
 */
#define _GNU_SOURCE
#include <assert.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "options.h"

const char *const cli_format_names[] = {"auto", "csv", "idx", "images", NULL};
const char *const cli_task_names[] = {"auto", "classify", "regress", NULL};
const char *const cli_normalize_names[] = {"zscore", "minmax", "none", NULL};
const char *const cli_act_names[] = {"relu", "sigmoid", "tanh", "leaky_relu", NULL};
const char *const cli_loss_names[] = {"auto", "ce", "mse", NULL};
const char *const cli_optim_names[] = {"sgd", "rmsprop", "adagrad", "adam", "adamw", NULL};
const char *const cli_schedule_names[] = {"none", "step", "exp", "cosine", NULL};
const char *const cli_nonfinite_names[] = {"stop", "skip", NULL};

/* ---- the table ---------------------------------------------------------- */

enum kind {
    K_SET,      /* no argument: stores `lo` into an int */
    K_TRUE,     /* no argument: sets a bool */
    K_INT,      /* an int in [lo, hi] */
    K_LONG,     /* a long in [lo, hi] */
    K_U64,      /* an unsigned 64-bit integer */
    K_DOUBLE,   /* a finite number in [lo, hi] (or (lo, hi] with OPEN_LO ...) */
    K_STRING,   /* any non-empty text */
    K_ENUM,     /* one of `choices`, stored as its index */
    K_HIDDEN,   /* "256,128": positive sizes, or "none" */
    K_SIZE      /* "WxH" */
};

enum { OPEN_LO = 1, OPEN_HI = 2 };   /* exclusive bounds of K_DOUBLE */

#define TRAIN CLI_CMD_TRAIN
#define EVAL CLI_CMD_EVAL
#define PREDICT CLI_CMD_PREDICT
#define GRADCHECK CLI_CMD_GRADCHECK
#define INFO CLI_CMD_INFO
#define GRAPH CLI_CMD_GRAPH
#define EXPORT CLI_CMD_EXPORT
#define OFF(field) offsetof(struct cli_settings, field)
#define BIG 1e300

struct opt {
    const char *name;
    enum kind   kind;
    unsigned    cmds;       /* enum cli_command bits */
    size_t      off;        /* where the value goes in cli_settings */
    double      lo, hi;
    unsigned    open;       /* OPEN_LO / OPEN_HI */
    const char *const *choices;
    const char *metavar;
    const char *group;
    const char *help;
};

static const struct opt table[] = {
    /* data */
    {"format", K_ENUM, TRAIN | EVAL, OFF(format), 0, 0, 0, cli_format_names + 1,
     "csv|idx|images", "Data", "kind of DATA (default: detected)"},
    {"label", K_STRING, TRAIN | EVAL, OFF(label), 0, 0, 0, NULL, "COL",
     "Data", "CSV label column, by name or 0-based index (default: the last)"},
    {"task", K_ENUM, TRAIN, OFF(task), 0, 0, 0, cli_task_names + 1, "classify|regress",
     "Data", "default: classify when the labels are names or integers"},
    {"test", K_STRING, TRAIN, OFF(test), 0, 0, 0, NULL, "PATH", "Data",
     "test set, used for validation figures (IDX: the t10k- pair by default)"},
    {"val-split", K_DOUBLE, TRAIN, OFF(val_split), 0, 1, OPEN_HI, NULL, "F", "Data",
     "hold out this share of the training data for validation (default 0)"},
    {"normalize", K_ENUM, TRAIN, OFF(normalize), 0, 0, 0, cli_normalize_names,
     "zscore|minmax|none", "Data", "feature scaling fitted on the training split (default zscore)"},
    {"image-size", K_SIZE, TRAIN, OFF(image_w), 0, 0, 0, NULL, "WxH", "Data",
     "resize images to W x H pixels (default: the first image's size)"},
    {"grayscale", K_SET, TRAIN, OFF(color), CLI_COLOR_GRAY, 0, 0, NULL, NULL, "Data",
     "read images as one gray channel"},
    {"rgb", K_SET, TRAIN, OFF(color), CLI_COLOR_RGB, 0, 0, NULL, NULL, "Data",
     "read images as three channels"},
    {"class-names", K_STRING, TRAIN, OFF(class_names), 0, 0, 0, NULL, "FILE|a,b,c", "Data",
     "names of IDX classes 0, 1, ... for the model: a file, one a line, or a comma list"},
    /* model */
    {"hidden", K_HIDDEN, TRAIN, OFF(hidden), 0, 0, 0, NULL, "N,N,...", "Model",
     "hidden layer sizes, or none (default 256,128)"},
    {"act", K_ENUM, TRAIN, OFF(act), 0, 0, 0, cli_act_names, "relu|sigmoid|tanh|leaky_relu",
     "Model", "activation of the hidden layers (default relu)"},
    {"dropout", K_DOUBLE, TRAIN, OFF(dropout), 0, 1, OPEN_HI, NULL, "F", "Model",
     "dropout probability after each hidden layer (default 0)"},
    {"init", K_STRING, TRAIN, OFF(init), 0, 0, 0, NULL, "FILE", "Model",
     "start from the weights of a safetensors file (PyTorch nn.Sequential names)"},
    /* training */
    {"loss", K_ENUM, TRAIN | GRAPH, OFF(loss), 0, 0, 0, cli_loss_names + 1, "ce|mse", "Training",
     "loss (default ce to classify, mse to regress)"},
    {"optim", K_ENUM, TRAIN, OFF(optim), 0, 0, 0, cli_optim_names,
     "sgd|rmsprop|adagrad|adam|adamw", "Training", "optimizer (default adam)"},
    {"lr", K_DOUBLE, TRAIN, OFF(lr), 0, BIG, OPEN_LO, NULL, "F", "Training",
     "learning rate (default 1e-3 for adam and adamw, 1e-2 for the others)"},
    {"momentum", K_DOUBLE, TRAIN, OFF(momentum), 0, 1, OPEN_HI, NULL, "F", "Training",
     "sgd and rmsprop momentum (default 0)"},
    {"dampening", K_DOUBLE, TRAIN, OFF(dampening), 0, 1, 0, NULL, "F", "Training",
     "sgd momentum dampening (default 0)"},
    {"nesterov", K_TRUE, TRAIN, OFF(nesterov), 0, 0, 0, NULL, NULL, "Training",
     "sgd with Nesterov momentum (needs --momentum, no --dampening)"},
    {"alpha", K_DOUBLE, TRAIN, OFF(alpha), 0, 1, OPEN_LO | OPEN_HI, NULL, "F", "Training",
     "rmsprop smoothing constant (default 0.99)"},
    {"beta1", K_DOUBLE, TRAIN, OFF(beta1), 0, 1, OPEN_HI, NULL, "F", "Training",
     "adam and adamw first moment decay (default 0.9)"},
    {"beta2", K_DOUBLE, TRAIN, OFF(beta2), 0, 1, OPEN_HI, NULL, "F", "Training",
     "adam and adamw second moment decay (default 0.999)"},
    {"eps", K_DOUBLE, TRAIN, OFF(eps), 0, 1, OPEN_LO, NULL, "F", "Training",
     "term added to denominators (default 1e-8; adagrad 1e-10)"},
    {"weight-decay", K_DOUBLE, TRAIN, OFF(weight_decay), 0, BIG, 0, NULL, "F", "Training",
     "L2 penalty; decoupled for adamw (default 0; adamw 1e-2)"},
    {"clip-norm", K_DOUBLE, TRAIN, OFF(clip_norm), 0, BIG, OPEN_LO, NULL, "F", "Training",
     "scale gradients down to this global L2 norm"},
    {"clip-value", K_DOUBLE, TRAIN, OFF(clip_value), 0, BIG, OPEN_LO, NULL, "F", "Training",
     "clamp every gradient element to [-F, F]"},
    {"schedule", K_ENUM, TRAIN, OFF(schedule), 0, 0, 0, cli_schedule_names,
     "none|step|exp|cosine", "Training",
     "learning-rate schedule over the epochs (default none)"},
    {"gamma", K_DOUBLE, TRAIN, OFF(gamma), 0, 1, OPEN_LO, NULL, "F", "Training",
     "decay factor of the step and exp schedules (default 0.1 step, 0.9 exp)"},
    {"step-size", K_INT, TRAIN, OFF(step_size), 1, 1e9, 0, NULL, "N", "Training",
     "epochs between decays of the step schedule (default epochs/3)"},
    {"warmup", K_INT, TRAIN, OFF(warmup), 0, 1e9, 0, NULL, "N", "Training",
     "raise the learning rate linearly over the first N steps"},
    {"epochs", K_INT, TRAIN, OFF(epochs), 1, 1e7, 0, NULL, "N", "Training",
     "passes over the training data (default 10)"},
    {"batch", K_INT, TRAIN | EVAL | GRAPH, OFF(batch), 1, 1e7, 0, NULL, "N", "Training",
     "mini-batch size (default 128)"},
    {"steps", K_LONG, TRAIN, OFF(steps), 1, 1e15, 0, NULL, "N", "Training",
     "stop after N optimizer steps"},
    {"no-shuffle", K_TRUE, TRAIN, OFF(no_shuffle), 0, 0, 0, NULL, NULL, "Training",
     "keep the data's order in every epoch"},
    {"seed", K_U64, TRAIN, OFF(seed), 0, 0, 0, NULL, "N", "Training",
     "random seed for the weights, shuffling, dropout (default 1)"},
    {"threads", K_INT, TRAIN | EVAL | PREDICT, OFF(threads), 0, 64, 0, NULL,
     "N|auto", "Training",
     "threads sharing each batch's chunks; auto (or 0): the CPUs this process may use "
     "(default auto)"},
    {"on-nonfinite", K_ENUM, TRAIN, OFF(on_nonfinite), 0, 0, 0, cli_nonfinite_names,
     "stop|skip", "Training",
     "a loss or gradient that is not finite stops the run, or its batch is skipped "
     "(default stop)"},
    {"patience", K_INT, TRAIN, OFF(patience), 1, 1e9, 0, NULL, "N", "Training",
     "stop when N epochs in a row have not lowered the best validation loss"},
    {"min-delta", K_DOUBLE, TRAIN, OFF(min_delta), 0, BIG, 0, NULL, "F", "Training",
     "what counts as lower for --patience: by more than F (default 0)"},
    {"restore-best", K_TRUE, TRAIN, OFF(restore_best), 0, 0, 0, NULL, NULL, "Training",
     "end with the weights of the epoch of lowest validation loss"},
    {"deterministic", K_TRUE, TRAIN, OFF(deterministic), 0, 0, 0, NULL, NULL, "Training",
     "under mpirun: add the processes' gradients in a fixed order, the same bits for any "
     "number of processes (docs/DISTRIBUTED.md)"},
    {"dist-timeout", K_DOUBLE, TRAIN, OFF(dist_timeout), 0, 1e9, 0, NULL, "SECONDS", "Training",
     "under mpirun: end the job, naming the process, when one has not come to a "
     "synchronization within SECONDS (hung, or its node lost); 0: no watchdog, "
     "Open MPI's faster blocking collectives, which wait forever (default 300)"},
    /* output */
    {"out", K_STRING, TRAIN, OFF(out), 0, 0, 0, NULL, "FILE", "Output",
     "the trained model (default model.safetensors)"},
    {"checkpoint", K_STRING, TRAIN, OFF(checkpoint), 0, 0, 0, NULL, "FILE", "Output",
     "save model and optimizer state here after every epoch"},
    {"checkpoint-steps", K_LONG, TRAIN, OFF(checkpoint_steps), 1, 1e15, 0, NULL, "N",
     "Output", "also write the checkpoint every N optimizer steps"},
    {"resume", K_STRING, TRAIN, OFF(resume), 0, 0, 0, NULL, "FILE", "Output",
     "continue the run saved in this checkpoint"},
    {"metrics", K_STRING, TRAIN, OFF(metrics), 0, 0, 0, NULL, "FILE.csv", "Output",
     "one CSV row per epoch"},
    {"plot", K_STRING, TRAIN, OFF(plot), 0, 0, 0, NULL, "FILE.svg|png", "Output",
     "loss and accuracy curves as an SVG or PNG picture"},
    {"confusion", K_STRING, EVAL, OFF(confusion), 0, 0, 0, NULL, "FILE.svg|png", "Output",
     "the confusion matrix as an SVG or PNG picture"},
    {"top", K_INT, PREDICT, OFF(top), 1, 1e6, 0, NULL, "K", "Output",
     "show the K most probable classes (default 1)"},
    {"op", K_STRING, GRADCHECK, OFF(op), 0, 0, 0, NULL, "NAME", "Output",
     "check only this op or loss"},
    /* gradcheck, in its own words where it shares a name with train */
    {"float", K_TRUE, GRADCHECK, OFF(gc_float), 0, 0, 0, NULL, NULL, "Training",
     "check in float precision, with its step and tolerances (default double)"},
    {"eps", K_DOUBLE, GRADCHECK, OFF(eps), 0, 1, OPEN_LO, NULL, "F", "Training",
     "finite-difference step (default 1e-6 in double, 1e-3 in float)"},
    {"seed", K_U64, GRADCHECK, OFF(seed), 0, 0, 0, NULL, "N", "Training",
     "seed of the random inputs and of the output weighting (default 1)"},
    {"threads", K_INT, GRADCHECK, OFF(threads), 1, 64, 0, NULL, "N", "Training",
     "OpenBLAS threads in the matrix products (default 1)"},
    {"explain", K_STRING, GRADCHECK, OFF(explain), 0, 0, 0, NULL, "NAME", "Output",
     "explain one op's check: the formula, the error measure, error vs step"},
    /* graph */
    {"out", K_STRING, GRAPH, OFF(graph_out), 0, 0, 0, NULL, "FILE.dot|svg", "Output",
     "write the graph here; .svg through Graphviz's dot (default: DOT on stdout)"},
    {"json", K_TRUE, TRAIN | EVAL | PREDICT | GRADCHECK | INFO, OFF(json), 0, 0, 0, NULL,
     NULL, "Output", "print one JSON object on stdout at the end"},
    {"quiet", K_TRUE, TRAIN | EVAL, OFF(quiet), 0, 0, 0, NULL, NULL, "Output",
     "print only the result"},
    /* export (its own --out, a C file, given as -o too, and its own --json
     * entry, so that the lines above stay as they were) */
    {"out", K_STRING, EXPORT, OFF(c_out), 0, 0, 0, NULL, "FILE.c", "Output",
     "the C file to write (-o FILE.c; required)"},
    {"header", K_STRING, EXPORT, OFF(header), 0, 0, 0, NULL, "FILE.h", "Output",
     "also write a header: the prototypes, sizes and stack bound"},
    {"name", K_STRING, EXPORT, OFF(name), 0, 0, 0, NULL, "NAME", "Output",
     "prefix of the generated symbols, a C identifier (default: FILE's name)"},
    {"int8", K_TRUE, EXPORT, OFF(int8), 0, 0, 0, NULL, NULL, "Output",
     "int8 weights with a float scale per row, int32 sums"},
    {"check", K_STRING, EXPORT, OFF(check), 0, 0, 0, NULL, "DATA", "Output",
     "compare the exported model with the float model on DATA"},
    {"json", K_TRUE, EXPORT, OFF(json), 0, 0, 0, NULL, NULL, "Output",
     "print the report as one JSON object"},
};

#define N_OPTS ((int)(sizeof table / sizeof table[0]))

/* ---- the commands ----------------------------------------------------------- */

struct command {
    enum cli_command cmd;
    const char *name, *args, *summary;
    int min_pos, max_pos;
    const char *pos_names[2];   /* names of the first arguments, for errors */
};

static const struct command commands[] = {
    {CLI_CMD_TRAIN, "train", "DATA [options]",
     "Train a multilayer perceptron on DATA: a CSV file, an IDX folder (the\n"
     "Fashion-MNIST layout) or a folder of images with one subfolder per class.",
     1, 1, {"DATA", NULL}},
    {CLI_CMD_EVAL, "eval", "MODEL DATA [options]",
     "Evaluate a model on DATA: loss, accuracy, per-class precision and recall,\n"
     "confusion matrix. The last line is `accuracy <value>`.",
     2, 2, {"MODEL", "DATA"}},
    {CLI_CMD_PREDICT, "predict", "MODEL INPUT... [options]",
     "Predict the class (and its probability) or the values of each image file\n"
     "(a folder: every image in it, at any depth) or of each row of a CSV file\n"
     "(- reads standard input); a CSV may still hold its label column.",
     2, CLI_MAX_POSITIONAL, {"MODEL", "INPUT"}},
    {CLI_CMD_GRADCHECK, "gradcheck", "[options]",
     "Check the gradient of every op and loss against central finite differences\n"
     "on random inputs, in double precision; exit 1 if any fails. A failing check\n"
     "prints its worst element and the pattern of its errors (docs/LEARNING.md).",
     0, 0, {NULL, NULL}},
    {CLI_CMD_EXPORT, "export", "MODEL -o FILE.c [options]",
     "Write MODEL as one standalone C99 file: the weights as static const arrays,\n"
     "the normalization baked in, and int NAME_predict(const float *x, float *out)\n"
     "(docs/EXPORT.md).",
     1, 1, {"MODEL", NULL}},
    {CLI_CMD_INFO, "info", "MODEL [options]",
     "Show a model file's architecture, parameter count, classes, normalization\n"
     "and training settings.",
     1, 1, {"MODEL", NULL}},
    {CLI_CMD_GRAPH, "graph", "SPEC|MODEL [options]",
     "Write the autograd graph of one training step of a model spec (4-16-3) or a\n"
     "model file as Graphviz DOT: the ops, the shapes on the edges, the nodes that\n"
     "need a gradient, the loss at the root.",
     1, 1, {"SPEC or MODEL", NULL}},
    {CLI_CMD_SWEEP, "sweep", "DATA [options]",
     "Train once for every point of a grid of settings and print one table. A grid\n"
     "option takes a comma-separated list: --lr, --hidden (a point's layers joined\n"
     "by ':', as in 64:32,128), --batch, --epochs, --dropout, --weight-decay,\n"
     "--momentum, --seed, --act, --optim, --warmup, --clip-norm, --schedule; the\n"
     "other options are train's, the same for every point. A point writes no file.\n"
     "Under `mpirun -np N`, N points train at a time, one per process.",
     1, 1, {"DATA", NULL}},
};

/* The options a sweep's points may not have: each names a file every point
 * would write (sweep.c refuses them). */
static const char *const no_sweep[] = {"out", "checkpoint", "checkpoint-steps", "resume",
                                       "metrics", "plot"};

/* The commands that take o: its own, and sweep for train's but no_sweep. */
bool cli_sweep_refuses(const char *name)
{
    for (size_t i = 0; i < sizeof no_sweep / sizeof no_sweep[0]; i++)
        if (strcmp(name, no_sweep[i]) == 0)
            return true;
    return false;
}

static unsigned opt_cmds(const struct opt *o)
{
    return o->cmds & TRAIN && !cli_sweep_refuses(o->name) ? o->cmds | CLI_CMD_SWEEP : o->cmds;
}

static const struct command *find_command(enum cli_command cmd)
{
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (commands[i].cmd == cmd)
            return &commands[i];
    return NULL;
}

/* ---- defaults ----------------------------------------------------------- */

void cli_settings_defaults(struct cli_settings *s)
{
    memset(s, 0, sizeof *s);
    s->format = CLI_FORMAT_AUTO;
    s->task = CLI_TASK_AUTO;
    s->normalize = CLI_NORM_ZSCORE;
    s->hidden[0] = 256;
    s->hidden[1] = 128;
    s->n_hidden = 2;
    s->act = CLI_ACT_RELU;
    s->loss = CLI_LOSS_AUTO;
    s->optim = CLI_OPTIM_ADAM;
    s->lr = (double)NAN;
    s->dist_timeout = CG_DIST_TIMEOUT;
    s->alpha = 0.99;
    s->beta1 = 0.9;
    s->beta2 = 0.999;
    s->eps = (double)NAN;
    s->weight_decay = (double)NAN;
    s->schedule = CLI_SCHED_NONE;
    s->gamma = (double)NAN;
    s->epochs = 10;
    s->batch = 128;
    s->seed = 1;
    s->threads = 0;   /* auto: cg_cpu_count() */
    s->out = "model.safetensors";
    s->top = 1;
}

void cli_settings_finish(struct cli_settings *s, bool classify)
{
    bool adam = s->optim == CLI_OPTIM_ADAM || s->optim == CLI_OPTIM_ADAMW;
    if (isnan(s->lr))
        s->lr = adam ? 1e-3 : 1e-2;
    if (isnan(s->eps))
        s->eps = s->optim == CLI_OPTIM_ADAGRAD ? 1e-10 : 1e-8;
    if (isnan(s->weight_decay))
        s->weight_decay = s->optim == CLI_OPTIM_ADAMW ? 1e-2 : 0.0;
    if (isnan(s->gamma))
        s->gamma = s->schedule == CLI_SCHED_EXP ? 0.9 : 0.1;
    if (s->step_size == 0)
        s->step_size = s->epochs >= 3 ? s->epochs / 3 : 1;
    if (s->loss == CLI_LOSS_AUTO)
        s->loss = classify ? CLI_LOSS_CE : CLI_LOSS_MSE;
    if (s->task == CLI_TASK_AUTO)
        s->task = classify ? CLI_TASK_CLASSIFY : CLI_TASK_REGRESS;
}

/* ---- values ------------------------------------------------------------- */

static int bad_value(const char *cmd, const struct opt *o, const char *arg, const char *why)
{
    return cli_usage_error(cmd, "--%s: '%s' %s", o->name, arg, why);
}

static int parse_double(const char *cmd, const struct opt *o, const char *arg, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(arg, &end);
    if (end == arg || *end != '\0' || errno == ERANGE || !isfinite(v))
        return bad_value(cmd, o, arg, "is not a number");
    bool low = (o->open & OPEN_LO) ? v <= o->lo : v < o->lo;
    bool high = (o->open & OPEN_HI) ? v >= o->hi : v > o->hi;
    if (low || high) {
        if (o->hi >= BIG)
            return cli_usage_error(cmd, "--%s: %s must be %s %g", o->name, arg,
                                   (o->open & OPEN_LO) ? ">" : ">=", o->lo);
        return cli_usage_error(cmd, "--%s: %s is outside %c%g, %g%c", o->name, arg,
                               (o->open & OPEN_LO) ? '(' : '[', o->lo, o->hi,
                               (o->open & OPEN_HI) ? ')' : ']');
    }
    *out = v;
    return CLI_OK;
}

static int parse_integer(const char *cmd, const struct opt *o, const char *arg, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(arg, &end, 10);
    if (end == arg || *end != '\0' || errno == ERANGE)
        return bad_value(cmd, o, arg, "is not an integer");
    if ((double)v < o->lo || (double)v > o->hi) {
        if (o->hi >= 1e9)
            return cli_usage_error(cmd, "--%s: %s must be at least %.0f", o->name, arg, o->lo);
        return cli_usage_error(cmd, "--%s: %s is outside [%.0f, %.0f]", o->name, arg, o->lo,
                               o->hi);
    }
    *out = v;
    return CLI_OK;
}

static int parse_enum(const char *cmd, const struct opt *o, const char *arg, int *out)
{
    /* The table's choices may start past entry 0 ("auto" is not a value a
     * user types); the stored index counts from the full list. */
    int skip = 0;
    if (o->choices == cli_format_names + 1 || o->choices == cli_task_names + 1 ||
        o->choices == cli_loss_names + 1)
        skip = 1;
    for (int i = 0; o->choices[i]; i++)
        if (strcmp(o->choices[i], arg) == 0) {
            *out = i + skip;
            return CLI_OK;
        }
    return cli_usage_error(cmd, "--%s: '%s' is not one of %s", o->name, arg, o->metavar);
}

static int parse_hidden(const char *cmd, const struct opt *o, const char *arg,
                        struct cli_settings *s)
{
    if (strcmp(arg, "none") == 0 || strcmp(arg, "0") == 0) {
        s->n_hidden = 0;
        return CLI_OK;
    }
    const char *p = arg;
    int n = 0;
    for (;;) {
        char *end;
        errno = 0;
        long v = strtol(p, &end, 10);
        if (end == p || errno == ERANGE || v < 1 || v > 1000000 || (*end != ',' && *end))
            return bad_value(cmd, o, arg, "is not a list of sizes like 256,128");
        if (n == CLI_MAX_HIDDEN)
            return cli_usage_error(cmd, "--%s: more than %d hidden layers", o->name,
                                   CLI_MAX_HIDDEN);
        s->hidden[n++] = (int)v;
        if (*end == '\0')
            break;
        p = end + 1;
    }
    s->n_hidden = n;
    return CLI_OK;
}

static int parse_size(const char *cmd, const struct opt *o, const char *arg,
                      struct cli_settings *s)
{
    char *end;
    long w = strtol(arg, &end, 10);
    if (end == arg || (*end != 'x' && *end != 'X'))
        return bad_value(cmd, o, arg, "is not a size like 28x28");
    const char *p = end + 1;
    long h = strtol(p, &end, 10);
    if (end == p || *end || w < 1 || h < 1 || w > 65536 || h > 65536)
        return bad_value(cmd, o, arg, "is not a size like 28x28");
    s->image_w = (int)w;
    s->image_h = (int)h;
    return CLI_OK;
}

/* Store the value of option o given as arg (NULL for flags). */
static int set_value(const char *cmd, const struct opt *o, const char *arg,
                     struct cli_settings *s)
{
    char *field = (char *)s + o->off;
    long long ll;
    int rc = CLI_OK;

    switch (o->kind) {
    case K_SET:
        *(int *)(void *)field = (int)o->lo;
        break;
    case K_TRUE:
        *(bool *)(void *)field = true;
        break;
    case K_INT:
        if (o->off == OFF(threads) && strcmp(arg, "auto") == 0)
            arg = "0";   /* the library's "auto" */
        if ((rc = parse_integer(cmd, o, arg, &ll)) == CLI_OK)
            *(int *)(void *)field = (int)ll;
        break;
    case K_LONG:
        if ((rc = parse_integer(cmd, o, arg, &ll)) == CLI_OK)
            *(long *)(void *)field = (long)ll;
        break;
    case K_U64: {
        char *end;
        errno = 0;
        unsigned long long v = strtoull(arg, &end, 10);
        if (end == arg || *end || errno == ERANGE || arg[0] == '-')
            return bad_value(cmd, o, arg, "is not a non-negative integer");
        *(uint64_t *)(void *)field = (uint64_t)v;
        break;
    }
    case K_DOUBLE:
        rc = parse_double(cmd, o, arg, (double *)(void *)field);
        break;
    case K_STRING:
        if (arg[0] == '\0')
            return cli_usage_error(cmd, "--%s: the value is empty", o->name);
        *(const char **)(void *)field = arg;
        break;
    case K_ENUM:
        rc = parse_enum(cmd, o, arg, (int *)(void *)field);
        break;
    case K_HIDDEN:
        rc = parse_hidden(cmd, o, arg, s);
        break;
    case K_SIZE:
        rc = parse_size(cmd, o, arg, s);
        break;
    }
    return rc;
}

/* ---- parsing ------------------------------------------------------------ */

static const struct opt *find_option(const char *name, size_t len)
{
    for (int i = 0; i < N_OPTS; i++)
        if (strlen(table[i].name) == len && strncmp(table[i].name, name, len) == 0)
            return &table[i];
    return NULL;
}

/* The table entry of export's --out (two entries are called "out"). */
static const struct opt *find_export_out(void)
{
    for (int i = 0; i < N_OPTS; i++)
        if (table[i].cmds == CLI_CMD_EXPORT && strcmp(table[i].name, "out") == 0)
            return &table[i];
    return NULL;
}

/* The message for an option getopt_long did not accept. */
static int unknown_option(const char *cmd, const char *word)
{
    if (strncmp(word, "--", 2) == 0) {
        const char *name = word + 2;
        size_t len = strcspn(name, "=");
        const struct opt *o = find_option(name, len);
        if (o)
            return cli_usage_error(cmd, "--%s is not an option of `cgrad %s`", o->name, cmd);
    }
    return cli_usage_error(cmd, "unknown option '%s'", word);
}

/* Cross-option rules that the table cannot say. */
static int check_combinations(const char *cmd, const struct cli_settings *s)
{
    if (s->nesterov && (s->momentum <= 0.0 || s->dampening != 0.0))
        return cli_usage_error(cmd, "--nesterov needs --momentum > 0 and no --dampening");
    if (s->resume && s->init)
        return cli_usage_error(cmd, "--resume and --init cannot be used together");
    if (s->checkpoint_steps && !s->checkpoint)
        return cli_usage_error(cmd, "--checkpoint-steps needs --checkpoint");
    if (s->plot && !cli_has_suffix(s->plot, ".svg") && !cli_has_suffix(s->plot, ".png"))
        return cli_usage_error(cmd, "--plot: '%s' does not end in .svg or .png", s->plot);
    if (s->explain && (s->json || s->op))
        return cli_usage_error(cmd, "--explain NAME prints one op's explanation; it takes "
                               "no --%s", s->json ? "json" : "op");
    if (s->graph_out && !cli_has_suffix(s->graph_out, ".dot") &&
        !cli_has_suffix(s->graph_out, ".svg"))
        return cli_usage_error(cmd, "--out: '%s' does not end in .dot or .svg", s->graph_out);
    if (s->confusion && !cli_has_suffix(s->confusion, ".svg") &&
        !cli_has_suffix(s->confusion, ".png"))
        return cli_usage_error(cmd, "--confusion: '%s' does not end in .svg or .png",
                               s->confusion);
    return CLI_OK;
}

/* No path the command writes may be one it reads (compared by device and
 * inode through the data layer, so "./a.csv", a hard link or a file of an
 * image folder count) or another path it writes: refused before anything
 * is read or written. --checkpoint may be --resume: that file is read
 * whole before it is replaced. */
struct named_path {
    const char *name, *path;
};

/* Whether path (an output) is where the run writes checkpoints. */
static bool is_checkpoint(const struct cli_settings *s, const char *path, const char *stop_ckpt)
{
    return path == s->checkpoint || path == stop_ckpt;
}

size_t cli_stop_checkpoint(const char *out, char *buf, size_t n)
{
    size_t base = strlen(out);
    if (cli_has_suffix(out, ".safetensors"))
        base -= strlen(".safetensors");
    return (size_t)snprintf(buf, n, "%.*s.ckpt.safetensors", (int)base, out);
}

static int check_outputs(const char *cmd, bool eval, const struct cli_settings *s)
{
    struct named_path in[4], out[5];
    int ni = 0, no = 0;
    char stop_ckpt[4096];

    if (eval) {
        in[ni++] = (struct named_path){"MODEL", s->positional[0]};
        in[ni++] = (struct named_path){"DATA", s->positional[1]};
        out[no++] = (struct named_path){"--confusion", s->confusion};
    } else {
        in[ni++] = (struct named_path){"DATA", s->positional[0]};
        in[ni++] = (struct named_path){"--test", s->test};
        in[ni++] = (struct named_path){"--init", s->init};
        in[ni++] = (struct named_path){"--resume", s->resume};
        out[no++] = (struct named_path){"--out", s->out};
        out[no++] = (struct named_path){"--checkpoint", s->checkpoint};
        out[no++] = (struct named_path){"--metrics", s->metrics};
        out[no++] = (struct named_path){"--plot", s->plot};
        /* Ctrl-C writes its checkpoint to FILE's .ckpt name without --checkpoint */
        if (!s->checkpoint && s->out &&
            cli_stop_checkpoint(s->out, stop_ckpt, sizeof stop_ckpt) < sizeof stop_ckpt)
            out[no++] = (struct named_path){"the checkpoint of an interrupted run",
                                            stop_ckpt};
    }
    for (int o = 0; o < no; o++) {
        if (!out[o].path)
            continue;
        for (int i = 0; i < ni; i++)
            if (in[i].path && !(is_checkpoint(s, out[o].path, stop_ckpt) &&
                                in[i].path == s->resume) &&
                cg_data_reads_file(in[i].path, out[o].path))
                return cli_usage_error(cmd, "%s %s would overwrite %s %s, which this run "
                                       "reads", out[o].name, out[o].path, in[i].name,
                                       in[i].path);
        for (int p = 0; p < o; p++)
            if (out[p].path && cg_same_file(out[p].path, out[o].path))
                return cli_usage_error(cmd, "%s and %s name the same file %s", out[p].name,
                                       out[o].name, out[o].path);
    }
    return CLI_OK;
}

int cli_parse(enum cli_command cmd, int argc, char **argv, struct cli_settings *s)
{
    const struct command *c = find_command(cmd);
    struct option longopts[N_OPTS + 2];
    int n = 0;

    for (int i = 0; i < N_OPTS; i++) {
        if (!(table[i].cmds & cmd))
            continue;
        for (int j = 0; j < i; j++) /* one entry per option and command */
            assert(!(table[j].cmds & cmd) || strcmp(table[j].name, table[i].name) != 0);
        bool flag = table[i].kind == K_SET || table[i].kind == K_TRUE;
        longopts[n++] = (struct option){table[i].name, flag ? no_argument : required_argument,
                                        NULL, 256 + i};
    }
    longopts[n++] = (struct option){"help", no_argument, NULL, 'h'};
    longopts[n] = (struct option){NULL, 0, NULL, 0};

    opterr = 0;
    optind = 0;   /* glibc: start afresh, argv[0] is the command name */
    for (;;) {
        int prev = optind ? optind : 1;
        int v = getopt_long(argc, argv, cmd == CLI_CMD_EXPORT ? ":ho:" : ":h", longopts, NULL);
        if (v == -1)
            break;
        if (v == 'o')   /* export's -o FILE.c is its --out */
            v = 256 + (int)(find_export_out() - table);
        if (v == 'h') {
            cli_print_help(cmd, stdout);
            return -1;
        }
        if (v == '?') {
            const char *word = argv[optind - 1 >= prev ? optind - 1 : prev];
            if (optopt && optopt < 256)
                return cli_usage_error(c->name, "unknown option '-%c'", optopt);
            return unknown_option(c->name, word);
        }
        if (v == ':') {
            if (optopt >= 256)
                return cli_usage_error(c->name, "--%s needs a value (%s)",
                                       table[optopt - 256].name, table[optopt - 256].metavar);
            return cli_usage_error(c->name, "-%c needs a value", optopt);
        }
        const struct opt *o = &table[v - 256];
        int rc = set_value(c->name, o, optarg, s);
        if (rc != CLI_OK)
            return rc;
    }
    for (int i = optind; i < argc; i++) {
        if (s->n_positional == CLI_MAX_POSITIONAL)
            return cli_usage_error(c->name, "more than %d arguments", CLI_MAX_POSITIONAL);
        s->positional[s->n_positional++] = argv[i];
    }
    if (s->n_positional < c->min_pos) {
        const char *what = c->pos_names[s->n_positional < 2 ? s->n_positional : 1];
        return cli_usage_error(c->name, "missing %s", what);
    }
    if (s->n_positional > c->max_pos)
        return cli_usage_error(c->name, "unexpected argument '%s'", s->positional[c->max_pos]);
    int rc = check_combinations(c->name, s);
    if (rc == CLI_OK && (cmd == CLI_CMD_TRAIN || cmd == CLI_CMD_EVAL))
        rc = check_outputs(c->name, cmd == CLI_CMD_EVAL, s);
    return rc;
}

/* ---- help --------------------------------------------------------------- */

static void print_option(const struct opt *o, FILE *out)
{
    char left[64];
    snprintf(left, sizeof left, "--%s%s%s", o->name, o->metavar ? " " : "",
             o->metavar ? o->metavar : "");
    if (strlen(left) > 26)
        fprintf(out, "  %s\n  %-26s  %s\n", left, "", o->help);
    else
        fprintf(out, "  %-26s  %s\n", left, o->help);
}

void cli_print_help(enum cli_command cmd, FILE *out)
{
    static const char *const groups[] = {"Data", "Model", "Training", "Output"};
    const struct command *c = find_command(cmd);
    bool grouped = cmd == CLI_CMD_TRAIN || cmd == CLI_CMD_SWEEP;

    fprintf(out, "Usage: cgrad %s %s\n\n%s\n", c->name, c->args, c->summary);
    if (!grouped)
        fprintf(out, "\nOptions:\n");
    for (size_t g = 0; g < sizeof groups / sizeof groups[0]; g++) {
        bool header = false;
        for (int i = 0; i < N_OPTS; i++) {
            const struct opt *o = &table[i];
            if (!(opt_cmds(o) & (unsigned)cmd) || strcmp(o->group, groups[g]) != 0)
                continue;
            if (grouped && !header)
                fprintf(out, "\n%s:\n", groups[g]);
            header = true;
            print_option(o, out);
        }
    }
    fprintf(out, "  %-26s  %s\n", "--help", "show this help");
    fprintf(out, "\nExit status: 0 ok, 1 runtime error, 2 usage error%s.\n",
            grouped ? ", 130 interrupted (Ctrl-C)" : "");
}

/* ---- the tables, for generated documentation (manual.c) ------------------------- */

bool cli_command_info(int i, struct cli_command_info *info)
{
    if (i < 0 || (size_t)i >= sizeof commands / sizeof commands[0])
        return false;
    *info = (struct cli_command_info){commands[i].cmd, commands[i].name, commands[i].args,
                                      commands[i].summary};
    return true;
}

bool cli_option_info(int i, struct cli_option_info *info)
{
    if (i < 0 || i >= N_OPTS)
        return false;
    const struct opt *o = &table[i];
    *info = (struct cli_option_info){o->name, o->metavar, opt_cmds(o),
                                     o->kind != K_SET && o->kind != K_TRUE,
                                     o->kind == K_ENUM ? o->choices : NULL};
    return true;
}
