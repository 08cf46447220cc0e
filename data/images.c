/*
 * Image folders, the convention of torchvision's ImageFolder:
 * root/<class>/<image>, classes in sorted order of the folder names. Images
 * are decoded with stb_image, converted to grayscale or RGB, resized with
 * stb_image_resize to one size, and kept as bytes (a quarter of floats).
 */
#define _DEFAULT_SOURCE   /* realpath */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

#define IMAGE_EXTS ".png .jpg .jpeg .bmp .gif .tga .pnm .ppm .pgm"

/* A growing list of strings. */
struct names {
    char  **v;
    size_t  n, cap;
};

static void names_clear(struct names *l)
{
    for (size_t i = 0; i < l->n; i++)
        cg__free(l->v[i]);
    cg__free(l->v);
    memset(l, 0, sizeof *l);
}

static cg_status names_push(struct names *l, char *s)
{
    if (!s)
        return CG_ERR_NOMEM;
    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 16;
        char **v = cg__realloc(l->v, l->cap * sizeof *v, nc * sizeof *v);
        if (!v) {
            cg__free(s);
            return CG_ERR_NOMEM;
        }
        l->v = v;
        l->cap = nc;
    }
    l->v[l->n++] = s;
    return CG_OK;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "dir/name" in a new string. */
static char *join(const char *dir, const char *name)
{
    size_t a = strlen(dir), b = strlen(name);
    char *p = cg__malloc(a + b + 2);

    if (p) {
        memcpy(p, dir, a);
        p[a] = '/';
        memcpy(p + a + 1, name, b + 1);
    }
    return p;
}

static bool has_image_ext(const char *name)
{
    static const char *const ext[] = {
        "png", "jpg", "jpeg", "bmp", "gif", "tga", "pnm", "ppm", "pgm"
    };
    const char *dot = strrchr(name, '.');

    if (!dot)
        return false;
    for (size_t k = 0; k < sizeof ext / sizeof ext[0]; k++) {
        size_t i = 0;
        while (ext[k][i] && dot[1 + i] && (dot[1 + i] | 0x20) == ext[k][i])
            i++;
        if (!ext[k][i] && !dot[1 + i])
            return true;
    }
    return false;
}

bool cg__image_folder_reads(const char *root, const char *file)
{
    struct stat r, d;
    char *real = realpath(file, NULL), *slash;
    bool hit = false;

    /* root/<class>/<image>: the file's grandparent is root. */
    if (!real || stat(root, &r) != 0 || !has_image_ext(real))
        goto out;
    for (int up = 0; up < 2; up++) {
        if (!(slash = strrchr(real, '/')) || slash == real)
            goto out;
        *slash = '\0';
    }
    hit = stat(real, &d) == 0 && d.st_dev == r.st_dev && d.st_ino == r.st_ino;
out:
    free(real);   /* realpath's own malloc */
    return hit;
}

/* The sorted names in dir that are folders (want_dirs) or image files;
 * hidden entries are ignored. */
static cg_status list_dir(const char *dir, bool want_dirs, struct names *out)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    cg_status st = CG_OK;

    if (!d)
        return cg__fail(CG_ERR_IO, "%s: cannot open: %s", dir, strerror(errno));
    while (st == CG_OK && (e = readdir(d))) {
        struct stat sb;
        char *full;
        if (e->d_name[0] == '.')
            continue;
        if (!(full = join(dir, e->d_name))) {
            st = CG_ERR_NOMEM;
            break;
        }
        if (stat(full, &sb) == 0 &&
            (want_dirs ? S_ISDIR(sb.st_mode) : S_ISREG(sb.st_mode) && has_image_ext(e->d_name)))
            st = names_push(out, cg__strdup(e->d_name));
        cg__free(full);
    }
    closedir(d);
    if (st == CG_OK && out->n > 1)
        qsort(out->v, out->n, sizeof *out->v, cmp_str);
    return st;
}

