/* Tests of safetensors files and model files (nn/safetensors.c, nn/modelfile.c,
 * nn/json.c): round trips, the PyTorch fixture, every kind of corruption,
 * atomic writes. */
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cg_test.h"
#include "nn/internal.h"

#define FIXTURE "tests/data/torch_state_dict.safetensors"

static char dir[64];

static int make_dir(void **state)
{
    (void)state;
    return cg_test_dir_make(dir, sizeof dir, "cgrad_st_");
}

static int remove_dir(void **state)
{
    (void)state;
    return cg_test_dir_remove(dir);
}

static const char *tmp_path(const char *name)
{
    return cg_test_path(dir, 0, name);
}

/* Files in dir whose name holds ".tmp." (left-over temporary files). */
static int temp_files(const char *where)
{
    DIR *d = opendir(where);
    struct dirent *e;
    int n = 0;
    if (!d)
        return 0;
    while ((e = readdir(d)))
        n += strstr(e->d_name, ".tmp.") != NULL;
    closedir(d);
    return n;
}

static unsigned char *read_bytes(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    unsigned char *b;
    long len;
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    len = ftell(f);
    fseek(f, 0, SEEK_SET);
    b = malloc((size_t)len + 1);
    assert_int_equal(fread(b, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    *n = (size_t)len;
    return b;
}

/* A file: 8-byte length of `json`, json, then `data_len` bytes of data
 * (values 1.0f, 2.0f, ... as F32 little-endian on this little-endian host). */
static void write_st(const char *path, const char *json, size_t data_len)
{
    cg_test_write_safetensors(path, json, data_len);
}

/* Loading path fails with code and a message containing both needles. */
static void expect_load_error(const char *path, cg_status code, const char *needle)
{
    cg_clear_error();
    assert_null(cg_safetensors_load(path));
    assert_int_equal(cg_errcode(), code);
    assert_errmsg_contains(path);
    assert_errmsg_contains(needle);
}

/* ---- round trips ----------------------------------------------------------------------- */

static void test_model_round_trip_is_bit_exact(void **state)
{
    const char *path = tmp_path("m.safetensors");
    const char *classes[] = {"cat", "dog, big", "say \"hi\"", "\xc3\xa9t\xc3\xa9"};
    const struct cg_meta_kv extra[] = {{"optimizer", "adam"}, {"lr", "0.001"}};
    struct cg_model_meta meta = {0}, got = {0};
    cg_model *m = cg_model_from_spec("5-7-3:act=tanh:dropout=0.25:out=softmax"), *m2;
    cg_rng rng;
    char spec[CG_NN_SPEC_MAX];
    (void)state;

    assert_non_null(m);
    cg_rng_seed(&rng, 7);
    assert_int_equal(cg_model_init(m, CG_INIT_XAVIER_NORMAL, &rng), CG_OK);
    meta.task = "classification";
    meta.classes = classes;
    meta.n_classes = 4;
    meta.normalization = "standard mean=0.5 std=0.25";
    meta.extra = extra;
    meta.n_extra = 2;
    assert_int_equal(cg_model_save(m, path, &meta), CG_OK);
    assert_int_equal(temp_files(dir), 0);

    m2 = cg_model_load(path, &got);
    assert_non_null(m2);
    assert_int_equal(cg_model_num_params(m2), cg_model_num_params(m));
    assert_memory_equal(cg_model_flat(m2)->data, cg_model_flat(m)->data,
                        cg_model_num_params(m) * sizeof(cg_float));
    assert_int_equal(cg_model_spec(m2, spec, sizeof spec), CG_OK);
    assert_string_equal(spec, "5-7-3:act=tanh:dropout=0.25:out=softmax");
    assert_string_equal(got.spec, spec);
    assert_string_equal(got.version, CG_VERSION);
    assert_string_equal(got.task, "classification");
    assert_string_equal(got.normalization, "standard mean=0.5 std=0.25");
    assert_int_equal(got.n_classes, 4);
    for (int i = 0; i < 4; i++)
        assert_string_equal(got.classes[i], classes[i]);
    assert_int_equal(got.n_extra, 2);
    assert_string_equal(got.extra[0].key, "optimizer");
    assert_string_equal(got.extra[1].value, "0.001");
    cg_model_meta_deinit(&got);
    cg_model_meta_deinit(&got);   /* a zeroed meta is a no-op */
    cg_model_free(m2);
    cg_model_free(m);
}

/* The input columns' names travel with the model; a count that does not
 * fit the input size is refused when saving and when loading. */
static void test_model_feature_names_round_trip(void **state)
{
    const char *path = tmp_path("f.safetensors"), *bad = tmp_path("f-bad.safetensors");
    const char *features[] = {"sepal length", "sepal_width", "petal,length", "\"w\""};
    struct cg_model_meta meta = {0}, got = {0};
    cg_model *m = cg_model_from_spec("4-3"), *m2;
    (void)state;

    meta.features = features;
    meta.n_features = 3;
    assert_int_equal(cg_model_save(m, path, &meta), CG_ERR_ARG);
    assert_errmsg_contains("3 feature names for 4 inputs");
    meta.n_features = 4;
    assert_int_equal(cg_model_save(m, path, &meta), CG_OK);
    m2 = cg_model_load(path, &got);
    assert_non_null(m2);
    assert_int_equal(got.n_features, 4);
    for (int i = 0; i < 4; i++)
        assert_string_equal(got.features[i], features[i]);
    assert_int_equal(got.n_extra, 0);   /* a key of its own, not an extra */
    cg_model_meta_deinit(&got);
    cg_model_free(m2);

    /* a file written by someone else with two names for four inputs */
    const struct cg_param *p;
    int np;
    p = cg_model_params(m, &np);
    const struct cg_named_tensor t[] = {{p[0].name, p[0].tensor}, {p[1].name, p[1].tensor}};
    const struct cg_meta_kv kv[] = {{"format", "cgrad"}, {"spec", "4-3"},
                                    {"features", "[\"a\", \"b\"]"}};
    assert_int_equal(np, 2);
    assert_int_equal(cg_safetensors_save(bad, t, 2, kv, 3), CG_OK);
    assert_null(cg_model_load(bad, &got));
    assert_int_equal(cg_errcode(), CG_ERR_FORMAT);
    assert_errmsg_contains("\"features\" has 2 names for 4 inputs");
    cg_model_free(m);
}

static void test_safetensors_round_trip_and_lookup(void **state)
{
    const char *path = tmp_path("t.safetensors");
    cg_tensor *a = cg_tensor_from_array(2, (int[]){2, 3}, (cg_float[]){1, -2, 3.5, 0, (cg_float)1e-30, -7});
    cg_tensor *s = cg_tensor_from_array(0, NULL, (cg_float[]){42});
    const struct cg_named_tensor t[] = {{"b.scalar", s}, {"a.matrix", a}};
    const struct cg_meta_kv meta[] = {{"k\n1", "v \\ \"x\" \xe2\x82\xac"}};
    cg_safetensors *st;
    (void)state;

    assert_int_equal(cg_safetensors_save(path, t, 2, meta, 1), CG_OK);
    st = cg_safetensors_load(path);
    assert_non_null(st);
    assert_int_equal(cg_safetensors_count(st), 2);
    /* Tensors come back in offset order, which is the order written. */
    assert_string_equal(cg_safetensors_name(st, 0), "b.scalar");
    assert_string_equal(cg_safetensors_dtype(st, 1), CG_FLOAT_NAME);
    assert_true(cg_tensor_same_shape(cg_safetensors_get(st, "a.matrix"), a));
    assert_memory_equal(cg_safetensors_get(st, "a.matrix")->data, a->data, 6 * sizeof(cg_float));
    assert_int_equal(cg_safetensors_get(st, "b.scalar")->ndim, 0);
    assert_true(cg_safetensors_get(st, "b.scalar")->data[0] == 42);
    assert_string_equal(cg_safetensors_meta(st, "k\n1"), "v \\ \"x\" \xe2\x82\xac");
    assert_null(cg_safetensors_meta(st, "nope"));
    assert_false(cg_safetensors_has(st, "nope"));
    assert_null(cg_safetensors_get(st, "nope"));
    assert_int_equal(cg_errcode(), CG_ERR_FORMAT);
    assert_errmsg_contains("no tensor nope");
    cg_safetensors_free(st);
    cg_safetensors_free(NULL);
    cg_tensor_free(a);
    cg_tensor_free(s);
}

/* A new file gets 0666 less the umask (as fopen would give it), not
 * mkstemp's 0600; a file written over keeps its mode. */
static void test_save_gives_the_usual_file_mode(void **state)
{
    const char *path = tmp_path("mode.safetensors");
    cg_tensor *a = cg_tensor_from_array(1, (int[]){2}, (cg_float[]){1, 2});
    const struct cg_named_tensor t[] = {{"a", a}};
    struct stat st;
    (void)state;

    mode_t old = umask(027);
    assert_int_equal(cg_safetensors_save(path, t, 1, NULL, 0), CG_OK);
    umask(old);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0640);
    assert_int_equal(chmod(path, 0604), 0);
    assert_int_equal(cg_safetensors_save(path, t, 1, NULL, 0), CG_OK);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0604);
    cg_tensor_free(a);
}

