/* Hostile sizes: files whose headers claim sizes near 2^31, 2^32 and 2^63
 * (IDX dimensions, safetensors header lengths, shapes and data offsets,
 * image dimensions, model specs in metadata, CSV label indexes). Every
 * loader must fail with a clean error that names the file, without asking
 * for a large block first: the test allocator refuses, and records, any
 * request above 64 MB. The files themselves are tiny. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "cg_test.h"

#define BIG ((size_t)64 << 20)

static size_t largest;    /* the largest request seen */
static long   live;       /* blocks not yet freed */

static void *w_malloc(size_t n, void *ctx)
{
    (void)ctx;
    largest = n > largest ? n : largest;
    if (n > BIG)
        return NULL;
    void *p = malloc(n);
    live += p != NULL;
    return p;
}

static void *w_realloc(void *p, size_t n, void *ctx)
{
    (void)ctx;
    largest = n > largest ? n : largest;
    if (n > BIG)
        return NULL;
    void *q = realloc(p, n);
    live += q && !p;
    return q;
}

static void w_free(void *p, void *ctx)
{
    (void)ctx;
    live -= p != NULL;
    free(p);
}

static const struct cg_allocator watch = {w_malloc, w_realloc, w_free, NULL};

static void watch_on(void)
{
    largest = 0;
    live = 0;
    cg_clear_error();
    cg_set_allocator(&watch);
}

/* Uninstall; no large request was made and nothing is left allocated. */
#define watch_off()                                                                    \
    do {                                                                               \
        cg_set_allocator(NULL);                                                        \
        if (largest > BIG)                                                             \
            fail_msg("an allocation of %zu bytes was attempted (%s)", largest,         \
                     cg_errmsg());                                                     \
        assert_int_equal(live, 0);                                                     \
    } while (0)

static char dir[64];
static const char *at(int k, const char *rel)
{
    return cg_test_path(dir, k, rel);
}

static int setup(void **state)
{
    (void)state;
    return cg_test_dir_make(dir, sizeof dir, "cg_limits_");
}

static int teardown(void **state)
{
    (void)state;
    return cg_test_dir_remove(dir);
}

static void put_be32(uint8_t *b, uint32_t v)
{
    b[0] = (uint8_t)(v >> 24);
    b[1] = (uint8_t)(v >> 16);
    b[2] = (uint8_t)(v >> 8);
    b[3] = (uint8_t)v;
}

/* ---- IDX ------------------------------------------------------------------ */

/* An images file claiming n x h x w (with 64 bytes of data) and a labels
 * file claiming nl labels (with 16 bytes); loading must fail cleanly. */
static void idx_claims(uint32_t n, uint32_t h, uint32_t w, uint32_t nl, bool gz)
{
    uint8_t img[16 + 64] = {0, 0, 8, 3}, lab[8 + 16] = {0, 0, 8, 1};
    put_be32(img + 4, n);
    put_be32(img + 8, h);
    put_be32(img + 12, w);
    put_be32(lab + 4, nl);
    cg_test_write_file(at(0, "img"), img, sizeof img, gz);
    cg_test_write_file(at(1, "lab"), lab, sizeof lab, gz);
    watch_on();
    cg_dataset *ds = cg_idx_load(at(0, "img"), at(1, "lab"));
    watch_off();
    if (ds)
        fail_msg("IDX claiming %u x %u x %u (%s) loaded", n, h, w, gz ? "gzip" : "plain");
    assert_int_equal(cg_errcode(), CG_ERR_FORMAT);
    assert_errmsg_contains(dir);
}

static void test_idx_hostile_sizes(void **state)
{
    (void)state;
    for (int gz = 0; gz < 2; gz++) {
        /* 2^31 images of 2^16 x 2^16: 2^63 bytes, fits size_t */
        idx_claims(1u << 31, 1u << 16, 1u << 16, 1u << 31, gz);
        /* 2^32 - 1 cubed overflows size_t */
        idx_claims(UINT32_MAX, UINT32_MAX, UINT32_MAX, UINT32_MAX, gz);
        /* one image of 2^16 x 2^16 = 2^32 pixels: more than an int of features */
        idx_claims(1, 1u << 16, 1u << 16, 1, gz);
        /* 2^31 - 1 images of 1 x 1, and 2^31 labels */
        idx_claims((1u << 31) - 1, 1, 1, (1u << 31) - 1, gz);
        idx_claims(1u << 31, 1, 1, 1u << 31, gz);
        /* labels claiming 2^32 - 1 with the right image count */
        idx_claims(4, 4, 4, UINT32_MAX, gz);
    }
}

