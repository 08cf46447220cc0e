/* A solution of examples/exercises/two_layer.c: the forward pass walked
 * backwards, each step one of the earlier exercises. */
#include "exercises.h"

void two_layer_backward(const struct two_layer *n, double dL)
{
    int B = n->B, I = n->I, H = n->H, O = n->O;

    /* L = mean((out - target)^2): dout = 2 (out - target) / (B O) */
    for (int k = 0; k < B * O; k++)
        n->dout[k] += dL * 2 * (n->out[k] - n->target[k]) / (B * O);
    /* out = h @ w2^T + b2: dw2 += dout^T h, db2 += column sums, dh += dout @ w2 */
    for (int r = 0; r < B; r++)
        for (int o = 0; o < O; o++) {
            double g = n->dout[r * O + o];
            for (int j = 0; j < H; j++) {
                n->dw2[o * H + j] += g * n->h[r * H + j];
                n->dh[r * H + j] += g * n->w2[o * H + j];
            }
            n->db2[o] += g;
        }
    /* h = tanh(z): dz = dh (1 - h^2); z = x @ w1^T + b1: dw1 += dz^T x, db1 += column sums */
    for (int r = 0; r < B; r++)
        for (int j = 0; j < H; j++) {
            double dz = n->dh[r * H + j] * (1 - n->h[r * H + j] * n->h[r * H + j]);
            for (int i = 0; i < I; i++)
                n->dw1[j * I + i] += dz * n->x[r * I + i];
            n->db1[j] += dz;
        }
}
