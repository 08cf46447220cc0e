/*
 * The functions the exercises ask for, one per file of examples/exercises/.
 * Every array is a row-major block of doubles (the exercises build against
 * the double library, libcgrad64.a); shapes are written outermost first:
 * B batch rows, I in features, O out features, C classes, n elements.
 *
 * Every backward ADDS into its gradient arrays (+=): a tensor that feeds
 * two ops receives the sum of both contributions, so the caller zeroes the
 * gradients once and every op accumulates (docs/MATH.md, "Reverse mode").
 *
 * docs/LEARNING.md is the path through them; `make exercise E=sigmoid`
 * checks one.
 */
#ifndef CG_EXERCISES_H
#define CG_EXERCISES_H

/* sigmoid.c: y = 1 / (1 + e^-x). y: [n] the forward's output, dy: [n] dL/dy;
 * add dL/dx into dx: [n]. */
void sigmoid_backward(int n, const double *y, const double *dy, double *dx);

/* tanh.c: y = tanh(x). y: [n], dy: [n]; add dL/dx into dx: [n]. */
void tanh_backward(int n, const double *y, const double *dy, double *dx);

/* relu.c: y = max(x, 0). x: [n] the forward's input, dy: [n]; add dL/dx
 * into dx: [n]. */
void relu_backward(int n, const double *x, const double *dy, double *dx);

/* linear.c: y = x @ w^T + b. x: [B, I], w: [O, I], dy: [B, O]; add dL/dx
 * into dx: [B, I], dL/dw into dw: [O, I], dL/db into db: [O]. */
void linear_backward(int B, int I, int O, const double *x, const double *w,
                     const double *dy, double *dx, double *dw, double *db);

/* softmax.c: y = softmax(x) row by row. y: [R, C], dy: [R, C]; add dL/dx
 * into dx: [R, C]. */
void softmax_backward(int R, int C, const double *y, const double *dy, double *dx);

/* cross_entropy.c: L = -(1/B) sum_n log softmax(z)[n][labels[n]].
 * p: [B, C] = softmax(z), saved by the forward; labels: [B] in [0, C);
 * dL: the loss's own gradient (a number); add dL/dz into dz: [B, C]. */
void cross_entropy_backward(int B, int C, const double *p, const int *labels, double dL,
                            double *dz);

/* mse.c: L = (1/n) sum_i (pred_i - target_i)^2. pred, target: [n]; dL: the
 * loss's gradient; add dL/dpred into dpred: [n], dL/dtarget into dtarget. */
void mse_backward(int n, const double *pred, const double *target, double dL, double *dpred,
                  double *dtarget);

/* two_layer.c: a two-layer network and its loss, all of its forward pass
 * saved for you:
 *     h   = tanh(x @ w1^T + b1)         [B, H]
 *     out = h @ w2^T + b2               [B, O]
 *     L   = mean((out - target)^2)      over all B * O elements */
struct two_layer {
    int B, I, H, O;
    const double *x;          /* [B, I] */
    const double *w1, *b1;    /* [H, I], [H] */
    const double *h;          /* [B, H] */
    const double *w2, *b2;    /* [O, H], [O] */
    const double *out;        /* [B, O] */
    const double *target;     /* [B, O] */
    double *dout, *dh;        /* zeroed scratch: [B, O], [B, H] */
    double *dw1, *db1, *dw2, *db2;  /* add the gradients here */
};
/* Add dL/dw1, dL/db1, dL/dw2, dL/db2 into n's gradients; dL is the loss's
 * own gradient. */
void two_layer_backward(const struct two_layer *n, double dL);

/* adam.c: one step of Adam (torch.optim.Adam, no weight decay) on n
 * parameters: t is the step number, 1 for the first step; m and v: [n] are
 * the moment estimates, zero before step 1, updated in place. */
void adam_step(int n, double *param, const double *grad, double *m, double *v, int t,
               double lr, double beta1, double beta2, double eps);

#endif /* CG_EXERCISES_H */
