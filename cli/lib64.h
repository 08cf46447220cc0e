/*
 * The double-precision library inside the cgrad program.
 *
 * The Makefile links a copy of libcgrad64.a whose global symbols are renamed
 * cg_ -> cg64_ (objcopy --redefine-syms), beside libcgrad.a, so one program
 * holds both precisions: `cgrad gradcheck` checks in double by default, in
 * float with --float, and --explain sets the two side by side. Only
 * functions whose types hold no cg_float may be declared here: each twin is
 * declared with its float self's type (__typeof__, which gcc and clang
 * accept under -std=c11 -pedantic), and that type is its double self's too,
 * so a declaration here cannot drift from the library's.
 */
#ifndef CG_CLI_LIB64_H
#define CG_CLI_LIB64_H

#include "cgrad.h"

extern __typeof__(cg_gradcheck_defaults)       cg64_gradcheck_defaults;
extern __typeof__(cg_gradcheck_suite_run_dims) cg64_gradcheck_suite_run_dims;
extern __typeof__(cg_errmsg)                   cg64_errmsg;
extern __typeof__(cg_clear_error)              cg64_clear_error;
extern __typeof__(cg_set_blas_threads)         cg64_set_blas_threads;

#endif /* CG_CLI_LIB64_H */
