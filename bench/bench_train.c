/*
 * Training throughput of the demo task against the GEMM roofline measured in
 * the same run, and the step time of a tiny network where every cost is
 * cgrad's own. Prints markdown table rows (see bench/README.md).
 *
 *   demo:  Fashion-MNIST, 784-256-128-10 ReLU, cross-entropy, Adam, batch 128
 *   tiny:  4-8-3 ReLU, batch 8, Adam
 */
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "roofline.h"

#define FASHION_DIR "/usr/share/datasets/fashion-mnist"

static size_t n_mallocs;

/* Every malloc of the process, OpenBLAS's and libc's included: this
 * program's own malloc/calloc/realloc take precedence over libc's for every
 * shared library too (ELF symbol interposition) and count before they call
 * glibc's. */
extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t n);
static _Atomic size_t process_mallocs;

void *malloc(size_t n)
{
    process_mallocs++;
    return __libc_malloc(n);
}

void *calloc(size_t n, size_t size)
{
    process_mallocs++;
    return __libc_calloc(n, size);
}

void *realloc(void *p, size_t n)
{
    process_mallocs++;
    return __libc_realloc(p, n);
}

static void *counting_malloc(size_t n, void *ctx)
{
    (void)ctx;
    n_mallocs++;
    return malloc(n);
}

static void *counting_realloc(void *p, size_t n, void *ctx)
{
    (void)ctx;
    n_mallocs++;
    return realloc(p, n);
}

static void plain_free(void *p, void *ctx)
{
    (void)ctx;
    free(p);
}

static void die(const char *what)
{
    fprintf(stderr, "bench_train: %s: %s\n", what, cg_errmsg());
    exit(1);
}

/* Everything one training run holds. */
struct run {
    cg_model   *m;
    cg_optim   *opt;
    cg_trainer *tr;
    cg_rng      rng;
};

static void run_init(struct run *r, const char *spec, int threads)
{
    cg_rng_seed(&r->rng, 1);
    r->m = cg_model_from_spec(spec);
    if (!r->m || cg_model_init(r->m, CG_INIT_DEFAULT, &r->rng) != CG_OK)
        die("model");
    cg_tensor *flat = cg_model_flat(r->m);
    r->opt = cg_adam_new(&flat, 1, NULL);
    r->tr = cg_trainer_new(r->m, CG_LOSS_CROSS_ENTROPY, threads);
    if (!r->opt || !r->tr)
        die("optimizer or trainer");
}

static void run_free(struct run *r)
{
    cg_trainer_free(r->tr);
    cg_optim_free(r->opt);
    cg_model_free(r->m);
}

/* The parts of a demo step, each timed on its own: the medians over an
 * epoch's full batches. */
enum { PHASE_LOADER, PHASE_BACKWARD, PHASE_UPDATE, N_PHASES };
struct phases {
    double times[N_PHASES][1024];
    int    n;
    double median[N_PHASES];
};

/* One optimizer step on a batch, as `cgrad train` does it. */
static double step(struct run *r, const struct cg_batch *b)
{
    struct cg_batch_result res;
    if (cg_trainer_backward(r->tr, b, &r->rng, &res) != CG_OK ||
        cg_optim_step_zero_grad(r->opt, cg_trainer_pool(r->tr)) != CG_OK)
        die("step");
    return res.loss;
}

/* step, with the time of the backward and of the update into ph's row n
 * (the tiny step's instruction count stays free of the clock's). */
