/*
 * CSV data sets: the header, the delimiter, the label and target columns,
 * numbers and class labels, read one record at a time into growing arrays
 * of cg_float (memory close to the parsed numbers, never the whole text).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "internal.h"

#define CSV_MAX_CLASSES 65536

enum { ROLE_FEATURE, ROLE_TARGET, ROLE_LABEL, ROLE_SKIP };

struct csv_load {
    struct cg__csv_reader        r;
    const struct cg_csv_options *o;
    char                  delim;
    bool                  header;
    int                   ncols;
    unsigned char        *role;     /* [ncols] */
    int                  *dest;     /* [ncols] index among features or targets */
    char                **names;    /* [ncols] column names */
    bool                  by_name;  /* dest[] of the features set by a model's names */
    struct cg__store     *s;
    size_t                cap_rows;
    struct cg__label_table lt;
    size_t                skipped;
    char                  first_bad[512];
};

/* ---- rows ----------------------------------------------------------------- */

/* A row that cannot be used: an error, or (skip_bad_rows) counted and
 * skipped. Returns -1 (error set) or 0 (skipped). */
static int bad_row(struct csv_load *L, size_t line, const char *fmt, ...) CG__PRINTF(3, 4);
static int bad_row(struct csv_load *L, size_t line, const char *fmt, ...)
{
    char msg[400];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cg__fail(CG_ERR_FORMAT, "%s:%zu: %s", L->r.path, line, msg);
    if (!L->o->skip_bad_rows)
        return -1;
    if (L->skipped++ == 0)
        snprintf(L->first_bad, sizeof L->first_bad, "%s", cg_errmsg());
    cg_clear_error();
    return 0;
}

/* Describe column j (1-based in messages, with its name when the file has a
 * header) into buf. */
static const char *col_desc(const struct csv_load *L, int j, char *buf, size_t n)
{
    if (L->header)
        snprintf(buf, n, "column %d '%s'", j + 1, L->names[j]);
    else
        snprintf(buf, n, "column %d", j + 1);
    return buf;
}

static int bad_number(struct csv_load *L, size_t line, int j, const struct cg__csv_field *f,
                      int why)
{
    char col[160];
    int n = (int)(f->n > 40 ? 40 : f->n);

    col_desc(L, j, col, sizeof col);
    switch (why) {
    case CG__NUM_EMPTY:
        return bad_row(L, line, "%s: empty field", col);
    case CG__NUM_NAN:
        return bad_row(L, line, "%s: NaN is not allowed", col);
    case CG__NUM_INF:
        return bad_row(L, line, "%s: '%.*s' is infinite or out of range", col, n, f->s);
    default:
        return bad_row(L, line, "%s: '%.*s' is not a number", col, n, f->s);
    }
}

static cg_status grow_rows(struct csv_load *L, size_t rows)
{
    struct cg__store *s = L->s;
    size_t fb, tb, old = L->cap_rows;
    void *p;

    if (!cg__mul_size(rows, (size_t)s->n_features * sizeof(cg_float), &fb) ||
        !cg__mul_size(rows, (size_t)s->n_targets * sizeof(cg_float), &tb))
        return cg__fail(CG_ERR_NOMEM, "%s: too many rows", L->r.path);
    if (!(p = cg__realloc(s->f, old * (size_t)s->n_features * sizeof(cg_float), fb)))
        return CG_ERR_NOMEM;
    s->f = p;
    if (s->n_targets > 0) {
        if (!(p = cg__realloc(s->targets, old * (size_t)s->n_targets * sizeof(cg_float), tb)))
            return CG_ERR_NOMEM;
        s->targets = p;
    }
    if (s->task == CG_TASK_CLASSIFY) {
        if (!(p = cg__realloc(s->labels, old * sizeof(int), rows * sizeof(int))))
            return CG_ERR_NOMEM;
        s->labels = p;
    }
    L->cap_rows = rows;
    return CG_OK;
}

