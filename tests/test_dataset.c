/* Tests of normalization, splits, loaders and one-hot (data/norm.c,
 * data/dataset.c, data/loader.c). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cg_test.h"
#include "../data/internal.h"

/* A 100-row table: x = i (0..99), class 0 for i < 60, 1 for i < 90, else 2. */
static cg_dataset *make_table(void)
{
    char path[] = "/tmp/cg_ds_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs("x,label\n", f);
    for (int i = 0; i < 100; i++)
        fprintf(f, "%d,%d\n", i, i < 60 ? 0 : i < 90 ? 1 : 2);
    fclose(f);
    cg_dataset *ds = cg_csv_load(path, NULL);
    unlink(path);
    assert_non_null(ds);
    return ds;
}

/* Two 1x2 images, [0, 255] and [255, 255], with labels 0 and 1 (IDX). */
static cg_dataset *make_images(void)
{
    static const uint8_t img[] = {0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2,
                                  0, 255, 255, 255};
    static const uint8_t lab[] = {0, 0, 8, 1, 0, 0, 0, 2, 0, 1};
    char pi[] = "/tmp/cg_dsi_XXXXXX", pl[] = "/tmp/cg_dsl_XXXXXX";
    int fi = mkstemp(pi), fl = mkstemp(pl);
    assert_true(fi >= 0 && fl >= 0);
    assert_int_equal(write(fi, img, sizeof img), sizeof img);
    assert_int_equal(write(fl, lab, sizeof lab), sizeof lab);
    close(fi);
    close(fl);
    cg_dataset *ds = cg_idx_load(pi, pl);
    unlink(pi);
    unlink(pl);
    assert_non_null(ds);
    return ds;
}

/* ---- normalization ------------------------------------------------------ */

static void test_norm_zscore_of_table(void **state)
{
    (void)state;
    struct cg_norm n;
    cg_dataset *ds = cg_csv_load("tests/data/csv/norm.csv", NULL);
    assert_non_null(ds);
    assert_int_equal(cg_norm_fit(&n, ds, CG_NORM_ZSCORE), CG_OK);
    assert_int_equal(n.n, 3);
    /* a = 1..4: mean 2.5, population var (2.25 + .25 + .25 + 2.25) / 4 = 1.25.
     * b = 10 a: mean 25, std 10 sqrt(1.25). c = 5 always: std 0, scale 1. */
    assert_near(n.offset[0], 2.5, 1e-6);
    assert_near(n.scale[0], 1 / sqrt(1.25), 1e-6);
    assert_near(n.offset[1], 25, 1e-5);
    assert_near(n.scale[1], 1 / (10 * sqrt(1.25)), 1e-7);
    assert_near(n.offset[2], 5, 0);
    assert_near(n.scale[2], 1, 0);
    /* The loader applies it: row 0 is (1, 10, 5) -> (-1.5/sqrt(1.25), same, 0). */
    cg_loader *l = cg_loader_new(ds, 4, false, false, 0);
    assert_int_equal(cg_loader_set_norm(l, &n), CG_OK);
    cg_float x[12];
    int y[4];
    assert_int_equal(cg_loader_next(l, x, y, NULL), 4);
    assert_near(x[0], -1.5 / sqrt(1.25), 1e-6);
    assert_near(x[1], -1.5 / sqrt(1.25), 1e-6);
    assert_near(x[2], 0, 0);
    assert_int_equal(y[1], 1);
    /* cg_norm_apply on a raw row (predict) gives the loader's numbers. */
    cg_float raw[3];
    assert_int_equal(cg_dataset_row(ds, 3, raw), CG_OK);
    cg_norm_apply(&n, raw, 1);
    for (int j = 0; j < 3; j++)
        assert_near(raw[j], x[9 + j], 0);
    cg_loader_free(l);
    cg_norm_deinit(&n);
    assert_null(n.offset);
    cg_dataset_free(ds);
}

