/*
 * Exercise 1, sigmoid: write the backward pass of y = 1 / (1 + e^-x).
 *
 * The forward pass computed y[i] from x[i] for every element and kept y.
 * By the chain rule, dL/dx[i] = dL/dy[i] * dy[i]/dx[i]: the local
 * derivative of the sigmoid, written with the output y that you are given
 * (docs/MATH.md, "Activations"). Add (+=) the result into dx[i].
 *
 *     make exercise E=sigmoid
 */
#include "exercises.h"

void sigmoid_backward(int n, const double *y, const double *dy, double *dx)
{
    /* ---- your code below this line ---- */

    /* ---- your code above this line ---- */
}
