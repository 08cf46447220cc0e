/*
 * The pictures of the cgrad program, as SVG or PNG (picture.h): the training
 * curves (two panels, loss and accuracy, train and validation, against the
 * epoch) and the confusion matrix of an evaluation. Written atomically.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "picture.h"

#define TRAIN_COLOR 0x1f77b4u
#define VAL_COLOR   0xff7f0eu
#define AXIS_COLOR  0x444444u
#define GRID_COLOR  0xddddddu
#define TEXT_COLOR  0x000000u

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

static void draw_axes(struct picture *pic, const struct panel *p, const char *title,
                      const char *ylabel)
{
    char num[32];
    double ys = tick_step(p->ymax - p->ymin);
    for (double y = ceil(p->ymin / ys) * ys; y <= p->ymax + 1e-9 * ys; y += ys) {
        pic_line(pic, p->x0, py(p, y), p->x0 + p->w, py(p, y), GRID_COLOR, 1, false);
        snprintf(num, sizeof num, "%g", fabs(y) < 1e-12 ? 0.0 : y);
        pic_text(pic, p->x0 - 4, py(p, y) + 4, 11, PIC_END, 0, false, TEXT_COLOR, num);
    }
    double xs = tick_step(p->xmax - p->xmin);
    if (xs < 1)
        xs = 1;
    for (double x = ceil(p->xmin / xs) * xs; x <= p->xmax + 1e-9; x += xs) {
        snprintf(num, sizeof num, "%g", x);
        pic_text(pic, px(p, x), p->y0 + p->h + 15, 11, PIC_MIDDLE, 0, false, TEXT_COLOR, num);
    }
    pic_rect(pic, p->x0, p->y0, p->w, p->h, PIC_NONE, AXIS_COLOR);
    pic_text(pic, p->x0 + p->w / 2, p->y0 + p->h + 32, 12, PIC_MIDDLE, 0, false, TEXT_COLOR,
             "epoch");
    pic_text(pic, p->x0 + p->w / 2, p->y0 - 10, 14, PIC_MIDDLE, 0, true, TEXT_COLOR, title);
    pic_text(pic, p->x0 - 42, p->y0 + p->h / 2, 12, PIC_MIDDLE, -90, false, TEXT_COLOR, ylabel);
}

static double column(const struct cli_history *h, int i, size_t off)
{
    return *(const double *)(const void *)((const char *)&h->rows[i] + off);
}

/* One curve: the non-NaN values of column `off` of the rows, with dots. */
static void draw_curve(struct picture *pic, const struct panel *p, const struct cli_history *h,
                       size_t off, unsigned color, bool dashed)
{
    double *xs = calloc((size_t)h->n + 1, sizeof *xs);
    double *ys = calloc((size_t)h->n + 1, sizeof *ys);
    int n = 0;
    if (!xs || !ys)
        pic->oom = true;
    for (int i = 0; xs && ys && i < h->n; i++) {
        double v = column(h, i, off);
        if (isnan(v))
            continue;
        xs[n] = px(p, h->rows[i].epoch);
        ys[n++] = py(p, v);
    }
    pic_polyline(pic, xs, ys, n, color, 2, dashed);
    for (int i = 0; i < n; i++)
        pic_circle(pic, xs[i], ys[i], 3, color);
    free(xs);
    free(ys);
}

