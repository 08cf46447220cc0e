/*
 * Exporting a model as C (nn/export.c, cli/export.c).
 *
 * Library tests (both builds): the name and size checks, nothing written on
 * a refusal, and cg_model_export_eval (the generated file's arithmetic)
 * against cg_model_forward for every activation, float and int8.
 *
 * End-to-end tests (float build only: they run the float `cgrad` program,
 * which is the same in both): models trained by `cgrad train` on the repo's
 * iris table, exported, the generated file compiled with
 * `-std=c99 -Wall -Wextra -Werror -pedantic` by gcc AND clang, run by a
 * small driver on every row, and compared with `cgrad predict --json`:
 * float outputs equal to 1e-5 relative, int8 top classes equal on >= 99%
 * of the rows. With /usr/share/datasets/fashion-mnist installed (scripts/
 * deps.sh demo), the demo model itself is trained (scripts/demo.sh's
 * settings) and its int8 export checked on the 10,000 test images; without
 * it, or in the sanitizer build, that test says so and passes (make demo
 * and make bench measure it too).
 */
#define _GNU_SOURCE
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "cg_test.h"

static char dir[256];

/* The sanitizer build (make check) runs the same paths on iris; training
 * the demo model under ASan would take minutes. */
#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED 0
#endif

/* ---- library tests ------------------------------------------------------------- */

static cg_model *random_model(const char *spec, uint64_t seed)
{
    cg_rng rng;
    cg_model *m = cg_model_from_spec(spec);
    assert_non_null(m);
    cg_rng_seed(&rng, seed);
    assert_int_equal(cg_model_init(m, CG_INIT_DEFAULT, &rng), CG_OK);
    return m;
}

static bool exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static void test_names_must_be_c_identifiers(void **state)
{
    (void)state;
    static const char *const bad[] = {"", "1abc", "a-b", "int", "static", "_x", "a b",
                                      "abcdefghijklmnopqrstuvwx", "caf\xc3\xa9"};
    static const char *const good[] = {"iris", "m_2", "Model", "abcdefghijklmnopqrstuvw"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cg_clear_error();
        assert_int_equal(cg_export_check_name(bad[i]), CG_ERR_ARG);
        assert_errmsg_contains("export name");
    }
    assert_int_equal(cg_export_check_name(NULL), CG_ERR_ARG);
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        assert_int_equal(cg_export_check_name(good[i]), CG_OK);
}

/* Every refusal happens before a byte is written: the old file stays. */
static void test_refusals_write_nothing(void **state)
{
    (void)state;
    const char *path = cg_test_path(dir, 0, "keep.c");
    cg_model *m = random_model("4-3-2", 1);
    cg_float off[4] = {0}, sc[4] = {1, 1, 1, 1};
    const char *names[] = {"a", "b"};
    cg_test_write_file(path, "old", 3, false);

    struct cg_export_options o = {.name = "bad-name"};
    assert_int_equal(cg_model_export_c(m, path, &o, NULL), CG_ERR_ARG);
    o = (struct cg_export_options){.n_norm = 3, .norm_offset = off, .norm_scale = sc};
    assert_int_equal(cg_model_export_c(m, path, &o, NULL), CG_ERR_ARG);
    assert_errmsg_contains("normalization has 3 features, the model 4");
    o = (struct cg_export_options){.classify = true, .classes = names, .n_classes = 1};
    assert_int_equal(cg_model_export_c(m, path, &o, NULL), CG_ERR_ARG);
    o = (struct cg_export_options){.header = path};
    assert_int_equal(cg_model_export_c(m, path, &o, NULL), CG_ERR_ARG);
    /* A weight that is not finite cannot be written as C. */
    cg_model_param(m, "2.weight")->data[3] = (cg_float)NAN;
    o = (struct cg_export_options){0};
    assert_int_equal(cg_model_export_c(m, path, &o, NULL), CG_ERR_ARG);
    assert_errmsg_contains("2.weight[3]");
    cg_model_free(m);
#ifdef CG_DOUBLE
    /* A double is refused when it does not fit a float. */
    m = random_model("2-2", 1);
    cg_model_param(m, "0.bias")->data[1] = 1e300;
    assert_int_equal(cg_model_export_c(m, path, &o, NULL), CG_ERR_ARG);
    assert_errmsg_contains("0.bias[1]");
    cg_model_free(m);
#endif
    /* Sizes: int8 sums must fit int32, buffers must fit the stack bound. */
    m = random_model("133145-1", 1);
    o = (struct cg_export_options){.int8 = true};
    assert_int_equal(cg_model_export_c(m, path, &o, NULL), CG_ERR_ARG);
    assert_errmsg_contains("int8 takes at most 133144");
    cg_model_free(m);
    m = random_model("300000-1", 1);
    o = (struct cg_export_options){0};
    assert_int_equal(cg_model_export_c(m, path, &o, NULL), CG_ERR_ARG);
    assert_errmsg_contains("stack");
    cg_model_free(m);

    char buf[8] = {0};
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fread(buf, 1, sizeof buf - 1, f), 3);
    fclose(f);
    assert_string_equal(buf, "old");
    assert_true(exists(path));
}

