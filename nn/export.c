/*
 * Export a model as one standalone C99 file (see nn.h, docs/EXPORT.md).
 *
 * A "plan" holds the model as the generated code will: float (or int8 and
 * scale) weights per layer, float biases and normalization, the activation
 * after each layer. The plan is built and checked first, then either
 * printed as C (cg_model_export_c) or run here (cg_model_export_eval), so
 * the file and the library's check of it use the same numbers. The C text
 * of each operation sits right above its twin in this file (plan_*): change
 * one, change both.
 *
 * Shapes: a layer maps [I] -> [O] with w: [O, I], b: [O]; int8 rows have a
 * scale s: [O].
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../cgrad.h"  /* CG_VERSION */
#include "internal.h"

#define STACK_SLACK 256   /* scalars, saved registers, the helpers' frames */

/* One linear layer and what follows it. */
struct layer {
    int         in, out;
    float      *w;      /* [in, out]: float weights, transposed (float export) */
    int8_t     *q;      /* [out, in] int8 weights (int8 export) */
    float      *s;      /* [out] row scales: w[o][i] ~ q[o][i] * s[o] */
    float      *b;      /* [out] */
    enum cg_act act;    /* activation after the layer (CG_ACT_NONE: none) */
    float       slope;  /* leaky ReLU */
};

struct plan {
    char         name[CG_EXPORT_NAME_MAX + 1];
    int          n_layers, in, out;
    int          width;     /* the widest input of a layer: the buffers' size */
    bool         int8, classify;
    bool         hidden;    /* the model has hidden layers (two buffers) */
    struct layer layer[CG_NN_MAX_LINEAR];
    float       *off, *scale;   /* [in] each, or NULL */
    const struct cg_export_options *o;
};

/* ---- checks ----------------------------------------------------------------- */

static const char *const keywords[] = {
    "auto", "break", "case", "char", "const", "continue", "default", "do", "double", "else",
    "enum", "extern", "float", "for", "goto", "if", "inline", "int", "long", "register",
    "restrict", "return", "short", "signed", "sizeof", "static", "struct", "switch",
    "typedef", "union", "unsigned", "void", "volatile", "while", "asm", "fortran"
};

cg_status cg_export_check_name(const char *name)
{
    size_t n;

    if (!name)
        return cg__fail(CG_ERR_ARG, "export name is NULL");
    n = strlen(name);
    if (n == 0 || n > CG_EXPORT_NAME_MAX)
        return cg__fail(CG_ERR_ARG, "export name \"%s\": must have 1 to %d characters (so "
                        "that %s_predict fits C99's 31)", name, CG_EXPORT_NAME_MAX, name);
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        if (!alpha && !(i > 0 && ((c >= '0' && c <= '9') || c == '_')))
            return cg__fail(CG_ERR_ARG, "export name \"%s\" is not a C identifier: letters, "
                            "digits and '_', starting with a letter", name);
    }
    for (size_t i = 0; i < sizeof keywords / sizeof keywords[0]; i++)
        if (strcmp(name, keywords[i]) == 0)
            return cg__fail(CG_ERR_ARG, "export name \"%s\" is a C keyword", name);
    return CG_OK;
}

/* v as a float, finite, or CG_ERR_ARG naming where it is. */
static cg_status to_float(cg_float v, float *out, const char *what, size_t i)
{
    float f = (float)v;

    if (!isfinite(f))
        return cg__fail(CG_ERR_ARG, "%s[%zu] is %g: not a finite float", what, i, (double)v);
    *out = f;
    return CG_OK;
}

static cg_status check_options(const cg_model *m, const struct cg_export_options *o)
{
    int in = cg_model_input_size(m), out = cg_model_output_size(m);

    if (o->n_norm != 0 && (o->n_norm != in || !o->norm_offset || !o->norm_scale))
        return cg__fail(CG_ERR_ARG, "the normalization has %d features, the model %d inputs",
                        o->n_norm, in);
    if (o->n_classes < 0 || (o->n_classes > 0 && (!o->classify || !o->classes ||
                                                  o->n_classes != out)))
        return cg__fail(CG_ERR_ARG, "%d class names for a %s with %d outputs", o->n_classes,
                        o->classify ? "classifier" : "regression model", out);
    for (int c = 0; c < o->n_classes; c++)
        if (!o->classes[c])
            return cg__fail(CG_ERR_ARG, "class name %d is NULL", c);
    return CG_OK;
}

/* ---- the plan --------------------------------------------------------------- */