/* The provisional id of a label, adding it if new; -1 with the error set
 * (or 0 via bad_row when skipped: then *id stays -1). */
static int label_id(struct csv_load *L, size_t line, int j, struct cg__csv_field *f, int *id)
{
    const char *s = f->s;
    size_t n = f->n, at;
    char col[160];

    while (n > 0 && (*s == ' ' || *s == '\t'))
        s++, n--;
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    at = cg__lt_find(&L->lt, s, n, id);
    if (*id >= 0)
        return 1;
    if (n == 0)
        return bad_row(L, line, "%s: empty label", col_desc(L, j, col, sizeof col));
    if (L->o->class_names) {
        int k = 0;
        while (k < L->o->n_class_names &&
               !(strlen(L->o->class_names[k]) == n && memcmp(L->o->class_names[k], s, n) == 0))
            k++;
        if (k == L->o->n_class_names)
            return bad_row(L, line, "%s: unknown class '%.*s' (the model has %d classes)",
                           col_desc(L, j, col, sizeof col), (int)(n > 40 ? 40 : n), s,
                           L->o->n_class_names);
        if ((*id = cg__lt_add(&L->lt, at, s, n)) < 0)
            return -1;
        L->lt.final[*id] = k;
        return 1;
    }
    /* a class name goes into model files, whose headers are UTF-8 */
    if (!cg__utf8_valid(s, n))
        return bad_row(L, line, "%s: the label is not valid UTF-8",
                       col_desc(L, j, col, sizeof col));
    if (L->lt.count >= CSV_MAX_CLASSES)
        return cg__fail(CG_ERR_FORMAT, "%s:%zu: %s has more than %d distinct labels: "
                        "for real-valued targets use the regression task", L->r.path, line,
                        col_desc(L, j, col, sizeof col), CSV_MAX_CLASSES), -1;
    return (*id = cg__lt_add(&L->lt, at, s, n)) < 0 ? -1 : 1;
}

/* Parse one record into the next row. 1 added, 0 skipped, -1 error. */
static int add_row(struct csv_load *L, size_t line, struct cg__csv_field *f, long nf)
{
    struct cg__store *s = L->s;
    cg_float *x, *t;
    int label_col = -1, id = -1, rc;

    if (nf != L->ncols)
        return bad_row(L, line, "expected %d fields, found %ld", L->ncols, nf);
    if (s->n == L->cap_rows &&
        grow_rows(L, L->cap_rows + L->cap_rows / 2 + 16) != CG_OK)
        return -1;
    x = s->f + s->n * (size_t)s->n_features;
    t = s->targets ? s->targets + s->n * (size_t)s->n_targets : NULL;
    for (int j = 0; j < L->ncols; j++) {
        double v;
        int why;
        if (L->role[j] == ROLE_LABEL) {
            label_col = j;
            continue;
        }
        if (L->role[j] == ROLE_SKIP)
            continue;
        why = cg__parse_number(f[j].s, f[j].n, &v);
        if (why == CG__NUM_OK && !isfinite((double)(cg_float)v))
            why = CG__NUM_INF;    /* finite as a double, not as a float */
        if (why != CG__NUM_OK)
            return bad_number(L, line, j, &f[j], why);
        if (L->role[j] == ROLE_FEATURE)
            x[L->dest[j]] = (cg_float)v;
        else
            t[L->dest[j]] = (cg_float)v;
    }
    if (label_col >= 0) {
        if ((rc = label_id(L, line, label_col, &f[label_col], &id)) <= 0)
            return rc;
        s->labels[s->n] = id;
    }
    s->n++;
    return 1;
}

/* ---- columns -------------------------------------------------------------- */

/* The delimiter among ',', ';' and tab: the most frequent in the first record
 * among those that occur as often in the second; ',' if none occurs. */
