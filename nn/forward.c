/*
 * The forward pass of a sequential model: each module becomes graph nodes
 * through the autograd ops, with the parameters of the model it is given
 * (so a replica's backward accumulates into the replica's gradients).
 *
 * References: torch.nn.Linear, ReLU, LeakyReLU, Sigmoid, Tanh,
 * Softmax(dim=1), Dropout (inverted dropout, identity in eval mode).
 * x: [B, I] -> [B, O].
 */
#include "internal.h"

static cg_tensor *act(cg_graph *g, const struct cg_module *mod, cg_tensor *x)
{
    switch (mod->act) {
    case CG_ACT_RELU:       return cg_relu(g, x);
    case CG_ACT_LEAKY_RELU: return cg_leaky_relu(g, x, (cg_float)mod->arg);
    case CG_ACT_SIGMOID:    return cg_sigmoid(g, x);
    case CG_ACT_TANH:       return cg_tanh(g, x);
    case CG_ACT_SOFTMAX:    return cg_softmax(g, x);
    case CG_ACT_NONE:       return x;
    }
    return x;
}

static bool fusable(const struct cg_module *mod)
{
    return mod->kind == CG_MOD_ACT &&
           (mod->act == CG_ACT_RELU || mod->act == CG_ACT_SIGMOID || mod->act == CG_ACT_TANH ||
            (mod->act == CG_ACT_LEAKY_RELU && mod->arg > 0));
}

cg_tensor *cg_model_forward(cg_graph *g, cg_model *m, cg_tensor *x, cg_rng *rng)
{
    const struct cg_module *mods;
    int n;
    char shape[64];

    if (!x)
        return NULL;
    if (!g || !m)
        return cg__fail_null(CG_ERR_ARG, "cg_model_forward: NULL graph or model");
    if (x->ndim != 2 || x->shape[1] != cg_model_input_size(m))
        return cg__fail_null(CG_ERR_SHAPE, "cg_model_forward: x is %s with %d features, "
                             "the model takes %d", cg_shape_str(x, shape, sizeof shape),
                             x->ndim == 2 ? x->shape[1] : (int)x->size,
                             cg_model_input_size(m));
    mods = cg_model_modules(m, &n);
    for (int i = 0; i < n && x; i++) {
        const struct cg_module *mod = &mods[i];
        switch (mod->kind) {
        case CG_MOD_LINEAR:
            /* A linear layer followed by an activation that can be fused
             * becomes one op (same numbers, one pass and one buffer less). */
            if (i + 1 < n && fusable(&mods[i + 1])) {
                x = cg_linear_act(g, x, mod->weight, mod->bias, mods[i + 1].act,
                                  (cg_float)mods[i + 1].arg);
                i++;
            } else {
                x = cg_linear(g, x, mod->weight, mod->bias);
            }
            break;
        case CG_MOD_ACT:
            x = act(g, mod, x);
            break;
        case CG_MOD_DROPOUT:
            if (cg_graph_training(g) && !rng)
                return cg__fail_null(CG_ERR_ARG, "cg_model_forward: module %d is dropout "
                                     "in training mode and rng is NULL", mod->index);
            x = cg_dropout(g, x, (cg_float)mod->arg, rng);
            break;
        }
    }
    return x;
}
