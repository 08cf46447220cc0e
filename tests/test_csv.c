/* Tests of CSV data sets (data/csv.c, data/csv_read.c). Fixtures are under
 * tests/data/csv/; larger files are generated into /tmp by the tests. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cg_test.h"

#define CSV(name) "tests/data/csv/" name

static const struct cg_csv_options regress_opts = {.task = CG_TASK_REGRESS, .label = "y1,y2"};

static cg_float feature(const cg_dataset *ds, size_t i, int j)
{
    cg_float x[16];
    assert_int_equal(cg_dataset_row(ds, i, x), CG_OK);
    return x[j];
}

/* ---- dialects ----------------------------------------------------------- */

static void test_csv_header_and_string_labels(void **state)
{
    (void)state;
    cg_dataset *ds = cg_csv_load(CSV("iris_small.csv"), NULL);
    assert_non_null(ds);
    assert_int_equal(cg_dataset_size(ds), 4);
    assert_int_equal(cg_dataset_features(ds), 2);
    assert_int_equal(cg_dataset_task(ds), CG_TASK_CLASSIFY);
    assert_false(cg_dataset_image_shape(ds, NULL, NULL, NULL));
    /* Sorted class names: setosa < versicolor < virginica. */
    assert_int_equal(cg_dataset_classes(ds), 3);
    assert_string_equal(cg_dataset_class_name(ds, 0), "setosa");
    assert_string_equal(cg_dataset_class_name(ds, 1), "versicolor");
    assert_string_equal(cg_dataset_class_name(ds, 2), "virginica");
    assert_null(cg_dataset_class_name(ds, 3));
    assert_string_equal(cg_dataset_feature_name(ds, 0), "sepal_len");
    assert_string_equal(cg_dataset_feature_name(ds, 1), "sepal_wid");
    int want[] = {0, 1, 2, 0};
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(cg_dataset_label(ds, i), want[i]);
    assert_near(feature(ds, 1, 0), 7.0, 1e-6);
    assert_near(feature(ds, 3, 1), 3.0, 1e-6);
    assert_near(feature(ds, 0, 0), 5.1, 1e-6);
    assert_null(cg_dataset_warning(ds));
    cg_dataset_free(ds);
}

static void test_csv_semicolon_crlf_no_final_newline(void **state)
{
    (void)state;
    cg_dataset *ds = cg_csv_load(CSV("semicolon_crlf.csv"), NULL);
    assert_non_null(ds);
    assert_int_equal(cg_dataset_size(ds), 3);
    assert_int_equal(cg_dataset_features(ds), 2);
    /* Integer labels are their own ids. */
    assert_int_equal(cg_dataset_classes(ds), 2);
    assert_string_equal(cg_dataset_class_name(ds, 1), "1");
    assert_int_equal(cg_dataset_label(ds, 0), 1);
    assert_int_equal(cg_dataset_label(ds, 1), 0);
    assert_int_equal(cg_dataset_label(ds, 2), 1);
    assert_near(feature(ds, 0, 1), -2.0, 0);
    assert_near(feature(ds, 1, 1), 0.4, 1e-7);
    assert_near(feature(ds, 2, 0), -0.25, 0);
    assert_near(feature(ds, 2, 1), 10.0, 0);   /* last line, no '\n', no '\r' left */
    cg_dataset_free(ds);
}

static void test_csv_tab_without_header(void **state)
{
    (void)state;
    cg_dataset *ds = cg_csv_load(CSV("tab_noheader.tsv"), NULL);
    assert_non_null(ds);
    assert_int_equal(cg_dataset_size(ds), 2);
    assert_int_equal(cg_dataset_features(ds), 2);
    /* Labels 3 and 7: classes 0..7. */
    assert_int_equal(cg_dataset_classes(ds), 8);
    assert_int_equal(cg_dataset_label(ds, 0), 3);
    assert_int_equal(cg_dataset_label(ds, 1), 7);
    assert_string_equal(cg_dataset_feature_name(ds, 1), "1");   /* its index */
    assert_near(feature(ds, 1, 1), 5.0, 0);
    cg_dataset_free(ds);
}

