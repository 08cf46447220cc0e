/*
 * Internals of the nn layer shared between its files (prefix cg__). Not
 * installed.
 */
#ifndef CG_NN_INTERNAL_H
#define CG_NN_INTERNAL_H

#include "../tensor/internal.h"
#include "nn.h"

/* ---- JSON (json.c) ---------------------------------------------------------
 * A small hardened reader: objects, arrays, strings (all escapes, \uXXXX
 * with surrogate pairs, to UTF-8), numbers, true/false/null. Strings must be
 * valid UTF-8, an object may not have a key twice. Nesting is limited to
 * CG__JSON_MAX_DEPTH (recursion is bounded) and members to
 * CG__JSON_MAX_MEMBERS; parsing is linear in the text. Every value lives
 * in one arena, freed at once by cg__json_free. */

#define CG__JSON_MAX_DEPTH 32
/* Members of one object or array: a safetensors header of a model or of a
 * PyTorch state_dict has hundreds to thousands; a crafted one must not make
 * millions of values out of a 100 MB header. */
#define CG__JSON_MAX_MEMBERS 65536
#define CG__JSON_MAX_MEMBERS_TEXT "65536"

enum cg__json_type {
    CG__JSON_NULL, CG__JSON_BOOL, CG__JSON_NUMBER, CG__JSON_STRING,
    CG__JSON_ARRAY, CG__JSON_OBJECT
};

struct cg__json {
    enum cg__json_type type;
    bool         boolean;
    const char  *str;       /* STRING: decoded, NUL-terminated; NUMBER: its text */
    size_t       len;       /* STRING: bytes (no NUL inside); ARRAY/OBJECT: count */
    const char **keys;      /* OBJECT: len keys, in file order */
    struct cg__json **items;/* ARRAY/OBJECT: len values */
    size_t       offset;    /* where the value starts (base + byte index) */
};

struct cg__json_doc {
    cg_arena        *arena;
    struct cg__json *root;
};

/* Parse text[0..len) (no NUL needed). Byte offsets in messages ("at byte
 * 17") are base + index. CG_ERR_FORMAT on bad JSON, CG_ERR_NOMEM. On
 * failure *doc is left empty (nothing to free). */
cg_status cg__json_parse(struct cg__json_doc *doc, const char *text, size_t len, size_t base);
void      cg__json_free(struct cg__json_doc *doc);
/* The value of key in an object, or NULL (a parsed object has no key twice). */
const struct cg__json *cg__json_get(const struct cg__json *obj, const char *key);
/* A NUMBER that is a non-negative integer without fraction or exponent,
 * into *out; false if not one or above UINT64_MAX. */
bool      cg__json_u64(const struct cg__json *v, uint64_t *out);
/* Append s as a JSON string literal (quotes and escapes) to the growing
 * buffer *buf (*len used, *cap allocated). */
cg_status cg__json_put_string(char **buf, size_t *len, size_t *cap, const char *s);
/* Append raw text to the same kind of buffer. */
cg_status cg__buf_put(char **buf, size_t *len, size_t *cap, const char *s, size_t n);

#endif /* CG_NN_INTERNAL_H */
