/*
 * Sequential models: modules in nn.Sequential order, parameters in flat
 * memory, replicas for worker threads, initialisation.
 *
 * All parameter data lives in ONE buffer and all gradients in another
 * (llm.c's malloc_and_point_parameters): each parameter is a cg_tensor
 * header in the model whose data and grad point into them, in state_dict
 * order, so zero_grad is one memset, an optimizer or a clip is one loop
 * over cg_model_flat(m), and a checkpoint is one write. A replica copies
 * the headers, points data at the original's buffer and grad at its own.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

#define MAX_MODULES (3 * CG_NN_MAX_LINEAR + 1)
#define MAX_PARAMS  (2 * CG_NN_MAX_LINEAR)

struct cg_model {
    struct cg_arch   arch;
    int              n_modules, n_params;
    struct cg_module modules[MAX_MODULES];
    struct cg_param  params[MAX_PARAMS];
    cg_tensor        tensors[MAX_PARAMS];   /* the headers params[] point to */
    cg_tensor        flat;                  /* [P] over data, grad over grads */
    cg_float        *data, *grad;           /* P elements each */
    bool             owns_data;             /* false for a replica */
};

/* ---- construction ------------------------------------------------------------------ */

static void add_module(cg_model *m, enum cg_module_kind kind, int in, int out,
                       enum cg_act act, double arg)
{
    struct cg_module *mod = &m->modules[m->n_modules];

    memset(mod, 0, sizeof *mod);
    mod->kind = kind;
    mod->index = m->n_modules++;
    mod->in = in;
    mod->out = out;
    mod->act = act;
    mod->arg = arg;
}

/* The module list of the arch (see the index layout in nn.h). */
static void build_modules(cg_model *m)
{
    const struct cg_arch *a = &m->arch;

    for (int k = 0; k + 1 < a->n_sizes; k++) {
        int in = a->sizes[k], out = a->sizes[k + 1];
        add_module(m, CG_MOD_LINEAR, in, out, CG_ACT_NONE, 0);
        if (k + 2 < a->n_sizes) {
            add_module(m, CG_MOD_ACT, out, out, a->act,
                       a->act == CG_ACT_LEAKY_RELU ? a->slope : 0);
            if (a->dropout > 0)
                add_module(m, CG_MOD_DROPOUT, out, out, CG_ACT_NONE, a->dropout);
        } else if (a->out != CG_ACT_NONE) {
            add_module(m, CG_MOD_ACT, out, out, a->out, 0);
        }
    }
}

/* Point the parameter headers into data/grad, in state_dict order. */
static void point_params(cg_model *m, size_t total)
{
    size_t at = 0;

    m->n_params = 0;
    for (int i = 0; i < m->n_modules; i++) {
        struct cg_module *mod = &m->modules[i];
        if (mod->kind != CG_MOD_LINEAR)
            continue;
        for (int b = 0; b < 2; b++) {
            struct cg_param *p = &m->params[m->n_params];
            cg_tensor *t = &m->tensors[m->n_params++];
            if (b == 0)
                cg_tensor_init(t, m->data + at, 2, (int[]){mod->out, mod->in});
            else
                cg_tensor_init(t, m->data + at, 1, (int[]){mod->out});
            t->grad = m->grad + at;
            t->flags = CG_TENSOR_REQUIRES_GRAD;
            at += t->size;
            snprintf(p->name, sizeof p->name, "%d.%s", mod->index, b ? "bias" : "weight");
            p->tensor = t;
            if (b == 0)
                mod->weight = t;
            else
                mod->bias = t;
        }
    }
    cg_tensor_init(&m->flat, m->data, 1, (int[]){(int)total});
    m->flat.grad = m->grad;
    m->flat.flags = CG_TENSOR_REQUIRES_GRAD;
}