static void test_csv_quoted_fields(void **state)
{
    (void)state;
    cg_dataset *ds = cg_csv_load(CSV("quoted.csv"), NULL);
    assert_non_null(ds);
    assert_int_equal(cg_dataset_size(ds), 3);
    assert_string_equal(cg_dataset_feature_name(ds, 0), "feat, one");
    assert_string_equal(cg_dataset_feature_name(ds, 1), "feat \"two\"");
    /* Byte order: "a, b" < "multi\nline" < "say \"hi\"". */
    assert_int_equal(cg_dataset_classes(ds), 3);
    assert_string_equal(cg_dataset_class_name(ds, 0), "a, b");
    assert_string_equal(cg_dataset_class_name(ds, 1), "multi\nline");
    assert_string_equal(cg_dataset_class_name(ds, 2), "say \"hi\"");
    assert_int_equal(cg_dataset_label(ds, 0), 0);
    assert_int_equal(cg_dataset_label(ds, 1), 2);
    assert_int_equal(cg_dataset_label(ds, 2), 1);
    assert_near(feature(ds, 0, 0), 1.5, 0);
    assert_near(feature(ds, 1, 1), 4.0, 0);
    cg_dataset_free(ds);
}

static void test_csv_forced_options(void **state)
{
    (void)state;
    /* Delimiter given, label by index, header forced on. */
    struct cg_csv_options o = {.delimiter = ';', .label = "0", .header = CG_CSV_HEADER_ON,
                               .task = CG_TASK_REGRESS};
    cg_dataset *ds = cg_csv_load(CSV("semicolon_crlf.csv"), &o);
    assert_non_null(ds);
    assert_int_equal(cg_dataset_targets(ds), 1);
    assert_string_equal(cg_dataset_target_name(ds, 0), "x1");
    assert_string_equal(cg_dataset_feature_name(ds, 0), "x2");
    assert_string_equal(cg_dataset_feature_name(ds, 1), "y");
    cg_float y;
    assert_int_equal(cg_dataset_target_row(ds, 2, &y), CG_OK);
    assert_near(y, -0.25, 0);
    cg_dataset_free(ds);

    /* Header forced off on a file with one: its first line is bad data. */
    struct cg_csv_options off = {.header = CG_CSV_HEADER_OFF};
    assert_null(cg_csv_load(CSV("iris_small.csv"), &off));
    assert_int_equal(cg_errcode(), CG_ERR_FORMAT);
    assert_errmsg_contains("iris_small.csv:1: column 1: 'sepal_len' is not a number");
}

static void test_csv_regression_targets(void **state)
{
    (void)state;
    cg_float y[2];
    cg_dataset *ds = cg_csv_load(CSV("regress.csv"), &regress_opts);
    assert_non_null(ds);
    assert_int_equal(cg_dataset_task(ds), CG_TASK_REGRESS);
    assert_int_equal(cg_dataset_targets(ds), 2);
    assert_int_equal(cg_dataset_features(ds), 1);
    assert_int_equal(cg_dataset_classes(ds), 0);
    assert_int_equal(cg_dataset_label(ds, 0), -1);
    assert_int_equal(cg_dataset_target_row(ds, 1, y), CG_OK);
    assert_near(y[0], 5.0, 0);
    assert_near(y[1], 6.5, 0);
    cg_dataset_free(ds);

    /* The same by count: the last two columns. */
    struct cg_csv_options last2 = {.task = CG_TASK_REGRESS, .n_targets = 2};
    ds = cg_csv_load(CSV("regress.csv"), &last2);
    assert_non_null(ds);
    assert_string_equal(cg_dataset_target_name(ds, 1), "y2");
    assert_string_equal(cg_dataset_feature_name(ds, 0), "x");
    cg_dataset_free(ds);

    /* Targets in the order listed. */
    struct cg_csv_options rev = {.task = CG_TASK_REGRESS, .label = "y2, x"};
    ds = cg_csv_load(CSV("regress.csv"), &rev);
    assert_non_null(ds);
    assert_int_equal(cg_dataset_target_row(ds, 0, y), CG_OK);
    assert_near(y[0], 3.0, 0);
    assert_near(y[1], 1.0, 0);
    assert_string_equal(cg_dataset_feature_name(ds, 0), "y1");
    cg_dataset_free(ds);
}