static void test_header_is_padded_to_8(void **state)
{
    const char *path = tmp_path("p.safetensors");
    cg_tensor *a = cg_tensor_from_array(1, (int[]){3}, (cg_float[]){1, 2, 3});
    const struct cg_named_tensor t[] = {{"x", a}};
    unsigned char *b;
    size_t n;
    uint64_t hn = 0;
    (void)state;

    assert_int_equal(cg_safetensors_save(path, t, 1, NULL, 0), CG_OK);
    b = read_bytes(path, &n);
    for (int i = 7; i >= 0; i--)
        hn = (hn << 8) | b[i];
    assert_int_equal(hn % 8, 0);
    /* file = 8 + header + 3 elements */
    assert_int_equal(n, 8 + hn + 3 * sizeof(cg_float));
    assert_int_equal(b[8], '{');
    free(b);
    cg_tensor_free(a);
}

/* ---- PyTorch interchange ------------------------------------------------------------------ */

static void test_torch_fixture_loads_into_a_model(void **state)
{
    cg_model *m = cg_model_from_spec("4-3-2");
    /* The values make_torch_fixture.py wrote, exact binary fractions. */
    const double w0[] = {0.5, -0.25, 1, 0, 0.125, 2, -1, 0.75, -0.5, 0.25, 0.5, -2};
    const double b0[] = {0.5, -1, 0.25}, w2[] = {1, -1, 0.5, -0.5, 2, 0.25};
    const double b2[] = {0.0625, -0.125};
    (void)state;

    assert_int_equal(cg_model_load_weights(m, FIXTURE), CG_OK);
    assert_tensor_near(cg_model_param(m, "0.weight"), w0, 12, 0);
    assert_tensor_near(cg_model_param(m, "0.bias"), b0, 3, 0);
    assert_tensor_near(cg_model_param(m, "2.weight"), w2, 6, 0);
    assert_tensor_near(cg_model_param(m, "2.bias"), b2, 2, 0);
    cg_model_free(m);

    /* Without cgrad metadata the file cannot rebuild a model by itself. */
    assert_null(cg_model_load(FIXTURE, NULL));
    assert_int_equal(cg_errcode(), CG_ERR_FORMAT);
    assert_errmsg_contains("not a cgrad model file");
}

