/*
 * The distinct labels of a CSV label column, interned in an open-addressing
 * hash table (FNV-1a, linear probing, at most half full), each with a
 * provisional id in order of first appearance.
 */
#include <string.h>

#include "internal.h"

/* ---- labels --------------------------------------------------------------- */

static uint64_t hash_bytes(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL;         /* FNV-1a, 64 bits */
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
    return h;
}

/* The slot holding s (its id), or the empty slot where it would go (-1). */
size_t cg__lt_find(const struct cg__label_table *t, const char *s, size_t n, int *id)
{
    size_t i = (size_t)hash_bytes(s, n) & (t->nslot - 1);

    for (;; i = (i + 1) & (t->nslot - 1)) {
        int k = t->slot[i];
        const char *p;
        if (k < 0) {
            *id = -1;
            return i;
        }
        p = t->pool + t->off[k];
        if (strlen(p) == n && memcmp(p, s, n) == 0) {
            *id = k;
            return i;
        }
    }
}

cg_status cg__lt_rehash(struct cg__label_table *t, size_t nslot)
{
    int *slot = cg__calloc(nslot, sizeof *slot);

    if (!slot)
        return CG_ERR_NOMEM;
    cg__free(t->slot);
    t->slot = slot;
    t->nslot = nslot;
    for (size_t i = 0; i < nslot; i++)
        slot[i] = -1;
    for (int k = 0; k < t->count; k++) {
        const char *p = t->pool + t->off[k];
        int id;
        slot[cg__lt_find(t, p, strlen(p), &id)] = k;
    }
    return CG_OK;
}

/* Add s (not present, its slot `at`) with a new provisional id. */
int cg__lt_add(struct cg__label_table *t, size_t at, const char *s, size_t n)
{
    size_t need;

    if (t->count == t->cap) {
        int nc = t->cap ? t->cap * 2 : 16;
        size_t *off = cg__realloc(t->off, (size_t)t->cap * sizeof *off, (size_t)nc * sizeof *off);
        if (!off)
            return -1;
        t->off = off;
        int *fin = cg__realloc(t->final, (size_t)t->cap * sizeof *fin, (size_t)nc * sizeof *fin);
        if (!fin)
            return -1;
        t->final = fin;
        t->cap = nc;
    }
    need = t->pool_len + n + 1;
    if (need > t->pool_cap) {
        size_t nc = need * 2;
        char *pool = cg__realloc(t->pool, t->pool_cap, nc);
        if (!pool)
            return -1;
        t->pool = pool;
        t->pool_cap = nc;
    }
    memcpy(t->pool + t->pool_len, s, n);
    t->pool[t->pool_len + n] = '\0';
    t->off[t->count] = t->pool_len;
    t->final[t->count] = -1;
    t->pool_len = need;
    t->slot[at] = t->count;
    if ((size_t)++t->count * 2 > t->nslot && cg__lt_rehash(t, t->nslot * 2) != CG_OK)
        return -1;
    return t->count - 1;
}

void cg__lt_free(struct cg__label_table *t)
{
    cg__free(t->pool);
    cg__free(t->off);
    cg__free(t->final);
    cg__free(t->slot);
}
