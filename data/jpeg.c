/*
 * JPEG decoding with libjpeg-turbo (Debian's libjpeg62-turbo-dev).
 *
 * Why not stb_image, which decodes the other formats: Debian 12's stb_image
 * 2.27 lets its JPEG bit reader's count go negative on corrupt entropy data
 * and then shifts by 32 or more (undefined behaviour, found by fuzz_image;
 * upstream fixed it in 2.28), and nothing outside stb can guard that without
 * decoding the data itself. libjpeg-turbo is the JPEG decoder most software
 * uses and is fuzzed continuously upstream (OSS-Fuzz).
 *
 * The decoder reads from memory (the bytes stb_impl.c read from the file).
 * Its errors come back through a longjmp to the call that started them.
 * libjpeg's "Corrupt JPEG data" and "Premature end of JPEG file" are
 * warnings it decodes past, filling what it lacks with grey; here they are
 * errors, as a truncated PNG is: never a silent wrong picture. libjpeg
 * allocates with its own malloc (it has no run-time hook), not through
 * cg_set_allocator; the pixels it returns are in a block of ours.
 */
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>

#include "internal.h"

/* Progressive JPEGs may hold any number of scans, each a pass over the whole
 * image: a small file of thousands of scans costs minutes. libjpeg-turbo's
 * own tools stop at 500 (tjDecompress's TJFLAG_LIMITSCANS). */
#define CG__JPEG_MAX_SCANS 500

struct jpeg_failure {
    struct jpeg_error_mgr mgr;     /* first: libjpeg passes &mgr as cinfo->err */
    struct jpeg_progress_mgr progress;
    jmp_buf               jump;
    char                  message[JMSG_LENGTH_MAX];
};

static _Thread_local char jpeg_reason[JMSG_LENGTH_MAX + 16];  /* see failure_reason */

/* libjpeg's error_exit: keep the message, return to the setjmp. */
static void on_error(j_common_ptr cinfo)
{
    struct jpeg_failure *f = (struct jpeg_failure *)cinfo->err;

    cinfo->err->format_message(cinfo, f->message);
    longjmp(f->jump, 1);
}

/* Warnings about the picture's data are errors; the few about metadata
 * alone (an unknown JFIF revision, Adobe transform code or a bad ICC
 * profile marker) leave the pixels right and are ignored. Trace messages
 * (level > 0) are ignored. */
static void on_message(j_common_ptr cinfo, int level)
{
    int code = cinfo->err->msg_code;

    if (level >= 0 || code == JWRN_JFIF_MAJOR || code == JWRN_ADOBE_XFORM ||
        code == JWRN_BOGUS_ICC)
        return;
    on_error(cinfo);
}

/* Called by libjpeg between passes: stop a file with too many scans. */
static void on_progress(j_common_ptr cinfo)
{
    j_decompress_ptr d = (j_decompress_ptr)cinfo;

    if (d->input_scan_number > CG__JPEG_MAX_SCANS) {
        struct jpeg_failure *f = (struct jpeg_failure *)cinfo->err;
        f->mgr.msg_code = 0;  /* not an earlier message's code */
        snprintf(f->message, sizeof f->message, "progressive JPEG of more than %d scans",
                 CG__JPEG_MAX_SCANS);
        longjmp(f->jump, 1);
    }
}

static void start(struct jpeg_decompress_struct *d, struct jpeg_failure *f,
                  const uint8_t *b, size_t n)
{
    d->err = jpeg_std_error(&f->mgr);
    f->mgr.error_exit = on_error;
    f->mgr.emit_message = on_message;
    f->message[0] = '\0';
    jpeg_create_decompress(d);
    f->progress.progress_monitor = on_progress;
    d->progress = &f->progress;
    jpeg_mem_src(d, b, (unsigned long)n);
}

/* libjpeg's message, saying JPEG once ("Corrupt JPEG data: ...", "Premature
 * end of JPEG file", "Corrupt JPEG: Bogus Huffman table definition"). Its
 * own allocation failing is ours to report, not the file's. */
static const char *failure_reason(const struct jpeg_failure *f)
{
    if (f->mgr.msg_code == JERR_OUT_OF_MEMORY)
        return "Out of memory";
    snprintf(jpeg_reason, sizeof jpeg_reason, "%s%s",
             strstr(f->message, "JPEG") ? "" : "Corrupt JPEG: ", f->message);
    return jpeg_reason;
}

bool cg__jpeg_is(const uint8_t *b, size_t n)
{
    return n >= 2 && b[0] == 0xFF && b[1] == 0xD8;
}

/* Components as stb_image reports them: 1 for greyscale, else 3. */
static int file_components(const struct jpeg_decompress_struct *d)
{
    return d->num_components == 1 ? 1 : 3;
}

bool cg__jpeg_info(const uint8_t *b, size_t n, int *w, int *h, int *comp,
                   const char **reason)
{
    struct jpeg_decompress_struct d;
    struct jpeg_failure f;

    start(&d, &f, b, n);
    if (setjmp(f.jump)) {
        *reason = failure_reason(&f);
        jpeg_destroy_decompress(&d);
        return false;
    }
    jpeg_read_header(&d, TRUE);
    *w = (int)d.image_width;
    *h = (int)d.image_height;
    *comp = file_components(&d);
    jpeg_destroy_decompress(&d);
    return true;
}

uint8_t *cg__jpeg_decode(const uint8_t *b, size_t n, int want, int *w, int *h, int *comp,
                         const char *(*size_problem)(int w, int h), const char **reason)
{
    struct jpeg_decompress_struct d;
    struct jpeg_failure f;
    uint8_t *volatile px = NULL;

    start(&d, &f, b, n);
    if (setjmp(f.jump)) {
        *reason = failure_reason(&f);
        goto fail;
    }
    jpeg_read_header(&d, TRUE);
    *w = (int)d.image_width;
    *h = (int)d.image_height;
    *comp = file_components(&d);
    if ((*reason = size_problem(*w, *h)) != NULL)
        goto fail;
    int channels = want ? want : *comp;
    if (channels != 1 && channels != 3) {
        *reason = "a JPEG decodes to 1 or 3 channels";
        goto fail;
    }
    if (d.jpeg_color_space == JCS_CMYK || d.jpeg_color_space == JCS_YCCK) {
        *reason = "CMYK JPEG is not supported";
        goto fail;
    }
    /* libjpeg converts: YCbCr to its Y for grey, grey to RGB by copying. */
    d.out_color_space = channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_start_decompress(&d);
    size_t stride = (size_t)*w * (size_t)channels;
    if (!(px = cg__malloc(stride * (size_t)*h))) {
        *reason = "Out of memory";
        goto fail;
    }
    while (d.output_scanline < d.output_height) {
        JSAMPROW rows[1] = {px + (size_t)d.output_scanline * stride};
        if (jpeg_read_scanlines(&d, rows, 1) != 1)
            break;  /* cannot happen from memory; finish_decompress reports it */
    }
    jpeg_finish_decompress(&d);
    jpeg_destroy_decompress(&d);
    *reason = NULL;
    return px;

fail:
    jpeg_destroy_decompress(&d);
    cg__free(px);
    return NULL;
}
