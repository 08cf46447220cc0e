/*
 * The arena: a bump allocator over a list of blocks.
 *
 * A training step allocates the same sizes in the same order every time, so
 * the blocks that the first step needed are enough for every later one:
 * cg_arena_reset rewinds to the first block in O(1) and keeps them all, and a
 * steady-state step never calls the system allocator. When a request does not
 * fit, the arena moves on to the next block it already holds, or inserts a new
 * one at least twice the size of the last.
 */
#include <string.h>

#include "internal.h"

#define CG__ARENA_FIRST_BLOCK ((size_t)64 * 1024)

struct cg_block {
    struct cg_block *next;
    unsigned char   *base;     /* CG_ALIGN-aligned start of the usable bytes */
    size_t           capacity; /* usable bytes from base */
};

struct cg_arena {
    struct cg_block *first;
    struct cg_block *current;
    size_t           offset;       /* bytes used in current */
    size_t           used_before;  /* bytes used in blocks before current */
    size_t           high_water;
    size_t           capacity;
    size_t           sys_allocs;
};

cg_arena *cg_arena_new(void)
{
    return cg__calloc(1, sizeof(cg_arena));
}

void cg_arena_free(cg_arena *arena)
{
    struct cg_block *b, *next;

    if (!arena)
        return;
    for (b = arena->first; b; b = next) {
        next = b->next;
        cg__free(b);
    }
    cg__free(arena);
}

static size_t align_up(size_t n)
{
    return (n + (CG_ALIGN - 1)) & ~(size_t)(CG_ALIGN - 1);
}

/* A block with at least `capacity` usable aligned bytes. The header and the
 * data share one allocation; base is aligned past the header. */
static struct cg_block *block_new(size_t capacity)
{
    size_t bytes;
    struct cg_block *b;
    uintptr_t start;

    if (!cg__add_size(capacity, sizeof(struct cg_block) + CG_ALIGN, &bytes))
        return cg__fail_null(CG_ERR_NOMEM, "arena block of %zu bytes overflows", capacity);
    b = cg__malloc(bytes);
    if (!b)
        return NULL;
    start = (uintptr_t)(b + 1);
    start = (start + (CG_ALIGN - 1)) & ~(uintptr_t)(CG_ALIGN - 1);
    b->base = (unsigned char *)start;
    b->capacity = capacity;
    b->next = NULL;
    return b;
}

/* Make `current` a block that can hold `size` more bytes. */
static bool advance_to_fit(cg_arena *a, size_t size)
{
    struct cg_block *b;
    size_t want;

    if (a->current && a->current->next && a->current->next->capacity >= size) {
        a->used_before += a->offset;
        a->current = a->current->next;
        a->offset = 0;
        return true;
    }
    want = a->current ? a->current->capacity * 2 : CG__ARENA_FIRST_BLOCK;
    if (want < size)
        want = size;
    b = block_new(want);
    if (!b)
        return false;
    a->sys_allocs++;
    a->capacity += b->capacity;
    if (!a->current) {
        b->next = a->first;
        a->first = b;
    } else {
        b->next = a->current->next;
        a->current->next = b;
        a->used_before += a->offset;
    }
    a->current = b;
    a->offset = 0;
    return true;
}

void *cg_arena_alloc(cg_arena *a, size_t size)
{
    size_t need = align_up(size ? size : 1);
    void *p;

    if (need < size)
        return cg__fail_null(CG_ERR_NOMEM, "arena allocation of %zu bytes overflows", size);
    if (!a->current && a->first) {
        a->current = a->first;
        a->offset = 0;
    }
    if (!a->current || a->current->capacity - a->offset < need) {
        if (!advance_to_fit(a, need))
            return NULL;
    }
    p = a->current->base + a->offset;
    a->offset += need;
    if (a->used_before + a->offset > a->high_water)
        a->high_water = a->used_before + a->offset;
    return p;
}

void *cg_arena_calloc(cg_arena *a, size_t count, size_t size)
{
    size_t bytes;
    void *p;

    if (!cg__mul_size(count, size, &bytes))
        return cg__fail_null(CG_ERR_NOMEM, "arena allocation of %zu x %zu bytes overflows",
                             count, size);
    p = cg_arena_alloc(a, bytes);
    if (p)
        memset(p, 0, bytes);
    return p;
}

void cg_arena_reset(cg_arena *a)
{
    if (!a)
        return;
    a->current = a->first;
    a->offset = 0;
    a->used_before = 0;
}

struct cg_arena_stats cg_arena_stats(const cg_arena *a)
{
    struct cg_arena_stats s = {0, 0, 0, 0};

    if (a) {
        s.used = a->used_before + a->offset;
        s.high_water = a->high_water;
        s.capacity = a->capacity;
        s.sys_allocs = a->sys_allocs;
    }
    return s;
}
