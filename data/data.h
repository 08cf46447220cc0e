/*
 * cgrad data layer: CSV, IDX and image-folder data sets, normalization,
 * splits and shuffled mini-batches.
 *
 * A cg_dataset holds samples in their compact form (bytes for images and
 * IDX files, cg_float for CSV tables) with an int class label or cg_float
 * regression targets per sample. A cg_loader draws mini-batches from it,
 * converting each sample to cg_float into a buffer the caller reuses and
 * applying a cg_norm on the way: no allocation per batch, no copy of the
 * data set. Splits are index views that share their parent's storage.
 * This layer uses only tensor/; it knows nothing of graphs or models.
 * docs/DATA.md describes the formats, options and error messages.
 *
 *     cg_dataset *all = cg_csv_load("iris.csv", NULL), *train, *val;
 *     if (!all || cg_dataset_split(all, 0.2, 42, &train, &val) != CG_OK)
 *         return fprintf(stderr, "%s\n", cg_errmsg()), 1;
 *     struct cg_norm norm;
 *     cg_norm_fit(&norm, train, CG_NORM_ZSCORE);      // statistics of train only
 *     cg_loader *ld = cg_loader_new(train, 32, true, false, 42);
 *     cg_loader_set_norm(ld, &norm);
 *     cg_float x[32 * 4]; int y[32]; int rows;
 *     while ((rows = cg_loader_next(ld, x, y, NULL)) > 0)
 *         train_step(x, y, rows);                       // x: [rows, 4]
 *     cg_loader_free(ld); cg_norm_deinit(&norm);
 *     cg_dataset_free(val); cg_dataset_free(train); cg_dataset_free(all);
 */
#ifndef CG_DATA_H
#define CG_DATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../tensor/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- data sets ----------------------------------------------------------- */

typedef struct cg_dataset cg_dataset;

typedef enum cg_task {
    CG_TASK_CLASSIFY = 0,  /* one int class label per sample */
    CG_TASK_REGRESS  = 1,  /* one or more cg_float targets per sample (MSE) */
    CG_TASK_NONE     = 2   /* features only (inputs for predict) */
} cg_task;

/* Free a data set or a split view; NULL is a no-op. Views and their parent
 * share storage by reference count, so they may be freed in any order. */
void        cg_dataset_free(cg_dataset *ds);
/* Number of samples. */
size_t      cg_dataset_size(const cg_dataset *ds);
/* Number of input features per sample (width * height * channels for images). */
int         cg_dataset_features(const cg_dataset *ds);
/* The task: classification, regression or none (features only). */
cg_task     cg_dataset_task(const cg_dataset *ds);
/* Number of classes (classification), else 0. */
int         cg_dataset_classes(const cg_dataset *ds);
/* Name of class `id` ("setosa", "3", a folder name); NULL if out of range. */
const char *cg_dataset_class_name(const cg_dataset *ds, int id);
/* Number of regression targets per sample (regression), else 0. */
int         cg_dataset_targets(const cg_dataset *ds);
/* Name of feature column j of a CSV data set (its header, or its 0-based
 * index as text without a header); NULL for images or j out of range. */
const char *cg_dataset_feature_name(const cg_dataset *ds, int j);
/* Name of regression target column k; NULL if none. */
const char *cg_dataset_target_name(const cg_dataset *ds, int k);
/* true for image data (IDX, image folder), with the size written to the
 * non-NULL pointers; features are stored height x width x channels,
 * channels innermost (HWC). false, nothing written, for CSV tables. */
bool        cg_dataset_image_shape(const cg_dataset *ds, int *width, int *height,
                                   int *channels);
/* Class label of sample i (classification), else -1. */
int         cg_dataset_label(const cg_dataset *ds, size_t i);
/* Raw (un-normalized) features of sample i into x: [features]; image bytes
 * become 0..255. CG_ERR_ARG if i is out of range. */
cg_status   cg_dataset_row(const cg_dataset *ds, size_t i, cg_float *x);
/* Regression targets of sample i into y: [targets]. CG_ERR_ARG if i is out
 * of range or the data set is not a regression set. */
