/*
 * What a failing gradient check's errors look like, in words: the pattern
 * the analytic and numeric gradients of one input make, and the verdict
 * report that `cgrad gradcheck` and the exercises (examples/exercises/)
 * print. docs/LEARNING.md explains each pattern and the mistake behind it.
 *
 * The patterns are tried on one input, the one with an overwritten element
 * or else the one holding the worst element, most specific first:
 *   zero         every analytic value is 0: nothing was added into it
 *   assign       a pre-filled gradient lost its value: `=` in place of `+=`
 *   passthrough  analytic = the output's gradient: the local derivative is missing
 *   sign, factor analytic = c * numeric at every element (c = -1: a sign)
 *   transpose    analytic, read as [C, R], is numeric's transpose
 *   rows/columns the wrong elements fill only some rows (or columns)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gradcheck_internal.h"

cg_status cg__gc_data_init(struct cg__gc_data *d, cg_tensor *const *inputs, int n_inputs)
{
    size_t total = 0;

    memset(d, 0, sizeof *d);
    for (int i = 0; i < n_inputs; i++) {
        d->off[i] = total;
        total += inputs[i]->size;
    }
    d->off[n_inputs] = total;
    d->a = cg__calloc(total ? total : 1, sizeof *d->a);
    d->n = cg__calloc(total ? total : 1, sizeof *d->n);
    d->state = cg__calloc(total ? total : 1, 1);
    if (!d->a || !d->n || !d->state) {
        cg__gc_data_deinit(d);
        return cg_errcode();
    }
    return CG_OK;
}

void cg__gc_data_deinit(struct cg__gc_data *d)
{
    cg__free(d->a);
    cg__free(d->n);
    cg__free(d->state);
    d->a = d->n = NULL;
    d->state = NULL;
}

const char *cg_gradcheck_pattern_name(enum cg_gradcheck_pattern p)
{
    static const char *const names[] = {"none", "zero", "assign", "passthrough", "sign",
                                        "factor", "transpose", "rows", "columns"};
    return (unsigned)p < sizeof names / sizeof names[0] ? names[p] : "none";
}

/* ---- one input's figures ---------------------------------------------------- */

/* The view of one input that the pattern tests read. */
struct view {
    const double        *a, *n;
    const unsigned char *state;
    const cg_tensor     *x;
    double               atol, rtol;
};

static struct view view_of(const struct cg__gc_data *d, cg_tensor *const *inputs, int i,
                           const struct cg_gradcheck_options *o)
{
    struct view v = {d->a + d->off[i], d->n + d->off[i], d->state + d->off[i], inputs[i],
                     o->atol, o->rtol};
    return v;
}

static bool checked(const struct view *v, size_t k)
{
    return !(v->state[k] & CG__GC_SKIPPED);
}

static size_t count(const struct view *v, unsigned bit)
{
    size_t c = 0;
    for (size_t k = 0; k < v->x->size; k++)
        c += (v->state[k] & bit) != 0;
    return c;
}

/* True when |got - want| is within the check's tolerance of want. */
static bool close_to(const struct view *v, double got, double want)
{
    return fabs(got - want) <= v->atol + v->rtol * fabs(want);
}

static bool all_zero(const struct view *v)
{
    for (size_t k = 0; k < v->x->size; k++)
        if (fabs(v->a[k]) > 1e-2 * v->atol)
            return false;
    return true;
}

/* analytic = w, the output's gradient (only when y and x have one size). */
static bool passthrough(const struct view *v, const cg_tensor *w)
{
    if (!w || w->size != v->x->size)
        return false;
    for (size_t k = 0; k < v->x->size; k++)
        if (checked(v, k) && !close_to(v, v->a[k], (double)w->data[k]))
            return false;
    return true;
}

static int cmp_double(const void *p, const void *q)
{
    double a = *(const double *)p, b = *(const double *)q;
    return (a > b) - (a < b);
}

