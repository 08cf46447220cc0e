/*
 * cgrad nn layer: sequential models (MLPs), initialisation, parameters and
 * model files (safetensors).
 *
 * A model is a PyTorch-style nn.Sequential of linear layers, activations
 * (sigmoid, tanh, ReLU, leaky ReLU, softmax) and dropout, described by a
 * short text spec (grammar below and in docs/MODEL.md) or by the same facts
 * in a struct cg_arch. Its parameters are named and ordered as the
 * state_dict of the equivalent nn.Sequential ("0.weight", "0.bias",
 * "2.weight", ...), live in ONE flat buffer (and their gradients in another),
 * and are saved to and loaded from safetensors files that PyTorch reads
 * with load_state_dict. This layer knows nothing of optimizers or data sets.
 *
 *     cg_rng rng;
 *     cg_rng_seed(&rng, 42);
 *     cg_model *m = cg_model_from_spec("784-256-128-10:dropout=0.2");
 *     if (!m || cg_model_init(m, CG_INIT_DEFAULT, &rng) != CG_OK)
 *         fprintf(stderr, "%s\n", cg_errmsg());
 *     cg_graph  *g = cg_graph_new();
 *     cg_tensor *x = cg_graph_tensor(g, 2, (int[]){32, 784});   // fill x->data
 *     cg_tensor *loss = cg_cross_entropy(g, cg_model_forward(g, m, x, &rng), labels);
 *     cg_backward(g, loss);              // gradients land in cg_model_flat(m)->grad
 *     cg_model_save(m, "model.safetensors", NULL);
 *     cg_graph_free(g);
 *     cg_model_free(m);
 *
 * Spec grammar (whitespace is not allowed):
 *
 *     spec    = size "-" size { "-" size } { ":" option }
 *     size    = decimal integer in [1, 16777216]
 *     option  = "act=" act | "slope=" number | "dropout=" number | "out=" out
 *     act     = "relu" | "leaky_relu" | "sigmoid" | "tanh"      (default relu)
 *     out     = "none" | "softmax" | "sigmoid" | "tanh"         (default none)
 *     slope   = leaky ReLU negative slope, default 0.01 (only with leaky_relu)
 *     dropout = rate p in [0, 1), default 0 (no dropout module)
 *
 * The first size is the input feature count, the last the output count;
 * at most CG_NN_MAX_LINEAR linear layers. Each option appears at most once.
 * `act` goes after every hidden linear layer (not after the last), dropout
 * after every hidden activation, `out` after the last linear layer.
 * cg_model_spec prints the canonical form: the sizes, then only the options
 * that differ from their defaults, in the order act, slope, dropout, out;
 * numbers in the shortest form that reads back exactly.
 *
 * Module indices (as nn.Sequential numbers them; the state_dict names
 * depend on them): for sizes n0-n1-...-nL the modules are, in order,
 *     Linear(n0, n1), Act, [Dropout], Linear(n1, n2), Act, [Dropout], ...,
 *     Linear(n{L-1}, nL), [Out]
 * so Linear k (k = 0..L-1) has index k * s with s = 2 without dropout and
 * s = 3 with it. "784-256-128-10" names 0.*, 2.*, 4.*; with dropout=0.2,
 * 0.*, 3.*, 6.*. Each Linear has "<i>.weight" [out, in] then "<i>.bias" [out].
 */
#ifndef CG_NN_H
#define CG_NN_H

#include "../autograd/autograd.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- architecture --------------------------------------------------------- */

#define CG_NN_MAX_LINEAR 32        /* linear layers in one model */
#define CG_NN_MAX_SIZE   16777216  /* largest feature count in a spec */
#define CG_NN_SPEC_MAX   512       /* bytes enough for any canonical spec */

/* enum cg_act (autograd/autograd.h) names the activations; CG_ACT_NONE only
 * as an output activation. */

