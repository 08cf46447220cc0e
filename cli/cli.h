/*
 * The cgrad program's own declarations, shared between the files of cli/
 * (not installed). Prefix cli_; everything file-local is static.
 *
 * Exit statuses: CLI_OK 0, CLI_RUNTIME 1 (a bad file, a NaN loss, ...),
 * CLI_USAGE 2 (a bad option or argument), CLI_INTERRUPTED 130 (Ctrl-C).
 * Every error is one line on stderr, "cgrad: ...", printed by cli_error or
 * cli_usage_error, which return the status to exit with.
 */
#ifndef CG_CLI_H
#define CG_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "cgrad.h"

#if defined(__GNUC__)
#define CLI_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define CLI_PRINTF(f, a)
#endif

enum { CLI_OK = 0, CLI_RUNTIME = 1, CLI_USAGE = 2, CLI_INTERRUPTED = 130 };

/* Print "cgrad: <message>" on stderr and return CLI_RUNTIME. */
int cli_error(const char *fmt, ...) CLI_PRINTF(1, 2);
/* Print "cgrad: <message>" and a hint to --help on stderr; return CLI_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) CLI_PRINTF(2, 3);
/* Seconds on a monotonic clock. */
double cli_now(void);
/* True when path ends with suffix (case-insensitive). */
bool cli_has_suffix(const char *path, const char *suffix);
/* The checkpoint an interrupted `cgrad train --out OUT` writes without
 * --checkpoint: OUT without .safetensors, then .ckpt.safetensors, into buf
 * (n bytes); returns the length it needs, as snprintf. */
size_t cli_stop_checkpoint(const char *out, char *buf, size_t n);

/* ---- commands (each returns the exit status) ---------------------------- */

int cli_train(int argc, char **argv);
int cli_eval(int argc, char **argv);
int cli_predict(int argc, char **argv);
int cli_gradcheck(int argc, char **argv);
int cli_info(int argc, char **argv);
int cli_graph(int argc, char **argv);
int cli_export(int argc, char **argv);
int cli_sweep(int argc, char **argv);

/* ---- JSON writer (json.c) ------------------------------------------------
 * A streaming writer that inserts the commas and escapes strings:
 *     cli_json_begin_obj(&j); cli_json_key(&j, "loss"); cli_json_num(&j, 0.25);
 *     cli_json_end(&j);                                   -> {"loss": 0.25}
 * Non-finite numbers are written as null (JSON has no NaN). */

#define CLI_JSON_DEPTH 16

struct cli_json {
    FILE *f;
    int   depth;
    bool  first[CLI_JSON_DEPTH];   /* no element yet at this depth */
    char  closer[CLI_JSON_DEPTH];  /* '}' or ']' of each open level */
    bool  after_key;               /* the next value follows a key */
};

void cli_json_init(struct cli_json *j, FILE *f);
void cli_json_begin_obj(struct cli_json *j);
void cli_json_begin_arr(struct cli_json *j);
void cli_json_end(struct cli_json *j);            /* closes the innermost */
void cli_json_key(struct cli_json *j, const char *key);
void cli_json_str(struct cli_json *j, const char *s);  /* NULL writes null */
void cli_json_num(struct cli_json *j, double v);
void cli_json_int(struct cli_json *j, long long v);
void cli_json_bool(struct cli_json *j, bool v);
void cli_json_null(struct cli_json *j);
/* Write s as a JSON string literal (quotes included) to f. */
void cli_json_write_string(FILE *f, const char *s);

/* ---- training history: metrics CSV and plots (metrics.c, plot.c) -------- */

/* The rows of a run's history (cg_fit's, borrowed): one per epoch. */
struct cli_history {
    const struct cg_fit_epoch *rows;
    int n;
};

/* The history as CSV text (header line first) in a malloc'd string. */
char *cli_history_csv(const struct cli_history *h);
/* The CSV header: epoch,step,lr,train_loss,train_acc,val_loss,val_acc,seconds */
extern const char cli_metrics_header[];

/* Write a whole file with the library's one writer (cg_write_file: atomic
 * for a regular file, in place for a device). Returns CLI_OK, or prints the
 * error naming the file and returns CLI_RUNTIME. */
int cli_write_file_atomic(const char *path, const char *data, size_t len);
/* The history as a CSV file (atomic). */
int cli_metrics_write(const char *path, const struct cli_history *h);

/* The loss and accuracy curves as an SVG or PNG picture (by path's
 * extension): two panels (loss, and accuracy if any row has one), train and
 * the held-out set, whose legend says val_name ("validation" or "test"). */
int cli_plot_write(const char *path, const struct cli_history *h, const char *title,
                   const char *val_name);
/* The confusion matrix counts: [k, k] (row = true class, column =
 * predicted) as an SVG picture, cells shaded by the row's share. */
int cli_plot_confusion(const char *path, const long *counts, int k,
                       const char *const *names, const char *title);

/* ---- progress (progress.c) -----------------------------------------------
 * A bar redrawn in place on a terminal (at most ~10 times a second), or one
 * plain line per epoch elsewhere; nothing when quiet. Fed by cg_fit's
 * callbacks. */

struct cli_progress {
    FILE  *out;
    bool   tty, quiet;
    int    epochs;
    size_t done;             /* samples of the epoch done */
    double t_last_draw;
    bool   classify;
    bool   drawn;            /* a bar is on the line (no newline after it) */
};

void cli_progress_init(struct cli_progress *p, FILE *out, bool quiet, bool classify, int epochs);
/* After a step: the bar. */
void cli_progress_step(struct cli_progress *p, const struct cg_fit_step *s);
/* At the epoch's end: its row (the line stays on screen). */
void cli_progress_epoch(struct cli_progress *p, const struct cg_fit_epoch *row);
/* When the run ends however it ends (a stop mid-epoch, an error): a bar left
 * on the line is cleared, so the next message starts a clean line. */
void cli_progress_end(struct cli_progress *p);

#endif /* CG_CLI_H */
