/* A solution of examples/exercises/relu.c. */
#include "exercises.h"

void relu_backward(int n, const double *x, const double *dy, double *dx)
{
    /* slope 1 for x > 0, 0 otherwise (0 at the kink, as PyTorch) */
    for (int i = 0; i < n; i++)
        if (x[i] > 0)
            dx[i] += dy[i];
}
