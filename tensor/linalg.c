/*
 * Small dense linear algebra: transpose, LU with partial pivoting (det,
 * inverse, solve) and the symmetric eigenproblem by cyclic Jacobi rotations.
 *
 * Shapes: a: [N, N] square; right-hand sides b, x: [N] or [N, K].
 * Everything is computed in double on a private copy of the matrix, whatever
 * cg_float is, so the float build loses digits only when it stores results.
 * These are for the small matrices of statistics and tests (N up to a few
 * hundred), not a LAPACK replacement.
 *
 * References: G. H. Golub and C. F. Van Loan, "Matrix Computations", 4th ed.:
 * Algorithm 3.4.1 (LU with partial pivoting), 3.1.1-3.1.2 (triangular
 * solves), Algorithms 8.5.1-8.5.3 (sym.schur2 and the cyclic Jacobi method).
 */
#include <float.h>
#include <math.h>
#include <string.h>

#include "internal.h"

#ifdef CG_DOUBLE
#define CG__EPS DBL_EPSILON
#else
#define CG__EPS ((double)FLT_EPSILON)
#endif

/* Jacobi converges quadratically: about 6-10 sweeps in practice. */
#define CG__JACOBI_MAX_SWEEPS 100

/* ---- helpers ------------------------------------------------------------- */

static bool is_square(const cg_tensor *a)
{
    return a->ndim == 2 && a->shape[0] == a->shape[1];
}

/* CG_ERR_ARG for a NULL a, CG_ERR_SHAPE unless a: [N, N]. */
static cg_status check_square(const char *op, const cg_tensor *a)
{
    char sa[64];

    if (!a)
        return cg__fail(CG_ERR_ARG, "%s: a is NULL", op);
    if (!is_square(a))
        return cg__fail(CG_ERR_SHAPE, "%s: a is %s, must be a square matrix", op,
                        cg_shape_str(a, sa, sizeof sa));
    return CG_OK;
}

/* An n x n double work matrix, plus `extra` more doubles after it. */
static double *alloc_work(const char *op, int n, size_t extra)
{
    size_t count, bytes;

    if (!cg__mul_size((size_t)n, (size_t)n, &count) || !cg__add_size(count, extra, &count) ||
        !cg__mul_size(count, sizeof(double), &bytes))
        return cg__fail_null(CG_ERR_NOMEM, "%s: a %d x %d work matrix overflows", op, n, n);
    return cg__malloc(bytes);
}

/* Copy a's data into w as double; CG_ERR_NUMERIC on a NaN or infinity, which
 * would otherwise come out as NaNs. *amax is the largest |a_ij|. */
static cg_status load_finite(const char *op, double *w, const cg_tensor *a, double *amax)
{
    *amax = 0;
    for (size_t i = 0; i < a->size; i++) {
        w[i] = (double)a->data[i];
        if (!isfinite(w[i]))
            return cg__fail(CG_ERR_NUMERIC, "%s: a[%zu, %zu] is %g", op,
                            i / (size_t)a->shape[1], i % (size_t)a->shape[1], w[i]);
        if (fabs(w[i]) > *amax)
            *amax = fabs(w[i]);
    }
    return CG_OK;
}

/* ---- transpose ------------------------------------------------------------ */

