/* libFuzzer target: a model file as eval, predict and info open it
 * (cli_model_open, cli/model_file.c): the nn layer's load, then the
 * metadata the program reads (spec, classes, task, label, image_size,
 * normalization) checked against the model. Then what predict does with
 * it: a row of the model's input size filled from an image of the stored
 * image_size (the row is exactly as large as predict's, so ASan sees any
 * write past it: the heap overflow of issue 16), normalized, and every
 * class named. The input is the safetensors file. */
#include "fuzz_util.h"

#include "cli/cli.h"
#include "cli/model_file.h"

/* A 3 x 2 gray PGM, written once: predict's image. */
static const char *image_path(void)
{
    static char path[256];
    if (!path[0]) {
        static const uint8_t pgm[] = "P5 3 2 255\n\x10\x20\x30\x40\x50\x60";
        snprintf(path, sizeof path, "%s", fuzz_path("in.pgm"));
        fuzz_write(path, pgm, sizeof pgm - 1, 0);
    }
    return path;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *img = image_path();
    const char *path = fuzz_path("model.safetensors");
    struct cli_model_file mf;

    fuzz_write(path, data, size, 0);
    if (cli_model_open(&mf, path) == CLI_OK) {
        int in = cg_model_input_size(mf.model), out = cg_model_output_size(mf.model);
        cg_float *row = malloc((size_t)in * sizeof *row);
        char buf[32];
        if (!row)
            abort();
        if (mf.width && (long long)mf.width * mf.height * mf.channels != in)
            abort();   /* cli_model_open must have refused it */
        if (mf.width && mf.width * mf.height <= 1 << 12 &&
            cg_image_load_features(img, mf.width, mf.height, mf.channels, row) == CG_OK)
            cg_norm_apply(&mf.norm, row, 1);
        if (mf.norm.n != 0 && mf.norm.n != in)
            abort();
        for (int c = 0; c < out + 1; c++)
            if (!cli_model_class(&mf, c, buf, sizeof buf))
                abort();
        free(row);
    }
    cli_model_close(&mf);
    return 0;
}