static void test_load_weights_shape_mismatch_and_missing(void **state)
{
    cg_model *wide = cg_model_from_spec("4-5-2"), *deep = cg_model_from_spec("4-3-3-2");
    (void)state;

    assert_int_equal(cg_model_load_weights(wide, FIXTURE), CG_ERR_FORMAT);
    assert_errmsg_contains("tensor 0.weight is [3, 4] in the file, [5, 4] in the model");
    for (size_t i = 0; i < cg_model_num_params(wide); i++)
        assert_true(cg_model_flat(wide)->data[i] == 0);   /* unchanged */
    assert_int_equal(cg_model_load_weights(deep, FIXTURE), CG_ERR_FORMAT);
    assert_errmsg_contains("tensor 2.weight is [2, 3] in the file, [3, 3] in the model");
    cg_model_free(wide);
    cg_model_free(deep);
}

static void test_missing_tensor_is_named(void **state)
{
    const char *path = tmp_path("missing.safetensors");
    cg_model *m = cg_model_from_spec("4-3-2");
    (void)state;

    write_st(path, "{\"0.weight\":{\"dtype\":\"F32\",\"shape\":[3,4],\"data_offsets\":[0,48]},"
                   "\"0.bias\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[48,60]},"
                   "\"2.weight\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[60,84]}}",
             84);
    assert_int_equal(cg_model_load_weights(m, path), CG_ERR_FORMAT);
    assert_errmsg_contains(path);
    assert_errmsg_contains("missing tensor 2.bias");
    cg_model_free(m);
}

