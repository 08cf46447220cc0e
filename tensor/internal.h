/*
 * Internals shared between the library's files (prefix cg__). Not installed.
 */
#ifndef CG_INTERNAL_H
#define CG_INTERNAL_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>

#include "tensor.h"

#if defined(__GNUC__)
#define CG__PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define CG__PRINTF(f, a)
#endif

/* Hot element-wise loops get an AVX2 copy chosen when the program loads
 * (gcc's target_clones, an ifunc): the same IEEE operations on vectors twice
 * as wide, so the same bits as the SSE2 copy (no FMA is enabled, and -std=c11
 * keeps gcc from contracting a * b + c). Elsewhere it is a no-op. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define CG__VECTOR_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define CG__VECTOR_CLONES
#endif

/* Record an error for cg_errmsg() and return the status. Every error the
 * library reports is born here: the one place for a breakpoint. */
cg_status cg__fail(cg_status status, const char *fmt, ...) CG__PRINTF(2, 3);
/* The same, returning NULL, for constructors: `return cg__fail_null(...)`. */
void *cg__fail_null(cg_status status, const char *fmt, ...) CG__PRINTF(2, 3);
/* Prefix the current error message with "prefix: " (file names, ops). */
void cg__errmsg_prefix(const char *fmt, ...) CG__PRINTF(1, 2);
/* Keep the message, change its status (a bad spec read from a file is
 * CG_ERR_FORMAT, not the parser's CG_ERR_ARG); returns status. */
cg_status cg__errcode_set(cg_status status);

/* The one door for memory: through the allocator of cg_set_allocator. On
 * failure they set CG_ERR_NOMEM with the size asked for and return NULL. */
void *cg__malloc(size_t size);
void *cg__calloc(size_t count, size_t size);
void *cg__realloc(void *ptr, size_t old_size, size_t new_size);
void  cg__free(void *ptr);
char *cg__strdup(const char *s);

/* a * b into *out; false on overflow (nothing written then). */
static inline bool cg__mul_size(size_t a, size_t b, size_t *out)
{
    if (b != 0 && a > SIZE_MAX / b)
        return false;
    *out = a * b;
    return true;
}

/* a + b into *out; false on overflow. */
static inline bool cg__add_size(size_t a, size_t b, size_t *out)
{
    if (a > SIZE_MAX - b)
        return false;
    *out = a + b;
    return true;
}

/* A file being written by the one atomic writer (file.c; see "files" in
 * tensor.h): write to f, then cg__out_close. */
struct cg__out {
    FILE       *f;
    const char *path;     /* as given (borrowed) */
    char       *target;   /* a link's resolved target, or NULL */
    char       *tmp;      /* the temporary file, NULL when written in place */
    int         lock_fd;  /* holds tmp's flock until the rename */
};

/* Open path for writing (a temporary file beside it, or a device in place).
 * CG_ERR_IO with a message that does not name path (the caller prefixes). */
cg_status cg__out_open(struct cg__out *o, const char *path);
/* Finish: with s == CG_OK flush, fsync and rename over the target; else (or
 * when that fails) remove the temporary file. Returns the final status. */
cg_status cg__out_close(struct cg__out *o, cg_status s);
/* The same in one call: write(f, ctx) fills the file that cg__out_open
 * opened for path, then cg__out_close. Messages do not name path. */
cg_status cg__write_atomic(const char *path, cg_status (*write)(FILE *f, void *ctx), void *ctx);

/* True when s[0..n) is valid UTF-8 (no overlong forms, no surrogates, at
 * most U+10FFFF). */
bool cg__utf8_valid(const char *s, size_t n);

/* Element count of a shape; CG_ERR_SHAPE (set) on a bad one. */
cg_status cg__shape_size(int ndim, const int *shape, size_t *size);

#endif /* CG_INTERNAL_H */