/* One constant c with analytic = c * numeric at every compared element
 * (the median ratio over the elements clear of atol, then verified to
 * 0.1%, or to rtol when looser); 0 when there is none. */
static double constant_factor(const struct view *v)
{
    size_t m = 0;
    double *ratios = cg__malloc((v->x->size ? v->x->size : 1) * sizeof *ratios), c;
    double rel = v->rtol > 1e-3 ? v->rtol : 1e-3;

    if (!ratios)
        return 0;
    for (size_t k = 0; k < v->x->size; k++)
        if (checked(v, k) && fabs(v->n[k]) > 10 * v->atol)
            ratios[m++] = v->a[k] / v->n[k];
    if (m == 0) {
        cg__free(ratios);
        return 0;
    }
    qsort(ratios, m, sizeof *ratios, cmp_double);
    c = ratios[m / 2];
    cg__free(ratios);
    for (size_t k = 0; k < v->x->size; k++)
        if (checked(v, k) && fabs(v->a[k] - c * v->n[k]) >
                                 v->atol * (1 + fabs(c)) + rel * fabs(c * v->n[k]))
            return 0;
    return c;
}

/* Rows and columns of the input read as [R, C], R its first dimension. */
static void rows_cols(const cg_tensor *x, size_t *rows, size_t *cols)
{
    *rows = x->ndim >= 2 ? (size_t)x->shape[0] : 1;
    *cols = *rows ? x->size / *rows : 0;
}

/* analytic[c][r] (read as [C, R]) = numeric[r][c]: a transposed index. */
static bool transposed(const struct view *v)
{
    size_t R, C;

    rows_cols(v->x, &R, &C);
    if (v->x->ndim != 2 || R < 2 || C < 2)
        return false;
    for (size_t r = 0; r < R; r++)
        for (size_t c = 0; c < C; c++)
            if (!checked(v, r * C + c) || !close_to(v, v->a[c * R + r], v->n[r * C + c]))
                return false;
    return true;
}

/* Append ", 1, 3" style lists of the rows (by_row) or columns holding a
 * wrong element to buf; returns how many there are. */
static size_t wrong_lines(const struct view *v, bool by_row, char *buf, size_t n)
{
    size_t R, C, lines, found = 0, len = 0;

    rows_cols(v->x, &R, &C);
    lines = by_row ? R : C;
    for (size_t l = 0; l < lines; l++) {
        bool bad = false;
        for (size_t m = 0; m < (by_row ? C : R) && !bad; m++)
            bad = v->state[by_row ? l * C + m : m * C + l] & CG__GC_WRONG;
        if (!bad)
            continue;
        if (found < 8 && len < n)
            len += (size_t)snprintf(buf + len, n - len, "%s%zu", found ? ", " : "", l);
        else if (found == 8 && len < n)
            len += (size_t)snprintf(buf + len, n - len, ", ...");
        found++;
    }
    return found;
}

/* ---- words ------------------------------------------------------------------ */

static void input_name(const struct cg_gradcheck_options *o, int i, char *buf, size_t n)
{
    if (o->input_names && o->input_names[i])
        snprintf(buf, n, "%s", o->input_names[i]);
    else
        snprintf(buf, n, "input %d", i);
}

/* "w[2, 1]": element k of input i by name and index. */
static void element_name(const struct cg_gradcheck_options *o, cg_tensor *const *inputs,
                         int i, size_t k, char *buf, size_t n)
{
    const cg_tensor *x = inputs[i];
    size_t idx[CG_MAX_DIMS], len;

    input_name(o, i, buf, n);
    for (int d = x->ndim - 1; d >= 0; d--) {
        idx[d] = k % (size_t)x->shape[d];
        k /= (size_t)x->shape[d];
    }
    len = strlen(buf);
    for (int d = 0; d < x->ndim && len < n; d++)
        len += (size_t)snprintf(buf + len, n - len, "%s%zu%s", d ? ", " : "[", idx[d],
                                d == x->ndim - 1 ? "]" : "");
}

