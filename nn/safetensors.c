/*
 * safetensors files: a generic, hardened reader and an atomic writer.
 *
 * Format (github.com/huggingface/safetensors, README "Format"): 8 bytes of
 * little-endian u64 header length N, N bytes of UTF-8 JSON mapping each
 * tensor name to {"dtype", "shape", "data_offsets": [begin, end]} plus an
 * optional "__metadata__" string->string map, then the data; offsets are
 * relative to the first byte after the header. The reference implementation
 * pads the header with spaces to a multiple of 8 and requires the tensors
 * to cover the data section exactly (no overlap, no hole, nothing after);
 * we write and check the same.
 *
 * The reader checks the whole header against the file's length before it
 * reads a byte of tensor data, so a corrupt or truncated file is an error
 * with the file and tensor named, never a crash or a huge allocation.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "internal.h"

struct entry {
    const char *name;       /* in the JSON document's arena */
    const char *dtype;      /* "F32" or "F64" (static) */
    size_t      elem;       /* bytes per element in the file */
    uint64_t    begin, end; /* data_offsets */
    cg_tensor  *t;          /* converted to cg_float, heap */
};

struct cg_safetensors {
    char               *path;
    struct cg__json_doc doc;
    int                 n, n_meta;
    struct entry       *e;       /* sorted by begin */
    struct cg_meta_kv  *meta;    /* strings in doc */
};

#define CHUNK 65536   /* bytes converted at a time */

/* ---- little-endian numbers ------------------------------------------------------ */

static uint64_t get_le64(const unsigned char *b)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | b[i];
    return v;
}

static void put_le64(unsigned char *b, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)(v >> (8 * i));
}

/* n elements of `elem` bytes (4: F32, 8: F64) little-endian -> cg_float. */
static void decode(cg_float *out, const unsigned char *b, size_t n, size_t elem)
{
    for (size_t i = 0; i < n; i++, b += elem) {
        if (elem == 4) {
            uint32_t u = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
                         (uint32_t)b[3] << 24;
            float f;
            memcpy(&f, &u, sizeof f);
            out[i] = (cg_float)f;
        } else {
            uint64_t u = get_le64(b);
            double d;
            memcpy(&d, &u, sizeof d);
            out[i] = (cg_float)d;
        }
    }
}

/* cg_float -> the build's own dtype, little-endian. */
static void encode(unsigned char *b, const cg_float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) {
#ifdef CG_DOUBLE
        uint64_t u;
        memcpy(&u, &x[i], sizeof u);
        put_le64(b + 8 * i, u);
#else
        uint32_t u;
        memcpy(&u, &x[i], sizeof u);
        for (int k = 0; k < 4; k++)
            b[4 * i + (size_t)k] = (unsigned char)(u >> (8 * k));
#endif
    }
}

/* ---- reading: the header ------------------------------------------------------------ */

static cg_status read_shape(const struct cg__json *shape, const char *name, cg_tensor *hdr,
                            size_t *count)
{
    int dims[CG_MAX_DIMS];
    uint64_t d;

    if (!shape || shape->type != CG__JSON_ARRAY)
        return cg__fail(CG_ERR_FORMAT, "tensor %s: \"shape\" is missing or not an array",
                        name);
    if (shape->len > CG_MAX_DIMS)
        return cg__fail(CG_ERR_FORMAT, "tensor %s: %zu dimensions, cgrad reads at most %d",
                        name, shape->len, CG_MAX_DIMS);
    for (size_t i = 0; i < shape->len; i++) {
        if (!cg__json_u64(shape->items[i], &d) || d > (uint64_t)CG_NN_MAX_SIZE * 64)
            return cg__fail(CG_ERR_FORMAT, "tensor %s: shape entry %zu is not a size",
                            name, i);
        dims[i] = (int)d;
    }
    if (cg_tensor_init(hdr, NULL, (int)shape->len, dims) != CG_OK)
        return cg__fail(CG_ERR_FORMAT, "tensor %s: %s", name, cg_errmsg());
    *count = hdr->size;
    return CG_OK;
}