cg_status   cg_dataset_target_row(const cg_dataset *ds, size_t i, cg_float *y);
/* Number of rows or files skipped while loading (skip_bad options). */
size_t      cg_dataset_skipped(const cg_dataset *ds);
/* "skipped N bad rows; first: iris.csv:17: ..." when something was skipped,
 * else NULL: the caller prints it as a warning. */
const char *cg_dataset_warning(const cg_dataset *ds);

/* Split into stratified training and validation views: within each class
 * (each data set for regression), round(val_fraction * count) samples drawn
 * with a generator seeded by `seed` go to *val, the rest to *train, each in
 * ascending sample order. 0 <= val_fraction < 1. The views share ds's
 * storage (nothing copied) and stay valid after ds is freed; free each with
 * cg_dataset_free. On failure both are set to NULL. */
cg_status   cg_dataset_split(const cg_dataset *ds, double val_fraction, uint64_t seed,
                             cg_dataset **train, cg_dataset **val);

/* True when loading `data` (a CSV file, an IDX folder, an image folder)
 * reads `file`: the same file (device and inode, whatever the spelling), one
 * of the folder's IDX files, or an image of one of its class folders. A
 * program checks every path it will write with it before it writes any,
 * so that an output never replaces its own input. */
bool        cg_data_reads_file(const char *data, const char *file);

/* ---- CSV ----------------------------------------------------------------- */

enum {
    CG_CSV_HEADER_AUTO = 0,  /* a header when row 1 has text where row 2 has numbers */
    CG_CSV_HEADER_ON   = 1,
    CG_CSV_HEADER_OFF  = 2
};

/* Options of cg_csv_load; a zero-filled struct (or NULL) gives the defaults. */
struct cg_csv_options {
    int         header;       /* CG_CSV_HEADER_AUTO, _ON or _OFF */
    char        delimiter;    /* 0: detect among ',' ';' '\t'; else this one */
    const char *label;        /* label column(s): a header name or a 0-based
                                 index, or a comma-separated list of them for
                                 several regression targets; NULL: the last
                                 n_targets columns (the last column) */
    cg_task     task;         /* CG_TASK_CLASSIFY (default), _REGRESS, or
                                 _NONE: every column a feature, label ignored */
    int         n_targets;    /* regression with label NULL: the last n
                                 columns are targets (0 means 1) */
    bool        skip_bad_rows;  /* skip (and count) rows with a ragged field
                                   count, a bad number or an unknown class,
                                   instead of failing */
    const char *const *class_names;  /* a model's classes: labels map to these
                                        ids, an unknown label is an error */
    int         n_class_names;
    /* A model's inputs (task CG_TASK_NONE only; 0 and NULL: every column is
     * a feature). With n_inputs > 0 the file may still hold its label
     * column, as the training file does: the columns are those of the
     * header named feature_names[0..n_inputs) (in that order) when the
     * header holds every one of them; else, by position, all n_inputs
     * columns, or n_inputs + 1 with the label column (`label`, else the
     * last) left out. Anything else is CG_ERR_FORMAT ("f.csv: no column
     * 'x' ...", "f.csv: 6 columns, but the model takes 4 features ..."). */
    const char *const *feature_names;  /* may be NULL */
    int         n_inputs;
};

/* Load a CSV file (RFC 4180: quoted fields, "" escapes, CRLF or LF, blank
 * lines ignored) into a new data set, streaming. Feature columns must hold
 * finite numbers. Class labels that are all non-negative integers are their
 * own ids (classes 0..max); other labels become ids in sorted (byte) order,
 * unless opts->class_names gives them. NULL and cg_errmsg() ("iris.csv:17:
 * column 3 'petal_len': 'abc' is not a number") on failure. */
cg_dataset *cg_csv_load(const char *path, const struct cg_csv_options *opts);
/* The same from an open stream (e.g. stdin), read to its end and left
 * open; `name` stands for the file in messages ("stdin:3: ..."). */
cg_dataset *cg_csv_load_stream(FILE *f, const char *name, const struct cg_csv_options *opts);

/* ---- IDX (MNIST) --------------------------------------------------------- */

/* Load an IDX image file (unsigned bytes, [N, rows, cols]) and its IDX label
 * file ([N]), plain or gzip-compressed, into a new classification data set
 * (classes 0..max label, named "0", "1", ...). Every size is checked against
 * the file before anything is allocated. NULL and cg_errmsg() on failure. */