/* ---- safetensors ------------------------------------------------------------ */

static void st_file(const char *name, uint64_t hlen, const char *json, size_t data)
{
    uint8_t buf[1024] = {0};
    size_t n = strlen(json);
    assert_true(8 + n + data <= sizeof buf);
    for (int i = 0; i < 8; i++)
        buf[i] = (uint8_t)(hlen >> (8 * i));
    memcpy(buf + 8, json, n);
    cg_test_write_file(at(0, name), buf, 8 + n + data, false);
}

static void st_expect_fail(const char *name)
{
    watch_on();
    cg_safetensors *st = cg_safetensors_load(at(0, name));
    watch_off();
    if (st)
        fail_msg("%s loaded", name);
    assert_int_equal(cg_errcode(), CG_ERR_FORMAT);
    assert_errmsg_contains(name);
    watch_on();
    cg_model *m = cg_model_load(at(0, name), NULL);
    watch_off();
    assert_null(m);
    assert_errmsg_contains(name);
}

static void test_safetensors_hostile_sizes(void **state)
{
    (void)state;
    const char *ok = "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
    uint64_t lens[] = {(uint64_t)1 << 31, ((uint64_t)1 << 31) - 1, (uint64_t)1 << 32,
                       ((uint64_t)1 << 32) + 1, (uint64_t)1 << 63, UINT64_MAX,
                       UINT64_MAX - 7};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        st_file("hlen.safetensors", lens[i], ok, 8);
        st_expect_fail("hlen.safetensors");
    }
    static const char *const bad[] = {
        /* shapes whose product overflows or is huge */
        "{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,8]}}",
        "{\"w\":{\"dtype\":\"F32\",\"shape\":[2147483648],\"data_offsets\":[0,8]}}",
        "{\"w\":{\"dtype\":\"F32\",\"shape\":[9223372036854775808],\"data_offsets\":[0,8]}}",
        "{\"w\":{\"dtype\":\"F64\",\"shape\":[65536,65536,65536,65536],\"data_offsets\":[0,8]}}",
        "{\"w\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}",
        /* data offsets near 2^64, 2^63, 2^32 */
        "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[18446744073709551608,"
        "18446744073709551615]}}",
        "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[18446744073709551615,7]}}",
        "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[9223372036854775808,"
        "9223372036854775816]}}",
        "{\"w\":{\"dtype\":\"F32\",\"shape\":[1073741824],\"data_offsets\":[0,4294967296]}}",
        "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,18446744073709551616]}}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        st_file("bad.safetensors", strlen(bad[i]), bad[i], 8);
        st_expect_fail("bad.safetensors");
    }
}

/* A valid-looking model file whose metadata spec asks for a model of
 * 2^24 x 2^24 weights (2^48 parameters). */
static void test_model_spec_hostile_sizes(void **state)
{
    (void)state;
    static const char *const specs[] = {"16777216-16777216", "2147483648-2",
                                        "4294967297-3", "2-9223372036854775808",
                                        "65536-65536-65536"};
    char json[512];
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++) {
        snprintf(json, sizeof json,
                 "{\"__metadata__\":{\"format\":\"cgrad\",\"spec\":\"%s\"},"
                 "\"0.weight\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}",
                 specs[i]);
        st_file("spec.safetensors", strlen(json), json, 8);
        watch_on();
        cg_model *m = cg_model_load(at(0, "spec.safetensors"), NULL);
        watch_off();
        if (m)
            fail_msg("model of spec %s loaded", specs[i]);
        assert_errmsg_contains("spec.safetensors");
    }
}

/* ---- images ------------------------------------------------------------------ */

static void put_le32(uint8_t *b, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        b[i] = (uint8_t)(v >> (8 * i));
}