static void test_norm_minmax_of_table(void **state)
{
    (void)state;
    struct cg_norm n;
    cg_dataset *ds = cg_csv_load("tests/data/csv/norm.csv", NULL);
    assert_int_equal(cg_norm_fit(&n, ds, CG_NORM_MINMAX), CG_OK);
    /* a: min 1, range 3; b: min 10, range 30; c: constant -> x - 5. */
    cg_float row[] = {4, 25, 5};
    cg_norm_apply(&n, row, 1);
    assert_near(row[0], 1, 1e-6);
    assert_near(row[1], 0.5, 1e-6);
    assert_near(row[2], 0, 0);
    cg_norm_deinit(&n);
    assert_int_equal(cg_norm_fit(&n, ds, CG_NORM_NONE), CG_OK);
    assert_int_equal(n.n, 0);
    cg_norm_apply(&n, row, 1);                 /* identity */
    assert_near(row[1], 0.5, 1e-6);
    cg_norm_deinit(&n);
    cg_dataset_free(ds);
}

static void test_norm_of_images(void **state)
{
    (void)state;
    struct cg_norm n;
    cg_float x[4];
    cg_dataset *ds = make_images();
    /* Min-max on bytes is x / 255. */
    assert_int_equal(cg_norm_fit(&n, ds, CG_NORM_MINMAX), CG_OK);
    cg_loader *l = cg_loader_new(ds, 2, false, false, 0);
    assert_int_equal(cg_loader_set_norm(l, &n), CG_OK);
    assert_int_equal(cg_loader_next(l, x, NULL, NULL), 2);
    assert_near(x[0], 0, 0);
    assert_near(x[1], 1, 1e-6);
    assert_near(x[3], 1, 1e-6);
    assert_int_equal(cg_loader_set_norm(l, NULL), CG_OK);   /* before n goes */
    cg_norm_deinit(&n);
    /* Z-score per channel: values 0, 255, 255, 255: mean 191.25, population
     * var (191.25^2 + 3 * 63.75^2) / 4 = 12192.1875, std 110.41824... */
    assert_int_equal(cg_norm_fit(&n, ds, CG_NORM_ZSCORE), CG_OK);
    assert_near(n.offset[0], 191.25, 1e-4);
    assert_near(n.offset[1], 191.25, 1e-4);
    assert_near(n.scale[1], 1 / sqrt(12192.1875), 1e-8);
    assert_int_equal(cg_loader_next(l, x, NULL, NULL), 0);   /* end of epoch */
    assert_int_equal(cg_loader_next(l, x, NULL, NULL), 2);
    assert_near(x[0], 0, 0);                                 /* raw bytes */
    assert_near(x[1], 255, 0);
    assert_int_equal(cg_loader_set_norm(l, &n), CG_OK);
    assert_int_equal(cg_loader_next(l, x, NULL, NULL), 0);
    assert_int_equal(cg_loader_next(l, x, NULL, NULL), 2);
    assert_near(x[0], -191.25 / sqrt(12192.1875), 1e-6);
    cg_loader_free(l);
    cg_norm_deinit(&n);
    cg_dataset_free(ds);
}

static void test_norm_from_arrays_and_errors(void **state)
{
    (void)state;
    struct cg_norm n;
    const cg_float off[] = {1, 2}, sc[] = {2, 0.5};
    assert_int_equal(cg_norm_init(&n, CG_NORM_ZSCORE, 2, off, sc), CG_OK);
    cg_float x[] = {3, 4, 1, 2};               /* two rows */
    cg_norm_apply(&n, x, 2);
    assert_near(x[0], 4, 0);                   /* (3 - 1) * 2 */
    assert_near(x[1], 1, 0);                   /* (4 - 2) * 0.5 */
    assert_near(x[2], 0, 0);
    assert_near(x[3], 0, 0);
    assert_string_equal(cg_norm_kind_name(n.kind), "zscore");
    /* A norm for 2 features does not fit a 3-feature data set. */
    cg_dataset *ds = cg_csv_load("tests/data/csv/norm.csv", NULL);
    cg_loader *l = cg_loader_new(ds, 2, false, false, 0);
    assert_int_equal(cg_loader_set_norm(l, &n), CG_ERR_SHAPE);
    assert_errmsg_contains("the norm has 2 features, the data set 3");
    cg_loader_free(l);
    cg_norm_deinit(&n);
    const cg_float bad[] = {(cg_float)NAN, 1};
    assert_int_equal(cg_norm_init(&n, CG_NORM_ZSCORE, 2, bad, sc), CG_ERR_NUMERIC);
    assert_errmsg_contains("feature 0");
    cg_dataset_free(ds);
}

/* ---- splits ------------------------------------------------------------- */

static void count_classes(const cg_dataset *ds, int *count)
{
    memset(count, 0, 3 * sizeof *count);
    for (size_t i = 0; i < cg_dataset_size(ds); i++)
        count[cg_dataset_label(ds, i)]++;
}