static void test_f64_file_loads_in_either_build(void **state)
{
    const char *path = tmp_path("f64.safetensors");
    const char *json = "{\"x\":{\"dtype\":\"F64\",\"shape\":[2],\"data_offsets\":[0,16]}}";
    double v[2] = {0.5, -3.25};
    unsigned char b[8 + 64 + 16] = {0};
    size_t hn = strlen(json);
    cg_safetensors *st;
    (void)state;

    assert_true(hn <= 64);
    b[0] = (unsigned char)hn;
    memcpy(b + 8, json, hn);
    memcpy(b + 8 + hn, v, 16);
    cg_test_write_file(path, b, 8 + hn + 16, false);
    st = cg_safetensors_load(path);
    assert_non_null(st);
    assert_string_equal(cg_safetensors_dtype(st, 0), "F64");
    assert_true(cg_safetensors_tensor(st, 0)->data[0] == (cg_float)0.5);
    assert_true(cg_safetensors_tensor(st, 0)->data[1] == (cg_float)-3.25);
    cg_safetensors_free(st);
}

/* ---- corruption ------------------------------------------------------------------------------ */

#define ONE_TENSOR(dtype, shape, b, e) \
    "{\"t\":{\"dtype\":\"" dtype "\",\"shape\":" shape ",\"data_offsets\":[" b "," e "]}}"

static void test_header_length_larger_than_file(void **state)
{
    const char *path = tmp_path("len.safetensors");
    unsigned char b[64] = {0};
    (void)state;
    b[0] = 0xe8, b[1] = 0x03;   /* 1000 */
    memcpy(b + 8, "{}", 2);
    cg_test_write_file(path, b, sizeof b, false);
    expect_load_error(path, CG_ERR_FORMAT, "header length 1000 runs past the end of the file");
}

static void test_header_length_absurd(void **state)
{
    const char *path = tmp_path("absurd.safetensors");
    unsigned char b[16] = {0, 0, 0, 0, 0, 0, 0, 0x10, '{', '}'};
    (void)state;
    cg_test_write_file(path, b, sizeof b, false);
    expect_load_error(path, CG_ERR_FORMAT, "is absurd");
}

static void test_file_too_short(void **state)
{
    const char *path = tmp_path("short.safetensors");
    (void)state;
    cg_test_write_file(path, "\x02\0\0", 3, false);
    expect_load_error(path, CG_ERR_FORMAT, "too short");
    expect_load_error(tmp_path("does-not-exist"), CG_ERR_IO, "cannot open");
}

static void test_json_that_does_not_parse(void **state)
{
    const char *path = tmp_path("json.safetensors");
    (void)state;
    write_st(path, "{\"t\":{\"dtype\":\"F32\",\"shape\":[1] \"data_offsets\":[0,4]}}", 4);
    /* The bad byte is the '"' after "[1] ": index 32 in the JSON ({=0, "t"=1-3, :=4, {=5,
     * "dtype"=6-12, :=13, "F32"=14-18, ,=19, "shape"=20-26, :=27, [1]=28-30, space=31),
     * so byte 8 + 32 = 40 of the file. */
    expect_load_error(path, CG_ERR_FORMAT, "JSON at byte 40: expected ',' or '}'");
    write_st(path, "{\"t\":", 0);
    expect_load_error(path, CG_ERR_FORMAT, "found the end of the text");
    write_st(path, "[1, 2]  ", 0);
    expect_load_error(path, CG_ERR_FORMAT, "not a JSON object");
    write_st(path, "{\"a\\q\":1}", 0);
    expect_load_error(path, CG_ERR_FORMAT, "expected one of");
}

static void test_offsets_past_the_end(void **state)
{
    const char *path = tmp_path("offs.safetensors");
    (void)state;
    write_st(path, ONE_TENSOR("F32", "[2]", "4", "12"), 8);
    expect_load_error(path, CG_ERR_FORMAT, "tensor t: data_offsets [4, 12] run past the end");
    write_st(path, ONE_TENSOR("F32", "[2]", "0", "18446744073709551615"), 8);
    expect_load_error(path, CG_ERR_FORMAT, "run past the end");
    write_st(path, ONE_TENSOR("F32", "[2]", "0", "18446744073709551616"), 8);
    expect_load_error(path, CG_ERR_FORMAT, "is not [begin, end]");
    write_st(path, ONE_TENSOR("F32", "[2]", "8", "0"), 8);
    expect_load_error(path, CG_ERR_FORMAT, "end before they begin");
}

static void test_wrong_dtype(void **state)
{
    const char *path = tmp_path("dtype.safetensors");
    (void)state;
    write_st(path, ONE_TENSOR("F16", "[2]", "0", "4"), 4);
    expect_load_error(path, CG_ERR_FORMAT, "tensor t: dtype F16 is not supported");
    write_st(path, "{\"t\":{\"dtype\":3,\"shape\":[2],\"data_offsets\":[0,8]}}", 8);
    expect_load_error(path, CG_ERR_FORMAT, "\"dtype\" is missing");
}

