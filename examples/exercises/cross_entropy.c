/*
 * Exercise 6, cross-entropy: write dL/dz for L = -(1/B) sum_n log p[n][y_n],
 * p = softmax(z), from the probabilities p the forward pass kept.
 *
 * Fused with the log-softmax, the gradient of one row is "softmax minus
 * the target" (docs/MATH.md, "Cross-entropy fused with log-softmax"); do
 * not forget the mean over the batch, nor dL, the gradient that arrives
 * from above (1 when the loss is the root). Add into dz.
 *
 *     make exercise E=cross_entropy
 */
#include "exercises.h"

void cross_entropy_backward(int B, int C, const double *p, const int *labels, double dL,
                            double *dz)
{
    /* ---- your code below this line ---- */

    /* ---- your code above this line ---- */
}