/* The factor's reading: "an extra factor 2 (or a missing 1/2)". */
static void factor_words(double c, char *buf, size_t n)
{
    double k = round(c), inv = round(1 / c);

    if (fabs(c + 1) < 1e-3)
        snprintf(buf, n, "a sign flip");
    else if (fabs(k) >= 2 && fabs(c - k) < 1e-3 * fabs(c))
        snprintf(buf, n, "an extra factor %g (or a missing 1/%g)", fabs(k), fabs(k));
    else if (fabs(inv) >= 2 && fabs(1 / c - inv) < 1e-3 * fabs(1 / c))
        snprintf(buf, n, "a missing factor %g (or an extra 1/%g)", fabs(inv), fabs(inv));
    else
        snprintf(buf, n, "a missing or extra constant factor");
}

/* The first input with an overwritten element, else the worst element's. */
static int focus_input(const struct cg__gc_data *d, cg_tensor *const *inputs, int n_inputs,
                       const struct cg_gradcheck_options *o, const struct cg_gradcheck_result *r)
{
    for (int i = 0; i < n_inputs; i++) {
        struct view v = view_of(d, inputs, i, o);
        if (count(&v, CG__GC_OVERWRITTEN))
            return i;
    }
    return r->worst_input;
}

/* The pattern of input i and its sentence. */
static void describe(const struct view *v, const cg_tensor *w, const char *name,
                     struct cg_gradcheck_result *r, char *buf, size_t n)
{
    size_t wrong = count(v, CG__GC_WRONG), over = count(v, CG__GC_OVERWRITTEN), R, C;
    char list[96], words[96], shape[48];
    double c;

    rows_cols(v->x, &R, &C);
    cg_shape_str(v->x, shape, sizeof shape);
    if (wrong && all_zero(v)) {
        r->pattern = CG_GRADCHECK_ZERO;
        snprintf(buf, n, "%s: the analytic gradient is 0 everywhere: nothing was added "
                 "into it (the backward never writes it, or writes another buffer)", name);
    } else if (over) {
        r->pattern = CG_GRADCHECK_ASSIGN;
        snprintf(buf, n, "%s: backward assigned (=) %zu of %zu elements where it must add "
                 "(+=): what the gradient held was lost, so it is wrong wherever an "
                 "element is used more than once", name, over, v->x->size);
    } else if (passthrough(v, w)) {
        r->pattern = CG_GRADCHECK_PASSTHROUGH;
        snprintf(buf, n, "%s: the analytic gradient equals the output's gradient: the "
                 "local derivative (the Jacobian product) is missing", name);
    } else if ((c = constant_factor(v)) != 0 && fabs(c - 1) > 1e-3) {
        r->pattern = fabs(c + 1) < 1e-3 ? CG_GRADCHECK_SIGN : CG_GRADCHECK_FACTOR;
        r->factor = c;
        factor_words(c, words, sizeof words);
        snprintf(buf, n, "%s: analytic = %.6g x numeric at every element: %s", name, c,
                 words);
    } else if (transposed(v)) {
        r->pattern = CG_GRADCHECK_TRANSPOSE;
        snprintf(buf, n, "%s %s: analytic[j][i] = numeric[i][j]: the gradient is "
                 "transposed (two indices swapped)", name, shape);
    } else if (R > 1 && wrong_lines(v, true, list, sizeof list) < R) {
        r->pattern = CG_GRADCHECK_ROWS;
        snprintf(buf, n, "%s %s: wrong only in rows %s (of %zu): an index that picks "
                 "the wrong row, or a loop that misses some", name, shape, list, R);
    } else if (C > 1 && wrong_lines(v, false, list, sizeof list) < C) {
        r->pattern = CG_GRADCHECK_COLUMNS;
        snprintf(buf, n, "%s %s: wrong only in columns %s (of %zu): an index or a "
                 "transpose", name, shape, list, C);
    } else {
        snprintf(buf, n, "%s: %zu of %zu elements wrong, with no simple pattern: compare "
                 "the worst element's formula with docs/MATH.md", name, wrong, v->x->size);
    }
}

