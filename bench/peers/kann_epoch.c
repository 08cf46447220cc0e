/*
 * The demo epoch of bench_threads in KANN (github.com/attractivechaos/kann,
 * MIT), for the peers row of `make bench`: Fashion-MNIST, 784-256-128-10
 * ReLU, softmax cross-entropy, Adam at lr 1e-3, batch 128, the 60,000
 * training images a shuffled epoch (469 steps, the last of 96, as cgrad),
 * and in the timed epoch a validation pass over the 10,000 test images, as
 * in the seconds `cgrad train --metrics` reports. The batch is split over
 * the threads by KANN's own kann_mt().
 *
 * The work matches cgrad's epoch: the loader turns each batch's bytes into
 * z-scored floats inside the timed epoch, with the training set's mean and
 * std of x / 255 (cgrad's CG_NORM_ZSCORE for images, docs/DATA.md); the
 * training loss and accuracy are summed as cgrad sums them.
 *
 * KANN has no Adam (kann.h offers kann_RMSprop only), so Adam is written
 * here over KANN's flat parameter and gradient arrays (ann->x, ann->g), the
 * update PyTorch and cgrad make (optim/adam.c).
 *
 * KANN is not part of this repository: compile this file against a KANN
 * checkout outside it (bench/README.md, "KANN as a peer").
 *
 * Usage: kann_epoch DIR THREADS [EPOCHS]  (EPOCHS default 3)
 * Prints the epochs on stderr and one markdown row on stdout: the best
 * epoch's seconds. Exit 1 on a data or memory error, 2 on bad usage.
 */
#define _POSIX_C_SOURCE 199309L /* clock_gettime */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "kann.h"

#define N_IN 784
#define N_OUT 10
#define BATCH 128
#define MAX_EPOCHS 100

/* One IDX file's items: n rows of `row` bytes. */
struct idx {
    uint8_t *bytes;     /* the whole decompressed file */
    const uint8_t *rows;
    int n, row;
};

/* A split: images [n, 784] and their labels [n]. */
struct split {
    struct idx images, labels;
};

/* Figures of one epoch. */
struct epoch {
    double seconds, train_loss, train_acc, val_loss, val_acc;
};

static void die(const char *path, const char *what)
{
    fprintf(stderr, "kann_epoch: %s: %s\n", path, what);
    exit(1);
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n);
    if (!p)
        die("malloc", "out of memory");
    return p;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The decompressed bytes of a gzipped file; *size their count. */
static uint8_t *gz_read_all(const char *path, size_t *size)
{
    gzFile f = gzopen(path, "rb");
    size_t cap = 1 << 20, used = 0;
    uint8_t *buf = xmalloc(cap);
    int got;
    if (!f)
        die(path, "cannot open");
    while ((got = gzread(f, buf + used, (unsigned)(cap - used))) > 0) {
        used += (size_t)got;
        if (used == cap) {
            uint8_t *grown = realloc(buf, cap *= 2);
            if (!grown)
                die(path, "out of memory");
            buf = grown;
        }
    }
    if (got < 0)
        die(path, "not a readable gzip file");
    gzclose(f);
    *size = used;
    return buf;
}

/* dir/name, an IDX file of unsigned bytes with `ndim` dimensions. */
static struct idx idx_load(const char *dir, const char *name, int ndim)
{
    char path[1024];
    size_t size, row = 1;
    struct idx d;

    snprintf(path, sizeof path, "%s/%s", dir, name);
    d.bytes = gz_read_all(path, &size);
    size_t header = 4 + 4 * (size_t)ndim;
    if (size < header || be32(d.bytes) != (0x800u | (uint32_t)ndim))
        die(path, "not an IDX file of unsigned bytes with the expected dimensions");
    for (int i = 1; i < ndim; i++) {
        size_t dim = be32(d.bytes + 4 + 4 * i);
        if (dim == 0 || row > size / dim)
            die(path, "the header's dimensions do not match the file's size");
        row *= dim;
    }
    uint32_t n = be32(d.bytes + 4);
    if (row == 0 || n > INT32_MAX || (size - header) / row != n || (size - header) % row != 0)
        die(path, "the header's dimensions do not match the file's size");
    d.rows = d.bytes + header;
    d.n = (int)n;
    d.row = (int)row;
    return d;
}

static struct split split_load(const char *dir, const char *prefix)
{
    char images[64], labels[64], path[1024];
    struct split s;

