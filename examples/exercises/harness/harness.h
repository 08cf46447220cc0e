/*
 * The exercises' harness (not for the learner to change): each file of
 * harness/ wires one exercise's function into a graph as a custom op and
 * says what to check; main.c checks it and prints the verdict.
 */
#ifndef CG_EXERCISE_HARNESS_H
#define CG_EXERCISE_HARNESS_H

#include <cgrad.h>

#include "../exercises.h"

#ifndef CG_DOUBLE
#error "the exercises build against the double library: make exercise E=NAME"
#endif

/* How the inputs are drawn. */
enum exercise_dist {
    UNIFORM,        /* [-1, 1] */
    WIDE,           /* [-3, 3] */
    AWAY_FROM_ZERO  /* +-[0.1, 1]: ReLU's kink at 0 stays out of every step */
};

struct exercise {
    const char     *title;       /* one line: what the learner writes */
    const char     *math;        /* where docs/MATH.md derives it */
    int             n_inputs;    /* checked inputs, each [rows, cols] */
    int             shapes[4][2];
    const char     *names[4];
    enum exercise_dist dist;
    cg_gradcheck_fn f;           /* builds the output from the inputs */
    /* an exercise that is no gradient check (adam): runs it and prints the
     * verdict; returns 0 on a pass */
    int           (*run)(void);
};

/* An element-wise op y = f(x) whose backward is the learner's: it is called
 * as backward(n, saved, dy, dx) with saved the input x (save_input) or the
 * output y. */
typedef void (*exercise_unary_backward)(int n, const double *saved, const double *dy,
                                        double *dx);
cg_tensor *exercise_unary(cg_graph *g, cg_tensor *x, const char *name, double (*f)(double),
                          exercise_unary_backward backward, bool save_input);

/* Defined by the exercise's harness file. */
extern const struct exercise exercise;

/* Print the last line every exercise ends with: "verdict: PASS" or
 * "verdict: FAIL (pattern)"; returns the exit status (0 on a pass). */
int exercise_verdict(const struct cg_gradcheck_result *r);

#endif /* CG_EXERCISE_HARNESS_H */