static void test_split_is_stratified_and_disjoint(void **state)
{
    (void)state;
    cg_dataset *ds = make_table(), *tr, *va;
    int ct[3], cv[3], seen[100] = {0};
    assert_int_equal(cg_dataset_split(ds, 0.2, 7, &tr, &va), CG_OK);
    cg_dataset_free(ds);                       /* views outlive their parent */
    /* Classes of 60, 30, 10: validation takes 12, 6, 2. */
    count_classes(va, cv);
    count_classes(tr, ct);
    assert_int_equal(cv[0], 12);
    assert_int_equal(cv[1], 6);
    assert_int_equal(cv[2], 2);
    assert_int_equal(ct[0], 48);
    assert_int_equal(ct[1], 24);
    assert_int_equal(ct[2], 8);
    /* Together they hold every row once, each in ascending order. */
    cg_float x, prev = -1;
    for (size_t i = 0; i < cg_dataset_size(tr); i++, prev = x) {
        assert_int_equal(cg_dataset_row(tr, i, &x), CG_OK);
        assert_true(x > prev);
        seen[(int)x]++;
    }
    for (size_t i = 0; i < cg_dataset_size(va); i++) {
        assert_int_equal(cg_dataset_row(va, i, &x), CG_OK);
        seen[(int)x]++;
        /* The label travels with the row. */
        assert_int_equal(cg_dataset_label(va, i), x < 60 ? 0 : x < 90 ? 1 : 2);
    }
    for (int i = 0; i < 100; i++)
        assert_int_equal(seen[i], 1);
    assert_int_equal(cg_dataset_classes(va), 3);
    assert_string_equal(cg_dataset_class_name(tr, 2), "2");
    cg_dataset_free(tr);
    cg_dataset_free(va);
}

/* The validation rows as a bit set over x = 0..99. */
static void val_rows(cg_dataset *ds, uint64_t seed, bool *in)
{
    cg_dataset *tr, *va;
    cg_float x;
    memset(in, 0, 100);
    assert_int_equal(cg_dataset_split(ds, 0.3, seed, &tr, &va), CG_OK);
    for (size_t i = 0; i < cg_dataset_size(va); i++) {
        cg_dataset_row(va, i, &x);
        in[(int)x] = true;
    }
    cg_dataset_free(tr);
    cg_dataset_free(va);
}

static void test_split_follows_the_seed(void **state)
{
    (void)state;
    cg_dataset *ds = make_table();
    bool a[100], b[100], c[100];
    val_rows(ds, 1, a);
    val_rows(ds, 1, b);
    val_rows(ds, 2, c);
    assert_memory_equal(a, b, 100);
    assert_memory_not_equal(a, c, 100);
    cg_dataset_free(ds);
}

static void test_split_of_a_split_and_bad_fraction(void **state)
{
    (void)state;
    cg_dataset *ds = make_table(), *tr, *va, *tr2, *va2;
    assert_int_equal(cg_dataset_split(ds, 0.5, 3, &tr, &va), CG_OK);
    assert_int_equal(cg_dataset_split(tr, 0.5, 3, &tr2, &va2), CG_OK);
    /* Class 0: 60 -> 30 -> 15 and 15. */
    int c[3];
    count_classes(va2, c);
    assert_int_equal(c[0], 15);
    assert_int_equal(cg_dataset_size(tr2) + cg_dataset_size(va2), 50);
    cg_dataset_free(tr);
    cg_dataset_free(va);
    cg_dataset_free(ds);
    cg_dataset_free(tr2);
    cg_dataset_free(va2);
    ds = make_table();
    tr = va = (cg_dataset *)1;
    assert_int_equal(cg_dataset_split(ds, 1.0, 3, &tr, &va), CG_ERR_ARG);
    assert_null(tr);
    assert_null(va);
    assert_errmsg_contains("validation fraction 1 is not in [0, 1)");
    cg_dataset_free(ds);
}

/* ---- loaders ------------------------------------------------------------ */

