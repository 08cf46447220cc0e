/* Tests of image-folder data sets (data/images.c, data/stb_impl.c,
 * data/jpeg.c). The images are written into a temporary folder with
 * stb_image_write, the JPEGs with libjpeg. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cg_test.h"

#include "cg_stb_write.h"

#include <jpeglib.h>  /* to write JPEG fixtures */

static char root[64];

static const char *at(int k, const char *rel)
{
    return cg_test_path(root, k, rel);
}

/* A w x h image of c channels, every pixel `px`. */
static void write_image(const char *rel, int w, int h, int c, const uint8_t *px, bool bmp)
{
    uint8_t data[64 * 64 * 3];
    for (int i = 0; i < w * h; i++)
        memcpy(data + i * c, px, (size_t)c);
    if (bmp)
        assert_true(stbi_write_bmp(at(7, rel), w, h, c, data));
    else
        assert_true(stbi_write_png(at(7, rel), w, h, c, data, w * c));
}

static void make_dir(const char *rel)
{
    assert_int_equal(mkdir(at(6, rel), 0700), 0);
}

/* pets/cat/a.png 4x4 RGB (200, 100, 50), pets/cat/b.bmp 4x4 RGB (10, 20, 30),
 * pets/dog/c.png 8x8 gray 77, pets/dog/notes.txt and pets/.hidden/ ignored. */
static int setup(void **state)
{
    (void)state;
    if (cg_test_dir_make(root, sizeof root, "cg_img_") != 0)
        return -1;
    make_dir("pets");
    make_dir("pets/cat");
    make_dir("pets/dog");
    make_dir("pets/.hidden");
    write_image("pets/cat/a.png", 4, 4, 3, (uint8_t[]){200, 100, 50}, false);
    write_image("pets/cat/b.bmp", 4, 4, 3, (uint8_t[]){10, 20, 30}, true);
    write_image("pets/dog/c.png", 8, 8, 1, (uint8_t[]){77}, false);
    write_image("pets/.hidden/d.png", 4, 4, 1, (uint8_t[]){1}, false);
    FILE *f = fopen(at(0, "pets/dog/notes.txt"), "w");
    fputs("not an image\n", f);
    fclose(f);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return cg_test_dir_remove(root);
}

static void assert_row_is(const cg_dataset *ds, size_t i, const int *px, int c, double tol)
{
    cg_float x[64 * 64 * 3];
    assert_int_equal(cg_dataset_row(ds, i, x), CG_OK);
    for (int k = 0; k < cg_dataset_features(ds); k++)
        assert_near(x[k], px[k % c], tol);
}

static void test_images_load_rgb_with_resize(void **state)
{
    (void)state;
    int w, h, c;
    cg_dataset *ds = cg_image_folder_load(at(0, "pets"), NULL);
    assert_non_null(ds);
    /* Channels and size of the first image, cat/a.png: 4x4 RGB. */
    assert_true(cg_dataset_image_shape(ds, &w, &h, &c));
    assert_int_equal(w, 4);
    assert_int_equal(h, 4);
    assert_int_equal(c, 3);
    assert_int_equal(cg_dataset_features(ds), 48);
    assert_int_equal(cg_dataset_size(ds), 3);
    assert_int_equal(cg_dataset_classes(ds), 2);
    assert_string_equal(cg_dataset_class_name(ds, 0), "cat");
    assert_string_equal(cg_dataset_class_name(ds, 1), "dog");
    assert_int_equal(cg_dataset_label(ds, 0), 0);
    assert_int_equal(cg_dataset_label(ds, 1), 0);
    assert_int_equal(cg_dataset_label(ds, 2), 1);
    assert_null(cg_dataset_feature_name(ds, 0));
    assert_row_is(ds, 0, (int[]){200, 100, 50}, 3, 0);
    assert_row_is(ds, 1, (int[]){10, 20, 30}, 3, 0);
    /* Gray 77 expanded to RGB and resized 8x8 -> 4x4: still 77 (+-1 rounding). */
    assert_row_is(ds, 2, (int[]){77, 77, 77}, 3, 1);
    cg_dataset_free(ds);
}

