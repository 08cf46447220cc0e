/*
 * The command-line options of every cgrad command, in one table.
 *
 * Each entry has a long name, the kind of its argument, the commands that
 * accept it, the range or the choices of its value and a help line; the one
 * table drives getopt_long, the validation and the --help texts, so a new
 * option is one line. An option whose meaning differs by command has one
 * entry per meaning, for disjoint sets of commands, each with its own help
 * line (--seed of train seeds the weights and shuffling, of gradcheck the
 * random inputs). Parsed values land in one struct cli_settings.
 *
 *     struct cli_settings s;
 *     cli_settings_defaults(&s);
 *     int rc = cli_parse(CLI_CMD_TRAIN, argc, argv, &s);  // argv[0] = "train"
 *     if (rc != CLI_OK) return rc;        // CLI_USAGE, or -1 after --help
 *     // s.positional[0..s.n_positional) hold DATA, ...
 */
#ifndef CG_CLI_OPTIONS_H
#define CG_CLI_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

enum cli_command {
    CLI_CMD_TRAIN     = 1 << 0,
    CLI_CMD_EVAL      = 1 << 1,
    CLI_CMD_PREDICT   = 1 << 2,
    CLI_CMD_GRADCHECK = 1 << 3,
    CLI_CMD_INFO      = 1 << 4,
    CLI_CMD_EXPORT    = 1 << 5,
    CLI_CMD_GRAPH     = 1 << 6,
    CLI_CMD_SWEEP     = 1 << 10   /* train's options but those naming files (sweep.c) */
};

/* Choices of the enum options, in the order of their option's choice list. */
enum cli_format    { CLI_FORMAT_AUTO, CLI_FORMAT_CSV, CLI_FORMAT_IDX, CLI_FORMAT_IMAGES };
enum cli_task      { CLI_TASK_AUTO, CLI_TASK_CLASSIFY, CLI_TASK_REGRESS };
enum cli_normalize { CLI_NORM_ZSCORE, CLI_NORM_MINMAX, CLI_NORM_NONE };
enum cli_act       { CLI_ACT_RELU, CLI_ACT_SIGMOID, CLI_ACT_TANH, CLI_ACT_LEAKY_RELU };
enum cli_loss      { CLI_LOSS_AUTO, CLI_LOSS_CE, CLI_LOSS_MSE };
enum cli_optim     { CLI_OPTIM_SGD, CLI_OPTIM_RMSPROP, CLI_OPTIM_ADAGRAD, CLI_OPTIM_ADAM,
                     CLI_OPTIM_ADAMW };
enum cli_schedule  { CLI_SCHED_NONE, CLI_SCHED_STEP, CLI_SCHED_EXP, CLI_SCHED_COSINE };
enum cli_color     { CLI_COLOR_AUTO, CLI_COLOR_GRAY, CLI_COLOR_RGB };
enum cli_nonfinite { CLI_NONFINITE_STOP, CLI_NONFINITE_SKIP };

extern const char *const cli_format_names[];    /* "auto", "csv", "idx", "images" */
extern const char *const cli_task_names[];
extern const char *const cli_normalize_names[];
extern const char *const cli_act_names[];
extern const char *const cli_loss_names[];
extern const char *const cli_optim_names[];
extern const char *const cli_schedule_names[];
extern const char *const cli_nonfinite_names[];

#define CLI_MAX_HIDDEN 16
#define CLI_MAX_POSITIONAL 64

/* Every option's value. A double option left unset is NaN, so that its
 * default can depend on others (--lr on --optim); cli_settings_finish fills
 * those in. */
