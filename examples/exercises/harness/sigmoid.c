/* The sigmoid exercise: y = 1 / (1 + e^-x) on x: [4, 3] in [-3, 3]. */
#include <math.h>

#include "harness.h"

static double sigmoid(double x)
{
    return 1 / (1 + exp(-x));
}

static cg_tensor *f(cg_graph *g, cg_tensor *const *in, void *ctx)
{
    (void)ctx;
    return exercise_unary(g, in[0], "sigmoid", sigmoid, sigmoid_backward, false);
}

const struct exercise exercise = {
    "Exercise sigmoid: the backward of y = 1 / (1 + e^-x)",
    "docs/MATH.md, Activations", 1, {{4, 3}}, {"x"}, WIDE, f, NULL};