static void test_csv_features_only(void **state)
{
    (void)state;
    struct cg_csv_options o = {.task = CG_TASK_NONE};
    cg_dataset *ds = cg_csv_load(CSV("regress.csv"), &o);
    assert_non_null(ds);
    assert_int_equal(cg_dataset_features(ds), 3);
    assert_int_equal(cg_dataset_task(ds), CG_TASK_NONE);
    assert_near(feature(ds, 1, 2), 6.5, 0);
    cg_dataset_free(ds);
}

static void test_csv_model_class_names(void **state)
{
    (void)state;
    const char *names[] = {"virginica", "setosa", "versicolor"};
    struct cg_csv_options o = {.class_names = names, .n_class_names = 3};
    cg_dataset *ds = cg_csv_load(CSV("iris_small.csv"), &o);
    assert_non_null(ds);
    assert_int_equal(cg_dataset_classes(ds), 3);
    assert_string_equal(cg_dataset_class_name(ds, 0), "virginica");
    assert_int_equal(cg_dataset_label(ds, 0), 1);  /* setosa */
    assert_int_equal(cg_dataset_label(ds, 1), 2);  /* versicolor */
    assert_int_equal(cg_dataset_label(ds, 2), 0);  /* virginica */
    cg_dataset_free(ds);
}

/* ---- a model's inputs ------------------------------------------------------ */

static const char *const iris_names[] = {"sepal_wid", "sepal_len"};

static void test_csv_model_inputs_by_header_name(void **state)
{
    (void)state;
    /* the training file itself: label column ignored, columns by name */
    struct cg_csv_options o = {.task = CG_TASK_NONE, .feature_names = iris_names,
                               .n_inputs = 2};
    cg_dataset *ds = cg_csv_load(CSV("iris_small.csv"), &o);
    assert_non_null(ds);
    assert_int_equal(cg_dataset_features(ds), 2);
    assert_string_equal(cg_dataset_feature_name(ds, 0), "sepal_wid");
    assert_near(feature(ds, 0, 0), (cg_float)3.5, 0);
    assert_near(feature(ds, 0, 1), (cg_float)5.1, 0);
    cg_dataset_free(ds);
    /* a name the header lacks while others are there: refused */
    static const char *const renamed[] = {"sepal_len", "petal"};
    o.feature_names = renamed;
    assert_null(cg_csv_load(CSV("iris_small.csv"), &o));
    assert_errmsg_contains("iris_small.csv: no column 'petal'");
    assert_int_equal(cg_errcode(), CG_ERR_FORMAT);
}

