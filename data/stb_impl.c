/*
 * The one compilation of stb_image and stb_image_resize (Debian's
 * libstb-dev; no copy in this repository). Their allocations go through the
 * library's allocator hook, their symbols stay static, and their warnings
 * under our flags are silenced only around the #includes.
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "internal.h"

/* stb_image does not always report a failed allocation: a failed probe
 * allocation reads as "not this format", and its zlib returns NULL without a
 * reason, leaving an older reason in place. So every failed allocation is
 * noted here, and a decode that fails after one is out of memory. */
static _Thread_local bool stb_oom;
/* Also, no single block of stb's may exceed what the largest image we
 * decode needs (16-bit RGBA plus a filter byte per row, rounded up), so
 * that a size read from a header is never believed beyond it. */
static _Thread_local bool stb_too_big;
long long cg__image_max_pixels = (long long)1 << 24;   /* 4096 x 4096: 64 MB as RGBA */

static bool stb_size_ok(size_t size)
{
    bool ok = (unsigned long long)size <= 8ull * (unsigned long long)cg__image_max_pixels + (1u << 20);
    stb_too_big |= !ok;
    return ok;
}

static void *stb_malloc(size_t size)
{
    void *p = stb_size_ok(size) ? cg__malloc(size) : NULL;
    stb_oom |= p == NULL && !stb_too_big;
    return p;
}

static void *stb_realloc(void *ptr, size_t old_size, size_t size)
{
    void *p = stb_size_ok(size) ? cg__realloc(ptr, old_size, size) : NULL;
    stb_oom |= p == NULL && !stb_too_big;
    return p;
}

#define STBI_MALLOC(sz)                  stb_malloc(sz)
#define STBI_REALLOC_SIZED(p, oldsz, sz) stb_realloc((p), (oldsz), (sz))
#define STBI_FREE(p)                     cg__free(p)
#define STBI_FAILURE_USERMSG            /* "Corrupt PNG", not "outofdata" */
#define STBI_ONLY_PNG
#define STBI_ONLY_JPEG
#define STBI_ONLY_BMP
#define STBI_ONLY_GIF
#define STBI_ONLY_TGA
#define STBI_ONLY_PNM
#define STB_IMAGE_STATIC
#define STB_IMAGE_IMPLEMENTATION

#define STBIR_MALLOC(sz, ctx) ((void)(ctx), cg__malloc(sz))
#define STBIR_FREE(p, ctx)    ((void)(ctx), cg__free(p))
#define STB_IMAGE_RESIZE_STATIC
#define STB_IMAGE_RESIZE_IMPLEMENTATION

#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wcast-qual"
#pragma GCC diagnostic ignored "-Wdouble-promotion"
#pragma GCC diagnostic ignored "-Wpedantic"
#pragma GCC diagnostic ignored "-Wmissing-prototypes"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#pragma GCC diagnostic ignored "-Wunused-but-set-variable"
#endif
#include <stb_image.h>
#include <stb_image_resize.h>
#if defined(__GNUC__)
#pragma GCC diagnostic pop
/* stb_image 2.27 declares stbi_set_unpremultiply_on_load_thread static and
 * never defines it; gcc reports that at the end of the file, where the
 * pop above has already restored the warning. Only this file is affected. */
#pragma GCC diagnostic ignored "-Wunused-function"
#endif

/* Larger images are refused before any pixel is allocated: a 50-byte BMP or
 * PPM header may claim 30000 x 30000 pixels (stb_image's own limit is 2^24
 * per side), and stb would allocate and zero-fill gigabytes for it. */
static _Thread_local char size_reason[96];

/* NULL if w x h is a size we decode, else why not (static text). */
static const char *size_problem(int w, int h)
{
    if (w <= 0 || h <= 0) {
        snprintf(size_reason, sizeof size_reason, "image of %d x %d pixels", w, h);
        return size_reason;
    }
    if ((long long)w * h > cg__image_max_pixels) {
        snprintf(size_reason, sizeof size_reason,
                 "image of %d x %d pixels is too large (limit %lld pixels)", w, h,
                 cg__image_max_pixels);
        return size_reason;
    }
    return NULL;
}

/* stb_image 2.27 (Debian's) converts a 16-bit PGM/PPM to other channel
 * counts with its 8-bit converter and reads past the buffer (CVE-2021-42716,
 * found here by fuzz_image): such files are refused before decoding. */
static bool is_pnm16(const char *path)
{
    FILE *f = fopen(path, "rb");
    int a = f ? fgetc(f) : EOF, b = f ? fgetc(f) : EOF;

    if (f)
        fclose(f);
    return a == 'P' && (b == '5' || b == '6') && stbi_is_16_bit(path);
}

/* stb_image 2.27 trusts the code counts of a JPEG Huffman table (DHT): a
 * table of more than 256 codes writes past stbi__huffman.size[257] (found
 * by fuzz_image). Walk the file's markers and check every DHT first. True
 * for files that are not JPEG or whose tables are sane. */