/* The number of parameter elements of an arch, overflow-checked. */
static cg_status count_params(const struct cg_arch *a, size_t *total)
{
    size_t n = 0, w;

    for (int k = 0; k + 1 < a->n_sizes; k++)
        if (!cg__mul_size((size_t)a->sizes[k] + 1, (size_t)a->sizes[k + 1], &w) ||
            !cg__add_size(n, w, &n))
            return cg__fail(CG_ERR_ARG, "the model's parameter count overflows");
    if (n > (size_t)INT32_MAX)
        return cg__fail(CG_ERR_ARG, "the model has %zu parameters, more than %d", n,
                        INT32_MAX);
    *total = n;
    return CG_OK;
}

cg_model *cg_model_new(const struct cg_arch *arch)
{
    cg_model *m;
    size_t total = 0;

    if (cg_arch_check(arch) != CG_OK || count_params(arch, &total) != CG_OK)
        return NULL;
    if (!(m = cg__calloc(1, sizeof *m)))
        return NULL;
    m->arch = *arch;
    if (m->arch.act != CG_ACT_LEAKY_RELU)
        m->arch.slope = 0.01;   /* unused: keep it canonical, as a parse gives */
    m->owns_data = true;
    if (!(m->data = cg__calloc(total, sizeof(cg_float))) ||
        !(m->grad = cg__calloc(total, sizeof(cg_float)))) {
        cg_model_free(m);
        return NULL;
    }
    build_modules(m);
    point_params(m, total);
    return m;
}

cg_model *cg_model_from_spec(const char *spec)
{
    struct cg_arch a;

    if (cg_arch_parse(&a, spec) != CG_OK)
        return NULL;
    return cg_model_new(&a);
}

cg_model *cg_model_replica_new(const cg_model *src)
{
    cg_model *m;

    if (!src)
        return cg__fail_null(CG_ERR_ARG, "cg_model_replica_new: model is NULL");
    if (!(m = cg__malloc(sizeof *m)))
        return NULL;
    memcpy(m, src, sizeof *m);
    m->owns_data = false;
    if (!(m->grad = cg__calloc(src->flat.size, sizeof(cg_float)))) {
        cg__free(m);
        return NULL;
    }
    /* Headers only: the modules and params point to the copy's tensors. */
    m->n_modules = 0;
    build_modules(m);
    point_params(m, src->flat.size);
    return m;
}

void cg_model_free(cg_model *m)
{
    if (!m)
        return;
    if (m->owns_data)
        cg__free(m->data);
    cg__free(m->grad);
    cg__free(m);
}

/* ---- queries ------------------------------------------------------------------------- */

const struct cg_arch *cg_model_arch(const cg_model *m)
{
    return m ? &m->arch : NULL;
}

cg_status cg_model_spec(const cg_model *m, char *buf, size_t n)
{
    if (!m)
        return cg__fail(CG_ERR_ARG, "cg_model_spec: model is NULL");
    return cg_arch_print(&m->arch, buf, n);
}

int cg_model_input_size(const cg_model *m)
{
    return m ? m->arch.sizes[0] : 0;
}

int cg_model_output_size(const cg_model *m)
{
    return m ? m->arch.sizes[m->arch.n_sizes - 1] : 0;
}

const struct cg_module *cg_model_modules(const cg_model *m, int *n)
{
    if (n)
        *n = m ? m->n_modules : 0;
    return m ? m->modules : NULL;
}

const struct cg_param *cg_model_params(const cg_model *m, int *n)
{
    if (n)
        *n = m ? m->n_params : 0;
    return m ? m->params : NULL;
}

cg_tensor *cg_model_param(const cg_model *m, const char *name)
{
    for (int i = 0; m && name && i < m->n_params; i++)
        if (strcmp(m->params[i].name, name) == 0)
            return m->params[i].tensor;
    return NULL;
}

cg_tensor *cg_model_flat(cg_model *m)
{
    return m ? &m->flat : NULL;
}

