/* A solution of examples/exercises/mse.c. */
#include "exercises.h"

void mse_backward(int n, const double *pred, const double *target, double dL, double *dpred,
                  double *dtarget)
{
    /* d/dpred (pred - target)^2 / n = 2 (pred - target) / n; the target's is its negative */
    for (int i = 0; i < n; i++) {
        double g = dL * 2 * (pred[i] - target[i]) / n;
        dpred[i] += g;
        dtarget[i] -= g;
    }
}