static char detect_delim(const char *r1, size_t n1, const char *r2, size_t n2)
{
    static const char cand[] = {',', ';', '\t'};
    size_t best = 0, any = 0;
    char d = ',', d_any = ',';

    for (int i = 0; i < 3; i++) {
        size_t c1 = cg__csv_count(r1, n1, cand[i]);
        if (c1 > any) {
            any = c1;
            d_any = cand[i];
        }
        if (c1 > best && (!r2 || cg__csv_count(r2, n2, cand[i]) == c1)) {
            best = c1;
            d = cand[i];
        }
    }
    return best > 0 ? d : d_any;
}

static bool is_number(const struct cg__csv_field *f)
{
    double v;
    return cg__parse_number(f->s, f->n, &v) == CG__NUM_OK;
}

/* Auto-detection: row 1 is a header when some column has text in row 1 and
 * a number in row 2 (with one row only: when no field is a number). */
static bool detect_header(const struct cg__csv_field *f1, long n1,
                          const struct cg__csv_field *f2, long n2)
{
    if (!f2) {
        for (long j = 0; j < n1; j++)
            if (is_number(&f1[j]))
                return false;
        return true;
    }
    for (long j = 0; j < n1 && j < n2; j++)
        if (!is_number(&f1[j]) && is_number(&f2[j]))
            return true;
    return false;
}

/* The column named or numbered by tok (n bytes); -1 with the error set. */
static int find_column(const struct csv_load *L, const char *tok, size_t n)
{
    long idx = 0;
    size_t i;

    while (n > 0 && *tok == ' ')
        tok++, n--;
    while (n > 0 && tok[n - 1] == ' ')
        n--;
    for (int j = 0; L->header && j < L->ncols; j++)
        if (strlen(L->names[j]) == n && memcmp(L->names[j], tok, n) == 0)
            return j;
    for (i = 0; i < n && tok[i] >= '0' && tok[i] <= '9' && idx < 1000000000; i++)
        idx = idx * 10 + (tok[i] - '0');
    if (n == 0 || i < n)
        return cg__fail(CG_ERR_ARG, "%s: label column '%.*s' does not exist%s", L->r.path,
                        (int)(n > 60 ? 60 : n), tok,
                        L->header ? "" : " (the file has no header: give a 0-based index)"), -1;
    if (idx >= L->ncols)
        return cg__fail(CG_ERR_ARG, "%s: label column %ld does not exist (the file has %d "
                        "columns, 0 to %d)", L->r.path, idx, L->ncols, L->ncols - 1), -1;
    return (int)idx;
}

/* A model's feature names matched against the header, each to the first
 * column of that name not taken yet: dest[j] is the input index of column j
 * or -1. Returns how many names were found; *missing is the first that
 * was not (-1 if all were). */
static int match_names(struct csv_load *L, int *missing)
{
    const struct cg_csv_options *o = L->o;
    int found = 0;

    *missing = -1;
    for (int j = 0; j < L->ncols; j++)
        L->dest[j] = -1;
    for (int k = 0; k < o->n_inputs; k++) {
        int j = 0;
        while (j < L->ncols && (L->dest[j] >= 0 || strcmp(L->names[j], o->feature_names[k])))
            j++;
        if (j < L->ncols) {
            L->dest[j] = k;
            found++;
        } else if (*missing < 0) {
            *missing = k;
        }
    }
    return found;
}

/* The columns of a model's inputs (task NONE with n_inputs): by header name
 * when the header holds every one of the model's names; else by position,
 * every column, or all but the label column when there is one more. */