static void test_shape_does_not_match_offsets(void **state)
{
    const char *path = tmp_path("shape.safetensors");
    (void)state;
    write_st(path, ONE_TENSOR("F32", "[3,4]", "0", "40"), 40);
    expect_load_error(path, CG_ERR_FORMAT, "tensor t: shape [3, 4] of F32 needs 12 x 4 bytes, "
                                           "data_offsets span 40");
    write_st(path, ONE_TENSOR("F32", "[1,1,1,1,1]", "0", "4"), 4);
    expect_load_error(path, CG_ERR_FORMAT, "5 dimensions");
    write_st(path, ONE_TENSOR("F32", "[-1]", "0", "4"), 4);
    expect_load_error(path, CG_ERR_FORMAT, "shape entry 0 is not a size");
    /* A product that overflows size_t must not wrap into a match. */
    write_st(path, ONE_TENSOR("F32", "[1073741824,1073741824,1073741824,16]", "0", "0"), 0);
    expect_load_error(path, CG_ERR_FORMAT, "tensor t");
}

static void test_truncated_data(void **state)
{
    const char *path = tmp_path("trunc.safetensors");
    size_t n;
    unsigned char *b = read_bytes(FIXTURE, &n);
    (void)state;

    cg_test_write_file(path, b, n - 4, false);
    expect_load_error(path, CG_ERR_FORMAT, "tensor 2.weight: data_offsets [68, 92] run past "
                                           "the end of the data (88 bytes)");
    /* Every shorter prefix fails cleanly too (header or data cut anywhere). */
    for (size_t k = 0; k < n; k++) {
        cg_test_write_file(path, b, k, false);
        cg_clear_error();
        assert_null(cg_safetensors_load(path));
        assert_true(cg_errcode() == CG_ERR_FORMAT);
    }
    free(b);
}

static void test_overlapping_offsets_and_holes(void **state)
{
    const char *path = tmp_path("overlap.safetensors");
    (void)state;
    write_st(path, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                   "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12);
    expect_load_error(path, CG_ERR_FORMAT, "tensors a and b overlap");
    write_st(path, "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                   "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", 12);
    expect_load_error(path, CG_ERR_FORMAT, "a hole in the data");
    write_st(path, ONE_TENSOR("F32", "[1]", "0", "4"), 8);
    expect_load_error(path, CG_ERR_FORMAT, "4 bytes of data after the last tensor");
    write_st(path, "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                   "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8);
    expect_load_error(path, CG_ERR_FORMAT, "the key \"a\" appears twice");
    /* Not neighbours, in the file or by offset: the first was taken before. */
    write_st(path, "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                   "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]},"
                   "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", 12);
    expect_load_error(path, CG_ERR_FORMAT, "the key \"a\" appears twice");
    cg_clear_error();
    assert_null(cg_model_load(path, NULL));
    assert_int_equal(cg_errcode(), CG_ERR_FORMAT);
}

/* A header of n metadata keys "k0".."k<n-1>", plus "k<dup>" again at the end
 * when dup >= 0. */
static void write_many_keys(const char *path, int n, int dup)
{
    size_t cap = (size_t)n * 24 + 64, len = 0;
    char *h = malloc(cap);
    assert_non_null(h);
    len += (size_t)snprintf(h + len, cap - len, "{\"__metadata__\":{");
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(h + len, cap - len, "%s\"k%d\":\"v\"", i ? "," : "", i);
    if (dup >= 0)
        len += (size_t)snprintf(h + len, cap - len, ",\"k%d\":\"w\"", dup);
    snprintf(h + len, cap - len, "}}");
    write_st(path, h, 0);
    free(h);
}

/* Metadata keys are checked for repeats with a hash set, not pair by pair:
 * 200,000 keys took minutes. Counts are capped at 65536 members. */
static void test_many_metadata_keys(void **state)
{
    const char *path = tmp_path("keys.safetensors");
    (void)state;
    write_many_keys(path, 65536, -1);
    cg_safetensors *st = cg_safetensors_load(path);
    assert_non_null(st);
    assert_int_equal(cg_safetensors_meta_count(st), 65536);
    assert_string_equal(cg_safetensors_meta(st, "k65535"), "v");
    cg_safetensors_free(st);
    write_many_keys(path, 65535, 3);
    expect_load_error(path, CG_ERR_FORMAT, "the key \"k3\" appears twice");
    write_many_keys(path, 200000, -1);
    expect_load_error(path, CG_ERR_FORMAT, "more members than the limit (65536)");
}