static void test_images_grayscale_and_size(void **state)
{
    (void)state;
    struct cg_image_options o = {.channels = 1, .width = 2, .height = 2};
    cg_dataset *ds = cg_image_folder_load(at(0, "pets"), &o);
    assert_non_null(ds);
    assert_int_equal(cg_dataset_features(ds), 4);
    /* stb_image's luma: (77 r + 150 g + 29 b) >> 8.
     * (200, 100, 50): (15400 + 15000 + 1450) / 256 = 124.4 -> 124.
     * (10, 20, 30):   (770 + 3000 + 870) / 256 = 18.1 -> 18. */
    assert_row_is(ds, 0, (int[]){124}, 1, 0);
    assert_row_is(ds, 1, (int[]){18}, 1, 0);
    assert_row_is(ds, 2, (int[]){77}, 1, 1);
    cg_dataset_free(ds);
}

static void test_images_load_features_for_predict(void **state)
{
    (void)state;
    cg_float x[3 * 3 * 3];
    const int rgb[] = {200, 100, 50};
    assert_int_equal(cg_image_load_features(at(0, "pets/cat/a.png"), 3, 3, 3, x), CG_OK);
    for (int k = 0; k < 27; k++)
        assert_near(x[k], rgb[k % 3], 1);
    assert_int_equal(cg_image_load_features(at(0, "pets/cat/b.bmp"), 4, 4, 1, x), CG_OK);
    assert_near(x[15], 18, 0);
    assert_int_equal(cg_image_load_features(at(0, "pets/dog/notes.txt"), 4, 4, 1, x),
                     CG_ERR_FORMAT);
    assert_errmsg_contains("pets/dog/notes.txt: ");
}

/* ---- bad input ---------------------------------------------------------- */

static void expect_fail(const char *rel, const struct cg_image_options *o, cg_status code,
                        const char *msg)
{
    cg_clear_error();
    assert_null(cg_image_folder_load(at(0, rel), o));
    assert_int_equal(cg_errcode(), code);
    assert_errmsg_contains(msg);
}

static void test_images_rejects_other_size_without_resize(void **state)
{
    (void)state;
    struct cg_image_options o = {.no_resize = true};
    expect_fail("pets", &o, CG_ERR_FORMAT, "pets/dog/c.png: 8x8, expected 4x4 (resizing is off)");
}

static void test_images_rejects_missing_root(void **state)
{
    (void)state;
    expect_fail("nowhere", NULL, CG_ERR_IO, "/nowhere: cannot open: No such file");
}

static void test_images_rejects_folder_without_classes(void **state)
{
    (void)state;
    make_dir("bare");
    write_image("bare/loose.png", 2, 2, 1, (uint8_t[]){5}, false);
    expect_fail("bare", NULL, CG_ERR_FORMAT, "/bare: no class folders");
}

static void test_images_rejects_empty_class(void **state)
{
    (void)state;
    make_dir("some");
    make_dir("some/full");
    make_dir("some/void");
    write_image("some/full/x.png", 2, 2, 1, (uint8_t[]){5}, false);
    expect_fail("some", NULL, CG_ERR_FORMAT, "/some/void: no images (looked for .png");
}