/* Check one tensor's entry against the data section's size. */
static cg_status read_entry(struct entry *e, const char *name, const struct cg__json *v,
                            uint64_t data_size)
{
    const struct cg__json *dtype = cg__json_get(v, "dtype");
    const struct cg__json *offs = cg__json_get(v, "data_offsets");
    cg_tensor hdr;
    size_t count = 0, bytes;
    char shp[64];
    cg_status st;

    e->name = name;
    if (v->type != CG__JSON_OBJECT)
        return cg__fail(CG_ERR_FORMAT, "tensor %s: entry is not an object", name);
    if (!dtype || dtype->type != CG__JSON_STRING)
        return cg__fail(CG_ERR_FORMAT, "tensor %s: \"dtype\" is missing or not a string",
                        name);
    if (strcmp(dtype->str, "F32") == 0)
        e->dtype = "F32", e->elem = 4;
    else if (strcmp(dtype->str, "F64") == 0)
        e->dtype = "F64", e->elem = 8;
    else
        return cg__fail(CG_ERR_FORMAT, "tensor %s: dtype %s is not supported "
                        "(cgrad reads F32 and F64)", name, dtype->str);
    if ((st = read_shape(cg__json_get(v, "shape"), name, &hdr, &count)) != CG_OK)
        return st;
    if (!offs || offs->type != CG__JSON_ARRAY || offs->len != 2 ||
        !cg__json_u64(offs->items[0], &e->begin) || !cg__json_u64(offs->items[1], &e->end))
        return cg__fail(CG_ERR_FORMAT, "tensor %s: \"data_offsets\" is not [begin, end]",
                        name);
    if (e->begin > e->end)
        return cg__fail(CG_ERR_FORMAT, "tensor %s: data_offsets [%llu, %llu] end before "
                        "they begin", name, (unsigned long long)e->begin,
                        (unsigned long long)e->end);
    if (e->end > data_size)
        return cg__fail(CG_ERR_FORMAT, "tensor %s: data_offsets [%llu, %llu] run past the "
                        "end of the data (%llu bytes): the file is truncated or corrupt",
                        name, (unsigned long long)e->begin, (unsigned long long)e->end,
                        (unsigned long long)data_size);
    if (!cg__mul_size(count, e->elem, &bytes) || bytes != e->end - e->begin)
        return cg__fail(CG_ERR_FORMAT, "tensor %s: shape %s of %s needs %zu x %zu bytes, "
                        "data_offsets span %llu", name, cg_shape_str(&hdr, shp, sizeof shp),
                        e->dtype, count, e->elem,
                        (unsigned long long)(e->end - e->begin));
    e->t = cg_tensor_new(hdr.ndim, hdr.shape);
    return e->t ? CG_OK : CG_ERR_NOMEM;
}

static cg_status read_metadata(cg_safetensors *st, const struct cg__json *m)
{
    if (m->type != CG__JSON_OBJECT)
        return cg__fail(CG_ERR_FORMAT, "__metadata__ is not an object");
    if (m->len && !(st->meta = cg__calloc(m->len, sizeof *st->meta)))
        return CG_ERR_NOMEM;
    for (size_t i = 0; i < m->len; i++) {
        if (m->items[i]->type != CG__JSON_STRING)
            return cg__fail(CG_ERR_FORMAT, "__metadata__ value of \"%s\" is not a string",
                            m->keys[i]);
        st->meta[st->n_meta].key = m->keys[i];
        st->meta[st->n_meta++].value = m->items[i]->str;
    }
    return CG_OK;
}

static int by_begin(const void *a, const void *b)
{
    const struct entry *x = a, *y = b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end)
        return x->end < y->end ? -1 : 1;
    return strcmp(x->name, y->name);
}

/* The tensors, sorted, must tile [0, data_size) exactly. */
static cg_status check_layout(const cg_safetensors *st, uint64_t data_size)
{
    uint64_t at = 0;

    for (int i = 0; i < st->n; i++) {
        const struct entry *e = &st->e[i];
        if (e->begin < at)
            return cg__fail(CG_ERR_FORMAT, "tensors %s and %s overlap (%s begins at %llu, "
                            "before %llu)", st->e[i - 1].name, e->name, e->name,
                            (unsigned long long)e->begin, (unsigned long long)at);
        if (e->begin > at)
            return cg__fail(CG_ERR_FORMAT, "a hole in the data: bytes %llu to %llu before "
                            "tensor %s belong to no tensor", (unsigned long long)at,
                            (unsigned long long)e->begin, e->name);
        at = e->end;
    }
    if (at != data_size)
        return cg__fail(CG_ERR_FORMAT, "%llu bytes of data after the last tensor",
                        (unsigned long long)(data_size - at));
    return CG_OK;
}

