/*
 * Exercise 3, ReLU: write the backward pass of y = max(x, 0).
 *
 * The slope is 1 where x > 0 and 0 where x < 0. At x = 0 there is no
 * derivative at all (PyTorch uses 0): a finite difference across the kink
 * sees half of each side, so the check keeps every x at least 0.1 away
 * from 0, farther than any step it takes (docs/LEARNING.md says why).
 * Add dL/dx into dx.
 *
 *     make exercise E=relu
 */
#include "exercises.h"

void relu_backward(int n, const double *x, const double *dy, double *dx)
{
    /* ---- your code below this line ---- */

    /* ---- your code above this line ---- */
}
