/*
 * Tensor headers: creation on the heap or in an arena, views, copies, print.
 *
 * A heap tensor is one allocation: the header, padding to CG_ALIGN, then the
 * data. One allocation means one failure point and one free.
 */
#include <string.h>

#include "internal.h"

cg_status cg__shape_size(int ndim, const int *shape, size_t *size)
{
    size_t n = 1;

    if (ndim < 0 || ndim > CG_MAX_DIMS)
        return cg__fail(CG_ERR_SHAPE, "a tensor has 0 to %d dimensions, not %d",
                        CG_MAX_DIMS, ndim);
    if (ndim > 0 && !shape)
        return cg__fail(CG_ERR_ARG, "shape is NULL");
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0)
            return cg__fail(CG_ERR_SHAPE, "dimension %d is negative (%d)", i, shape[i]);
        if (!cg__mul_size(n, (size_t)shape[i], &n))
            return cg__fail(CG_ERR_SHAPE, "tensor size overflows");
    }
    *size = n;
    return CG_OK;
}

cg_status cg_tensor_init(cg_tensor *t, cg_float *data, int ndim, const int *shape)
{
    size_t size;
    cg_status st;

    if (!t)
        return cg__fail(CG_ERR_ARG, "cg_tensor_init: t is NULL");
    st = cg__shape_size(ndim, shape, &size);
    if (st != CG_OK)
        return st;
    memset(t, 0, sizeof *t);
    t->data = data;
    t->size = size;
    t->ndim = ndim;
    for (int i = 0; i < CG_MAX_DIMS; i++)
        t->shape[i] = i < ndim ? shape[i] : 1;
    return CG_OK;
}

static size_t header_bytes(void)
{
    return (sizeof(cg_tensor) + (CG_ALIGN - 1)) & ~(size_t)(CG_ALIGN - 1);
}

/* Header and data in one block of `bytes`; data left uninitialised. */
static cg_tensor *alloc_tensor(cg_arena *arena, int ndim, const int *shape, bool zero)
{
    size_t size, data_bytes, bytes;
    cg_tensor *t;

    if (cg__shape_size(ndim, shape, &size) != CG_OK)
        return NULL;
    if (!cg__mul_size(size, sizeof(cg_float), &data_bytes) ||
        !cg__add_size(data_bytes, header_bytes(), &bytes))
        return cg__fail_null(CG_ERR_NOMEM, "tensor of %zu elements is too large", size);
    t = arena ? cg_arena_alloc(arena, bytes) : cg__malloc(bytes);
    if (!t)
        return NULL;
    cg_tensor_init(t, (cg_float *)((unsigned char *)t + header_bytes()), ndim, shape);
    t->flags = CG_TENSOR_OWNS_DATA | (arena ? CG_TENSOR_IN_ARENA : 0);
    if (zero)
        memset(t->data, 0, data_bytes);
    return t;
}

cg_tensor *cg_tensor_new(int ndim, const int *shape)
{
    return alloc_tensor(NULL, ndim, shape, true);
}

cg_tensor *cg_tensor_new_in(cg_arena *arena, int ndim, const int *shape)
{
    if (!arena)
        return cg__fail_null(CG_ERR_ARG, "cg_tensor_new_in: arena is NULL");
    return alloc_tensor(arena, ndim, shape, true);
}

cg_tensor *cg_tensor_from_array(int ndim, const int *shape, const cg_float *values)
{
    cg_tensor *t;

    if (!values)
        return cg__fail_null(CG_ERR_ARG, "cg_tensor_from_array: values is NULL");
    t = alloc_tensor(NULL, ndim, shape, false);
    if (t && t->size)
        memcpy(t->data, values, t->size * sizeof(cg_float));
    return t;
}

cg_tensor *cg_tensor_clone(const cg_tensor *src)
{
    if (!src)
        return cg__fail_null(CG_ERR_ARG, "cg_tensor_clone: src is NULL");
    return cg_tensor_from_array(src->ndim, src->shape, src->data);
}