/* Out of memory at every allocation in turn: a clean CG_ERR_NOMEM, nothing
 * leaked, the old file kept; then success. */
static void test_every_allocation_failure_is_clean(void **state)
{
    (void)state;
    const char *path = cg_test_path(dir, 0, "oom.c");
    cg_model *m = random_model("5-7-3", 2);
    cg_float off[5] = {1, 2, 3, 4, 5}, sc[5] = {1, 1, 2, 2, 3}, x[10] = {0}, y[6];
    const char *names[] = {"a", "b", "c"};
    cg_test_write_file(path, "old", 3, false);
    for (int int8 = 0; int8 < 2; int8++) {
        struct cg_export_options o = {.name = "oom", .int8 = int8, .classify = true,
                                      .n_norm = 5, .norm_offset = off, .norm_scale = sc,
                                      .classes = names, .n_classes = 3};
        long n;
        for (n = 0; n < 1000; n++) {
            cg_test_alloc_install(n, 0);
            cg_status st = cg_model_export_eval(m, &o, x, 2, y, NULL);
            cg_test_alloc_remove();
            assert_int_equal(cg_test_alloc.live, 0);
            if (st == CG_OK)
                break;
            assert_int_equal(st, CG_ERR_NOMEM);
        }
        assert_true(n > 0 && n < 1000);
        for (n = 0; n < 1000; n++) {
            cg_test_alloc_install(n, 0);
            cg_status st = cg_model_export_c(m, path, &o, NULL);
            cg_test_alloc_remove();
            assert_int_equal(cg_test_alloc.live, 0);
            if (st == CG_OK)
                break;
            assert_int_equal(st, CG_ERR_NOMEM);
            FILE *f = fopen(path, "rb");
            char buf[4] = {0};
            assert_non_null(f);
            assert_int_equal(fread(buf, 1, 3, f), 3);
            fclose(f);
            assert_string_equal(buf, "old");
        }
        assert_true(n > 0 && n < 1000);
        cg_test_write_file(path, "old", 3, false);
    }
    cg_model_free(m);
}

/* The library's eval model: normalization, forward in eval mode, softmax. */
static void reference(cg_model *m, const cg_float *off, const cg_float *sc, const cg_float *x,
                      int rows, bool classify, cg_float *y)
{
    int in = cg_model_input_size(m), out = cg_model_output_size(m);
    cg_graph *g = cg_graph_new();
    cg_tensor *t = cg_graph_tensor(g, 2, (int[]){rows, in});
    assert_non_null(t);
    cg_graph_set_training(g, false);
    for (int r = 0; r < rows; r++)
        for (int j = 0; j < in; j++)
            t->data[r * in + j] = (x[r * in + j] - off[j]) * sc[j];
    cg_tensor *z = cg_model_forward(g, m, t, NULL);
    assert_non_null(z);
    if (classify)
        cg_kernel_softmax_rows(y, z->data, rows, out);
    else
        memcpy(y, z->data, (size_t)rows * (size_t)out * sizeof *y);
    cg_graph_free(g);
}

/* |a - b| <= tol * max(|a|, |b|) + floor. */
static bool rel_close(double a, double b, double tol, double floor)
{
    double s = fabs(a) > fabs(b) ? fabs(a) : fabs(b);
    return fabs(a - b) <= tol * s + floor;
}