static void test_images_rejects_truncated_png(void **state)
{
    (void)state;
    struct stat st;
    make_dir("cut");
    make_dir("cut/k");
    write_image("cut/k/a.png", 16, 16, 3, (uint8_t[]){1, 2, 3}, false);
    /* A noisy image so that its PNG is long enough to cut in half. */
    uint8_t noise[32 * 32 * 3];
    cg_rng rng;
    cg_rng_seed(&rng, 3);
    for (size_t i = 0; i < sizeof noise; i++)
        noise[i] = (uint8_t)cg_rng_u32(&rng);
    const char *cut = at(1, "cut/k/b.png");
    assert_true(stbi_write_png(cut, 32, 32, 3, noise, 96));
    assert_int_equal(stat(cut, &st), 0);
    assert_int_equal(truncate(cut, st.st_size / 2), 0);
    expect_fail("cut", NULL, CG_ERR_FORMAT, "/cut/k/b.png: ");
    assert_errmsg_contains("b.png: Corrupt PNG");      /* stb_image's reason */

    struct cg_image_options o = {.skip_bad = true};
    cg_dataset *ds = cg_image_folder_load(at(0, "cut"), &o);
    assert_non_null(ds);
    assert_int_equal(cg_dataset_size(ds), 1);
    assert_int_equal(cg_dataset_skipped(ds), 1);
    assert_non_null(strstr(cg_dataset_warning(ds), "skipped 1 image files; first: "));
    assert_non_null(strstr(cg_dataset_warning(ds), "cut/k/b.png"));
    cg_dataset_free(ds);
}

/* ---- JPEG (libjpeg-turbo, data/jpeg.c) --------------------------------------- */

static cg_dataset *load_folder(void *rel)
{
    return cg_image_folder_load(at(0, rel), NULL);
}

/* Write px: [h, w, c] (c 1 or 3) as a JPEG with libjpeg (stb_image_write's
 * JPEG writer shifts signed ints past their range: UBSan in make check),
 * with the given scan script (NULL: baseline). The path is at(1, rel). */
static void write_jpeg_scans(const char *rel, int w, int h, int c, const uint8_t *px,
                             int quality, const jpeg_scan_info *scans, int n_scans)
{
    struct jpeg_compress_struct cinfo;
    struct jpeg_error_mgr err;
    FILE *f = fopen(at(1, rel), "wb");

    assert_non_null(f);
    cinfo.err = jpeg_std_error(&err);
    jpeg_create_compress(&cinfo);
    jpeg_stdio_dest(&cinfo, f);
    cinfo.image_width = (JDIMENSION)w;
    cinfo.image_height = (JDIMENSION)h;
    cinfo.input_components = c;
    cinfo.in_color_space = c == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, quality, TRUE);
    if (c == 3)  /* no chroma subsampling: colours stay within a few levels */
        cinfo.comp_info[0].h_samp_factor = cinfo.comp_info[0].v_samp_factor = 1;
    if (scans) {
        cinfo.scan_info = scans;
        cinfo.num_scans = n_scans;
    }
    jpeg_start_compress(&cinfo, TRUE);
    for (int y = 0; y < h; y++) {
        JSAMPROW row = (JSAMPROW)(uintptr_t)(px + (size_t)y * (size_t)w * (size_t)c);
        jpeg_write_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    assert_int_equal(fclose(f), 0);
}

static void write_jpeg(const char *rel, int w, int h, int c, const uint8_t *px, int quality)
{
    write_jpeg_scans(rel, w, h, c, px, quality, NULL, 0);
}

/* A 16 x 16 picture: smooth ramps, so that JPEG at quality 100 keeps every
 * value within a few levels. px: [16, 16, 3]. */
static void ramp(uint8_t *px)
{
    for (int y = 0; y < 16; y++)
        for (int x = 0; x < 16; x++) {
            uint8_t *p = px + (y * 16 + x) * 3;
            p[0] = (uint8_t)(40 + 10 * x);
            p[1] = (uint8_t)(30 + 8 * y);
            p[2] = (uint8_t)(200 - 5 * x - 4 * y);
        }
}

static void assert_pixels_near(const cg_dataset *ds, size_t i, const uint8_t *want, int n,
                               double tol)
{
    cg_float x[16 * 16 * 3];
    assert_int_equal(cg_dataset_row(ds, i, x), CG_OK);
    for (int k = 0; k < n; k++)
        if (fabs((double)x[k] - want[k]) > tol)
            fail_msg("value %d: %g, want %d (+-%g)", k, (double)x[k], want[k], tol);
}

