/* Tests of IDX data sets (data/idx.c). The files are written by the tests
 * into a temporary folder, plain and gzipped. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <zlib.h>

#include "cg_test.h"

static char dir[64];

/* 3 images of 2 rows x 3 columns, pixel k of image i = 10 * i + k. */
static const uint8_t pixels[18] = {0, 1, 2, 3, 4, 5, 10, 11, 12, 13, 14, 15,
                                   20, 21, 22, 23, 24, 25};
static const uint8_t labels3[3] = {0, 2, 1};

/* Write an IDX file: the magic (type 0x08, ndim), dims, then n data bytes. */
static void write_idx(const char *path, bool gz, uint8_t type, int ndim, const uint32_t *dims,
                      const uint8_t *data, size_t n)
{
    uint8_t head[4 + 4 * 4] = {0, 0, type, (uint8_t)ndim};
    for (int d = 0; d < ndim; d++) {
        head[4 + 4 * d] = (uint8_t)(dims[d] >> 24);
        head[5 + 4 * d] = (uint8_t)(dims[d] >> 16);
        head[6 + 4 * d] = (uint8_t)(dims[d] >> 8);
        head[7 + 4 * d] = (uint8_t)dims[d];
    }
    if (gz) {
        gzFile f = gzopen(path, "wb");
        assert_non_null(f);
        assert_int_equal(gzwrite(f, head, 4 + 4 * (unsigned)ndim), 4 + 4 * ndim);
        if (n)
            assert_int_equal(gzwrite(f, data, (unsigned)n), (int)n);
        gzclose(f);
    } else {
        FILE *f = fopen(path, "wb");
        assert_non_null(f);
        fwrite(head, 1, 4 + 4 * (size_t)ndim, f);
        fwrite(data, 1, n, f);
        fclose(f);
    }
}

static const char *tmp(int k, const char *name)
{
    return cg_test_path(dir, k, name);
}

static void write_pair(const char *stem, bool gz)
{
    char img[128], lab[128];
    snprintf(img, sizeof img, "%s-images-idx3-ubyte%s", stem, gz ? ".gz" : "");
    snprintf(lab, sizeof lab, "%s-labels-idx1-ubyte%s", stem, gz ? ".gz" : "");
    write_idx(tmp(0, img), gz, 8, 3, (uint32_t[]){3, 2, 3}, pixels, 18);
    write_idx(tmp(1, lab), gz, 8, 1, (uint32_t[]){3}, labels3, 3);
}

static int setup(void **state)
{
    (void)state;
    return cg_test_dir_make(dir, sizeof dir, "cg_idx_");
}

static int teardown(void **state)
{
    (void)state;
    return cg_test_dir_remove(dir);
}

static void check_set(const cg_dataset *ds)
{
    int w, h, c;
    cg_float x[6];
    assert_non_null(ds);
    assert_int_equal(cg_dataset_size(ds), 3);
    assert_int_equal(cg_dataset_features(ds), 6);
    assert_true(cg_dataset_image_shape(ds, &w, &h, &c));
    assert_int_equal(w, 3);
    assert_int_equal(h, 2);
    assert_int_equal(c, 1);
    assert_int_equal(cg_dataset_classes(ds), 3);       /* labels 0..2 */
    assert_string_equal(cg_dataset_class_name(ds, 2), "2");
    assert_int_equal(cg_dataset_label(ds, 1), 2);
    assert_int_equal(cg_dataset_row(ds, 2, x), CG_OK);
    for (int k = 0; k < 6; k++)
        assert_near(x[k], 20 + k, 0);
}

static void test_idx_plain(void **state)
{
    (void)state;
    write_pair("plain", false);
    cg_dataset *ds = cg_idx_load(tmp(0, "plain-images-idx3-ubyte"),
                                 tmp(1, "plain-labels-idx1-ubyte"));
    check_set(ds);
    cg_dataset_free(ds);
}

static void test_idx_gzip(void **state)
{
    (void)state;
    write_pair("gz", true);
    cg_dataset *ds = cg_idx_load(tmp(0, "gz-images-idx3-ubyte.gz"),
                                 tmp(1, "gz-labels-idx1-ubyte.gz"));
    check_set(ds);
    cg_dataset_free(ds);
}

