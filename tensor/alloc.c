/*
 * The one door for memory. Every allocation of the library, stb_image's
 * included, goes through the allocator installed with cg_set_allocator, so an
 * embedder can route it to their own heap and the tests can fail the N-th
 * allocation to prove every error path frees what it took.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static void *libc_malloc(size_t size, void *ctx)
{
    (void)ctx;
    return malloc(size);
}

static void *libc_realloc(void *ptr, size_t size, void *ctx)
{
    (void)ctx;
    return realloc(ptr, size);
}

static void libc_free(void *ptr, void *ctx)
{
    (void)ctx;
    free(ptr);
}

/* The hook, with the DESIGN's one exception to "no global mutable state". */
static struct cg_allocator allocator = {libc_malloc, libc_realloc, libc_free, NULL};

void cg_set_allocator(const struct cg_allocator *a)
{
    if (a && a->malloc && a->free) {
        allocator = *a;
    } else {
        allocator.malloc = libc_malloc;
        allocator.realloc = libc_realloc;
        allocator.free = libc_free;
        allocator.ctx = NULL;
    }
}

void *cg__malloc(size_t size)
{
    void *p = allocator.malloc(size ? size : 1, allocator.ctx);
    if (!p)
        return cg__fail_null(CG_ERR_NOMEM, "out of memory (%zu bytes)", size);
    return p;
}

void *cg__calloc(size_t count, size_t size)
{
    size_t bytes;
    void *p;

    if (!cg__mul_size(count, size, &bytes))
        return cg__fail_null(CG_ERR_NOMEM, "allocation of %zu x %zu bytes overflows",
                             count, size);
    p = cg__malloc(bytes);
    if (p)
        memset(p, 0, bytes);
    return p;
}

void *cg__realloc(void *ptr, size_t old_size, size_t new_size)
{
    void *p;

    if (allocator.realloc) {
        p = allocator.realloc(ptr, new_size ? new_size : 1, allocator.ctx);
        if (!p)
            return cg__fail_null(CG_ERR_NOMEM, "out of memory (%zu bytes)", new_size);
        return p;
    }
    p = cg__malloc(new_size);
    if (!p)
        return NULL;
    if (ptr)
        memcpy(p, ptr, old_size < new_size ? old_size : new_size);
    cg__free(ptr);
    return p;
}

void cg__free(void *ptr)
{
    if (ptr)
        allocator.free(ptr, allocator.ctx);
}

char *cg__strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = cg__malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}
