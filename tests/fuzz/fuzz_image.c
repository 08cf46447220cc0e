/* libFuzzer target: the image-folder path (stb_image decoding through
 * cg_image_folder_load). The input is the one file of a one-class folder,
 * named by the first byte's choice of extension (stb sniffs the format from
 * the bytes; the name only decides that the loader lists the file). It is
 * loaded as is, then as 8 x 8 grayscale (resized), then as RGB without
 * resizing. */
#include "fuzz_util.h"

#include <sys/stat.h>

/* data/internal.h: the decoder's pixel limit, lowered here so that a header
 * claiming 4096 x 4096 does not cost seconds of zero-filling per input. */
extern long long cg__image_max_pixels;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const ext[] = {"png", "jpg", "bmp", "gif", "tga", "pgm", "ppm", "pnm"};
    static const struct cg_image_options opts[3] = {
        {0},
        {.channels = 1, .width = 8, .height = 8},
        {.channels = 3, .no_resize = true, .skip_bad = true},
    };
    char rel[64], root[256];

    if (size < 1)
        return 0;
    cg__image_max_pixels = (long long)1 << 12;  /* 64 x 64 */
    snprintf(root, sizeof root, "%s", fuzz_path("img"));
    mkdir(root, 0700);
    mkdir(fuzz_path("img/c"), 0700);
    for (int e = 0; e < 8; e++) {  /* the one file only */
        snprintf(rel, sizeof rel, "img/c/x.%s", ext[e]);
        unlink(fuzz_path(rel));
    }
    snprintf(rel, sizeof rel, "img/c/x.%s", ext[data[0] % 8]);
    fuzz_write(fuzz_path(rel), data + 1, size - 1, 0);

    for (int k = 0; k < 3; k++) {
        cg_dataset *ds = cg_image_folder_load(root, &opts[k]);
        if (!ds) {
            if (cg_errmsg()[0] == '\0')
                abort();
            continue;
        }
        cg_float *x = malloc(sizeof(cg_float) * (size_t)cg_dataset_features(ds));
        for (size_t i = 0; x && i < cg_dataset_size(ds); i++)
            if (cg_dataset_row(ds, i, x) != CG_OK)
                abort();
        free(x);
        cg_dataset_free(ds);
    }
    return 0;
}
