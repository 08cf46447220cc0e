/* Out-of-memory injection end to end (the SQLite method): each scenario runs
 * once to count its allocations T, then again for every N in 1..T with the
 * N-th allocation failing. Each run must fail with CG_ERR_NOMEM (or succeed,
 * if the failed allocation was not needed), free everything it took (live
 * allocations 0 at the end) and, for the scenarios that write, leave the
 * target file either as it was or complete and loadable, with no temporary
 * file left beside it. The figures printed ("oom: <scenario>: T allocation
 * points") go into docs/RELIABILITY.md. */
#include <dirent.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cg_test.h"

#include "cg_stb_write.h"

/* ---- the failing allocator ---------------------------------------------- */

/* atomic: the data-parallel trainer allocates on its threads too */
static long fail_at;            /* 1-based allocation to fail; 0: none */
static atomic_long count;       /* allocations (malloc and realloc) so far */
static atomic_long live;        /* blocks allocated and not yet freed */
static atomic_bool fired;       /* the injected failure happened */

static void *t_malloc(size_t n, void *ctx)
{
    (void)ctx;
    if (++count == fail_at) {
        fired = true;
        return NULL;
    }
    void *p = malloc(n);
    if (p)
        live++;
    return p;
}

static void *t_realloc(void *p, size_t n, void *ctx)
{
    (void)ctx;
    if (++count == fail_at) {
        fired = true;
        return NULL;
    }
    void *q = realloc(p, n);
    if (q && !p)
        live++;
    return q;
}

static void t_free(void *p, void *ctx)
{
    (void)ctx;
    if (p)
        live--;
    free(p);
}

static const struct cg_allocator hook = {t_malloc, t_realloc, t_free, NULL};

/* ---- the temporary folder ------------------------------------------------ */

static char dir[64];

static const char *at(int k, const char *rel)
{
    return cg_test_path(dir, k, rel);
}

/* An IDX pair of 6 images 3 x 2 (pixel values i + 7 * image) and labels
 * image % 3, under dir/<stem>-images-idx3-ubyte(.gz) and ...-labels-... */
static void write_idx(const char *stem, bool gz)
{
    uint8_t img[16 + 6 * 6], lab[8 + 6];
    char name[64];

    memcpy(img, (uint8_t[]){0, 0, 8, 3, 0, 0, 0, 6, 0, 0, 0, 3, 0, 0, 0, 2}, 16);
    for (int i = 0; i < 36; i++)
        img[16 + i] = (uint8_t)(i + 7 * (i / 6));
    memcpy(lab, (uint8_t[]){0, 0, 8, 1, 0, 0, 0, 6}, 8);
    for (int i = 0; i < 6; i++)
        lab[8 + i] = (uint8_t)(i % 3);
    snprintf(name, sizeof name, "%s-images-idx3-ubyte%s", stem, gz ? ".gz" : "");
    cg_test_write_file(at(0, name), img, sizeof img, gz);
    snprintf(name, sizeof name, "%s-labels-idx1-ubyte%s", stem, gz ? ".gz" : "");
    cg_test_write_file(at(0, name), lab, sizeof lab, gz);
}

static int setup(void **state)
{
    (void)state;
    if (cg_test_dir_make(dir, sizeof dir, "cg_oom_") != 0)
        return -1;
    write_idx("plain", false);
    write_idx("gz", true);
    /* an image folder: two classes, a PNG (RGB, 4 x 4), a BMP and a
     * grayscale PNG of another size (converted and resized on load) */
    uint8_t px[8 * 8 * 3];
    for (size_t i = 0; i < sizeof px; i++)
        px[i] = (uint8_t)(i * 37);
    if (mkdir(at(0, "img"), 0700) || mkdir(at(0, "img/a"), 0700) || mkdir(at(0, "img/b"), 0700))
        return -1;
    if (!stbi_write_png(at(0, "img/a/1.png"), 4, 4, 3, px, 12) ||
        !stbi_write_bmp(at(0, "img/a/2.bmp"), 4, 4, 3, px + 5) ||
        !stbi_write_png(at(0, "img/b/3.png"), 8, 8, 1, px, 8))
        return -1;
    return mkdir(at(0, "out"), 0700);
}

static int teardown(void **state)
{
    (void)state;
    return cg_test_dir_remove(dir);
}

