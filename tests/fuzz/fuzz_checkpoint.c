/* libFuzzer target: resuming from a checkpoint (cli_checkpoint_restore,
 * cli/checkpoint.c) into the run its seed checkpoints come from: a 4-8-3
 * model, Adam, a loader over 60 rows. The run's fixed settings are taken
 * from the file itself when bit 0 of its last byte is set (so the fuzzer
 * gets past the settings check into the counters, the loader and
 * generator states, the history and the optimizer's tensors), else fixed
 * ones. Then the restored state is used as a resumed run would: the loader
 * is put back, one optimizer step taken, the history written out again. */
#include "fuzz_util.h"

#include "cli/checkpoint.h"

static const char *const keys[] = {
    "spec", "data", "data_format", "label", "task", "test", "val_split", "normalize",
    "image_size", "optimizer", "loss", "batch", "seed", "shuffle", "schedule", "warmup",
    "clip_norm", "clip_value"
};
#define N_KEYS ((int)(sizeof keys / sizeof keys[0]))

/* 60 rows of 4 features, 3 classes (the size the seeds were saved with). */
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_path("ck.safetensors");
    struct cg_meta_kv meta[N_KEYS];
    struct cli_run_state state;
    struct cli_history hist = {0};
    cg_safetensors *own = NULL;

    fuzz_write(path, data, size, 0);
    for (int i = 0; i < N_KEYS; i++)
        meta[i] = (struct cg_meta_kv){keys[i], "x"};
    if (size && (data[size - 1] & 1) && (own = cg_safetensors_load(path)))
        for (int i = 0; i < N_KEYS; i++)
            if (cg_safetensors_meta(own, keys[i]))
                meta[i].value = cg_safetensors_meta(own, keys[i]);
    cg_model *m = cg_model_from_spec("4-8-3");
    cg_tensor *flat = m ? cg_model_flat(m) : NULL;
    cg_optim *opt = flat ? cg_adam_new(&flat, 1, NULL) : NULL;
    cg_loader *ld = cg_loader_new(rows(), 16, true, false, 2);
    if (!m || !opt || !ld)
        abort();
    memset(&state, 0, sizeof state);
    if (cli_checkpoint_restore(path, m, opt, meta, N_KEYS, &state, &hist) == CLI_OK) {
        if (state.step < 0 || state.epoch < 0 || cg_optim_steps(opt) < 0 ||
            cg_optim_steps(opt) > CG_OPTIM_MAX_STEPS)
            abort();
        if (cg_loader_restore(ld, &state.loader) == CG_OK) {
            cg_float x[16 * 4];
            int y[16];
            (void)cg_loader_next(ld, x, y, NULL);
        }
        cg_status st = cg_optim_step(opt);
        if (st != CG_OK && st != CG_ERR_STATE)
            abort();
        free(cli_history_csv(&hist));
    }
    cli_history_free(&hist);
    cg_loader_free(ld);
    cg_optim_free(opt);
    cg_model_free(m);
    cg_safetensors_free(own);
    return 0;
}
