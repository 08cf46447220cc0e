/*
 * Checkpoints: one safetensors file (written atomically by the nn layer)
 * with the model's parameters under their state_dict names, the optimizer's
 * state tensors as "optim.<name>", and metadata: the model file keys (so a
 * checkpoint is also a model file for eval, predict and info), the
 * settings that must not change across a resume, and where the run stands
 * (step, epoch, loader and dropout random state, metrics history).
 */
#ifndef CG_CLI_CHECKPOINT_H
#define CG_CLI_CHECKPOINT_H

#include "cgrad.h"
#include "cli.h"

/* Where a run stands. */
struct cli_run_state {
    long   step;                 /* optimizer steps taken */
    int    epoch;                /* epochs completed */
    struct cg_loader_state loader;
    cg_rng dropout;              /* the dropout generator */
};

/* The settings keys a resumed run must share with its checkpoint, each
 * with the option a user changes to change it. */
struct cli_fixed_setting {
    const char *key;     /* metadata key */
    const char *option;  /* "--batch", or a phrase ("the model") */
};
extern const struct cli_fixed_setting cli_fixed_settings[];
extern const int cli_n_fixed_settings;

/* Save a checkpoint to path: the model's parameters, the optimizer's state,
 * meta[0..n_meta) (model keys and settings) and the run state and history.
 * CLI_OK, or CLI_RUNTIME after printing the error. */
int cli_checkpoint_save(const char *path, cg_model *m, cg_optim *opt,
                        const struct cg_meta_kv *meta, int n_meta,
                        const struct cli_run_state *state, const struct cli_history *h);

/* Resume from the checkpoint at path: refuses (CLI_RUNTIME, message naming
 * the setting) when a key of cli_fixed_settings differs from its value in
 * meta[0..n_meta); else loads the parameters into m, the optimizer state
 * into opt, and fills *state and *h. */
int cli_checkpoint_restore(const char *path, cg_model *m, cg_optim *opt,
                           const struct cg_meta_kv *meta, int n_meta,
                           struct cli_run_state *state, struct cli_history *h);

#endif /* CG_CLI_CHECKPOINT_H */