static void plan_free(struct plan *p)
{
    for (int k = 0; k < p->n_layers; k++) {
        cg__free(p->layer[k].w);
        cg__free(p->layer[k].q);
        cg__free(p->layer[k].s);
        cg__free(p->layer[k].b);
    }
    cg__free(p->off);
    cg__free(p->scale);
    memset(p, 0, sizeof *p);
}

/* Row o of w as int8 with one scale: s = max |w| / 127, q = round(w / s). */
static void quantize_row(const float *w, int n, int8_t *q, float *s)
{
    double mx = 0;

    for (int i = 0; i < n; i++)
        mx = fabs((double)w[i]) > mx ? fabs((double)w[i]) : mx;
    *s = (float)(mx / 127.0);
    for (int i = 0; i < n; i++) {
        double v = *s > 0 ? (double)w[i] / (double)*s : 0;
        v = v > 127 ? 127 : v < -127 ? -127 : v;
        q[i] = (int8_t)lrint(v);
    }
}

/* L->w: [out, in] -> [in, out], for the float code's loop order. */
static cg_status transpose(struct layer *L)
{
    size_t n = (size_t)L->in * (size_t)L->out;
    float *t = cg__calloc(n, sizeof *t);

    if (!t)
        return CG_ERR_NOMEM;
    for (size_t o = 0; o < (size_t)L->out; o++)
        for (size_t i = 0; i < (size_t)L->in; i++)
            t[i * (size_t)L->out + o] = L->w[o * (size_t)L->in + i];
    cg__free(L->w);
    L->w = t;
    return CG_OK;
}

/* The layer of linear module mod, the activation act after it. */
static cg_status plan_layer(struct plan *p, const struct cg_module *mod, enum cg_act act,
                            float slope)
{
    struct layer *L = &p->layer[p->n_layers++];
    size_t n = (size_t)mod->in * (size_t)mod->out;
    char what[48];
    cg_status st = CG_OK;

    L->in = mod->in;
    L->out = mod->out;
    L->act = act;
    L->slope = slope;
    if (!(L->w = cg__calloc(n, sizeof *L->w)) ||
        !(L->b = cg__calloc((size_t)mod->out, sizeof *L->b)))
        return CG_ERR_NOMEM;
    snprintf(what, sizeof what, "%d.weight", mod->index);
    for (size_t i = 0; i < n && st == CG_OK; i++)
        st = to_float(mod->weight->data[i], &L->w[i], what, i);
    snprintf(what, sizeof what, "%d.bias", mod->index);
    for (size_t i = 0; i < (size_t)mod->out && st == CG_OK; i++)
        st = to_float(mod->bias->data[i], &L->b[i], what, i);
    if (st != CG_OK)
        return st;
    if (!p->int8)
        return transpose(L);
    if (!(L->q = cg__calloc(n, 1)) || !(L->s = cg__calloc((size_t)mod->out, sizeof *L->s)))
        return CG_ERR_NOMEM;
    for (int o = 0; o < mod->out; o++)
        quantize_row(L->w + (size_t)o * (size_t)mod->in, mod->in,
                     L->q + (size_t)o * (size_t)mod->in, &L->s[o]);
    cg__free(L->w);
    L->w = NULL;
    return CG_OK;
}

static cg_status plan_norm(struct plan *p, const struct cg_export_options *o)
{
    cg_status st = CG_OK;

    if (o->n_norm == 0)
        return CG_OK;
    if (!(p->off = cg__calloc((size_t)p->in, sizeof *p->off)) ||
        !(p->scale = cg__calloc((size_t)p->in, sizeof *p->scale)))
        return CG_ERR_NOMEM;
    for (int j = 0; j < p->in && st == CG_OK; j++)
        if ((st = to_float(o->norm_offset[j], &p->off[j], "normalization offset",
                           (size_t)j)) == CG_OK)
            st = to_float(o->norm_scale[j], &p->scale[j], "normalization scale", (size_t)j);
    return st;
}

/* The largest size of the model: its int counts must hold it. */
static int plan_widest(const struct plan *p)
{
    int w = p->in;

    for (int k = 0; k < p->n_layers; k++)
        w = p->layer[k].out > w ? p->layer[k].out : w;
    return w;
}

/* The stack NAME_predict needs: two float buffers (one without hidden
 * layers), the int8 buffer, and STACK_SLACK for the rest. */
static size_t plan_stack(const struct plan *p)
{
    size_t w = (size_t)p->width;
    return w * sizeof(float) * (p->hidden ? 2 : 1) + (p->int8 ? w : 0) + STACK_SLACK;
}

