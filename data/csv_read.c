/*
 * CSV reading, the low level: records of RFC 4180 (quoted fields, "" for a
 * quote inside one, CRLF or LF line ends, a last line with or without its
 * newline) read from a FILE in chunks, so that a large file never sits in
 * memory; fields split in place; numbers parsed without a copy.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "internal.h"

#define CSV_CHUNK ((size_t)1 << 20)

/* ---- records -------------------------------------------------------------- */

/* The buffer: a small file gets one of its size (+1 to see the end), not
 * 1 MB; a pipe starts small and grows as records need. */
static cg_status alloc_buffer(struct cg__csv_reader *r)
{
    struct stat st;
    size_t cap = CSV_CHUNK;
    if (fstat(fileno(r->f), &st) == 0 && st.st_size >= 0 && (size_t)st.st_size < CSV_CHUNK)
        cap = (size_t)st.st_size + 1 < 256 ? 256 : (size_t)st.st_size + 1;
    r->buf = cg__malloc(cap);
    if (!r->buf)
        return CG_ERR_NOMEM;
    r->cap = cap;
    r->next_line = 1;
    return CG_OK;
}

cg_status cg__csv_open(struct cg__csv_reader *r, const char *path)
{
    memset(r, 0, sizeof *r);
    r->path = path;
    r->f = fopen(path, "rb");
    if (!r->f)
        return cg__fail(CG_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    if (alloc_buffer(r) != CG_OK) {
        fclose(r->f);
        r->f = NULL;
        return CG_ERR_NOMEM;
    }
    return CG_OK;
}

cg_status cg__csv_open_stream(struct cg__csv_reader *r, FILE *f, const char *name)
{
    memset(r, 0, sizeof *r);
    r->path = name;
    r->f = f;
    r->borrowed = true;
    return alloc_buffer(r);
}

void cg__csv_close(struct cg__csv_reader *r)
{
    if (r->f && !r->borrowed)
        fclose(r->f);
    cg__free(r->buf);
    memset(r, 0, sizeof *r);
}

/* Move the unconsumed tail to the front and read more after it, growing the
 * buffer when one record fills it. Returns 0, or -1 with the error set. */
static int refill(struct cg__csv_reader *r)
{
    size_t got;

    if (r->pos > 0) {
        memmove(r->buf, r->buf + r->pos, r->len - r->pos);
        r->len -= r->pos;
        r->pos = 0;
    }
    if (r->len == r->cap) {
        size_t cap;
        char *nb;
        if (!cg__mul_size(r->cap, 2, &cap))
            return cg__fail(CG_ERR_NOMEM, "%s:%zu: record too long", r->path, r->next_line);
        nb = cg__realloc(r->buf, r->cap, cap);
        if (!nb)
            return -1;
        r->buf = nb;
        r->cap = cap;
    }
    got = fread(r->buf + r->len, 1, r->cap - r->len, r->f);
    if (got == 0) {
        if (ferror(r->f))
            return cg__fail(CG_ERR_IO, "%s:%zu: read error", r->path, r->next_line), -1;
        r->eof = true;
    }
    r->len += got;
    return 0;
}

/* Find the end of the record that starts at s (n bytes available): the
 * offset of its '\n' outside quotes, or n if none yet. *nl counts the
 * newlines inside quoted fields; *open says whether a quote is still open. */
static size_t record_end(const char *s, size_t n, size_t *nl, bool *open)
{
    const char *e = memchr(s, '\n', n);
    size_t end = e ? (size_t)(e - s) : n;
    bool q = false;

    *nl = 0;
    *open = false;
    if (!memchr(s, '"', end))      /* the common case: no quote at all */
        return end;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"')
            q = !q;
        else if (s[i] == '\n') {
            if (!q)
                return i;
            (*nl)++;
        }
    }
    *open = q;
    return n;
}

int cg__csv_next(struct cg__csv_reader *r, char **rec, size_t *len)
{
    for (;;) {
        size_t avail = r->len - r->pos, nl, end;
        bool open;
        char *s = r->buf + r->pos;

        end = record_end(s, avail, &nl, &open);
        if (end == avail && !r->eof) {
            if (refill(r) < 0)
                return -1;
            continue;
        }
        if (avail == 0)
            return 0;
        if (open)
            return cg__fail(CG_ERR_FORMAT, "%s:%zu: a quoted field is not closed",
                            r->path, r->next_line), -1;
        r->line = r->next_line;
        r->next_line += nl + 1;
        r->pos += end < avail ? end + 1 : end;
        if (end > 0 && s[end - 1] == '\r')
            end--;
        /* Skip a UTF-8 byte-order mark (spreadsheets write one). */
        if (r->line == 1 && end >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) {
            s += 3;
            end -= 3;
        }
        if (end == 0)                 /* a blank line is no record */
            continue;
        /* Fields become C strings: a NUL would cut one short ("x\0q" and
         * "x\0r" would be one label). */
        const char *nul = memchr(s, '\0', end);
        if (nul)
            return cg__fail(CG_ERR_FORMAT, "%s:%zu: a NUL byte at byte %zu of the record "
                            "(a CSV file is text)", r->path, r->line,
                            (size_t)(nul - s) + 1), -1;
        *rec = s;
        *len = end;
        return 1;
    }
}

