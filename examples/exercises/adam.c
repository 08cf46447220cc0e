/*
 * Exercise 9, Adam: write one step of torch.optim.Adam (no weight decay),
 * for every parameter k:
 *
 *     m = beta1 m + (1 - beta1) g             the mean of the gradients
 *     v = beta2 v + (1 - beta2) g^2           the mean of their squares
 *     m^ = m / (1 - beta1^t),  v^ = v / (1 - beta2^t)      bias correction
 *     param -= lr m^ / (sqrt(v^) + eps)
 *
 * m and v start at zero, so early on they are biased towards zero: the
 * bias correction divides that out (docs/OPTIM.md, "Adam and AdamW"). The
 * check compares your update with PyTorch's for three steps.
 *
 *     make exercise E=adam
 */
#include <math.h>

#include "exercises.h"

void adam_step(int n, double *param, const double *grad, double *m, double *v, int t,
               double lr, double beta1, double beta2, double eps)
{
    /* ---- your code below this line ---- */

    /* ---- your code above this line ---- */
}
