/* The two-layer network exercise: B = 4 rows of I = 3 features, H = 5
 * hidden tanh units, O = 2 outputs, MSE against fixed targets; the checked
 * inputs are w1: [5, 3], b1: [5], w2: [2, 5], b2: [2]. x and the targets
 * are drawn from a fixed seed in every call. */
#include <math.h>

#include "harness.h"

enum { B = 4, I = 3, H = 5, O = 2 };

struct net_ctx {
    cg_tensor *x, *h, *out, *target, *dout, *dh;   /* arena tensors of the step */
};

static void backward(cg_tensor *loss)
{
    const struct net_ctx *c = cg_op_ctx(loss);
    cg_tensor *w1 = cg_op_input(loss, 0), *b1 = cg_op_input(loss, 1);
    cg_tensor *w2 = cg_op_input(loss, 2), *b2 = cg_op_input(loss, 3);
    struct two_layer n = {B, I, H, O, c->x->data, w1->data, b1->data, c->h->data,
                          w2->data, b2->data, c->out->data, c->target->data,
                          c->dout->data, c->dh->data, w1->grad, b1->grad, w2->grad,
                          b2->grad};

    two_layer_backward(&n, loss->grad[0]);
}

/* y[n][o] = b[o] + sum_i x[n][i] w[o][i], then act */
static void layer(const double *x, const double *w, const double *b, int in, int out,
                  bool act, double *y)
{
    for (int n = 0; n < B; n++)
        for (int o = 0; o < out; o++) {
            double acc = b[o];
            for (int i = 0; i < in; i++)
                acc += x[n * in + i] * w[o * in + i];
            y[n * out + o] = act ? tanh(acc) : acc;
        }
}

static cg_tensor *f(cg_graph *g, cg_tensor *const *in, void *ctx)
{
    struct net_ctx c = {cg_graph_tensor(g, 2, (int[]){B, I}), cg_graph_tensor(g, 2, (int[]){B, H}),
                        cg_graph_tensor(g, 2, (int[]){B, O}), cg_graph_tensor(g, 2, (int[]){B, O}),
                        cg_graph_tensor(g, 2, (int[]){B, O}), cg_graph_tensor(g, 2, (int[]){B, H})};
    cg_tensor *loss;
    double total = 0;
    cg_rng rng;

    (void)ctx;
    if (!c.x || !c.h || !c.out || !c.target || !c.dout || !c.dh)
        return NULL;
    cg_rng_seed(&rng, 11);
    cg_tensor_rand_uniform(c.x, &rng, -1, 1);
    cg_tensor_rand_uniform(c.target, &rng, -1, 1);
    layer(c.x->data, in[0]->data, in[1]->data, I, H, true, c.h->data);
    layer(c.h->data, in[2]->data, in[3]->data, H, O, false, c.out->data);
    if (!(loss = cg_op_new(g, "two_layer_mse", 0, NULL, in, 4, backward, sizeof c)))
        return NULL;
    *(struct net_ctx *)cg_op_ctx(loss) = c;
    for (int k = 0; k < B * O; k++)
        total += (c.out->data[k] - c.target->data[k]) * (c.out->data[k] - c.target->data[k]);
    loss->data[0] = total / (B * O);
    return loss;
}

const struct exercise exercise = {
    "Exercise two_layer: a two-layer network's backward by the chain rule",
    "docs/MATH.md, Reverse mode; Arithmetic (linear); Activations (tanh); MSE", 4,
    {{H, I}, {H, 0}, {O, H}, {O, 0}}, {"w1", "b1", "w2", "b2"}, UNIFORM, f, NULL};