static cg_status choose_inputs(struct csv_load *L)
{
    const struct cg_csv_options *o = L->o;
    int missing = -1, found = 0, label;

    if (o->feature_names && L->header) {
        found = match_names(L, &missing);
        if (found == o->n_inputs) {
            for (int j = 0; j < L->ncols; j++)
                L->role[j] = L->dest[j] >= 0 ? ROLE_FEATURE : ROLE_SKIP;
            L->by_name = true;
            return CG_OK;
        }
        memset(L->dest, 0, (size_t)L->ncols * sizeof *L->dest);
        /* Some names but not all: the columns were renamed or are missing,
         * and matching by position could pair the wrong ones. */
        if (found > 0)
            return cg__fail(CG_ERR_FORMAT, "%s: no column '%s' (the model's inputs are found "
                            "by their header names)", L->r.path, o->feature_names[missing]);
    }
    if (L->ncols == o->n_inputs)
        return CG_OK;
    if (L->ncols != o->n_inputs + 1)
        return cg__fail(CG_ERR_FORMAT, "%s: %d columns, but the model takes %d features (and "
                        "at most one label column)", L->r.path, L->ncols, o->n_inputs);
    label = o->label ? find_column(L, o->label, strlen(o->label)) : L->ncols - 1;
    if (label < 0)
        return CG_ERR_ARG;
    L->role[label] = ROLE_SKIP;
    return CG_OK;
}

/* Mark the label or target columns (in the order given) per the options. */
static cg_status choose_labels(struct csv_load *L)
{
    const struct cg_csv_options *o = L->o;
    int k = 0;

    if (o->task == CG_TASK_NONE)
        return o->n_inputs > 0 ? choose_inputs(L) : CG_OK;
    if (!o->label) {
        int want = o->task == CG_TASK_REGRESS && o->n_targets > 0 ? o->n_targets : 1;
        if (want >= L->ncols)
            return cg__fail(CG_ERR_ARG, "%s: %d column%s, no feature column besides the "
                            "%d label column%s (is the delimiter '%s' right?)", L->r.path,
                            L->ncols, L->ncols == 1 ? "" : "s", want, want == 1 ? "" : "s",
                            L->delim == '\t' ? "\\t" : (char[2]){L->delim, 0});
        for (int j = L->ncols - want; j < L->ncols; j++) {
            L->role[j] = ROLE_TARGET;
            L->dest[j] = k++;
        }
    } else {
        for (const char *p = o->label;; p++) {
            const char *e = strchr(p, ',');
            size_t n = e ? (size_t)(e - p) : strlen(p);
            int j = find_column(L, p, n);
            if (j < 0)
                return CG_ERR_ARG;
            if (L->role[j] != ROLE_FEATURE)
                return cg__fail(CG_ERR_ARG, "%s: label column %d is given twice",
                                L->r.path, j);
            L->role[j] = ROLE_TARGET;
            L->dest[j] = k++;
            if (!e)
                break;
            p = e;
        }
    }
    if (o->task == CG_TASK_CLASSIFY) {
        if (k > 1)
            return cg__fail(CG_ERR_ARG, "%s: classification takes one label column, "
                            "not %d", L->r.path, k);
        for (int j = 0; j < L->ncols; j++)
            if (L->role[j] == ROLE_TARGET)
                L->role[j] = ROLE_LABEL;
    }
    if (k >= L->ncols)
        return cg__fail(CG_ERR_ARG, "%s: no feature column is left", L->r.path);
    return CG_OK;
}

