/*
 * Opening the data a command works on: the kind of DATA (CSV file, IDX
 * folder, image folder) detected or given, the training / validation / test
 * sets, and the model file metadata that makes eval and predict read their
 * inputs exactly as training did (classes, label column, image size,
 * normalization).
 */
#ifndef CG_CLI_INPUT_H
#define CG_CLI_INPUT_H

#include "cgrad.h"
#include "options.h"

/* The kind of path: CLI_FORMAT_CSV, _IDX or _IMAGES, from `given` when it is
 * not CLI_FORMAT_AUTO. -1 after printing an error naming the path (missing,
 * unreadable, a folder given as CSV, ...). */
int cli_detect_format(const char *path, int given);

/* How to read a data set, as training read it (and as the model file
 * records it). */
struct cli_read {
    int         format;      /* enum cli_format, resolved */
    const char *label;       /* CSV label column, NULL: the last */
    int         task;        /* CLI_TASK_* (AUTO: detect) */
    int         width, height, channels;  /* images; 0: as found */
    const char *const *classes;           /* CSV: the model's class names */
    int         n_classes;
};

/* Load the data set at path. For an IDX folder, `want_test` picks the t10k
 * pair (eval), else the train pair (train; the t10k pair then goes to
 * *idx_test if not NULL). NULL after printing the error (exit status 1). */
cg_dataset *cli_load(const char *path, const struct cli_read *how, bool want_test,
                     cg_dataset **idx_test);

/* Classification data whose classes must mean names[0..n) (a model's, or
 * the training set's of `owner`): at most n classes, and class c named
 * names[c] (CSV loads map labels to names already; folders and IDX files
 * number their classes themselves). CLI_OK, or CLI_RUNTIME after printing
 * an error naming path and the first class that differs. */
int cli_check_classes(const cg_dataset *ds, const char *path, const char *const *names, int n,
                      const char *owner);

#endif /* CG_CLI_INPUT_H */
