/*
 * Exercise 4, linear: write the three gradients of y = x @ w^T + b
 * (torch.nn.functional.linear), x: [B, I], w: [O, I], b: [O], y: [B, O].
 *
 * Element by element, y[n][o] = b[o] + sum_i x[n][i] w[o][i]. Ask which
 * y[n][o] each x[n][i], w[o][i] and b[o] moves and by how much, then sum
 * dy over those (docs/MATH.md, "Arithmetic": matmul and linear). Mind the
 * shapes: dw has w's shape [O, I], and b[o] is used by every row n.
 * Add into dx, dw and db.
 *
 *     make exercise E=linear
 */
#include "exercises.h"

void linear_backward(int B, int I, int O, const double *x, const double *w,
                     const double *dy, double *dx, double *dw, double *db)
{
    /* ---- your code below this line ---- */

    /* ---- your code above this line ---- */
}