/* a: [R, C] -> out: [C, R]. In place only for a square matrix. */
cg_status cg_transpose(cg_tensor *out, const cg_tensor *a)
{
    char so[64], sa[64];
    int r, c;

    if (!out || !a)
        return cg__fail(CG_ERR_ARG, "cg_transpose: NULL tensor");
    if (a->ndim != 2 || out->ndim != 2 || out->shape[0] != a->shape[1] ||
        out->shape[1] != a->shape[0])
        return cg__fail(CG_ERR_SHAPE, "cg_transpose: a is %s, out is %s",
                        cg_shape_str(a, sa, sizeof sa), cg_shape_str(out, so, sizeof so));
    r = a->shape[0];
    c = a->shape[1];
    if (out->data == a->data) {
        if (r != c)
            return cg__fail(CG_ERR_ARG, "cg_transpose: in place only for a square "
                            "matrix, a is %s", cg_shape_str(a, sa, sizeof sa));
        for (int i = 0; i < r; i++)
            for (int j = i + 1; j < c; j++) {
                cg_float t = out->data[(size_t)i * (size_t)c + (size_t)j];
                out->data[(size_t)i * (size_t)c + (size_t)j] =
                    out->data[(size_t)j * (size_t)c + (size_t)i];
                out->data[(size_t)j * (size_t)c + (size_t)i] = t;
            }
        return CG_OK;
    }
    for (int i = 0; i < r; i++)
        for (int j = 0; j < c; j++)
            out->data[(size_t)j * (size_t)r + (size_t)i] =
                a->data[(size_t)i * (size_t)c + (size_t)j];
    return CG_OK;
}

/* ---- LU with partial pivoting ------------------------------------------- */

/* P A = L U in place (G&VL Algorithm 3.4.1, "outer product" form): after it,
 * lu holds U on and above the diagonal and L's multipliers below it (L has a
 * unit diagonal), and row i of P A is row perm[i] of A.
 *
 * A pivot at or below tol = max|a_ij| * N * eps(cg_float) counts as zero: the
 * matrix is singular to the precision its entries were given in. Returns the
 * column of the first such pivot, or -1 when the matrix is regular. *sign is
 * the permutation's sign, for the determinant. */
static int lu_factor(double *lu, int *perm, int n, double amax, int *sign)
{
    double tol = amax * n * CG__EPS;

    *sign = 1;
    for (int i = 0; i < n; i++)
        perm[i] = i;
    for (int k = 0; k < n; k++) {
        int p = k;
        for (int i = k + 1; i < n; i++)
            if (fabs(lu[(size_t)i * n + k]) > fabs(lu[(size_t)p * n + k]))
                p = i;
        if (!(fabs(lu[(size_t)p * n + k]) > tol))
            return k;
        if (p != k) {
            for (int j = 0; j < n; j++) {
                double t = lu[(size_t)k * n + j];
                lu[(size_t)k * n + j] = lu[(size_t)p * n + j];
                lu[(size_t)p * n + j] = t;
            }
            int t = perm[k];
            perm[k] = perm[p];
            perm[p] = t;
            *sign = -*sign;
        }
        for (int i = k + 1; i < n; i++) {
            double l = lu[(size_t)i * n + k] /= lu[(size_t)k * n + k];
            for (int j = k + 1; j < n; j++)
                lu[(size_t)i * n + j] -= l * lu[(size_t)k * n + j];
        }
    }
    return -1;
}

/* Solve L U x = P b for one column; b and x strided by `stride` elements in
 * cg_float arrays (the columns of an [N, K] right-hand side). y: [N] scratch. */
static void lu_solve_column(const double *lu, const int *perm, int n, const cg_float *b,
                            cg_float *x, size_t stride, double *y)
{
    for (int i = 0; i < n; i++) {           /* L y = P b, forward (G&VL 3.1.1) */
        double s = (double)b[(size_t)perm[i] * stride];
        for (int j = 0; j < i; j++)
            s -= lu[(size_t)i * n + j] * y[j];
        y[i] = s;
    }
    for (int i = n - 1; i >= 0; i--) {      /* U x = y, backward (G&VL 3.1.2) */
        double s = y[i];
        for (int j = i + 1; j < n; j++)
            s -= lu[(size_t)i * n + j] * y[j];
        y[i] = s / lu[(size_t)i * n + i];
    }
    for (int i = 0; i < n; i++)
        x[(size_t)i * stride] = (cg_float)y[i];
}

/* A factorization of a: [N, N]: lu: [N, N] and y: [N] in one allocation. */
struct lu {
    double *lu;
    double *y;
    int    *perm;
    int     n;
    int     sign;
    int     singular_at;  /* column of the first zero pivot, or -1 */
    double  amax;
};