/* Every image path under root (sorted by class, then name) with its class. */
static cg_status list_images(const char *root, struct names *classes, struct names *paths,
                             int **label)
{
    struct names files = {0};
    size_t cap = 0;
    cg_status st;

    if ((st = list_dir(root, true, classes)) != CG_OK)
        return st;
    if (classes->n == 0)
        return cg__fail(CG_ERR_FORMAT, "%s: no class folders (expected %s/<class>/<image>)",
                        root, root);
    if (classes->n > INT32_MAX)
        return cg__fail(CG_ERR_FORMAT, "%s: too many class folders", root);
    for (size_t c = 0; c < classes->n; c++) {
        /* a class name goes into model files, whose headers are UTF-8 */
        if (!cg__utf8_valid(classes->v[c], strlen(classes->v[c])))
            return cg__fail(CG_ERR_FORMAT, "%s/%s: the class folder's name is not valid "
                            "UTF-8", root, classes->v[c]);
        char *dir = join(root, classes->v[c]);
        if (!dir || (st = list_dir(dir, false, &files)) != CG_OK)
            goto out_dir;
        if (files.n == 0) {
            st = cg__fail(CG_ERR_FORMAT, "%s: no images (looked for %s)", dir, IMAGE_EXTS);
            goto out_dir;
        }
        for (size_t i = 0; i < files.n; i++)
            if ((st = names_push(paths, join(dir, files.v[i]))) != CG_OK)
                goto out_dir;
        if (paths->n > cap) {
            int *nl = cg__realloc(*label, cap * sizeof **label, paths->cap * sizeof **label);
            if (!nl) {
                st = CG_ERR_NOMEM;
                goto out_dir;
            }
            *label = nl;
            cap = paths->cap;
        }
        for (size_t i = paths->n - files.n; i < paths->n; i++)
            (*label)[i] = (int)c;
        names_clear(&files);
        cg__free(dir);
        continue;
out_dir:
        if (!dir)
            st = CG_ERR_NOMEM;
        names_clear(&files);
        cg__free(dir);
        return st;
    }
    return CG_OK;
}

/* ---- decoding ------------------------------------------------------------- */

/* stb_image's reason as an error: "Out of memory" is ours, the rest the file's. */
static cg_status stb_fail(const char *path, const char *why)
{
    if (why && strcmp(why, "Out of memory") == 0)
        return cg__fail(CG_ERR_NOMEM, "%s: out of memory decoding", path);
    return cg__fail(CG_ERR_FORMAT, "%s: %s", path, why ? why : "cannot decode");
}

/* Decode path into dst: [h, w, c] bytes, resizing unless no_resize. */
static cg_status decode_into(const char *path, int w, int h, int c, bool no_resize,
                             uint8_t *dst)
{
    int iw, ih, comp;
    const char *why;
    uint8_t *px = cg__image_decode(path, c, &iw, &ih, &comp, &why);
    cg_status st = CG_OK;

    if (!px)
        return stb_fail(path, why);
    if (iw == w && ih == h)
        memcpy(dst, px, (size_t)w * (size_t)h * (size_t)c);
    else if (no_resize)
        st = cg__fail(CG_ERR_FORMAT, "%s: %dx%d, expected %dx%d (resizing is off)", path,
                      iw, ih, w, h);
    else if (!cg__image_resize(px, iw, ih, dst, w, h, c))
        st = cg__fail(CG_ERR_NOMEM, "%s: out of memory resizing %dx%d to %dx%d", path,
                      iw, ih, w, h);
    cg__image_free(px);
    return st;
}

/* The first image that can be read decides the size and channels left 0. */
static cg_status first_shape(const char *path, const struct cg_image_options *o, int *w,
                             int *h, int *c)
{
    int iw, ih, comp;
    const char *why;

    if (!cg__image_info(path, &iw, &ih, &comp, &why))
        return stb_fail(path, why);
    *w = o->width ? o->width : iw;
    *h = o->height ? o->height : ih;
    *c = o->channels ? o->channels : (comp <= 2 ? 1 : 3);
    return CG_OK;
}