    snprintf(images, sizeof images, "%s-images-idx3-ubyte.gz", prefix);
    snprintf(labels, sizeof labels, "%s-labels-idx1-ubyte.gz", prefix);
    s.images = idx_load(dir, images, 3);
    s.labels = idx_load(dir, labels, 1);
    snprintf(path, sizeof path, "%s/%s", dir, images);
    if (s.images.row != N_IN || s.images.n != s.labels.n)
        die(path, "not 28x28 images, one for each label");
    for (int i = 0; i < s.labels.n; i++)
        if (s.labels.rows[i] >= N_OUT)
            die(path, "a label is not in 0..9");
    return s;
}

/* lut[v]: pixel value v as the z-scored float (v / 255 - mean) / std, with
 * the population mean and std of every training pixel (two passes). */
static void zscore_table(const struct idx *train, float lut[256])
{
    size_t n = (size_t)train->n * (size_t)train->row;
    double sum = 0, sq = 0;
    for (size_t i = 0; i < n; i++)
        sum += train->rows[i] / 255.0;
    double mean = sum / (double)n;
    for (size_t i = 0; i < n; i++) {
        double d = train->rows[i] / 255.0 - mean;
        sq += d * d;
    }
    double std = sqrt(sq / (double)n);
    for (int v = 0; v < 256; v++)
        lut[v] = (float)(std > 0 ? (v / 255.0 - mean) / std : v / 255.0 - mean);
}

/* The batch of rows order[0..ms) of s: x [ms, 784] z-scored, y [ms, 10]
 * one-hot. order NULL: rows first.. in turn. */
static void fill_batch(const struct split *s, const int *order, int first, int ms,
                       const float lut[256], float *x, float *y)
{
    memset(y, 0, (size_t)ms * N_OUT * sizeof *y);
    for (int b = 0; b < ms; b++) {
        int r = order ? order[first + b] : first + b;
        const uint8_t *px = s->images.rows + (size_t)r * N_IN;
        for (int j = 0; j < N_IN; j++)
            x[b * N_IN + j] = lut[px[j]];
        y[b * N_OUT + s->labels.rows[r]] = 1;
    }
}

/* ---- Adam over KANN's flat arrays -------------------------------------------------- */

struct adam {
    float *m, *v;   /* [n] first and second moments */
    int n;
    long t;         /* steps taken */
};

/* PyTorch's Adam (cgrad's optim/adam.c): betas 0.9, 0.999, eps 1e-8.
 * p, g: [n]. */
static void adam_step(struct adam *a, float lr, float *restrict p, const float *restrict g)
{
    const double beta1 = 0.9, beta2 = 0.999;
    const float b1 = (float)beta1, b2 = (float)beta2, eps = 1e-8f;
    float *restrict m = a->m, *restrict v = a->v;
    a->t++;
    /* Rounded to float once a step, as cgrad's and PyTorch's. */
    const float step = (float)((double)lr / (1.0 - pow(beta1, (double)a->t)));
    const float bc2_sqrt = (float)sqrt(1.0 - pow(beta2, (double)a->t));
    for (int j = 0; j < a->n; j++) {
        m[j] = b1 * m[j] + (1 - b1) * g[j];
        v[j] = b2 * v[j] + (1 - b2) * g[j] * g[j];
        p[j] -= step * m[j] / (sqrtf(v[j]) / bc2_sqrt + eps);
    }
}

/* ---- the network and the epoch ----------------------------------------------------- */

static kann_t *demo_network(void)
{
    kad_node_t *t = kann_layer_input(N_IN);
    t = kad_relu(kann_layer_dense(t, 256));
    t = kad_relu(kann_layer_dense(t, 128));
    return kann_new(kann_layer_cost(t, N_OUT, KANN_C_CEM), 0);
}

/* Loss and error count of the batch just fed, on ms rows; adds to sums. */
static void add_batch(kann_t *ann, int ms, int cal_grad, double *loss, int *errors)
{
    int base = 0;
    *loss += (double)kann_cost(ann, 0, cal_grad) * ms;
    *errors += kann_class_error(ann, &base);
}

/* One epoch: shuffle, train on every training row in batches of BATCH,
 * validate on every test row; x [BATCH, 784] and y [BATCH, 10] are the
 * bound feed buffers. */
