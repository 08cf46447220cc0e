/*
 * The exported C model (`cgrad export`) against `cgrad predict`, on the
 * demo model and the 10,000 Fashion-MNIST test images: the generated code's
 * size, its predictions per second (float and int8) and the library's on the
 * same rows in the same run, and how often the int8 export's top class is
 * the float model's (the demo model itself, the issue's >= 99%).
 *
 * The demo model is trained first with scripts/demo.sh's settings (5
 * epochs, seed 1, 2 threads), unless CG_BENCH_MODEL names a model file. The
 * generated files are compiled with `cc -std=c99 -O2` as shared objects and
 * loaded with dlopen, so that both sides run in this process on the same
 * rows. Rows per second, best of 3 rounds, the sides interleaved in each:
 *   - export float / int8: NAME_predict on one row at a time, 1 thread;
 *   - library batched: what `cgrad predict` computes, normalization, the
 *     forward pass on 256 rows at once (OpenBLAS, 1 thread) and softmax;
 *   - library one row at a time: the same with batches of 1 (what a
 *     program that embeds libcgrad and predicts as rows arrive would do);
 *   - `cgrad predict` itself on a CSV of the same rows, the whole command
 *     (reading the CSV, JSON out to /dev/null), 1 thread.
 * Prints rows of a markdown table: | metric | value | unit | note |.
 */
#define _DEFAULT_SOURCE /* realpath, mkdtemp */
#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cgrad.h"

#define FASHION_DIR "/usr/share/datasets/fashion-mnist"
#define ROUNDS 3
#define BATCH 256

typedef int (*predict_fn)(const float *x, float *out);

static char tmp[] = "/tmp/cgrad_bench_export_XXXXXX";
static char cgrad[1024];

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int shell(const char *fmt, const char *a, const char *b)
{
    char cmd[8192];
    snprintf(cmd, sizeof cmd, fmt, a, b);
    return system(cmd);
}

/* The model to measure: CG_BENCH_MODEL, or the demo model trained now. */
static int demo_model(char *path, size_t n)
{
    const char *given = getenv("CG_BENCH_MODEL");
    if (given) {
        snprintf(path, n, "%s", given);
        return 0;
    }
    snprintf(path, n, "%s/demo.safetensors", tmp);
    return shell("'%s' train " FASHION_DIR " --hidden 256,128 --act relu --optim adam "
                 "--lr 1e-3 --batch 128 --epochs 5 --seed 1 --threads 2 --quiet --out '%s' "
                 ">/dev/null", cgrad, path);
}

/* The export's .text + .rodata bytes, from `size -A` of a plain object. */
static long object_bytes(const char *c_file)
{
    char cmd[8192];
    long total = 0, v;
    char name[64];
    snprintf(cmd, sizeof cmd, "cc -std=c99 -O2 -c '%s' -o '%s.o' && size -A '%s.o'", c_file,
             c_file, c_file);
    FILE *p = popen(cmd, "r");
    char line[256];
    while (p && fgets(line, sizeof line, p))
        if (sscanf(line, "%63s %ld", name, &v) == 2 &&
            (strcmp(name, ".text") == 0 || strncmp(name, ".rodata", 7) == 0))
            total += v;
    if (!p || pclose(p) != 0)
        return -1;
    return total;
}

/* Export m as <tmp>/<name>.c, build it as a shared object, load its
 * predict function. */
static predict_fn build(const cg_model *m, const struct cg_export_options *o, long *c_bytes,
                        long *obj_bytes)
{
    char c[1100], so[1100], sym[64];
    struct cg_export_report rep;
    snprintf(c, sizeof c, "%s/%s.c", tmp, o->name);
    snprintf(so, sizeof so, "%s/%s.so", tmp, o->name);
    if (cg_model_export_c(m, c, o, &rep) != CG_OK) {
        fprintf(stderr, "bench_export: %s\n", cg_errmsg());
        return NULL;
    }
    *c_bytes = (long)rep.c_bytes;
    *obj_bytes = object_bytes(c);
    if (shell("cc -std=c99 -O2 -fPIC -shared '%s' -o '%s' -lm", c, so) != 0)
        return NULL;
    void *h = dlopen(so, RTLD_NOW | RTLD_LOCAL);
    snprintf(sym, sizeof sym, "%s_predict", o->name);
    return h ? (predict_fn)(uintptr_t)dlsym(h, sym) : NULL;
}

/* x: [n, 784] raw rows -> the export's top classes; returns the seconds. */
static double run_export(predict_fn f, const float *x, size_t n, int in, int *top, float *y)
{
    double t = now();
    for (size_t r = 0; r < n; r++)
        top[r] = f(x + r * (size_t)in, y);
    return now() - t;
}