/* Strings in a header are UTF-8 (safetensors says so; PyTorch's reader
 * refuses anything else), a class name included; a writer refuses to make
 * a header that is not. */
static void test_header_must_be_utf8(void **state)
{
    const char *path = tmp_path("utf8.safetensors");
    (void)state;
    write_st(path, "{\"__metadata__\":{\"format\":\"cgrad\",\"spec\":\"2-2\","
                   "\"classes\":\"[\\\"a\xff\\\", \\\"b\\\"]\"}}", 0);
    expect_load_error(path, CG_ERR_FORMAT, "not valid UTF-8");
    write_st(path, "{\"__metadata__\":{\"k\":\"\xc0\xaf\"}}", 0);   /* overlong '/' */
    expect_load_error(path, CG_ERR_FORMAT, "not valid UTF-8");
    write_st(path, "{\"__metadata__\":{\"k\":\"\xed\xa0\x80\"}}", 0);   /* a surrogate */
    expect_load_error(path, CG_ERR_FORMAT, "not valid UTF-8");
    write_st(path, "{\"__metadata__\":{\"k\":\"caf\xc3\xa9 \xf0\x9f\x90\x88\"}}", 0);
    cg_safetensors *st = cg_safetensors_load(path);
    assert_non_null(st);
    cg_safetensors_free(st);
    struct cg_meta_kv kv = {"k", "caf\xe9"};
    assert_int_equal(cg_safetensors_save(path, NULL, 0, &kv, 1), CG_ERR_ARG);
    assert_errmsg_contains("not valid UTF-8");
}