/* The whole architecture of an MLP: what a spec says, as a struct. */
struct cg_arch {
    int         n_sizes;                      /* 2 .. CG_NN_MAX_LINEAR + 1 */
    int         sizes[CG_NN_MAX_LINEAR + 1];  /* input, hidden..., output */
    enum cg_act act;                          /* hidden activation */
    double      slope;                        /* leaky ReLU slope (0.01) */
    double      dropout;                      /* after each hidden act; 0 = none */
    enum cg_act out;                          /* after the last linear layer */
};

/* The default architecture fields (relu, slope 0.01, no dropout, no output
 * activation) with the given sizes; n_sizes must fit. */
struct cg_arch cg_arch_default(int n_sizes, const int *sizes);
/* Parse a spec into *arch. CG_ERR_ARG with a message that quotes the bad
 * token and its column on a bad spec. */
cg_status cg_arch_parse(struct cg_arch *arch, const char *spec);
/* Check an architecture (sizes, act, rates); CG_ERR_ARG says what is wrong. */
cg_status cg_arch_check(const struct cg_arch *arch);
/* Write the canonical spec into buf (n bytes, CG_NN_SPEC_MAX is enough).
 * CG_ERR_ARG if it does not fit or the arch is bad. */
cg_status cg_arch_print(const struct cg_arch *arch, char *buf, size_t n);

/* "relu", "leaky_relu", "sigmoid", "tanh", "softmax", "none". */
const char *cg_act_name(enum cg_act act);

/* ---- models --------------------------------------------------------------- */

typedef struct cg_model cg_model;

/* One module of the nn.Sequential, for inspection. */
enum cg_module_kind { CG_MOD_LINEAR, CG_MOD_ACT, CG_MOD_DROPOUT };
struct cg_module {
    enum cg_module_kind kind;
    int         index;          /* position in the nn.Sequential */
    int         in, out;        /* features in and out */
    enum cg_act act;            /* CG_MOD_ACT only */
    double      arg;            /* leaky slope or dropout rate */
    cg_tensor  *weight, *bias;  /* CG_MOD_LINEAR only: [out, in], [out] */
};

/* A named parameter (a view into the model's flat buffers). */
struct cg_param {
    char       name[24];   /* "0.weight", state_dict style */
    cg_tensor *tensor;     /* data and grad point into the flat buffers */
};

/* A new model of this architecture with zeroed parameters (call
 * cg_model_init). NULL and cg_errmsg() on a bad arch or out of memory. */
cg_model *cg_model_new(const struct cg_arch *arch);
/* cg_arch_parse + cg_model_new. */
cg_model *cg_model_from_spec(const char *spec);
/* A replica for a worker thread: a new model that shares m's parameter
 * DATA (read-only for the replica; m must outlive it) but has its own
 * zeroed gradient buffer. Forward through the replica accumulates into the
 * replica's gradients. Free with cg_model_free (frees only its own). */
cg_model *cg_model_replica_new(const cg_model *m);
/* Free a model (or replica) and the buffers it owns; NULL is a no-op. The
 * parameter tensors belong to the model: never cg_tensor_free them. */
void      cg_model_free(cg_model *m);

/* The architecture the model was built from. */
const struct cg_arch *cg_model_arch(const cg_model *m);
/* Write the model's canonical spec into buf (see cg_arch_print). */
cg_status cg_model_spec(const cg_model *m, char *buf, size_t n);
int       cg_model_input_size(const cg_model *m);
int       cg_model_output_size(const cg_model *m);

/* The modules in nn.Sequential order; *n receives their count. */
const struct cg_module *cg_model_modules(const cg_model *m, int *n);
/* The parameters in state_dict order; *n receives their count. */
const struct cg_param  *cg_model_params(const cg_model *m, int *n);
/* A parameter by state_dict name, or NULL (no error set). */
cg_tensor *cg_model_param(const cg_model *m, const char *name);
/* One tensor [P] over ALL parameter data, whose grad is all gradients, in
 * state_dict order: for optimizers, clipping and checkpoints. */
cg_tensor *cg_model_flat(cg_model *m);
/* The number P of parameter elements. */
size_t    cg_model_num_params(const cg_model *m);
/* Set every gradient to zero (one memset). */
void      cg_model_zero_grad(cg_model *m);