cg_tensor *cg_tensor_reshape(const cg_tensor *src, int ndim, const int *shape)
{
    size_t size;
    cg_tensor *t;
    char a[64];

    if (!src)
        return cg__fail_null(CG_ERR_ARG, "cg_tensor_reshape: src is NULL");
    if (cg__shape_size(ndim, shape, &size) != CG_OK)
        return NULL;
    if (size != src->size)
        return cg__fail_null(CG_ERR_SHAPE, "cg_tensor_reshape: %s has %zu elements, "
                             "the new shape %zu", cg_shape_str(src, a, sizeof a),
                             src->size, size);
    t = cg__malloc(sizeof *t);
    if (!t)
        return NULL;
    cg_tensor_init(t, src->data, ndim, shape);
    t->grad = src->grad;
    return t;
}

void cg_tensor_free(cg_tensor *t)
{
    if (!t || (t->flags & CG_TENSOR_IN_ARENA))
        return;
    if (t->flags & CG_TENSOR_OWNS_GRAD)
        cg__free(t->grad);
    cg__free(t);
}

bool cg_tensor_same_shape(const cg_tensor *a, const cg_tensor *b)
{
    if (!a || !b || a->ndim != b->ndim)
        return false;
    for (int i = 0; i < a->ndim; i++)
        if (a->shape[i] != b->shape[i])
            return false;
    return true;
}

int cg_tensor_rows(const cg_tensor *t)
{
    return t->ndim == 0 || t->ndim == 1 ? 1 : t->shape[0];
}

/* The product of the dimensions after the first, also when the first is 0
 * (a [0, 5] tensor has 5 columns). */
int cg_tensor_cols(const cg_tensor *t)
{
    int cols = 1;

    if (t->ndim <= 1)
        return t->ndim == 1 ? t->shape[0] : 1;
    for (int i = 1; i < t->ndim; i++)
        cols *= t->shape[i];
    return cols;
}

void cg_tensor_fill(cg_tensor *t, cg_float value)
{
    for (size_t i = 0; i < t->size; i++)
        t->data[i] = value;
}

cg_status cg_tensor_copy(cg_tensor *dst, const cg_tensor *src)
{
    if (!dst || !src)
        return cg__fail(CG_ERR_ARG, "cg_tensor_copy: NULL tensor");
    if (dst->size != src->size) {
        char a[64], b[64];
        return cg__fail(CG_ERR_SHAPE, "cg_tensor_copy: dst is %s, src is %s",
                        cg_shape_str(dst, a, sizeof a), cg_shape_str(src, b, sizeof b));
    }
    if (dst->data != src->data && src->size)
        memmove(dst->data, src->data, src->size * sizeof(cg_float));
    return CG_OK;
}

char *cg_shape_str(const cg_tensor *t, char *buf, size_t n)
{
    size_t len = 0;

    if (n == 0)
        return buf;
    buf[0] = '\0';
    if (!t) {
        snprintf(buf, n, "(null)");
        return buf;
    }
    len += (size_t)snprintf(buf, n, "[");
    for (int i = 0; i < t->ndim && len < n; i++)
        len += (size_t)snprintf(buf + len, n - len, i ? ", %d" : "%d", t->shape[i]);
    if (len < n)
        snprintf(buf + len, n - len, "]");
    return buf;
}

/* Print dimension `dim` starting at element `offset`, nested in brackets. */
static void print_dim(const cg_tensor *t, int dim, size_t offset, FILE *out)
{
    size_t stride = 1;

    if (dim == t->ndim) {
        fprintf(out, "%.6g", (double)t->data[offset]);
        return;
    }
    for (int i = dim + 1; i < t->ndim; i++)
        stride *= (size_t)t->shape[i];
    fputc('[', out);
    for (int i = 0; i < t->shape[dim]; i++) {
        if (i)
            fputs(", ", out);
        print_dim(t, dim + 1, offset + (size_t)i * stride, out);
    }
    fputc(']', out);
}

void cg_tensor_print(const cg_tensor *t, FILE *out)
{
    char shape[64];

    if (!t) {
        fputs("(null)\n", out);
        return;
    }
    fprintf(out, "tensor%s ", cg_shape_str(t, shape, sizeof shape));
    print_dim(t, 0, 0, out);
    fputc('\n', out);
}