static void test_bad_metadata(void **state)
{
    const char *path = tmp_path("meta.safetensors");
    (void)state;
    write_st(path, "{\"__metadata__\":{\"spec\":4}}", 0);
    expect_load_error(path, CG_ERR_FORMAT, "value of \"spec\" is not a string");
    write_st(path, "{\"__metadata__\":[]}", 0);
    expect_load_error(path, CG_ERR_FORMAT, "__metadata__ is not an object");
    /* A cgrad file whose spec does not parse names the file. */
    write_st(path, "{\"__metadata__\":{\"format\":\"cgrad\",\"spec\":\"4-x\"}}", 0);
    cg_clear_error();
    assert_null(cg_model_load(path, NULL));
    assert_int_equal(cg_errcode(), CG_ERR_FORMAT);   /* the file's fault, not an argument's */
    assert_errmsg_contains(path);
    assert_errmsg_contains("\"x\"");
    /* Classes that are not an array of strings: refused whether or not the
     * caller asks for the metadata (it was accepted with NULL). */
    write_st(path, "{\"__metadata__\":{\"format\":\"cgrad\",\"spec\":\"1-1\","
                   "\"classes\":\"[1]\"},"
                   "\"0.weight\":{\"dtype\":\"F32\",\"shape\":[1,1],\"data_offsets\":[0,4]},"
                   "\"0.bias\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8);
    for (int with_meta = 0; with_meta < 2; with_meta++) {
        struct cg_model_meta meta;
        cg_clear_error();
        assert_null(cg_model_load(path, with_meta ? &meta : NULL));
        assert_int_equal(cg_errcode(), CG_ERR_FORMAT);
        assert_errmsg_contains("__metadata__ \"classes\" entry 0 is not a string");
    }
}

static void test_header_byte_flips_never_crash(void **state)
{
    const char *path = tmp_path("flip.safetensors");
    size_t n;
    unsigned char *b = read_bytes(FIXTURE, &n);
    cg_rng rng;
    (void)state;

    /* Under ASan this proves every header byte is bounds-checked. */
    cg_rng_seed(&rng, 1);
    for (int i = 0; i < 300; i++) {
        unsigned char *c = malloc(n);
        cg_safetensors *st;
        memcpy(c, b, n);
        c[cg_rng_below(&rng, 8 + 248)] = (unsigned char)cg_rng_u32(&rng);
        cg_test_write_file(path, c, n, false);
        st = cg_safetensors_load(path);
        assert_true(st != NULL || cg_errcode() == CG_ERR_FORMAT);
        cg_safetensors_free(st);
        free(c);
    }
    free(b);
}

static void test_json_reader(void **state)
{
    struct cg__json_doc doc;
    const char *deep = "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]";
    const char *s = "{\"a\":\"\\u00e9\\ud83d\\ude00\\n\",\"b\":[true,false,null,-1.5e3]}";
    uint64_t u;
    (void)state;

    assert_int_equal(cg__json_parse(&doc, s, strlen(s), 0), CG_OK);
    /* U+00E9 is C3 A9 in UTF-8, U+1F600 (the surrogate pair) F0 9F 98 80. */
    assert_string_equal(cg__json_get(doc.root, "a")->str, "\xc3\xa9\xf0\x9f\x98\x80\n");
    assert_int_equal(cg__json_get(doc.root, "b")->len, 4);
    assert_true(cg__json_get(doc.root, "b")->items[0]->boolean);
    assert_false(cg__json_u64(cg__json_get(doc.root, "b")->items[3], &u));
    cg__json_free(&doc);
    assert_int_equal(cg__json_parse(&doc, deep, strlen(deep), 0), CG_ERR_FORMAT);
    assert_errmsg_contains("nesting deeper than the limit");
    assert_int_equal(cg__json_parse(&doc, "\"\\ud800\"", 8, 0), CG_ERR_FORMAT);
    assert_errmsg_contains("low surrogate");
    assert_int_equal(cg__json_parse(&doc, "\"a\\u0000\"", 9, 0), CG_ERR_FORMAT);
    assert_int_equal(cg__json_parse(&doc, "01", 2, 0), CG_ERR_FORMAT);
    assert_int_equal(cg__json_parse(&doc, "\"a\tb\"", 5, 0), CG_ERR_FORMAT);
    assert_errmsg_contains("control character");
}

/* ---- atomic writes --------------------------------------------------------------------------- */

static void test_write_into_missing_directory_fails_cleanly(void **state)
{
    cg_model *m = cg_model_from_spec("2-2");
    char path[128];
    (void)state;
    snprintf(path, sizeof path, "%s/no/such/dir/m.safetensors", dir);
    assert_int_equal(cg_model_save(m, path, NULL), CG_ERR_IO);
    assert_errmsg_contains(path);
    assert_errmsg_contains("temporary file");
    assert_int_equal(temp_files(dir), 0);
    /* A parent that is a regular file (ENOTDIR): refused even for root. */
    cg_test_write_file(tmp_path("plain"), "x", 1, false);
    snprintf(path, sizeof path, "%s/plain/m.safetensors", dir);
    assert_int_equal(cg_model_save(m, path, NULL), CG_ERR_IO);
    assert_errmsg_contains(path);
    /* A target that is a folder: refused before any temporary file. */
    snprintf(path, sizeof path, "%s/folder", dir);
    assert_int_equal(mkdir(path, 0755), 0);
    assert_int_equal(cg_model_save(m, path, NULL), CG_ERR_IO);
    assert_errmsg_contains("is a folder");
    assert_int_equal(temp_files(dir), 0);
    cg_model_free(m);
}

static void test_write_into_read_only_directory_fails_cleanly(void **state)
{
    char ro[128], path[160];
    cg_model *m;
    (void)state;
    if (geteuid() == 0) {
        cg_test_skipping("running as root, who may write into read-only folders");
        skip();
    }
    snprintf(ro, sizeof ro, "%s/ro", dir);
    assert_int_equal(mkdir(ro, 0555), 0);
    snprintf(path, sizeof path, "%s/m.safetensors", ro);
    m = cg_model_from_spec("2-2");
    assert_int_equal(cg_model_save(m, path, NULL), CG_ERR_IO);
    assert_errmsg_contains(path);
    assert_int_equal(temp_files(ro), 0);
    cg_model_free(m);
}

static void test_failed_write_leaves_old_file_unchanged(void **state)
{
    const char *path = tmp_path("keep.safetensors");
    cg_model *small = cg_model_from_spec("2-2"), *big = cg_model_from_spec("100-100-10");
    struct rlimit old, lim;
    unsigned char *before, *after;
    size_t n1, n2;
    cg_status st;
    (void)state;

    assert_int_equal(cg_model_save(small, path, NULL), CG_OK);
    before = read_bytes(path, &n1);
    /* The kernel refuses writes past RLIMIT_FSIZE (EFBIG; SIGXFSZ ignored):
     * a real I/O failure in the middle of the data. */
    signal(SIGXFSZ, SIG_IGN);
    getrlimit(RLIMIT_FSIZE, &old);
    lim = old;
    lim.rlim_cur = 4096;
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    st = cg_model_save(big, path, NULL);
    setrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, SIG_DFL);
    assert_int_equal(st, CG_ERR_IO);
    assert_errmsg_contains(path);
    after = read_bytes(path, &n2);
    assert_int_equal(n1, n2);
    assert_memory_equal(before, after, n1);
    assert_int_equal(temp_files(dir), 0);
    free(before);
    free(after);
    cg_model_free(small);
    cg_model_free(big);
}