/* ---- initialisation --------------------------------------------------------
 * Every weight w: [out, in] has fan_in = in, fan_out = out. Draws go layer
 * by layer, weight then bias, row-major, so a seed fixes every weight. */

enum cg_init {
    CG_INIT_DEFAULT,          /* nn.Linear's reset_parameters: w and b ~ U(-1/sqrt(fan_in), +) */
    CG_INIT_XAVIER_UNIFORM,   /* w ~ U(-a, a), a = sqrt(6 / (fan_in + fan_out)); b = 0 */
    CG_INIT_XAVIER_NORMAL,    /* w ~ N(0, 2 / (fan_in + fan_out)); b = 0 */
    CG_INIT_KAIMING_UNIFORM,  /* w ~ U(-a, a), a = sqrt(6 / fan_in) (ReLU gain); b = 0 */
    CG_INIT_KAIMING_NORMAL    /* w ~ N(0, 2 / fan_in) (ReLU gain); b = 0 */
};

/* Initialise every parameter from rng (see enum cg_init); zeroes the grads. */
cg_status   cg_model_init(cg_model *m, enum cg_init kind, cg_rng *rng);
/* "default", "xavier_uniform", "xavier_normal", "kaiming_uniform",
 * "kaiming_normal" <-> enum; parse fails with CG_ERR_ARG naming the word. */
const char *cg_init_name(enum cg_init kind);
cg_status   cg_init_parse(const char *name, enum cg_init *kind);

/* ---- forward ---------------------------------------------------------------- */

/* x: [B, in] -> [B, out]: the modules in order, as nodes of g, with m's own
 * parameters (so a replica's backward fills the replica's gradients). The
 * result is logits unless the spec has an `out` activation. Dropout is
 * active when g is in training mode and needs rng then (may be NULL in eval
 * mode or without dropout). NULL x gives NULL; a feature count that is not
 * the model's input size is CG_ERR_SHAPE naming both numbers. */
cg_tensor *cg_model_forward(cg_graph *g, cg_model *m, cg_tensor *x, cg_rng *rng);

/* ---- safetensors -------------------------------------------------------------
 * The format (github.com/huggingface/safetensors): an 8-byte little-endian
 * header length N, N bytes of JSON {"name": {"dtype": "F32", "shape": [..],
 * "data_offsets": [begin, end]}, ..., "__metadata__": {"key": "value"}},
 * then the raw little-endian data, offsets relative to the end of the
 * header. cgrad writes F32 (F64 from the double build), the header padded
 * with spaces to a multiple of 8, tensors in the order given, written to a
 * temporary file in the same folder, flushed, fsync'ed and renamed over the
 * target (the old file is untouched on any failure). The reader checks
 * everything before it reads a byte of data: header length against the
 * file size and CG_ST_MAX_HEADER, the JSON, dtypes (F32 and F64, converted
 * to cg_float), shapes against byte sizes, offsets within the data, no
 * overlaps or holes (as the reference implementation), duplicate names. */

#define CG_ST_MAX_HEADER (100u << 20)   /* 100 MB */

struct cg_named_tensor {
    const char      *name;
    const cg_tensor *tensor;
};

struct cg_meta_kv {
    const char *key;
    const char *value;
};

/* Write tensors[0..n) and metadata meta[0..n_meta) (string -> string) to
 * path, atomically. CG_ERR_ARG on a bad name or duplicate, CG_ERR_IO with
 * the path on an I/O failure. */
cg_status cg_safetensors_save(const char *path, const struct cg_named_tensor *tensors,
                              int n, const struct cg_meta_kv *meta, int n_meta);

typedef struct cg_safetensors cg_safetensors;

/* Read and check a whole file. NULL and a message naming the file (and the
 * tensor) on any problem: CG_ERR_IO (open/read), CG_ERR_FORMAT (contents). */