static cg_status check_image_options(const char *root, const struct cg_image_options *o)
{
    if (!root)
        return cg__fail(CG_ERR_ARG, "cg_image_folder_load: NULL root");
    if (o->channels != 0 && o->channels != 1 && o->channels != 3)
        return cg__fail(CG_ERR_ARG, "%s: channels must be 1 (grayscale) or 3 (RGB), not %d",
                        root, o->channels);
    if (o->width < 0 || o->height < 0 || (o->width == 0) != (o->height == 0))
        return cg__fail(CG_ERR_ARG, "%s: bad image size %dx%d", root, o->width, o->height);
    return CG_OK;
}

/* Decode every listed image into s (allocated at the first good image). */
static cg_status decode_all(struct cg__store *s, const struct names *paths, const int *label,
                            const struct cg_image_options *o, char *first_bad, size_t nb)
{
    size_t f = 0, bytes, skipped = 0;

    for (size_t i = 0; i < paths->n; i++) {
        cg_status st = CG_OK;
        if (!s->u8 && (st = first_shape(paths->v[i], o, &s->width, &s->height,
                                        &s->channels)) == CG_OK) {
            if (!cg__mul_size((size_t)s->width * (size_t)s->height, (size_t)s->channels, &f) ||
                f > INT32_MAX || !cg__mul_size(f, paths->n, &bytes))
                return cg__fail(CG_ERR_NOMEM, "%s: %zu images of %dx%dx%d are too many bytes",
                                paths->v[i], paths->n, s->width, s->height, s->channels);
            if (!(s->u8 = cg__malloc(bytes)))
                return CG_ERR_NOMEM;
            s->n_features = (int)f;
        }
        if (st == CG_OK)
            st = decode_into(paths->v[i], s->width, s->height, s->channels, o->no_resize,
                             s->u8 + s->n * f);
        if (st == CG_ERR_FORMAT && o->skip_bad) {
            if (skipped++ == 0)
                snprintf(first_bad, nb, "%s", cg_errmsg());
            cg_clear_error();
            continue;
        }
        if (st != CG_OK)
            return st;
        s->labels[s->n++] = label[i];
    }
    s->skipped = skipped;
    return CG_OK;
}

cg_dataset *cg_image_folder_load(const char *root, const struct cg_image_options *opts)
{
    static const struct cg_image_options defaults;
    const struct cg_image_options *o = opts ? opts : &defaults;
    struct names classes = {0}, paths = {0};
    struct cg__store *s = NULL;
    int *label = NULL;
    cg_dataset *ds = NULL;
    char first_bad[512] = "";

    if (check_image_options(root, o) != CG_OK)
        return NULL;
    if (list_images(root, &classes, &paths, &label) != CG_OK || !(s = cg__store_new()))
        goto out;
    if (!(s->labels = cg__calloc(paths.n, sizeof *s->labels)))
        goto out;
    if (decode_all(s, &paths, label, o, first_bad, sizeof first_bad) != CG_OK)
        goto out;
    if (s->n == 0) {
        cg__fail(CG_ERR_FORMAT, "%s: no image could be decoded; first: %s", root, first_bad);
        goto out;
    }
    if (cg__store_warn(s, s->skipped, "image files", first_bad) != CG_OK)
        goto out;
    s->task = CG_TASK_CLASSIFY;
    s->n_classes = (int)classes.n;
    s->class_names = classes.v;        /* handed over */
    memset(&classes, 0, sizeof classes);
    ds = cg__dataset_wrap(s);
    s = NULL;
out:
    cg__store_release(s);
    names_clear(&classes);
    names_clear(&paths);
    cg__free(label);
    return ds;
}

