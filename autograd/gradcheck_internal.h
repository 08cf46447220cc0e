/*
 * Internals of the gradient checker, shared by gradcheck.c (the check) and
 * gradcheck_diagnose.c (the pattern of its errors, the verdict in words).
 * Not installed.
 */
#ifndef CG_GRADCHECK_INTERNAL_H
#define CG_GRADCHECK_INTERNAL_H

#include "internal.h"

#define CG__GRADCHECK_MAX_INPUTS 64

/* What the check found at one element (bits). */
enum { CG__GC_WRONG = 1, CG__GC_SKIPPED = 2, CG__GC_OVERWRITTEN = 4 };

/* Every element's figures, input after input: input i's element k is at
 * off[i] + k; off[n_inputs] is the total. */
struct cg__gc_data {
    double        *a;       /* analytic */
    double        *n;       /* numeric (0 where skipped) */
    unsigned char *state;   /* CG__GC_* bits */
    size_t         off[CG__GRADCHECK_MAX_INPUTS + 1];
};

/* Zeroed arrays for these inputs; CG_ERR_NOMEM on failure. */
cg_status cg__gc_data_init(struct cg__gc_data *d, cg_tensor *const *inputs, int n_inputs);
void      cg__gc_data_deinit(struct cg__gc_data *d);
/* Fill r's worst_at, pattern, pattern_input, factor and diagnosis from the
 * figures (r's counts and flags already set). w: the output weighting,
 * y's shape. */
void      cg__gradcheck_diagnose(const struct cg__gc_data *d, cg_tensor *const *inputs,
                                 int n_inputs, const cg_tensor *w,
                                 const struct cg_gradcheck_options *o,
                                 struct cg_gradcheck_result *r);

#endif /* CG_GRADCHECK_INTERNAL_H */
