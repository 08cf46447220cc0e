/*
 * XOR with a 2-4-1 network: tanh hidden units, a logit out, binary
 * cross-entropy, full-batch SGD with momentum. Exits 0 only if it learned
 * (loss below 0.05 and all four points on the right side of 0.5).
 *
 *     make examples && build/examples/xor
 */
#include <stdio.h>

#include "cgrad.h"

int main(void)
{
    cg_float xs[8] = {0, 0, 0, 1, 1, 0, 1, 1}, ys[4] = {0, 1, 1, 0};
    cg_model *m = cg_model_from_spec("2-4-1:act=tanh");
    cg_graph *g = cg_graph_new();
    cg_tensor *flat = m ? cg_model_flat(m) : NULL, *logits = NULL, *loss = NULL;
    struct cg_sgd_params sgd = cg_sgd_defaults();
    cg_optim *opt = NULL;
    cg_rng rng;
    int right = 0;

    cg_rng_seed(&rng, 1);
    sgd.lr = 0.5;
    sgd.momentum = 0.5;
    if (!m || !g || cg_model_init(m, CG_INIT_XAVIER_UNIFORM, &rng) != CG_OK ||
        !(opt = cg_sgd_new(&flat, 1, &sgd)))
        goto fail;
    for (int step = 0; step < 2000; step++) {
        cg_graph_reset(g);
        cg_tensor *x = cg_graph_wrap(g, xs, 2, (int[]){4, 2});
        cg_tensor *y = cg_graph_wrap(g, ys, 2, (int[]){4, 1});
        logits = cg_model_forward(g, m, x, NULL);
        loss = cg_bce_with_logits(g, logits, y);
        if (!loss || cg_backward(g, loss) != CG_OK)
            goto fail;
        /* The optimizer sees the model as one flat parameter tensor. */
        cg_optim_step(opt);
        cg_optim_zero_grad(opt);
        if (step % 500 == 0)
            printf("step %4d  loss %.4f\n", step, (double)loss->data[0]);
    }
    for (int i = 0; i < 4; i++) {
        /* logits are from before the last update: close enough to judge */
        right += (logits->data[i] > 0) == (ys[i] > (cg_float)0.5);
        printf("%g xor %g -> %.3f\n", (double)xs[2 * i], (double)xs[2 * i + 1],
               (double)logits->data[i]);
    }
    printf("final loss %.4f, %d/4 right\n", (double)loss->data[0], right);
    int learned = loss->data[0] < (cg_float)0.05 && right == 4;   /* before g frees loss */
    cg_optim_free(opt);
    cg_graph_free(g);
    cg_model_free(m);
    return learned ? 0 : 1;
fail:
    fprintf(stderr, "xor: %s\n", cg_errmsg());
    cg_optim_free(opt);
    cg_graph_free(g);
    cg_model_free(m);
    return 1;
}
