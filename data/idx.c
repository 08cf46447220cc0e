/*
 * IDX files (the MNIST format, yann.lecun.com/exdb/mnist): a magic number
 * 0x00 0x00 <type> <ndim>, ndim big-endian uint32 dimensions, then the
 * data, here unsigned bytes (type 0x08). Plain or gzip-compressed (read
 * through zlib's inflate, its memory from our allocator). Every size is checked before it is allocated: against
 * the file's size for a plain file; for gzip, whose real size is known only
 * at the end, against deflate's largest ratio (1032:1) and by growing the
 * buffer as data actually arrives.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "internal.h"

#define IDX_UBYTE        0x08
#define DEFLATE_MAX_RATIO 1032u
#define IDX_INBUF        16384

/* A file read plain or through inflate. zlib's gzopen/gzread would allocate
 * with the C library's malloc, outside cg_set_allocator; inflate with our
 * zalloc/zfree keeps gzip decoding under the hook (and the OOM tests). */
struct idx_file {
    const char *path;
    FILE       *fp;
    z_stream    zs;
    bool        zinit;        /* inflateInit2 done: inflateEnd owed */
    bool        zdone;        /* the last gzip member has ended */
    int         zerr;         /* a zlib error code, Z_OK if none */
    size_t      file_size;    /* on disk */
    bool        gzip;
    int         ndim;
    uint32_t    dims[3];
    size_t      data_size;    /* product of dims */
    uint8_t     in[IDX_INBUF];
};

static voidpf z_alloc(voidpf opaque, uInt items, uInt size)
{
    (void)opaque;
    return cg__calloc(items, size);
}

static void z_free(voidpf opaque, voidpf p)
{
    (void)opaque;
    cg__free(p);
}

static void idx_close(struct idx_file *f)
{
    if (f->zinit)
        inflateEnd(&f->zs);
    f->zinit = false;
    if (f->fp)
        fclose(f->fp);
    f->fp = NULL;
}

/* Inflate up to n bytes into p; the count, or -1 on a zlib error (zerr set;
 * CG_ERR_NOMEM already recorded when zlib ran out of memory). Concatenated
 * gzip members are read as one stream, as gzread does. */
static long long inflate_some(struct idx_file *f, uint8_t *p, size_t n)
{
    size_t got = 0;

    while (got < n && !f->zdone) {
        if (f->zs.avail_in == 0) {
            size_t r = fread(f->in, 1, sizeof f->in, f->fp);
            if (r == 0)
                break;  /* end of file inside a member: truncated */
            f->zs.next_in = f->in;
            f->zs.avail_in = (uInt)r;
        }
        size_t want = n - got > (1u << 30) ? (1u << 30) : n - got;
        f->zs.next_out = p + got;
        f->zs.avail_out = (uInt)want;
        int z = inflate(&f->zs, Z_NO_FLUSH);
        got += want - f->zs.avail_out;
        if (z == Z_STREAM_END) {
            int c;
            if (f->zs.avail_in == 0 && (c = fgetc(f->fp)) != EOF) {
                ungetc(c, f->fp);
            } else if (f->zs.avail_in == 0) {
                f->zdone = true;
                break;
            }
            if (f->zs.avail_in > 0 && f->zs.next_in[0] != 0x1f) {
                f->zdone = true;  /* trailing bytes that are not a member */
                break;
            }
            z = inflateReset(&f->zs);
        }
        if (z != Z_OK && z != Z_BUF_ERROR) {
            f->zerr = z;
            return -1;
        }
    }
    return (long long)got;
}

/* Read all of n bytes (or fewer at the end); -1 on a zlib error. */
static long long read_full(struct idx_file *f, uint8_t *p, size_t n)
{
    if (f->gzip)
        return inflate_some(f, p, n);
    size_t got = fread(p, 1, n, f->fp);
    return ferror(f->fp) ? -1 : (long long)got;
}