static void test_loader_without_shuffle_keeps_file_order(void **state)
{
    (void)state;
    cg_dataset *ds = make_table();
    cg_loader *l = cg_loader_new(ds, 32, false, false, 9);
    cg_float x[32];
    int y[32], want[] = {32, 32, 32, 4}, next = 0;
    assert_int_equal(cg_loader_batches(l), 4);
    for (int epoch = 0; epoch < 2; epoch++) {
        next = 0;
        for (int b = 0; b < 4; b++) {
            assert_int_equal(cg_loader_next(l, x, y, NULL), want[b]);
            for (int r = 0; r < want[b]; r++, next++) {
                assert_near(x[r], next, 0);
                assert_int_equal(y[r], next < 60 ? 0 : next < 90 ? 1 : 2);
            }
        }
        assert_int_equal(cg_loader_next(l, x, y, NULL), 0);
    }
    cg_loader_free(l);
    cg_dataset_free(ds);
}

static void test_loader_drop_last(void **state)
{
    (void)state;
    cg_dataset *ds = make_table();
    cg_loader *l = cg_loader_new(ds, 32, true, true, 9);
    cg_float x[32];
    assert_int_equal(cg_loader_batches(l), 3);
    for (int b = 0; b < 3; b++)
        assert_int_equal(cg_loader_next(l, x, NULL, NULL), 32);
    assert_int_equal(cg_loader_next(l, x, NULL, NULL), 0);   /* 4 rows dropped */
    assert_int_equal(cg_loader_next(l, x, NULL, NULL), 32);  /* a new epoch */
    cg_loader_free(l);
    cg_dataset_free(ds);
}

/* One epoch of x values, batches of 10, into order[100]. */
static void epoch_order(cg_loader *l, int *order)
{
    cg_float x[10];
    int k = 0, rows;
    while ((rows = cg_loader_next(l, x, NULL, NULL)) > 0)
        for (int r = 0; r < rows; r++)
            order[k++] = (int)x[r];
    assert_int_equal(k, 100);
}

/* Rows converted on a pool's threads are the rows converted on the caller:
 * every batch of two epochs, bit for bit, with 2 and 3 threads. */
static void test_loader_on_a_pool_gives_the_same_batches(void **state)
{
    (void)state;
    cg_dataset *ds = make_table();
    struct cg_norm norm;
    assert_int_equal(cg_norm_fit(&norm, ds, CG_NORM_ZSCORE), CG_OK);
    for (int threads = 2; threads <= 3; threads++) {
        cg_pool *pool = cg_pool_new(threads);
        cg_loader *a = cg_loader_new(ds, 7, true, false, 5);
        cg_loader *b = cg_loader_new(ds, 7, true, false, 5);
        assert_int_equal(cg_loader_set_norm(a, &norm), CG_OK);
        assert_int_equal(cg_loader_set_norm(b, &norm), CG_OK);
        cg_loader_set_pool(b, pool);
        int batches = 0;
        for (int epoch = 0; epoch < 2; epoch++) {
            cg_float xa[7], xb[7];
            int la[7], lb[7], ra, rb;
            while ((ra = cg_loader_next(a, xa, la, NULL)) > 0) {
                rb = cg_loader_next(b, xb, lb, NULL);
                assert_int_equal(ra, rb);
                assert_memory_equal(xa, xb, (size_t)ra * sizeof xa[0]);
                assert_memory_equal(la, lb, (size_t)ra * sizeof la[0]);
                batches++;
            }
            assert_int_equal(cg_loader_next(b, xb, lb, NULL), 0);
        }
        assert_int_equal(batches, 2 * 15);   /* 14 of 7 rows and one of 2, twice */
        cg_loader_free(a);
        cg_loader_free(b);
        cg_pool_free(pool);
    }
    cg_norm_deinit(&norm);
    cg_dataset_free(ds);
}

/* A process's part of each batch (train/dist_step.c): rows 2 to 5 of a
 * batch of 7, the last of the two rows of the epoch's short batch. */
static void middle_rows(void *ctx, int rows, int *r0, int *r1)
{
    (void)ctx;
    *r0 = rows > 2 ? 2 : rows - 1;
    *r1 = rows > 5 ? 5 : rows;
}

/* Only the part's rows are converted, into their places, the rest of the
 * buffers left as they were; the batches, their counts and the state after
 * them are those of cg_loader_next; on a pool or not. */