/* ---- fields --------------------------------------------------------------- */

size_t cg__csv_count(const char *rec, size_t len, char delim)
{
    size_t k = 0;
    bool q = false;

    for (size_t i = 0; i < len; i++) {
        if (rec[i] == '"')
            q = !q;
        else if (rec[i] == delim && !q)
            k++;
    }
    return k;
}

/* Unquote the field at start (which begins with a quote) in place, up to
 * the next delimiter outside quotes. Text after the closing quote is kept
 * (a lenient reading of RFC 4180). Returns the field's length and sets *next
 * to where reading stopped (the delimiter or end). */
static size_t unquote(char *start, const char *end, char delim, char **next)
{
    char *w = start, *s = start + 1;
    bool q = true;

    while (s < end) {
        if (*s == '"') {
            if (q && s + 1 < end && s[1] == '"') {
                *w++ = '"';
                s += 2;
            } else {
                q = !q;
                s++;
            }
            continue;
        }
        if (!q && *s == delim)
            break;
        *w++ = *s++;
    }
    *next = s;
    return (size_t)(w - start);
}

long cg__csv_split(char *rec, size_t len, char delim, struct cg__csv_field **fields,
                   size_t *cap)
{
    char *p = rec, *end = rec + len;
    size_t n = 0;

    for (;;) {
        struct cg__csv_field f;
        char *next;

        if (n == *cap) {
            size_t nc = *cap ? *cap * 2 : 16;
            struct cg__csv_field *nf = cg__realloc(*fields, *cap * sizeof **fields,
                                                   nc * sizeof **fields);
            if (!nf)
                return -1;
            *fields = nf;
            *cap = nc;
        }
        f.s = p;
        if (p < end && *p == '"') {
            f.n = unquote(p, end, delim, &next);
        } else {
            next = memchr(p, delim, (size_t)(end - p));
            if (!next)
                next = end;
            f.n = (size_t)(next - p);
        }
        (*fields)[n++] = f;
        if (next >= end)
            break;
        p = next + 1;       /* past the delimiter; a trailing one gives "" */
    }
    return (long)n;
}

/* ---- numbers -------------------------------------------------------------- */

/* Powers of ten exact in a double (10^22 is the last one). */
static const double pow10_exact[] = {
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22
};

/* Clinger's fast path: a decimal with at most 15 significant digits times
 * 10^e, |e| <= 22, is one correctly rounded multiplication or division of
 * two exact doubles. Returns 1 on success, 0 if the text is not a plain
 * decimal, -1 if it is one the fast path cannot round exactly. */
static int parse_fast(const char *p, const char *end, double *out)
{
    uint64_t m = 0;
    int digits = 0, e10 = 0;
    bool neg = false, any = false, lost = false;

    if (p < end && (*p == '-' || *p == '+'))
        neg = *p++ == '-';
    for (; p < end && (unsigned)(*p - '0') < 10; p++, any = true) {
        if (digits < 19) {
            m = m * 10 + (uint64_t)(*p - '0');
            digits += m != 0;
        } else {
            e10++;
            lost = true;
        }
    }
    if (p < end && *p == '.') {
        for (p++; p < end && (unsigned)(*p - '0') < 10; p++, any = true) {
            if (digits < 19) {
                m = m * 10 + (uint64_t)(*p - '0');
                digits += m != 0;
                e10--;
            } else {
                lost = true;
            }
        }
    }
    if (!any)
        return 0;
    if (p < end && (*p == 'e' || *p == 'E')) {
        int sign = 1, e = 0;
        p++;
        if (p < end && (*p == '-' || *p == '+'))
            sign = *p++ == '-' ? -1 : 1;
        if (p == end || (unsigned)(*p - '0') >= 10)
            return 0;
        for (; p < end && (unsigned)(*p - '0') < 10; p++)
            if (e < 100000)
                e = e * 10 + (*p - '0');
        e10 += sign * e;
    }
    if (p != end)
        return 0;
    if (lost || digits > 15 || e10 < -22 || e10 > 22)
        return -1;
    *out = e10 < 0 ? (double)m / pow10_exact[-e10] : (double)m * pow10_exact[e10];
    if (neg)
        *out = -*out;
    return 1;
}

int cg__parse_number(const char *s, size_t n, double *out)
{
    const char *end = s + n;
    char buf[128], *stop;
    int fast;
    double v;

    while (s < end && (*s == ' ' || *s == '\t'))
        s++;
    while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    if (s == end)
        return CG__NUM_EMPTY;
    fast = parse_fast(s, end, out);
    if (fast > 0)
        return CG__NUM_OK;
    /* The slow road: strtod on a terminated copy, which also tells NaN and
     * infinity apart from words. */
    n = (size_t)(end - s);
    if (n >= sizeof buf)
        return CG__NUM_WORD;
    memcpy(buf, s, n);
    buf[n] = '\0';
    errno = 0;
    v = strtod(buf, &stop);
    if (stop != buf + n || stop == buf)
        return CG__NUM_WORD;
    if (isnan(v))
        return CG__NUM_NAN;
    if (isinf(v))
        return CG__NUM_INF;       /* "inf", or 1e999 out of range */
    *out = v;
    return CG__NUM_OK;
}