/* A folder img/c/ holding the one file `name` of n bytes; loading fails. */
static void image_expect_fail(const char *name, const uint8_t *p, size_t n)
{
    char rel[128], cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s/img' && mkdir -p '%s/img/c'", dir, dir);
    assert_int_equal(system(cmd), 0);
    snprintf(rel, sizeof rel, "img/c/%s", name);
    cg_test_write_file(at(0, rel), p, n, false);
    watch_on();
    cg_dataset *ds = cg_image_folder_load(at(1, "img"), NULL);
    if (live)
        print_error("%s: %ld blocks left (%s)\n", name, live, cg_errmsg());
    watch_off();
    if (ds)
        fail_msg("%s loaded", name);
    if (cg_errcode() != CG_ERR_FORMAT)
        fail_msg("%s: %s", name, cg_errmsg());
    assert_errmsg_contains(name);
}

static void test_image_hostile_sizes(void **state)
{
    (void)state;
    uint8_t b[256];
    int32_t dims[][2] = {{30000, 30000}, {65536, 65536}, {INT32_MAX, 1}, {1 << 24, 2},
                         {INT32_MAX, INT32_MAX}, {-5, 4}};
    for (size_t i = 0; i < sizeof dims / sizeof dims[0]; i++) {
        /* BMP: BITMAPINFOHEADER, 24 bits, claiming w x h, 16 bytes of pixels */
        memset(b, 0, sizeof b);
        memcpy(b, "BM", 2);
        put_le32(b + 2, 54 + 16);
        put_le32(b + 10, 54);
        put_le32(b + 14, 40);
        put_le32(b + 18, (uint32_t)dims[i][0]);
        put_le32(b + 22, (uint32_t)dims[i][1]);
        b[26] = 1;
        b[28] = 24;
        image_expect_fail("big.bmp", b, 54 + 16);
        /* PPM: "P6 w h 255" and 12 bytes */
        int n = snprintf((char *)b, sizeof b, "P6\n%d %d\n255\n", dims[i][0], dims[i][1]);
        memset(b + n, 7, 12);
        image_expect_fail("big.ppm", b, (size_t)n + 12);
    }
    /* TGA: uncompressed true-color, 16-bit sizes up to 65535 x 65535 */
    int tga[][2] = {{65535, 65535}, {30000, 30000}, {4097, 4097}};
    for (size_t i = 0; i < 3; i++) {
        memset(b, 0, sizeof b);
        b[2] = 2;
        b[12] = (uint8_t)tga[i][0];
        b[13] = (uint8_t)(tga[i][0] >> 8);
        b[14] = (uint8_t)tga[i][1];
        b[15] = (uint8_t)(tga[i][1] >> 8);
        b[16] = 24;
        image_expect_fail("big.tga", b, 18 + 16);
    }
    /* PPM dimensions near 2^32 and 2^63 (integer overflow in the header) */
    static const char *const ppm[] = {"P6\n4294967296 2\n255\n", "P6\n2 9223372036854775808\n255\n",
                                      "P6\n2147483648 1\n255\n", "P6\n2:255\n"};
    for (size_t i = 0; i < sizeof ppm / sizeof ppm[0]; i++) {
        size_t n = strlen(ppm[i]);
        memcpy(b, ppm[i], n);
        memset(b + n, 9, 16);
        image_expect_fail("edge.ppm", b, n + 16);
    }
    /* PNG IHDR claiming 2^31 - 1 x 2^31 - 1 and 2^16 x 2^16 (no IDAT) */
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    uint32_t pd[][2] = {{0x7fffffffu, 0x7fffffffu}, {65536, 65536}, {1, 0x80000000u}};
    for (size_t i = 0; i < 3; i++) {
        memcpy(b, sig, 8);
        put_be32(b + 8, 13);
        memcpy(b + 12, "IHDR", 4);
        put_be32(b + 16, pd[i][0]);
        put_be32(b + 20, pd[i][1]);
        b[24] = 8;
        b[25] = 2;
        b[26] = b[27] = b[28] = 0;
        put_be32(b + 29, (uint32_t)crc32(0, b + 12, 17));
        image_expect_fail("big.png", b, 33);
    }
}