/* ---- the walk -------------------------------------------------------------- */

typedef cg_status (*scenario_fn)(void *ctx);
/* Called after every run, the allocator uninstalled: checks files. A failed
 * allocation the library absorbs (stb_image probes each format in turn and
 * takes a failed probe allocation as "not this format"), with the right
 * result, passes. */
typedef void (*after_fn)(void *ctx, cg_status st);

/* Run f with the allocator failing at allocation n (0: never); the status. */
static cg_status run_failing(scenario_fn f, void *ctx, long n)
{
    fail_at = n;
    count = 0;
    live = 0;
    fired = false;
    cg_clear_error();
    cg_set_allocator(&hook);
    cg_status st = f(ctx);
    cg_set_allocator(NULL);
    return st;
}

/* The walk over every allocation point; returns the count T. */
static long walk(const char *name, scenario_fn f, void *ctx, after_fn after)
{
    cg_status st = run_failing(f, ctx, 0);
    long total = count, absorbed = 0;

    if (st != CG_OK)
        fail_msg("%s: fails without injection: %s", name, cg_errmsg());
    assert_int_equal(live, 0);
    if (after)
        after(ctx, st);
    for (long n = 1; n <= total; n++) {
        st = run_failing(f, ctx, n);
        if (live != 0)
            fail_msg("%s: allocation %ld of %ld failed: %ld blocks leaked (%s)", name, n,
                     total, live, cg_errmsg());
        if (fired && st == CG_OK)
            absorbed++;  /* the scenario checked its result: correct anyway */
        else if (fired && st != CG_ERR_NOMEM)
            fail_msg("%s: allocation %ld of %ld failed: status %s, expected "
                     "CG_ERR_NOMEM (%s)", name, n, total, cg_status_str(st), cg_errmsg());
        if (!fired && st != CG_OK)
            fail_msg("%s: run %ld failed without an injected failure: %s", name, n,
                     cg_errmsg());
        if (st != CG_OK && cg_errmsg()[0] == '\0')
            fail_msg("%s: allocation %ld failed with no error message", name, n);
        if (after)
            after(ctx, st);
    }
    printf("oom: %s: %ld allocation points, each failed cleanly", name, total);
    if (absorbed)
        printf(" (%ld of them absorbed: the call still succeeded, result checked)", absorbed);
    printf("\n");
    return total;
}

/* ---- data sets ----------------------------------------------------------- */

static cg_status load_csv(void *ctx)
{
    (void)ctx;
    cg_dataset *ds = cg_csv_load("tests/data/csv/iris_small.csv", NULL);
    cg_dataset *tr = NULL, *va = NULL;
    cg_status st = ds ? cg_dataset_split(ds, 0.5, 1, &tr, &va) : cg_errcode();
    cg_dataset_free(tr);
    cg_dataset_free(va);
    cg_dataset_free(ds);
    return st;
}

static cg_status load_csv_regress(void *ctx)
{
    (void)ctx;
    struct cg_csv_options o = {.task = CG_TASK_REGRESS};
    cg_dataset *dr = NULL, *ds = cg_csv_load("tests/data/csv/quoted.csv", NULL);
    cg_status st = ds && (dr = cg_csv_load("tests/data/csv/regress.csv", &o)) ? CG_OK
                                                                             : cg_errcode();
    cg_dataset_free(ds);
    cg_dataset_free(dr);
    return st;
}

static cg_status load_idx(void *ctx)
{
    bool gz = *(const bool *)ctx;
    cg_dataset *ds = gz ? cg_idx_load(at(1, "gz-images-idx3-ubyte.gz"),
                                      at(2, "gz-labels-idx1-ubyte.gz"))
                        : cg_idx_load(at(1, "plain-images-idx3-ubyte"),
                                      at(2, "plain-labels-idx1-ubyte"));
    cg_status st = ds ? CG_OK : cg_errcode();
    if (ds && cg_dataset_size(ds) != 6)
        st = CG_ERR_FORMAT;
    cg_dataset_free(ds);
    return st;
}

static cg_status load_images(void *ctx)
{
    (void)ctx;
    struct cg_image_options o = {.channels = 3, .width = 4, .height = 4};
    cg_dataset *ds = cg_image_folder_load(at(1, "img"), &o);
    cg_status st = ds ? CG_OK : cg_errcode();
    if (ds && cg_dataset_size(ds) != 3)
        st = CG_ERR_FORMAT;
    cg_dataset_free(ds);
    return st;
}

