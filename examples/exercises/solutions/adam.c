/* A solution of examples/exercises/adam.c. */
#include <math.h>

#include "exercises.h"

void adam_step(int n, double *param, const double *grad, double *m, double *v, int t,
               double lr, double beta1, double beta2, double eps)
{
    double bc1 = 1 - pow(beta1, t), bc2 = 1 - pow(beta2, t);

    for (int k = 0; k < n; k++) {
        m[k] = beta1 * m[k] + (1 - beta1) * grad[k];
        v[k] = beta2 * v[k] + (1 - beta2) * grad[k] * grad[k];
        /* PyTorch's order: denom = sqrt(v) / sqrt(bc2) + eps, step lr / bc1 */
        param[k] -= lr / bc1 * m[k] / (sqrt(v[k]) / sqrt(bc2) + eps);
    }
}