static void test_csv_model_inputs_by_position(void **state)
{
    (void)state;
    const char *path = "/tmp/cgrad_test_csv_inputs.csv";
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("a,species,b\n1,x,2\n3,y,4\n", f);
    fclose(f);
    /* no names stored: one column more than the model takes is the label */
    struct cg_csv_options o = {.task = CG_TASK_NONE, .n_inputs = 2};
    cg_dataset *ds = cg_csv_load(CSV("iris_small.csv"), &o);
    assert_non_null(ds);
    assert_int_equal(cg_dataset_features(ds), 2);
    assert_near(feature(ds, 1, 1), (cg_float)3.2, 0);
    cg_dataset_free(ds);
    /* the model's label column by name, wherever it is */
    o.label = "species";
    ds = cg_csv_load(path, &o);
    assert_non_null(ds);
    assert_near(feature(ds, 1, 0), 3, 0);
    assert_near(feature(ds, 1, 1), 4, 0);
    cg_dataset_free(ds);
    /* names that the header does not hold at all: by position too */
    o.feature_names = (const char *const[]){"0", "2"};
    ds = cg_csv_load(path, &o);
    assert_non_null(ds);
    assert_near(feature(ds, 0, 1), 2, 0);
    cg_dataset_free(ds);
    /* exactly the model's count: every column */
    o.n_inputs = 3;
    o.feature_names = NULL;
    assert_null(cg_csv_load(path, &o));   /* 'x' is not a number */
    assert_errmsg_contains("column 2 'species': 'x' is not a number");
    o.n_inputs = 5;
    assert_null(cg_csv_load(path, &o));
    assert_errmsg_contains("3 columns, but the model takes 5 features");
    assert_int_equal(cg_errcode(), CG_ERR_FORMAT);
    /* only with task NONE */
    o.task = CG_TASK_CLASSIFY;
    assert_null(cg_csv_load(path, &o));
    assert_int_equal(cg_errcode(), CG_ERR_ARG);
    unlink(path);
}

static void test_csv_from_a_stream(void **state)
{
    (void)state;
    FILE *f = fopen(CSV("iris_small.csv"), "rb");
    assert_non_null(f);
    cg_dataset *ds = cg_csv_load_stream(f, "stdin", NULL);
    assert_non_null(ds);
    assert_int_equal(cg_dataset_classes(ds), 3);
    assert_near(feature(ds, 0, 0), (cg_float)5.1, 0);
    assert_true(feof(f));            /* read to the end, and left open */
    assert_int_equal(fclose(f), 0);
    cg_dataset_free(ds);
    f = fopen(CSV("bad_word.csv"), "rb");
    assert_non_null(f);
    assert_null(cg_csv_load_stream(f, "stdin", NULL));
    assert_errmsg_contains("stdin:3: column 2 'b': 'abc' is not a number");
    fclose(f);
    assert_null(cg_csv_load_stream(NULL, "stdin", NULL));
    assert_int_equal(cg_errcode(), CG_ERR_ARG);
}

static void test_csv_numbers(void **state)
{
    (void)state;
    /* The fast path and the strtod road give the same correctly rounded
     * doubles as the C library. */
    const char *text[] = {"0", "-0.5", "+3", "1e3", " 2.5 ", "123456789012345678901",
                          "0.1", "3.4e38", "1e-30", "1E-2", "0x10",
                          ".5", "5."};
    char path[] = "/tmp/cg_csv_numXXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    for (size_t i = 0; i < sizeof text / sizeof *text; i++)
        fprintf(f, "%s,%zu\n", text[i], i % 2);
    fclose(f);
    struct cg_csv_options o = {.header = CG_CSV_HEADER_OFF};
    cg_dataset *ds = cg_csv_load(path, &o);
    unlink(path);
    assert_non_null(ds);
    for (size_t i = 0; i < sizeof text / sizeof *text; i++)
        assert_true(feature(ds, i, 0) == (cg_float)strtod(text[i], NULL));
    cg_dataset_free(ds);
}

/* A 2.5 MB file crosses the reader's 1 MB chunks in every kind of place,
 * and one 1.5 MB quoted label makes the buffer grow. */