static cg_status plan_build(struct plan *p, const cg_model *m, const struct cg_export_options *o)
{
    const struct cg_arch *a;
    const struct cg_module *mods;
    int n;
    cg_status st;

    memset(p, 0, sizeof *p);
    if (!m || !o)
        return cg__fail(CG_ERR_ARG, "cg_model_export: NULL model or options");
    if ((st = cg_export_check_name(o->name ? o->name : "model")) != CG_OK ||
        (st = check_options(m, o)) != CG_OK)
        return st;
    a = cg_model_arch(m);
    snprintf(p->name, sizeof p->name, "%s", o->name ? o->name : "model");
    p->o = o;
    p->in = cg_model_input_size(m);
    p->out = cg_model_output_size(m);
    p->int8 = o->int8;
    p->classify = o->classify;
    p->hidden = a->n_sizes > 2;
    for (int k = 0; k + 1 < a->n_sizes; k++)
        p->width = a->sizes[k] > p->width ? a->sizes[k] : p->width;
    /* The sizes first, before anything is allocated or copied. */
    if (plan_stack(p) > CG_EXPORT_STACK_MAX)
        return cg__fail(CG_ERR_ARG, "the buffers of a layer %d wide need %zu bytes of stack, "
                        "more than %d", p->width, plan_stack(p), CG_EXPORT_STACK_MAX);
    for (int k = 0; p->int8 && k + 1 < a->n_sizes; k++)
        if (a->sizes[k] > CG_EXPORT_INT8_MAX_IN)
            return cg__fail(CG_ERR_ARG, "linear layer %d has %d inputs: int8 takes at most "
                            "%d (the int32 sum could overflow)", k, a->sizes[k],
                            CG_EXPORT_INT8_MAX_IN);
    mods = cg_model_modules(m, &n);
    for (int i = 0; i < n && st == CG_OK; i++) {
        if (mods[i].kind != CG_MOD_LINEAR)
            continue;   /* activations are read below, dropout is the identity */
        bool last = p->n_layers + 2 == a->n_sizes;
        st = plan_layer(p, &mods[i], last ? a->out : a->act,
                        last ? 0 : (float)(a->act == CG_ACT_LEAKY_RELU ? a->slope : 0));
    }
    return st == CG_OK ? plan_norm(p, o) : st;
}

/* ---- the operations, as C text and as code -------------------------------- */

/* Float weights are stored transposed, wt: [n_in, n_out], and summed input
 * by input into all outputs at once: each y[o] still adds its products in
 * the order i = 0, 1, ... (the same bits as a dot product), but the inner
 * loop runs over independent outputs, which a compiler vectorizes without
 * -ffast-math (a float dot product it may not reorder). */
static const char c_linear[] =
    "/* y[o] = b[o] + sum_i w[o][i] x[i], with wt: [n_in, n_out] (w transposed),\n"
    " * x: [n_in] -> y: [n_out]. The inner loop runs over the outputs, so it\n"
    " * vectorizes; each y[o] adds its products in the order of i. */\n"
    "static void %s_linear(const float *wt, const float *b, const float *x, int n_in,\n"
    "                      int n_out, float *y)\n"
    "{\n"
    "    int o, i;\n"
    "\n"
    "    for (o = 0; o < n_out; o++)\n"
    "        y[o] = 0.0f;\n"
    "    for (i = 0; i < n_in; i++) {\n"
    "        const float *col = wt + (long)i * n_out;\n"
    "        const float xi = x[i];\n"
    "        for (o = 0; o < n_out; o++)\n"
    "            y[o] += col[o] * xi;\n"
    "    }\n"
    "    for (o = 0; o < n_out; o++)\n"
    "        y[o] = b[o] + y[o];\n"
    "}\n\n";

static void plan_linear(const float *wt, const float *b, const float *x, int n_in, int n_out,
                        float *y)
{
    for (int o = 0; o < n_out; o++)
        y[o] = 0.0f;
    for (int i = 0; i < n_in; i++) {
        const float *col = wt + (long)i * n_out;
        const float xi = x[i];
        for (int o = 0; o < n_out; o++)
            y[o] += col[o] * xi;
    }
    for (int o = 0; o < n_out; o++)
        y[o] = b[o] + y[o];
}