size_t cg_model_num_params(const cg_model *m)
{
    return m ? m->flat.size : 0;
}

void cg_model_zero_grad(cg_model *m)
{
    if (m && m->flat.size)
        memset(m->grad, 0, m->flat.size * sizeof(cg_float));
}

/* ---- initialisation -------------------------------------------------------------------
 * References: torch.nn.Linear.reset_parameters (kaiming_uniform_(a=sqrt(5))
 * on the weight, i.e. bound = gain * sqrt(3 / fan_in) with
 * gain = sqrt(2 / (1 + 5)), which is 1/sqrt(fan_in); the bias
 * U(-1/sqrt(fan_in), 1/sqrt(fan_in))); torch.nn.init.xavier_uniform_,
 * xavier_normal_ (gain 1), kaiming_uniform_, kaiming_normal_
 * (nonlinearity='relu', mode='fan_in': gain sqrt(2)). */

static const char *const init_names[] = {
    "default", "xavier_uniform", "xavier_normal", "kaiming_uniform", "kaiming_normal"
};

const char *cg_init_name(enum cg_init kind)
{
    return (unsigned)kind <= CG_INIT_KAIMING_NORMAL ? init_names[kind] : "?";
}

cg_status cg_init_parse(const char *name, enum cg_init *kind)
{
    for (int i = 0; name && i <= CG_INIT_KAIMING_NORMAL; i++) {
        if (strcmp(name, init_names[i]) == 0) {
            *kind = (enum cg_init)i;
            return CG_OK;
        }
    }
    return cg__fail(CG_ERR_ARG, "unknown init \"%s\" (default, xavier_uniform, "
                    "xavier_normal, kaiming_uniform, kaiming_normal)", name ? name : "");
}

static void init_linear(const struct cg_module *mod, enum cg_init kind, cg_rng *rng)
{
    double fan_in = mod->in, fan_out = mod->out, b;

    switch (kind) {
    case CG_INIT_DEFAULT:
        b = 1.0 / sqrt(fan_in);
        cg_tensor_rand_uniform(mod->weight, rng, (cg_float)-b, (cg_float)b);
        cg_tensor_rand_uniform(mod->bias, rng, (cg_float)-b, (cg_float)b);
        return;
    case CG_INIT_XAVIER_UNIFORM:
        b = sqrt(6.0 / (fan_in + fan_out));
        cg_tensor_rand_uniform(mod->weight, rng, (cg_float)-b, (cg_float)b);
        break;
    case CG_INIT_XAVIER_NORMAL:
        cg_tensor_rand_normal(mod->weight, rng, 0, (cg_float)sqrt(2.0 / (fan_in + fan_out)));
        break;
    case CG_INIT_KAIMING_UNIFORM:
        b = sqrt(6.0 / fan_in);
        cg_tensor_rand_uniform(mod->weight, rng, (cg_float)-b, (cg_float)b);
        break;
    case CG_INIT_KAIMING_NORMAL:
        cg_tensor_rand_normal(mod->weight, rng, 0, (cg_float)sqrt(2.0 / fan_in));
        break;
    }
    cg_tensor_fill(mod->bias, 0);
}

cg_status cg_model_init(cg_model *m, enum cg_init kind, cg_rng *rng)
{
    if (!m || !rng)
        return cg__fail(CG_ERR_ARG, "cg_model_init: NULL model or generator");
    if ((unsigned)kind > CG_INIT_KAIMING_NORMAL)
        return cg__fail(CG_ERR_ARG, "cg_model_init: unknown init kind %d", (int)kind);
    if (!m->owns_data)
        return cg__fail(CG_ERR_STATE, "cg_model_init: a replica's parameters are read-only");
    for (int i = 0; i < m->n_modules; i++)
        if (m->modules[i].kind == CG_MOD_LINEAR)
            init_linear(&m->modules[i], kind, rng);
    cg_model_zero_grad(m);
    return CG_OK;
}