static void test_idx_load_dir(void **state)
{
    (void)state;
    cg_dataset *train, *test;
    char sub[128];
    snprintf(sub, sizeof sub, "%s/mnist", dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    strcat(dir, "/mnist");
    write_pair("train", false);
    write_pair("t10k", true);
    dir[strlen(dir) - 6] = '\0';
    assert_int_equal(cg_idx_load_dir(sub, &train, &test), CG_OK);
    check_set(train);
    check_set(test);
    cg_dataset_free(train);
    cg_dataset_free(test);
}

/* docs/CLI.md says the t10k pair is used "if present": a folder without
 * one loads (it was refused); half a pair is still an error naming it. */
static void test_idx_dir_without_test_pair(void **state)
{
    (void)state;
    cg_dataset *train = (cg_dataset *)1, *test = (cg_dataset *)1;
    char sub[128];
    snprintf(sub, sizeof sub, "%s/half", dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    strcat(dir, "/half");
    write_pair("train", true);
    dir[strlen(dir) - 5] = '\0';
    assert_int_equal(cg_idx_load_dir(sub, &train, &test), CG_OK);
    check_set(train);
    assert_null(test);
    cg_dataset_free(train);
    strcat(dir, "/half");
    write_idx(tmp(0, "t10k-labels-idx1-ubyte"), false, 8, 1, (uint32_t[]){3}, labels3, 3);
    dir[strlen(dir) - 5] = '\0';
    assert_int_equal(cg_idx_load_dir(sub, &train, &test), CG_ERR_IO);
    assert_null(train);
    assert_null(test);
    assert_errmsg_contains("/half: no t10k-images-idx3-ubyte or t10k-images-idx3-ubyte.gz");
}

/* A t10k pair that does not fit the training pair is refused at load time,
 * naming the t10k file (it was found at the first validation, as "the norm
 * has 6 features, the data set 4" or "labels[0] is 9"). */
static void test_idx_dir_test_pair_must_match(void **state)
{
    (void)state;
    cg_dataset *train = (cg_dataset *)1, *test = (cg_dataset *)1;
    char sub[128];
    snprintf(sub, sizeof sub, "%s/odd", dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    strcat(dir, "/odd");
    write_pair("train", false);
    write_idx(tmp(0, "t10k-images-idx3-ubyte"), false, 8, 3, (uint32_t[]){2, 2, 2}, pixels, 8);
    write_idx(tmp(1, "t10k-labels-idx1-ubyte"), false, 8, 1, (uint32_t[]){2}, labels3, 2);
    dir[strlen(dir) - 4] = '\0';
    assert_int_equal(cg_idx_load_dir(sub, &train, &test), CG_ERR_FORMAT);
    assert_null(train);
    assert_null(test);
    assert_errmsg_contains("/odd/t10k-images-idx3-ubyte: images of 2 x 2 pixels, the training "
                           "images are 3 x 2");
    strcat(dir, "/odd");
    write_idx(tmp(0, "t10k-images-idx3-ubyte"), false, 8, 3, (uint32_t[]){1, 2, 3}, pixels, 6);
    write_idx(tmp(1, "t10k-labels-idx1-ubyte"), false, 8, 1, (uint32_t[]){1}, (uint8_t[]){9}, 1);
    dir[strlen(dir) - 4] = '\0';
    assert_int_equal(cg_idx_load_dir(sub, &train, &test), CG_ERR_FORMAT);
    assert_errmsg_contains("/odd/t10k-labels-idx1-ubyte: label 0 is 9, the training labels are "
                           "classes 0..");
}

/* ---- bad input ---------------------------------------------------------- */

static void expect_fail(const char *images, const char *labels, cg_status code, const char *msg)
{
    cg_clear_error();
    assert_null(cg_idx_load(images, labels));
    assert_int_equal(cg_errcode(), code);
    assert_errmsg_contains(msg);
}

static void test_idx_rejects_missing_file(void **state)
{
    (void)state;
    write_pair("m", false);
    expect_fail(tmp(2, "nope-idx3-ubyte"), tmp(1, "m-labels-idx1-ubyte"), CG_ERR_IO,
                "nope-idx3-ubyte: cannot open: No such file");
}

static void test_idx_rejects_empty_file(void **state)
{
    (void)state;
    write_pair("e", false);
    fclose(fopen(tmp(2, "empty"), "wb"));
    expect_fail(tmp(2, "empty"), tmp(1, "e-labels-idx1-ubyte"), CG_ERR_FORMAT,
                "/empty: empty file");
}

static void test_idx_rejects_bad_magic(void **state)
{
    (void)state;
    write_pair("bm", false);
    /* Type 0x0D (float) is IDX but not bytes. */
    write_idx(tmp(2, "float-idx3"), false, 0x0D, 3, (uint32_t[]){3, 2, 3}, pixels, 18);
    expect_fail(tmp(2, "float-idx3"), tmp(1, "bm-labels-idx1-ubyte"), CG_ERR_FORMAT,
                "float-idx3: bad magic 0x00000d03 (expected 0x00000803");
    /* A label file given as the images. */
    expect_fail(tmp(1, "bm-labels-idx1-ubyte"), tmp(1, "bm-labels-idx1-ubyte"),
                CG_ERR_FORMAT, "bad magic 0x00000801 (expected 0x00000803");
}

static void test_idx_rejects_size_mismatch(void **state)
{
    (void)state;
    write_pair("sm", false);
    /* The header says 4 images of 2 x 3 = 24 bytes; 18 follow. */
    write_idx(tmp(2, "short-idx3"), false, 8, 3, (uint32_t[]){4, 2, 3}, pixels, 18);
    expect_fail(tmp(2, "short-idx3"), tmp(1, "sm-labels-idx1-ubyte"), CG_ERR_FORMAT,
                "short-idx3: the header says 24 bytes of data, the file holds 18");
}

static void test_idx_rejects_huge_claim_before_allocating(void **state)
{
    (void)state;
    write_pair("h", false);
    /* 4e9 images of 28 x 28 = 3136000000000 bytes, claimed by a tiny file. */
    write_idx(tmp(2, "huge-idx3"), false, 8, 3, (uint32_t[]){4000000000u, 28, 28}, pixels, 18);
    expect_fail(tmp(2, "huge-idx3"), tmp(1, "h-labels-idx1-ubyte"), CG_ERR_FORMAT,
                "huge-idx3: the header says 3136000000000 bytes of data, the file holds 18");
    write_idx(tmp(2, "huge-idx3.gz"), true, 8, 3, (uint32_t[]){4000000000u, 28, 28},
              pixels, 18);
    expect_fail(tmp(2, "huge-idx3.gz"), tmp(1, "h-labels-idx1-ubyte"), CG_ERR_FORMAT,
                "huge-idx3.gz: the header says 3136000000000 bytes of data, more than a "
                "gzip file of");
}

static void test_idx_rejects_gzip_shorter_than_header(void **state)
{
    (void)state;
    uint8_t zeros[100] = {0};
    write_idx(tmp(1, "gs-labels.gz"), true, 8, 1, (uint32_t[]){100}, zeros, 100);
    write_idx(tmp(2, "few-idx3.gz"), true, 8, 3, (uint32_t[]){100, 2, 3}, pixels, 18);
    expect_fail(tmp(2, "few-idx3.gz"), tmp(1, "gs-labels.gz"), CG_ERR_FORMAT,
                "few-idx3.gz: truncated: the header says 600 bytes of data, got 18");
}

static void test_idx_rejects_truncated_gzip(void **state)
{
    (void)state;
    uint8_t big[4000], zeros[1000] = {0};
    write_idx(tmp(1, "tg-labels.gz"), true, 8, 1, (uint32_t[]){1000}, zeros, 1000);
    /* Incompressible bytes, so that cutting the file cuts the data. */
    cg_rng rng;
    cg_rng_seed(&rng, 1);
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (uint8_t)cg_rng_u32(&rng);
    write_idx(tmp(2, "cut-idx3.gz"), true, 8, 3, (uint32_t[]){1000, 2, 2}, big, 4000);
    assert_int_equal(truncate(tmp(2, "cut-idx3.gz"), 2000), 0);
    expect_fail(tmp(2, "cut-idx3.gz"), tmp(1, "tg-labels.gz"), CG_ERR_FORMAT,
                "cut-idx3.gz: truncated: the header says 4000 bytes of data, got");
    assert_errmsg_contains("unexpected end of file");
}

static void test_idx_rejects_label_count_mismatch(void **state)
{
    (void)state;
    write_pair("lc", false);
    write_idx(tmp(2, "two-labels"), false, 8, 1, (uint32_t[]){2}, labels3, 2);
    expect_fail(tmp(0, "lc-images-idx3-ubyte"), tmp(2, "two-labels"), CG_ERR_FORMAT,
                "two-labels: 2 labels for the 3 images of");
}

static cg_dataset *load_oom_pair(void *ctx)
{
    (void)ctx;
    return cg_idx_load(tmp(0, "oom-images-idx3-ubyte.gz"), tmp(1, "oom-labels-idx1-ubyte.gz"));
}

static void test_idx_every_allocation_failure_is_clean(void **state)
{
    (void)state;
    write_pair("oom", true);
    cg_test_walk_dataset_allocations(load_oom_pair, NULL, 100);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_idx_plain),
        cmocka_unit_test(test_idx_gzip),
        cmocka_unit_test(test_idx_load_dir),
        cmocka_unit_test(test_idx_dir_without_test_pair),
        cmocka_unit_test(test_idx_dir_test_pair_must_match),
        cmocka_unit_test(test_idx_rejects_missing_file),
        cmocka_unit_test(test_idx_rejects_empty_file),
        cmocka_unit_test(test_idx_rejects_bad_magic),
        cmocka_unit_test(test_idx_rejects_size_mismatch),
        cmocka_unit_test(test_idx_rejects_huge_claim_before_allocating),
        cmocka_unit_test(test_idx_rejects_gzip_shorter_than_header),
        cmocka_unit_test(test_idx_rejects_truncated_gzip),
        cmocka_unit_test(test_idx_rejects_label_count_mismatch),
        cmocka_unit_test(test_idx_every_allocation_failure_is_clean),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
