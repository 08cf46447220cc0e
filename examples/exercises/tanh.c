/*
 * Exercise 2, tanh: write the backward pass of y = tanh(x).
 *
 * As with the sigmoid, the derivative of tanh can be written with its
 * output y alone (docs/MATH.md, "Activations"). Add dL/dx into dx.
 *
 *     make exercise E=tanh
 */
#include "exercises.h"

void tanh_backward(int n, const double *y, const double *dy, double *dx)
{
    /* ---- your code below this line ---- */

    /* ---- your code above this line ---- */
}
