/*
 * SVG pictures a person can open in any browser: the training curves (two
 * panels, loss and accuracy, train and validation, against the epoch) and
 * the confusion matrix of an evaluation. Written atomically.
 */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* ---- a growing text buffer ---------------------------------------------- */

struct buf {
    char  *s;
    size_t len, cap;
    bool   oom;
};

static void put(struct buf *b, const char *fmt, ...) CLI_PRINTF(2, 3);

static void put(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    for (;;) {
        if (b->oom)
            return;
        size_t room = b->cap - b->len;
        va_start(ap, fmt);
        int n = vsnprintf(b->s ? b->s + b->len : NULL, room, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->oom = true;
            return;
        }
        if ((size_t)n < room) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = 2 * b->cap + (size_t)n + 1024;
        char *s = realloc(b->s, cap);
        if (!s) {
            b->oom = true;
            return;
        }
        b->s = s;
        b->cap = cap;
    }
}

/* Text with &, <, > and quotes escaped for XML. */
static void put_text(struct buf *b, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': put(b, "&amp;"); break;
        case '<': put(b, "&lt;"); break;
        case '>': put(b, "&gt;"); break;
        case '"': put(b, "&quot;"); break;
        default:  put(b, "%c", *s);
        }
    }
}

static int finish(struct buf *b, const char *path)
{
    int rc = b->oom ? cli_error("%s: out of memory", path)
                    : cli_write_file_atomic(path, b->s, b->len);
    free(b->s);
    return rc;
}

/* ---- axes --------------------------------------------------------------- */

/* A "nice" tick step (1, 2 or 5 times a power of ten) for about 5 ticks. */
static double tick_step(double span)
{
    if (!(span > 0))
        return 1;
    double raw = span / 5, p = pow(10, floor(log10(raw))), m = raw / p;
    return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
}

struct panel {
    double x0, y0, w, h;          /* the plotting area in pixels */
    double xmin, xmax, ymin, ymax;
};

static double px(const struct panel *p, double x)
{
    return p->x0 + (x - p->xmin) / (p->xmax - p->xmin) * p->w;
}

static double py(const struct panel *p, double y)
{
    return p->y0 + p->h - (y - p->ymin) / (p->ymax - p->ymin) * p->h;
}

static void draw_axes(struct buf *b, const struct panel *p, const char *title,
                      const char *ylabel)
{
    put(b, "<rect x='%.1f' y='%.1f' width='%.1f' height='%.1f' fill='none' "
           "stroke='#444'/>\n", p->x0, p->y0, p->w, p->h);
    double ys = tick_step(p->ymax - p->ymin);
    for (double y = ceil(p->ymin / ys) * ys; y <= p->ymax + 1e-9 * ys; y += ys) {
        put(b, "<line x1='%.1f' x2='%.1f' y1='%.1f' y2='%.1f' stroke='#ddd'/>\n", p->x0,
            p->x0 + p->w, py(p, y), py(p, y));
        put(b, "<text x='%.1f' y='%.1f' text-anchor='end' font-size='11'>%g</text>\n",
            p->x0 - 4, py(p, y) + 4, fabs(y) < 1e-12 ? 0.0 : y);
    }
    double xs = tick_step(p->xmax - p->xmin);
    if (xs < 1)
        xs = 1;
    for (double x = ceil(p->xmin / xs) * xs; x <= p->xmax + 1e-9; x += xs)
        put(b, "<text x='%.1f' y='%.1f' text-anchor='middle' font-size='11'>%g</text>\n",
            px(p, x), p->y0 + p->h + 15, x);
    put(b, "<text x='%.1f' y='%.1f' text-anchor='middle' font-size='12'>epoch</text>\n",
        p->x0 + p->w / 2, p->y0 + p->h + 32);
    put(b, "<text x='%.1f' y='%.1f' text-anchor='middle' font-size='14' "
           "font-weight='bold'>%s</text>\n", p->x0 + p->w / 2, p->y0 - 10, title);
    put(b, "<text transform='translate(%.1f %.1f) rotate(-90)' text-anchor='middle' "
           "font-size='12'>%s</text>\n", p->x0 - 42, p->y0 + p->h / 2, ylabel);
}

