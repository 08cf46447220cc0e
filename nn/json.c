/*
 * A small, hardened JSON reader (RFC 8259) for safetensors headers, and the
 * two writers the header needs.
 *
 * The input is untrusted: every read is bounds-checked against len, nesting
 * stops at CG__JSON_MAX_DEPTH (so the recursion is bounded), an object or
 * array at CG__JSON_MAX_MEMBERS, strings must be UTF-8 and may not hold raw
 * control characters or NUL (\u0000 is refused: names are C strings), no
 * object has a key twice (a hash set: parsing stays linear), and every
 * error says what was expected at which byte. All
 * values come from one arena, so freeing a document is one call.
 */
#include <string.h>

#include "internal.h"

struct parser {
    const char *s;
    size_t      len, pos, base;
    cg_arena   *arena;
};

static cg_status syntax(const struct parser *p, const char *what)
{
    if (p->pos >= p->len)
        return cg__fail(CG_ERR_FORMAT, "JSON at byte %zu: %s, found the end of the text",
                        p->base + p->pos, what);
    return cg__fail(CG_ERR_FORMAT, "JSON at byte %zu: %s, found '%c'", p->base + p->pos,
                    what, (unsigned char)p->s[p->pos] >= 0x20 &&
                    (unsigned char)p->s[p->pos] < 0x7f ? p->s[p->pos] : '?');
}

static void skip_ws(struct parser *p)
{
    while (p->pos < p->len && (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' ||
                               p->s[p->pos] == '\n' || p->s[p->pos] == '\r'))
        p->pos++;
}

static bool peek(const struct parser *p, char c)
{
    return p->pos < p->len && p->s[p->pos] == c;
}

static struct cg__json *new_value(struct parser *p, enum cg__json_type type)
{
    struct cg__json *v = cg_arena_calloc(p->arena, 1, sizeof *v);
    if (v) {
        v->type = type;
        v->offset = p->base + p->pos;
    }
    return v;
}

/* ---- strings ------------------------------------------------------------------ */

