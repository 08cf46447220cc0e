/* libFuzzer target: the CSV reader (cg_csv_load) under three option sets,
 * then everything a loaded data set offers (rows, split, normalization). */
#include "fuzz_util.h"

static void exercise(cg_dataset *ds)
{
    int nf = cg_dataset_features(ds), nt = cg_dataset_targets(ds);
    cg_float *x = malloc(sizeof(cg_float) * (size_t)(nf > 0 ? nf : 1));
    cg_float *y = malloc(sizeof(cg_float) * (size_t)(nt > 0 ? nt : 1));
    cg_dataset *tr = NULL, *va = NULL;
    struct cg_norm norm = {0};

    for (size_t i = 0; i < cg_dataset_size(ds) && x && y; i++) {
        if (cg_dataset_row(ds, i, x) != CG_OK)
            abort();
        if (cg_dataset_task(ds) == CG_TASK_REGRESS && cg_dataset_target_row(ds, i, y) != CG_OK)
            abort();
    }
    for (int j = 0; j < nf; j++)
        (void)cg_dataset_feature_name(ds, j);
    for (int c = 0; c < cg_dataset_classes(ds); c++)
        (void)cg_dataset_class_name(ds, c);
    if (cg_dataset_split(ds, 0.3, 1, &tr, &va) == CG_OK) {
        cg_dataset_free(tr);
        cg_dataset_free(va);
    }
    if (cg_norm_fit(&norm, ds, CG_NORM_ZSCORE) == CG_OK)
        cg_norm_deinit(&norm);
    free(x);
    free(y);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct cg_csv_options opts[3] = {
        {0},
        {.task = CG_TASK_REGRESS, .skip_bad_rows = true, .header = CG_CSV_HEADER_ON},
        {.task = CG_TASK_NONE, .delimiter = ';', .header = CG_CSV_HEADER_OFF},
    };
    const char *path = fuzz_path("in.csv");

    fuzz_write(path, data, size, 0);
    for (int k = 0; k < 3; k++) {
        cg_dataset *ds = cg_csv_load(path, &opts[k]);
        if (ds)
            exercise(ds);
        else if (cg_errmsg()[0] == '\0')
            abort();  /* every failure says why */
        cg_dataset_free(ds);
    }
    return 0;
}
