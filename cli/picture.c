/*
 * The drawing surface of the plots (see picture.h): SVG text or a PNG raster.
 *
 * The raster back end is deliberately plain: lines are stamped squares
 * along their length (dashes 6 on, 3 off), discs and rectangles are filled
 * pixel by pixel, and text is stb_easy_font's quads scaled and filled. It
 * has no anti-aliasing; the pictures are small charts, meant to be read.
 */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "picture.h"

#include "data/stb_quiet.h"

#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
CG_STB_QUIET_BEGIN
#include <stb_image_write.h>
#include <stb_easy_font.h>
CG_STB_QUIET_END

/* ---- SVG ---------------------------------------------------------------- */

static void put(struct picture *p, const char *fmt, ...) CLI_PRINTF(2, 3);

/* Room for `more` bytes after the p->len in use (and some slack), or
 * p->oom set and false. */
static bool reserve(struct picture *p, size_t more)
{
    if (p->oom)
        return false;
    if (p->len + more <= p->cap)
        return true;
    size_t cap = 2 * p->cap + more + 4096;
    char *s = realloc(p->svg, cap);
    if (!s) {
        p->oom = true;
        return false;
    }
    p->svg = s;
    p->cap = cap;
    return true;
}

static void put(struct picture *p, const char *fmt, ...)
{
    va_list ap;
    while (!p->oom) {
        size_t room = p->cap - p->len;
        va_start(ap, fmt);
        int n = vsnprintf(p->svg ? p->svg + p->len : NULL, room, fmt, ap);
        va_end(ap);
        if (n < 0) {
            p->oom = true;
            return;
        }
        if ((size_t)n < room) {
            p->len += (size_t)n;
            return;
        }
        reserve(p, (size_t)n + 1);  /* the text and vsnprintf's NUL */
    }
}

/* "#rrggbb", or "none" */
static const char *svg_color(unsigned c, char buf[8])
{
    if (c == PIC_NONE)
        return "none";
    snprintf(buf, 8, "#%06x", c & 0xffffffu);
    return buf;
}

/* Text with &, <, > and quotes escaped for XML. */
static void put_text(struct picture *p, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': put(p, "&amp;"); break;
        case '<': put(p, "&lt;"); break;
        case '>': put(p, "&gt;"); break;
        case '"': put(p, "&quot;"); break;
        case '\'': put(p, "&apos;"); break;
        default:  put(p, "%c", *s);
        }
    }
}

/* ---- raster ------------------------------------------------------------- */

static void dot(struct picture *p, int x, int y, unsigned c)
{
    if (x < 0 || y < 0 || x >= p->w || y >= p->h)
        return;
    unsigned char *q = p->px + ((size_t)y * (size_t)p->w + (size_t)x) * 3;
    q[0] = (unsigned char)(c >> 16);
    q[1] = (unsigned char)(c >> 8);
    q[2] = (unsigned char)c;
}

/* Fill the pixels whose centres lie in [x0, x1) x [y0, y1). */
static void fill(struct picture *p, double x0, double y0, double x1, double y1, unsigned c)
{
    int ix0 = (int)ceil(x0 - 0.5), ix1 = (int)ceil(x1 - 0.5);
    int iy0 = (int)ceil(y0 - 0.5), iy1 = (int)ceil(y1 - 0.5);
    ix0 = ix0 < 0 ? 0 : ix0;
    iy0 = iy0 < 0 ? 0 : iy0;
    ix1 = ix1 > p->w ? p->w : ix1;
    iy1 = iy1 > p->h ? p->h : iy1;
    for (int y = iy0; y < iy1; y++)
        for (int x = ix0; x < ix1; x++)
            dot(p, x, y, c);
}

/* ---- the operations ------------------------------------------------------ */