static struct epoch run_epoch(kann_t *ann, struct adam *adam, const struct split *train,
                              const struct split *test, const float lut[256], int *order,
                              float *x, float *y)
{
    struct epoch e;
    double t0 = now(), loss = 0;
    int errors = 0;

    kann_shuffle(train->images.n, order);
    kann_switch(ann, 1);
    for (int i = 0; i < train->images.n; i += BATCH) {
        int ms = train->images.n - i < BATCH ? train->images.n - i : BATCH;
        fill_batch(train, order, i, ms, lut, x, y);
        kann_set_batch_size(ann, ms);
        add_batch(ann, ms, 1, &loss, &errors);
        adam_step(adam, 1e-3f, ann->x, ann->g);
    }
    e.train_loss = loss / train->images.n;
    e.train_acc = 1 - (double)errors / train->images.n;

    loss = 0;
    errors = 0;
    kann_switch(ann, 0);
    for (int i = 0; i < test->images.n; i += BATCH) {
        int ms = test->images.n - i < BATCH ? test->images.n - i : BATCH;
        fill_batch(test, NULL, i, ms, lut, x, y);
        kann_set_batch_size(ann, ms);
        add_batch(ann, ms, 0, &loss, &errors);
    }
    e.val_loss = loss / test->images.n;
    e.val_acc = 1 - (double)errors / test->images.n;
    e.seconds = now() - t0;
    return e;
}

/* How the products ran, for the row: KANN's own loops, or CBLAS and
 * OpenBLAS's thread count. */
static const char *gemm_name(void)
{
#ifdef HAVE_CBLAS
    static char name[96];
    const char *t = getenv("OPENBLAS_NUM_THREADS");
    snprintf(name, sizeof name, "cblas_sgemm, OPENBLAS_NUM_THREADS %.32s", t ? t : "unset");
    return name;
#else
    return "KANN's own sgemm";
#endif
}

int main(int argc, char **argv)
{
    if (argc < 3 || argc > 4 || atoi(argv[2]) < 1 || atoi(argv[2]) > BATCH ||
        (argc == 4 && (atoi(argv[3]) < 1 || atoi(argv[3]) > MAX_EPOCHS))) {
        fprintf(stderr, "usage: kann_epoch FASHION_MNIST_DIR THREADS(1-%d) [EPOCHS(1-%d)]\n",
                BATCH, MAX_EPOCHS);
        return 2;
    }
    const int threads = atoi(argv[2]), epochs = argc == 4 ? atoi(argv[3]) : 3;
    struct split train = split_load(argv[1], "train"), test = split_load(argv[1], "t10k");
    float lut[256];
    zscore_table(&train.images, lut);

    kann_srand(1);
    kann_t *ann = demo_network();
    if (!ann)
        die("kann_new", "cannot build the network");
    if (threads > 1)
        kann_mt(ann, threads, BATCH);
    float *x = xmalloc((size_t)BATCH * N_IN * sizeof *x);
    float *y = xmalloc((size_t)BATCH * N_OUT * sizeof *y);
    kann_feed_bind(ann, KANN_F_IN, 0, &x);
    kann_feed_bind(ann, KANN_F_TRUTH, 0, &y);
    struct adam adam = {NULL, NULL, kann_size_var(ann), 0};
    adam.m = calloc((size_t)adam.n, sizeof *adam.m);
    adam.v = calloc((size_t)adam.n, sizeof *adam.v);
    int *order = xmalloc((size_t)train.images.n * sizeof *order);
    if (!adam.m || !adam.v)
        die("calloc", "out of memory");

    struct epoch best = {1e30, 0, 0, 0, 0}, first = best;
    for (int i = 0; i < epochs; i++) {
        struct epoch e = run_epoch(ann, &adam, &train, &test, lut, order, x, y);
        fprintf(stderr, "kann epoch %d: %.3f s, train loss %.4f acc %.4f, val loss %.4f acc "
                "%.4f\n", i + 1, e.seconds, e.train_loss, e.train_acc, e.val_loss, e.val_acc);
        if (i == 0)
            first = e;
        if (e.seconds < best.seconds)
            best = e;
    }
    printf("| kann epoch (%s%d thread%s, %s) | %.3f | s | best of %d epochs of %d "
           "parameters, validation on the %d test images included; val acc %.4f after "
           "epoch 1; Adam written over ann->x/ann->g (KANN has RMSprop only); z-scored "
           "pixels |\n", threads > 1 ? "kann_mt, " : "", threads, threads > 1 ? "s" : "",
           gemm_name(), best.seconds, epochs, adam.n, test.images.n, first.val_acc);

    if (threads > 1)
        kann_mt(ann, 0, 0); /* joins KANN's workers */
    kann_delete(ann);
    free(order);
    free(adam.m);
    free(adam.v);
    free(x);
    free(y);
    free(train.images.bytes);
    free(train.labels.bytes);
    free(test.images.bytes);
    free(test.labels.bytes);
    return 0;
}