static void check_eval(const char *spec, bool classify)
{
    enum { ROWS = 64 };
    cg_model *m = random_model(spec, 7);
    int in = cg_model_input_size(m), out = cg_model_output_size(m);
    cg_float *x = calloc((size_t)ROWS * (size_t)in, sizeof *x);
    cg_float *off = calloc((size_t)in, sizeof *off), *sc = calloc((size_t)in, sizeof *sc);
    cg_float *want = calloc((size_t)ROWS * (size_t)out, sizeof *want);
    cg_float *got = calloc((size_t)ROWS * (size_t)out, sizeof *got);
    int top[ROWS], agree = 0;
    cg_rng rng;
    cg_rng_seed(&rng, 3);
    for (int j = 0; j < in; j++) {
        off[j] = (cg_float)(4 * cg_rng_uniform(&rng) - 2);
        sc[j] = (cg_float)(0.2 + 1.8 * cg_rng_uniform(&rng));
    }
    for (int i = 0; i < ROWS * in; i++)
        x[i] = (cg_float)(10 * cg_rng_uniform(&rng) - 5);
    reference(m, off, sc, x, ROWS, classify, want);
    struct cg_export_options o = {.classify = classify, .n_norm = in, .norm_offset = off,
                                  .norm_scale = sc};
    for (int int8 = 0; int8 < 2; int8++) {
        o.int8 = int8;
        assert_int_equal(cg_model_export_eval(m, &o, x, ROWS, got, top), CG_OK);
        agree = 0;
        for (int r = 0; r < ROWS; r++) {
            int best = 0;
            for (int c = 0; c < out; c++) {
                if (want[r * out + c] > want[r * out + best])
                    best = c;
                /* 1e-5 relative; an output near 0 that is the difference of
                 * terms near 1 keeps their rounding, hence the 1e-6 floor. */
                if (!int8 && !rel_close((double)got[r * out + c], (double)want[r * out + c],
                                        1e-5, 1e-6)) {
                    print_error("%s float: row %d output %d: %.9g, library %.9g\n", spec, r,
                                c, (double)got[r * out + c], (double)want[r * out + c]);
                    fail();
                }
                /* int8: outputs near the float model's (a loose, absolute bound) */
                if (int8 && classify)
                    assert_true(fabs((double)got[r * out + c] - (double)want[r * out + c]) <
                                0.1);
            }
            agree += !classify || top[r] == best;
            if (!int8 && classify)
                assert_int_equal(top[r], best);
            if (!classify)
                assert_int_equal(top[r], 0);
        }
        if (int8)
            assert_true(agree >= ROWS * 9 / 10);
    }
    free(x), free(off), free(sc), free(want), free(got);
    cg_model_free(m);
}

static void test_eval_matches_forward_for_every_activation(void **state)
{
    (void)state;
    check_eval("6-16-4", true);
    check_eval("6-16-8-4:act=sigmoid", true);
    check_eval("6-16-4:act=tanh:dropout=0.3", true);
    check_eval("6-16-4:act=leaky_relu:slope=0.2", true);
    check_eval("6-4", true);
    check_eval("6-16-3:act=tanh:out=tanh", false);
    check_eval("6-16-2:out=sigmoid", false);
    check_eval("6-16-4:out=softmax", true);
}

/* ---- end-to-end tests ---------------------------------------------------------- */

#ifndef CG_DOUBLE

static char cgrad[PATH_MAX];
static char out[1 << 16], err[1 << 16];

static void read_into(const char *name, char *buf, size_t n)
{
    FILE *f = fopen(cg_test_path(dir, 7, name), "rb");
    size_t len = f ? fread(buf, 1, n - 1, f) : 0;
    buf[len] = '\0';
    if (f)
        fclose(f);
}

/* Run shell text in dir; stdout and stderr (truncated) land in out and err. */
#if defined(__GNUC__)
__attribute__((format(printf, 1, 2)))
#endif
static int sh(const char *fmt, ...);
static int sh(const char *fmt, ...)
{
    char cmd[8192], text[6144];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "cd '%s' && (%s) >stdout.txt 2>stderr.txt </dev/null", dir, text);
    int st = system(cmd);
    read_into("stdout.txt", out, sizeof out);
    read_into("stderr.txt", err, sizeof err);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