static cg_status lu_new(const char *op, struct lu *f, const cg_tensor *a)
{
    cg_status st = check_square(op, a);
    size_t nn;

    if (st != CG_OK)
        return st;
    f->n = a->shape[0];
    nn = (size_t)f->n * (size_t)f->n;
    /* doubles for lu and y, then room for perm as ints (n ints <= n doubles) */
    f->lu = alloc_work(op, f->n, 2 * (size_t)f->n);
    if (!f->lu)
        return cg_errcode();
    f->y = f->lu + nn;
    f->perm = (int *)(void *)(f->y + f->n);
    st = load_finite(op, f->lu, a, &f->amax);
    if (st != CG_OK) {
        cg__free(f->lu);
        return st;
    }
    f->singular_at = lu_factor(f->lu, f->perm, f->n, f->amax, &f->sign);
    return CG_OK;
}

static cg_status fail_singular(const char *op, const struct lu *f, const cg_tensor *a)
{
    char sa[64];
    int k = f->singular_at;

    return cg__fail(CG_ERR_NUMERIC, "%s: matrix %s is singular (pivot %d is %.3g, at or "
                    "below the tolerance %.3g)", op, cg_shape_str(a, sa, sizeof sa), k,
                    fabs(f->lu[(size_t)k * f->n + k]), f->amax * f->n * CG__EPS);
}

/* ---- det, inverse, solve ------------------------------------------------ */

/* det(A) = sign(P) * prod(diag(U)). */
cg_status cg_det(cg_float *det, const cg_tensor *a)
{
    struct lu f;
    double d;
    cg_status st;

    if (!det)
        return cg__fail(CG_ERR_ARG, "cg_det: det is NULL");
    st = lu_new("cg_det", &f, a);
    if (st != CG_OK)
        return st;
    d = f.singular_at >= 0 ? 0.0 : (double)f.sign;
    for (int i = 0; i < f.n && d != 0; i++)
        d *= f.lu[(size_t)i * f.n + i];
    *det = (cg_float)d;
    cg__free(f.lu);
    return CG_OK;
}

/* out = A^-1, column j solving A x = e_j. out may be a. */
cg_status cg_inverse(cg_tensor *out, const cg_tensor *a)
{
    char so[64], sa[64];
    struct lu f;
    cg_status st;

    if (!out)
        return cg__fail(CG_ERR_ARG, "cg_inverse: out is NULL");
    if (a && !cg_tensor_same_shape(out, a) && is_square(a))
        return cg__fail(CG_ERR_SHAPE, "cg_inverse: a is %s, out is %s",
                        cg_shape_str(a, sa, sizeof sa), cg_shape_str(out, so, sizeof so));
    st = lu_new("cg_inverse", &f, a);
    if (st != CG_OK)
        return st;
    if (f.singular_at >= 0) {
        st = fail_singular("cg_inverse", &f, a);
        goto out_free_lu;
    }
    /* Columns of the identity as right-hand sides, written into out, which
     * lu_solve_column reads before writing (it has its own y). */
    for (int j = 0; j < f.n; j++) {
        for (int i = 0; i < f.n; i++)
            out->data[(size_t)i * f.n + j] = i == j ? 1 : 0;
        lu_solve_column(f.lu, f.perm, f.n, out->data + j, out->data + j, (size_t)f.n, f.y);
    }
out_free_lu:
    cg__free(f.lu);
    return st;
}

