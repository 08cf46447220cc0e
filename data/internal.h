/*
 * Internals of the data layer shared between its files (prefix cg__).
 * Not installed.
 */
#ifndef CG_DATA_INTERNAL_H
#define CG_DATA_INTERNAL_H

#include "../tensor/internal.h"
#include "data.h"

/* The samples of a data set, shared by reference count between a data set
 * and its split views. Exactly one of u8 and f holds the features. */
struct cg__store {
    int       refs;
    size_t    n;             /* samples held */
    int       n_features;    /* F */
    uint8_t  *u8;            /* [n, F] image bytes (IDX, image folders) */
    cg_float *f;             /* [n, F] table values (CSV) */
    int      *labels;        /* [n] class ids (CG_TASK_CLASSIFY) */
    cg_float *targets;       /* [n, T] regression targets (CG_TASK_REGRESS) */
    cg_task   task;
    int       n_classes;
    char    **class_names;   /* [n_classes] */
    int       n_targets;     /* T */
    char    **target_names;  /* [T] */
    char    **feature_names; /* [F] for CSV, NULL for images */
    int       width, height, channels;  /* images; 0 for tables */
    size_t    skipped;       /* rows or files skipped while loading */
    char     *warning;       /* a summary of what was skipped, or NULL */
};

/* A data set: all of a store, or a view of some of its samples. */
struct cg_dataset {
    struct cg__store *s;
    size_t            n;     /* samples in this set */
    size_t           *idx;   /* [n] sample numbers in s, NULL for 0..n-1 */
};

/* A zero-filled store with one reference; NULL if out of memory. */
struct cg__store *cg__store_new(void);
/* Drop a reference; the last one frees the store. NULL is a no-op. */
void cg__store_release(struct cg__store *s);
/* A data set over all of s, taking over the caller's reference (released
 * on failure too). */
cg_dataset *cg__dataset_wrap(struct cg__store *s);
/* The names "0", "1", ..., "n-1" in a new array; NULL if out of memory. */
char **cg__names_numbered(int n);
/* Free an array of n names (NULL entries allowed); NULL is a no-op. */
void cg__names_free(char **names, int n);
/* Record in s that `count` items were skipped, the first for `first`. */
cg_status cg__store_warn(struct cg__store *s, size_t count, const char *what,
                         const char *first);

/* The store sample number of the i-th sample of ds. */
static inline size_t cg__ds_index(const cg_dataset *ds, size_t i)
{
    return ds->idx ? ds->idx[i] : i;
}

/* ---- a process's part of each batch (loader.c) ------------------------------
 * cg_loader_next for a process that trains on some rows of every batch
 * (train/dist_step.c): the same batches, the same count of rows returned
 * and the same state afterwards, but only rows [r0, r1) of each, as
 * part(ctx, rows, &r0, &r1) picks them for a batch of `rows` rows, are
 * converted, into their places (x + r0 * F, labels + r0, ...); the other
 * rows of the buffers are left as they were. */
typedef void (*cg__batch_part_fn)(void *ctx, int rows, int *r0, int *r1);
int cg__loader_next_part(cg_loader *loader, cg_float *x, int *labels, cg_float *targets,
                         cg__batch_part_fn part, void *ctx);

/* ---- CSV reading (csv_read.c) ---------------------------------------------- */

/* A streaming reader of RFC 4180 records from a FILE, a chunk at a time. */
struct cg__csv_reader {
    FILE       *f;
    const char *path;
    char       *buf;
    size_t      cap, len, pos;  /* buf[pos..len) is not yet consumed */
    bool        eof;
    bool        borrowed;       /* f belongs to the caller: not closed */
    size_t      line;           /* first line of the record last returned */
    size_t      next_line;      /* first line of the next record */
};

/* One field of a record: text inside the reader's buffer, unquoted. */
struct cg__csv_field {
    char  *s;
    size_t n;
};

/* Open path for reading; CG_ERR_IO naming the file on failure. */
cg_status cg__csv_open(struct cg__csv_reader *r, const char *path);
/* Read from f (borrowed: left open), named `name` in messages. */
cg_status cg__csv_open_stream(struct cg__csv_reader *r, FILE *f, const char *name);
void      cg__csv_close(struct cg__csv_reader *r);
/* The next non-blank record (its text without the line end) in *rec, *len;
 * the text lives in the reader's buffer until the next call. Returns 1, 0
 * at the end of the file, or -1 with the error set. */