static void test_oom_load_csv(void **state)
{
    (void)state;
    assert_true(walk("CSV load + split", load_csv, NULL, NULL) > 0);
    assert_true(walk("CSV quoted + regression", load_csv_regress, NULL, NULL) > 0);
}

static void test_oom_load_idx(void **state)
{
    (void)state;
    bool gz = false;
    long plain = walk("IDX plain", load_idx, &gz, NULL);
    gz = true;
    long z = walk("IDX gzip", load_idx, &gz, NULL);
    /* inflate's state and window come from our allocator too */
    assert_true(z > plain);
}

static void test_oom_load_images(void **state)
{
    (void)state;
    assert_true(walk("image folder (PNG, BMP, gray, resize)", load_images, NULL, NULL) > 0);
}

/* ---- training ------------------------------------------------------------ */

/* Load the CSV, fit a z-score, build a 2-5-3 model and an Adam optimizer,
 * and train 4 steps of batch 2 (forward, cross-entropy, backward, gradient
 * clipping, step, zero_grad), as the CLI's training loop does. */
static cg_status train(void *ctx)
{
    (void)ctx;
    cg_dataset *ds = cg_csv_load("tests/data/csv/iris_small.csv", NULL);
    struct cg_norm norm = {0};
    cg_loader *ld = NULL;
    cg_model *m = NULL;
    cg_graph *g = NULL;
    cg_optim *opt = NULL;
    cg_tensor *params[8];
    cg_rng rng;
    cg_float x[2 * 2];
    int y[2], np = 0;
    cg_status st = CG_OK;

    cg_rng_seed(&rng, 7);
    if (!ds || (st = cg_norm_fit(&norm, ds, CG_NORM_ZSCORE)) != CG_OK ||
        !(ld = cg_loader_new(ds, 2, true, false, 3)) ||
        (st = cg_loader_set_norm(ld, &norm)) != CG_OK ||
        !(m = cg_model_from_spec("2-5-3:act=tanh")) ||
        (st = cg_model_init(m, CG_INIT_DEFAULT, &rng)) != CG_OK || !(g = cg_graph_new()))
        goto out;
    const struct cg_param *ps = cg_model_params(m, &np);
    for (int i = 0; i < np; i++)
        params[i] = ps[i].tensor;
    struct cg_adam_params ap = cg_adam_defaults();
    if (!(opt = cg_adam_new(params, np, &ap)))
        goto out;
    for (int step = 0; step < 4; step++) {
        int rows = cg_loader_next(ld, x, y, NULL);
        if (rows <= 0)
            goto out;
        cg_graph_reset(g);
        cg_tensor *xt = cg_graph_wrap(g, x, 2, (int[]){rows, 2});
        cg_tensor *loss = cg_cross_entropy(g, cg_model_forward(g, m, xt, &rng), y);
        if (!loss || (st = cg_backward(g, loss)) != CG_OK)
            goto out;
        cg_clip_grad_norm(params, np, 1.0);
        if ((st = cg_optim_step(opt)) != CG_OK)
            goto out;
        cg_optim_zero_grad(opt);
    }
out:
    if (st == CG_OK && cg_errcode() != CG_OK)
        st = cg_errcode();
    cg_optim_free(opt);
    cg_graph_free(g);
    cg_model_free(m);
    cg_loader_free(ld);
    cg_norm_deinit(&norm);
    cg_dataset_free(ds);
    return st;
}

/* The same data-parallel: a cg_trainer on 2 threads (pool, per-thread
 * graphs, a replica), Adam stepped on the trainer's pool. */