/* Set up names, roles and the store from the first record's fields. */
static cg_status setup_columns(struct csv_load *L, const struct cg__csv_field *f1, long n1)
{
    struct cg__store *s = L->s;
    int nf = 0, nt = 0;
    char buf[24];

    L->ncols = (int)n1;
    L->role = cg__calloc((size_t)n1, 1);
    L->dest = cg__calloc((size_t)n1, sizeof *L->dest);
    L->names = cg__calloc((size_t)n1, sizeof *L->names);
    if (!L->role || !L->dest || !L->names)
        return CG_ERR_NOMEM;
    for (int j = 0; j < L->ncols; j++) {
        if (L->header) {
            L->names[j] = cg__malloc(f1[j].n + 1);
            if (L->names[j]) {
                memcpy(L->names[j], f1[j].s, f1[j].n);
                L->names[j][f1[j].n] = '\0';
            }
        } else {
            snprintf(buf, sizeof buf, "%d", j);
            L->names[j] = cg__strdup(buf);
        }
        if (!L->names[j])
            return CG_ERR_NOMEM;
    }
    if (choose_labels(L) != CG_OK)
        return cg_errcode();
    s->task = L->o->task;
    for (int j = 0; j < L->ncols; j++) {
        if (L->role[j] == ROLE_FEATURE) {
            if (!L->by_name)
                L->dest[j] = nf;
            nf++;
        } else if (L->role[j] == ROLE_TARGET) {
            nt++;
        }
    }
    s->n_features = nf;
    s->n_targets = nt;
    s->feature_names = cg__calloc((size_t)nf, sizeof *s->feature_names);
    if (nt > 0 && !(s->target_names = cg__calloc((size_t)nt, sizeof *s->target_names)))
        return CG_ERR_NOMEM;
    if (!s->feature_names)
        return CG_ERR_NOMEM;
    /* Hand the names over: each column's name goes to its feature or target. */
    for (int j = 0; j < L->ncols; j++) {
        if (L->role[j] == ROLE_FEATURE)
            s->feature_names[L->dest[j]] = L->names[j];
        else if (L->role[j] == ROLE_TARGET)
            s->target_names[L->dest[j]] = L->names[j];
        else
            continue;
        L->names[j] = cg__strdup(L->names[j]);
        if (!L->names[j])
            return CG_ERR_NOMEM;
    }
    return CG_OK;
}

/* ---- class ids ------------------------------------------------------------ */

struct sorted_label {
    const char *s;
    int         id;
};

static int cmp_label(const void *a, const void *b)
{
    return strcmp(((const struct sorted_label *)a)->s, ((const struct sorted_label *)b)->s);
}

/* The value of a label of digits only (below CSV_MAX_CLASSES), else -1. */
static int small_int(const char *p)
{
    int v = 0;

    if (!*p)
        return -1;
    for (; *p; p++) {
        if (*p < '0' || *p > '9' || v >= CSV_MAX_CLASSES)
            return -1;
        v = v * 10 + (*p - '0');
    }
    return v < CSV_MAX_CLASSES ? v : -1;
}

/* Turn provisional ids into class ids and names: a model's names if given;
 * else the integers themselves when every label is one; else sorted order. */
static cg_status finish_labels(struct csv_load *L)
{
    struct cg__label_table *t = &L->lt;
    struct cg__store *s = L->s;
    struct sorted_label *order = NULL;
    int max = -1;

    if (L->o->class_names) {
        s->n_classes = L->o->n_class_names;
        s->class_names = cg__calloc((size_t)s->n_classes, sizeof *s->class_names);
        if (!s->class_names)
            return CG_ERR_NOMEM;
        for (int k = 0; k < s->n_classes; k++)
            if (!(s->class_names[k] = cg__strdup(L->o->class_names[k])))
                return CG_ERR_NOMEM;
    } else {
        for (int k = 0; k < t->count && max >= -1; k++) {
            int v = small_int(t->pool + t->off[k]);
            t->final[k] = v;
            max = v < 0 ? -2 : (v > max ? v : max);
        }
        if (max >= 0) {
            s->n_classes = max + 1;
            if (!(s->class_names = cg__names_numbered(s->n_classes)))
                return CG_ERR_NOMEM;
        } else {
            order = cg__calloc((size_t)t->count, sizeof *order);
            s->class_names = cg__calloc((size_t)t->count, sizeof *s->class_names);
            if (!order || !s->class_names) {
                cg__free(order);
                return CG_ERR_NOMEM;
            }
            s->n_classes = t->count;
            for (int k = 0; k < t->count; k++) {
                order[k].s = t->pool + t->off[k];
                order[k].id = k;
            }
            qsort(order, (size_t)t->count, sizeof *order, cmp_label);
            for (int r = 0; r < t->count; r++) {
                t->final[order[r].id] = r;
                s->class_names[r] = cg__strdup(order[r].s);
                if (!s->class_names[r]) {
                    cg__free(order);
                    return CG_ERR_NOMEM;
                }
            }
            cg__free(order);
        }
    }
    for (size_t i = 0; i < s->n; i++)
        s->labels[i] = t->final[s->labels[i]];
    return CG_OK;
}