#define assert_sh(want, ...)                                                               \
    do {                                                                                   \
        int rc_ = sh(__VA_ARGS__);                                                         \
        if (rc_ != (want))                                                                 \
            print_error("exit %d, not %d\nstdout: %s\nstderr: %s\n", rc_, (want), out, err); \
        assert_int_equal(rc_, (want));                                                     \
    } while (0)

/* The number after "key": in a JSON text (NaN when absent). */
static double json_number(const char *json, const char *key)
{
    char pat[128];
    snprintf(pat, sizeof pat, "\"%s\": ", key);
    const char *p = strstr(json, pat);
    return p ? strtod(p + strlen(pat), NULL) : (double)NAN;
}

/* The driver: reads CSV rows of features from stdin, prints per row the
 * returned class and the outputs; then runs every row again on 4 threads
 * at once and says whether every answer had the same bits. */
static const char driver[] =
    "#include <pthread.h>\n#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n"
    "#include \"gen.h\"\n"
    "#define IN GEN_INPUTS\n#define OUT GEN_OUTPUTS\n"
    "static float *xs, *ys; static int *tops; static long n;\n"
    "static void *again(void *arg) {\n"
    "    long bad = 0; float y[OUT]; (void)arg;\n"
    "    for (long r = 0; r < n; r++) {\n"
    "        int t = gen_predict(xs + r * IN, y);\n"
    "        bad += t != tops[r] || memcmp(y, ys + r * OUT, sizeof y) != 0;\n"
    "    }\n"
    "    return (void *)bad;\n}\n"
    "int main(void) {\n"
    "    static char line[1 << 16]; long cap = 1024; pthread_t th[4]; long bad = 0;\n"
    "    xs = malloc(cap * IN * sizeof *xs);\n"
    "    while (fgets(line, sizeof line, stdin)) {\n"
    "        char *p = line;\n"
    "        if (!strchr(\"0123456789.-+\", line[0])) continue;   /* a header */\n"
    "        if (n == cap) { cap *= 2; xs = realloc(xs, cap * IN * sizeof *xs); }\n"
    "        for (int j = 0; j < IN; j++) { xs[n * IN + j] = strtof(p, &p); if (*p == ',') p++; }\n"
    "        n++;\n"
    "    }\n"
    "    ys = malloc((n + 1) * OUT * sizeof *ys); tops = malloc((n + 1) * sizeof *tops);\n"
    "    for (long r = 0; r < n; r++) {\n"
    "        tops[r] = gen_predict(xs + r * IN, ys + r * OUT);\n"
    "        printf(\"%d\", tops[r]);\n"
    "        for (int c = 0; c < OUT; c++) printf(\" %.9g\", ys[r * OUT + c]);\n"
    "        printf(\"\\n\");\n"
    "    }\n"
    "    for (int t = 0; t < 4; t++) pthread_create(&th[t], NULL, again, NULL);\n"
    "    for (int t = 0; t < 4; t++) { void *b; pthread_join(th[t], &b); bad += (long)b; }\n"
    "    fprintf(stderr, \"threads: %ld differences\\n\", bad);\n"
    "    return bad != 0;\n}\n";

#define STRICT "-std=c99 -Wall -Wextra -Werror -pedantic"

/* Compile gen.c (the export) strictly with cc at opt, link the driver:
 * run-<cc>. */
static void build_with(const char *cc, const char *opt)
{
    assert_sh(0, "%s %s %s -c gen.c -o gen-%s.o", cc, STRICT, opt, cc);
    assert_sh(0, "%s -O2 -pthread -D_POSIX_C_SOURCE=200809L driver.c gen-%s.o -o run-%s -lm",
              cc, cc, cc);
}

/* Export model as gen.c / gen.h with extra options and build it with gcc
 * and clang. */
static void export_and_build(const char *model, const char *extra)
{
    assert_sh(0, "'%s' export %s -o gen.c --header gen.h %s", cgrad, model, extra);
    build_with("gcc", "-O2");
    build_with("clang", "-O2");
}

/* The features of rows.csv: the first `keep` columns of src (its header too). */
static void write_features(const char *src, const char *dst, int keep)
{
    assert_sh(0, "cut -d, -f1-%d '%s' > '%s'", keep, src, dst);
}

/* The class index of predict's class name: the model's names, or a number. */
static int class_index(const struct cg_model_meta *meta, const char *name, size_t len)
{
    for (int c = 0; meta->classes && c < meta->n_classes; c++)
        if (strlen(meta->classes[c]) == len && strncmp(meta->classes[c], name, len) == 0)
            return c;
    return meta->classes ? -1 : atoi(name);
}