/* One curve: the non-NaN values of column `off` of the rows, with dots. */
static void draw_curve(struct buf *b, const struct panel *p, const struct cli_history *h,
                       size_t off, const char *color, const char *dash)
{
    bool open = false;
    for (int i = 0; i < h->n; i++) {
        double v = *(const double *)(const void *)((const char *)&h->rows[i] + off);
        if (isnan(v))
            continue;
        if (!open)
            put(b, "<polyline fill='none' stroke='%s' stroke-width='2' "
                   "stroke-dasharray='%s' points='", color, dash);
        open = true;
        put(b, "%.1f,%.1f ", px(p, h->rows[i].epoch), py(p, v));
    }
    if (!open)
        return;
    put(b, "'/>\n");
    for (int i = 0; i < h->n; i++) {
        double v = *(const double *)(const void *)((const char *)&h->rows[i] + off);
        if (!isnan(v))
            put(b, "<circle cx='%.1f' cy='%.1f' r='3' fill='%s'/>\n",
                px(p, h->rows[i].epoch), py(p, v), color);
    }
}

static bool column_range(const struct cli_history *h, size_t off, double *lo, double *hi)
{
    bool any = false;
    for (int i = 0; i < h->n; i++) {
        double v = *(const double *)(const void *)((const char *)&h->rows[i] + off);
        if (!isfinite(v))
            continue;
        *lo = any ? fmin(*lo, v) : v;
        *hi = any ? fmax(*hi, v) : v;
        any = true;
    }
    return any;
}

/* The legend in the top right corner (loss falls away from it), or the
 * bottom right one (accuracy rises away from it). */
static void draw_legend(struct buf *b, const struct panel *p, bool val, bool bottom)
{
    double x = p->x0 + p->w - 110, y = bottom ? p->y0 + p->h - (val ? 48 : 30) : p->y0 + 8;
    put(b, "<rect x='%.1f' y='%.1f' width='102' height='%d' fill='white' stroke='#bbb'/>\n",
        x, y, val ? 40 : 22);
    put(b, "<line x1='%.1f' x2='%.1f' y1='%.1f' y2='%.1f' stroke='#1f77b4' "
           "stroke-width='2'/><text x='%.1f' y='%.1f' font-size='11'>train</text>\n",
        x + 6, x + 30, y + 12, y + 12, x + 36, y + 16);
    if (val)
        put(b, "<line x1='%.1f' x2='%.1f' y1='%.1f' y2='%.1f' stroke='#ff7f0e' "
               "stroke-width='2' stroke-dasharray='6,3'/><text x='%.1f' y='%.1f' "
               "font-size='11'>validation</text>\n",
            x + 6, x + 30, y + 30, y + 30, x + 36, y + 34);
}

static void draw_panel(struct buf *b, struct panel *p, const struct cli_history *h,
                       size_t train_off, size_t val_off, const char *title, bool is_acc)
{
    double lo = 0, hi = 1, vlo = 0, vhi = 1;
    bool t = column_range(h, train_off, &lo, &hi);
    bool v = column_range(h, val_off, &vlo, &vhi);
    if (v) {
        lo = t ? fmin(lo, vlo) : vlo;
        hi = t ? fmax(hi, vhi) : vhi;
    }
    if (is_acc) {
        hi = 1;
        lo = fmax(0, floor(lo * 10 - 0.5) / 10);
    } else {
        double pad = (hi - lo) * 0.08 + 1e-6;
        lo = fmax(0, lo - pad);
        hi += pad;
    }
    if (hi - lo < 1e-9)
        hi = lo + 1;
    p->xmin = h->n > 0 && h->rows[0].epoch < h->rows[h->n - 1].epoch ? h->rows[0].epoch : 0;
    p->xmax = h->n > 0 ? fmax(h->rows[h->n - 1].epoch, p->xmin + 1) : 1;
    p->ymin = lo;
    p->ymax = hi;
    draw_axes(b, p, title, is_acc ? "accuracy" : "loss");
    draw_curve(b, p, h, train_off, "#1f77b4", "none");
    draw_curve(b, p, h, val_off, "#ff7f0e", "6,3");
    draw_legend(b, p, v, is_acc);
}