static bool jpeg_tables_ok(const char *path)
{
    FILE *f = fopen(path, "rb");
    bool ok = true;
    int c;

    if (!f)
        return true;  /* stb reports it */
    if (fgetc(f) != 0xFF || fgetc(f) != 0xD8)
        goto out;
    while ((c = fgetc(f)) != EOF) {
        if (c != 0xFF)
            continue;  /* entropy-coded data */
        while ((c = fgetc(f)) == 0xFF) {}
        if (c == EOF || c == 0xD9)
            break;
        if (c == 0x00 || c == 0x01 || (c >= 0xD0 && c <= 0xD7))
            continue;  /* stuffed 0xFF, TEM, restart markers: no length */
        int hi = fgetc(f), lo = fgetc(f);
        if (hi == EOF || lo == EOF)
            break;
        long len = (long)(hi << 8 | lo) - 2;
        if (c != 0xC4) {
            if (len > 0 && fseek(f, len, SEEK_CUR) != 0)
                break;
            continue;
        }
        while (len > 0) {  /* tables: class/id byte, 16 counts, the values; stb
                              reads a table while len > 0, and zeros past EOF */
            long n = 0;
            if (fgetc(f) == EOF)
                goto out;
            for (int i = 0; i < 16; i++) {
                int k = fgetc(f);
                n += k == EOF ? 0 : k;
            }
            if (n > 256) {
                ok = false;
                goto out;
            }
            if (feof(f))
                goto out;
            if (fseek(f, n, SEEK_CUR) != 0)
                goto out;
            len -= 17 + n;
        }
        if (len > 0 && fseek(f, len, SEEK_CUR) != 0)
            break;
    }
out:
    fclose(f);
    return ok;
}

/* stb_image grows its buffer to a PNG chunk's claimed length before it
 * reads the chunk: a 60-byte file claiming a 2 GB IDAT costs 2 GB (found by
 * fuzz_image). Every chunk must fit in the file. True if not a PNG. */
static bool png_chunks_ok(const char *path)
{
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    uint8_t head[8];
    struct stat st;
    FILE *f = fopen(path, "rb");
    bool ok = true;

    if (!f)
        return true;
    if (fstat(fileno(f), &st) != 0 || fread(head, 1, 8, f) != 8 || memcmp(head, sig, 8) != 0)
        goto out;
    for (long long at = 8; fread(head, 1, 8, f) == 8;) {
        long long len = (long long)head[0] << 24 | head[1] << 16 | head[2] << 8 | head[3];
        at += 8;
        if (len + 4 > (long long)st.st_size - at) {
            ok = false;
            break;
        }
        if (memcmp(head + 4, "IEND", 4) == 0 || fseek(f, (long)(len + 4), SEEK_CUR) != 0)
            break;
        at += len + 4;
    }
out:
    fclose(f);
    return ok;
}

/* stb_image 2.27 reads the numbers of a PGM/PPM header into an int without
 * an overflow check ("P6 4294967296 2" is signed overflow, UB). Its header
 * is "P5" or "P6" and three decimal numbers between whitespace and #
 * comments: none may have more than 9 digits. True if not such a file. */
static bool pnm_header_ok(const char *path)
{
    FILE *f = fopen(path, "rb");
    bool ok = true;
    int c;

    if (!f)
        return true;
    if (fgetc(f) != 'P' || ((c = fgetc(f)) != '5' && c != '6'))
        goto out;
    c = fgetc(f);
    for (int k = 0; k < 3 && c != EOF; k++) {
        for (;;) {  /* whitespace and comments, as stbi__pnm_skip_whitespace */
            while (c == ' ' || (c >= '\t' && c <= '\r'))
                c = fgetc(f);
            if (c != '#')
                break;
            while (c != EOF && c != '\n' && c != '\r')
                c = fgetc(f);
        }
        int digits = 0;
        for (; c >= '0' && c <= '9'; c = fgetc(f))
            if (++digits > 9) {
                ok = false;
                goto out;
            }
    }
out:
    fclose(f);
    return ok;
}

/* The checks above, then stb's reason or ours. */
static const char *precheck(const char *path)
{
    if (!pnm_header_ok(path))
        return "Corrupt PPM (a header number of more than 9 digits)";
    if (!jpeg_tables_ok(path))
        return "Corrupt JPEG (a Huffman table of more than 256 codes)";
    if (!png_chunks_ok(path))
        return "Corrupt PNG (a chunk runs past the end of the file)";
    return NULL;
}

/* Why stb failed: out of memory, a block larger than any image needs, or
 * stb's own reason. */
static const char *stb_reason(void)
{
    if (stb_too_big)
        return "Corrupt image (its header asks for more memory than any image we decode)";
    return stb_oom ? "Out of memory" : stbi_failure_reason();
}

uint8_t *cg__image_decode(const char *path, int want, int *w, int *h, int *comp,
                          const char **reason)
{
    if ((*reason = precheck(path)) != NULL)
        return NULL;
    stb_oom = stb_too_big = false;
    if (stbi_info(path, w, h, comp) && (*reason = size_problem(*w, *h)) != NULL)
        return NULL;
    if (is_pnm16(path)) {
        *reason = "16-bit PGM/PPM is not supported";
        return NULL;
    }
    stb_oom = stb_too_big = false;
    uint8_t *px = stbi_load(path, w, h, comp, want);

    *reason = px ? NULL : stb_reason();
    if (px && (*reason = size_problem(*w, *h)) != NULL) {  /* stb takes 0 rows */
        stbi_image_free(px);
        px = NULL;
    }
    return px;
}

bool cg__image_info(const char *path, int *w, int *h, int *comp, const char **reason)
{
    if ((*reason = precheck(path)) != NULL)
        return false;
    stb_oom = stb_too_big = false;
    bool ok = stbi_info(path, w, h, comp) != 0;

    *reason = ok ? NULL : stb_reason();
    if (ok && (*reason = size_problem(*w, *h)) != NULL)
        ok = false;
    return ok;
}

void cg__image_free(uint8_t *pixels)
{
    stbi_image_free(pixels);
}

bool cg__image_resize(const uint8_t *in, int iw, int ih, uint8_t *out, int ow, int oh,
                      int channels)
{
    return stbir_resize_uint8(in, iw, ih, 0, out, ow, oh, 0, channels) != 0;
}
