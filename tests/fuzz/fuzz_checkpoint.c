/* libFuzzer target: a cg_fit run resumed from a checkpoint (train/
 * checkpoint.c): a 4-8-3 model, Adam, 60 rows in batches of 16, two epochs
 * with a validation split, early stopping with the best weights. The seeds
 * are checkpoints of this very run (tests/fuzz/corpus/checkpoint/fit-*,
 * written with FUZZ_WRITE_SEEDS set), so the fuzzer gets past the settings
 * check into the counters, the loader and generator states, the epoch's
 * running sums, the best weights, the history and the optimizer's tensors;
 * a resume that is accepted trains to the run's end. */
#include "fuzz_util.h"

/* 60 rows of 4 features, 3 classes. */
static cg_dataset *rows(void)
{
    static cg_dataset *ds;
    if (!ds) {
        char text[4096];
        size_t len = (size_t)snprintf(text, sizeof text, "a,b,c,d,y\n");
        for (int i = 0; i < 60; i++)
            len += (size_t)snprintf(text + len, sizeof text - len, "%d,%d,%d,%d,%d\n", i, i % 3,
                                    i % 5, i % 7, i % 3);
        const char *path = fuzz_path("rows.csv");
        fuzz_write(path, (const uint8_t *)text, len, 0);
        if (!(ds = cg_csv_load(path, NULL)))
            abort();
    }
    return ds;
}

/* A seed's run stops after its second step (and writes its checkpoint). */
static enum cg_fit_action stop_at_2(const struct cg_fit_step *step, void *user)
{
    (void)user;
    return step->step == 2 ? CG_FIT_STOP : CG_FIT_CONTINUE;
}

/* Train the run for `epochs`: from its start (resume NULL) or from a
 * checkpoint; with mid_stop, stop after step 2. */
static cg_status run(int epochs, const char *resume, const char *checkpoint, bool mid_stop)
{
    cg_rng rng;
    cg_rng_seed(&rng, 1);
    cg_model *m = cg_model_from_spec("4-8-3");
    if (!m || cg_model_init(m, CG_INIT_DEFAULT, &rng) != CG_OK)
        abort();
    cg_tensor *flat = cg_model_flat(m);
    cg_optim *opt = cg_adam_new(&flat, 1, NULL);
    if (!opt)
        abort();
    struct cg_fit_settings s = cg_fit_defaults();
    s.epochs = epochs, s.batch = 16, s.val_split = 0.25, s.patience = 1, s.restore_best = true;
    s.resume = resume, s.checkpoint = checkpoint, s.on_step = mid_stop ? stop_at_2 : NULL;
    struct cg_fit_result r;
    cg_status st = cg_fit(m, opt, rows(), NULL, &s, &r);
    if (st == CG_OK && (r.n_history < 0 || r.n_history > 2))
        abort();   /* a resume never adds epochs beyond the run's */
    cg_fit_result_deinit(&r);
    cg_optim_free(opt);
    cg_model_free(m);
    return st;
}

/* FUZZ_WRITE_SEEDS=DIR: write the seed checkpoints into DIR, once: a stop
 * in the first epoch, its end, and the end of the run. */
static void write_seeds(void)
{
    static int done;
    const char *dir = getenv("FUZZ_WRITE_SEEDS");
    char path[512];
    if (done++ || !dir)
        return;
    snprintf(path, sizeof path, "%s/fit-stop-step2.safetensors", dir);
    (void)run(2, NULL, path, true);
    snprintf(path, sizeof path, "%s/fit-epoch1.safetensors", dir);
    (void)run(1, NULL, path, false);
    snprintf(path, sizeof path, "%s/fit-end.safetensors", dir);
    (void)run(2, NULL, path, false);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_path("ck.safetensors");

    write_seeds();
    fuzz_write(path, data, size, 0);
    (void)run(2, path, NULL, false);
    return 0;
}
