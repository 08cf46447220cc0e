/*
 * Data-layer benchmark (not a test): CSV parsing throughput on a generated
 * 100 MB table, the memory that table takes once loaded, the time to load
 * Fashion-MNIST from its gzipped IDX files, and one epoch of mini-batches.
 * Prints rows of a markdown table: | metric | value | unit | note |.
 *
 *     build/release/bench/bench_data [csv-megabytes] [fashion-mnist-dir]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "cgrad.h"

#define FEATURES 16

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double max_rss_mb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_maxrss / 1024.0;     /* kilobytes on Linux */
}

/* Write rows of FEATURES numbers like "-12.3456" and a class 0..9 until the
 * file holds `bytes`; returns the row count. */
static long write_table(FILE *f, long bytes)
{
    cg_rng rng;
    long rows = 0, written = 0;
    char line[512];

    cg_rng_seed(&rng, 1);
    fputs("f0", f);
    for (int j = 1; j < FEATURES; j++)
        fprintf(f, ",f%d", j);
    fputs(",label\n", f);
    while (written < bytes) {
        int n = 0;
        for (int j = 0; j < FEATURES; j++) {
            int v = (int)cg_rng_below(&rng, 2000000) - 1000000;
            n += snprintf(line + n, sizeof line - (size_t)n, "%s%d.%04d", v < 0 ? "-" : "",
                          abs(v) / 10000, abs(v) % 10000);
            line[n++] = ',';
        }
        n += snprintf(line + n, sizeof line - (size_t)n, "%u\n", cg_rng_below(&rng, 10));
        fwrite(line, 1, (size_t)n, f);
        written += n;
        rows++;
    }
    return rows;
}

static int bench_csv(long mb)
{
    char path[] = "/tmp/cg_bench_csv_XXXXXX";
    int fd = mkstemp(path);
    FILE *f;
    long rows;
    long size;
    double t0, t1, rss0;
    cg_dataset *ds;

    if (fd < 0 || !(f = fdopen(fd, "w"))) {
        fprintf(stderr, "bench_data: cannot create %s\n", path);
        return 1;
    }
    rows = write_table(f, mb << 20);
    size = ftell(f);
    fclose(f);
    rss0 = max_rss_mb();
    t0 = now();
    ds = cg_csv_load(path, NULL);
    t1 = now();
    unlink(path);
    if (!ds) {
        fprintf(stderr, "bench_data: %s\n", cg_errmsg());
        return 1;
    }
    double numbers = (double)rows * (FEATURES * sizeof(cg_float) + sizeof(int)) / 1048576.0;
    printf("| csv parse | %.0f | MB/s | %.0f MB generated, %ld rows x %d numbers, 1 core |\n",
           (double)size / 1048576.0 / (t1 - t0), (double)size / 1048576.0, rows, FEATURES + 1);
    printf("| csv load memory | %.0f | MB | peak RSS growth; the parsed numbers are %.0f MB |\n",
           max_rss_mb() - rss0, numbers);
    cg_dataset_free(ds);
    return 0;
}

static int bench_idx(const char *dir)
{
    cg_dataset *train, *test;
    double t0 = now(), t1;

    if (cg_idx_load_dir(dir, &train, &test) != CG_OK) {
        printf("| fashion-mnist load | - | s | %s |\n", cg_errmsg());
        return 0;
    }
    t1 = now();
    printf("| fashion-mnist load | %.3f | s | gzipped IDX, %zu + %zu images |\n", t1 - t0,
           cg_dataset_size(train), cg_dataset_size(test));

    /* One epoch of shuffled, normalized batches of 128: bytes -> floats. */
    struct cg_norm norm;
    cg_loader *l = NULL;
    cg_float *x = malloc(128 * 784 * sizeof *x);
    int y[128];
    if (x && cg_norm_fit(&norm, train, CG_NORM_ZSCORE) == CG_OK &&
        (l = cg_loader_new(train, 128, true, false, 1)) && cg_loader_set_norm(l, &norm) == CG_OK) {
        t0 = now();
        while (cg_loader_next(l, x, y, NULL) > 0)
            ;
        t1 = now();
        printf("| loader epoch | %.1f | ms | 60000 images, batch 128, shuffled, z-score |\n",
               1e3 * (t1 - t0));
        cg_norm_deinit(&norm);
    }
    cg_loader_free(l);
    free(x);
    cg_dataset_free(train);
    cg_dataset_free(test);
    return 0;
}

int main(int argc, char **argv)
{
    long mb = argc > 1 ? atol(argv[1]) : 100;
    const char *dir = argc > 2 ? argv[2] : "/usr/share/datasets/fashion-mnist";

    if (bench_csv(mb) != 0)
        return 1;
    return bench_idx(dir);
}
