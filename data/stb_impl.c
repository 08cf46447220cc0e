/*
 * The one compilation of stb_image and stb_image_resize (Debian's
 * libstb-dev; no copy in this repository). Their allocations go through the
 * library's allocator hook, their symbols stay static, and their warnings
 * under our flags are silenced only around the #includes. JPEG files are
 * handed to libjpeg-turbo (jpeg.c), whose reasons are given there.
 */
#include <stdint.h>
#include <stdio.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "internal.h"
#include "stb_quiet.h"

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

/* Zero-filled: stb 2.27's JPEG decoder (cgrad's until jpeg.c) read Huffman
 * tables a file never defined from its fresh allocation, so uninitialised
 * memory decided how it decoded (and asserted: a crash that a rerun of the
 * same input did not repeat). Kept for the other decoders' sake. */
static void *stb_malloc(size_t size)
{
    void *p = stb_size_ok(size) ? cg__calloc(1, size) : NULL;
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
/* stb's asserts check its own state, which a corrupt file can break (a
 * JPEG Huffman code that is not in its table asserted in
 * stbi__jpeg_huff_decode, found by fuzz_image): a library must not abort on
 * a bad file, so they are off; its bounds checks stay, and fuzzing under
 * ASan and UBSan watches what the asserts watched. */
#define STBI_ASSERT(x) ((void)0)
#define STBIR_ASSERT(x) ((void)0)
#define STBI_FAILURE_USERMSG            /* "Corrupt PNG", not "outofdata" */
#define STBI_ONLY_PNG
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

CG_STB_QUIET_BEGIN
#include <stb_image.h>
#include <stb_image_resize.h>
CG_STB_QUIET_END

/* stb 2.27's JPEG decoder is not guarded (RELIABILITY.md): STBI_ONLY_* above
 * leaves it out, and this keeps it out. JPEG goes to jpeg.c by content. */
#ifndef STBI_NO_JPEG
#error "stb_image must be built without its JPEG decoder (STBI_NO_JPEG)"
#endif
#if defined(__GNUC__)
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

/* ---- checks stb_image 2.27 needs (each bug found by fuzz_image) ------------
 * The file is read into memory once and decoded from there: stb's "rewind"
 * of a FILE goes back only to the start of its current 128-byte buffer, so
 * a format probe that read further made the next probe parse the middle of
 * the file (a JPEG parsed as a PPM). The checks below run on the same bytes
 * stb decodes. */

/* A 16-bit PGM/PPM is converted to other channel counts with stb's 8-bit
 * converter, which reads past the buffer (CVE-2021-42716). */
static bool pnm16(const uint8_t *b, size_t n)
{
    return n >= 2 && b[0] == 'P' && (b[1] == '5' || b[1] == '6') &&
           stbi_is_16_bit_from_memory(b, (int)n);
}

/* The numbers of a PGM/PPM header are read into an int without an overflow
 * check ("P6 4294967296 2" is signed overflow). The header is "P5" or "P6"
 * and three decimal numbers between whitespace and # comments: none may have
 * more than 9 digits. */
static bool pnm_header_ok(const uint8_t *b, size_t n)
{
    size_t i = 2;

    if (n < 2 || b[0] != 'P' || (b[1] != '5' && b[1] != '6'))
        return true;
    for (int k = 0; k < 3 && i < n; k++) {
        for (;;) {  /* whitespace and comments, as stbi__pnm_skip_whitespace */
            while (i < n && (b[i] == ' ' || (b[i] >= '\t' && b[i] <= '\r')))
                i++;
            if (i >= n || b[i] != '#')
                break;
            while (i < n && b[i] != '\n' && b[i] != '\r')
                i++;
        }
        for (int digits = 0; i < n && b[i] >= '0' && b[i] <= '9'; i++)
            if (++digits > 9)
                return false;
    }
    return true;
}

/* stb grows its buffer to a PNG chunk's claimed length before it reads the
 * chunk: a 60-byte file claiming a 2 GB IDAT cost 2 GB. Every chunk must fit
 * in the file. An empty first IDAT makes stb add 0 to its NULL buffer (UB). */
static bool png_chunks_ok(const uint8_t *b, size_t n)
{
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    bool data = false;

    if (n < 8 || memcmp(b, sig, 8) != 0)
        return true;
    for (size_t at = 8; at + 8 <= n;) {
        uint64_t len = (uint64_t)b[at] << 24 | (uint64_t)b[at + 1] << 16 |
                       (uint64_t)b[at + 2] << 8 | b[at + 3];
        if (len + 4 > n - at - 8)
            return false;
        if (memcmp(b + at + 4, "IDAT", 4) == 0) {
            if (len == 0 && !data)
                return false;
            data = true;
        }
        if (memcmp(b + at + 4, "IEND", 4) == 0)
            break;
        at += 8 + (size_t)len + 4;
    }
    return true;
}

/* Why the bytes cannot go to stb, or NULL. */
static const char *precheck(const uint8_t *b, size_t n)
{
    if (n > INT32_MAX)
        return "file too large for an image";
    if (!pnm_header_ok(b, n))
        return "Corrupt PPM (a header number of more than 9 digits)";
    if (pnm16(b, n))
        return "16-bit PGM/PPM is not supported";
    if (!png_chunks_ok(b, n))
        return "Corrupt PNG (a chunk past the end of the file, or an empty first IDAT)";
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

/* The whole file in a new buffer (*n bytes); NULL with *reason on failure.
 * Image files up to 2^31 - 1 bytes (stb's int lengths). */
static uint8_t *read_file(const char *path, size_t *n, const char **reason)
{
    struct stat st;
    uint8_t *b = NULL;
    FILE *f = fopen(path, "rb");

    if (!f) {
        *reason = strerror(errno);   /* what the system says, not stb's words */
        return NULL;
    }
    if (fstat(fileno(f), &st) != 0 || st.st_size < 0 || st.st_size > INT32_MAX) {
        *reason = "file too large for an image";
    } else if (!(b = cg__malloc((size_t)st.st_size))) {
        *reason = "Out of memory";
    } else if (fread(b, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
        *reason = ferror(f) ? strerror(errno) : "the file changed while it was read";
        cg__free(b);
        b = NULL;
    }
    fclose(f);
    if (b)
        *n = (size_t)st.st_size;
    return b;
}

uint8_t *cg__image_decode(const char *path, int want, int *w, int *h, int *comp,
                          const char **reason)
{
    size_t n = 0;
    uint8_t *px = NULL, *b = read_file(path, &n, reason);

    if (!b || (*reason = precheck(b, n)) != NULL)
        goto out;
    if (cg__jpeg_is(b, n)) {
        px = cg__jpeg_decode(b, n, want, w, h, comp, size_problem, reason);
        goto out;
    }
    stb_oom = stb_too_big = false;
    if (stbi_info_from_memory(b, (int)n, w, h, comp) &&
        (*reason = size_problem(*w, *h)) != NULL)
        goto out;
    stb_oom = stb_too_big = false;
    px = stbi_load_from_memory(b, (int)n, w, h, comp, want);
    *reason = px ? NULL : stb_reason();
    if (px && (*reason = size_problem(*w, *h)) != NULL) {  /* stb takes 0 rows */
        stbi_image_free(px);
        px = NULL;
    }
out:
    cg__free(b);
    return px;
}

bool cg__image_info(const char *path, int *w, int *h, int *comp, const char **reason)
{
    size_t n = 0;
    uint8_t *b = read_file(path, &n, reason);
    bool ok = false;

    if (!b || (*reason = precheck(b, n)) != NULL)
        goto out;
    if (cg__jpeg_is(b, n)) {
        ok = cg__jpeg_info(b, n, w, h, comp, reason);
    } else {
        stb_oom = stb_too_big = false;
        ok = stbi_info_from_memory(b, (int)n, w, h, comp) != 0;
        *reason = ok ? NULL : stb_reason();
    }
    if (ok && (*reason = size_problem(*w, *h)) != NULL)
        ok = false;
out:
    cg__free(b);
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
