/*
 * The one compilation of stb_image and stb_image_resize (Debian's
 * libstb-dev; no copy in this repository). Their allocations go through the
 * library's allocator hook, their symbols stay static, and their warnings
 * under our flags are silenced only around the #includes.
 */
#include "internal.h"

#define STBI_MALLOC(sz)                  cg__malloc(sz)
#define STBI_REALLOC_SIZED(p, oldsz, sz) cg__realloc((p), (oldsz), (sz))
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

uint8_t *cg__image_decode(const char *path, int want, int *w, int *h, int *comp,
                          const char **reason)
{
    uint8_t *px = stbi_load(path, w, h, comp, want);

    *reason = px ? NULL : stbi_failure_reason();
    return px;
}

bool cg__image_info(const char *path, int *w, int *h, int *comp, const char **reason)
{
    bool ok = stbi_info(path, w, h, comp) != 0;

    *reason = ok ? NULL : stbi_failure_reason();
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
