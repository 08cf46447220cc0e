/*
 * cg_graph_dot: a step's autograd graph as Graphviz DOT, for a person to
 * look at (`cgrad graph`, docs/LEARNING.md).
 *
 * The nodes reachable from the root are found the way cg_backward finds
 * them (newest first, an op reaching the ops of its inputs), but in a
 * scratch array of flags, so the graph itself is left as it was. Leaves
 * (parameters, inputs) are the inputs that no op made, each drawn once.
 * Data flows down the picture: leaves at the top, the loss at the bottom.
 */
#include <string.h>

#include "internal.h"

/* The nodes of the graph newest first, with a flag per node: on a path to
 * the root. Freed with picture_free. */
struct picture {
    const struct cg_node **nodes;
    bool                  *reached;
    size_t                 n_nodes;
    const cg_tensor      **leaves;
    size_t                 n_leaves;
};

static void picture_free(struct picture *p)
{
    cg__free(p->nodes);
    cg__free(p->reached);
    cg__free(p->leaves);
}

static size_t node_index(const struct picture *p, const struct cg_node *n, size_t from)
{
    for (size_t i = from; i < p->n_nodes; i++)
        if (p->nodes[i] == n)
            return i;
    return p->n_nodes;
}

static size_t leaf_index(const struct picture *p, const cg_tensor *t)
{
    for (size_t i = 0; i < p->n_leaves; i++)
        if (p->leaves[i] == t)
            return i;
    return p->n_leaves;
}

/* Add t to the leaves unless it is there already. */
static cg_status add_leaf(struct picture *p, const cg_tensor *t, size_t *cap)
{
    if (leaf_index(p, t) < p->n_leaves)
        return CG_OK;
    if (p->n_leaves == *cap) {
        size_t grow = *cap ? 2 * *cap : 8;
        const cg_tensor **l = cg__realloc(p->leaves, *cap * sizeof *l, grow * sizeof *l);
        if (!l)
            return cg_errcode();
        p->leaves = l;
        *cap = grow;
    }
    p->leaves[p->n_leaves++] = t;
    return CG_OK;
}

/* Mark what the root depends on (everything without a root), then list the
 * leaves of the marked nodes, oldest first. */
static cg_status picture_init(struct picture *p, const cg_graph *g, const cg_tensor *root)
{
    size_t n = 0, cap = 0;

    memset(p, 0, sizeof *p);
    for (const struct cg_node *x = cg__graph_last(g); x; x = x->prev)
        n++;
    p->nodes = cg__malloc((n ? n : 1) * sizeof *p->nodes);
    p->reached = cg__calloc(n ? n : 1, sizeof *p->reached);
    if (!p->nodes || !p->reached)
        return cg_errcode();
    for (const struct cg_node *x = cg__graph_last(g); x; x = x->prev)
        p->nodes[p->n_nodes++] = x;
    for (size_t i = 0; i < n; i++) {
        if (!(p->reached[i] |= !root || p->nodes[i] == root->node))
            continue;
        for (int k = 0; k < p->nodes[i]->n_inputs; k++) {
            const cg_tensor *t = p->nodes[i]->inputs[k];
            size_t j = t && t->node ? node_index(p, t->node, i + 1) : n;
            if (j < n)
                p->reached[j] = true;
        }
    }
    for (size_t i = n; i-- > 0;)
        for (int k = 0; p->reached[i] && k < p->nodes[i]->n_inputs; k++) {
            const cg_tensor *t = p->nodes[i]->inputs[k];
            cg_status st = t && !t->node ? add_leaf(p, t, &cap) : CG_OK;
            if (st != CG_OK)
                return st;
        }
    return CG_OK;
}

/* ---- writing ---------------------------------------------------------------- */

/* A DOT string's contents: quotes and backslashes escaped. */
static void put_escaped(FILE *out, const char *s)
{
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fputc('\\', out);
        fputc(*s, out);
    }
}

static const char *leaf_name(const cg_tensor *t, const struct cg_dot_name *names, int n)
{
    for (int i = 0; names && i < n; i++)
        if (names[i].tensor == t && names[i].name)
            return names[i].name;
    return cg_requires_grad(t) ? "param" : "input";
}

static void write_leaf(FILE *out, size_t i, const cg_tensor *t,
                       const struct cg_dot_name *names, int n_names)
{
    char shape[64];
    bool grad = cg_requires_grad(t);

    fprintf(out, "  l%zu [shape=ellipse, label=\"", i);
    put_escaped(out, leaf_name(t, names, n_names));
    fprintf(out, "\\n%s\\n%s\"%s];\n", cg_shape_str(t, shape, sizeof shape),
            grad ? "needs grad" : "no grad",
            grad ? ", style=filled, fillcolor=\"#cfe2ff\"" : ", style=dashed, color=gray40");
}

static void write_node(FILE *out, size_t i, const struct cg_node *x, bool is_root)
{
    char shape[64];
    bool grad = cg_requires_grad(x->out);

    fprintf(out, "  n%zu [shape=%s, label=\"", i, is_root ? "doubleoctagon" : "box");
    put_escaped(out, x->name);
    fprintf(out, "\\n%s%s%s\"%s];\n", cg_shape_str(x->out, shape, sizeof shape),
            is_root ? "\\nloss (root)" : "", grad && !is_root ? "\\nneeds grad" : "",
            is_root ? ", style=filled, fillcolor=\"#ffd8a8\", penwidth=2"
                    : grad ? ", penwidth=2" : ", color=gray40");
}

/* The edges into node i: from each input's node or leaf, with its shape. */
static void write_edges(FILE *out, const struct picture *p, size_t i)
{
    const struct cg_node *x = p->nodes[i];
    char shape[64];

    for (int k = 0; k < x->n_inputs; k++) {
        const cg_tensor *t = x->inputs[k];
        if (!t)
            continue;
        if (t->node)
            fprintf(out, "  n%zu", node_index(p, t->node, i + 1));
        else
            fprintf(out, "  l%zu", leaf_index(p, t));
        fprintf(out, " -> n%zu [label=\" %s\"%s];\n", i, cg_shape_str(t, shape, sizeof shape),
                cg_requires_grad(t) ? "" : ", style=dashed, color=gray40");
    }
}

cg_status cg_graph_dot(const cg_graph *g, const cg_tensor *root,
                       const struct cg_dot_name *names, int n_names, FILE *out)
{
    struct picture p;
    cg_status st;

    if (!g || !out)
        return cg__fail(CG_ERR_ARG, "cg_graph_dot: %s is NULL", !g ? "graph" : "out");
    if (root && !root->node)
        return cg__fail(CG_ERR_ARG, "cg_graph_dot: the root is a leaf, not an op's output");
    if ((st = picture_init(&p, g, root)) != CG_OK)
        goto out_free;
    fprintf(out, "digraph cgrad {\n"
                 "  node [fontname=\"Helvetica\", fontsize=11];\n"
                 "  edge [fontname=\"Helvetica\", fontsize=9];\n");
    for (size_t i = 0; i < p.n_leaves; i++)
        write_leaf(out, i, p.leaves[i], names, n_names);
    for (size_t i = p.n_nodes; i-- > 0;)
        if (p.reached[i]) {
            write_node(out, i, p.nodes[i], root ? p.nodes[i] == root->node : i == 0);
            write_edges(out, &p, i);
        }
    fprintf(out, "}\n");
    if (fflush(out) != 0 || ferror(out))
        st = cg__fail(CG_ERR_IO, "cg_graph_dot: writing the picture failed");
out_free:
    picture_free(&p);
    return st;
}