/* An RGB and a greyscale JPEG decode to their pixels; the RGB one as grey
 * gives libjpeg's luma (its Y: 0.299 r + 0.587 g + 0.114 b), the grey one
 * as RGB three equal channels. */
static void test_images_jpeg_decodes(void **state)
{
    (void)state;
    uint8_t rgb[16 * 16 * 3], grey[16 * 16], luma[16 * 16], grey3[16 * 16 * 3];
    ramp(rgb);
    for (int i = 0; i < 16 * 16; i++) {
        const uint8_t *p = rgb + 3 * i;
        grey[i] = (uint8_t)(i % 16 * 12 + 20);
        luma[i] = (uint8_t)(0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2] + 0.5);
        memset(grey3 + 3 * i, grey[i], 3);
    }
    make_dir("jpg");
    make_dir("jpg/a");
    make_dir("jpg/b");
    write_jpeg("jpg/a/rgb.jpg", 16, 16, 3, rgb, 100);
    write_jpeg("jpg/b/grey.JPEG", 16, 16, 1, grey, 100);

    struct cg_image_options as_rgb = {.channels = 3, .no_resize = true};
    cg_dataset *ds = cg_image_folder_load(at(0, "jpg"), &as_rgb);
    assert_non_null(ds);
    assert_int_equal(cg_dataset_size(ds), 2);
    assert_pixels_near(ds, 0, rgb, 16 * 16 * 3, 6);
    assert_pixels_near(ds, 1, grey3, 16 * 16 * 3, 2);
    cg_dataset_free(ds);

    struct cg_image_options as_grey = {.channels = 1, .no_resize = true};
    ds = cg_image_folder_load(at(0, "jpg"), &as_grey);
    assert_non_null(ds);
    assert_pixels_near(ds, 0, luma, 16 * 16, 4);
    assert_pixels_near(ds, 1, grey, 16 * 16, 2);
    cg_dataset_free(ds);

    /* No channel count given: the first image decides (RGB), and the
     * predict path decodes a single file the same way. */
    ds = cg_image_folder_load(at(0, "jpg"), NULL);
    assert_non_null(ds);
    assert_int_equal(cg_dataset_features(ds), 16 * 16 * 3);
    cg_dataset_free(ds);
    cg_float x[16 * 16];
    assert_int_equal(cg_image_load_features(at(0, "jpg/a/rgb.jpg"), 16, 16, 1, x), CG_OK);
    for (int k = 0; k < 16 * 16; k++)
        assert_near(x[k], luma[k], 4);

    /* Our allocations on the JPEG path (the file's bytes, the pixels) fail
     * cleanly, each in turn (libjpeg's own use its malloc). */
    static char jpg[] = "jpg";
    cg_test_walk_dataset_allocations(load_folder, jpg, 1000);
}

/* stb_image 2.27's JPEG decoder could not be guarded (a shift by 32 on
 * corrupt entropy data, fuzz_image's last find): stb is built without it
 * (data/stb_impl.c refuses to compile otherwise) and a JPEG goes to
 * libjpeg-turbo by its content, whatever its name says. So a JPEG named
 * .png decodes, and the input that found the stb bug fails with libjpeg's
 * words, under any name. */