/* a: [N, N], b: [N] or [N, K] -> x: the shape of b, with A x = b. */
cg_status cg_solve(cg_tensor *x, const cg_tensor *a, const cg_tensor *b)
{
    char sa[64], sb[64], sx[64];
    struct lu f;
    cg_status st;
    int k;

    if (!x || !b)
        return cg__fail(CG_ERR_ARG, "cg_solve: NULL tensor");
    st = check_square("cg_solve", a);
    if (st != CG_OK)
        return st;
    if ((b->ndim != 1 && b->ndim != 2) || b->shape[0] != a->shape[0] ||
        !cg_tensor_same_shape(x, b))
        return cg__fail(CG_ERR_SHAPE, "cg_solve: a is %s, b is %s, x is %s",
                        cg_shape_str(a, sa, sizeof sa), cg_shape_str(b, sb, sizeof sb),
                        cg_shape_str(x, sx, sizeof sx));
    st = lu_new("cg_solve", &f, a);
    if (st != CG_OK)
        return st;
    if (f.singular_at >= 0) {
        st = fail_singular("cg_solve", &f, a);
        goto out_free_lu;
    }
    k = b->ndim == 1 ? 1 : b->shape[1];
    for (int j = 0; j < k; j++)
        lu_solve_column(f.lu, f.perm, f.n, b->data + j, x->data + j, (size_t)k, f.y);
out_free_lu:
    cg__free(f.lu);
    return st;
}

/* ---- symmetric eigenproblem --------------------------------------------- */

/* The rotation (c, s) that zeroes w[p, q] (G&VL Algorithm 8.5.1, sym.schur2):
 * tau = (w_qq - w_pp) / (2 w_pq), t the smaller root of t^2 + 2 tau t - 1. */
static void sym_schur2(const double *w, int n, int p, int q, double *c, double *s)
{
    double tau, t;

    tau = (w[(size_t)q * n + q] - w[(size_t)p * n + p]) / (2 * w[(size_t)p * n + q]);
    t = (tau >= 0 ? 1.0 : -1.0) / (fabs(tau) + hypot(1.0, tau));
    *c = 1 / sqrt(1 + t * t);
    *s = t * *c;
}

/* w = J^T w J and v = v J for the rotation J in the (p, q) plane. */
static void rotate(double *w, double *v, int n, int p, int q, double c, double s)
{
    for (int k = 0; k < n; k++) {           /* columns p and q: w J, v J */
        double wp = w[(size_t)k * n + p], wq = w[(size_t)k * n + q];
        double vp = v[(size_t)k * n + p], vq = v[(size_t)k * n + q];
        w[(size_t)k * n + p] = c * wp - s * wq;
        w[(size_t)k * n + q] = s * wp + c * wq;
        v[(size_t)k * n + p] = c * vp - s * vq;
        v[(size_t)k * n + q] = s * vp + c * vq;
    }
    for (int k = 0; k < n; k++) {           /* rows p and q: J^T w */
        double wp = w[(size_t)p * n + k], wq = w[(size_t)q * n + k];
        w[(size_t)p * n + k] = c * wp - s * wq;
        w[(size_t)q * n + k] = s * wp + c * wq;
    }
    w[(size_t)p * n + q] = w[(size_t)q * n + p] = 0;  /* zero by construction */
}

/* Squared Frobenius norm of the off-diagonal part. */
static double off_norm2(const double *w, int n)
{
    double s = 0;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            if (i != j)
                s += w[(size_t)i * n + j] * w[(size_t)i * n + j];
    return s;
}

/* Cyclic Jacobi (G&VL Algorithm 8.5.3): sweep the pairs (p, q) row by row
 * until off(w) <= eps * ||A||_F. w becomes diagonal, v the eigenvectors. */
static bool jacobi(double *w, double *v, int n)
{
    double goal = off_norm2(w, n), c, s;

    for (int i = 0; i < n; i++)
        goal += w[(size_t)i * n + i] * w[(size_t)i * n + i];
    goal *= DBL_EPSILON * DBL_EPSILON;              /* (eps ||A||_F)^2 */
    for (int sweep = 0; sweep < CG__JACOBI_MAX_SWEEPS; sweep++) {
        if (off_norm2(w, n) <= goal)
            return true;
        for (int p = 0; p < n - 1; p++)
            for (int q = p + 1; q < n; q++) {
                if (w[(size_t)p * n + q] == 0)
                    continue;
                sym_schur2(w, n, p, q, &c, &s);
                rotate(w, v, n, p, q, c, s);
            }
    }
    return off_norm2(w, n) <= goal;
}