/* ---- loading -------------------------------------------------------------- */

static cg_status check_options(const char *path, const struct cg_csv_options *o)
{
    if (!path)
        return cg__fail(CG_ERR_ARG, "cg_csv_load: NULL path");
    if (o->header < CG_CSV_HEADER_AUTO || o->header > CG_CSV_HEADER_OFF)
        return cg__fail(CG_ERR_ARG, "%s: bad header option %d", path, o->header);
    if (o->task < CG_TASK_CLASSIFY || o->task > CG_TASK_NONE)
        return cg__fail(CG_ERR_ARG, "%s: bad task %d", path, (int)o->task);
    if (o->n_targets < 0)
        return cg__fail(CG_ERR_ARG, "%s: negative number of targets", path);
    if (o->delimiter == '"' || o->delimiter == '\n' || o->delimiter == '\r')
        return cg__fail(CG_ERR_ARG, "%s: the delimiter cannot be a quote or a line end", path);
    if (o->class_names && o->n_class_names <= 0)
        return cg__fail(CG_ERR_ARG, "%s: class names given without their number", path);
    if (o->n_inputs < 0 || (o->feature_names && o->n_inputs == 0) ||
        (o->n_inputs > 0 && o->task != CG_TASK_NONE))
        return cg__fail(CG_ERR_ARG, "%s: a model's inputs (n_inputs %d) are read with "
                        "task CG_TASK_NONE", path, o->n_inputs);
    return CG_OK;
}

/* A first guess of the row count from the file size and one record's length,
 * so the arrays are allocated about once. */
static size_t guess_rows(FILE *f, size_t rec_len)
{
    struct stat st;

    if (fstat(fileno(f), &st) != 0 || st.st_size <= 0)
        return 64;
    return (size_t)st.st_size / (rec_len + 1) + 16;
}

/* Split a record and add it as a data row. 1, 0 (skipped) or -1. */
static int add_record(struct csv_load *L, size_t line, char *rec, size_t len,
                      struct cg__csv_field **f, size_t *cap)
{
    long nf = cg__csv_split(rec, len, L->delim, f, cap);
    return nf < 0 ? -1 : add_row(L, line, *f, nf);
}

/* Read everything after the first record (its fields f1, n1) into L->s. */
static cg_status read_rows(struct csv_load *L, struct cg__csv_field *f1, long n1,
                           size_t line1, char *rec2, size_t len2)
{
    struct cg__csv_field *f = NULL, *f2 = NULL;
    size_t cap = 0, cap2 = 0, line2 = L->r.line;
    long n2 = 0;
    int rc = -1;
    char *rec;
    size_t len;

    if (rec2 && (n2 = cg__csv_split(rec2, len2, L->delim, &f2, &cap2)) < 0)
        goto out;
    L->header = L->o->header == CG_CSV_HEADER_ON ||
                (L->o->header == CG_CSV_HEADER_AUTO && detect_header(f1, n1, f2, n2));
    if (setup_columns(L, f1, n1) != CG_OK)
        goto out;
    if (grow_rows(L, guess_rows(L->r.f, rec2 ? len2 : 64)) != CG_OK)
        goto out;
    if (!L->header && (rc = add_row(L, line1, f1, n1)) < 0)
        goto out;
    if (rec2 && (rc = add_row(L, line2, f2, n2)) < 0)
        goto out;
    while ((rc = cg__csv_next(&L->r, &rec, &len)) > 0)
        if ((rc = add_record(L, L->r.line, rec, len, &f, &cap)) < 0)
            goto out;
out:
    cg__free(f);
    cg__free(f2);
    return rc < 0 ? cg_errcode() : CG_OK;
}

