/* The ReLU exercise: y = max(x, 0) on x: [4, 3] with |x| in [0.1, 1], so the
 * kink at 0 lies outside every step the check takes (docs/LEARNING.md). */
#include "harness.h"

static double relu(double x)
{
    return x > 0 ? x : 0;
}

static cg_tensor *f(cg_graph *g, cg_tensor *const *in, void *ctx)
{
    (void)ctx;
    return exercise_unary(g, in[0], "relu", relu, relu_backward, true);
}

const struct exercise exercise = {
    "Exercise relu: the backward of y = max(x, 0)",
    "docs/MATH.md, Activations", 1, {{4, 3}}, {"x"}, AWAY_FROM_ZERO, f, NULL};