static void test_images_jpeg_never_reaches_stb(void **state)
{
    (void)state;
    uint8_t rgb[16 * 16 * 3];
    ramp(rgb);
    make_dir("named");
    write_jpeg("named/jpeg.png", 16, 16, 3, rgb, 100);
    cg_float x[16 * 16 * 3];
    assert_int_equal(cg_image_load_features(at(0, "named/jpeg.png"), 16, 16, 3, x), CG_OK);
    for (int k = 0; k < 16 * 16 * 3; k++)
        assert_near(x[k], rgb[k], 6);
    FILE *f = fopen("tests/fuzz/corpus/image/crash_jpeg_shift_by_32", "rb");
    assert_non_null(f);
    uint8_t b[4096];
    size_t n = fread(b, 1, sizeof b, f);
    fclose(f);
    static const char *const names[] = {"named/shift.jpg", "named/shift.png", "named/shift.bmp"};
    for (size_t i = 0; i < 3; i++) {
        cg_test_write_file(at(0, names[i]), b + 1, n - 1, false);   /* byte 0: the extension */
        cg_clear_error();
        assert_int_not_equal(cg_image_load_features(at(0, names[i]), 16, 16, 3, x), CG_OK);
        assert_errmsg_contains(names[i]);
        assert_errmsg_contains("JPEG");   /* libjpeg's message, not stb's */
    }
}

/* A JPEG cut short, or with its entropy-coded data damaged, decodes in
 * libjpeg with a warning and grey where data is missing: here it is an
 * error naming the file, as a truncated PNG is. */
static void test_images_rejects_broken_jpeg(void **state)
{
    (void)state;
    uint8_t noise[32 * 32 * 3];
    cg_rng rng;
    struct stat st;
    cg_rng_seed(&rng, 5);
    for (size_t i = 0; i < sizeof noise; i++)
        noise[i] = (uint8_t)cg_rng_u32(&rng);
    make_dir("jcut");
    make_dir("jcut/k");
    write_jpeg("jcut/k/a.jpg", 32, 32, 3, noise, 90);
    const char *cut = at(2, "jcut/k/a.jpg");
    assert_int_equal(stat(cut, &st), 0);
    assert_int_equal(truncate(cut, st.st_size * 2 / 3), 0);
    expect_fail("jcut", NULL, CG_ERR_FORMAT, "/jcut/k/a.jpg: ");
    assert_errmsg_contains(" JPEG ");

    /* The entropy-coded data, past the headers, overwritten with 0x00. */
    make_dir("jbad");
    make_dir("jbad/k");
    write_jpeg("jbad/k/b.jpg", 32, 32, 3, noise, 90);
    const char *bad = at(2, "jbad/k/b.jpg");
    assert_int_equal(stat(bad, &st), 0);
    FILE *f = fopen(bad, "r+b");
    assert_non_null(f);
    assert_int_equal(fseek(f, (long)(st.st_size - 200), SEEK_SET), 0);
    static const uint8_t zeros[150];
    assert_int_equal(fwrite(zeros, 1, sizeof zeros, f), sizeof zeros);
    fclose(f);
    expect_fail("jbad", NULL, CG_ERR_FORMAT, "/jbad/k/b.jpg: Corrupt JPEG");
}

/* A JPEG header may claim up to 65535 x 65535 pixels: refused from the
 * header, before libjpeg allocates anything for the picture, both where
 * the first image's size is read and where a later image is decoded. */
static void test_images_rejects_huge_jpeg(void **state)
{
    (void)state;
    uint8_t px[8 * 8] = {0}, b[4096];
    make_dir("jbig");
    make_dir("jbig/k");
    write_jpeg("jbig/k/a.jpg", 8, 8, 1, px, 90);
    make_dir("jbig2");
    make_dir("jbig2/k");
    write_jpeg("jbig2/k/a.jpg", 8, 8, 1, px, 90);
    write_jpeg("jbig2/k/b.jpg", 8, 8, 1, px, 90);
    FILE *f = fopen(at(2, "jbig2/k/b.jpg"), "rb");
    assert_non_null(f);
    size_t n = fread(b, 1, sizeof b, f);
    fclose(f);
    size_t sof = 0;
    for (size_t i = 2; i + 9 < n && !sof; i++)
        if (b[i] == 0xFF && b[i + 1] == 0xC0)
            sof = i;
    assert_true(sof > 0);
    b[sof + 5] = b[sof + 7] = 0xFF;  /* height, width: 0xFF08 = 65288 */
    for (int k = 0; k < 2; k++) {
        f = fopen(at(1, k == 0 ? "jbig/k/a.jpg" : "jbig2/k/b.jpg"), "wb");
        assert_non_null(f);
        assert_int_equal(fwrite(b, 1, n, f), n);
        fclose(f);
    }
    expect_fail("jbig", NULL, CG_ERR_FORMAT, "a.jpg: image of 65288 x 65288 pixels is too large");
    expect_fail("jbig2", NULL, CG_ERR_FORMAT, "b.jpg: image of 65288 x 65288 pixels is too large");
}