/* ", right: x, b" or ", also wrong: b": the other inputs in a few words. */
static void others(const struct cg__gc_data *d, cg_tensor *const *inputs, int n_inputs,
                   int focus, const struct cg_gradcheck_options *o, char *buf, size_t n)
{
    size_t len = 0;
    char name[32];

    buf[0] = '\0';
    for (int pass = 0; pass < 2; pass++) {
        bool any = false;
        for (int i = 0; i < n_inputs && len < n; i++) {
            struct view v = view_of(d, inputs, i, o);
            bool bad = count(&v, CG__GC_WRONG | CG__GC_OVERWRITTEN) != 0;
            if (i == focus || bad != (pass == 1))
                continue;
            input_name(o, i, name, sizeof name);
            len += (size_t)snprintf(buf + len, n - len, "%s%s", any ? ", " : pass ?
                                    "; also wrong: " : "; right: ", name);
            any = true;
        }
    }
}

void cg__gradcheck_diagnose(const struct cg__gc_data *d, cg_tensor *const *inputs,
                            int n_inputs, const cg_tensor *w,
                            const struct cg_gradcheck_options *o,
                            struct cg_gradcheck_result *r)
{
    char name[32], rest[128];
    int focus;

    if (r->worst_input >= 0)
        element_name(o, inputs, r->worst_input, r->worst_index, r->worst_at,
                     sizeof r->worst_at);
    if (r->passed || r->vacuous || r->all_skipped)
        return;
    focus = focus_input(d, inputs, n_inputs, o, r);
    if (focus < 0)
        return;
    struct view v = view_of(d, inputs, focus, o);
    r->pattern_input = focus;
    input_name(o, focus, name, sizeof name);
    describe(&v, w, name, r, r->diagnosis, sizeof r->diagnosis);
    others(d, inputs, n_inputs, focus, o, rest, sizeof rest);
    size_t len = strlen(r->diagnosis);
    snprintf(r->diagnosis + len, sizeof r->diagnosis - len, "%s", rest);
}

/* ---- the verdict ------------------------------------------------------------ */

static double ratio(double a, double n)
{
    return n != 0 ? a / n : a == 0 ? 1 : (double)INFINITY;
}

char *cg_gradcheck_report(const struct cg_gradcheck_result *r, char *buf, size_t n)
{
    size_t len;

    if (!buf || n == 0)
        return buf;
    if (r->all_skipped) {
        snprintf(buf, n, "NOT CHECKED: all %zu elements lie within the step (eps %g) of a "
                 "kink, so none was compared. This says nothing about the gradient: move "
                 "the inputs away from the kinks.\n", r->skipped, r->eps);
        return buf;
    }
    if (r->vacuous) {
        snprintf(buf, n, "FAIL (vacuous): every analytic and numeric gradient is (near) "
                 "zero, so the check compares nothing: does the output depend on the "
                 "inputs?\n");
        return buf;
    }
    len = (size_t)snprintf(buf, n, "%s: %zu elements checked, %zu wrong, %zu skipped near a "
                           "kink; largest relative error %.3g (at most %g passes)\n",
                           r->passed ? "PASS" : "FAIL", r->checked, r->wrong, r->skipped,
                           r->max_rel_err, r->rtol);
    if (len < n && r->worst_input >= 0)
        len += (size_t)snprintf(buf + len, n - len, "  worst element %s: analytic %.9g, "
                                "numeric %.9g, ratio %.6g\n", r->worst_at, r->worst_analytic,
                                r->worst_numeric, ratio(r->worst_analytic, r->worst_numeric));
    if (len < n && r->diagnosis[0])
        snprintf(buf + len, n - len, "  diagnosis: %s\n", r->diagnosis);
    return buf;
}