void pic_begin(struct picture *p, const char *path, int w, int h)
{
    memset(p, 0, sizeof *p);
    p->png = cli_has_suffix(path, ".png");
    p->w = w;
    p->h = h;
    if (p->png) {
        if (!(p->px = malloc((size_t)w * (size_t)h * 3)))
            p->oom = true;
        else
            memset(p->px, 255, (size_t)w * (size_t)h * 3);
        return;
    }
    put(p, "<?xml version='1.0' encoding='UTF-8'?>\n"
           "<svg xmlns='http://www.w3.org/2000/svg' width='%d' height='%d' "
           "viewBox='0 0 %d %d' font-family='sans-serif'>\n"
           "<rect width='100%%' height='100%%' fill='white'/>\n", w, h, w, h);
}

void pic_rect(struct picture *p, double x, double y, double w, double h, unsigned fill_c,
              unsigned stroke)
{
    char a[8], b[8];
    if (!p->png) {
        put(p, "<rect x='%.1f' y='%.1f' width='%.1f' height='%.1f' fill='%s' stroke='%s'/>\n",
            x, y, w, h, svg_color(fill_c, a), svg_color(stroke, b));
        return;
    }
    if (p->oom)
        return;
    if (fill_c != PIC_NONE)
        fill(p, x, y, x + w, y + h, fill_c);
    if (stroke != PIC_NONE) {
        pic_line(p, x, y, x + w, y, stroke, 1, false);
        pic_line(p, x + w, y, x + w, y + h, stroke, 1, false);
        pic_line(p, x + w, y + h, x, y + h, stroke, 1, false);
        pic_line(p, x, y + h, x, y, stroke, 1, false);
    }
}

/* Stamp a width x width square every half pixel along the line; `phase`
 * carries the dash pattern from one segment of a polyline to the next. */
static void raster_line(struct picture *p, double x1, double y1, double x2, double y2,
                        unsigned c, double width, bool dashed, double *phase)
{
    double len = hypot(x2 - x1, y2 - y1), half = width / 2;
    int steps = (int)ceil(len * 2) + 1;
    for (int i = 0; i <= steps && !p->oom; i++) {
        double t = (double)i / steps, d = *phase + t * len;
        if (dashed && fmod(d, 9.0) >= 6.0)
            continue;
        double x = x1 + t * (x2 - x1), y = y1 + t * (y2 - y1);
        fill(p, x - half, y - half, x + half + (width < 1.5 ? 0.5 : 0),
             y + half + (width < 1.5 ? 0.5 : 0), c);
    }
    *phase += len;
}

void pic_line(struct picture *p, double x1, double y1, double x2, double y2, unsigned color,
              double width, bool dashed)
{
    char a[8];
    double phase = 0;
    if (p->png)
        raster_line(p, x1, y1, x2, y2, color, width, dashed, &phase);
    else
        put(p, "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' stroke='%s' stroke-width='%g'%s/>\n",
            x1, y1, x2, y2, svg_color(color, a), width,
            dashed ? " stroke-dasharray='6,3'" : "");
}

void pic_polyline(struct picture *p, const double *xs, const double *ys, int n, unsigned color,
                  double width, bool dashed)
{
    char a[8];
    double phase = 0;
    if (n < 1)
        return;
    if (p->png) {
        for (int i = 1; i < n; i++)
            raster_line(p, xs[i - 1], ys[i - 1], xs[i], ys[i], color, width, dashed, &phase);
        return;
    }
    put(p, "<polyline fill='none' stroke='%s' stroke-width='%g'%s points='",
        svg_color(color, a), width, dashed ? " stroke-dasharray='6,3'" : "");
    for (int i = 0; i < n; i++)
        put(p, "%.1f,%.1f ", xs[i], ys[i]);
    put(p, "'/>\n");
}