static void test_loader_part_converts_its_rows_alone(void **state)
{
    (void)state;
    cg_dataset *ds = make_table();
    for (int threads = 1; threads <= 2; threads++) {
        cg_pool *pool = threads > 1 ? cg_pool_new(threads) : NULL;
        cg_loader *whole = cg_loader_new(ds, 7, true, false, 3);
        cg_loader *part = cg_loader_new(ds, 7, true, false, 3);
        cg_loader_set_pool(part, pool);
        int batches = 0;
        for (int epoch = 0; epoch < 2; epoch++) {
            cg_float xa[7], xb[7];
            int la[7], lb[7], ra, rb, r0, r1;
            while ((ra = cg_loader_next(whole, xa, la, NULL)) > 0) {
                for (int i = 0; i < 7; i++)
                    xb[i] = -1, lb[i] = -1;
                rb = cg__loader_next_part(part, xb, lb, NULL, middle_rows, NULL);
                assert_int_equal(rb, ra);
                middle_rows(NULL, ra, &r0, &r1);
                for (int i = 0; i < 7; i++) {
                    bool mine = i >= r0 && i < r1;
                    assert_true(xb[i] == (mine ? xa[i] : -1));
                    assert_int_equal(lb[i], mine ? la[i] : -1);
                }
                batches++;
            }
            assert_int_equal(cg__loader_next_part(part, xb, lb, NULL, middle_rows, NULL), 0);
        }
        assert_int_equal(batches, 2 * 15);
        struct cg_loader_state sa = cg_loader_state(whole), sb = cg_loader_state(part);
        assert_true(sa.epoch == sb.epoch && sa.position == sb.position && sa.n == sb.n);
        assert_int_equal(cg_rng_u32(&sa.rng), cg_rng_u32(&sb.rng));
        cg_loader_free(whole);
        cg_loader_free(part);
        cg_pool_free(pool);
    }
    cg_dataset_free(ds);
}

static void test_loader_shuffles_each_epoch_from_the_seed(void **state)
{
    (void)state;
    cg_dataset *ds = make_table();
    cg_loader *a = cg_loader_new(ds, 10, true, false, 5);
    cg_loader *b = cg_loader_new(ds, 10, true, false, 5);
    cg_loader *c = cg_loader_new(ds, 10, true, false, 6);
    int a0[100], a1[100], b0[100], b1[100], c0[100], seen[100] = {0};
    epoch_order(a, a0);
    epoch_order(a, a1);
    epoch_order(b, b0);
    epoch_order(b, b1);
    epoch_order(c, c0);
    for (int i = 0; i < 100; i++)
        seen[a0[i]]++;
    for (int i = 0; i < 100; i++)
        assert_int_equal(seen[i], 1);          /* a permutation */
    assert_memory_equal(a0, b0, sizeof a0);    /* same seed, same orders */
    assert_memory_equal(a1, b1, sizeof a1);
    assert_memory_not_equal(a0, a1, sizeof a0);  /* a new order each epoch */
    assert_memory_not_equal(a0, c0, sizeof a0);  /* another seed, another order */
    /* Epoch 0 is Fisher-Yates of 0..99 with a generator seeded with 5. */
    size_t ref[100];
    cg_rng rng;
    for (size_t i = 0; i < 100; i++)
        ref[i] = i;
    cg_rng_seed(&rng, 5);
    cg_rng_shuffle(&rng, ref, 100);
    for (int i = 0; i < 100; i++)
        assert_int_equal(a0[i], (int)ref[i]);
    cg_loader_free(a);
    cg_loader_free(b);
    cg_loader_free(c);
    cg_dataset_free(ds);
}

static void test_loader_state_restores_exactly(void **state)
{
    (void)state;
    cg_dataset *ds = make_table();
    cg_loader *a = cg_loader_new(ds, 7, true, false, 11);
    cg_float xa[7 * 5], xb[7 * 5], tmp[7];
    int full[100];
    epoch_order(a, full);                      /* one epoch done */
    for (int b = 0; b < 3; b++)
        cg_loader_next(a, tmp, NULL, NULL);    /* three batches into epoch 1 */
    struct cg_loader_state st = cg_loader_state(a);
    assert_int_equal(st.epoch, 1);
    assert_int_equal(st.position, 21);
    assert_int_equal(st.n, 100);
    /* The rest of epoch 1 and some of epoch 2, from a and from a loader
     * restored into a fresh one made with another seed. */
    cg_loader *b = cg_loader_new(ds, 7, true, false, 999);
    assert_int_equal(cg_loader_restore(b, &st), CG_OK);
    for (int k = 0; k < 20; k++) {
        int ra = cg_loader_next(a, xa, NULL, NULL);
        int rb = cg_loader_next(b, xb, NULL, NULL);
        assert_int_equal(ra, rb);
        assert_memory_equal(xa, xb, (size_t)ra * sizeof *xa);
    }
    /* A state for another data set is refused. */
    st.n = 50;
    assert_int_equal(cg_loader_restore(b, &st), CG_ERR_STATE);
    assert_errmsg_contains("the state is for 50 samples");
    cg_loader_free(a);
    cg_loader_free(b);
    cg_dataset_free(ds);
}

