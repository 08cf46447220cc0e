/*
 * The graph: its arena, leaves, the node list, cg_backward and the custom-op
 * API that every op of the library is built on.
 *
 * Memory: every intermediate tensor, node, saved context and intermediate
 * gradient of a step comes from g->arena; cg_graph_reset rewinds it in O(1).
 * A step that repeats the same ops therefore stops calling malloc once the
 * arena has reached its high-water mark.
 *
 * Nothing here (or in any backward function) touches global or static
 * mutable state: a backward reads the tensor headers it was given and the
 * graph's arena, so several graphs can run on separate threads, each with
 * its own parameter headers (shared data, separate grad buffers).
 */
#include <string.h>

#include "internal.h"

struct cg_graph {
    cg_arena       *arena;
    struct cg_node *last;          /* the newest node; its prev chain is the graph */
    bool            training;
    bool            grad_enabled;
    bool            backward_done; /* cg_backward ran since the last reset */
    bool            defer_param_grads;
    const struct cg__deferred_grad *deferred; /* the last deferred, in backward order */
};

/* ---- the graph ---------------------------------------------------------- */

cg_graph *cg_graph_new(void)
{
    cg_graph *g = cg__calloc(1, sizeof *g);

    if (!g)
        return NULL;
    g->arena = cg_arena_new();
    if (!g->arena) {
        cg__free(g);
        return NULL;
    }
    g->training = true;
    g->grad_enabled = true;
    return g;
}

void cg_graph_free(cg_graph *g)
{
    if (!g)
        return;
    cg_arena_free(g->arena);
    cg__free(g);
}

void cg_graph_reset(cg_graph *g)
{
    if (!g)
        return;
    cg_arena_reset(g->arena);
    g->last = NULL;
    g->backward_done = false;
    g->deferred = NULL;
}

void cg__graph_defer_param_grads(cg_graph *g, bool defer)
{
    g->defer_param_grads = defer;
}

const struct cg__deferred_grad *cg__graph_deferred(const cg_graph *g)
{
    return g->deferred;
}

struct cg_arena_stats cg_graph_stats(const cg_graph *g)
{
    return cg_arena_stats(g ? g->arena : NULL);
}

cg_arena *cg_graph_arena(cg_graph *g)
{
    return g ? g->arena : NULL;
}

void cg_graph_set_training(cg_graph *g, bool training)
{
    if (g)
        g->training = training;
}

bool cg_graph_training(const cg_graph *g)
{
    return g && g->training;
}

void cg_graph_set_grad(cg_graph *g, bool enabled)
{
    if (g)
        g->grad_enabled = enabled;
}

bool cg_graph_grad_enabled(const cg_graph *g)
{
    return g && g->grad_enabled;
}

/* ---- leaves ------------------------------------------------------------- */

cg_tensor *cg_param_new(int ndim, const int *shape)
{
    cg_tensor *t = cg_tensor_new(ndim, shape);

    if (!t)
        return NULL;
    t->grad = cg__calloc(t->size ? t->size : 1, sizeof(cg_float));
    if (!t->grad) {
        cg_tensor_free(t);
        return NULL;
    }
    t->flags |= CG_TENSOR_REQUIRES_GRAD | CG_TENSOR_OWNS_GRAD;
    return t;
}

cg_tensor *cg_graph_tensor(cg_graph *g, int ndim, const int *shape)
{
    if (!g)
        return cg__fail_null(CG_ERR_ARG, "cg_graph_tensor: graph is NULL");
    return cg_tensor_new_in(g->arena, ndim, shape);
}

/* An arena header over `data`, or over new uninitialised arena data when
 * data is NULL. */
static cg_tensor *arena_header(cg_graph *g, int ndim, const int *shape, cg_float *data)
{
    size_t size, bytes;
    cg_tensor *t;

    if (cg__shape_size(ndim, shape, &size) != CG_OK)
        return NULL;
    if (!cg__mul_size(size, sizeof(cg_float), &bytes))
        return cg__fail_null(CG_ERR_NOMEM, "tensor of %zu elements is too large", size);
    t = cg_arena_alloc(g->arena, sizeof *t);
    if (!t)
        return NULL;
    if (!data && !(data = cg_arena_alloc(g->arena, bytes)))
        return NULL;
    cg_tensor_init(t, data, ndim, shape);
    t->flags = CG_TENSOR_IN_ARENA;
    return t;
}

cg_tensor *cg__graph_tensor_raw(cg_graph *g, int ndim, const int *shape)
{
    return arena_header(g, ndim, shape, NULL);
}

cg_tensor *cg_graph_wrap(cg_graph *g, cg_float *data, int ndim, const int *shape)
{
    size_t size;

    if (!g)
        return cg__fail_null(CG_ERR_ARG, "cg_graph_wrap: graph is NULL");
    if (cg__shape_size(ndim, shape, &size) != CG_OK)
        return NULL;
    if (!data && size)
        return cg__fail_null(CG_ERR_ARG, "cg_graph_wrap: data is NULL");
    return arena_header(g, ndim, shape, data); /* data NULL (empty): allocates 0 bytes */
}

