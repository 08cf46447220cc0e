/* A solution of examples/exercises/sigmoid.c. */
#include "exercises.h"

void sigmoid_backward(int n, const double *y, const double *dy, double *dx)
{
    /* sigmoid'(x) = e^-x / (1 + e^-x)^2 = y (1 - y) */
    for (int i = 0; i < n; i++)
        dx[i] += dy[i] * y[i] * (1 - y[i]);
}
