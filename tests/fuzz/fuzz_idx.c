/* libFuzzer target: the IDX reader (cg_idx_load), plain and gzip.
 *
 * Input layout: byte 0 flags (bit 0: gzip the images, bit 1: gzip the
 * labels), bytes 1-2 the labels file's length L (little-endian, clamped),
 * then L bytes of labels file and the rest the images file. */
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    int flags = data[0];
    size_t l = (size_t)data[1] | (size_t)data[2] << 8;
    data += 3;
    size -= 3;
    if (l > size)
        l = size;
    const char *lab = fuzz_path("labels"), *img = fuzz_path("images");
    fuzz_write(lab, data, l, flags & 2);
    fuzz_write(img, data + l, size - l, flags & 1);

    cg_dataset *ds = cg_idx_load(img, lab);
    if (!ds) {
        if (cg_errmsg()[0] == '\0')
            abort();
        return 0;
    }
    int w, h, c;
    if (!cg_dataset_image_shape(ds, &w, &h, &c) || (size_t)w * (size_t)h * (size_t)c !=
                                                      (size_t)cg_dataset_features(ds))
        abort();
    cg_float *x = malloc(sizeof(cg_float) * (size_t)cg_dataset_features(ds));
    for (size_t i = 0; x && i < cg_dataset_size(ds); i++) {
        if (cg_dataset_row(ds, i, x) != CG_OK)
            abort();
        int y = cg_dataset_label(ds, i);
        if (y < 0 || y >= cg_dataset_classes(ds))
            abort();
    }
    free(x);
    cg_dataset_free(ds);
    return 0;
}
