/*
 * Internals shared between the library's files (prefix cg__). Not installed.
 */
#ifndef CG_INTERNAL_H
#define CG_INTERNAL_H

#include <stdarg.h>
#include <stdint.h>

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

/* The one softmax and log-sum-exp (tensor/kernels.c), for the layers that
 * need both from one pass (cross-entropy): x: [n], n >= 1, returns
 * log(sum(exp(x))) in double and, when p: [n] is not NULL, writes softmax(x)
 * into it (p may be x). */
double cg__softmax_row(cg_float *p, const cg_float *x, int n);

/* Element count of a shape; CG_ERR_SHAPE (set) on a bad one. */
cg_status cg__shape_size(int ndim, const int *shape, size_t *size);

#endif /* CG_INTERNAL_H */