cg_dataset *cg_idx_load(const char *images, const char *labels);
/* Load train-{images-idx3,labels-idx1}-ubyte[.gz] and, if the folder has
 * it, the t10k- pair (the MNIST and Fashion-MNIST layout). *test is NULL
 * when the folder has no t10k file at all; half a pair, or a t10k pair of
 * another image size or with labels outside the training classes, is
 * CG_ERR_FORMAT/CG_ERR_IO naming the t10k file. On failure both are NULL. */
cg_status   cg_idx_load_dir(const char *dir, cg_dataset **train, cg_dataset **test);

/* ---- image folders ------------------------------------------------------- */

/* Options of cg_image_folder_load; a zero-filled struct (or NULL) gives the
 * defaults. */
struct cg_image_options {
    int  channels;   /* 1 grayscale, 3 RGB; 0: as the first image (alpha dropped) */
    int  width;      /* target size; 0: the size of the first image */
    int  height;
    bool no_resize;  /* an image of another size is an error, not resized */
    bool skip_bad;   /* skip (and count) files that do not decode */
};

/* Load root/<class>/<image> (png, jpg, jpeg, bmp, gif, tga, pnm, ppm, pgm;
 * case-insensitive; other files ignored) into a new classification data
 * set of bytes. Classes are the sub-folders in sorted order; "first image"
 * means the first file, sorted, of the first class. NULL and cg_errmsg() on
 * failure (a folder with no classes, an empty class, a file that does not
 * decode: "root/cat/3.png: corrupt PNG"). */
cg_dataset *cg_image_folder_load(const char *root, const struct cg_image_options *opts);
/* Decode one image file, converted to `channels` (1 or 3) and resized to
 * width x height, into out: [height * width * channels] as raw values
 * 0..255 (apply the model's cg_norm next). For `cgrad predict`. */
cg_status   cg_image_load_features(const char *path, int width, int height, int channels,
                                   cg_float *out);
/* True when path ends in one of the image extensions above (any case). */
bool        cg_image_is_file_name(const char *path);
/* Every image file (by its extension) under root at any depth, hidden
 * entries skipped, sorted by path (strcmp): a new array of *n new strings
 * "root/cat/1.png" (for `cgrad predict MODEL photos/`); free it with
 * cg_image_files_free. A folder without images gives *n = 0. An unreadable
 * folder is CG_ERR_IO naming it; a symbolic link loop CG_ERR_FORMAT. */
cg_status   cg_image_files(const char *root, char ***paths, size_t *n);
/* Free what cg_image_files returned; NULL is a no-op. */
void        cg_image_files_free(char **paths, size_t n);

/* ---- normalization ------------------------------------------------------- */

typedef enum cg_norm_kind {
    CG_NORM_NONE   = 0,  /* y = x */
    CG_NORM_ZSCORE = 1,  /* y = (x - mean) / std; per feature for tables, per
                            channel on [0, 1]-scaled values for images; a
                            constant feature (std 0) gives y = x - mean */
    CG_NORM_MINMAX = 2   /* y = (x - min) / (max - min) per feature for tables
                            (constant: y = x - min); x / 255 for images */
} cg_norm_kind;

/* The affine map y[j] = (x[j] - offset[j]) * scale[j] from a sample's raw
 * features to a model's inputs. Plain data, so a model file can store it. */
struct cg_norm {
    cg_norm_kind kind;
    int          n;       /* number of features (0 for an identity NONE) */
    cg_float    *offset;  /* [n], owned */
    cg_float    *scale;   /* [n], owned */
};

/* Fit `kind` on ds (use the training split) into *norm, whose arrays are
 * allocated; release with cg_norm_deinit. Statistics are accumulated in
 * double; the std is the population std (divide by N). */
cg_status cg_norm_fit(struct cg_norm *norm, const cg_dataset *ds, cg_norm_kind kind);
/* Build *norm from arrays (copied), e.g. read back from a model file. n may be
 * 0 with NULL arrays for the identity. */
cg_status cg_norm_init(struct cg_norm *norm, cg_norm_kind kind, int n,
                       const cg_float *offset, const cg_float *scale);