cg_status cg_image_load_features(const char *path, int width, int height, int channels,
                                 cg_float *out)
{
    size_t n;
    uint8_t *buf;
    cg_status st;

    if (!path || !out)
        return cg__fail(CG_ERR_ARG, "cg_image_load_features: NULL argument");
    if ((channels != 1 && channels != 3) || width <= 0 || height <= 0 ||
        !cg__mul_size((size_t)width * (size_t)height, (size_t)channels, &n))
        return cg__fail(CG_ERR_ARG, "%s: bad target shape %dx%dx%d", path, width, height,
                        channels);
    /* a file named on a command line may be missing: say so as for a CSV
     * (the decoder's own reason would be "can't fopen") */
    if (access(path, R_OK) != 0)
        return cg__fail(CG_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    if (!(buf = cg__malloc(n)))
        return CG_ERR_NOMEM;
    st = decode_into(path, width, height, channels, false, buf);
    if (st == CG_OK)
        for (size_t i = 0; i < n; i++)
            out[i] = (cg_float)buf[i];
    cg__free(buf);
    return st;
}

/* ---- listing image files ---------------------------------------------------- */

bool cg_image_is_file_name(const char *path)
{
    return path && has_image_ext(path);
}

/* A folder on the way down from the root, to notice a symbolic link loop. */
struct visit {
    dev_t dev;
    ino_t ino;
    const struct visit *up;
};

/* Append every image file under dir (any depth) to out. */
static cg_status walk(const char *dir, const struct visit *up, struct names *out)
{
    struct names dirs = {0}, files = {0};
    struct stat sb;
    cg_status st;

    if (stat(dir, &sb) != 0)
        return cg__fail(CG_ERR_IO, "%s: cannot open: %s", dir, strerror(errno));
    for (const struct visit *v = up; v; v = v->up)
        if (v->dev == sb.st_dev && v->ino == sb.st_ino)
            return cg__fail(CG_ERR_FORMAT, "%s: a folder inside itself (a symbolic link "
                            "loop)", dir);
    struct visit here = {sb.st_dev, sb.st_ino, up};
    if ((st = list_dir(dir, false, &files)) != CG_OK ||
        (st = list_dir(dir, true, &dirs)) != CG_OK)
        goto out;
    for (size_t i = 0; i < files.n && st == CG_OK; i++)
        st = names_push(out, join(dir, files.v[i]));
    for (size_t i = 0; i < dirs.n && st == CG_OK; i++) {
        char *sub = join(dir, dirs.v[i]);
        st = sub ? walk(sub, &here, out) : CG_ERR_NOMEM;
        cg__free(sub);
    }
out:
    names_clear(&files);
    names_clear(&dirs);
    return st;
}

cg_status cg_image_files(const char *root, char ***paths, size_t *n)
{
    struct names out = {0};
    char *top;
    size_t len;
    cg_status st;

    if (!root || !paths || !n)
        return cg__fail(CG_ERR_ARG, "cg_image_files: NULL argument");
    *paths = NULL;
    *n = 0;
    /* "photos/" lists "photos/cat/1.png", not "photos//cat/1.png" */
    len = strlen(root);
    while (len > 1 && root[len - 1] == '/')
        len--;
    if (!(top = cg__malloc(len + 1)))
        return CG_ERR_NOMEM;
    memcpy(top, root, len);
    top[len] = '\0';
    st = walk(top, NULL, &out);
    cg__free(top);
    if (st != CG_OK) {
        names_clear(&out);
        return st;
    }
    if (out.n > 1)
        qsort(out.v, out.n, sizeof *out.v, cmp_str);
    *paths = out.v;
    *n = out.n;
    return CG_OK;
}

void cg_image_files_free(char **paths, size_t n)
{
    for (size_t i = 0; paths && i < n; i++)
        cg__free(paths[i]);
    cg__free(paths);
}