/* Fail the N-th allocation of a save and of a load, for every N: each
 * failure is a clean error, frees everything and leaves no temp file. */
static void test_out_of_memory_at_every_allocation(void **state)
{
    const char *path = tmp_path("oom.safetensors");
    const char *classes[] = {"a", "b"}, *features[] = {"x", "y", "z"};
    struct cg_model_meta meta = {0}, got = {0};
    cg_model *m = cg_model_from_spec("3-4-2"), *m2 = NULL;
    bool saved = false, loaded = false;
    (void)state;

    meta.classes = classes;
    meta.n_classes = 2;
    meta.features = features;
    meta.n_features = 3;
    for (int n = 0; n < 200 && !(saved && loaded); n++) {
        cg_status st;
        cg_test_alloc_install(n, CG_TEST_ALLOC_NO_REALLOC);
        st = cg_model_save(m, path, &meta);
        cg_test_alloc_remove();
        assert_int_equal(cg_test_alloc.live, 0);
        assert_int_equal(temp_files(dir), 0);
        assert_true(st == CG_OK || st == CG_ERR_NOMEM);
        saved |= st == CG_OK;
        if (!saved)
            continue;
        cg_test_alloc_install(n, CG_TEST_ALLOC_NO_REALLOC);
        m2 = cg_model_load(path, &got);
        if (m2) {
            cg_model_meta_deinit(&got);
            cg_model_free(m2);
            loaded = true;
        } else {
            assert_int_equal(cg_errcode(), CG_ERR_NOMEM);
        }
        cg_test_alloc_remove();
        assert_int_equal(cg_test_alloc.live, 0);
    }
    assert_true(saved && loaded);
    cg_model_free(m);
}

static void test_bad_save_arguments(void **state)
{
    cg_model *m = cg_model_from_spec("2-2");
    const struct cg_meta_kv extra[] = {{"spec", "9-9"}};
    struct cg_model_meta meta = {0};
    cg_tensor *a = cg_tensor_new(1, (int[]){2});
    const struct cg_named_tensor dup[] = {{"x", a}, {"x", a}};
    (void)state;
    meta.extra = extra;
    meta.n_extra = 1;
    assert_int_equal(cg_model_save(m, tmp_path("bad.safetensors"), &meta), CG_ERR_ARG);
    assert_errmsg_contains("\"spec\" is reserved");
    assert_int_equal(cg_safetensors_save(tmp_path("dup.safetensors"), dup, 2, NULL, 0),
                     CG_ERR_ARG);
    assert_errmsg_contains("tensor x appears twice");
    assert_int_equal(access(tmp_path("bad.safetensors"), F_OK), -1);
    cg_tensor_free(a);
    cg_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_model_round_trip_is_bit_exact),
        cmocka_unit_test(test_model_feature_names_round_trip),
        cmocka_unit_test(test_save_gives_the_usual_file_mode),
        cmocka_unit_test(test_safetensors_round_trip_and_lookup),
        cmocka_unit_test(test_header_is_padded_to_8),
        cmocka_unit_test(test_torch_fixture_loads_into_a_model),
        cmocka_unit_test(test_load_weights_shape_mismatch_and_missing),
        cmocka_unit_test(test_missing_tensor_is_named),
        cmocka_unit_test(test_f64_file_loads_in_either_build),
        cmocka_unit_test(test_header_length_larger_than_file),
        cmocka_unit_test(test_header_length_absurd),
        cmocka_unit_test(test_file_too_short),
        cmocka_unit_test(test_json_that_does_not_parse),
        cmocka_unit_test(test_offsets_past_the_end),
        cmocka_unit_test(test_wrong_dtype),
        cmocka_unit_test(test_shape_does_not_match_offsets),
        cmocka_unit_test(test_truncated_data),
        cmocka_unit_test(test_overlapping_offsets_and_holes),
        cmocka_unit_test(test_bad_metadata),
        cmocka_unit_test(test_many_metadata_keys),
        cmocka_unit_test(test_header_must_be_utf8),
        cmocka_unit_test(test_header_byte_flips_never_crash),
        cmocka_unit_test(test_json_reader),
        cmocka_unit_test(test_write_into_missing_directory_fails_cleanly),
        cmocka_unit_test(test_write_into_read_only_directory_fails_cleanly),
        cmocka_unit_test(test_failed_write_leaves_old_file_unchanged),
        cmocka_unit_test(test_out_of_memory_at_every_allocation),
        cmocka_unit_test(test_bad_save_arguments),
    };
    return cmocka_run_group_tests(tests, make_dir, remove_dir);
}
