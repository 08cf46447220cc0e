/*
 * A tiny drawing surface with two back ends: SVG text (any viewer or
 * browser, sharp at every size) and a PNG raster (stb_image_write, text in
 * stb_easy_font's bitmap font). The plots of plot.c draw through it, so a
 * picture's file name picks the format: ".png" gives a PNG, anything else SVG.
 *
 *     struct picture p;
 *     pic_begin(&p, "curves.png", 640, 480);
 *     pic_line(&p, 10, 10, 100, 50, 0x1f77b4, 2, false);
 *     pic_text(&p, 50, 30, 12, PIC_MIDDLE, 0, false, 0x000000, "loss");
 *     return pic_finish(&p, "curves.png");     // written atomically
 *
 * Coordinates are pixels, x rightwards and y downwards; colors 0xRRGGBB, or
 * PIC_NONE for no fill or no stroke.
 */
#ifndef CG_CLI_PICTURE_H
#define CG_CLI_PICTURE_H

#include <stdbool.h>
#include <stddef.h>

#define PIC_NONE 0x1000000u

enum pic_anchor { PIC_START, PIC_MIDDLE, PIC_END };

struct picture {
    bool           png;
    int            w, h;
    char          *svg;          /* SVG: the text so far */
    size_t         len, cap;
    unsigned char *px;           /* PNG: [h, w, 3] */
    bool           oom;
};

/* Start a white w x h picture; PNG when path ends in .png. */
void pic_begin(struct picture *p, const char *path, int w, int h);
void pic_rect(struct picture *p, double x, double y, double w, double h, unsigned fill,
              unsigned stroke);
void pic_line(struct picture *p, double x1, double y1, double x2, double y2, unsigned color,
              double width, bool dashed);
/* Lines through n points. */
void pic_polyline(struct picture *p, const double *xs, const double *ys, int n, unsigned color,
                  double width, bool dashed);
void pic_circle(struct picture *p, double cx, double cy, double r, unsigned color);
/* Text whose baseline passes through (x, y), anchored there, turned by
 * `rotate` degrees (0, or negative: counter-clockwise; the PNG back end turns
 * any non-zero angle by a quarter). */
void pic_text(struct picture *p, double x, double y, double size, enum pic_anchor anchor,
              int rotate, bool bold, unsigned color, const char *text);
/* Write the picture to path atomically and free it. CLI_OK, or CLI_RUNTIME
 * after printing the error. */
int  pic_finish(struct picture *p, const char *path);

#endif /* CG_CLI_PICTURE_H */
