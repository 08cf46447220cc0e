/* A solution of examples/exercises/softmax.c. */
#include "exercises.h"

void softmax_backward(int R, int C, const double *y, const double *dy, double *dx)
{
    /* dx_j = sum_i dy_i y_i (delta_ij - y_j) = y_j (dy_j - sum_i dy_i y_i) */
    for (int r = 0; r < R; r++) {
        const double *yr = y + r * C, *dyr = dy + r * C;
        double dot = 0;
        for (int i = 0; i < C; i++)
            dot += dyr[i] * yr[i];
        for (int j = 0; j < C; j++)
            dx[r * C + j] += yr[j] * (dyr[j] - dot);
    }
}