cg_safetensors *cg_safetensors_load(const char *path);
void            cg_safetensors_free(cg_safetensors *st);
/* Tensors in the order of their data offsets. */
int              cg_safetensors_count(const cg_safetensors *st);
const char      *cg_safetensors_name(const cg_safetensors *st, int i);
const cg_tensor *cg_safetensors_tensor(const cg_safetensors *st, int i);
/* The dtype the file stored tensor i in ("F32" or "F64"). */
const char      *cg_safetensors_dtype(const cg_safetensors *st, int i);
/* The tensor called name; NULL and CG_ERR_FORMAT "<file>: no tensor <name>"
 * when absent. Owned by st. */
const cg_tensor *cg_safetensors_get(const cg_safetensors *st, const char *name);
/* True when the file has a tensor called name. Never sets an error. */
bool             cg_safetensors_has(const cg_safetensors *st, const char *name);
/* Metadata: a value by key (NULL when absent, no error), and all entries in
 * file order. Owned by st. */
const char      *cg_safetensors_meta(const cg_safetensors *st, const char *key);
int              cg_safetensors_meta_count(const cg_safetensors *st);
struct cg_meta_kv cg_safetensors_meta_at(const cg_safetensors *st, int i);

/* ---- model files -------------------------------------------------------------
 * A model file is a safetensors file with the model's parameters under their
 * state_dict names and these __metadata__ keys (all values are strings):
 *     "format"        "cgrad"
 *     "version"       CG_VERSION of the writer
 *     "spec"          the canonical spec
 *     "input_size"    decimal, the model's input feature count
 *     "task"          e.g. "classification" or "regression" (optional)
 *     "classes"       a JSON array of strings: ["cat", "dog, big"] (optional)
 *     "features"      a JSON array of strings, the input columns' names in
 *                     input order (optional; a CSV header's names)
 *     "normalization" free text the data layer writes and reads (optional)
 * plus any free-form keys (training settings: optimizer, lr, epochs, ...). */

struct cg_model_meta {
    const char *task;                /* NULL = not recorded */
    const char *const *classes;      /* n_classes names, or NULL */
    int         n_classes;
    const char *const *features;     /* n_features input names, or NULL; when
                                        given, n_features is the input size */
    int         n_features;
    const char *normalization;       /* NULL = not recorded */
    const struct cg_meta_kv *extra;  /* free-form settings */
    int         n_extra;
    /* Filled by cg_model_load only (ignored by save): */
    const char *spec;
    const char *version;
    void       *owned_;              /* what holds the strings; see _deinit */
};

/* Save m's parameters and meta (NULL = none) to path, atomically. An extra
 * key that is one of the reserved keys above is CG_ERR_ARG. */
cg_status cg_model_save(const cg_model *m, const char *path, const struct cg_model_meta *meta);
/* cg_model_save with more tensors after the parameters (a checkpoint's
 * optimizer state): the file is still a model file. A name that is also a
 * parameter's is CG_ERR_ARG. */
cg_status cg_model_save_extra(const cg_model *m, const char *path,
                              const struct cg_model_meta *meta,
                              const struct cg_named_tensor *extra, int n_extra);
/* Load a cgrad model file: rebuild the model from "spec" and copy every
 * tensor (missing tensor, shape mismatch or a file without cgrad metadata is
 * CG_ERR_FORMAT naming file and tensor). meta_out (may be NULL) receives the
 * metadata; release it with cg_model_meta_deinit. */
cg_model *cg_model_load(const char *path, struct cg_model_meta *meta_out);
/* Free what cg_model_load put in *meta and zero it; a zeroed meta is a no-op. */
void      cg_model_meta_deinit(struct cg_model_meta *meta);
/* Load the tensors named as m's parameters from any safetensors file (e.g.
 * one PyTorch's save_file wrote from a state_dict) into m. A missing tensor
 * or a shape mismatch is CG_ERR_FORMAT naming the tensor and both shapes;
 * m is unchanged then. Tensors the model does not have are ignored. */
cg_status cg_model_load_weights(cg_model *m, const char *path);