void pic_circle(struct picture *p, double cx, double cy, double r, unsigned color)
{
    char a[8];
    if (!p->png) {
        put(p, "<circle cx='%.1f' cy='%.1f' r='%g' fill='%s'/>\n", cx, cy, r,
            svg_color(color, a));
        return;
    }
    for (int y = (int)floor(cy - r); y <= (int)ceil(cy + r); y++)
        for (int x = (int)floor(cx - r); x <= (int)ceil(cx + r); x++)
            if ((x + 0.5 - cx) * (x + 0.5 - cx) + (y + 0.5 - cy) * (y + 0.5 - cy) <= r * r)
                dot(p, x, y, color);
}

/* stb_easy_font's glyphs stand on a cell 7 units high above the baseline;
 * a font of `size` pixels is drawn at size / 10 pixels a unit. */
static void raster_text(struct picture *p, double x, double y, double size,
                        enum pic_anchor anchor, int rotate, bool bold, unsigned c,
                        const char *text)
{
    static char vbuf[1 << 16];   /* about 270 bytes a character */
    char s[256];
    size_t n = 0;
    for (; text[n] && n + 1 < sizeof s; n++)   /* the font has ASCII 32..126 only */
        s[n] = text[n] >= 32 && text[n] <= 126 ? text[n] : '?';
    s[n] = '\0';
    double k = size / 10.0, width = stb_easy_font_width(s) * k;
    double u0 = anchor == PIC_START ? 0 : anchor == PIC_MIDDLE ? -width / 2 : -width;
    int quads = stb_easy_font_print(0, 0, s, NULL, vbuf, sizeof vbuf);
    for (int q = 0; q < quads; q++) {
        const float *v = (const float *)(const void *)(vbuf + q * 64);
        /* the quad's corners 0 and 2 are opposite: (u, v) in font units,
         * v from the top of a 7-unit cell, to pixels along and across */
        double a0 = u0 + (double)v[0] * k, a1 = u0 + (double)v[8] * k + (bold ? k : 0);
        double b0 = ((double)v[1] - 7) * k, b1 = ((double)v[9] - 7) * k;
        if (rotate == 0)
            fill(p, x + a0, y + b0, x + a1, y + b1, c);
        else   /* a quarter turn counter-clockwise: along is up, across is right */
            fill(p, x + b0, y - a1, x + b1, y - a0, c);
    }
}

void pic_text(struct picture *p, double x, double y, double size, enum pic_anchor anchor,
              int rotate, bool bold, unsigned color, const char *text)
{
    static const char *const anchors[] = {"start", "middle", "end"};
    char a[8];
    if (p->png) {
        if (!p->oom)
            raster_text(p, x, y, size, anchor, rotate, bold, color, text);
        return;
    }
    if (rotate)
        put(p, "<text transform='translate(%.1f %.1f) rotate(%d)'", x, y, rotate);
    else
        put(p, "<text x='%.1f' y='%.1f'", x, y);
    put(p, " text-anchor='%s' font-size='%g'%s fill='%s'>", anchors[anchor], size,
        bold ? " font-weight='bold'" : "", svg_color(color, a));
    put_text(p, text);
    put(p, "</text>\n");
}

/* ---- writing ------------------------------------------------------------- */

/* stbi_write_png_to_func's sink: append to the SVG buffer's storage. */
static void png_sink(void *ctx, void *data, int size)
{
    struct picture *p = ctx;
    if (size < 0 || !reserve(p, (size_t)size))
        return;
    memcpy(p->svg + p->len, data, (size_t)size);
    p->len += (size_t)size;
}

int pic_finish(struct picture *p, const char *path)
{
    if (!p->png)
        put(p, "</svg>\n");
    else if (!p->oom && !stbi_write_png_to_func(png_sink, p, p->w, p->h, 3, p->px, p->w * 3))
        p->oom = true;
    int rc = p->oom ? cli_error("%s: out of memory", path)
                    : cli_write_file_atomic(path, p->svg, p->len);
    free(p->svg);
    free(p->px);
    memset(p, 0, sizeof *p);
    return rc;
}