int cli_plot_write(const char *path, const struct cli_history *h, const char *title)
{
    double dummy_lo = 0, dummy_hi = 0;
    bool acc = column_range(h, offsetof(struct cli_epoch_row, train_acc), &dummy_lo,
                            &dummy_hi) ||
               column_range(h, offsetof(struct cli_epoch_row, val_acc), &dummy_lo, &dummy_hi);
    int width = acc ? 960 : 500, height = 380;
    struct buf b = {0};

    put(&b, "<?xml version='1.0' encoding='UTF-8'?>\n"
            "<svg xmlns='http://www.w3.org/2000/svg' width='%d' height='%d' "
            "viewBox='0 0 %d %d' font-family='sans-serif'>\n"
            "<rect width='100%%' height='100%%' fill='white'/>\n", width, height, width,
        height);
    put(&b, "<text x='%d' y='20' text-anchor='middle' font-size='15'>", width / 2);
    put_text(&b, title);
    put(&b, "</text>\n");
    struct panel loss = {70, 60, 380, 260, 0, 1, 0, 1};
    draw_panel(&b, &loss, h, offsetof(struct cli_epoch_row, train_loss),
               offsetof(struct cli_epoch_row, val_loss), "loss", false);
    if (acc) {
        struct panel ap = {550, 60, 380, 260, 0, 1, 0, 1};
        draw_panel(&b, &ap, h, offsetof(struct cli_epoch_row, train_acc),
                   offsetof(struct cli_epoch_row, val_acc), "accuracy", true);
    }
    put(&b, "</svg>\n");
    return finish(&b, path);
}

/* ---- confusion matrix --------------------------------------------------- */

int cli_plot_confusion(const char *path, const long *counts, int k,
                       const char *const *names, const char *title)
{
    double cell = k <= 10 ? 48 : fmax(8, 560.0 / k);
    double left = 130, top = 120;
    double size = cell * k;
    int width = (int)(left + size + 40), height = (int)(top + size + 60);
    struct buf b = {0};

    put(&b, "<?xml version='1.0' encoding='UTF-8'?>\n"
            "<svg xmlns='http://www.w3.org/2000/svg' width='%d' height='%d' "
            "viewBox='0 0 %d %d' font-family='sans-serif'>\n"
            "<rect width='100%%' height='100%%' fill='white'/>\n", width, height, width,
        height);
    put(&b, "<text x='%d' y='22' text-anchor='middle' font-size='15'>", width / 2);
    put_text(&b, title);
    put(&b, "</text>\n<text x='%.1f' y='%.1f' text-anchor='middle' font-size='12'>"
            "predicted</text>\n", left + size / 2, top - 90);
    put(&b, "<text transform='translate(%.1f %.1f) rotate(-90)' text-anchor='middle' "
            "font-size='12'>true class</text>\n", 14.0, top + size / 2);
    for (int i = 0; i < k; i++) {
        long row = 0;
        for (int j = 0; j < k; j++)
            row += counts[i * k + j];
        put(&b, "<text x='%.1f' y='%.1f' text-anchor='end' font-size='11'>", left - 6,
            top + (i + 0.5) * cell + 4);
        put_text(&b, names[i]);
        put(&b, "</text>\n<text transform='translate(%.1f %.1f) rotate(-60)' "
                "font-size='11'>", left + (i + 0.5) * cell + 4, top - 6);
        put_text(&b, names[i]);
        put(&b, "</text>\n");
        for (int j = 0; j < k; j++) {
            long c = counts[i * k + j];
            double share = row ? (double)c / (double)row : 0;
            int shade = (int)lround(255 * (1 - share));
            put(&b, "<rect x='%.1f' y='%.1f' width='%.1f' height='%.1f' "
                    "fill='rgb(%d,%d,255)' stroke='#ccc'/>\n",
                left + j * cell, top + i * cell, cell, cell, shade, shade);
            if (cell >= 24)
                put(&b, "<text x='%.1f' y='%.1f' text-anchor='middle' font-size='11' "
                        "fill='%s'>%ld</text>\n", left + (j + 0.5) * cell,
                    top + (i + 0.5) * cell + 4, share > 0.5 ? "white" : "black", c);
        }
    }
    put(&b, "<text x='%.1f' y='%.1f' font-size='11' fill='#555'>rows: true class; shade: "
            "share of the row</text>\n</svg>\n", left, top + size + 30);
    return finish(&b, path);
}
