/*
 * The demo epoch as `cgrad train` reports it (validation included), on a
 * quiet machine and on a busy one, against the GEMM-only bound and the
 * peers, all in one run so that every target is a ratio of figures taken
 * in the same minutes (bench/README.md, "Threads on a busy machine").
 *
 *   quiet: `cgrad train` at --threads 1, 2 and auto (the default), best
 *          epoch of 3 from its --metrics file, the three runs alternating;
 *   busy:  the same with one spinning process per CPU minus one beside it
 *          (a browser, a compile, a second job);
 *   bound: the products of a step alone over an epoch (bench/roofline.h),
 *          2 threads, the faster way, best of 3, between the quiet runs;
 *   peers: PyTorch at its best setting (1 intra-op thread, OpenBLAS 2:
 *          bench/torch_epoch.py) when python3-torch is installed, and KANN
 *          with its batch split on 2 threads when $KANN_EPOCH names a
 *          program that trains the same epoch and prints its seconds (KANN
 *          is built outside this repository: bench/README.md).
 */
#define _DEFAULT_SOURCE /* realpath, mkdtemp */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "roofline.h"

#define FASHION_DIR "/usr/share/datasets/fashion-mnist"
#define ROUNDS 3
#define MAX_SPINNERS 256

static char cgrad[1024], dir[64] = "/tmp/cgrad_bench_threads_XXXXXX";

/* ---- a busy machine ------------------------------------------------------------ */

static pid_t spinners[MAX_SPINNERS];
static int n_spinners;

/* One process per CPU minus one that spins until killed (and at most for
 * 15 minutes, should this program die first). */
static void start_spinners(int n)
{
    for (n_spinners = 0; n_spinners < n && n_spinners < MAX_SPINNERS; n_spinners++) {
        pid_t pid = fork();
        if (pid == 0) {
            alarm(900);
            for (volatile unsigned long i = 0;; i++)
                ;
        }
        spinners[n_spinners] = pid;
    }
}

static void stop_spinners(void)
{
    for (int i = 0; i < n_spinners; i++)
        if (spinners[i] > 0) {
            kill(spinners[i], SIGKILL);
            waitpid(spinners[i], NULL, 0);
        }
    n_spinners = 0;
}

/* ---- cgrad train ------------------------------------------------------------------ */

/* The shortest epoch of `cgrad train` on the demo task, 3 epochs at
 * --threads `threads`, as its metrics file reports them; -1 on failure. */
static double train_best_epoch(const char *threads)
{
    char cmd[2048], path[128], line[256];
    double best = 1e30;

    snprintf(path, sizeof path, "%s/metrics.csv", dir);
    snprintf(cmd, sizeof cmd, "%s train %s --epochs %d --threads %s --quiet --metrics %s "
             "--out %s/m.safetensors >/dev/null", cgrad, FASHION_DIR, ROUNDS, threads, path, dir);
    if (system(cmd) != 0)
        return -1;
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f)) {
        const char *last = strrchr(line, ',');
        double s = last ? atof(last + 1) : 0;
        if (line[0] >= '0' && line[0] <= '9' && s > 0 && s < best)
            best = s;
    }
    fclose(f);
    return best < 1e30 ? best : -1;
}

struct three {
    double t1, t2, tauto;   /* best epochs at --threads 1, 2, auto */
};

/* Best of ROUNDS alternating runs at 1, 2 and auto threads; with
 * products, an epoch of the products alone after each round too. */
static struct three train_rows(double *products)
{
    struct three best = {1e30, 1e30, 1e30};
    const struct roof_net net = {4, {784, 256, 128, 10}, 128};
    const char *way;

    for (int r = 0; r < ROUNDS; r++) {
        double a = train_best_epoch("1"), b = train_best_epoch("2"), c = train_best_epoch("auto");
        if (a < 0 || b < 0 || c < 0) {
            best.t1 = -1;
            return best;
        }
        best.t1 = a < best.t1 ? a : best.t1;
        best.t2 = b < best.t2 ? b : best.t2;
        best.tauto = c < best.tauto ? c : best.tauto;
        if (products) {
            double p = roof_products_epoch(&net, 2, 60000 / net.batch, &way);
            *products = p < *products ? p : *products;
        }
    }
    return best;
}

/* ---- peers ------------------------------------------------------------------------- */