/* ---- export as C ---------------------------------------------------------------
 * cg_model_export_c writes the model as ONE dependency-free C99 file: the
 * weights as `static const` arrays, the input normalization baked in, and
 *     int NAME_predict(const float *x, float *out);
 * x: [in] a raw feature row; out: [out] the class probabilities (softmax,
 * computed as cg_kernel_softmax_rows does: the max subtracted) or the
 * regression outputs; it returns the top class (the first on ties), or 0.
 * Hidden activations relu, leaky_relu, sigmoid and tanh and the output
 * activations are computed with the library's expressions; dropout is the
 * identity (inference). No malloc, no mutable global state (so any number of
 * threads may call it at once), nothing beyond <math.h> (expf, tanhf) and,
 * with int8, <stdint.h>. Its buffers live on the stack: NAME_STACK_BYTES
 * (in the header, and in the file's opening comment) bounds it.
 *
 * int8: each weight row o is stored as int8 q[o][i] with a float scale s[o]
 * = max_i |w[o][i]| / 127 (w ~ q * s); each layer's input vector is
 * quantized at run time with one scale for the vector, max |x| / 127
 * (dynamic quantization: no calibration data, and the scale fits every
 * input), the products are summed in int32, and y = b + acc * s[o] * sx in
 * float. A layer may then have at most CG_EXPORT_INT8_MAX_IN inputs, so that
 * the int32 sum cannot overflow.
 *
 *     struct cg_export_options o = {.name = "iris", .classify = true,
 *                                   .n_norm = 4, .norm_offset = off, .norm_scale = sc};
 *     if (cg_model_export_c(m, "iris.c", &o, NULL) != CG_OK)
 *         fprintf(stderr, "%s\n", cg_errmsg());
 */

#define CG_EXPORT_NAME_MAX    23          /* so NAME_predict fits C99's 31 characters */
#define CG_EXPORT_STACK_MAX   (1 << 20)   /* largest NAME_STACK_BYTES accepted */
#define CG_EXPORT_INT8_MAX_IN 133144      /* (2^31 - 1) / (127 * 127) */

struct cg_export_options {
    const char     *name;        /* prefix of the generated symbols: a C identifier of
                                    at most CG_EXPORT_NAME_MAX characters, not starting
                                    with '_', not a keyword; NULL: "model" */
    const char     *header;      /* also write this header (prototypes, sizes, the
                                    stack bound), or NULL */
    bool            int8;        /* int8 weights (see above), else float */
    bool            classify;    /* softmax the outputs and return the top class */
    int             n_norm;      /* 0 (none) or the model's input size */
    const cg_float *norm_offset; /* [n_norm]: x' = (x - offset) * scale, as cg_norm */
    const cg_float *norm_scale;  /* [n_norm] */
    const char *const *classes;  /* [n_classes] names for NAME_class_name, or NULL */
    int             n_classes;   /* 0 or the output size (classify only) */
    const char     *source;      /* the model's file name, quoted in a comment; or NULL */
};

/* CG_OK when name can prefix the generated symbols (see .name above); else
 * CG_ERR_ARG saying why. */
cg_status cg_export_check_name(const char *name);

/* What an export wrote. */
struct cg_export_report {
    size_t c_bytes, h_bytes;  /* bytes of the C file and of the header (0: none) */
    size_t weight_bytes;      /* the constant data: weights, scales, biases, norm */
    size_t stack_bytes;       /* NAME_STACK_BYTES: bounds NAME_predict's stack */
};

/* Write m as a standalone C file at path (and o->header), each atomically
 * (the C file first); r (may be NULL) receives the sizes. Everything is
 * checked before a byte is written: the name, the normalization and class
 * lists against the model's sizes, the stack bound, the int8 input bound,
 * and every weight, bias and normalization value finite as a float.
 * CG_ERR_ARG naming what is wrong; CG_ERR_IO naming the file. */
cg_status cg_model_export_c(const cg_model *m, const char *path,
                            const struct cg_export_options *o, struct cg_export_report *r);
/* Compute what the file cg_model_export_c(m, ..., o) writes would compute,
 * with the same float and int8 arithmetic, on rows raw feature rows:
 * x: [rows, in] -> out: [rows, out]; top (NULL, or [rows]) receives the
 * returned classes. For checking an int8 export against the float model. */
