/* A solution of examples/exercises/linear.c. */
#include "exercises.h"

void linear_backward(int B, int I, int O, const double *x, const double *w,
                     const double *dy, double *dx, double *dw, double *db)
{
    /* y[n][o] = b[o] + sum_i x[n][i] w[o][i]: each y[n][o] moves with x[n][i]
     * by w[o][i], with w[o][i] by x[n][i], with b[o] by 1. */
    for (int n = 0; n < B; n++)
        for (int o = 0; o < O; o++) {
            double g = dy[n * O + o];
            for (int i = 0; i < I; i++) {
                dx[n * I + i] += g * w[o * I + i];   /* dx = dy @ w */
                dw[o * I + i] += g * x[n * I + i];   /* dw = dy^T @ x */
            }
            db[o] += g;                              /* column sums of dy */
        }
}