static const char c_quantize[] =
    "/* q = round(x / sx) with sx = max |x| / 127 (returned): one scale per vector,\n"
    " * fitted to each input at run time. A NaN becomes 0 (no undefined cast). */\n"
    "static float %s_quantize(const float *x, int n, int8_t *q)\n"
    "{\n"
    "    float m = 0.0f, inv;\n"
    "    int i;\n"
    "\n"
    "    for (i = 0; i < n; i++) {\n"
    "        float a = x[i] < 0.0f ? -x[i] : x[i];\n"
    "        if (a > m)\n"
    "            m = a;\n"
    "    }\n"
    "    inv = m > 0.0f ? 127.0f / m : 0.0f;\n"
    "    for (i = 0; i < n; i++) {\n"
    "        float v = x[i] * inv;\n"
    "        if (v >= 127.0f)\n"
    "            q[i] = 127;\n"
    "        else if (v <= -127.0f)\n"
    "            q[i] = -127;\n"
    "        else if (v >= 0.0f)\n"
    "            q[i] = (int8_t)(int)(v + 0.5f);\n"
    "        else if (v < 0.0f)\n"
    "            q[i] = (int8_t)-(int)(0.5f - v);\n"
    "        else\n"
    "            q[i] = 0;\n"
    "    }\n"
    "    return m / 127.0f;\n"
    "}\n\n";

static float plan_quantize(const float *x, int n, int8_t *q)
{
    float m = 0.0f, inv;

    for (int i = 0; i < n; i++) {
        float a = x[i] < 0.0f ? -x[i] : x[i];
        if (a > m)
            m = a;
    }
    inv = m > 0.0f ? 127.0f / m : 0.0f;
    for (int i = 0; i < n; i++) {
        float v = x[i] * inv;
        if (v >= 127.0f)
            q[i] = 127;
        else if (v <= -127.0f)
            q[i] = -127;
        else if (v >= 0.0f)
            q[i] = (int8_t)(int)(v + 0.5f);
        else if (v < 0.0f)
            q[i] = (int8_t)-(int)(0.5f - v);
        else
            q[i] = 0;
    }
    return m / 127.0f;
}

static const char c_linear8[] =
    "/* y[o] = b[o] + (sum_i q[o][i] xq[i]) * s[o] * sx, the sum in int32 (it cannot\n"
    " * overflow: n_in <= (2^31 - 1) / 127^2). q: [n_out, n_in], xq: [n_in]. */\n"
    "static void %s_linear8(const int8_t *q, const float *s, const float *b,\n"
    "                       const int8_t *xq, float sx, int n_in, int n_out, float *y)\n"
    "{\n"
    "    int o, i;\n"
    "\n"
    "    for (o = 0; o < n_out; o++) {\n"
    "        const int8_t *row = q + (long)o * n_in;\n"
    "        int32_t acc = 0;\n"
    "        for (i = 0; i < n_in; i++)\n"
    "            acc += (int32_t)row[i] * xq[i];\n"
    "        y[o] = b[o] + (float)acc * (s[o] * sx);\n"
    "    }\n"
    "}\n\n";

static void plan_linear8(const int8_t *q, const float *s, const float *b, const int8_t *xq,
                         float sx, int n_in, int n_out, float *y)
{
    for (int o = 0; o < n_out; o++) {
        const int8_t *row = q + (long)o * n_in;
        int32_t acc = 0;
        for (int i = 0; i < n_in; i++)
            acc += (int32_t)row[i] * xq[i];
        y[o] = b[o] + (float)acc * (s[o] * sx);
    }
}

/* The activations: the expressions of autograd/activation.c, in float. */
static const char *const c_act[] = {
    [CG_ACT_RELU] = "static void %s_relu(float *y, int n)\n{\n    int i;\n\n"
                    "    for (i = 0; i < n; i++)\n"
                    "        y[i] = y[i] > 0.0f ? y[i] : 0.0f;\n}\n\n",
    [CG_ACT_LEAKY_RELU] = "static void %s_leaky_relu(float *y, int n, float slope)\n{\n"
                          "    int i;\n\n    for (i = 0; i < n; i++)\n"
                          "        y[i] = y[i] > 0.0f ? y[i] : slope * y[i];\n}\n\n",
    [CG_ACT_SIGMOID] = "static void %s_sigmoid(float *y, int n)\n{\n    int i;\n\n"
                       "    for (i = 0; i < n; i++)\n"
                       "        y[i] = 1.0f / (1.0f + expf(-y[i]));\n}\n\n",
    [CG_ACT_TANH] = "static void %s_tanh(float *y, int n)\n{\n    int i;\n\n"
                    "    for (i = 0; i < n; i++)\n        y[i] = tanhf(y[i]);\n}\n\n",
    [CG_ACT_SOFTMAX] =
        "/* y = exp(y - max y) / sum exp(y - max y): the max subtracted, so no exp\n"
        " * overflows and the sum is at least 1 (as the library's softmax). */\n"
        "static void %s_softmax(float *y, int n)\n{\n"
        "    float m = y[0], s = 0.0f;\n    int i;\n\n"
        "    for (i = 1; i < n; i++)\n        if (y[i] > m)\n            m = y[i];\n"
        "    for (i = 0; i < n; i++) {\n        y[i] = expf(y[i] - m);\n        s += y[i];\n"
        "    }\n    for (i = 0; i < n; i++)\n        y[i] /= s;\n}\n\n",
};

