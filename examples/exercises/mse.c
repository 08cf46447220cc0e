/*
 * Exercise 7, MSE: write the gradients of L = (1/n) sum_i (pred_i - target_i)^2
 * with respect to both pred and target (docs/MATH.md, "MSE").
 *
 * Differentiate the square, keep the mean's 1/n, multiply by dL, and mind
 * the sign for the target. Add into dpred and dtarget.
 *
 *     make exercise E=mse
 */
#include "exercises.h"

void mse_backward(int n, const double *pred, const double *target, double dL, double *dpred,
                  double *dtarget)
{
    /* ---- your code below this line ---- */

    /* ---- your code above this line ---- */
}