/* predict --json's answer for each row, as [rows, k] values in class order:
 * probabilities ("top": all classes) or the regression "values". */
static size_t parse_predict(const char *json, const struct cg_model_meta *meta, bool classify,
                            int k, double *vals, int *best, size_t max_rows)
{
    size_t rows = 0;
    const char *p = json;
    while ((p = strstr(p, classify ? "\"top\": [" : "\"values\": [")) && rows < max_rows) {
        p = strchr(p, '[') + 1;
        for (int i = 0; i < k; i++) {
            char *end;
            if (classify) {
                const char *name = strstr(p, "\"class\": \"") + 10;
                const char *q = strchr(name, '"');
                int c = class_index(meta, name, (size_t)(q - name));
                assert_true(c >= 0 && c < k);
                p = strstr(q, "\"probability\": ") + 15;
                vals[rows * (size_t)k + (size_t)c] = strtod(p, &end);
                if (i == 0)
                    best[rows] = c;
            } else {
                vals[rows * (size_t)k + (size_t)i] = strtod(p, &end);
            }
            p = end;
            if (!classify && *p == ',')
                p++;
        }
        rows++;
    }
    return rows;
}

/* Run the two builds on features.csv and compare each with predict's JSON
 * (in out when called): float to tol relative, else top classes on at
 * least min_agree of the rows. */
static double compare_runs(const char *model, bool classify, double tol, double min_agree)
{
    double share = 0;
    struct cg_model_meta meta;
    cg_model *m = cg_model_load(cg_test_path(dir, 0, model), &meta);
    assert_non_null(m);
    int k = cg_model_output_size(m);
    size_t max = 20000;
    double *want = calloc(max * (size_t)k, sizeof *want);
    int *best = calloc(max, sizeof *best);
    assert_sh(0, "'%s' predict %s features.csv --json --top %d > predict.json", cgrad, model,
              k);
    char *json = NULL;
    size_t len = 0;
    FILE *f = fopen(cg_test_path(dir, 1, "predict.json"), "rb");
    assert_non_null(f);
    assert_int_equal(getdelim(&json, &len, '\0', f) > 0, 1);
    fclose(f);
    size_t rows = parse_predict(json, &meta, classify, k, want, best, max);
    assert_true(rows > 0);
    free(json);
    for (int which = 0; which < 2; which++) {
        const char *cc = which ? "clang" : "gcc";
        assert_sh(0, "./run-%s < features.csv > run-%s.txt", cc, cc);
        assert_non_null(strstr(err, "threads: 0 differences"));
        FILE *r = fopen(cg_test_path(dir, 2, which ? "run-clang.txt" : "run-gcc.txt"), "r");
        assert_non_null(r);
        size_t agree = 0, i = 0;
        double worst = 0;
        for (; i < rows; i++) {
            int top;
            assert_int_equal(fscanf(r, "%d", &top), 1);
            agree += !classify || top == best[i];
            if (!classify)
                assert_int_equal(top, 0);
            for (int c = 0; c < k; c++) {
                double v, w = want[i * (size_t)k + (size_t)c];
                assert_int_equal(fscanf(r, "%lf", &v), 1);
                double s = fabs(v) > fabs(w) ? fabs(v) : fabs(w);
                if (s > 0 && fabs(v - w) / s > worst)
                    worst = fabs(v - w) / s;
            }
        }
        double dummy;
        assert_int_equal(fscanf(r, "%lf", &dummy), EOF);   /* no row more than predict */
        fclose(r);
        printf("  %s %s: %zu rows, worst relative difference %.3g, top class equal on "
               "%.2f%%\n", model, cc, rows, worst, 100.0 * (double)agree / (double)rows);
        if (tol > 0)
            assert_true(worst <= tol);
        assert_true((double)agree >= min_agree * (double)rows);
        if (!which)
            share = (double)agree / (double)rows;
    }
    free(want);
    free(best);
    cg_model_meta_deinit(&meta);
    cg_model_free(m);
    return share;
}

/* --check computes what the generated file computes: the share of top
 * classes equal to the float model's that it reports is the compiled
 * file's (measured by compare_runs) to within `rows` rows of n. */
