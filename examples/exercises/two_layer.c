/*
 * Exercise 8, a two-layer network: write its whole backward pass by the
 * chain rule, from the loss down to the first layer (exercises.h shows the
 * forward pass and struct two_layer).
 *
 * Walk the forward pass backwards, one step at a time, as cg_backward
 * does: dout from the MSE (exercise 7), then the second linear layer's dw2,
 * db2 and dh (exercise 4), then through tanh (exercise 2) to the first
 * layer's dw1 and db1. n->dout and n->dh are zeroed scratch for the
 * gradients in between (docs/MATH.md, "Reverse mode in one paragraph").
 * Add into n->dw1, n->db1, n->dw2, n->db2.
 *
 *     make exercise E=two_layer
 */
#include "exercises.h"

void two_layer_backward(const struct two_layer *n, double dL)
{
    /* ---- your code below this line ---- */

    /* ---- your code above this line ---- */
}
