/*
 * examples/fit.c: train a classifier on a CSV file with early stopping and
 * a checkpoint. Stopped (Ctrl-C, a kill, a power cut) and run again, it
 * resumes from fit.ckpt and ends with the same fit.safetensors, bit for
 * bit, as a run that was never stopped; `cgrad predict` reads that file.
 *
 *     make examples && build/examples/fit examples/data/iris.csv
 */
#include <stdio.h>
#include <unistd.h>

#include <cgrad.h>

int main(int argc, char **argv)
{
    cg_dataset *data = cg_csv_load(argc > 1 ? argv[1] : "examples/data/iris.csv", NULL);
    if (!data)
        return fprintf(stderr, "fit: %s\n", cg_errmsg()), 1;
    int sizes[] = {cg_dataset_features(data), 16, cg_dataset_classes(data)};
    struct cg_arch arch = cg_arch_default(3, sizes);
    cg_model *m = cg_model_new(&arch);
    cg_rng rng;
    cg_rng_seed(&rng, 1);
    cg_model_init(m, CG_INIT_DEFAULT, &rng);
    cg_tensor *flat = cg_model_flat(m);
    struct cg_adam_params adam = cg_adam_defaults();
    adam.lr = 0.01;
    cg_optim *opt = cg_adam_new(&flat, 1, &adam);

    struct cg_fit_settings s = cg_fit_defaults();
    s.epochs = 300, s.batch = 16, s.val_split = 0.2;
    s.patience = 20, s.restore_best = true;            /* early stopping */
    s.checkpoint = "fit.ckpt", s.out = "fit.safetensors";
    if (access(s.checkpoint, F_OK) == 0)               /* run again: resume */
        s.resume = s.checkpoint;
    struct cg_fit_result r = {0};
    cg_status st = cg_fit(m, opt, data, NULL, &s, &r);  /* a NULL m or opt fails here */
    if (st == CG_OK)
        printf("%d epochs, the best was epoch %d: validation accuracy %.4f\n", r.epochs,
               r.best_epoch, r.val.accuracy);
    else
        fprintf(stderr, "fit: %s\n", cg_errmsg());
    cg_fit_result_deinit(&r), cg_optim_free(opt), cg_model_free(m), cg_dataset_free(data);
    return st == CG_OK ? 0 : 1;
}