static void test_csv_large_file_across_chunks(void **state)
{
    (void)state;
    char path[] = "/tmp/cg_csv_bigXXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fprintf(f, "a,b,label\r\n");
    for (int i = 0; i < 100000; i++) {
        if (i == 50000) {
            fputs("1,2,\"", f);
            for (int k = 0; k < 150000; k++)
                fputs("long\n\"\"text", f);
            fputs("\"\r\n", f);
        }
        fprintf(f, "%d,%d.25,\"c%d\"\r\n", i, i, i % 3);
    }
    fclose(f);
    cg_dataset *ds = cg_csv_load(path, NULL);
    unlink(path);
    assert_non_null(ds);
    assert_int_equal(cg_dataset_size(ds), 100001);
    /* Classes: "c0" < "c1" < "c2" < "long...". */
    assert_int_equal(cg_dataset_classes(ds), 4);
    assert_int_equal(strlen(cg_dataset_class_name(ds, 3)), 150000 * 10);
    assert_int_equal(cg_dataset_label(ds, 50000), 3);
    /* Row 77778 of the file holds i = 77777 (one long row before it). */
    assert_near(feature(ds, 77778, 0), 77777, 0);
    assert_near(feature(ds, 77778, 1), 77777.25, 0.01);
    assert_int_equal(cg_dataset_label(ds, 77778), 77777 % 3);
    assert_int_equal(cg_dataset_label(ds, 99999 + 1), 99999 % 3);
    cg_dataset_free(ds);
}

/* ---- bad input ---------------------------------------------------------- */

static void expect_fail(const char *path, const struct cg_csv_options *o, cg_status code,
                        const char *msg)
{
    cg_clear_error();
    assert_null(cg_csv_load(path, o));
    assert_int_equal(cg_errcode(), code);
    assert_errmsg_contains(msg);
}

static void test_csv_rejects_missing_file(void **state)
{
    (void)state;
    expect_fail(CSV("no_such_file.csv"), NULL, CG_ERR_IO,
                "tests/data/csv/no_such_file.csv: cannot open: No such file");
}

static void test_csv_rejects_empty_file(void **state)
{
    (void)state;
    expect_fail(CSV("empty.csv"), NULL, CG_ERR_FORMAT, "empty.csv: empty file");
    expect_fail(CSV("blank_lines.csv"), NULL, CG_ERR_FORMAT, "blank_lines.csv: empty file");
}

static void test_csv_rejects_header_only(void **state)
{
    (void)state;
    char path[] = "/tmp/cg_csv_headXXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_true(write(fd, "a,b,label\n", 10) == 10);
    close(fd);
    expect_fail(path, NULL, CG_ERR_FORMAT, ": no data rows");
    unlink(path);
}

static void test_csv_wrong_delimiter_has_a_hint(void **state)
{
    (void)state;
    struct cg_csv_options o = {.delimiter = ';'};
    expect_fail(CSV("iris_small.csv"), &o, CG_ERR_ARG,
                "iris_small.csv: 1 column, no feature column besides the 1 label column "
                "(is the delimiter ';' right?)");
}

static void test_csv_rejects_ragged_row(void **state)
{
    (void)state;
    expect_fail(CSV("bad_ragged.csv"), NULL, CG_ERR_FORMAT,
                "bad_ragged.csv:3: expected 3 fields, found 2");
}

static void test_csv_rejects_non_numeric_feature(void **state)
{
    (void)state;
    expect_fail(CSV("bad_word.csv"), NULL, CG_ERR_FORMAT,
                "bad_word.csv:3: column 2 'b': 'abc' is not a number");
}

static void test_csv_rejects_nan(void **state)
{
    (void)state;
    expect_fail(CSV("bad_nan.csv"), NULL, CG_ERR_FORMAT,
                "bad_nan.csv:2: column 2 'b': NaN is not allowed");
}

static void test_csv_rejects_infinity(void **state)
{
    (void)state;
    expect_fail(CSV("bad_inf.csv"), NULL, CG_ERR_FORMAT,
                "bad_inf.csv:2: column 2 'b': 'inf' is infinite or out of range");
}