static void test_loader_regression_targets(void **state)
{
    (void)state;
    struct cg_csv_options o = {.task = CG_TASK_REGRESS, .n_targets = 2};
    cg_dataset *ds = cg_csv_load("tests/data/csv/regress.csv", &o);
    cg_loader *l = cg_loader_new(ds, 4, false, false, 0);
    cg_float x[4], t[8];
    int y[4] = {-7, -7, -7, -7};
    assert_int_equal(cg_loader_next(l, x, y, t), 2);
    assert_near(x[1], 4, 0);
    assert_near(t[0], 2, 0);
    assert_near(t[3], 6.5, 0);
    assert_int_equal(y[0], -7);                /* no labels in a regression set */
    cg_loader_free(l);
    cg_dataset_free(ds);
}

static void test_loader_allocates_nothing_per_batch(void **state)
{
    (void)state;
    cg_test_alloc_install(-1, 0);
    cg_dataset *ds = make_images();
    struct cg_norm n;
    assert_int_equal(cg_norm_fit(&n, ds, CG_NORM_ZSCORE), CG_OK);
    cg_loader *l = cg_loader_new(ds, 1, true, false, 1);
    cg_loader_set_norm(l, &n);
    cg_float x[2];
    int y;
    long before = cg_test_alloc.calls;
    for (int k = 0; k < 1000; k++)
        cg_loader_next(l, x, &y, NULL);        /* batches and new epochs */
    assert_int_equal(cg_test_alloc.calls, before);
    cg_loader_free(l);
    cg_norm_deinit(&n);
    cg_dataset_free(ds);
    cg_test_alloc_remove();
}

static void test_loader_rejects_bad_batch(void **state)
{
    (void)state;
    cg_dataset *ds = make_table();
    assert_null(cg_loader_new(ds, 0, true, false, 1));
    assert_int_equal(cg_errcode(), CG_ERR_ARG);
    assert_errmsg_contains("batch size 0 is not positive");
    cg_dataset_free(ds);
}

/* ---- one-hot -------------------------------------------------------------- */

static void test_one_hot(void **state)
{
    (void)state;
    cg_tensor *t = cg_tensor_new(2, (int[]){4, 3});
    cg_tensor_fill(t, 9);
    const int labels[] = {2, 0, 1};
    assert_int_equal(cg_one_hot(t, labels, 3), CG_OK);
    const double want[] = {0, 0, 1, 1, 0, 0, 0, 1, 0, 0, 0, 0};
    assert_tensor_near(t, want, 12, 0);
    const int bad[] = {0, 3};
    assert_int_equal(cg_one_hot(t, bad, 2), CG_ERR_ARG);
    assert_errmsg_contains("row 1: label 3 is not in 0..2");
    assert_int_equal(cg_one_hot(t, labels, 5), CG_ERR_SHAPE);
    cg_tensor_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_norm_zscore_of_table),
        cmocka_unit_test(test_norm_minmax_of_table),
        cmocka_unit_test(test_norm_of_images),
        cmocka_unit_test(test_norm_from_arrays_and_errors),
        cmocka_unit_test(test_split_is_stratified_and_disjoint),
        cmocka_unit_test(test_split_follows_the_seed),
        cmocka_unit_test(test_split_of_a_split_and_bad_fraction),
        cmocka_unit_test(test_loader_without_shuffle_keeps_file_order),
        cmocka_unit_test(test_loader_drop_last),
        cmocka_unit_test(test_loader_shuffles_each_epoch_from_the_seed),
        cmocka_unit_test(test_loader_on_a_pool_gives_the_same_batches),
        cmocka_unit_test(test_loader_part_converts_its_rows_alone),
        cmocka_unit_test(test_loader_state_restores_exactly),
        cmocka_unit_test(test_loader_regression_targets),
        cmocka_unit_test(test_loader_allocates_nothing_per_batch),
        cmocka_unit_test(test_loader_rejects_bad_batch),
        cmocka_unit_test(test_one_hot),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