static void plan_act(float *y, int n, enum cg_act act, float slope)
{
    float m = y[0], s = 0.0f;

    switch (act) {
    case CG_ACT_RELU:
        for (int i = 0; i < n; i++)
            y[i] = y[i] > 0.0f ? y[i] : 0.0f;
        break;
    case CG_ACT_LEAKY_RELU:
        for (int i = 0; i < n; i++)
            y[i] = y[i] > 0.0f ? y[i] : slope * y[i];
        break;
    case CG_ACT_SIGMOID:
        for (int i = 0; i < n; i++)
            y[i] = 1.0f / (1.0f + expf(-y[i]));
        break;
    case CG_ACT_TANH:
        for (int i = 0; i < n; i++)
            y[i] = tanhf(y[i]);
        break;
    case CG_ACT_SOFTMAX:
        for (int i = 1; i < n; i++)
            if (y[i] > m)
                m = y[i];
        for (int i = 0; i < n; i++) {
            y[i] = expf(y[i] - m);
            s += y[i];
        }
        for (int i = 0; i < n; i++)
            y[i] /= s;
        break;
    case CG_ACT_NONE:
        break;
    }
}

/* One row through the plan, as NAME_predict does it: x: [in] -> out: [out].
 * a, b: [width], q: [width] scratch. */
static int plan_predict(const struct plan *p, const float *x, float *out, float *a, float *b,
                        int8_t *q)
{
    int best = 0;

    for (int i = 0; i < p->in; i++)
        a[i] = p->off ? (x[i] - p->off[i]) * p->scale[i] : x[i];
    for (int k = 0; k < p->n_layers; k++) {
        const struct layer *L = &p->layer[k];
        float *src = k % 2 ? b : a, *dst = k + 1 == p->n_layers ? out : (k % 2 ? a : b);
        if (p->int8)
            plan_linear8(L->q, L->s, L->b, q, plan_quantize(src, L->in, q), L->in, L->out, dst);
        else
            plan_linear(L->w, L->b, src, L->in, L->out, dst);
        plan_act(dst, L->out, L->act, L->slope);
    }
    if (!p->classify)
        return 0;
    plan_act(out, p->out, CG_ACT_SOFTMAX, 0);
    for (int i = 1; i < p->out; i++)
        if (out[i] > out[best])
            best = i;
    return best;
}

cg_status cg_model_export_eval(const cg_model *m, const struct cg_export_options *o,
                               const cg_float *x, size_t rows, cg_float *out, int *top)
{
    struct plan p;
    float *buf = NULL;
    int8_t *q = NULL;
    cg_status st = plan_build(&p, m, o);
    size_t w, in, nout;

    if (st == CG_OK && rows && (!x || !out))
        st = cg__fail(CG_ERR_ARG, "cg_model_export_eval: NULL x or out");
    if (st != CG_OK)
        goto out;
    w = (size_t)p.width;
    in = (size_t)p.in;
    nout = (size_t)p.out;
    if (!(buf = cg__calloc(2 * w + in + nout, sizeof *buf)) || !(q = cg__calloc(w, 1))) {
        st = CG_ERR_NOMEM;
        goto out;
    }
    for (size_t r = 0; r < rows; r++) {
        float *xr = buf + 2 * w, *yr = xr + in;
        int t;
        for (size_t i = 0; i < in; i++)
            xr[i] = (float)x[r * in + i];
        t = plan_predict(&p, xr, yr, buf, buf + w, q);
        for (size_t i = 0; i < nout; i++)
            out[r * nout + i] = (cg_float)yr[i];
        if (top)
            top[r] = t;
    }
out:
    cg__free(buf);
    cg__free(q);
    plan_free(&p);
    return st;
}

/* ---- writing C ----------------------------------------------------------------- */