static void test_csv_rejects_out_of_range(void **state)
{
    (void)state;
    char path[] = "/tmp/cg_csv_rangeXXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    /* 1e300 is a double but no float; 1e999 is neither. */
#ifdef CG_DOUBLE
    assert_true(write(fd, "a,b\n1e999,0\n", 13) == 13);
    const char *want = "column 1 'a': '1e999' is infinite or out of range";
#else
    assert_true(write(fd, "a,b\n1e300,0\n", 13) == 13);
    const char *want = "column 1 'a': '1e300' is infinite or out of range";
#endif
    close(fd);
    expect_fail(path, NULL, CG_ERR_FORMAT, want);
    unlink(path);
}

/* A CSV file of bytes (a NUL inside) under a temporary name; expect_fail. */
static void expect_bytes_fail(const char *bytes, size_t n, const char *want)
{
    char path[] = "/tmp/cg_csv_bytesXXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_true(write(fd, bytes, n) == (ssize_t)n);
    close(fd);
    expect_fail(path, NULL, CG_ERR_FORMAT, want);
    assert_errmsg_contains(path);
    unlink(path);
}

/* "x\0q" and "x\0r" were one label "x" each: 40 rows of 2 distinct labels
 * gave classes that were not the file's. A NUL is refused where it is; a
 * label that is not UTF-8 too (class names go into model files). */
static void test_csv_rejects_nul_and_bad_utf8(void **state)
{
    (void)state;
    static const char nul[] = "a,y\n1,x\0q\n2,x\0r\n";
    expect_bytes_fail(nul, sizeof nul - 1, ":2: a NUL byte at byte 4 of the record");
    static const char quoted[] = "a,y\n1,\"x\0\"\n";
    expect_bytes_fail(quoted, sizeof quoted - 1, ":2: a NUL byte");
    static const char latin1[] = "a,y\n1,caf\xe9\n2,tea\n";
    expect_bytes_fail(latin1, sizeof latin1 - 1, ":2: column 2 'y': the label is not valid UTF-8");
}

static void test_csv_rejects_empty_field(void **state)
{
    (void)state;
    expect_fail(CSV("bad_empty_field.csv"), NULL, CG_ERR_FORMAT,
                "bad_empty_field.csv:2: column 2 'b': empty field");
}

/* The field's newline is escaped: every message is one line. */
static void test_csv_line_numbers_count_quoted_newlines(void **state)
{
    (void)state;
    expect_fail(CSV("bad_after_multiline.csv"), NULL, CG_ERR_FORMAT,
                "bad_after_multiline.csv:4: column 1 'a': 'x\\ny' is not a number");
    assert_null(strchr(cg_errmsg(), '\n'));
}

static void test_csv_rejects_unclosed_quote(void **state)
{
    (void)state;
    expect_fail(CSV("bad_open_quote.csv"), NULL, CG_ERR_FORMAT,
                "bad_open_quote.csv:2: a quoted field is not closed");
}

static void test_csv_rejects_missing_label_column(void **state)
{
    (void)state;
    struct cg_csv_options by_name = {.label = "petal"};
    expect_fail(CSV("iris_small.csv"), &by_name, CG_ERR_ARG,
                "iris_small.csv: label column 'petal' does not exist");
    struct cg_csv_options by_index = {.label = "7"};
    expect_fail(CSV("iris_small.csv"), &by_index, CG_ERR_ARG,
                "iris_small.csv: label column 7 does not exist (the file has 3 columns");
    struct cg_csv_options two = {.label = "sepal_len,species"};
    expect_fail(CSV("iris_small.csv"), &two, CG_ERR_ARG, "one label column, not 2");
}

static void test_csv_rejects_unknown_class(void **state)
{
    (void)state;
    const char *names[] = {"setosa", "versicolor"};
    struct cg_csv_options o = {.class_names = names, .n_class_names = 2};
    expect_fail(CSV("iris_small.csv"), &o, CG_ERR_FORMAT,
                "iris_small.csv:4: column 3 'species': unknown class 'virginica'");
}

