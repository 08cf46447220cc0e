/*
 * Model specs: "784-256-128-10:act=relu:dropout=0.2:out=softmax" <-> struct
 * cg_arch. The grammar is in nn/nn.h and docs/MODEL.md. The printer writes
 * the canonical form, so print(parse(s)) is s made canonical and
 * parse(print(a)) == a for every valid a.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define DEFAULT_SLOPE 0.01   /* torch.nn.LeakyReLU's negative_slope */

static const char *const act_names[] = {
    [CG_ACT_NONE] = "none",       [CG_ACT_RELU] = "relu",
    [CG_ACT_LEAKY_RELU] = "leaky_relu", [CG_ACT_SIGMOID] = "sigmoid",
    [CG_ACT_TANH] = "tanh",       [CG_ACT_SOFTMAX] = "softmax"
};

const char *cg_act_name(enum cg_act act)
{
    return (unsigned)act <= CG_ACT_SOFTMAX ? act_names[act] : "?";
}

struct cg_arch cg_arch_default(int n_sizes, const int *sizes)
{
    struct cg_arch a;

    memset(&a, 0, sizeof a);
    a.act = CG_ACT_RELU;
    a.slope = DEFAULT_SLOPE;
    a.out = CG_ACT_NONE;
    if (n_sizes > 0 && n_sizes <= CG_NN_MAX_LINEAR + 1 && sizes) {
        a.n_sizes = n_sizes;
        memcpy(a.sizes, sizes, (size_t)n_sizes * sizeof *sizes);
    }
    return a;
}

cg_status cg_arch_check(const struct cg_arch *a)
{
    if (!a)
        return cg__fail(CG_ERR_ARG, "architecture is NULL");
    if (a->n_sizes < 2 || a->n_sizes > CG_NN_MAX_LINEAR + 1)
        return cg__fail(CG_ERR_ARG, "a model has 2 to %d sizes (input, hidden..., output), "
                        "not %d", CG_NN_MAX_LINEAR + 1, a->n_sizes);
    for (int i = 0; i < a->n_sizes; i++)
        if (a->sizes[i] < 1 || a->sizes[i] > CG_NN_MAX_SIZE)
            return cg__fail(CG_ERR_ARG, "size %d is %d, not in [1, %d]", i, a->sizes[i],
                            CG_NN_MAX_SIZE);
    if (a->act != CG_ACT_RELU && a->act != CG_ACT_LEAKY_RELU && a->act != CG_ACT_SIGMOID &&
        a->act != CG_ACT_TANH)
        return cg__fail(CG_ERR_ARG, "hidden activation %s is not relu, leaky_relu, sigmoid "
                        "or tanh", cg_act_name(a->act));
    if (a->out != CG_ACT_NONE && a->out != CG_ACT_SOFTMAX && a->out != CG_ACT_SIGMOID &&
        a->out != CG_ACT_TANH)
        return cg__fail(CG_ERR_ARG, "output activation %s is not none, softmax, sigmoid "
                        "or tanh", cg_act_name(a->out));
    if (!(a->dropout >= 0 && a->dropout < 1))
        return cg__fail(CG_ERR_ARG, "dropout rate %g is not in [0, 1)", a->dropout);
    if (!isfinite(a->slope))
        return cg__fail(CG_ERR_ARG, "leaky ReLU slope %g is not finite", a->slope);
    return CG_OK;
}

/* ---- parsing ---------------------------------------------------------------------- */

/* A bad token: quote it (up to the next separator) with its column. */
static cg_status bad(const char *spec, const char *at, const char *why)
{
    size_t n = strcspn(at, "-:");
    if (n == 0 && *at)   /* the token is the separator itself and what follows */
        n = 1 + strcspn(at + 1, "-:");
    return cg__fail(CG_ERR_ARG, "spec \"%s\": %s at column %d: \"%.*s\"", spec, why,
                    (int)(at - spec) + 1, (int)n, at);
}

static cg_status parse_sizes(struct cg_arch *a, const char *spec, const char **pp)
{
    const char *p = *pp;

    for (;;) {
        char *end;
        long v;
        if (*p < '0' || *p > '9')
            return bad(spec, p, "expected a layer size");
        errno = 0;
        v = strtol(p, &end, 10);
        if (errno || v < 1 || v > CG_NN_MAX_SIZE)
            return bad(spec, p, "layer size out of range [1, 16777216]");
        if (a->n_sizes == CG_NN_MAX_LINEAR + 1)
            return bad(spec, p, "too many layers (at most 32 linear layers)");
        a->sizes[a->n_sizes++] = (int)v;
        p = end;
        if (*p != '-')
            break;
        p++;
    }
    if (a->n_sizes < 2)
        return bad(spec, spec, "a spec needs an input and an output size");
    if (*p != '\0' && *p != ':')
        return bad(spec, p, "expected '-', ':' or the end");
    *pp = p;
    return CG_OK;
}

static bool word_is(const char *p, size_t n, const char *word)
{
    return strlen(word) == n && strncmp(p, word, n) == 0;
}