static void check_agrees(const char *model, const char *data, double compiled, int rows,
                         double n)
{
    assert_sh(0, "'%s' export %s -o check.c --int8 --check %s --json", cgrad, model, data);
    double reported = json_number(out, "top_class_agreement");
    printf("  --check reports %.4f, the compiled file %.4f\n", reported, compiled);
    assert_true(fabs(reported - compiled) <= rows / n);
}

static void test_iris_classifiers_match_predict(void **state)
{
    (void)state;
    static const char *const acts[] = {
        "--act relu", "--act sigmoid", "--act tanh", "--act leaky_relu --dropout 0.2",
        "--hidden none"};
    write_features("iris.csv", "features.csv", 4);
    for (size_t i = 0; i < sizeof acts / sizeof acts[0]; i++) {
        assert_sh(0, "'%s' train iris.csv --hidden 16,8 %s --epochs 60 --lr 0.01 --quiet "
                  "--out iris.safetensors", cgrad, acts[i]);
        export_and_build("iris.safetensors", "--name gen");
        compare_runs("iris.safetensors", true, 1e-5, 1.0);
        /* the generated file names the classes */
        assert_sh(0, "grep -c 'case 2: return \"virginica\";' gen.c");
    }
    /* int8: the top class equal on >= 99% of the rows */
    export_and_build("iris.safetensors", "--name gen --int8");
    double share = compare_runs("iris.safetensors", true, 0, 0.99);
    check_agrees("iris.safetensors", "iris.csv", share, 0, 150);
}

static void test_regression_matches_predict(void **state)
{
    (void)state;
    /* iris's measurements without the species: petal width from the other three */
    write_features("iris.csv", "regress.csv", 4);
    write_features("iris.csv", "features.csv", 3);
    assert_sh(0, "'%s' train regress.csv --task regress --hidden 16 --act tanh --epochs 80 "
              "--lr 0.01 --quiet --out petal.safetensors", cgrad);
    export_and_build("petal.safetensors", "--name gen");
    compare_runs("petal.safetensors", false, 1e-5, 1.0);
    assert_sh(0, "grep -c gen_class_name gen.c || true");
    assert_string_equal(out, "0\n");
}

/* The stack bound of the header holds for gcc's own count (-fstack-usage):
 * gen_predict's frame and its largest helper's. */
static void check_stack(const char *opt, long bound)
{
    assert_sh(0, "gcc -std=c99 %s -fstack-usage -c gen.c -o stack.o", opt);
    FILE *f = fopen(cg_test_path(dir, 3, "stack.su"), "r");
    assert_non_null(f);
    char line[512];
    long predict = -1, helper = 0;
    while (fgets(line, sizeof line, f)) {
        char *tab = strchr(line, '\t');
        assert_non_null(tab);
        long n = strtol(tab + 1, NULL, 10);
        if (strstr(line, ":gen_predict\t"))
            predict = n;
        else if (n > helper)
            helper = n;
    }
    fclose(f);
    printf("  stack (gcc %s): gen_predict %ld + helper %ld <= %ld\n", opt, predict, helper,
           bound);
    assert_true(predict > 0);
    assert_true(predict + helper <= bound);
}

static void test_stack_bound_and_no_library(void **state)
{
    (void)state;
    static const char *const variants[] = {"", "--int8"};
    assert_sh(0, "'%s' train iris.csv --hidden 64,32 --act tanh --epochs 5 --quiet --out "
              "s.safetensors", cgrad);
    for (int v = 0; v < 2; v++) {
        assert_sh(0, "'%s' export s.safetensors -o gen.c --header gen.h %s", cgrad, variants[v]);
        assert_sh(0, "sed -n 's/^#define GEN_STACK_BYTES \\([0-9]*\\).*/\\1/p' gen.h");
        long bound = strtol(out, NULL, 10);
        assert_true(bound > 64 * 4);
        check_stack("-O0", bound);
        check_stack("-O2", bound);
        /* Freestanding, and nothing undefined but expf and tanhf; no
         * writable data (.data, .bss): no global mutable state. */
        for (int c = 0; c < 2; c++) {
            const char *cc = c ? "clang" : "gcc";
            assert_sh(0, "%s " STRICT " -O2 -ffreestanding -nostdlib -c gen.c -o free.o && "
                      "nm -u free.o | awk '{print $2}' | grep -v -x -e expf -e tanhf | wc -l",
                      cc);
            assert_string_equal(out, "0\n");
            assert_sh(0, "size -A free.o | awk '$1 == \".data\" || $1 == \".bss\" "
                      "{ s += $2 } END { print s + 0 }'");
            assert_string_equal(out, "0\n");
        }
    }
}