static void test_csv_skips_bad_rows_when_asked(void **state)
{
    (void)state;
    expect_fail(CSV("bad_mixed.csv"), NULL, CG_ERR_FORMAT, "bad_mixed.csv:3:");
    struct cg_csv_options o = {.skip_bad_rows = true};
    cg_dataset *ds = cg_csv_load(CSV("bad_mixed.csv"), &o);
    assert_non_null(ds);
    assert_int_equal(cg_dataset_size(ds), 2);        /* lines 2 and 5 */
    assert_int_equal(cg_dataset_skipped(ds), 2);     /* lines 3 and 4 */
    assert_non_null(cg_dataset_warning(ds));
    assert_non_null(strstr(cg_dataset_warning(ds),
                           "skipped 2 bad rows; first: tests/data/csv/bad_mixed.csv:3: "
                           "column 2 'b': 'oops' is not a number"));
    assert_near(feature(ds, 1, 0), 6.0, 0);
    cg_dataset_free(ds);
}

/* ---- allocation failures -------------------------------------------------- */

/* Fail the N-th allocation for every N: each run fails cleanly with
 * CG_ERR_NOMEM and frees everything, until one succeeds. */
static cg_dataset *load_quoted(void *ctx)
{
    (void)ctx;
    return cg_csv_load(CSV("quoted.csv"), NULL);
}

static cg_dataset *load_inputs_by_name(void *ctx)
{
    (void)ctx;
    struct cg_csv_options o = {.task = CG_TASK_NONE, .feature_names = iris_names,
                               .n_inputs = 2};
    return cg_csv_load(CSV("iris_small.csv"), &o);
}

static void test_csv_every_allocation_failure_is_clean(void **state)
{
    (void)state;
    cg_test_walk_dataset_allocations(load_quoted, NULL, 1000);
    cg_test_walk_dataset_allocations(load_inputs_by_name, NULL, 1000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_csv_header_and_string_labels),
        cmocka_unit_test(test_csv_semicolon_crlf_no_final_newline),
        cmocka_unit_test(test_csv_tab_without_header),
        cmocka_unit_test(test_csv_quoted_fields),
        cmocka_unit_test(test_csv_forced_options),
        cmocka_unit_test(test_csv_regression_targets),
        cmocka_unit_test(test_csv_features_only),
        cmocka_unit_test(test_csv_model_class_names),
        cmocka_unit_test(test_csv_model_inputs_by_header_name),
        cmocka_unit_test(test_csv_model_inputs_by_position),
        cmocka_unit_test(test_csv_from_a_stream),
        cmocka_unit_test(test_csv_numbers),
        cmocka_unit_test(test_csv_large_file_across_chunks),
        cmocka_unit_test(test_csv_rejects_missing_file),
        cmocka_unit_test(test_csv_rejects_empty_file),
        cmocka_unit_test(test_csv_rejects_header_only),
        cmocka_unit_test(test_csv_wrong_delimiter_has_a_hint),
        cmocka_unit_test(test_csv_rejects_ragged_row),
        cmocka_unit_test(test_csv_rejects_non_numeric_feature),
        cmocka_unit_test(test_csv_rejects_nan),
        cmocka_unit_test(test_csv_rejects_infinity),
        cmocka_unit_test(test_csv_rejects_out_of_range),
        cmocka_unit_test(test_csv_rejects_empty_field),
        cmocka_unit_test(test_csv_line_numbers_count_quoted_newlines),
        cmocka_unit_test(test_csv_rejects_nul_and_bad_utf8),
        cmocka_unit_test(test_csv_rejects_unclosed_quote),
        cmocka_unit_test(test_csv_rejects_missing_label_column),
        cmocka_unit_test(test_csv_rejects_unknown_class),
        cmocka_unit_test(test_csv_skips_bad_rows_when_asked),
        cmocka_unit_test(test_csv_every_allocation_failure_is_clean),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