static double timed_step(struct run *r, const struct cg_batch *b, struct phases *ph)
{
    struct cg_batch_result res;
    double t0 = roof_now();
    if (cg_trainer_backward(r->tr, b, &r->rng, &res) != CG_OK)
        die("step");
    double t1 = roof_now();
    if (cg_optim_step_zero_grad(r->opt, cg_trainer_pool(r->tr)) != CG_OK)
        die("step");
    if (ph->n < 1024) {
        ph->times[PHASE_BACKWARD][ph->n] = t1 - t0;
        ph->times[PHASE_UPDATE][ph->n] = roof_now() - t1;
    }
    return res.loss;
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The roofline's products alone, one step, on the pool of the training run,
 * timed between training steps (see interleaved_share). */
struct interleave {
    const struct roof_net *net;
    struct roof_buffers    b;
    struct roof_job        job;
    double                 cold_seconds;   /* the products' first run after a step */
    double                 roof_seconds;   /* their second run, caches warm */
    double                 train_seconds;
};

/* One epoch of the demo task; returns seconds, and the median time of a full
 * batch's step (loader included) in *median_step: a figure that a load spike
 * on the shared machine moves far less than the epoch's total. With `il`,
 * every full batch's training step is followed by two steps of the
 * roofline's products alone, and the three are summed into *il: the first
 * of the two finds its buffers evicted by the training step, the second
 * runs with them in the caches, as the products do back to back. */
static double demo_epoch(const cg_dataset *train, const struct cg_norm *norm, int threads,
                         size_t *steady_mallocs, size_t *steady_process_mallocs,
                         double *last_loss, double *median_step, struct interleave *il,
                         struct phases *ph)
{
    static double step_times[1024];
    int n_times = 0;
    struct run r;
    int batch = 128, in = 784, rows;
    cg_float *x = malloc((size_t)batch * in * sizeof *x);
    int *labels = malloc((size_t)batch * sizeof *labels);
    struct cg_allocator hook = {counting_malloc, counting_realloc, plain_free, NULL};

    cg_set_allocator(&hook);
    run_init(&r, "784-256-128-10", threads);
    cg_set_blas_threads(1);
    cg_loader *ld = cg_loader_new(train, batch, true, false, 1);
    if (!ld || cg_loader_set_norm(ld, norm) != CG_OK)
        die("loader");
    cg_loader_set_pool(ld, cg_trainer_pool(r.tr));
    double t0 = roof_now();
    int steps = 0;
    size_t mallocs_after_first = 0, process_after_first = 0;
    double t_step = roof_now();
    if (ph)
        ph->n = 0;
    while ((rows = cg_loader_next(ld, x, labels, NULL)) > 0) {
        struct cg_batch b = {x, labels, NULL, rows};
        double loaded = roof_now();
        *last_loss = ph && rows == batch ? timed_step(&r, &b, ph) : step(&r, &b);
        double now = roof_now();
        if (rows == batch && n_times < 1024)
            step_times[n_times++] = now - t_step;
        if (ph && rows == batch && ph->n < 1024)
            ph->times[PHASE_LOADER][ph->n++] = loaded - t_step;
        if (il && rows == batch) {
            il->train_seconds += now - t_step;
            cg_pool_run(cg_trainer_pool(r.tr), roof_share, &il->job);
            double warm = roof_now();
            il->cold_seconds += warm - now;
            cg_pool_run(cg_trainer_pool(r.tr), roof_share, &il->job);
            now = roof_now();
            il->roof_seconds += now - warm;
        }
        t_step = now;
        if (++steps == 1) {
            mallocs_after_first = n_mallocs;
            process_after_first = process_mallocs;
        }
    }
    double seconds = roof_now() - t0;
    /* Counted before qsort, which allocates a buffer of its own. */
    *steady_mallocs = n_mallocs - mallocs_after_first;
    *steady_process_mallocs = process_mallocs - process_after_first;
    qsort(step_times, (size_t)n_times, sizeof step_times[0], compare_doubles);
    *median_step = n_times ? step_times[n_times / 2] : (double)NAN;
    for (int i = 0; ph && i < N_PHASES; i++) {
        qsort(ph->times[i], (size_t)ph->n, sizeof ph->times[i][0], compare_doubles);
        ph->median[i] = ph->n ? ph->times[i][ph->n / 2] : (double)NAN;
    }
    cg_loader_free(ld);
    run_free(&r);
    cg_set_allocator(NULL);
    free(x);
    free(labels);
    return seconds;
}

/*
 * The share of the roofline with most of the noise of a shared machine taken
 * out: another epoch in which every training step is followed by steps of
 * the roofline's products alone (data-parallel, on the same threads), so
 * the sums see the same moments of the machine. The ratio of the warm
 * products' sum to the training's is the part of a training step that is
 * GEMM at its best. The products' first run after a training step pays for
 * reloading their buffers (about 4 MB) from the last-level cache, a cost
 * back-to-back products never pay: a share taken against that run would
 * flatter the training, so it is printed only as a note.
 */
static void interleaved_share(const cg_dataset *train, const struct cg_norm *norm,
                              const struct roof_net *net, int threads)
{
    struct interleave il = {.net = net};
    size_t mallocs, process;
    double loss, median_step;

    roof_buffers_init(&il.b, net, threads);
    il.job = (struct roof_job){net, &il.b};
    demo_epoch(train, norm, threads, &mallocs, &process, &loss, &median_step, &il, NULL);
    printf("| demo share of roofline, interleaved, %d thread%s | %.0f | %% | products alone "
           "%.3f s / training %.3f s, step by step; against the products' cold first run "
           "(%.3f s) it would read %.0f%% |\n", threads, threads > 1 ? "s" : "",
           100 * il.roof_seconds / il.train_seconds, il.roof_seconds, il.train_seconds,
           il.cold_seconds, 100 * il.cold_seconds / il.train_seconds);
    roof_buffers_free(&il.b, net, threads);
}

/* Rows of the table for the demo task on `threads` threads. */
static void demo_rows(const cg_dataset *train, const struct cg_norm *norm,
                      const struct roof_net *net, int threads)
{
    enum { EPOCHS = 3 };
    const char *s = threads > 1 ? "s" : "";
    double samples = (double)cg_dataset_size(train);
    int full_steps = (int)(cg_dataset_size(train) / (size_t)net->batch);
    struct roof_result roof = roof_measure(net, threads, 100);
    double train_best = 1e30, products_best = 1e30, loss = (double)NAN, median_step = 0;
    const char *way = "", *best_way = "";
    size_t mallocs = 0, process = 0;
    static struct phases ph, best_ph;

    /* Training epochs and epochs of the products alone, one after the
     * other, so that both kinds see the same minutes of the machine. */
    for (int e = 0; e < EPOCHS; e++) {
        double med, seconds = demo_epoch(train, norm, threads, &mallocs, &process, &loss, &med,
                                         NULL, &ph);
        double products = roof_products_epoch(net, threads, full_steps, &way);
        if (seconds < train_best) {
            train_best = seconds;
            median_step = med;
            best_ph = ph;
        }
        if (products < products_best) {
            products_best = products;
            best_way = way;
        }
    }
    double roof_epoch = roof.best_seconds * samples / net->batch;
    double flops_issue = 3 * roof_forward_macs(net) * 2 * samples;
    printf("| demo epoch, %d thread%s | %.3f | s | best of %d; %.0f samples/s, final batch loss "
           "%.3f |\n", threads, s, train_best, EPOCHS, samples / train_best, loss);
    printf("| demo achieved, %d thread%s | %.1f | GFLOP/s | 3 x forward MACs x 2 / epoch time |\n",
           threads, s, flops_issue / train_best * 1e-9);
    printf("| demo GEMM roofline epoch, %d thread%s | %.3f | s | best step of the products alone "
           "(%s) x %.0f batches |\n", threads, s, roof_epoch, roof.best_way,
           samples / net->batch);
    printf("| demo share of roofline, %d thread%s | %.0f | %% | roofline epoch / epoch; median "
           "step %.3f ms against the best %.3f ms |\n", threads, s, 100 * roof_epoch / train_best,
           median_step * 1e3, roof.best_seconds * 1e3);
    printf("| demo products alone over an epoch, %d thread%s | %.3f | s | best of %d (%s), %d "
           "full batches back to back: %.0f%% of the roofline epoch kept by the host |\n",
           threads, s, products_best, EPOCHS, best_way, full_steps,
           100 * roof_epoch * full_steps / (samples / net->batch) / products_best);
    printf("| demo share of roofline, whole epochs, %d thread%s | %.0f | %% | products alone "
           "(best of %d) / training (best of %d), epochs alternating |\n", threads, s,
           100 * products_best * (samples / net->batch) / full_steps / train_best, EPOCHS,
           EPOCHS);
    /* What a step spends beside its products: the loader and the update
     * have no products at all (bench/README.md, "The floor under the
     * quiet targets"). */
    printf("| demo step's parts, %d thread%s | %.0f / %.0f / %.0f | us | median loader / "
           "backward / update of the best epoch's steps, against the products alone's best "
           "step %.0f us: the loader and the update are %.0f%% of it |\n", threads, s,
           best_ph.median[PHASE_LOADER] * 1e6, best_ph.median[PHASE_BACKWARD] * 1e6,
           best_ph.median[PHASE_UPDATE] * 1e6, roof.best_seconds * 1e6,
           100 * (best_ph.median[PHASE_LOADER] + best_ph.median[PHASE_UPDATE]) /
               roof.best_seconds);
    printf("| demo mallocs per steady step, %d thread%s | %.2f | calls | steps 2..end: "
           "%zu through cgrad's allocator, %zu in the whole process |\n",
           threads, s, (double)process / (samples / net->batch - 1), mallocs, process);
    interleaved_share(train, norm, net, threads);
}

static void bench_demo(void)
{
    cg_dataset *train, *test;
    struct cg_norm norm;
    const struct roof_net net = {4, {784, 256, 128, 10}, 128};
    double t0 = roof_now();

    if (cg_idx_load_dir(FASHION_DIR, &train, &test) != CG_OK) {
        printf("| demo epoch | skipped | | %s (scripts/deps.sh demo installs it) |\n", cg_errmsg());
        return;
    }
    printf("| fashion-mnist load (in bench_train) | %.2f | s | gzipped IDX, 70000 images |\n",
           roof_now() - t0);
    if (cg_norm_fit(&norm, train, CG_NORM_MINMAX) != CG_OK)
        die("norm");
    printf("| openblas kernel | %s | | openblas_get_corename() |\n", openblas_get_corename());
    for (int threads = 2; threads >= 1; threads--)
        demo_rows(train, &norm, &net, threads);
    cg_norm_deinit(&norm);
    cg_dataset_free(train);
    cg_dataset_free(test);
}

/* The tiny network and one batch of it. */
struct tiny {
    struct run      r;
    cg_float        x[8 * 4];   /* [8, 4] */
    int             labels[8];
    struct cg_batch b;
};

static void tiny_init(struct tiny *t)
{
    run_init(&t->r, "4-8-3", 1);
    for (int i = 0; i < 8 * 4; i++)
        t->x[i] = (cg_float)cg_rng_normal(&t->r.rng, 0, 1);
    for (int i = 0; i < 8; i++)
        t->labels[i] = i % 3;
    t->b = (struct cg_batch){t->x, t->labels, NULL, 8};
}

static void bench_tiny(void)
{
    static struct tiny t;
    struct cg_allocator hook = {counting_malloc, counting_realloc, plain_free, NULL};
    const long steps = 200000;

    cg_set_allocator(&hook);
    tiny_init(&t);
    step(&t.r, &t.b);
    size_t before = n_mallocs, process_before = process_mallocs;
    /* Many short runs: the host's slow spells last longer than one run, so
     * the fastest runs are the ones it left alone. */
    enum { RUNS = 100 };
    double per_step[RUNS];
    for (int rep = 0; rep < RUNS; rep++) {
        double t0 = roof_now();
        for (long s = 0; s < steps / RUNS; s++)
            step(&t.r, &t.b);
        per_step[rep] = (roof_now() - t0) / (double)(steps / RUNS);
    }
    /* Counted before qsort, which may allocate a buffer, and before the
     * first printf, which allocates stdout's. */
    size_t cg_calls = n_mallocs - before, all_calls = process_mallocs - process_before;
    qsort(per_step, RUNS, sizeof per_step[0], compare_doubles);
    printf("| tiny step (4-8-3, batch 8, Adam) | %.2f | us | best of %d runs of %ld steps "
           "(%.0f steps/s); median run %.2f us |\n", per_step[0] * 1e6, RUNS, steps / RUNS,
           1 / per_step[0], per_step[RUNS / 2] * 1e6);
    printf("| tiny mallocs per steady step | %.2f | calls | %zu through cgrad's allocator, "
           "%zu in the whole process, over %ld steps |\n",
           (double)all_calls / (double)steps, cg_calls, all_calls, steps);
    run_free(&t.r);
    cg_set_allocator(NULL);
}

/*
 * `bench_train embed`: the README's embedding loop as written (a plain
 * cg_graph, cg_optim_step, no trainer, no cg_set_blas_threads) on the demo
 * network and random batches, in two threads of one program each training
 * its own model at once, against one such thread alone; and every malloc
 * of the process in the steady steps. Run in a process of its own, so that
 * nothing chose OpenBLAS's thread count before the library does.
 */
#include <pthread.h>
#include <stdatomic.h>

enum { EMBED_STEPS = 300, EMBED_BATCH = 128 };

struct embed {
    double     seconds;      /* steps 2..EMBED_STEPS */
    pthread_t  thread;
    _Atomic int *first_done; /* threads past their first step */
    int        peers;        /* threads training at once */
};

static void *embed_train(void *arg)
{
    struct embed *e = arg;
    static _Thread_local cg_float xs[EMBED_BATCH * 784];
    static _Thread_local int ys[EMBED_BATCH];
    cg_rng rng;
    cg_rng_seed(&rng, 1);
    for (int i = 0; i < EMBED_BATCH * 784; i++)
        xs[i] = (cg_float)cg_rng_uniform(&rng);
    for (int i = 0; i < EMBED_BATCH; i++)
        ys[i] = (int)cg_rng_below(&rng, 10);
    cg_model *m = cg_model_from_spec("784-256-128-10");
    cg_model_init(m, CG_INIT_DEFAULT, &rng);
    cg_tensor *flat = cg_model_flat(m);
    cg_optim *opt = cg_adam_new(&flat, 1, NULL);
    cg_graph *g = cg_graph_new();
    if (!m || !opt || !g)
        die("embed");
    double t0 = 0;
    for (int step = 0; step < EMBED_STEPS; step++) {
        cg_tensor *x = cg_graph_wrap(g, xs, 2, (int[]){EMBED_BATCH, 784});
        cg_tensor *loss = cg_cross_entropy(g, cg_model_forward(g, m, x, &rng), ys);
        if (cg_backward(g, loss) != CG_OK)
            die("embed step");
        cg_optim_step(opt);
        cg_optim_zero_grad(opt);
        cg_graph_reset(g);
        if (step == 0) {
            /* Wait until every thread has made its first step (and grown
             * its arena), so that the steady steps are counted alone. */
            atomic_fetch_add(e->first_done, 1);
            while (atomic_load(e->first_done) < e->peers)
                ;
            t0 = roof_now();
        }
    }
    e->seconds = roof_now() - t0;
    cg_graph_free(g);
    cg_optim_free(opt);
    cg_model_free(m);
    return NULL;
}

static void bench_embed(void)
{
    enum { ROUNDS = 3 };
    double alone = 1e30, pair = 1e30;
    size_t mallocs = 0;

    for (int r = 0; r < ROUNDS; r++) {
        _Atomic int first = 0;
        struct embed one = {0, 0, &first, 1};
        embed_train(&one);
        alone = one.seconds < alone ? one.seconds : alone;
        _Atomic int first2 = 0;
        struct embed two[2] = {{0, 0, &first2, 2}, {0, 0, &first2, 2}};
        for (int i = 0; i < 2; i++)
            if (pthread_create(&two[i].thread, NULL, embed_train, &two[i]) != 0)
                die("thread");
        while (atomic_load(&first2) < 2)
            ;
        size_t before = process_mallocs;
        for (int i = 0; i < 2; i++)
            pthread_join(two[i].thread, NULL);
        /* The joins and the threads' cleanup free, they do not malloc;
         * the frees of the models come after the steady steps. */
        mallocs += process_mallocs - before;
        double slowest = two[0].seconds > two[1].seconds ? two[0].seconds : two[1].seconds;
        pair = slowest < pair ? slowest : pair;
    }
    printf("| embedding: two threads each training a model at once | %.2f | x | the slower "
           "thread's %d steady steps (%.3f s) over one thread alone (%.3f s), best of %d; the "
           "README's loop, OpenBLAS as the library leaves it (%d thread%s) |\n", pair / alone,
           EMBED_STEPS - 1, pair, alone, ROUNDS, openblas_get_num_threads(),
           openblas_get_num_threads() > 1 ? "s" : "");
    printf("| embedding: mallocs per steady step, whole process | %.2f | calls | %zu in %d "
           "steps of two threads |\n", (double)mallocs / (2.0 * ROUNDS * (EMBED_STEPS - 1)),
           mallocs, 2 * ROUNDS * (EMBED_STEPS - 1));
}

/* `bench_train steps N`: N tiny steps and nothing else, for bench/run.sh to
 * count instructions under callgrind (a figure the host's noise cannot
 * move). */
static void tiny_steps_only(long steps)
{
    static struct tiny t;

    tiny_init(&t);
    for (long s = 0; s < steps; s++)
        step(&t.r, &t.b);
    run_free(&t.r);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "embed") == 0) {
        bench_embed();
        return 0;
    }
    if (argc > 2 && strcmp(argv[1], "steps") == 0) {
        tiny_steps_only(atol(argv[2]));
        return 0;
    }
    bench_tiny();
    if (!(argc > 1 && strcmp(argv[1], "tiny") == 0))
        bench_demo();
    return 0;
}