cg_status cg_model_export_eval(const cg_model *m, const struct cg_export_options *o,
                               const cg_float *x, size_t rows, cg_float *out, int *top);

/* ---- data-parallel batches ----------------------------------------------------
 * A cg_trainer runs the forward and backward pass of a mini-batch on T
 * threads: the rows are cut into chunks of about 32 (a function of the row
 * count alone), handed out to whichever thread is free; each chunk runs on
 * its own graph through the model (its parameters read-only); then blocks
 * of rows of each layer's weights, handed out the same way, add the
 * chunks' weight and bias gradients into the model's in chunk order. So the
 * bits depend on the seed, the settings and the batch size, never on the
 * thread count or on which thread ran what. While a trainer runs a batch,
 * nothing else may use the model.
 * After the first batch of a given size it allocates nothing. OpenBLAS runs
 * one thread inside each product unless the program chose otherwise
 * (cg_set_blas_threads in tensor.h).
 *
 *     cg_trainer *tr = cg_trainer_new(m, CG_LOSS_CROSS_ENTROPY, 0);  // auto
 *     struct cg_batch b = {x, labels, NULL, rows};     // x: [rows, in]
 *     struct cg_batch_result r;
 *     cg_trainer_backward(tr, &b, &rng, &r);   // m's grads += d(mean loss)
 *     cg_optim_step(opt); cg_optim_zero_grad(opt);
 */

enum cg_loss {
    CG_LOSS_CROSS_ENTROPY,  /* logits against class labels */
    CG_LOSS_MSE             /* outputs against targets (or one-hot labels) */
};

/* One mini-batch, borrowed by the call. */
struct cg_batch {
    const cg_float *x;        /* [rows, in] model inputs */
    const int      *labels;   /* [rows] class ids, or NULL */
    const cg_float *targets;  /* [rows, out] regression targets (MSE), or NULL */
    int             rows;
};

/* What a batch measured. */
struct cg_batch_result {
    double loss;          /* mean loss over the rows (NaN without labels or targets) */
    int    correct;       /* rows whose largest output is their label (with labels) */
    bool   grads_finite;  /* cg_trainer_backward: every gradient of the model is
                             finite after the batch (checked in the pass that sums
                             the threads' gradients) */
};

typedef struct cg_trainer cg_trainer;

/* A runner for model m (borrowed; it must outlive the trainer) with the given
 * loss on `threads` threads (1 to 64; 0 or less: cg_cpu_count()): makes the
 * thread pool and the first chunk's graph; the other chunks' graphs come
 * with the first batch that needs them. NULL and cg_errmsg() on failure. */
cg_trainer *cg_trainer_new(cg_model *m, enum cg_loss loss, int threads);
/* Stop the threads and free everything the trainer made; NULL is a no-op. */
void        cg_trainer_free(cg_trainer *t);
/* The number of threads it runs on (auto resolved); 0 for NULL. */
int         cg_trainer_threads(const cg_trainer *t);
/* The trainer's thread pool (NULL with one thread), to run other parallel
 * work on the same threads (an optimizer step). */
cg_pool    *cg_trainer_pool(cg_trainer *t);
/* Forward and backward of a batch in training mode (dropout: one seed per
 * chunk drawn from rng, or rng itself for a one-chunk batch; rng may be NULL
 * without dropout): adds the gradient of the batch's mean loss into m's
 * gradients. A non-finite loss is returned in r without a backward pass
 * (the gradients untouched). */
cg_status   cg_trainer_backward(cg_trainer *t, const struct cg_batch *b, cg_rng *rng,
                                struct cg_batch_result *r);
/* Forward in eval mode without gradients: out (NULL, or [rows, out]) receives
 * the model's outputs (logits unless the spec has an output activation), r
 * (may be NULL) the loss and correct count when the batch has targets. */
cg_status   cg_trainer_forward(cg_trainer *t, const struct cg_batch *b, cg_float *out,
                               struct cg_batch_result *r);

#ifdef __cplusplus
}
#endif

#endif /* CG_NN_H */