/* Free the arrays of *norm and zero it; NULL is a no-op. */
void      cg_norm_deinit(struct cg_norm *norm);
/* Normalize x: [rows, norm->n] in place (an identity norm does nothing). */
void      cg_norm_apply(const struct cg_norm *norm, cg_float *x, size_t rows);
/* The name of a kind: "none", "zscore", "minmax". */
const char *cg_norm_kind_name(cg_norm_kind kind);
/* *norm as the one line of text a model file stores: "zscore N o0 ... s0 ...",
 * numbers that read back exactly. Writes at most n bytes of buf (NULL with
 * n 0 to measure), terminated when n > 0, as snprintf; returns the length
 * of the whole text. */
size_t    cg_norm_print(const struct cg_norm *norm, char *buf, size_t n);
/* Read what cg_norm_print wrote into *norm (release with cg_norm_deinit),
 * for data of `features` features (-1: any count). CG_ERR_FORMAT on bad
 * text; CG_ERR_SHAPE, before anything is allocated, when the text's count
 * is neither 0 nor features (the text comes from a file: untrusted). */
cg_status cg_norm_parse(struct cg_norm *norm, const char *text, int features);

/* ---- mini-batches -------------------------------------------------------- */

typedef struct cg_loader cg_loader;

/* A new loader over ds (borrowed: it must outlive the loader) yielding
 * batches of `batch` samples. Each epoch's order is a Fisher-Yates shuffle
 * of 0..N-1 drawn from a cg_rng seeded once with `seed` (or 0..N-1 when
 * !shuffle); a last smaller batch is dropped when drop_last. NULL and
 * cg_errmsg() on failure. */
cg_loader *cg_loader_new(const cg_dataset *ds, int batch, bool shuffle, bool drop_last,
                         uint64_t seed);
/* Free a loader; NULL is a no-op. */
void       cg_loader_free(cg_loader *loader);
/* Apply *norm (borrowed: it must outlive the loader; NULL removes it) to
 * every batch. CG_ERR_SHAPE if norm->n is not 0 or the feature count. */
cg_status  cg_loader_set_norm(cg_loader *loader, const struct cg_norm *norm);
/* Convert each batch's rows on the threads of pool (borrowed; NULL: on the
 * caller alone), e.g. the trainer's, between its parallel steps. Every row is
 * converted by the same code either way: the same bits. */
void       cg_loader_set_pool(cg_loader *loader, cg_pool *pool);
/* Write the next batch: x: [B, F] normalized features, labels: [B] (class
 * sets, may be NULL), targets: [B, T] (regression sets, may be NULL), with
 * B = batch. Returns the batch's row count, or 0 at the end of an epoch;
 * the next call then starts a new epoch with a new order. Never allocates. */
int        cg_loader_next(cg_loader *loader, cg_float *x, int *labels, cg_float *targets);
/* Number of batches in one epoch. */
size_t     cg_loader_batches(const cg_loader *loader);

/* Where a loader stands, for checkpoints. The current epoch's order is
 * re-derived from `rng` (the generator as it was before that epoch's
 * shuffle), so the state is small and restores bit-identically. */
struct cg_loader_state {
    uint64_t epoch;     /* epochs completed */
    uint64_t position;  /* samples of the current epoch already yielded */
    cg_rng   rng;       /* generator state before this epoch's shuffle */
    uint64_t n;         /* data set size, checked on restore */
};

/* The loader's state. */
struct cg_loader_state cg_loader_state(const cg_loader *loader);
/* Put a loader (made with the same data set, batch, shuffle and drop_last)
 * back where `state` was taken. CG_ERR_STATE if the sizes do not fit. */
cg_status  cg_loader_restore(cg_loader *loader, const struct cg_loader_state *state);

/* ---- one-hot ------------------------------------------------------------- */

/* out: [B, C] = one-hot rows of labels: [rows] (rows <= B; rows past `rows`
 * are zero). CG_ERR_ARG naming the row for a label outside 0..C-1. */
cg_status  cg_one_hot(cg_tensor *out, const int *labels, int rows);

#ifdef __cplusplus
}
#endif

#endif /* CG_DATA_H */