void cg_zero_grad(cg_tensor *t)
{
    if (t && t->grad && t->size)
        memset(t->grad, 0, t->size * sizeof(cg_float));
}

bool cg_requires_grad(const cg_tensor *t)
{
    return t && (t->flags & CG_TENSOR_REQUIRES_GRAD);
}

/* ---- nodes -------------------------------------------------------------- */

static size_t align_up(size_t n)
{
    return (n + (CG_ALIGN - 1)) & ~(size_t)(CG_ALIGN - 1);
}

static bool any_requires_grad(const cg_graph *g, cg_tensor *const *inputs, int n)
{
    if (!g->grad_enabled)
        return false;
    for (int i = 0; i < n; i++)
        if (inputs[i] && (inputs[i]->flags & CG_TENSOR_REQUIRES_GRAD))
            return true;
    return false;
}

/* Output header, node and context in one arena block, data in a second.
 * With record false no node is made. */
static cg_tensor *new_output(cg_graph *g, const char *name, int ndim, const int *shape,
                             cg_float *data, cg_tensor *const *inputs, int n_inputs,
                             cg_backward_fn backward, size_t ctx_bytes, bool record)
{
    size_t head = align_up(sizeof(cg_tensor)), node_bytes = align_up(sizeof(struct cg_node));
    size_t bytes;
    unsigned char *block;
    struct cg_node *node;
    cg_tensor *t;

    if (!record)
        return arena_header(g, ndim, shape, data);
    if (!cg__add_size(head + node_bytes, ctx_bytes, &bytes))
        return cg__fail_null(CG_ERR_NOMEM, "%s: context of %zu bytes is too large", name,
                             ctx_bytes);
    t = arena_header(g, ndim, shape, data);
    block = t ? cg_arena_alloc(g->arena, bytes) : NULL;
    if (!block)
        return NULL;
    node = (struct cg_node *)(block + head);
    memset(node, 0, sizeof *node);
    node->prev = g->last;
    node->name = name;
    node->backward = backward;
    node->out = t;
    for (int i = 0; i < n_inputs; i++)
        node->inputs[i] = inputs[i];
    node->n_inputs = n_inputs;
    node->graph = g;
    node->ctx = ctx_bytes ? block + head + node_bytes : NULL;
    g->last = node;
    t->node = node;
    return t;
}

cg_tensor *cg__op(cg_graph *g, const char *name, int ndim, const int *shape,
                  cg_tensor *const *inputs, int n_inputs, cg_backward_fn backward,
                  size_t ctx_bytes, void **ctx)
{
    return cg__op_view(g, name, ndim, shape, NULL, inputs, n_inputs, backward, ctx_bytes,
                       ctx);
}

cg_tensor *cg__op_view(cg_graph *g, const char *name, int ndim, const int *shape,
                       cg_float *data, cg_tensor *const *inputs, int n_inputs,
                       cg_backward_fn backward, size_t ctx_bytes, void **ctx)
{
    bool grad = any_requires_grad(g, inputs, n_inputs);
    cg_tensor *t = new_output(g, name, ndim, shape, data, inputs, n_inputs, backward,
                              ctx_bytes, grad);

    *ctx = t && t->node ? t->node->ctx : NULL;
    if (t && grad)
        t->flags |= CG_TENSOR_REQUIRES_GRAD;
    return t;
}

const struct cg_node *cg__graph_last(const cg_graph *g)
{
    return g ? g->last : NULL;
}

cg_arena *cg__op_arena(const cg_tensor *out)
{
    return out->node->graph->arena;
}

/* Backward runs the ops newest first, so the last one deferred is the
 * first in the forward order: pushing each on the front keeps that order. */
bool cg__op_defer(const cg_tensor *out, struct cg__deferred_grad *slot)
{
    cg_graph *g = out->node->graph;

    if (!g->defer_param_grads || !slot)
        return false;
    slot->next = g->deferred;
    g->deferred = slot;
    return true;
}

cg_tensor *cg_op_new(cg_graph *g, const char *name, int ndim, const int *shape,
                     cg_tensor *const *inputs, int n_inputs, cg_backward_fn backward,
                     size_t ctx_bytes)
{
    char *copy;
    size_t len;
    cg_tensor *t;

    if (!g || !name || !backward)
        return cg__fail_null(CG_ERR_ARG, "cg_op_new: %s is NULL",
                             !g ? "graph" : !name ? "name" : "backward");
    if (n_inputs < 0 || n_inputs > CG_MAX_INPUTS || (n_inputs > 0 && !inputs))
        return cg__fail_null(CG_ERR_ARG, "cg_op_new: %s: %d inputs, must be 0 to %d "
                             "with a non-NULL array", name, n_inputs, CG_MAX_INPUTS);
    for (int i = 0; i < n_inputs; i++)
        if (!inputs[i])
            return NULL; /* an earlier op failed: keep its message */
    len = strlen(name) + 1;
    copy = cg_arena_alloc(g->arena, len);
    if (!copy)
        return NULL;
    memcpy(copy, name, len);
    /* Always a node, so that cg_op_ctx works even when nothing needs a
     * gradient; the output requires one only when an input does. */
    t = new_output(g, copy, ndim, shape, NULL, inputs, n_inputs, backward, ctx_bytes, true);
    if (!t)
        return NULL;
    memset(t->data, 0, t->size * sizeof(cg_float));
    if (ctx_bytes)
        memset(t->node->ctx, 0, ctx_bytes);
    if (any_requires_grad(g, inputs, n_inputs))
        t->flags |= CG_TENSOR_REQUIRES_GRAD;
    return t;
}