static void test_cli_refusals(void **state)
{
    (void)state;
    assert_sh(0, "'%s' train iris.csv --hidden 8 --epochs 2 --quiet --out r.safetensors",
              cgrad);
    assert_sh(0, "cp r.safetensors r-copy.safetensors");
    /* names that are not C identifiers, given or taken from the file name */
    assert_sh(2, "'%s' export r.safetensors -o ok.c --name 2fast", cgrad);
    assert_non_null(strstr(err, "cgrad: --name: export name \"2fast\" is not a C identifier"));
    assert_sh(2, "'%s' export r.safetensors -o my-model.c", cgrad);
    assert_non_null(strstr(err, "give --name NAME"));
    assert_sh(2, "'%s' export r.safetensors -o ok.c --name int", cgrad);
    assert_false(exists(cg_test_path(dir, 0, "ok.c")));
    /* no -o */
    assert_sh(2, "'%s' export r.safetensors", cgrad);
    assert_non_null(strstr(err, "missing -o FILE.c"));
    /* an output that is an input, under any name */
    assert_sh(2, "'%s' export r.safetensors -o ./r.safetensors --name r", cgrad);
    assert_non_null(strstr(err, "is the model"));
    assert_sh(2, "'%s' export r.safetensors -o x.c --header iris.csv --check iris.csv", cgrad);
    assert_non_null(strstr(err, "is --check's data"));
    assert_sh(2, "'%s' export r.safetensors -o x.c --header x.c", cgrad);
    assert_sh(0, "cmp r.safetensors r-copy.safetensors");
    /* --check on data that does not fit: nothing written */
    assert_sh(0, "printf '1,2\\n3,4\\n' > bad.csv");
    assert_sh(1, "'%s' export r.safetensors -o late.c --check bad.csv", cgrad);
    assert_false(exists(cg_test_path(dir, 0, "late.c")));
    /* a missing folder: one line naming the file */
    assert_sh(1, "'%s' export r.safetensors -o no/such/dir.c --name d", cgrad);
    assert_non_null(strstr(err, "no/such/dir.c"));
    /* -o and --out are one option; --json reports the sizes */
    assert_sh(0, "'%s' export r.safetensors --out good.c --json", cgrad);
    assert_non_null(strstr(out, "\"c_file\": \"good.c\""));
    assert_sh(0, "'%s' export --help", cgrad);
    assert_non_null(strstr(out, "--int8"));
    assert_non_null(strstr(out, "--check DATA"));
}

/* Class names and file names are data: whatever bytes they hold, the file
 * compiles and NAME_class_name returns them exactly. */
static void test_hostile_names_stay_data(void **state)
{
    (void)state;
    static const char *const names[] = {"a \"quoted\" */ name", "back\\slash?\?=?\?/",
                                        "new\nline\ttab", "caf\xc3\xa9 \x01\x7f"};
    cg_model *m = random_model("3-4-4", 5);
    struct cg_export_options o = {.name = "gen", .header = cg_test_path(dir, 1, "gen.h"),
                                  .classify = true, .classes = names, .n_classes = 4,
                                  .source = "dir/evil */ name?\?/\n.safetensors"};
    assert_int_equal(cg_model_export_c(m, cg_test_path(dir, 0, "gen.c"), &o, NULL), CG_OK);
    cg_model_free(m);
    const char *main_c =
        "#include <stdio.h>\n#include \"gen.h\"\n"
        "int main(void) { for (int c = 0; c <= 4; c++) { const char *s = gen_class_name(c);\n"
        "    if (s) fwrite(s, 1, __builtin_strlen(s) + 1, stdout); else fputs(\"NULL\", stdout); }\n"
        "    return 0; }\n";
    cg_test_write_file(cg_test_path(dir, 2, "names.c"), main_c, strlen(main_c), false);
    for (int c = 0; c < 2; c++) {
        const char *cc = c ? "clang" : "gcc";
        assert_sh(0, "%s " STRICT " -c gen.c -o names-gen.o && %s -O2 names.c names-gen.o -lm "
                  "-o names && ./names > names.out", cc, cc);
        char got[256];
        size_t at = 0;
        FILE *f = fopen(cg_test_path(dir, 3, "names.out"), "rb");
        assert_non_null(f);
        size_t len = fread(got, 1, sizeof got, f);
        fclose(f);
        for (int i = 0; i < 4; i++) {
            assert_true(at + strlen(names[i]) < len);
            assert_memory_equal(got + at, names[i], strlen(names[i]) + 1);
            at += strlen(names[i]) + 1;
        }
        assert_int_equal(len - at, 4);
        assert_memory_equal(got + at, "NULL", 4);
    }
}