/* A valid progressive JPEG of 704 scans, written by libjpeg itself with a
 * scan script (an 8 x 8 grey picture: the DC coefficient and each of the 63
 * AC coefficients sent at 10 bits and refined bit by bit): refused at 500
 * scans, the limit libjpeg-turbo's own tools use. */
static void test_images_rejects_jpeg_of_too_many_scans(void **state)
{
    (void)state;
    static jpeg_scan_info scans[11 + 63 * 11];
    uint8_t px[8 * 8];
    int n = 0;

    for (int al = 10; al >= 0; al--)  /* DC: first at Al = 10, then refinements */
        scans[n++] = (jpeg_scan_info){1, {0}, 0, 0, al == 10 ? 0 : al + 1, al};
    for (int k = 1; k <= 63; k++)
        for (int al = 10; al >= 0; al--)
            scans[n++] = (jpeg_scan_info){1, {0}, k, k, al == 10 ? 0 : al + 1, al};
    assert_int_equal(n, 704);
    for (int i = 0; i < 64; i++)
        px[i] = (uint8_t)(i * 4);
    make_dir("jscan");
    make_dir("jscan/k");
    write_jpeg_scans("jscan/k/a.jpg", 8, 8, 1, px, 90, scans, n);
    expect_fail("jscan", NULL, CG_ERR_FORMAT, "a.jpg: progressive JPEG of more than 500 scans");
}

static void test_images_rejects_bad_options(void **state)
{
    (void)state;
    struct cg_image_options o = {.channels = 2};
    expect_fail("pets", &o, CG_ERR_ARG, "channels must be 1 (grayscale) or 3 (RGB), not 2");
    struct cg_image_options half = {.width = 4};
    expect_fail("pets", &half, CG_ERR_ARG, "bad image size 4x0");
}

static cg_dataset *load_pets(void *ctx)
{
    (void)ctx;
    return cg_image_folder_load(at(0, "pets"), NULL);
}

/* stb_image's allocations go through the hook too: each failure is clean. */
static void test_images_every_allocation_failure_is_clean(void **state)
{
    (void)state;
    cg_test_walk_dataset_allocations(load_pets, NULL, 1000);
}

/* ---- listing (cg_image_files) ------------------------------------------------- */