static int hex4(const char *s)
{
    int v = 0;
    for (int i = 0; i < 4; i++) {
        char c = s[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= c - '0';
        else if (c >= 'a' && c <= 'f')
            v |= c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            v |= c - 'A' + 10;
        else
            return -1;
    }
    return v;
}

static size_t put_utf8(char *out, unsigned long cp)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* One escape after the backslash at p->pos - 1: appends to out, advances. */
static cg_status read_escape(struct parser *p, char *out, size_t *n)
{
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    const char *hit;
    int hi, lo;
    unsigned long cp;

    if (p->pos >= p->len)
        return syntax(p, "expected an escape");
    hit = strchr(from, p->s[p->pos]);
    if (hit && p->s[p->pos] != '\0') {
        out[(*n)++] = to[hit - from];
        p->pos++;
        return CG_OK;
    }
    if (p->s[p->pos] != 'u')
        return syntax(p, "expected one of \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u");
    if (p->len - p->pos < 5 || (hi = hex4(p->s + p->pos + 1)) < 0)
        return syntax(p, "expected 4 hex digits after \\u");
    p->pos += 5;
    cp = (unsigned long)hi;
    if (hi >= 0xd800 && hi <= 0xdbff) {   /* a high surrogate needs its low half */
        if (p->len - p->pos < 6 || p->s[p->pos] != '\\' || p->s[p->pos + 1] != 'u' ||
            (lo = hex4(p->s + p->pos + 2)) < 0xdc00 || lo > 0xdfff)
            return syntax(p, "expected a low surrogate \\uDC00-\\uDFFF");
        p->pos += 6;
        cp = 0x10000 + (((unsigned long)hi - 0xd800) << 10) + ((unsigned long)lo - 0xdc00);
    } else if (hi >= 0xdc00 && hi <= 0xdfff) {
        p->pos -= 5;
        return syntax(p, "lone low surrogate");
    } else if (hi == 0) {
        p->pos -= 5;
        return syntax(p, "\\u0000 is not allowed in a string");
    }
    *n += put_utf8(out + *n, cp);
    return CG_OK;
}

/* A string starting at the opening quote; decoded into the arena. */
static cg_status read_string(struct parser *p, const char **str, size_t *len)
{
    size_t start = p->pos, end = p->pos + 1, n = 0;
    char *out;

    /* Find the closing quote first: the decoded text is never longer. */
    while (end < p->len && p->s[end] != '"')
        end += p->s[end] == '\\' ? 2 : 1;
    if (end >= p->len) {
        p->pos = p->len;
        return syntax(p, "expected '\"' to close the string");
    }
    out = cg_arena_alloc(p->arena, end - p->pos);
    if (!out)
        return CG_ERR_NOMEM;
    p->pos++;
    while (p->pos < end) {
        unsigned char c = (unsigned char)p->s[p->pos];
        if (c < 0x20)
            return syntax(p, "control character in a string");
        p->pos++;
        if (c != '\\') {
            out[n++] = (char)c;
            continue;
        }
        cg_status st = read_escape(p, out, &n);
        if (st != CG_OK)
            return st;
    }
    out[n] = '\0';
    if (!cg__utf8_valid(out, n)) {
        p->pos = start;
        return syntax(p, "a string that is not valid UTF-8");
    }
    p->pos = end + 1;
    *str = out;
    *len = n;
    return CG_OK;
}

/* ---- numbers and words ---------------------------------------------------------- */

static bool digit(const struct parser *p)
{
    return p->pos < p->len && p->s[p->pos] >= '0' && p->s[p->pos] <= '9';
}

static cg_status read_number(struct parser *p, struct cg__json *v)
{
    size_t start = p->pos;
    char *text;

    if (peek(p, '-'))
        p->pos++;
    if (!digit(p))
        return syntax(p, "expected a digit");
    if (peek(p, '0'))
        p->pos++;
    else
        while (digit(p))
            p->pos++;
    if (peek(p, '.')) {
        p->pos++;
        if (!digit(p))
            return syntax(p, "expected a digit after '.'");
        while (digit(p))
            p->pos++;
    }
    if (peek(p, 'e') || peek(p, 'E')) {
        p->pos++;
        if (peek(p, '+') || peek(p, '-'))
            p->pos++;
        if (!digit(p))
            return syntax(p, "expected a digit in the exponent");
        while (digit(p))
            p->pos++;
    }
    text = cg_arena_alloc(p->arena, p->pos - start + 1);
    if (!text)
        return CG_ERR_NOMEM;
    memcpy(text, p->s + start, p->pos - start);
    text[p->pos - start] = '\0';
    v->str = text;
    return CG_OK;
}

static cg_status read_word(struct parser *p, const char *word)
{
    size_t n = strlen(word);
    if (p->len - p->pos < n || memcmp(p->s + p->pos, word, n) != 0)
        return syntax(p, "expected a value");
    p->pos += n;
    return CG_OK;
}

/* ---- arrays and objects ------------------------------------------------------------ */

static cg_status read_value(struct parser *p, struct cg__json **out, int depth);

/* Room for one more item (and key) in v, doubling in the arena. */
static cg_status grow(struct parser *p, struct cg__json *v, size_t *cap)
{
    struct cg__json **items;
    const char **keys = NULL;
    size_t ncap = *cap ? *cap * 2 : 8;

    if (v->len < *cap)
        return CG_OK;
    items = cg_arena_alloc(p->arena, ncap * sizeof *items);
    if (v->type == CG__JSON_OBJECT)
        keys = cg_arena_alloc(p->arena, ncap * sizeof *keys);
    if (!items || (v->type == CG__JSON_OBJECT && !keys))
        return CG_ERR_NOMEM;
    if (v->len) {
        memcpy(items, v->items, v->len * sizeof *items);
        if (keys)
            memcpy(keys, v->keys, v->len * sizeof *keys);
    }
    v->items = items;
    v->keys = keys;
    *cap = ncap;
    return CG_OK;
}

static uint64_t hash_str(const char *s)
{
    uint64_t h = 14695981039346656037u;   /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211u;
    return h;
}

/* No key twice in an object (RFC 8259 leaves it open; safetensors' own
 * reader refuses it, and a repeated tensor name must not pick one of two).
 * A hash set in the arena: linear in the keys. */
static cg_status check_unique_keys(struct parser *p, const struct cg__json *v)
{
    size_t cap = 16;
    const char **set;

    while (cap < 2 * v->len)
        cap *= 2;
    if (!(set = cg_arena_calloc(p->arena, cap, sizeof *set)))
        return CG_ERR_NOMEM;
    for (size_t i = 0; i < v->len; i++) {
        size_t h = (size_t)hash_str(v->keys[i]) & (cap - 1);
        for (; set[h]; h = (h + 1) & (cap - 1))
            if (strcmp(set[h], v->keys[i]) == 0)
                return cg__fail(CG_ERR_FORMAT, "JSON at byte %zu: the key \"%s\" appears "
                                "twice", v->items[i]->offset, v->keys[i]);
        set[h] = v->keys[i];
    }
    return CG_OK;
}

static cg_status read_members(struct parser *p, struct cg__json *v, int depth)
{
    bool object = v->type == CG__JSON_OBJECT;
    char close = object ? '}' : ']';
    size_t cap = 0, n;
    cg_status st;

    p->pos++;   /* the opening bracket */
    skip_ws(p);
    if (peek(p, close)) {
        p->pos++;
        return CG_OK;
    }
    for (;;) {
        if (v->len == CG__JSON_MAX_MEMBERS)
            return syntax(p, "more members than the limit (" CG__JSON_MAX_MEMBERS_TEXT ")");
        if ((st = grow(p, v, &cap)) != CG_OK)
            return st;
        if (object) {
            skip_ws(p);
            if (!peek(p, '"'))
                return syntax(p, "expected '\"' to start a key");
            if ((st = read_string(p, &v->keys[v->len], &n)) != CG_OK)
                return st;
            skip_ws(p);
            if (!peek(p, ':'))
                return syntax(p, "expected ':' after a key");
            p->pos++;
        }
        if ((st = read_value(p, &v->items[v->len], depth + 1)) != CG_OK)
            return st;
        v->len++;
        skip_ws(p);
        if (peek(p, close)) {
            p->pos++;
            return object ? check_unique_keys(p, v) : CG_OK;
        }
        if (!peek(p, ','))
            return syntax(p, object ? "expected ',' or '}'" : "expected ',' or ']'");
        p->pos++;
    }
}

static cg_status read_value(struct parser *p, struct cg__json **out, int depth)
{
    struct cg__json *v;
    char c;

    skip_ws(p);
    if (p->pos >= p->len)
        return syntax(p, "expected a value");
    if (depth >= CG__JSON_MAX_DEPTH)
        return syntax(p, "nesting deeper than the limit");
    c = p->s[p->pos];
    if (c == '{' || c == '[')
        v = new_value(p, c == '{' ? CG__JSON_OBJECT : CG__JSON_ARRAY);
    else if (c == '"')
        v = new_value(p, CG__JSON_STRING);
    else if (c == 't' || c == 'f')
        v = new_value(p, CG__JSON_BOOL);
    else if (c == 'n')
        v = new_value(p, CG__JSON_NULL);
    else if (c == '-' || (c >= '0' && c <= '9'))
        v = new_value(p, CG__JSON_NUMBER);
    else
        return syntax(p, "expected a value");
    if (!v)
        return CG_ERR_NOMEM;
    *out = v;
    switch (v->type) {
    case CG__JSON_OBJECT:
    case CG__JSON_ARRAY:  return read_members(p, v, depth);
    case CG__JSON_STRING: return read_string(p, &v->str, &v->len);
    case CG__JSON_NUMBER: return read_number(p, v);
    case CG__JSON_NULL:   return read_word(p, "null");
    case CG__JSON_BOOL:
        v->boolean = c == 't';
        return read_word(p, v->boolean ? "true" : "false");
    }
    return syntax(p, "expected a value");
}

/* ---- public ------------------------------------------------------------------------- */

cg_status cg__json_parse(struct cg__json_doc *doc, const char *text, size_t len, size_t base)
{
    struct parser p = {text, len, 0, base, NULL};
    cg_status st;

    memset(doc, 0, sizeof *doc);
    if (!(p.arena = cg_arena_new()))
        return CG_ERR_NOMEM;
    st = read_value(&p, &doc->root, 0);
    if (st == CG_OK) {
        skip_ws(&p);
        if (p.pos < p.len)
            st = syntax(&p, "expected the end of the text");
    }
    if (st != CG_OK) {
        cg_arena_free(p.arena);
        doc->root = NULL;
        return st;
    }
    doc->arena = p.arena;
    return CG_OK;
}

void cg__json_free(struct cg__json_doc *doc)
{
    if (!doc)
        return;
    cg_arena_free(doc->arena);
    doc->arena = NULL;
    doc->root = NULL;
}

const struct cg__json *cg__json_get(const struct cg__json *obj, const char *key)
{
    if (!obj || obj->type != CG__JSON_OBJECT)
        return NULL;
    for (size_t i = 0; i < obj->len; i++)
        if (strcmp(obj->keys[i], key) == 0)
            return obj->items[i];
    return NULL;
}

bool cg__json_u64(const struct cg__json *v, uint64_t *out)
{
    uint64_t x = 0;

    if (!v || v->type != CG__JSON_NUMBER || !v->str[0])
        return false;
    for (const char *c = v->str; *c; c++) {
        if (*c < '0' || *c > '9')
            return false;
        if (x > (UINT64_MAX - (uint64_t)(*c - '0')) / 10)
            return false;
        x = x * 10 + (uint64_t)(*c - '0');
    }
    *out = x;
    return true;
}

cg_status cg__buf_put(char **buf, size_t *len, size_t *cap, const char *s, size_t n)
{
    size_t need;

    if (!cg__add_size(*len, n + 1, &need))
        return cg__fail(CG_ERR_NOMEM, "buffer size overflows");
    if (need > *cap) {
        size_t ncap = *cap ? *cap : 256;
        char *nb;
        while (ncap < need)
            if (!cg__mul_size(ncap, 2, &ncap))
                return cg__fail(CG_ERR_NOMEM, "buffer size overflows");
        nb = cg__realloc(*buf, *cap, ncap);
        if (!nb)
            return CG_ERR_NOMEM;
        *buf = nb;
        *cap = ncap;
    }
    memcpy(*buf + *len, s, n);
    *len += n;
    (*buf)[*len] = '\0';
    return CG_OK;
}

cg_status cg__json_put_string(char **buf, size_t *len, size_t *cap, const char *s)
{
    /* A header is UTF-8 (safetensors' readers refuse anything else). */
    if (!cg__utf8_valid(s, strlen(s)))
        return cg__fail(CG_ERR_ARG, "\"%s\" is not valid UTF-8", s);
    cg_status st = cg__buf_put(buf, len, cap, "\"", 1);

    for (; st == CG_OK && *s; s++) {
        unsigned char c = (unsigned char)*s;
        char esc[8];
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            st = cg__buf_put(buf, len, cap, esc, 2);
        } else if (c < 0x20) {
            snprintf(esc, sizeof esc, "\\u%04x", c);
            st = cg__buf_put(buf, len, cap, esc, 6);
        } else {
            st = cg__buf_put(buf, len, cap, s, 1);
        }
    }
    return st == CG_OK ? cg__buf_put(buf, len, cap, "\"", 1) : st;
}