/* A file name for a comment: its last part, every byte that is not a
 * letter, digit, '.', '-' or '_' as '_' (so nothing ends the comment, splices
 * a line through a trigraph, or is not ASCII). */
static void put_source(FILE *f, const char *path)
{
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;

    for (int i = 0; base[i] && i < 64; i++) {
        char c = base[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '-' || c == '_';
        fputc(ok ? c : '_', f);
    }
}

/* s as a C string literal: printable ASCII as is (", \ and ? escaped, the
 * last against trigraphs), every other byte as a 3-digit octal escape. */
static void put_c_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if (*c == '"' || *c == '\\' || *c == '?')
            fprintf(f, "\\%c", *c);
        else if (*c >= 0x20 && *c < 0x7f)
            fputc(*c, f);
        else
            fprintf(f, "\\%03o", *c);
    }
    fputc('"', f);
}

/* A float literal that reads back as exactly v ("1.5f", "-3.0f", "1e-05f"). */
static void put_float(FILE *f, float v)
{
    char num[32];

    snprintf(num, sizeof num, "%.9g", (double)v);
    fprintf(f, "%s%sf", num, strpbrk(num, ".e") ? "" : ".0");
}

static void put_floats(FILE *f, const char *name, const char *what, const float *v, size_t n)
{
    fprintf(f, "static const float %s_%s[%zu] = {", name, what, n);
    for (size_t i = 0; i < n; i++) {
        fputs(i % 6 ? ", " : i ? ",\n    " : "\n    ", f);
        put_float(f, v[i]);
    }
    fputs("\n};\n", f);
}

static void put_int8s(FILE *f, const char *name, const char *what, const int8_t *v, size_t n)
{
    fprintf(f, "static const int8_t %s_%s[%zu] = {", name, what, n);
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%s%d", i % 16 ? ", " : i ? ",\n    " : "\n    ", v[i]);
    fputs("\n};\n", f);
}

/* The opening comment of both files: what the model is and how to call it. */
static void put_about(FILE *f, const struct plan *p, const char *file)
{
    const struct cg_export_options *o = p->o;

    fputs("/*\n * ", f);
    put_source(f, file);
    fprintf(f, ": generated by cgrad %s (`cgrad export`)", CG_VERSION);
    if (o->source) {
        fputs(" from ", f);
        put_source(f, o->source);
    }
    fprintf(f, ".\n * Do not edit: export the model again.\n *\n"
               " *     int %s_predict(const float *x, float *out);\n *\n"
               " * x: [%d] the raw feature row, as `cgrad predict` reads it (the model's\n"
               " * normalization is applied here%s); out: [%d] ",
            p->name, p->in, p->off ? "" : ": it has none", p->out);
    if (p->classify)
        fputs("the class probabilities\n * (softmax); returns the most probable class "
              "(the first on ties).\n", f);
    else
        fputs("the regression outputs;\n * returns 0.\n", f);
    fprintf(f, " * Layers %d", p->in);
    for (int k = 0; k < p->n_layers; k++)
        fprintf(f, "-%d", p->layer[k].out);
    fprintf(f, ", %s weights%s. C99, no allocation, no mutable\n"
               " * global state (any number of threads may call it at once), nothing\n"
               " * beyond <math.h>%s. Stack: at most %zu bytes.\n */\n",
            p->int8 ? "int8" : "float",
            p->int8 ? " (per-row scales; each layer's input quantized\n * per vector at "
                      "run time, sums in int32)" : "",
            p->int8 ? " and <stdint.h>" : "", plan_stack(p));
}

static void put_layer_data(FILE *f, const struct plan *p, int k)
{
    const struct layer *L = &p->layer[k];
    size_t n = (size_t)L->in * (size_t)L->out;
    char what[16];

    fprintf(f, "\n/* layer %d: %d -> %d; %s, b%d: [%d] */\n", k, L->in, L->out,
            p->int8 ? "w: [out, in] int8, s: [out] its row scales"
                    : "w: [in, out], the weights transposed", k, L->out);
    snprintf(what, sizeof what, "w%d", k);
    if (p->int8) {
        put_int8s(f, p->name, what, L->q, n);
        snprintf(what, sizeof what, "s%d", k);
        put_floats(f, p->name, what, L->s, (size_t)L->out);
    } else {
        put_floats(f, p->name, what, L->w, n);
    }
    snprintf(what, sizeof what, "b%d", k);
    put_floats(f, p->name, what, L->b, (size_t)L->out);
}