static cg_status parse_act(const char *spec, const char *v, size_t n, bool out,
                           enum cg_act *act)
{
    for (int k = CG_ACT_NONE; k <= CG_ACT_SOFTMAX; k++) {
        if (!word_is(v, n, act_names[k]))
            continue;
        if (out ? k == CG_ACT_RELU || k == CG_ACT_LEAKY_RELU
                : k == CG_ACT_NONE || k == CG_ACT_SOFTMAX)
            break;
        *act = (enum cg_act)k;
        return CG_OK;
    }
    return bad(spec, v, out ? "unknown output activation (none, softmax, sigmoid, tanh)"
                            : "unknown activation (relu, leaky_relu, sigmoid, tanh)");
}

static cg_status parse_number(const char *spec, const char *v, size_t n, double *out)
{
    char buf[64], *end;

    if (n == 0 || n >= sizeof buf)
        return bad(spec, v, "expected a number");
    memcpy(buf, v, n);
    buf[n] = '\0';
    *out = strtod(buf, &end);
    if (*end != '\0' || !isfinite(*out))
        return bad(spec, v, "expected a number");
    return CG_OK;
}

/* One "key=value" option at p (up to the next ':' or the end). */
static cg_status parse_option(struct cg_arch *a, const char *spec, const char *p,
                              unsigned *seen)
{
    static const char *const keys[] = {"act", "slope", "dropout", "out"};
    size_t n = strcspn(p, ":"), k = strcspn(p, "=:");
    const char *v = p + k + 1;
    size_t vn = n > k ? n - k - 1 : 0;
    int which = -1;

    for (int i = 0; i < 4; i++)
        if (word_is(p, k, keys[i]))
            which = i;
    if (which < 0 || p[k] != '=')
        return bad(spec, p, "expected act=, slope=, dropout= or out=");
    if (*seen & (1u << which))
        return bad(spec, p, "option given twice");
    *seen |= 1u << which;
    switch (which) {
    case 0:  return parse_act(spec, v, vn, false, &a->act);
    case 1:  return parse_number(spec, v, vn, &a->slope);
    case 3:  return parse_act(spec, v, vn, true, &a->out);
    default:
        if (parse_number(spec, v, vn, &a->dropout) != CG_OK)
            return CG_ERR_ARG;
        if (!(a->dropout >= 0 && a->dropout < 1))
            return bad(spec, v, "dropout rate not in [0, 1)");
        return CG_OK;
    }
}

cg_status cg_arch_parse(struct cg_arch *arch, const char *spec)
{
    struct cg_arch a = cg_arch_default(0, NULL);
    const char *p = spec;
    unsigned seen = 0;
    cg_status st;

    if (!arch || !spec)
        return cg__fail(CG_ERR_ARG, "cg_arch_parse: NULL argument");
    if ((st = parse_sizes(&a, spec, &p)) != CG_OK)
        return st;
    while (*p == ':') {
        p++;
        if ((st = parse_option(&a, spec, p, &seen)) != CG_OK)
            return st;
        p += strcspn(p, ":");
    }
    if ((seen & 2u) && a.act != CG_ACT_LEAKY_RELU)
        return bad(spec, strstr(spec, ":slope=") + 1, "slope= needs act=leaky_relu");
    *arch = a;
    return CG_OK;
}

/* ---- printing ---------------------------------------------------------------------- */

/* The shortest of %.15g/%.16g/%.17g that reads back as exactly x. */
static void shortest(char *buf, size_t n, double x)
{
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, n, "%.*g", prec, x);
        if (strtod(buf, NULL) == x)
            return;
    }
}

cg_status cg_arch_print(const struct cg_arch *a, char *buf, size_t n)
{
    char num[40];
    size_t at = 0;
    int w;
    cg_status st;

    if ((st = cg_arch_check(a)) != CG_OK)
        return st;
    if (!buf || n == 0)
        return cg__fail(CG_ERR_ARG, "cg_arch_print: no buffer");
    buf[0] = '\0';
    for (int i = 0; i < a->n_sizes; i++) {
        w = snprintf(buf + at, n - at, i ? "-%d" : "%d", a->sizes[i]);
        if (w < 0 || (size_t)w >= n - at)
            goto too_small;
        at += (size_t)w;
    }
    if (a->act != CG_ACT_RELU) {
        w = snprintf(buf + at, n - at, ":act=%s", cg_act_name(a->act));
        if (w < 0 || (size_t)w >= n - at)
            goto too_small;
        at += (size_t)w;
    }
    if (a->act == CG_ACT_LEAKY_RELU && a->slope != DEFAULT_SLOPE) {
        shortest(num, sizeof num, a->slope);
        w = snprintf(buf + at, n - at, ":slope=%s", num);
        if (w < 0 || (size_t)w >= n - at)
            goto too_small;
        at += (size_t)w;
    }
    if (a->dropout > 0) {
        shortest(num, sizeof num, a->dropout);
        w = snprintf(buf + at, n - at, ":dropout=%s", num);
        if (w < 0 || (size_t)w >= n - at)
            goto too_small;
        at += (size_t)w;
    }
    if (a->out != CG_ACT_NONE) {
        w = snprintf(buf + at, n - at, ":out=%s", cg_act_name(a->out));
        if (w < 0 || (size_t)w >= n - at)
            goto too_small;
    }
    return CG_OK;
too_small:
    return cg__fail(CG_ERR_ARG, "cg_arch_print: a buffer of %zu bytes is too small", n);
}