static cg_status train_parallel(void *ctx)
{
    (void)ctx;
    cg_dataset *ds = cg_csv_load("tests/data/csv/iris_small.csv", NULL);
    cg_loader *ld = NULL;
    cg_model *m = NULL;
    cg_trainer *tr = NULL;
    cg_optim *opt = NULL;
    cg_tensor *params[8];
    cg_rng rng;
    cg_float x[4 * 2];
    int y[4], np = 0;
    cg_status st = CG_OK;

    cg_rng_seed(&rng, 7);
    if (!ds || !(ld = cg_loader_new(ds, 4, true, false, 3)) ||
        !(m = cg_model_from_spec("2-5-3:act=tanh")) ||
        (st = cg_model_init(m, CG_INIT_DEFAULT, &rng)) != CG_OK ||
        !(tr = cg_trainer_new(m, CG_LOSS_CROSS_ENTROPY, 2)))
        goto out;
    const struct cg_param *ps = cg_model_params(m, &np);
    for (int i = 0; i < np; i++)
        params[i] = ps[i].tensor;
    struct cg_adam_params ap = cg_adam_defaults();
    if (!(opt = cg_adam_new(params, np, &ap)))
        goto out;
    for (int step = 0; step < 3; step++) {
        int rows = cg_loader_next(ld, x, y, NULL);
        struct cg_batch b = {x, y, NULL, rows};
        struct cg_batch_result r;
        if (rows <= 0 || (st = cg_trainer_backward(tr, &b, &rng, &r)) != CG_OK ||
            (st = cg_optim_step_pool(opt, cg_trainer_pool(tr))) != CG_OK)
            goto out;
        cg_optim_zero_grad(opt);
    }
out:
    if (st == CG_OK && cg_errcode() != CG_OK)
        st = cg_errcode();
    cg_optim_free(opt);
    cg_trainer_free(tr);
    cg_model_free(m);
    cg_loader_free(ld);
    cg_dataset_free(ds);
    return st;
}

static void test_oom_train(void **state)
{
    (void)state;
    assert_true(walk("train data-parallel (cg_trainer, 2 threads, Adam, 3 steps)",
                     train_parallel, NULL, NULL) > 0);
    assert_true(walk("train (CSV, norm, loader, model, Adam, 4 steps)", train, NULL, NULL) > 0);
}

/* ---- model and checkpoint files ----------------------------------------- */