/* Inputs that crashed fuzz_image (tests/fuzz/corpus/image/crash_*; the first
 * byte chose the extension): a PPM of 2 x 0 pixels (stb accepts 0 rows, the
 * resize divided by 0), a 16-bit PGM that stb 2.27 converts with its
 * 8-bit converter, reading past its buffer, and a JPEG Huffman table of
 * more than 256 codes (stb writes past its table), and a PNG whose IDAT
 * chunk claims 2 GB (stb allocated it before reading), and a JPEG whose
 * entropy data drove stb's bit count negative (a shift by 32). All fail
 * cleanly now, without a large allocation; the JPEGs in libjpeg-turbo, which
 * decodes them since stb 2.27's JPEG decoder could not be guarded. */
static void test_image_fuzz_regressions(void **state)
{
    (void)state;
    static const char *const files[][2] = {
        {"tests/fuzz/corpus/image/crash_ppm_zero_height", "zero.ppm"},
        {"tests/fuzz/corpus/image/crash_pnm16_overflow", "deep.pgm"},
        {"tests/fuzz/corpus/image/crash_jpeg_dht_overflow", "dht.jpg"},
        {"tests/fuzz/corpus/image/oom_png_idat_length", "idat.png"},
        {"tests/fuzz/corpus/image/crash_jpeg_dht_short_segment", "dht2.jpg"},
        {"tests/fuzz/corpus/image/crash_jpeg_dht_fill_before_soi", "dht3.jpg"},
        {"tests/fuzz/corpus/image/crash_pnm_int_overflow", "int.ppm"},
        {"tests/fuzz/corpus/image/crash_jpeg_rewind_into_pnm", "rewind.jpg"},
        {"tests/fuzz/corpus/image/crash_jpeg_huff_assert", "huff.jpg"},
        {"tests/fuzz/corpus/image/crash_png_empty_idat", "idat0.png"},
        {"tests/fuzz/corpus/image/crash_jpeg_shift_by_32", "shift.jpg"},
    };
    uint8_t b[4096];
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        FILE *f = fopen(files[i][0], "rb");
        assert_non_null(f);
        size_t n = fread(b, 1, sizeof b, f);
        fclose(f);
        assert_true(n > 1);
        image_expect_fail(files[i][1], b + 1, n - 1);
    }
}

/* ---- CSV --------------------------------------------------------------------- */

/* A CSV's sizes come from its content (no header claims a size); what a
 * caller passes can still be hostile: label column indexes near 2^31, 2^32,
 * 2^63, and numbers beyond the float range. */
static void test_csv_hostile_sizes(void **state)
{
    (void)state;
    static const char *const labels[] = {"2147483647", "2147483648", "4294967296",
                                         "9223372036854775808", "18446744073709551617",
                                         "-1"};
    cg_test_write_file(at(0, "t.csv"), "a,b,y\n1,2,x\n3,4,z\n", 18, false);
    for (size_t i = 0; i < sizeof labels / sizeof labels[0]; i++) {
        struct cg_csv_options o = {.label = labels[i]};
        watch_on();
        cg_dataset *ds = cg_csv_load(at(0, "t.csv"), &o);
        watch_off();
        if (ds)
            fail_msg("label column %s accepted", labels[i]);
        assert_errmsg_contains("t.csv");
    }
    cg_test_write_file(at(0, "big.csv"), "a,y\n1e39,1\n1e309,2\n", 19, false);
    watch_on();
    struct cg_csv_options o = {.task = CG_TASK_REGRESS};
    cg_dataset *ds = cg_csv_load(at(0, "big.csv"), &o);
    watch_off();
#ifdef CG_DOUBLE
    /* 1e39 fits a double; 1e309 does not */
    assert_null(ds);
    assert_errmsg_contains("big.csv:3");
#else
    assert_null(ds);
    assert_errmsg_contains("big.csv:2");
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_idx_hostile_sizes),
        cmocka_unit_test(test_safetensors_hostile_sizes),
        cmocka_unit_test(test_model_spec_hostile_sizes),
        cmocka_unit_test(test_image_hostile_sizes),
        cmocka_unit_test(test_image_fuzz_regressions),
        cmocka_unit_test(test_csv_hostile_sizes),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