/* Shrink the arrays to the rows read and finish the labels and warning. */
static cg_status finish(struct csv_load *L)
{
    struct cg__store *s = L->s;

    if (s->n == 0)
        return cg__fail(CG_ERR_FORMAT, "%s: no data rows%s", L->r.path,
                        L->skipped ? " (every row was bad)" : "");
    if (s->n < L->cap_rows && grow_rows(L, s->n) != CG_OK)
        return CG_ERR_NOMEM;
    if (s->task == CG_TASK_CLASSIFY && finish_labels(L) != CG_OK)
        return CG_ERR_NOMEM;
    return cg__store_warn(s, L->skipped, "bad rows", L->first_bad);
}

/* Load everything from L's open reader (L->o set); the reader stays open. */
static cg_dataset *load_records(struct csv_load *L)
{
    const char *path = L->r.path;
    struct cg__csv_field *f1 = NULL;
    size_t len, len1, line1, cap1 = 0;
    char *rec, *first = NULL;
    cg_dataset *ds = NULL;
    long n1;
    int rc;

    if (!(L->s = cg__store_new()))
        goto out;
    if ((rc = cg__csv_next(&L->r, &rec, &len)) <= 0) {
        if (rc == 0)
            cg__fail(CG_ERR_FORMAT, "%s: empty file", path);
        goto out;
    }
    /* Keep record 1 aside: the reader's buffer moves when record 2 is read. */
    len1 = len;
    line1 = L->r.line;
    if (!(first = cg__malloc(len1 + 1)))
        goto out;
    memcpy(first, rec, len1);
    if ((rc = cg__csv_next(&L->r, &rec, &len)) < 0)
        goto out;
    if (rc == 0)
        rec = NULL;
    L->delim = L->o->delimiter ? L->o->delimiter : detect_delim(first, len1, rec, len);
    if ((n1 = cg__csv_split(first, len1, L->delim, &f1, &cap1)) < 0)
        goto out;
    if (L->lt.nslot == 0 && cg__lt_rehash(&L->lt, 64) != CG_OK)
        goto out;
    if (read_rows(L, f1, n1, line1, rec, len) != CG_OK || finish(L) != CG_OK)
        goto out;
    ds = cg__dataset_wrap(L->s);
    L->s = NULL;
out:
    cg__store_release(L->s);
    cg__names_free(L->names, L->ncols);
    cg__free(L->role);
    cg__free(L->dest);
    cg__lt_free(&L->lt);
    cg__free(f1);
    cg__free(first);
    return ds;
}

cg_dataset *cg_csv_load(const char *path, const struct cg_csv_options *opts)
{
    static const struct cg_csv_options defaults;
    struct csv_load L;
    cg_dataset *ds;

    memset(&L, 0, sizeof L);
    L.o = opts ? opts : &defaults;
    if (check_options(path, L.o) != CG_OK)
        return NULL;
    cg_clear_error();
    if (cg__csv_open(&L.r, path) != CG_OK)
        return NULL;
    ds = load_records(&L);
    cg__csv_close(&L.r);
    return ds;
}

cg_dataset *cg_csv_load_stream(FILE *f, const char *name, const struct cg_csv_options *opts)
{
    static const struct cg_csv_options defaults;
    struct csv_load L;
    cg_dataset *ds;

    memset(&L, 0, sizeof L);
    L.o = opts ? opts : &defaults;
    if (!f)
        return cg__fail_null(CG_ERR_ARG, "cg_csv_load_stream: NULL file");
    if (check_options(name, L.o) != CG_OK)
        return NULL;
    cg_clear_error();
    if (cg__csv_open_stream(&L.r, f, name) != CG_OK)
        return NULL;
    ds = load_records(&L);
    cg__csv_close(&L.r);
    return ds;
}