/* The demo model (scripts/demo.sh's settings) on the Fashion-MNIST test
 * set: int8 top class equal to the float model's on >= 99% of the images. */
static void test_fashion_mnist_demo_model_int8(void **state)
{
    (void)state;
    const char *data = "/usr/share/datasets/fashion-mnist";
    if (SANITIZED) {
        printf("  sanitizer build: the demo model's int8 check runs in make test, make demo "
               "and make bench\n");
        return;
    }
    if (!exists(data)) {
        printf("  %s is not installed (scripts/deps.sh demo): the demo model's int8 check "
               "runs in make demo and make bench\n", data);
        return;
    }
    assert_sh(0, "'%s' train %s --hidden 256,128 --act relu --optim adam --lr 1e-3 "
              "--batch 128 --epochs 5 --seed 1 --threads 2 --quiet --out fm.safetensors",
              cgrad, data);
    /* the test images as CSV rows of raw pixels, for predict and the driver */
    cg_dataset *train = NULL, *test = NULL;
    assert_int_equal(cg_idx_load_dir(data, &train, &test), CG_OK);
    FILE *f = fopen(cg_test_path(dir, 0, "features.csv"), "w");
    cg_float x[784];
    assert_int_equal(cg_dataset_features(test), 784);
    for (size_t i = 0; i < cg_dataset_size(test); i++) {
        cg_dataset_row(test, i, x);
        for (int j = 0; j < 784; j++)
            fprintf(f, j ? ",%d" : "%d", (int)x[j]);
        fputc('\n', f);
    }
    fclose(f);
    cg_dataset_free(train);
    cg_dataset_free(test);
    export_and_build("fm.safetensors", "--name gen --int8 --check /usr/share/datasets/"
                     "fashion-mnist");
    double share = compare_runs("fm.safetensors", true, 0, 0.99);
    check_agrees("fm.safetensors", data, share, 3, 10000);
}

static int setup(void **state)
{
    (void)state;
    const char *build = getenv("BUILD");
    char rel[PATH_MAX];
    snprintf(rel, sizeof rel, "%s/cgrad", build && *build ? build : "build");
    if (!realpath(rel, cgrad)) {
        fprintf(stderr, "test_export: %s not found (build it first)\n", rel);
        return -1;
    }
    if (cg_test_dir_make(dir, sizeof dir, "cgrad-export-") != 0)
        return -1;
    cg_test_write_file(cg_test_path(dir, 0, "driver.c"), driver, strlen(driver), false);
    if (!realpath("examples/data/iris.csv", rel))
        return -1;
    return sh("cp '%s' iris.csv", rel) == 0 ? 0 : -1;
}

#else

static int setup(void **state)
{
    (void)state;
    return cg_test_dir_make(dir, sizeof dir, "cgrad-export-");
}

#endif /* CG_DOUBLE */

static int teardown(void **state)
{
    (void)state;
    return cg_test_dir_remove(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_must_be_c_identifiers),
        cmocka_unit_test(test_refusals_write_nothing),
        cmocka_unit_test(test_eval_matches_forward_for_every_activation),
        cmocka_unit_test(test_every_allocation_failure_is_clean),
#ifndef CG_DOUBLE
        cmocka_unit_test(test_iris_classifiers_match_predict),
        cmocka_unit_test(test_regression_matches_predict),
        cmocka_unit_test(test_stack_bound_and_no_library),
        cmocka_unit_test(test_cli_refusals),
        cmocka_unit_test(test_hostile_names_stay_data),
        cmocka_unit_test(test_fashion_mnist_demo_model_int8),
#endif
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