struct file_case {
    const char *path;       /* the file written */
    uint8_t    *old;        /* its bytes before the walk */
    size_t      old_len;
    uint8_t    *new_;       /* its bytes after a successful save */
    size_t      new_len;
    cg_model   *model;      /* what is saved (made outside the hook) */
    bool        checkpoint; /* save a checkpoint, not a model */
};

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    uint8_t *p = malloc((size_t)n + 1);
    assert_non_null(p);
    assert_int_equal(fread(p, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return p;
}

/* The checkpoint the CLI writes: model tensors, optimizer state tensors
 * (here two Adam moments per parameter) and metadata, one safetensors file. */
static cg_status save_checkpoint(const struct file_case *fc)
{
    int np;
    const struct cg_param *ps = cg_model_params(fc->model, &np);
    struct cg_named_tensor t[3 * 8];
    cg_tensor *moments[2 * 8] = {0};
    char names[2 * 8][40];
    cg_status st = CG_OK;
    int n = 0;

    for (int i = 0; i < np && i < 8; i++) {
        t[n++] = (struct cg_named_tensor){ps[i].name, ps[i].tensor};
        for (int k = 0; k < 2; k++) {
            cg_tensor *mt = cg_tensor_clone(ps[i].tensor);
            if (!(moments[2 * i + k] = mt)) {
                st = cg_errcode();
                goto out;
            }
            cg_tensor_fill(mt, (cg_float)(k + 1) / 8);
            snprintf(names[2 * i + k], sizeof names[0], "optim.%s.exp_avg%s", ps[i].name,
                     k ? "_sq" : "");
            t[n++] = (struct cg_named_tensor){names[2 * i + k], mt};
        }
    }
    struct cg_meta_kv meta[] = {{"cgrad.kind", "checkpoint"}, {"step", "12"},
                                {"epoch", "3"}, {"rng", "0123456789abcdef"}};
    st = cg_safetensors_save(fc->path, t, n, meta, 4);
out:
    for (int i = 0; i < 2 * 8; i++)
        cg_tensor_free(moments[i]);
    return st;
}

static cg_status save_file(void *ctx)
{
    const struct file_case *fc = ctx;
    if (fc->checkpoint)
        return save_checkpoint(fc);
    const char *classes[] = {"setosa", "versicolor", "virginica"};
    struct cg_model_meta meta = {.task = "classify", .classes = classes, .n_classes = 3,
                                 .normalization = "zscore"};
    return cg_model_save(fc->model, fc->path, &meta);
}

static cg_status load_file(void *ctx)
{
    const struct file_case *fc = ctx;
    if (fc->checkpoint) {
        cg_safetensors *st = cg_safetensors_load(fc->path);
        cg_status s = st ? CG_OK : cg_errcode();
        if (st && (cg_safetensors_count(st) != 12 || !cg_safetensors_meta(st, "rng")))
            s = CG_ERR_FORMAT;
        cg_safetensors_free(st);
        return s;
    }
    struct cg_model_meta meta = {0};
    cg_model *m = cg_model_load(fc->path, &meta);
    cg_status s = m ? CG_OK : cg_errcode();
    if (m && meta.n_classes != 3)
        s = CG_ERR_FORMAT;
    cg_model_meta_deinit(&meta);
    cg_model_free(m);
    return s;
}

/* After each save: the file is the old one or the complete new one, and the
 * folder holds nothing else (no temporary file left). */
static void after_save(void *ctx, cg_status st)
{
    struct file_case *fc = ctx;
    size_t len = 0;
    uint8_t *now = slurp(fc->path, &len);
    assert_non_null(now);
    if (st == CG_OK && !fc->new_) {  /* the run without injection */
        fc->new_ = malloc(len);
        assert_non_null(fc->new_);
        memcpy(fc->new_, now, len);
        fc->new_len = len;
    }
    bool is_old = len == fc->old_len && memcmp(now, fc->old, len) == 0;
    bool is_new = fc->new_ && len == fc->new_len && memcmp(now, fc->new_, len) == 0;
    if (!is_old && !is_new)
        fail_msg("%s: neither the old file nor the complete new one (%zu bytes)", fc->path,
                 len);
    if (st != CG_OK && !is_old)
        fail_msg("%s: a failed save changed the file", fc->path);
    free(now);
    DIR *d = opendir(at(3, "out"));
    assert_non_null(d);
    int entries = 0;
    for (struct dirent *e; (e = readdir(d));)
        if (e->d_name[0] != '.') {
            entries++;
            if (strstr(e->d_name, ".tmp"))
                fail_msg("temporary file left: %s", e->d_name);
        }
    closedir(d);
    assert_int_equal(entries, 1);
    cg_test_write_file(fc->path, fc->old, fc->old_len, false);  /* the next run saves over it */
}

static void file_walks(bool checkpoint, const char *save_name, const char *load_name)
{
    struct file_case fc = {.path = at(4, checkpoint ? "out/ck.safetensors"
                                                    : "out/model.safetensors"),
                           .checkpoint = checkpoint};
    cg_rng rng;

    /* the old file: the same model with other weights */
    fc.model = cg_model_from_spec("2-5-3:act=tanh");
    assert_non_null(fc.model);
    cg_rng_seed(&rng, 1);
    assert_int_equal(cg_model_init(fc.model, CG_INIT_DEFAULT, &rng), CG_OK);
    assert_int_equal(save_file(&fc), CG_OK);
    fc.old = slurp(fc.path, &fc.old_len);
    assert_non_null(fc.old);
    cg_rng_seed(&rng, 2);
    assert_int_equal(cg_model_init(fc.model, CG_INIT_DEFAULT, &rng), CG_OK);

    assert_true(walk(save_name, save_file, &fc, after_save) > 0);
    assert_non_null(fc.new_);
    assert_true(fc.new_len != fc.old_len || memcmp(fc.new_, fc.old, fc.old_len) != 0);
    assert_true(walk(load_name, load_file, &fc, NULL) > 0);

    assert_int_equal(unlink(fc.path), 0);
    cg_model_free(fc.model);
    free(fc.old);
    free(fc.new_);
}

static void test_oom_model_file(void **state)
{
    (void)state;
    file_walks(false, "model save (over an old file)", "model load");
}

static void test_oom_checkpoint_file(void **state)
{
    (void)state;
    file_walks(true, "checkpoint save (over an old file)", "checkpoint load");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_oom_load_csv),
        cmocka_unit_test(test_oom_load_idx),
        cmocka_unit_test(test_oom_load_images),
        cmocka_unit_test(test_oom_train),
        cmocka_unit_test(test_oom_model_file),
        cmocka_unit_test(test_oom_checkpoint_file),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
