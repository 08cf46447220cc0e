/*
 * Column statistics of a data matrix: mean, variance, standard deviation,
 * covariance and Pearson correlation.
 *
 * Shapes: x: [R, C], R samples (rows) of C features (columns); mean, var,
 * std: [C]; cov, corr: [C, C]. Outputs are checked by element count.
 *
 * Two passes, in double: the mean first, then the sums of products of the
 * deviations from it. This is the stable "two-pass algorithm" of T. F. Chan,
 * G. H. Golub and R. J. LeVeque, "Algorithms for Computing the Sample
 * Variance: Analysis and Recommendations" (The American Statistician, 1983);
 * the one-pass sum(x^2) - n mean^2 loses every digit when the mean is large
 * next to the spread. The mean itself is taken on data shifted by the first
 * row (mean = x_0 + mean(x - x_0)), so a constant column has a mean equal to
 * its value and a variance of exactly 0. Definitions as torch.mean, torch.var
 * (unbiased divides by R - 1), torch.cov and torch.corrcoef.
 */
#include <math.h>

#include "internal.h"

/* ---- checks -------------------------------------------------------------- */

/* x must be a matrix with at least `min_rows` rows; out must have `want`
 * elements. The message names both shapes. */
static cg_status check_stats(const char *op, const char *name, const cg_tensor *out,
                             size_t want, const cg_tensor *x, int min_rows)
{
    char so[64], sx[64];

    if (!out || !x)
        return cg__fail(CG_ERR_ARG, "%s: NULL tensor", op);
    if (x->ndim != 2 || out->size != want)
        return cg__fail(CG_ERR_SHAPE, "%s: x is %s, %s is %s (x must be a matrix "
                        "[samples, features])", op, cg_shape_str(x, sx, sizeof sx), name,
                        cg_shape_str(out, so, sizeof so));
    if (x->shape[0] < min_rows)
        return cg__fail(CG_ERR_SHAPE, "%s: x is %s, needs at least %d rows", op,
                        cg_shape_str(x, sx, sizeof sx), min_rows);
    return CG_OK;
}

/* C when x is a matrix (so that the caller can ask for out's size first). */
static size_t ncols(const cg_tensor *x)
{
    return x && x->ndim == 2 ? (size_t)x->shape[1] : 0;
}

/* ---- per column ----------------------------------------------------------- */

/* Mean of column j, shifted by its first value (see the top of the file). */
static double col_mean(const cg_tensor *x, int j)
{
    size_t rows = (size_t)x->shape[0], cols = (size_t)x->shape[1];
    double x0 = (double)x->data[j], s = 0;

    for (size_t r = 0; r < rows; r++)
        s += (double)x->data[r * cols + (size_t)j] - x0;
    return x0 + s / (double)rows;
}

/* sum_r (x_ri - mi)(x_rj - mj): the unnormalised co-moment of columns i, j. */
static double comoment(const cg_tensor *x, int i, int j, double mi, double mj)
{
    size_t rows = (size_t)x->shape[0], cols = (size_t)x->shape[1];
    double s = 0;

    for (size_t r = 0; r < rows; r++)
        s += ((double)x->data[r * cols + (size_t)i] - mi) *
             ((double)x->data[r * cols + (size_t)j] - mj);
    return s;
}

/* R or R - 1. */
static double divisor(const cg_tensor *x, bool unbiased)
{
    return (double)x->shape[0] - (unbiased ? 1.0 : 0.0);
}

/* ---- public --------------------------------------------------------------- */

cg_status cg_stats_mean(cg_tensor *mean, const cg_tensor *x)
{
    cg_status st = check_stats("cg_stats_mean", "mean", mean, ncols(x), x, 1);
    if (st != CG_OK)
        return st;
    for (int j = 0; j < x->shape[1]; j++)
        mean->data[j] = (cg_float)col_mean(x, j);
    return CG_OK;
}