/* CG_ERR_ARG unless |a_ij - a_ji| <= 16 N eps(cg_float) max|a|: a matrix
 * computed in cg_float (X^T X) may be a few roundings away from symmetric. */
static cg_status check_symmetric(const double *w, int n, double amax)
{
    double tol = 16.0 * n * CG__EPS * amax;

    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            if (fabs(w[(size_t)i * n + j] - w[(size_t)j * n + i]) > tol)
                return cg__fail(CG_ERR_ARG, "cg_eigh: a is not symmetric: a[%d, %d] is %g, "
                                "a[%d, %d] is %g", i, j, w[(size_t)i * n + j], j, i,
                                w[(size_t)j * n + i]);
    return CG_OK;
}

/* Write the eigenpairs in ascending order of eigenvalue (insertion sort on
 * the diagonal; N is small). */
static void store_sorted(cg_tensor *values, cg_tensor *vectors, const double *w,
                         const double *v, int n, int *order)
{
    for (int i = 0; i < n; i++) {
        int j = i;
        for (; j > 0 && w[(size_t)order[j - 1] * n + order[j - 1]] > w[(size_t)i * n + i]; j--)
            order[j] = order[j - 1];
        order[j] = i;
    }
    for (int i = 0; i < n; i++) {
        values->data[i] = (cg_float)w[(size_t)order[i] * n + order[i]];
        if (vectors)
            for (int k = 0; k < n; k++)
                vectors->data[(size_t)k * n + i] = (cg_float)v[(size_t)k * n + order[i]];
    }
}

cg_status cg_eigh(cg_tensor *values, cg_tensor *vectors, const cg_tensor *a)
{
    char sa[64], sv[64], se[64];
    double *w, *v, amax;
    cg_status st;
    int n;

    if (!values)
        return cg__fail(CG_ERR_ARG, "cg_eigh: values is NULL");
    st = check_square("cg_eigh", a);
    if (st != CG_OK)
        return st;
    n = a->shape[0];
    if (values->size != (size_t)n || (vectors && !cg_tensor_same_shape(vectors, a)))
        return cg__fail(CG_ERR_SHAPE, "cg_eigh: a is %s, values is %s, vectors is %s",
                        cg_shape_str(a, sa, sizeof sa), cg_shape_str(values, sv, sizeof sv),
                        cg_shape_str(vectors, se, sizeof se));
    /* w: [N, N], v: [N, N], then N doubles' room for the sort's ints */
    w = alloc_work("cg_eigh", n, (size_t)n * (size_t)n + (size_t)n);
    if (!w)
        return cg_errcode();
    v = w + (size_t)n * (size_t)n;
    st = load_finite("cg_eigh", w, a, &amax);
    if (st == CG_OK)
        st = check_symmetric(w, n, amax);
    if (st != CG_OK)
        goto out_free_w;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            if (i < j)   /* use the mean of the two triangles */
                w[(size_t)i * n + j] = w[(size_t)j * n + i] =
                    0.5 * (w[(size_t)i * n + j] + w[(size_t)j * n + i]);
            v[(size_t)i * n + j] = i == j ? 1 : 0;
        }
    if (!jacobi(w, v, n)) {
        st = cg__fail(CG_ERR_NUMERIC, "cg_eigh: Jacobi did not converge in %d sweeps on %s",
                      CG__JACOBI_MAX_SWEEPS, cg_shape_str(a, sa, sizeof sa));
        goto out_free_w;
    }
    store_sorted(values, vectors, w, v, n, (int *)(void *)(v + (size_t)n * (size_t)n));
out_free_w:
    cg__free(w);
    return st;
}
