/*
 * The training history: one row per epoch, kept in memory, written as a CSV
 * file (--metrics) after every epoch, and stored in checkpoints so that a
 * resumed run's metrics and plot cover the whole run.
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

int cli_history_add(struct cli_history *h, const struct cli_epoch_row *row)
{
    if (h->n == h->cap) {
        int cap = h->cap ? 2 * h->cap : 16;
        struct cli_epoch_row *rows = realloc(h->rows, (size_t)cap * sizeof *rows);
        if (!rows)
            return cli_error("out of memory for the training history");
        h->rows = rows;
        h->cap = cap;
    }
    h->rows[h->n++] = *row;
    return CLI_OK;
}

void cli_history_free(struct cli_history *h)
{
    free(h->rows);
    memset(h, 0, sizeof *h);
}

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
        const struct cli_epoch_row *r = &h->rows[i];
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

/* One field of a row: a number, or NaN when empty. */
static double field(const char **p)
{
    double v = (double)NAN;
    if (**p != ',' && **p != '\n' && **p) {
        char *end;
        v = strtod(*p, &end);
        *p = end;
    }
    if (**p == ',')
        (*p)++;
    return v;
}

/* A field that must be a whole number in [lo, hi]: a double out of a
 * long's range (1e300, NaN) is no count (converting it is undefined). */
static bool whole_field(const char **p, double lo, double hi, double *v)
{
    *v = field(p);
    return *v >= lo && *v <= hi && *v == floor(*v);
}

int cli_history_parse(struct cli_history *h, const char *csv)
{
    const char *p = strchr(csv, '\n');
    while (p && p[1]) {
        p++;
        struct cli_epoch_row r;
        double epoch, step;
        if (!whole_field(&p, 1, 1e7, &epoch) || !whole_field(&p, 0, 0x1p53, &step))
            return CLI_USAGE;
        r.epoch = (int)epoch;
        r.step = (long)step;
        r.lr = field(&p);
        r.train_loss = field(&p);
        r.train_acc = field(&p);
        r.val_loss = field(&p);
        r.val_acc = field(&p);
        r.seconds = field(&p);
        if (cli_history_add(h, &r) != CLI_OK)
            return CLI_RUNTIME;
        p = strchr(p, '\n');
    }
    return CLI_OK;
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