struct cli_settings {
    /* data */
    int         format;             /* enum cli_format */
    const char *label;              /* column name or 0-based index; NULL: last */
    int         task;               /* enum cli_task */
    const char *test;
    double      val_split;
    int         normalize;          /* enum cli_normalize */
    int         image_w, image_h;   /* 0: the images' own size */
    int         color;              /* enum cli_color */
    const char *class_names;        /* FILE or a,b,c (IDX classes) */
    /* model */
    int         hidden[CLI_MAX_HIDDEN];
    int         n_hidden;
    int         act;                /* enum cli_act */
    double      dropout;
    const char *init;
    /* training */
    int         loss;               /* enum cli_loss */
    int         optim;              /* enum cli_optim */
    double      lr, momentum, dampening, alpha, beta1, beta2, eps, weight_decay;
    bool        nesterov;
    double      clip_norm, clip_value;  /* 0: no clipping */
    int         schedule;           /* enum cli_schedule */
    int         warmup;
    double      gamma;              /* step and exp decay factor; NaN: default */
    int         step_size;          /* step schedule period in epochs; 0: default */
    int         epochs, batch;
    long        steps;              /* 0: no limit */
    bool        no_shuffle;
    uint64_t    seed;
    int         threads;
    int         on_nonfinite;       /* enum cli_nonfinite */
    /* early stopping */
    int         patience;           /* 0: off */
    double      min_delta;
    bool        restore_best;
    bool        deterministic;      /* across processes: a fixed order of the sums */
    double      dist_timeout;       /* across processes: the watchdog's seconds, 0: none */
    /* output */
    const char *out, *checkpoint, *resume, *metrics, *plot;
    long        checkpoint_steps;   /* 0: at epochs' ends only */
    bool        json, quiet;
    /* eval, predict, gradcheck */
    const char *confusion;
    int         top;
    const char *op;
    bool        gc_float;           /* gradcheck in float, not double */
    const char *explain;            /* gradcheck --explain: the op */
    const char *graph_out;          /* graph: FILE.dot or FILE.svg; NULL: stdout */
    /* export */
    const char *c_out;              /* -o FILE.c */
    const char *header;             /* --header FILE.h */
    const char *name;               /* --name NAME */
    bool        int8;
    const char *check;              /* --check DATA */
    /* positional arguments, in order */
    char       *positional[CLI_MAX_POSITIONAL];
    int         n_positional;
};

/* Fill in the defaults of every option. */
void cli_settings_defaults(struct cli_settings *s);
/* Parse argv[1..argc) (argv[0] is the command's name) for command `cmd`.
 * Returns CLI_OK; CLI_USAGE after printing the error; or -1 after printing
 * the help (the caller exits 0). */
int  cli_parse(enum cli_command cmd, int argc, char **argv, struct cli_settings *s);
/* The defaults that depend on other options (lr and eps on the optimizer,
 * the loss on the task). */
void cli_settings_finish(struct cli_settings *s, bool classify);
/* The full help of a command: usage line, description, options by group. */
void cli_print_help(enum cli_command cmd, FILE *out);
/* Whether `cgrad sweep` refuses option `name` (without "--"): it names a
 * file every point would write. */
bool cli_sweep_refuses(const char *name);

/* ---- the tables, for generated documentation ---------------------------------
 * The man page and the shell completion are written from the same tables as
 * the --help texts (manual.c), so that they cannot drift apart. */

struct cli_command_info {
    enum cli_command cmd;
    const char *name, *args, *summary;   /* "train", "DATA [options]", "Train ..." */
};

struct cli_option_info {
    const char *name;                 /* "format", without the dashes */
    const char *metavar;              /* "csv|idx|images", "FILE"; NULL for a flag */
    unsigned    cmds;                 /* enum cli_command bits */
    bool        takes_value;
    const char *const *choices;       /* the fixed values (NULL-terminated), or NULL */
};

/* Command i of the table into *info; false past the last. */
bool cli_command_info(int i, struct cli_command_info *info);
/* Option i of the table into *info; false past the last. */
bool cli_option_info(int i, struct cli_option_info *info);

/* `cgrad help --man`: the manual page (roff, man(7)) of every command, its
 * options' lines taken from cli_print_help. 0, or 1 after an error. */
int  cli_write_man(FILE *out);
/* `cgrad help --bash-completion`: a bash completion script for commands,
 * options and their fixed values. 0, or 1 after an error. */
int  cli_write_bash_completion(FILE *out);

#endif /* CG_CLI_OPTIONS_H */
