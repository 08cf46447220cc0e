/*
 * Fit y = 0.5 x^2 - x + 2 plus Gaussian noise (std 0.05) on x in [-2, 2]
 * with a 1-16-1 tanh network, mean squared error and full-batch Adam with a
 * cosine learning-rate schedule. Exits 0 only if the training MSE ends below
 * 0.01 (the noise alone gives 0.0025).
 *
 *     make examples && build/examples/regression
 */
#include <stdio.h>

#include "cgrad.h"

#define N 64

int main(void)
{
    cg_float xs[N], ys[N];
    cg_model *m = cg_model_from_spec("1-16-1:act=tanh");
    cg_graph *g = cg_graph_new();
    cg_tensor *flat = m ? cg_model_flat(m) : NULL, *loss = NULL;
    struct cg_schedule cosine = {.kind = CG_SCHEDULE_COSINE, .base_lr = 0.02, .t_max = 2000};
    cg_optim *opt = NULL;
    cg_rng rng;

    cg_rng_seed(&rng, 3);
    for (int i = 0; i < N; i++) {
        double x = -2 + 4.0 * i / (N - 1);
        xs[i] = (cg_float)x;
        ys[i] = (cg_float)(0.5 * x * x - x + 2 + cg_rng_normal(&rng, 0, 0.05));
    }
    if (!m || !g || cg_model_init(m, CG_INIT_DEFAULT, &rng) != CG_OK ||
        !(opt = cg_adam_new(&flat, 1, NULL)))
        goto fail;
    for (int step = 0; step <= 2000; step++) {
        cg_graph_reset(g);
        cg_tensor *x = cg_graph_wrap(g, xs, 2, (int[]){N, 1});
        cg_tensor *y = cg_graph_wrap(g, ys, 2, (int[]){N, 1});
        loss = cg_mse_loss(g, cg_model_forward(g, m, x, NULL), y);
        if (!loss || cg_backward(g, loss) != CG_OK)
            goto fail;
        /* The schedule is a pure function of the step; the optimizer sees the
         * model as one flat parameter tensor. */
        cg_optim_set_lr(opt, cg_schedule_lr(&cosine, step));
        cg_optim_step(opt);
        cg_optim_zero_grad(opt);
        if (step % 500 == 0)
            printf("step %4d  mse %.5f\n", step, (double)loss->data[0]);
    }
    printf("final mse %.5f\n", (double)loss->data[0]);
    int learned = loss->data[0] < (cg_float)0.01;   /* before g frees loss */
    cg_optim_free(opt);
    cg_graph_free(g);
    cg_model_free(m);
    return learned ? 0 : 1;
fail:
    fprintf(stderr, "regression: %s\n", cg_errmsg());
    cg_optim_free(opt);
    cg_graph_free(g);
    cg_model_free(m);
    return 1;
}