/* Two passes per column; var and std share it. */
static cg_status var_or_std(const char *op, const char *name, cg_tensor *out,
                            const cg_tensor *x, bool unbiased, bool root)
{
    cg_status st = check_stats(op, name, out, ncols(x), x, unbiased ? 2 : 1);
    if (st != CG_OK)
        return st;
    for (int j = 0; j < x->shape[1]; j++) {
        double m = col_mean(x, j);
        double v = comoment(x, j, j, m, m) / divisor(x, unbiased);
        out->data[j] = (cg_float)(root ? sqrt(v) : v);
    }
    return CG_OK;
}

cg_status cg_stats_var(cg_tensor *var, const cg_tensor *x, bool unbiased)
{
    return var_or_std("cg_stats_var", "var", var, x, unbiased, false);
}

cg_status cg_stats_std(cg_tensor *std, const cg_tensor *x, bool unbiased)
{
    return var_or_std("cg_stats_std", "std", std, x, unbiased, true);
}

/* Co-moments of every pair into out: [C, C], divided by `div` (the matrix is
 * symmetric: each pair is computed once). m: [C] scratch for the means. */
static void comoments(cg_tensor *out, const cg_tensor *x, double *m, double div)
{
    int c = x->shape[1];

    for (int j = 0; j < c; j++)
        m[j] = col_mean(x, j);
    for (int i = 0; i < c; i++)
        for (int j = i; j < c; j++)
            out->data[(size_t)i * (size_t)c + (size_t)j] =
                out->data[(size_t)j * (size_t)c + (size_t)i] =
                    (cg_float)(comoment(x, i, j, m[i], m[j]) / div);
}

cg_status cg_stats_cov(cg_tensor *cov, const cg_tensor *x, bool unbiased)
{
    size_t c = ncols(x), cc;
    double *m;
    cg_status st;

    if (!cg__mul_size(c, c, &cc))
        return cg__fail(CG_ERR_SHAPE, "cg_stats_cov: %zu x %zu overflows", c, c);
    st = check_stats("cg_stats_cov", "cov", cov, cc, x, unbiased ? 2 : 1);
    if (st != CG_OK)
        return st;
    m = cg__calloc(c, sizeof *m);
    if (!m)
        return cg_errcode();
    comoments(cov, x, m, divisor(x, unbiased));
    cg__free(m);
    return CG_OK;
}

/* corr_ij = cov_ij / sqrt(cov_ii cov_jj), in double from the co-moments (the
 * divisor cancels). A constant column has no correlation: CG_ERR_NUMERIC. */
cg_status cg_stats_corr(cg_tensor *corr, const cg_tensor *x)
{
    size_t c = ncols(x), cc;
    double *m, *sd;
    cg_status st = CG_OK;

    if (!cg__mul_size(c, c, &cc))
        return cg__fail(CG_ERR_SHAPE, "cg_stats_corr: %zu x %zu overflows", c, c);
    st = check_stats("cg_stats_corr", "corr", corr, cc, x, 1);
    if (st != CG_OK)
        return st;
    m = cg__calloc(2 * c, sizeof *m);
    if (!m)
        return cg_errcode();
    sd = m + c;
    for (size_t j = 0; j < c; j++) {
        m[j] = col_mean(x, (int)j);
        sd[j] = sqrt(comoment(x, (int)j, (int)j, m[j], m[j]));
        if (!(sd[j] > 0 && isfinite(sd[j]))) {
            st = cg__fail(CG_ERR_NUMERIC, "cg_stats_corr: column %zu of x is constant "
                          "(or not finite), its correlation is undefined", j);
            goto out_free_m;
        }
    }
    for (size_t i = 0; i < c; i++)
        for (size_t j = i; j < c; j++) {
            double r = comoment(x, (int)i, (int)j, m[i], m[j]) / (sd[i] * sd[j]);
            r = i == j ? 1.0 : fmin(1.0, fmax(-1.0, r));   /* rounding can pass 1 */
            corr->data[i * c + j] = corr->data[j * c + i] = (cg_float)r;
        }
out_free_m:
    cg__free(m);
    return st;
}