/* What `cgrad predict` computes, batch by batch: normalize, forward,
 * softmax, batch rows at a time; top: [n] the argmax. Returns the seconds. */
static double run_library(cg_trainer *tr, const struct cg_norm *norm, const cg_float *raw,
                          size_t n, int in, int out, cg_float *xb, cg_float *yb, int *top,
                          int batch)
{
    double t = now();
    for (size_t at = 0; at < n; at += (size_t)batch) {
        int rows = n - at < (size_t)batch ? (int)(n - at) : batch;
        memcpy(xb, raw + at * (size_t)in, (size_t)rows * (size_t)in * sizeof *xb);
        cg_norm_apply(norm, xb, (size_t)rows);
        struct cg_batch b = {xb, NULL, NULL, rows};
        cg_trainer_forward(tr, &b, yb, NULL);
        cg_kernel_softmax_rows(yb, yb, rows, out);
        for (int i = 0; i < rows; i++) {
            int best = 0;
            for (int c = 1; c < out; c++)
                best = yb[i * out + c] > yb[i * out + best] ? c : best;
            top[at + (size_t)i] = best;
        }
    }
    return now() - t;
}

/* The normalization the model file records ("zscore N off... scale..."). */
static int read_norm(const struct cg_model_meta *meta, struct cg_norm *norm, int in)
{
    const char *t = meta->normalization;
    char kind[16];
    int n, used;
    if (!t || sscanf(t, "%15s %d%n", kind, &n, &used) != 2 || n != in)
        return -1;
    cg_float *v = calloc(2 * (size_t)n, sizeof *v);
    const char *p = t + used;
    for (int i = 0; v && i < 2 * n; i++) {
        char *end;
        v[i] = (cg_float)strtod(p, &end);
        p = end;
    }
    int rc = v && cg_norm_init(norm, strcmp(kind, "minmax") == 0 ? CG_NORM_MINMAX
                                                                : CG_NORM_ZSCORE,
                               n, v, v + n) == CG_OK ? 0 : -1;
    free(v);
    return rc;
}

/* The test images as raw rows, and as a CSV for `cgrad predict`. */
static size_t load_rows(cg_float **raw, float **xf, int in, const char *csv)
{
    cg_dataset *train = NULL, *test = NULL;
    if (cg_idx_load_dir(FASHION_DIR, &train, &test) != CG_OK || !test ||
        cg_dataset_features(test) != in)
        return 0;
    size_t n = cg_dataset_size(test);
    FILE *f = fopen(csv, "w");
    *raw = calloc(n * (size_t)in, sizeof **raw);
    *xf = calloc(n * (size_t)in, sizeof **xf);
    for (size_t i = 0; f && *raw && *xf && i < n; i++) {
        cg_dataset_row(test, i, *raw + i * (size_t)in);
        for (int j = 0; j < in; j++) {
            (*xf)[i * (size_t)in + (size_t)j] = (float)(*raw)[i * (size_t)in + (size_t)j];
            fprintf(f, j ? ",%d" : "%d", (int)(*raw)[i * (size_t)in + (size_t)j]);
        }
        fputc('\n', f);
    }
    if (f)
        fclose(f);
    cg_dataset_free(train);
    cg_dataset_free(test);
    return f && *raw && *xf ? n : 0;
}

