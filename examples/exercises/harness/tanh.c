/* The tanh exercise: y = tanh(x) on x: [4, 3] in [-3, 3]. */
#include <math.h>

#include "harness.h"

static cg_tensor *f(cg_graph *g, cg_tensor *const *in, void *ctx)
{
    (void)ctx;
    return exercise_unary(g, in[0], "tanh", tanh, tanh_backward, false);
}

const struct exercise exercise = {
    "Exercise tanh: the backward of y = tanh(x)",
    "docs/MATH.md, Activations", 1, {{4, 3}}, {"x"}, WIDE, f, NULL};