/* The helpers the model uses, each once. */
static void put_helpers(FILE *f, const struct plan *p)
{
    bool used[CG_ACT_SOFTMAX + 1] = {false};

    fprintf(f, p->int8 ? c_quantize : c_linear, p->name);
    if (p->int8)
        fprintf(f, c_linear8, p->name);
    for (int k = 0; k < p->n_layers; k++)
        used[p->layer[k].act] = true;
    used[CG_ACT_SOFTMAX] |= p->classify;
    for (int a = CG_ACT_RELU; a <= CG_ACT_SOFTMAX; a++)
        if (used[a])
            fprintf(f, c_act[a], p->name);
}

static const char *const act_fn[] = {
    [CG_ACT_NONE] = NULL, [CG_ACT_RELU] = "relu", [CG_ACT_LEAKY_RELU] = "leaky_relu",
    [CG_ACT_SIGMOID] = "sigmoid", [CG_ACT_TANH] = "tanh", [CG_ACT_SOFTMAX] = "softmax"
};

/* One layer's call and its activation's, in NAME_predict. */
static void put_layer_call(FILE *f, const struct plan *p, int k)
{
    const struct layer *L = &p->layer[k];
    const char *src = k % 2 ? "b" : "a";
    const char *dst = k + 1 == p->n_layers ? "out" : (k % 2 ? "a" : "b");
    const char *n = p->name;

    if (p->int8)
        fprintf(f, "    sx = %s_quantize(%s, %d, q);\n"
                   "    %s_linear8(%s_w%d, %s_s%d, %s_b%d, q, sx, %d, %d, %s);\n",
                n, src, L->in, n, n, k, n, k, n, k, L->in, L->out, dst);
    else
        fprintf(f, "    %s_linear(%s_w%d, %s_b%d, %s, %d, %d, %s);\n", n, n, k, n, k, src,
                L->in, L->out, dst);
    if (L->act == CG_ACT_LEAKY_RELU) {
        fprintf(f, "    %s_leaky_relu(%s, %d, ", n, dst, L->out);
        put_float(f, L->slope);
        fputs(");\n", f);
    } else if (L->act != CG_ACT_NONE) {
        fprintf(f, "    %s_%s(%s, %d);\n", n, act_fn[L->act], dst, L->out);
    }
}

static void put_predict(FILE *f, const struct plan *p)
{
    fprintf(f, "int %s_predict(const float *x, float *out)\n{\n    float a[%d];\n", p->name,
            p->width);
    if (p->hidden)
        fprintf(f, "    float b[%d];\n", p->width);
    if (p->int8)
        fprintf(f, "    int8_t q[%d];\n    float sx;\n", p->width);
    fprintf(f, "    int i%s;\n\n    for (i = 0; i < %d; i++)\n", p->classify ? ", best = 0" : "",
            p->in);
    if (p->off)
        fprintf(f, "        a[i] = (x[i] - %s_offset[i]) * %s_scale[i];\n", p->name, p->name);
    else
        fputs("        a[i] = x[i];\n", f);
    for (int k = 0; k < p->n_layers; k++)
        put_layer_call(f, p, k);
    if (!p->classify) {
        fputs("    return 0;\n}\n", f);
        return;
    }
    fprintf(f, "    %s_softmax(out, %d);\n    for (i = 1; i < %d; i++)\n"
               "        if (out[i] > out[best])\n            best = i;\n    return best;\n}\n",
            p->name, p->out, p->out);
}

/* A switch, not an array of pointers: nothing to relocate, all read-only. */
static void put_class_names(FILE *f, const struct plan *p)
{
    const struct cg_export_options *o = p->o;

    if (!o->n_classes)
        return;
    fprintf(f, "\n/* The name of class c, or a null pointer outside [0, %d). */\n"
               "const char *%s_class_name(int c)\n{\n    switch (c) {\n",
            o->n_classes, p->name);
    for (int c = 0; c < o->n_classes; c++) {
        fprintf(f, "    case %d: return ", c);
        put_c_string(f, o->classes[c]);
        fputs(";\n", f);
    }
    fputs("    default: return 0;\n    }\n}\n", f);
}

struct c_file {
    const struct plan *p;
    const char        *file;    /* its name, for the comment */
    size_t             bytes;   /* written */
};

