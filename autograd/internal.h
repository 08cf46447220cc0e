/*
 * Internals of the autograd layer (prefix cg__), shared between its files.
 * Not installed.
 *
 * A graph is a singly linked list of nodes, newest first (node->prev is the
 * node made just before), all in the graph's arena: walking it from the
 * newest node is walking the ops in reverse order of creation, a topological
 * order for backward, and cg_graph_reset forgets it by forgetting its head.
 */
#ifndef CG_AUTOGRAD_INTERNAL_H
#define CG_AUTOGRAD_INTERNAL_H

#include <math.h>

#include "../tensor/internal.h"
#include "autograd.h"

struct cg_node {
    struct cg_node *prev;               /* the node created before this one */
    const char     *name;               /* "relu", ...: static or in the arena */
    cg_backward_fn  backward;
    cg_tensor      *out;                /* the tensor this op made */
    cg_tensor      *inputs[CG_MAX_INPUTS]; /* entries may be NULL (linear's bias) */
    int             n_inputs;
    bool            reached;            /* on a path to cg_backward's root */
    cg_graph       *graph;              /* for the arena, in backward */
    void           *ctx;                /* ctx_bytes saved by the forward pass */
};

/* A new arena tensor in g with uninitialised data (the op writes every
 * element), requiring no gradient. */
cg_tensor *cg__graph_tensor_raw(cg_graph *g, int ndim, const int *shape);

/* The output of an internal op, with uninitialised data. When the output
 * requires a gradient (gradients on and an input requires one) it is
 * recorded as a node with ctx_bytes of uninitialised context, returned in
 * *ctx; otherwise no node is made and *ctx is NULL: the op then saves
 * nothing. inputs may hold NULL entries (an absent bias). */
cg_tensor *cg__op(cg_graph *g, const char *name, int ndim, const int *shape,
                  cg_tensor *const *inputs, int n_inputs, cg_backward_fn backward,
                  size_t ctx_bytes, void **ctx);

/* The same, with out->data = data (not copied): a view of an input's data. */
cg_tensor *cg__op_view(cg_graph *g, const char *name, int ndim, const int *shape,
                       cg_float *data, cg_tensor *const *inputs, int n_inputs,
                       cg_backward_fn backward, size_t ctx_bytes, void **ctx);

/* A linear op's parameter gradients, left to the graph's owner instead of
 * added by backward (cg__graph_defer_param_grads): what dw += dy^T x and
 * db += column sums of dy need, valid until the graph is reset. Lives in
 * the op's context, so deferring allocates nothing in backward. */
struct cg__deferred_grad {
    const struct cg__deferred_grad *next;  /* the op before it in the forward order */
    const cg_tensor *x;    /* [B, I] the op's input */
    const cg_tensor *w;    /* [O, I] */
    const cg_tensor *b;    /* [O], or NULL */
    const cg_float  *dy;   /* [B, O] dL/d(x w^T + b) */
};

/* Linear's pieces, shared with the fused linear_act (arith.c): the shape
 * check (CG_ERR_SHAPE naming op and shapes), the forward into y: [B, O], and
 * the gradients from dL/dy: dx += dy w, and dw += dy^T x, db += column sums
 * unless the graph of out defers them (then they go into *slot). */
cg_status cg__linear_check(const char *op, const cg_tensor *x, const cg_tensor *w,
                           const cg_tensor *b);
void      cg__linear_forward(const cg_tensor *x, const cg_tensor *w, const cg_tensor *b,
                             cg_float *y);
void      cg__linear_grads(const cg_tensor *out, struct cg__deferred_grad *slot,
                           const cg_float *dy);
/* dw += dy^T x and db += column sums of dy for rows [o0, o1) of w and b
 * (dw and db: the gradients to add into, either may be NULL). */
void      cg__linear_param_grads(const struct cg__deferred_grad *d, int o0, int o1,
                                 cg_float *dw, cg_float *db);

/* With defer on, the backward pass of g leaves every linear op's parameter
 * gradients to the caller: cg__graph_deferred lists them, in the order of
 * the forward pass, until cg_graph_reset. The trainer (nn/trainer.c) uses
 * it to sum a batch's chunks' weight gradients over the whole batch, with
 * no gradient buffer per chunk. */
void      cg__graph_defer_param_grads(cg_graph *g, bool defer);
const struct cg__deferred_grad *cg__graph_deferred(const cg_graph *g);
/* In backward: when the graph of out defers, put *slot (filled) on its
 * list and return true; else false (add the gradients now). */
bool      cg__op_defer(const cg_tensor *out, struct cg__deferred_grad *slot);

/* The newest node of g (its prev chain is the graph), or NULL. */
const struct cg_node *cg__graph_last(const cg_graph *g);

/* The graph arena of the op that made out, for scratch memory in backward. */
cg_arena *cg__op_arena(const cg_tensor *out);

/* t's gradient buffer if autograd accumulates into it, else NULL: backward
 * functions write only through this. */
static inline cg_float *cg__grad(const cg_tensor *t)
{
    return t && (t->flags & CG_TENSOR_REQUIRES_GRAD) ? t->grad : NULL;
}

#endif /* CG_AUTOGRAD_INTERNAL_H */