int main(void)
{
    const char *b = getenv("BUILD") ? getenv("BUILD") : "build";
    char rel[512], model_path[1024], csv[1100];
    struct cg_model_meta meta;
    struct cg_norm norm;
    snprintf(rel, sizeof rel, "%s/cgrad", b);
    if (access(FASHION_DIR, R_OK) != 0) {
        printf("| export: predictions per second | skipped | | no %s "
               "(scripts/deps.sh demo installs it) |\n", FASHION_DIR);
        return 0;
    }
    char *abs = realpath(rel, NULL);
    if (abs)
        snprintf(cgrad, sizeof cgrad, "%s", abs);
    free(abs);
    if (!abs || !mkdtemp(tmp) ||
        demo_model(model_path, sizeof model_path) != 0) {
        printf("| export | FAILED | | cannot train the demo model with %s |\n", rel);
        return 1;
    }
    cg_model *m = cg_model_load(model_path, &meta);
    int in = cg_model_input_size(m), out = cg_model_output_size(m);
    if (!m || read_norm(&meta, &norm, in) != 0) {
        printf("| export | FAILED | | %s: %s |\n", model_path, cg_errmsg());
        return 1;
    }
    struct cg_export_options of = {.name = "fm_float", .classify = true, .n_norm = in,
                                   .norm_offset = norm.offset, .norm_scale = norm.scale};
    struct cg_export_options o8 = of;
    o8.name = "fm_int8";
    o8.int8 = true;
    long c_f = 0, c_8 = 0, obj_f = 0, obj_8 = 0;
    predict_fn pf = build(m, &of, &c_f, &obj_f), p8 = build(m, &o8, &c_8, &obj_8);
    cg_float *raw = NULL;
    float *xf = NULL;
    snprintf(csv, sizeof csv, "%s/rows.csv", tmp);
    size_t n = load_rows(&raw, &xf, in, csv);
    cg_set_blas_threads(1);
    cg_trainer *tr = cg_trainer_new(m, CG_LOSS_CROSS_ENTROPY, 1);
    cg_float *xb = calloc((size_t)BATCH * (size_t)in, sizeof *xb);
    cg_float *yb = calloc((size_t)BATCH * (size_t)out, sizeof *yb);
    int *top_f = calloc(n + 1, sizeof *top_f), *top_8 = calloc(n + 1, sizeof *top_8);
    int *top_l = calloc(n + 1, sizeof *top_l);
    float *y = calloc((size_t)out, sizeof *y);
    if (!pf || !p8 || !n || !tr || !xb || !yb || !top_f || !top_8 || !top_l || !y) {
        printf("| export | FAILED | | cannot build, load or run the exported files |\n");
        return 1;
    }
    double best_f = HUGE_VAL, best_8 = HUGE_VAL, best_l = HUGE_VAL, best_cmd = HUGE_VAL;
    double best_1 = HUGE_VAL;
    for (int round = 0; round < ROUNDS; round++) {
        double t = run_export(pf, xf, n, in, top_f, y);
        best_f = t < best_f ? t : best_f;
        t = run_library(tr, &norm, raw, n, in, out, xb, yb, top_l, BATCH);
        best_l = t < best_l ? t : best_l;
        t = run_library(tr, &norm, raw, n, in, out, xb, yb, top_l, 1);
        best_1 = t < best_1 ? t : best_1;
        t = run_export(p8, xf, n, in, top_8, y);
        best_8 = t < best_8 ? t : best_8;
        char cmd[4096];
        snprintf(cmd, sizeof cmd, "'%s' predict '%s' '%s' --json --threads 1 >/dev/null", cgrad,
                 model_path, csv);
        t = now();
        if (system(cmd) != 0) {
            printf("| export | FAILED | | %s |\n", cmd);
            return 1;
        }
        t = now() - t;
        best_cmd = t < best_cmd ? t : best_cmd;
    }
    size_t agree_f = 0, agree_8 = 0;
    for (size_t r = 0; r < n; r++) {
        agree_f += top_f[r] == top_l[r];
        agree_8 += top_8[r] == top_l[r];
    }
    double rn = (double)n;
    printf("| export: generated C, float | %ld | bytes | source; .text + .rodata of `cc -O2 "
           "-c`: %ld bytes (demo model, %zu parameters) |\n", c_f, obj_f,
           cg_model_num_params(m));
    printf("| export: generated C, int8 | %ld | bytes | source; .text + .rodata: %ld bytes "
           "(%.2fx smaller than float) |\n", c_8, obj_8, (double)obj_f / (double)obj_8);
    printf("| export: float predict | %.0f | rows/s | 1 row at a time, 1 thread; %.2fx "
           "`cgrad predict`, %.2fx the library's forward one row at a time, %.2fx its "
           "batched forward, in the same run |\n", rn / best_f, best_cmd / best_f,
           best_1 / best_f, best_l / best_f);
    printf("| export: int8 predict | %.0f | rows/s | %.2fx `cgrad predict`, %.2fx the "
           "library one row at a time, %.2fx batched |\n", rn / best_8, best_cmd / best_8,
           best_1 / best_8, best_l / best_8);
    printf("| export: library forward, one row at a time | %.0f | rows/s | the same as "
           "batched, with batches of 1 |\n", rn / best_1);
    printf("| export: library batched forward | %.0f | rows/s | what `cgrad predict` "
           "computes: normalize, forward 256 rows (OpenBLAS 1 thread), softmax |\n",
           rn / best_l);
    printf("| export: `cgrad predict` command | %.0f | rows/s | %zu rows from a CSV, JSON "
           "to /dev/null, --threads 1 |\n", rn / best_cmd, n);
    printf("| export: int8 top class = float model's | %.2f | %% | the demo model on the "
           "%zu Fashion-MNIST test images (float export: %.2f%%) |\n",
           100.0 * (double)agree_8 / rn, n, 100.0 * (double)agree_f / rn);
    cg_trainer_free(tr);
    cg_model_free(m);
    cg_model_meta_deinit(&meta);
    cg_norm_deinit(&norm);
    free(raw), free(xf), free(xb), free(yb), free(top_f), free(top_8), free(top_l), free(y);
    return shell("rm -rf '%s'%s", tmp, "") == 0 ? 0 : 1;
}
