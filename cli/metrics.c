/*
 * The training history as a CSV file (--metrics), rewritten after every
 * epoch from cg_fit's history, which a resumed run carries over from its
 * checkpoint: the file covers the whole run.
 *
 * Columns: epoch,step,lr,train_loss,train_acc,val_loss,val_acc,seconds.
 * A figure that does not exist (no validation set, accuracy of a regression)
 * is an empty field.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

const char cli_metrics_header[] =
    "epoch,step,lr,train_loss,train_acc,val_loss,val_acc,seconds";

/* A figure, or nothing for NaN. */
static int put_num(char *buf, size_t n, double v, const char *fmt)
{
    if (isnan(v))
        return snprintf(buf, n, ",");
    return snprintf(buf, n, fmt, v);
}

char *cli_history_csv(const struct cli_history *h)
{
    size_t cap = sizeof cli_metrics_header + 1 + (size_t)h->n * 160;
    char *buf = malloc(cap);
    if (!buf)
        return NULL;
    size_t used = (size_t)snprintf(buf, cap, "%s\n", cli_metrics_header);
    for (int i = 0; i < h->n; i++) {
        const struct cg_fit_epoch *r = &h->rows[i];
        used += (size_t)snprintf(buf + used, cap - used, "%d,%ld", r->epoch, r->step);
        used += (size_t)put_num(buf + used, cap - used, r->lr, ",%.6g");
        used += (size_t)put_num(buf + used, cap - used, r->train_loss, ",%.6f");
        used += (size_t)put_num(buf + used, cap - used, r->train_acc, ",%.6f");
        used += (size_t)put_num(buf + used, cap - used, r->val_loss, ",%.6f");
        used += (size_t)put_num(buf + used, cap - used, r->val_acc, ",%.6f");
        used += (size_t)snprintf(buf + used, cap - used, ",%.3f\n", r->seconds);
    }
    return buf;
}

int cli_write_file_atomic(const char *path, const char *data, size_t len)
{
    cg_clear_error();
    if (cg_write_file(path, data, len) != CG_OK)
        return cli_error("%s", cg_errmsg()[0] ? cg_errmsg() : "out of memory");
    return CLI_OK;
}

int cli_metrics_write(const char *path, const struct cli_history *h)
{
    char *csv = cli_history_csv(h);
    if (!csv)
        return cli_error("%s: out of memory", path);
    int rc = cli_write_file_atomic(path, csv, strlen(csv));
    free(csv);
    return rc;
}