int       cg__csv_next(struct cg__csv_reader *r, char **rec, size_t *len);
/* Split a record in place into fields (quotes removed, "" made "), growing
 * *fields (capacity *cap) as needed. Returns the field count, -1 if out of
 * memory. */
long      cg__csv_split(char *rec, size_t len, char delim, struct cg__csv_field **fields,
                        size_t *cap);
/* Count delim in a raw record outside quotes. */
size_t    cg__csv_count(const char *rec, size_t len, char delim);

enum { CG__NUM_OK, CG__NUM_EMPTY, CG__NUM_WORD, CG__NUM_NAN, CG__NUM_INF };
/* Parse a field as a finite number (spaces around allowed): CG__NUM_OK and
 * *out, or why not. */
int       cg__parse_number(const char *s, size_t n, double *out);

/* ---- CSV labels (csv_labels.c) --------------------------------------------- */

/* Distinct label strings, interned by an open-addressing hash table; each
 * gets a provisional id in order of first appearance. */
struct cg__label_table {
    char   *pool;            /* the strings, NUL-terminated, back to back */
    size_t  pool_len, pool_cap;
    size_t *off;             /* [count] offset of each string in pool */
    int    *final;           /* [count] final class id */
    int     count, cap;
    int    *slot;            /* [nslot] provisional id, or -1 */
    size_t  nslot;
};

/* The slot holding s (n bytes) with its id in *id, or the empty slot where
 * it would go (*id = -1). The table must have slots (cg__lt_rehash first). */
size_t    cg__lt_find(const struct cg__label_table *t, const char *s, size_t n, int *id);
/* Rebuild the slots with nslot (a power of two) entries. */
cg_status cg__lt_rehash(struct cg__label_table *t, size_t nslot);
/* Add s (absent; its slot `at` from cg__lt_find): its new id, -1 if out of memory. */
int       cg__lt_add(struct cg__label_table *t, size_t at, const char *s, size_t n);
void      cg__lt_free(struct cg__label_table *t);

/* ---- images (stb_impl.c) -------------------------------------------------- */

/* Decode a file (JPEG with libjpeg-turbo, the other formats with stb_image)
 * into `want` channels (0: its own, in *comp); NULL and the decoder's reason
 * on failure. Free with cg__image_free. */
/* True when loading the IDX folder dir, or the image folder root, reads
 * file (an existing file: its device and inode; an image: its grandparent
 * is root). For cg_data_reads_file. */
bool     cg__idx_dir_reads(const char *dir, const char *file);
bool     cg__image_folder_reads(const char *root, const char *file);

uint8_t *cg__image_decode(const char *path, int want, int *w, int *h, int *comp,
                          const char **reason);
/* Size and channel count of an image file without decoding it. */
/* The largest image decoded, in pixels (2^24); larger ones are refused from
 * their header before any allocation. A variable only so that the fuzz
 * target can lower it (decoding 2^24 zero pixels per input is slow). */
extern long long cg__image_max_pixels;
bool     cg__image_info(const char *path, int *w, int *h, int *comp, const char **reason);
void     cg__image_free(uint8_t *pixels);

/* ---- JPEG (jpeg.c, libjpeg-turbo) ------------------------------------------- */

/* True when the bytes start like a JPEG (SOI marker). */
bool     cg__jpeg_is(const uint8_t *b, size_t n);
/* Size and channel count (1 for greyscale, else 3) from the header. */
bool     cg__jpeg_info(const uint8_t *b, size_t n, int *w, int *h, int *comp,
                       const char **reason);
/* Decode into `want` channels (1 or 3; 0: the file's) in a cg__malloc
 * block, [h, w, want]; size_problem(w, h) is asked before any pixel is
 * allocated. NULL and a reason ("Out of memory" when it is ours) on failure. */
uint8_t *cg__jpeg_decode(const uint8_t *b, size_t n, int want, int *w, int *h, int *comp,
                         const char *(*size_problem)(int w, int h), const char **reason);

/* ---- resizing (stb_impl.c) -------------------------------------------------- */

/* Resize packed 8-bit pixels (stb_image_resize's default filter). false if
 * out of memory. */
bool     cg__image_resize(const uint8_t *in, int iw, int ih, uint8_t *out, int ow, int oh,
                          int channels);

#endif /* CG_DATA_INTERNAL_H */
