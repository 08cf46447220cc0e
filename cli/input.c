/*
 * Opening DATA for the commands (see input.h): detect the kind of a path,
 * load it through the data layer, and the texts model files store about it.
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "input.h"

/* True when dir holds the file name, or name.gz. */
static bool has_file(const char *dir, const char *name)
{
    char path[4096];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
        return true;
    snprintf(path, sizeof path, "%s/%s.gz", dir, name);
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int cli_detect_format(const char *path, int given)
{
    struct stat st;
    /* the data layer's words for a file that cannot be read (docs/DATA.md) */
    if (stat(path, &st) != 0)
        return cli_error("%s: cannot open: %s", path, strerror(errno)), -1;
    bool dir = S_ISDIR(st.st_mode);
    bool idx = dir && (has_file(path, "train-images-idx3-ubyte") ||
                       has_file(path, "t10k-images-idx3-ubyte"));
    switch (given) {
    case CLI_FORMAT_CSV:
        if (dir)
            return cli_error("%s: is a folder, not a CSV file", path), -1;
        return CLI_FORMAT_CSV;
    case CLI_FORMAT_IDX:
        if (!idx)
            return cli_error("%s: not a folder with train-images-idx3-ubyte[.gz] or "
                             "t10k-images-idx3-ubyte[.gz]", path), -1;
        return CLI_FORMAT_IDX;
    case CLI_FORMAT_IMAGES:
        if (!dir)
            return cli_error("%s: not a folder of class folders of images", path), -1;
        return CLI_FORMAT_IMAGES;
    default:
        return dir ? (idx ? CLI_FORMAT_IDX : CLI_FORMAT_IMAGES) : CLI_FORMAT_CSV;
    }
}

/* Print the library's last error, with the path in front unless the
 * message names it already. */
static void data_error(const char *path)
{
    const char *msg = cg_errmsg();
    if (strstr(msg, path))
        cli_error("%s", msg);
    else
        cli_error("%s: %s", path, msg[0] ? msg : "cannot load");
}

/* True when every class name is a number and one of them is not an
 * integer: the labels are values to regress, not classes. */
static bool labels_look_continuous(const cg_dataset *ds)
{
    bool fraction = false;
    for (int c = 0; c < cg_dataset_classes(ds); c++) {
        const char *name = cg_dataset_class_name(ds, c);
        char *end;
        double v = strtod(name, &end);
        if (end == name || *end || !isfinite(v))
            return false;
        if (v != floor(v))
            fraction = true;
    }
    return fraction;
}

static cg_dataset *load_csv(const char *path, const struct cli_read *how)
{
    struct cg_csv_options o = {0};
    o.label = how->label;
    o.task = how->task == CLI_TASK_REGRESS ? CG_TASK_REGRESS : CG_TASK_CLASSIFY;
    o.class_names = how->classes;
    o.n_class_names = how->n_classes;
    cg_dataset *ds = cg_csv_load(path, &o);
    if (ds && how->task == CLI_TASK_AUTO && labels_look_continuous(ds)) {
        cg_dataset_free(ds);
        o.task = CG_TASK_REGRESS;
        ds = cg_csv_load(path, &o);
    }
    return ds;
}

cg_dataset *cli_load(const char *path, const struct cli_read *how, bool want_test,
                     cg_dataset **idx_test)
{
    cg_dataset *ds = NULL, *train = NULL, *test = NULL;
    cg_clear_error();
    switch (how->format) {
    case CLI_FORMAT_CSV:
        ds = load_csv(path, how);
        break;
    case CLI_FORMAT_IDX:
        if (cg_idx_load_dir(path, &train, &test) != CG_OK)
            break;
        if (want_test) {
            ds = test;
            cg_dataset_free(train);
            if (!ds)
                return cli_error("%s: no t10k-images-idx3-ubyte[.gz] and "
                                 "t10k-labels-idx1-ubyte[.gz] to evaluate on", path), NULL;
        } else {
            ds = train;
            if (idx_test)
                *idx_test = test;
            else
                cg_dataset_free(test);
        }
        break;
    case CLI_FORMAT_IMAGES: {
        struct cg_image_options o = {0};
        o.channels = how->channels;
        o.width = how->width;
        o.height = how->height;
        ds = cg_image_folder_load(path, &o);
        break;
    }
    default:
        break;
    }
    if (!ds) {
        data_error(path);
        return NULL;
    }
    if (cg_dataset_warning(ds))
        fprintf(stderr, "cgrad: warning: %s\n", cg_dataset_warning(ds));
    if (cg_dataset_size(ds) == 0) {
        cli_error("%s: no samples", path);
        cg_dataset_free(ds);
        return NULL;
    }
    return ds;
}

int cli_check_classes(const cg_dataset *ds, const char *path, const char *const *names, int n,
                      const char *owner)
{
    int k = cg_dataset_classes(ds);
    if (cg_dataset_task(ds) != CG_TASK_CLASSIFY)
        return cli_error("%s: no class labels, but %s has classes", path, owner);
    if (k > n)
        return cli_error("%s: %d classes, but %s has %d", path, k, owner, n);
    for (int c = 0; names && c < k; c++)
        if (strcmp(cg_dataset_class_name(ds, c), names[c]) != 0)
            return cli_error("%s: class %d is '%s', but %s's class %d is '%s'", path, c,
                             cg_dataset_class_name(ds, c), owner, c, names[c]);
    return CLI_OK;
}