static cg_status read_header(cg_safetensors *st, const char *text, size_t len,
                             uint64_t data_size)
{
    const struct cg__json *root;
    cg_status s;

    if ((s = cg__json_parse(&st->doc, text, len, 8)) != CG_OK)
        return s;
    root = st->doc.root;
    if (root->type != CG__JSON_OBJECT)
        return cg__fail(CG_ERR_FORMAT, "the header is not a JSON object");
    if (root->len && !(st->e = cg__calloc(root->len, sizeof *st->e)))
        return CG_ERR_NOMEM;
    for (size_t i = 0; i < root->len; i++) {
        if (strcmp(root->keys[i], "__metadata__") == 0) {
            s = read_metadata(st, root->items[i]);
        } else if (!root->keys[i][0]) {
            s = cg__fail(CG_ERR_FORMAT, "a tensor has an empty name");
        } else {
            s = read_entry(&st->e[st->n], root->keys[i], root->items[i], data_size);
            st->n++;  /* counted even on failure, so its tensor is freed */
        }
        if (s != CG_OK)
            return s;
    }
    qsort(st->e, (size_t)st->n, sizeof *st->e, by_begin);
    return check_layout(st, data_size);
}

/* ---- reading: the file ------------------------------------------------------------ */

static cg_status read_data(cg_safetensors *st, FILE *f)
{
    unsigned char *buf = cg__malloc(CHUNK);
    cg_status s = CG_OK;

    if (!buf)
        return CG_ERR_NOMEM;
    for (int i = 0; i < st->n && s == CG_OK; i++) {
        struct entry *e = &st->e[i];
        size_t done = 0, per = CHUNK / e->elem;
        while (done < e->t->size) {
            size_t k = e->t->size - done < per ? e->t->size - done : per;
            if (fread(buf, e->elem, k, f) != k) {
                s = cg__fail(CG_ERR_IO, "tensor %s: cannot read its data (the file "
                             "changed while it was read?)", e->name);
                break;
            }
            decode(e->t->data + done, buf, k, e->elem);
            done += k;
        }
    }
    cg__free(buf);
    return s;
}

static cg_status load_file(cg_safetensors *st, FILE *f)
{
    unsigned char len8[8];
    struct stat sb;
    uint64_t n, size;
    char *text;
    cg_status s;

    if (fstat(fileno(f), &sb) != 0)
        return cg__fail(CG_ERR_IO, "cannot stat: %s", strerror(errno));
    size = (uint64_t)sb.st_size;
    if (size < 8 || fread(len8, 1, 8, f) != 8)
        return cg__fail(CG_ERR_FORMAT, "%llu bytes, too short for a safetensors file "
                        "(it begins with an 8-byte header length)", (unsigned long long)size);
    n = get_le64(len8);
    if (n > CG_ST_MAX_HEADER)
        return cg__fail(CG_ERR_FORMAT, "header length %llu is absurd (the limit is %u "
                        "bytes)", (unsigned long long)n, CG_ST_MAX_HEADER);
    if (n > size - 8)
        return cg__fail(CG_ERR_FORMAT, "header length %llu runs past the end of the file "
                        "(%llu bytes)", (unsigned long long)n, (unsigned long long)size);
    if (n < 2)
        return cg__fail(CG_ERR_FORMAT, "header length %llu is too small for a JSON object",
                        (unsigned long long)n);
    if (!(text = cg__malloc((size_t)n)))
        return CG_ERR_NOMEM;
    if (fread(text, 1, (size_t)n, f) != (size_t)n)
        s = cg__fail(CG_ERR_IO, "cannot read the header");
    else
        s = read_header(st, text, (size_t)n, size - 8 - n);
    cg__free(text);
    return s == CG_OK ? read_data(st, f) : s;
}