cg_tensor *cg_op_input(const cg_tensor *out, int i)
{
    if (!out || !out->node || i < 0 || i >= out->node->n_inputs)
        return NULL;
    return out->node->inputs[i];
}

void *cg_op_ctx(const cg_tensor *out)
{
    return out && out->node ? out->node->ctx : NULL;
}

const char *cg_op_name(const cg_tensor *t)
{
    return t && t->node ? t->node->name : NULL;
}

/* ---- backward ----------------------------------------------------------- */

static cg_float *arena_grad(cg_graph *g, cg_tensor *t)
{
    if (!t->grad)
        t->grad = cg_arena_calloc(g->arena, t->size ? t->size : 1, sizeof(cg_float));
    return t->grad;
}

/* Pass 1, newest node first: a reached node reaches the nodes of its inputs
 * that require a gradient. A node is visited only after every node created
 * later, so all its consumers have marked it by then. Gradients are made
 * (zeroed) for the reached intermediates and for arena leaves that require
 * one but have none; heap tensors keep the grad buffer they own. */
static cg_status mark_reached(cg_graph *g, struct cg_node *root)
{
    root->reached = true;
    for (struct cg_node *n = root; n; n = n->prev) {
        if (!n->reached)
            continue;
        if (!arena_grad(g, n->out))
            return cg_errcode();
        for (int i = 0; i < n->n_inputs; i++) {
            cg_tensor *t = n->inputs[i];
            if (!t || !(t->flags & CG_TENSOR_REQUIRES_GRAD))
                continue;
            if (t->node)
                t->node->reached = true;
            else if (!t->grad && (t->flags & CG_TENSOR_IN_ARENA) && !arena_grad(g, t))
                return cg_errcode();
        }
    }
    return CG_OK;
}

static void add_seed(cg_tensor *root, const cg_tensor *seed)
{
    if (!seed) {
        root->grad[0] += 1;
        return;
    }
    for (size_t i = 0; i < root->size; i++)
        root->grad[i] += seed->data[i];
}

static cg_status check_root(const cg_graph *g, const cg_tensor *root, const cg_tensor *seed)
{
    char sr[64], ss[64];

    if (g->backward_done)
        return cg__fail(CG_ERR_STATE, "cg_backward: already called on this graph; "
                        "cg_graph_reset it before the next backward");
    if (seed && seed->size != root->size)
        return cg__fail(CG_ERR_SHAPE, "cg_backward_seed: root is %s, seed is %s",
                        cg_shape_str(root, sr, sizeof sr), cg_shape_str(seed, ss, sizeof ss));
    if (!seed && root->size != 1)
        return cg__fail(CG_ERR_SHAPE, "cg_backward: root is %s, not a scalar; use "
                        "cg_backward_seed with a seed gradient of that shape",
                        cg_shape_str(root, sr, sizeof sr));
    if (!(root->flags & CG_TENSOR_REQUIRES_GRAD))
        return cg__fail(CG_ERR_ARG, "cg_backward: the root does not require a gradient "
                        "(no parameter reaches it, or gradients are off)");
    if (root->node && root->node->graph != g)
        return cg__fail(CG_ERR_ARG, "cg_backward: the root belongs to another graph");
    return CG_OK;
}

cg_status cg_backward_seed(cg_graph *g, cg_tensor *root, const cg_tensor *seed)
{
    cg_status st;

    if (!g)
        return cg__fail(CG_ERR_ARG, "cg_backward: graph is NULL");
    if (!root) /* an op before failed: report its error, keep its message */
        return cg_errcode() != CG_OK ? cg_errcode()
                                     : cg__fail(CG_ERR_ARG, "cg_backward: root is NULL");
    st = check_root(g, root, seed);
    if (st != CG_OK)
        return st;
    if (!root->node) { /* a leaf: its gradient is the seed */
        if (!root->grad && !arena_grad(g, root))
            return cg_errcode();
        add_seed(root, seed);
        g->backward_done = true;
        return CG_OK;
    }
    st = mark_reached(g, root->node);
    if (st != CG_OK)
        return st;
    add_seed(root, seed);
    /* Pass 2: nodes created after the root cannot lead to it. */
    for (struct cg_node *n = root->node; n; n = n->prev)
        if (n->reached)
            n->backward(n->out);
    g->backward_done = true;
    return CG_OK;
}

cg_status cg_backward(cg_graph *g, cg_tensor *root)
{
    return cg_backward_seed(g, root, NULL);
}