static void test_image_files_lists_every_image_sorted(void **state)
{
    (void)state;
    static const char *const want[] = {"tree/a/10.PNG", "tree/a/2.png", "tree/a/deep/z.bmp",
                                       "tree/b.png"};
    char **paths;
    size_t n;
    make_dir("tree");
    make_dir("tree/a");
    make_dir("tree/a/deep");
    make_dir("tree/.hidden");
    write_image("tree/b.png", 2, 2, 1, (uint8_t[]){9}, false);
    write_image("tree/a/2.png", 2, 2, 1, (uint8_t[]){9}, false);
    write_image("tree/a/10.PNG", 2, 2, 1, (uint8_t[]){9}, false);
    write_image("tree/a/deep/z.bmp", 2, 2, 1, (uint8_t[]){9}, true);
    write_image("tree/.hidden/x.png", 2, 2, 1, (uint8_t[]){9}, false);
    FILE *f = fopen(at(0, "tree/notes.txt"), "w");
    assert_non_null(f);
    fclose(f);

    assert_int_equal(cg_image_files(at(1, "tree//"), &paths, &n), CG_OK);
    assert_int_equal(n, 4);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(paths[i], at(0, want[i]));
    cg_image_files_free(paths, n);
    assert_true(cg_image_is_file_name("x/Y.JpEg"));
    /* one file that is not there, as predict may be given */
    cg_float px[4];
    assert_int_equal(cg_image_load_features(at(0, "tree/none.png"), 2, 2, 1, px), CG_ERR_IO);
    assert_errmsg_contains("tree/none.png: cannot open: No such file or directory");
    assert_false(cg_image_is_file_name("x.png/notes"));

    /* a folder without images is no error; a missing one is */
    assert_int_equal(cg_image_files(at(0, "tree/a/deep/.."), &paths, &n), CG_OK);
    assert_int_equal(n, 3);
    cg_image_files_free(paths, n);
    assert_int_equal(cg_image_files(at(0, "tree/none"), &paths, &n), CG_ERR_IO);
    assert_errmsg_contains("tree/none: cannot open");
    assert_null(paths);
}

static void test_image_files_refuses_a_link_loop(void **state)
{
    (void)state;
    char **paths;
    size_t n;
    make_dir("loop");
    write_image("loop/x.png", 2, 2, 1, (uint8_t[]){9}, false);
    assert_int_equal(symlink(".", at(0, "loop/self")), 0);
    assert_int_equal(cg_image_files(at(1, "loop"), &paths, &n), CG_ERR_FORMAT);
    assert_errmsg_contains("loop/self: a folder inside itself");
}

static void test_image_files_out_of_memory_is_clean(void **state)
{
    (void)state;
    char **paths = NULL;
    size_t n = 0;
    long tries = 0;
    write_image("pets/cat/e.png", 2, 2, 1, (uint8_t[]){9}, false);   /* a few files */
    for (;; tries++) {
        cg_test_alloc_install(tries, CG_TEST_ALLOC_ONCE | CG_TEST_ALLOC_NO_REALLOC);
        cg_status st = cg_image_files(at(0, "pets"), &paths, &n);
        cg_test_alloc_remove();
        if (st == CG_OK)
            break;
        assert_int_equal(st, CG_ERR_NOMEM);
        assert_int_equal(cg_test_alloc.live, 0);
        assert_true(tries < 1000);
    }
    assert_int_equal(n, 4);
    cg_test_alloc_resume();
    cg_image_files_free(paths, n);
    cg_test_alloc_remove();
    assert_int_equal(cg_test_alloc.live, 0);
    assert_int_equal(unlink(at(0, "pets/cat/e.png")), 0);
    assert_true(tries > 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_images_load_rgb_with_resize),
        cmocka_unit_test(test_images_grayscale_and_size),
        cmocka_unit_test(test_images_load_features_for_predict),
        cmocka_unit_test(test_images_rejects_other_size_without_resize),
        cmocka_unit_test(test_images_rejects_missing_root),
        cmocka_unit_test(test_images_rejects_folder_without_classes),
        cmocka_unit_test(test_images_rejects_empty_class),
        cmocka_unit_test(test_images_rejects_truncated_png),
        cmocka_unit_test(test_images_jpeg_decodes),
        cmocka_unit_test(test_images_jpeg_never_reaches_stb),
        cmocka_unit_test(test_images_rejects_broken_jpeg),
        cmocka_unit_test(test_images_rejects_huge_jpeg),
        cmocka_unit_test(test_images_rejects_jpeg_of_too_many_scans),
        cmocka_unit_test(test_images_rejects_bad_options),
        cmocka_unit_test(test_images_every_allocation_failure_is_clean),
        cmocka_unit_test(test_image_files_lists_every_image_sorted),
        cmocka_unit_test(test_image_files_refuses_a_link_loop),
        cmocka_unit_test(test_image_files_out_of_memory_is_clean),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