static bool column_range(const struct cli_history *h, size_t off, double *lo, double *hi)
{
    bool any = false;
    for (int i = 0; i < h->n; i++) {
        double v = column(h, i, off);
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
static void draw_legend(struct picture *pic, const struct panel *p, bool val, bool bottom,
                        const char *val_name)
{
    double x = p->x0 + p->w - 110, y = bottom ? p->y0 + p->h - (val ? 48 : 30) : p->y0 + 8;
    pic_rect(pic, x, y, 102, val ? 40 : 22, 0xffffffu, 0xbbbbbbu);
    pic_line(pic, x + 6, y + 12, x + 30, y + 12, TRAIN_COLOR, 2, false);
    pic_text(pic, x + 36, y + 16, 11, PIC_START, 0, false, TEXT_COLOR, "train");
    if (val) {
        pic_line(pic, x + 6, y + 30, x + 30, y + 30, VAL_COLOR, 2, true);
        pic_text(pic, x + 36, y + 34, 11, PIC_START, 0, false, TEXT_COLOR, val_name);
    }
}

static void draw_panel(struct picture *pic, struct panel *p, const struct cli_history *h,
                       size_t train_off, size_t val_off, const char *title, bool is_acc,
                       const char *val_name)
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
    draw_axes(pic, p, title, is_acc ? "accuracy" : "loss");
    draw_curve(pic, p, h, train_off, TRAIN_COLOR, false);
    draw_curve(pic, p, h, val_off, VAL_COLOR, true);
    draw_legend(pic, p, v, is_acc, val_name);
}

int cli_plot_write(const char *path, const struct cli_history *h, const char *title,
                   const char *val_name)
{
    double lo = 0, hi = 0;
    bool acc = column_range(h, offsetof(struct cg_fit_epoch, train_acc), &lo, &hi) ||
               column_range(h, offsetof(struct cg_fit_epoch, val_acc), &lo, &hi);
    int width = acc ? 960 : 500, height = 380;
    struct picture pic;

    pic_begin(&pic, path, width, height);
    pic_text(&pic, width / 2.0, 22, 15, PIC_MIDDLE, 0, false, TEXT_COLOR, title);
    struct panel loss = {70, 60, 380, 260, 0, 1, 0, 1};
    draw_panel(&pic, &loss, h, offsetof(struct cg_fit_epoch, train_loss),
               offsetof(struct cg_fit_epoch, val_loss), "loss", false, val_name);
    if (acc) {
        struct panel ap = {550, 60, 380, 260, 0, 1, 0, 1};
        draw_panel(&pic, &ap, h, offsetof(struct cg_fit_epoch, train_acc),
                   offsetof(struct cg_fit_epoch, val_acc), "accuracy", true, val_name);
    }
    return pic_finish(&pic, path);
}

/* ---- confusion matrix --------------------------------------------------- */

int cli_plot_confusion(const char *path, const long *counts, int k,
                       const char *const *names, const char *title)
{
    double cell = k <= 10 ? 48 : fmax(8, 560.0 / k);
    double left = 130, top = 140;
    double size = cell * k;
    int width = (int)fmax(left + size + 40, 520), height = (int)(top + size + 60);
    struct picture pic;
    char num[32];

    pic_begin(&pic, path, width, height);
    pic_text(&pic, width / 2.0, 22, 15, PIC_MIDDLE, 0, false, TEXT_COLOR, title);
    pic_text(&pic, left + size / 2, top - 96, 12, PIC_MIDDLE, 0, false, TEXT_COLOR, "predicted");
    pic_text(&pic, 18, top + size / 2, 12, PIC_MIDDLE, -90, false, TEXT_COLOR, "true class");
    for (int i = 0; i < k; i++) {
        long row = 0;
        for (int j = 0; j < k; j++)
            row += counts[i * k + j];
        pic_text(&pic, left - 6, top + (i + 0.5) * cell + 4, 11, PIC_END, 0, false, TEXT_COLOR,
                 names[i]);
        pic_text(&pic, left + (i + 0.5) * cell + 4, top - 6, 11, PIC_START, -60, false,
                 TEXT_COLOR, names[i]);
        for (int j = 0; j < k; j++) {
            long c = counts[i * k + j];
            double share = row ? (double)c / (double)row : 0;
            unsigned shade = (unsigned)lround(255 * (1 - share));
            pic_rect(&pic, left + j * cell, top + i * cell, cell, cell,
                     (shade << 16) | (shade << 8) | 0xffu, 0xccccccu);
            if (cell < 24)
                continue;
            snprintf(num, sizeof num, "%ld", c);
            pic_text(&pic, left + (j + 0.5) * cell, top + (i + 0.5) * cell + 4, 11, PIC_MIDDLE,
                     0, false, share > 0.5 ? 0xffffffu : TEXT_COLOR, num);
        }
    }
    pic_text(&pic, left, top + size + 30, 11, PIC_START, 0, false, 0x555555u,
             "rows: true class; shade: share of the row");
    return pic_finish(&pic, path);
}