static cg_status write_c(FILE *f, void *ctx)
{
    struct c_file *c = ctx;
    const struct plan *p = c->p;

    put_about(f, p, c->file);
    fprintf(f, "#include <math.h>\n%s", p->int8 ? "#include <stdint.h>\n" : "");
    if (plan_widest(p) > 32767)   /* sizes are ints: 16 bits would not hold them */
        fprintf(f, "#include <limits.h>\n#if INT_MAX < %d\n#error \"a layer has %d units: "
                   "this file needs an int of at least 32 bits\"\n#endif\n",
                plan_widest(p), plan_widest(p));
    fprintf(f, "\nint %s_predict(const float *x, float *out);\n", p->name);
    if (p->o->n_classes)
        fprintf(f, "const char *%s_class_name(int c);\n", p->name);
    fputs("\n", f);
    if (p->off) {
        put_floats(f, p->name, "offset", p->off, (size_t)p->in);
        put_floats(f, p->name, "scale", p->scale, (size_t)p->in);
    }
    for (int k = 0; k < p->n_layers; k++)
        put_layer_data(f, p, k);
    fputs("\n", f);
    put_helpers(f, p);
    put_predict(f, p);
    put_class_names(f, p);
    c->bytes = (size_t)ftell(f);
    return ferror(f) ? cg__fail(CG_ERR_IO, "cannot write") : CG_OK;
}

static cg_status write_h(FILE *f, void *ctx)
{
    struct c_file *c = ctx;
    const struct plan *p = c->p;
    char up[CG_EXPORT_NAME_MAX + 1];

    for (size_t i = 0; i <= strlen(p->name); i++)
        up[i] = p->name[i] >= 'a' && p->name[i] <= 'z' ? (char)(p->name[i] - 'a' + 'A')
                                                       : p->name[i];
    put_about(f, p, c->file);
    fprintf(f, "#ifndef CGRAD_EXPORT_%s_H\n#define CGRAD_EXPORT_%s_H\n\n"
               "#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n"
               "#define %s_INPUTS %d       /* floats x points to */\n"
               "#define %s_OUTPUTS %d      /* floats out points to */\n"
               "#define %s_STACK_BYTES %zu /* a bound on %s_predict's stack */\n\n"
               "/* out = the model's %s for the raw features x; returns %s. */\n"
               "int %s_predict(const float *x, float *out);\n",
            up, up, up, p->in, up, p->out, up, plan_stack(p), p->name,
            p->classify ? "class probabilities" : "outputs",
            p->classify ? "the top class" : "0", p->name);
    if (p->o->n_classes)
        fprintf(f, "/* The name of class c, or a null pointer outside [0, %s_OUTPUTS). */\n"
                   "const char *%s_class_name(int c);\n", up, p->name);
    fputs("\n#ifdef __cplusplus\n}\n#endif\n\n#endif\n", f);
    c->bytes = (size_t)ftell(f);
    return ferror(f) ? cg__fail(CG_ERR_IO, "cannot write") : CG_OK;
}

static size_t plan_weight_bytes(const struct plan *p)
{
    size_t n = p->off ? 2 * sizeof(float) * (size_t)p->in : 0;

    for (int k = 0; k < p->n_layers; k++) {
        size_t w = (size_t)p->layer[k].in * (size_t)p->layer[k].out, o = (size_t)p->layer[k].out;
        n += p->int8 ? w + 2 * sizeof(float) * o : (w + o) * sizeof(float);
    }
    return n;
}

static const char *base_name(const char *path)
{
    return strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
}

cg_status cg_model_export_c(const cg_model *m, const char *path,
                            const struct cg_export_options *o, struct cg_export_report *r)
{
    struct plan p;
    struct c_file c = {&p, NULL, 0}, h = {&p, NULL, 0};
    cg_status st;

    if (!path || !path[0])
        return cg__fail(CG_ERR_ARG, "cg_model_export_c: no path");
    if (o && o->header && strcmp(o->header, path) == 0)
        return cg__fail(CG_ERR_ARG, "%s: the header and the C file are the same file", path);
    if ((st = plan_build(&p, m, o)) != CG_OK)
        goto out;
    c.file = base_name(path);
    if ((st = cg__write_atomic(path, write_c, &c)) != CG_OK) {
        if (st != CG_ERR_NOMEM)
            cg__errmsg_prefix("%s", path);
        goto out;
    }
    if (o->header) {
        h.file = base_name(o->header);
        if ((st = cg__write_atomic(o->header, write_h, &h)) != CG_OK) {
            if (st != CG_ERR_NOMEM)
                cg__errmsg_prefix("%s", o->header);
            goto out;
        }
    }
    if (r)
        *r = (struct cg_export_report){c.bytes, h.bytes, plan_weight_bytes(&p),
                                       plan_stack(&p)};
out:
    plan_free(&p);
    return st;
}