cg_safetensors *cg_safetensors_load(const char *path)
{
    cg_safetensors *st;
    FILE *f;
    cg_status s;

    if (!path)
        return cg__fail_null(CG_ERR_ARG, "cg_safetensors_load: path is NULL");
    if (!(st = cg__calloc(1, sizeof *st)))
        return NULL;
    if (!(st->path = cg__strdup(path))) {
        cg__free(st);
        return NULL;
    }
    if (!(f = fopen(path, "rb"))) {
        cg__fail(CG_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
        cg_safetensors_free(st);
        return NULL;
    }
    s = load_file(st, f);
    fclose(f);
    if (s != CG_OK) {
        if (s != CG_ERR_NOMEM)
            cg__errmsg_prefix("%s", path);
        cg_safetensors_free(st);
        return NULL;
    }
    return st;
}

void cg_safetensors_free(cg_safetensors *st)
{
    if (!st)
        return;
    for (int i = 0; i < st->n; i++)
        cg_tensor_free(st->e[i].t);
    cg__free(st->e);
    cg__free(st->meta);
    cg__json_free(&st->doc);
    cg__free(st->path);
    cg__free(st);
}

/* ---- look-up ------------------------------------------------------------------------ */

int cg_safetensors_count(const cg_safetensors *st)
{
    return st ? st->n : 0;
}

const char *cg_safetensors_name(const cg_safetensors *st, int i)
{
    return st && i >= 0 && i < st->n ? st->e[i].name : NULL;
}

const cg_tensor *cg_safetensors_tensor(const cg_safetensors *st, int i)
{
    return st && i >= 0 && i < st->n ? st->e[i].t : NULL;
}

const char *cg_safetensors_dtype(const cg_safetensors *st, int i)
{
    return st && i >= 0 && i < st->n ? st->e[i].dtype : NULL;
}

bool cg_safetensors_has(const cg_safetensors *st, const char *name)
{
    for (int i = 0; st && name && i < st->n; i++)
        if (strcmp(st->e[i].name, name) == 0)
            return true;
    return false;
}

const cg_tensor *cg_safetensors_get(const cg_safetensors *st, const char *name)
{
    if (!st || !name)
        return cg__fail_null(CG_ERR_ARG, "cg_safetensors_get: NULL argument");
    for (int i = 0; i < st->n; i++)
        if (strcmp(st->e[i].name, name) == 0)
            return st->e[i].t;
    return cg__fail_null(CG_ERR_FORMAT, "%s: no tensor %s", st->path, name);
}

const char *cg_safetensors_meta(const cg_safetensors *st, const char *key)
{
    for (int i = 0; st && key && i < st->n_meta; i++)
        if (strcmp(st->meta[i].key, key) == 0)
            return st->meta[i].value;
    return NULL;
}

int cg_safetensors_meta_count(const cg_safetensors *st)
{
    return st ? st->n_meta : 0;
}

struct cg_meta_kv cg_safetensors_meta_at(const cg_safetensors *st, int i)
{
    struct cg_meta_kv none = {NULL, NULL};
    return st && i >= 0 && i < st->n_meta ? st->meta[i] : none;
}

/* ---- writing ------------------------------------------------------------------------ */

static cg_status check_inputs(const struct cg_named_tensor *t, int n,
                              const struct cg_meta_kv *meta, int n_meta)
{
    if (n < 0 || n_meta < 0 || (n > 0 && !t) || (n_meta > 0 && !meta))
        return cg__fail(CG_ERR_ARG, "bad tensor or metadata list");
    for (int i = 0; i < n; i++) {
        if (!t[i].name || !t[i].name[0] || strcmp(t[i].name, "__metadata__") == 0)
            return cg__fail(CG_ERR_ARG, "tensor %d has a bad name", i);
        if (!t[i].tensor || (t[i].tensor->size && !t[i].tensor->data))
            return cg__fail(CG_ERR_ARG, "tensor %s has no data", t[i].name);
        for (int j = 0; j < i; j++)
            if (strcmp(t[i].name, t[j].name) == 0)
                return cg__fail(CG_ERR_ARG, "tensor %s appears twice", t[i].name);
    }
    for (int i = 0; i < n_meta; i++) {
        if (!meta[i].key || !meta[i].value)
            return cg__fail(CG_ERR_ARG, "metadata entry %d has a NULL key or value", i);
        for (int j = 0; j < i; j++)
            if (strcmp(meta[i].key, meta[j].key) == 0)
                return cg__fail(CG_ERR_ARG, "metadata key %s appears twice", meta[i].key);
    }
    return CG_OK;
}

/* The JSON header, padded with spaces to a multiple of 8 bytes. */
static cg_status build_header(char **buf, size_t *len, const struct cg_named_tensor *t,
                              int n, const struct cg_meta_kv *meta, int n_meta)
{
    size_t cap = 0;
    uint64_t at = 0;
    char num[96];
    cg_status s = cg__buf_put(buf, len, &cap, "{", 1);

    if (n_meta > 0 && s == CG_OK) {
        s = cg__buf_put(buf, len, &cap, "\"__metadata__\":{", 16);
        for (int i = 0; i < n_meta && s == CG_OK; i++) {
            if (i > 0)
                s = cg__buf_put(buf, len, &cap, ",", 1);
            if (s == CG_OK)
                s = cg__json_put_string(buf, len, &cap, meta[i].key);
            if (s == CG_OK)
                s = cg__buf_put(buf, len, &cap, ":", 1);
            if (s == CG_OK)
                s = cg__json_put_string(buf, len, &cap, meta[i].value);
        }
        if (s == CG_OK)
            s = cg__buf_put(buf, len, &cap, n > 0 ? "}," : "}", n > 0 ? 2 : 1);
    }
    for (int i = 0; i < n && s == CG_OK; i++) {
        const cg_tensor *x = t[i].tensor;
        uint64_t bytes = (uint64_t)x->size * sizeof(cg_float);
        if (i > 0)
            s = cg__buf_put(buf, len, &cap, ",", 1);
        if (s == CG_OK)
            s = cg__json_put_string(buf, len, &cap, t[i].name);
        snprintf(num, sizeof num, ":{\"dtype\":\"%s\",\"shape\":[", CG_FLOAT_NAME);
        if (s == CG_OK)
            s = cg__buf_put(buf, len, &cap, num, strlen(num));
        for (int d = 0; d < x->ndim && s == CG_OK; d++) {
            snprintf(num, sizeof num, d ? ",%d" : "%d", x->shape[d]);
            s = cg__buf_put(buf, len, &cap, num, strlen(num));
        }
        snprintf(num, sizeof num, "],\"data_offsets\":[%llu,%llu]}",
                 (unsigned long long)at, (unsigned long long)(at + bytes));
        if (s == CG_OK)
            s = cg__buf_put(buf, len, &cap, num, strlen(num));
        at += bytes;
    }
    if (s == CG_OK)
        s = cg__buf_put(buf, len, &cap, "}", 1);
    while (s == CG_OK && *len % 8 != 0)
        s = cg__buf_put(buf, len, &cap, " ", 1);
    return s;
}

/* What write_all writes: the header, then the tensors' data. */
struct st_file {
    const char                   *header;
    size_t                        hlen;
    const struct cg_named_tensor *t;
    int                           n;
};

static cg_status write_all(FILE *f, void *ctx)
{
    const struct st_file *w = ctx;
    const char *header = w->header;
    const struct cg_named_tensor *t = w->t;
    size_t hlen = w->hlen;
    int n = w->n;
    unsigned char len8[8], *buf;
    size_t per = CHUNK / sizeof(cg_float);
    cg_status s = CG_OK;

    put_le64(len8, hlen);
    if (fwrite(len8, 1, 8, f) != 8 || fwrite(header, 1, hlen, f) != hlen)
        return cg__fail(CG_ERR_IO, "cannot write: %s", strerror(errno));
    if (!(buf = cg__malloc(CHUNK)))
        return CG_ERR_NOMEM;
    for (int i = 0; i < n && s == CG_OK; i++) {
        for (size_t done = 0; done < t[i].tensor->size; done += per) {
            size_t k = t[i].tensor->size - done < per ? t[i].tensor->size - done : per;
            encode(buf, t[i].tensor->data + done, k);
            if (fwrite(buf, sizeof(cg_float), k, f) != k) {
                s = cg__fail(CG_ERR_IO, "cannot write tensor %s: %s", t[i].name,
                             strerror(errno));
                break;
            }
        }
    }
    cg__free(buf);
    return s;
}

cg_status cg_safetensors_save(const char *path, const struct cg_named_tensor *tensors,
                              int n, const struct cg_meta_kv *meta, int n_meta)
{
    char *header = NULL;
    size_t hlen = 0;
    cg_status s;

    if (!path || !path[0])
        return cg__fail(CG_ERR_ARG, "cg_safetensors_save: no path");
    if ((s = check_inputs(tensors, n, meta, n_meta)) == CG_OK &&
        (s = build_header(&header, &hlen, tensors, n, meta, n_meta)) == CG_OK)
        s = cg__write_atomic(path, write_all, &(struct st_file){header, hlen, tensors, n});
    if (s != CG_OK && s != CG_ERR_NOMEM)
        cg__errmsg_prefix("%s", path);
    cg__free(header);
    return s;
}
