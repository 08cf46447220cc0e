/*
 * Exercise 5, softmax: write the backward pass of y = softmax(x), row by
 * row over x: [R, C].
 *
 * Every y[r][i] depends on every x[r][j] of its row: dy_i/dx_j =
 * y_i (delta_ij - y_j). Do not build that C x C Jacobian: multiply it by
 * dy in closed form, one dot product per row (docs/MATH.md, "Softmax and
 * log-softmax"). Add into dx.
 *
 *     make exercise E=softmax
 */
#include "exercises.h"

void softmax_backward(int R, int C, const double *y, const double *dy, double *dx)
{
    /* ---- your code below this line ---- */

    /* ---- your code above this line ---- */
}