/* Why the last read stopped short: zlib's message or the end of the file. */
static const char *zlib_reason(const struct idx_file *f)
{
    if (f->zerr != Z_OK)
        return f->zs.msg ? f->zs.msg : zError(f->zerr);
    if (!f->gzip && ferror(f->fp))
        return "read error";
    return "unexpected end of file";
}

/* Open path, and start inflate when it begins with gzip's magic 1f 8b. */
static cg_status idx_start(struct idx_file *f, const char *path)
{
    uint8_t magic[2];
    size_t r;

    if (!(f->fp = fopen(path, "rb")))
        return cg__fail(CG_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    r = fread(magic, 1, 2, f->fp);
    rewind(f->fp);
    f->gzip = r == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
    if (!f->gzip)
        return CG_OK;
    f->zs.zalloc = z_alloc;
    f->zs.zfree = z_free;
    f->zs.opaque = Z_NULL;
    int z = inflateInit2(&f->zs, 15 + 16);  /* 16: gzip wrapper */
    if (z != Z_OK)
        return z == Z_MEM_ERROR ? cg__fail(CG_ERR_NOMEM, "%s: out of memory for zlib", path)
                                : cg__fail(CG_ERR_IO, "%s: zlib: %s", path, zError(z));
    f->zinit = true;
    return CG_OK;
}

/* Open an IDX file and check its header and sizes (nothing allocated). */
static cg_status idx_open(struct idx_file *f, const char *path, int want_ndim)
{
    uint8_t head[4 + 4 * 3];
    struct stat st;
    size_t hsize;

    memset(f, 0, sizeof *f);
    f->path = path;
    if (stat(path, &st) != 0)
        return cg__fail(CG_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    f->file_size = (size_t)st.st_size;
    if (idx_start(f, path) != CG_OK)
        return cg_errcode();
    long long r = read_full(f, head, 4);
    if (r == -1 && f->zerr == Z_MEM_ERROR)
        return cg__fail(CG_ERR_NOMEM, "%s: out of memory for zlib", path);
    if (r != 4)
        return cg__fail(CG_ERR_FORMAT, "%s: %s", path,
                        f->file_size == 0 ? "empty file" : "truncated header");
    if (head[0] != 0 || head[1] != 0 || head[2] != IDX_UBYTE || head[3] != want_ndim)
        return cg__fail(CG_ERR_FORMAT, "%s: bad magic 0x%02x%02x%02x%02x (expected "
                        "0x000008%02x: unsigned bytes, %d dimensions)", path, head[0],
                        head[1], head[2], head[3], want_ndim, want_ndim);
    f->ndim = want_ndim;
    if (read_full(f, head + 4, 4 * (size_t)f->ndim) != 4 * f->ndim)
        return cg__fail(CG_ERR_FORMAT, "%s: truncated header", path);
    f->data_size = 1;
    for (int d = 0; d < f->ndim; d++) {
        const uint8_t *b = head + 4 + 4 * d;
        f->dims[d] = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
        if (f->dims[d] == 0 || !cg__mul_size(f->data_size, f->dims[d], &f->data_size))
            return cg__fail(CG_ERR_FORMAT, "%s: bad dimension %d: %u", path, d, f->dims[d]);
    }
    hsize = 4 + 4 * (size_t)f->ndim;
    if (!f->gzip && f->file_size - hsize != f->data_size)
        return cg__fail(CG_ERR_FORMAT, "%s: the header says %zu bytes of data, the file "
                        "holds %zu", path, f->data_size, f->file_size - hsize);
    if (f->gzip && f->data_size / DEFLATE_MAX_RATIO > f->file_size)
        return cg__fail(CG_ERR_FORMAT, "%s: the header says %zu bytes of data, more than "
                        "a gzip file of %zu bytes can hold", path, f->data_size, f->file_size);
    return CG_OK;
}

/* Read the data into a new buffer of data_size bytes. A gzip file's buffer
 * grows with the data that arrives, so a lying header costs nothing. */
static uint8_t *idx_read(struct idx_file *f)
{
    size_t cap = f->gzip ? ((size_t)1 << 20) : f->data_size, got = 0;
    uint8_t *buf, *nb;
    long long r;
    uint8_t extra;

    if (cap > f->data_size)
        cap = f->data_size;
    if (!(buf = cg__malloc(cap)))
        return NULL;
    for (;;) {
        r = read_full(f, buf + got, cap - got);
        if (r < 0 && f->zerr == Z_MEM_ERROR) {
            cg__fail(CG_ERR_NOMEM, "%s: out of memory for zlib", f->path);
            goto fail;
        }
        if (r < 0)
            goto bad;
        got += (size_t)r;
        if (got < cap || cap == f->data_size)
            break;
        size_t nc = cap * 2 > f->data_size ? f->data_size : cap * 2;
        if (!(nb = cg__realloc(buf, cap, nc)))
            goto fail;
        buf = nb;
        cap = nc;
    }
    if (got < f->data_size)
        goto bad;
    r = read_full(f, &extra, 1);
    if (r < 0 && f->zerr == Z_MEM_ERROR) {
        cg__fail(CG_ERR_NOMEM, "%s: out of memory for zlib", f->path);
        goto fail;
    }
    if (r != 0) {
        cg__fail(CG_ERR_FORMAT, "%s: more data than the header's %zu bytes%s%s", f->path,
                 f->data_size, r < 0 ? ": " : "", r < 0 ? zlib_reason(f) : "");
        goto fail;
    }
    return buf;
bad:
    cg__fail(CG_ERR_FORMAT, "%s: truncated: the header says %zu bytes of data, got %zu (%s)",
             f->path, f->data_size, got, zlib_reason(f));
fail:
    cg__free(buf);
    return NULL;
}

cg_dataset *cg_idx_load(const char *images, const char *labels)
{
    struct idx_file fi, fl;
    struct cg__store *s = NULL;
    uint8_t *lab = NULL;
    cg_dataset *ds = NULL;
    int max = 0;

    memset(&fi, 0, sizeof fi);
    memset(&fl, 0, sizeof fl);
    if (!images || !labels)
        return cg__fail_null(CG_ERR_ARG, "cg_idx_load: NULL path");
    if (idx_open(&fi, images, 3) != CG_OK || idx_open(&fl, labels, 1) != CG_OK)
        goto out;
    if (fl.dims[0] != fi.dims[0]) {
        cg__fail(CG_ERR_FORMAT, "%s: %u labels for the %u images of %s", labels,
                 fl.dims[0], fi.dims[0], images);
        goto out;
    }
    if ((size_t)fi.dims[1] * fi.dims[2] > INT_MAX) {
        cg__fail(CG_ERR_FORMAT, "%s: images of %u x %u are too large", images, fi.dims[1],
                 fi.dims[2]);
        goto out;
    }
    if (!(s = cg__store_new()) || !(lab = idx_read(&fl)))
        goto out;
    if (!(s->labels = cg__calloc(fl.data_size, sizeof *s->labels)))
        goto out;
    for (size_t i = 0; i < fl.data_size; i++) {
        s->labels[i] = lab[i];
        max = lab[i] > max ? lab[i] : max;
    }
    s->n_classes = max + 1;
    if (!(s->class_names = cg__names_numbered(s->n_classes)) || !(s->u8 = idx_read(&fi)))
        goto out;
    s->n = fi.dims[0];
    s->height = (int)fi.dims[1];
    s->width = (int)fi.dims[2];
    s->channels = 1;
    s->n_features = s->width * s->height;
    s->task = CG_TASK_CLASSIFY;
    ds = cg__dataset_wrap(s);
    s = NULL;
out:
    cg__store_release(s);
    cg__free(lab);
    idx_close(&fi);
    idx_close(&fl);
    return ds;
}

static const char *const idx_names[] = {
    "%s/%s-%s-ubyte", "%s/%s-%s-ubyte.gz", "%s/%s.%s-ubyte", "%s/%s.%s-ubyte.gz"
};

/* The path of dir/<stem> with one of the known endings, into buf. */
static cg_status find_file(char *buf, size_t n, const char *dir, const char *stem,
                           const char *kind)
{
    const char *const *fmt = idx_names;
    struct stat st;

    for (int k = 0; k < 4; k++) {
        if ((size_t)snprintf(buf, n, fmt[k], dir, stem, kind) >= n)
            return cg__fail(CG_ERR_ARG, "%s: path too long", dir);
        if (stat(buf, &st) == 0)
            return CG_OK;
    }
    return cg__fail(CG_ERR_IO, "%s: no %s-%s-ubyte or %s-%s-ubyte.gz", dir, stem, kind,
                    stem, kind);
}

bool cg__idx_dir_reads(const char *dir, const char *file)
{
    static const char *const stems[][2] = {
        {"train", "images-idx3"}, {"train", "labels-idx1"},
        {"t10k", "images-idx3"}, {"t10k", "labels-idx1"}
    };
    char path[4096];

    for (int i = 0; i < 4; i++)
        for (int k = 0; k < 4; k++)
            if ((size_t)snprintf(path, sizeof path, idx_names[k], dir, stems[i][0],
                                 stems[i][1]) < sizeof path && cg_same_file(path, file))
                return true;
    return false;
}

/* The t10k pair must be data of the training pair's kind: the same image
 * size and labels among its classes (found at load time, naming the t10k
 * file, not at the first validation). */
static cg_status check_test_pair(const cg_dataset *train, const cg_dataset *test,
                                 const char *img, const char *lab)
{
    int tw = 0, th = 0, w = 0, h = 0, k = cg_dataset_classes(train);

    cg_dataset_image_shape(train, &tw, &th, NULL);
    cg_dataset_image_shape(test, &w, &h, NULL);
    if (w != tw || h != th)
        return cg__fail(CG_ERR_FORMAT, "%s: images of %d x %d pixels, the training images "
                        "are %d x %d", img, w, h, tw, th);
    for (size_t i = 0; i < cg_dataset_size(test); i++)
        if (cg_dataset_label(test, i) >= k)
            return cg__fail(CG_ERR_FORMAT, "%s: label %zu is %d, the training labels are "
                            "classes 0..%d", lab, i, cg_dataset_label(test, i), k - 1);
    return CG_OK;
}

cg_status cg_idx_load_dir(const char *dir, cg_dataset **train, cg_dataset **test)
{
    char img[4096], lab[4096];
    cg_status st;

    if (train)
        *train = NULL;
    if (test)
        *test = NULL;
    if (!dir || !train || !test)
        return cg__fail(CG_ERR_ARG, "cg_idx_load_dir: NULL argument");
    if ((st = find_file(img, sizeof img, dir, "train", "images-idx3")) != CG_OK ||
        (st = find_file(lab, sizeof lab, dir, "train", "labels-idx1")) != CG_OK)
        return st;
    if (!(*train = cg_idx_load(img, lab)))
        return cg_errcode();
    /* No t10k pair at all: a training set alone. Half a pair is an error. */
    bool has_img = find_file(img, sizeof img, dir, "t10k", "images-idx3") == CG_OK;
    bool has_lab = find_file(lab, sizeof lab, dir, "t10k", "labels-idx1") == CG_OK;
    if (!has_img && !has_lab) {
        cg_clear_error();
        return CG_OK;
    }
    if (!has_img || !has_lab || !(*test = cg_idx_load(img, lab)) ||
        (st = check_test_pair(*train, *test, img, lab)) != CG_OK) {
        if (!has_img || !has_lab)
            find_file(has_img ? lab : img, sizeof img, dir, "t10k",
                      has_img ? "labels-idx1" : "images-idx3");
        st = cg_errcode();
        cg_dataset_free(*train);
        cg_dataset_free(*test);
        *train = *test = NULL;
        return st;
    }
    return CG_OK;
}