/* The value column of the first table row a command prints; -1 if none.
 * label (size cap, or NULL): that row's first column. */
static double row_value(const char *cmd, char *label, size_t cap)
{
    char line[1024];
    double v = -1;
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    while (fgets(line, sizeof line, p)) {
        const char *bar = strchr(line + 1, '|');
        if (line[0] == '|' && bar && v < 0) {
            v = atof(bar + 1);
            if (label) {
                const char *first = line + 1 + strspn(line + 1, " ");
                int len = (int)(bar - first);
                while (len > 0 && first[len - 1] == ' ')
                    len--;
                snprintf(label, cap, "%.*s", len, first);
            }
        }
    }
    pclose(p);
    return v;
}

static double torch_epoch(void)
{
    if (system("/usr/bin/python3 -c 'import torch' 2>/dev/null") != 0)
        return -1;
    return row_value("OPENBLAS_NUM_THREADS=2 /usr/bin/python3 bench/torch_epoch.py 1", NULL, 0);
}

/* $KANN_EPOCH DIR THREADS EPOCHS (bench/peers/kann_epoch.c) prints one
 * table row: "| kann ... | SECONDS | s | ... |", its best epoch; label gets
 * its first column. As many epochs as cgrad's row is the best of. OpenBLAS
 * at one thread, should KANN use it: kann_mt's threads are the parallelism,
 * and two threads each running a 2-thread OpenBLAS ran 4x slower. */
static double kann_epoch(char *label, size_t cap)
{
    const char *prog = getenv("KANN_EPOCH");
    char cmd[1024];
    if (!prog || access(prog, X_OK) != 0)
        return -1;
    snprintf(cmd, sizeof cmd, "OPENBLAS_NUM_THREADS=1 %s %s 2 %d", prog, FASHION_DIR,
             ROUNDS * ROUNDS);
    return row_value(cmd, label, cap);
}

/* ---- the rows ---------------------------------------------------------------------- */

static void print_rows(const char *kind, struct three t)
{
    printf("| demo epoch of cgrad train, %s, --threads 1 | %.3f | s | best of %d, validation "
           "included |\n", kind, t.t1, ROUNDS * ROUNDS);
    printf("| demo epoch of cgrad train, %s, --threads 2 | %.3f | s | %.2fx --threads 1 |\n",
           kind, t.t2, t.t2 / t.t1);
    printf("| demo epoch of cgrad train, %s, --threads auto (%d) | %.3f | s | %.2fx --threads 1 "
           "|\n", kind, cg_cpu_count(), t.tauto, t.tauto / t.t1);
}

int main(void)
{
    const char *build = getenv("BUILD") ? getenv("BUILD") : "build";
    char rel[512];
    double products = 1e30;

    if (access(FASHION_DIR, R_OK) != 0) {
        printf("| threads rows | skipped | | no %s (scripts/deps.sh demo installs it) |\n",
               FASHION_DIR);
        return 0;
    }
    snprintf(rel, sizeof rel, "%s/cgrad", build);
    if (!realpath(rel, cgrad) || !mkdtemp(dir)) {
        printf("| threads rows | FAILED | | no %s |\n", rel);
        return 1;
    }
    struct three quiet = train_rows(&products);
    start_spinners(cg_cpu_count() - 1);
    struct three busy = train_rows(NULL);
    stop_spinners();
    if (quiet.t1 < 0 || busy.t1 < 0) {
        printf("| threads rows | FAILED | | cgrad train failed |\n");
        return 1;
    }
    print_rows("quiet", quiet);
    print_rows("busy", busy);
    printf("| demo GEMM-only epoch, 2 threads | %.3f | s | the products alone, best of %d, "
           "measured between the quiet runs: %.0f%% of the --threads 2 epoch |\n", products,
           ROUNDS, 100 * products / quiet.t2);
    char kann_label[256] = "kann";
    double torch = torch_epoch(), kann = kann_epoch(kann_label, sizeof kann_label);
    if (torch > 0)
        printf("| pytorch epoch (1 intra-op thread, OPENBLAS_NUM_THREADS 2), this run | %.3f | s "
               "| %.2fx cgrad's --threads 2 epoch |\n", torch, torch / quiet.t2);
    if (kann > 0)
        printf("| %s, this run | %.3f | s | %.2fx cgrad's --threads 2 epoch |\n",
               kann_label, kann, kann / quiet.t2);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : 1;
}
