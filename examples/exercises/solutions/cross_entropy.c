/* A solution of examples/exercises/cross_entropy.c. */
#include "exercises.h"

void cross_entropy_backward(int B, int C, const double *p, const int *labels, double dL,
                            double *dz)
{
    /* dL/dz[n][c] = (p[n][c] - onehot(y_n)[c]) / B, times the gradient from above */
    for (int n = 0; n < B; n++)
        for (int c = 0; c < C; c++)
            dz[n * C + c] += dL * (p[n * C + c] - (c == labels[n])) / B;
}
