/*
 * IDX files (the MNIST format, yann.lecun.com/exdb/mnist): a magic number
 * 0x00 0x00 <type> <ndim>, ndim big-endian uint32 dimensions, then the
 * data, here unsigned bytes (type 0x08). Plain or gzip-compressed: zlib's
 * gzread reads both. Every size is checked before it is allocated: against
 * the file's size for a plain file; for gzip, whose real size is known only
 * at the end, against deflate's largest ratio (1032:1) and by growing the
 * buffer as data actually arrives.
 */
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "internal.h"

#define IDX_UBYTE        0x08
#define DEFLATE_MAX_RATIO 1032u

struct idx_file {
    const char *path;
    gzFile      gz;
    size_t      file_size;    /* on disk */
    bool        gzip;
    int         ndim;
    uint32_t    dims[3];
    size_t      data_size;    /* product of dims */
};

static void idx_close(struct idx_file *f)
{
    if (f->gz)
        gzclose(f->gz);
    f->gz = NULL;
}

/* gzread all of n bytes (or fewer at the end); -1 on a zlib error. */
static long long read_full(gzFile gz, uint8_t *p, size_t n)
{
    size_t got = 0;

    while (got < n) {
        size_t want = n - got > (1u << 30) ? (1u << 30) : n - got;
        int r = gzread(gz, p + got, (unsigned)want);
        if (r < 0)
            return -1;
        if (r == 0)
            break;
        got += (size_t)r;
    }
    return (long long)got;
}

/* The text of zlib's last error on gz, or "unexpected end of file". */
static const char *zlib_reason(gzFile gz)
{
    int code;
    const char *msg = gzerror(gz, &code);
    return code != Z_OK && msg && *msg ? msg : "unexpected end of file";
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
    if (!(f->gz = gzopen(path, "rb")))
        return cg__fail(CG_ERR_IO, "%s: cannot open: %s", path,
                        errno ? strerror(errno) : "out of memory");
    if (read_full(f->gz, head, 4) != 4)
        return cg__fail(CG_ERR_FORMAT, "%s: %s", path,
                        f->file_size == 0 ? "empty file" : "truncated header");
    f->gzip = !gzdirect(f->gz);
    if (head[0] != 0 || head[1] != 0 || head[2] != IDX_UBYTE || head[3] != want_ndim)
        return cg__fail(CG_ERR_FORMAT, "%s: bad magic 0x%02x%02x%02x%02x (expected "
                        "0x000008%02x: unsigned bytes, %d dimensions)", path, head[0],
                        head[1], head[2], head[3], want_ndim, want_ndim);
    f->ndim = want_ndim;
    if (read_full(f->gz, head + 4, 4 * (size_t)f->ndim) != 4 * f->ndim)
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
        r = read_full(f->gz, buf + got, cap - got);
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
    if (gzread(f->gz, &extra, 1) != 0) {
        cg__fail(CG_ERR_FORMAT, "%s: more data than the header's %zu bytes", f->path,
                 f->data_size);
        goto fail;
    }
    return buf;
bad:
    cg__fail(CG_ERR_FORMAT, "%s: truncated: the header says %zu bytes of data, got %zu (%s)",
             f->path, f->data_size, got, zlib_reason(f->gz));
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

/* The path of dir/<stem> with one of the known endings, into buf. */
static cg_status find_file(char *buf, size_t n, const char *dir, const char *stem,
                           const char *kind)
{
    static const char *const fmt[] = {
        "%s/%s-%s-ubyte", "%s/%s-%s-ubyte.gz", "%s/%s.%s-ubyte", "%s/%s.%s-ubyte.gz"
    };
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
    if ((st = find_file(img, sizeof img, dir, "t10k", "images-idx3")) != CG_OK ||
        (st = find_file(lab, sizeof lab, dir, "t10k", "labels-idx1")) != CG_OK ||
        !(*test = cg_idx_load(img, lab))) {
        st = cg_errcode();
        cg_dataset_free(*train);
        *train = NULL;
        return st;
    }
    return CG_OK;
}
