/*
 * Model files: a model's parameters under their state_dict names in a
 * safetensors file, with __metadata__ that lets cgrad rebuild the model
 * (keys in nn/nn.h and docs/MODEL.md). PyTorch loads such a file with
 * safetensors.torch.load_file + nn.Sequential.load_state_dict; a file that
 * PyTorch wrote from a state_dict loads with cg_model_load_weights.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"   /* CG_VERSION comes with tensor/tensor.h */

static const char *const reserved[] = {
    "format", "version", "spec", "input_size", "task", "classes", "normalization", "features"
};
#define N_RESERVED ((int)(sizeof reserved / sizeof reserved[0]))
#define N_FIXED 8   /* at most this many reserved entries are written */

/* What a loaded cg_model_meta holds on to. */
struct owned {
    cg_safetensors     *st;       /* the metadata strings */
    struct cg__json_doc classes;  /* the class names */
    const char        **names;
    struct cg__json_doc features; /* the feature names */
    const char        **feature_names;
    struct cg_meta_kv  *extra;
};

static bool is_reserved(const char *key)
{
    for (int i = 0; i < N_RESERVED; i++)
        if (strcmp(key, reserved[i]) == 0)
            return true;
    return false;
}

/* ---- saving ----------------------------------------------------------------------------- */

/* names[0..n) (class or feature names, `what` in messages) as a JSON array
 * of strings, in a new buffer. */
static cg_status names_json(char **out, const char *const *names, int n, const char *what)
{
    size_t len = 0, cap = 0;
    cg_status st = cg__buf_put(out, &len, &cap, "[", 1);

    for (int i = 0; i < n && st == CG_OK; i++) {
        if (!names[i])
            return cg__fail(CG_ERR_ARG, "%s name %d is NULL", what, i);
        if (i > 0)
            st = cg__buf_put(out, &len, &cap, ",", 1);
        if (st == CG_OK)
            st = cg__json_put_string(out, &len, &cap, names[i]);
    }
    return st == CG_OK ? cg__buf_put(out, &len, &cap, "]", 1) : st;
}

/* The metadata list: fixed keys, then the caller's extra ones. */
static cg_status fill_meta(struct cg_meta_kv *kv, int *n, const struct cg_model_meta *meta,
                           const char *spec, const char *input, const char *classes,
                           const char *features)
{
    int k = 0;

    kv[k++] = (struct cg_meta_kv){"format", "cgrad"};
    kv[k++] = (struct cg_meta_kv){"version", CG_VERSION};
    kv[k++] = (struct cg_meta_kv){"spec", spec};
    kv[k++] = (struct cg_meta_kv){"input_size", input};
    if (meta && meta->task)
        kv[k++] = (struct cg_meta_kv){"task", meta->task};
    if (classes)
        kv[k++] = (struct cg_meta_kv){"classes", classes};
    if (features)
        kv[k++] = (struct cg_meta_kv){"features", features};
    if (meta && meta->normalization)
        kv[k++] = (struct cg_meta_kv){"normalization", meta->normalization};
    for (int i = 0; meta && i < meta->n_extra; i++) {
        if (!meta->extra[i].key || !meta->extra[i].value)
            return cg__fail(CG_ERR_ARG, "extra metadata %d has a NULL key or value", i);
        if (is_reserved(meta->extra[i].key))
            return cg__fail(CG_ERR_ARG, "extra metadata key \"%s\" is reserved",
                            meta->extra[i].key);
        kv[k++] = meta->extra[i];
    }
    *n = k;
    return CG_OK;
}

cg_status cg_model_save(const cg_model *m, const char *path, const struct cg_model_meta *meta)
{
    return cg_model_save_extra(m, path, meta, NULL, 0);
}

cg_status cg_model_save_extra(const cg_model *m, const char *path,
                              const struct cg_model_meta *meta,
                              const struct cg_named_tensor *extra, int n_extra)
{
    struct cg_named_tensor *t = NULL;
    struct cg_meta_kv *kv = NULL;
    char spec[CG_NN_SPEC_MAX], input[16], *classes = NULL, *features = NULL;
    const struct cg_param *p;
    int np, nkv = 0;
    cg_status st;

    if (!m || !path)
        return cg__fail(CG_ERR_ARG, "cg_model_save: NULL model or path");
    if (meta && (meta->n_extra < 0 || meta->n_classes < 0 || meta->n_features < 0 ||
                 (meta->n_extra && !meta->extra) || (meta->n_classes && !meta->classes) ||
                 (meta->n_features && !meta->features)))
        return cg__fail(CG_ERR_ARG, "cg_model_save: bad metadata lists");
    if (n_extra < 0 || (n_extra && !extra))
        return cg__fail(CG_ERR_ARG, "cg_model_save: bad list of extra tensors");
    if (meta && meta->features && meta->n_features != cg_model_input_size(m))
        return cg__fail(CG_ERR_ARG, "cg_model_save: %d feature names for %d inputs",
                        meta->n_features, cg_model_input_size(m));
    if ((st = cg_model_spec(m, spec, sizeof spec)) != CG_OK)
        return st;
    snprintf(input, sizeof input, "%d", cg_model_input_size(m));
    p = cg_model_params(m, &np);
    if (meta && meta->classes &&
        (st = names_json(&classes, meta->classes, meta->n_classes, "class")) != CG_OK)
        goto out;
    if (meta && meta->features &&
        (st = names_json(&features, meta->features, meta->n_features, "feature")) != CG_OK)
        goto out;
    if (!(t = cg__calloc((size_t)np + (size_t)n_extra, sizeof *t)) ||
        !(kv = cg__calloc((size_t)N_FIXED + (size_t)(meta ? meta->n_extra : 0), sizeof *kv))) {
        st = CG_ERR_NOMEM;
        goto out;
    }
    for (int i = 0; i < np; i++)
        t[i] = (struct cg_named_tensor){p[i].name, p[i].tensor};
    for (int i = 0; i < n_extra; i++)
        t[np + i] = extra[i];   /* a name that repeats a parameter's is refused below */
    if ((st = fill_meta(kv, &nkv, meta, spec, input, classes, features)) == CG_OK)
        st = cg_safetensors_save(path, t, np + n_extra, kv, nkv);
out:
    cg__free(kv);
    cg__free(t);
    cg__free(classes);
    cg__free(features);
    return st;
}

/* ---- loading ------------------------------------------------------------------------------ */

/* Every parameter of m must be in st with its shape; then all are copied,
 * so m is unchanged on a failure. */
static cg_status copy_params(cg_model *m, const cg_safetensors *st, const char *path)
{
    const struct cg_param *p;
    char a[64], b[64];
    int np;

    p = cg_model_params(m, &np);
    for (int i = 0; i < np; i++) {
        const cg_tensor *src;
        if (!cg_safetensors_has(st, p[i].name))
            return cg__fail(CG_ERR_FORMAT, "%s: missing tensor %s (the model needs it as "
                            "%s)", path, p[i].name, cg_shape_str(p[i].tensor, a, sizeof a));
        src = cg_safetensors_get(st, p[i].name);
        if (!cg_tensor_same_shape(src, p[i].tensor))
            return cg__fail(CG_ERR_FORMAT, "%s: tensor %s is %s in the file, %s in the model",
                            path, p[i].name, cg_shape_str(src, a, sizeof a),
                            cg_shape_str(p[i].tensor, b, sizeof b));
    }
    for (int i = 0; i < np; i++)
        cg_tensor_copy(p[i].tensor, cg_safetensors_get(st, p[i].name));
    return CG_OK;
}

cg_status cg_model_load_weights(cg_model *m, const char *path)
{
    cg_safetensors *st;
    cg_status s;

    if (!m || !path)
        return cg__fail(CG_ERR_ARG, "cg_model_load_weights: NULL model or path");
    if (!(st = cg_safetensors_load(path)))
        return cg_errcode();
    s = copy_params(m, st, path);
    cg_safetensors_free(st);
    return s;
}

/* The model the metadata describes: format, spec, input size. */
static cg_model *model_of(const cg_safetensors *st, const char *path)
{
    const char *format = cg_safetensors_meta(st, "format");
    const char *spec = cg_safetensors_meta(st, "spec");
    const char *input = cg_safetensors_meta(st, "input_size");
    struct cg_arch arch;
    char *end;

    if (!format || strcmp(format, "cgrad") != 0 || !spec)
        return cg__fail_null(CG_ERR_FORMAT, "%s: not a cgrad model file (no \"format\": "
                             "\"cgrad\" and \"spec\" in __metadata__); load its weights "
                             "into a model built from a spec (cg_model_load_weights)", path);
    if (cg_arch_parse(&arch, spec) != CG_OK) {
        /* the parser's CG_ERR_ARG is about an argument; here it is the file */
        cg__errmsg_prefix("%s: __metadata__", path);
        cg__errcode_set(CG_ERR_FORMAT);
        return NULL;
    }
    if (input && (strtol(input, &end, 10) != arch.sizes[0] || *end || !*input))
        return cg__fail_null(CG_ERR_FORMAT, "%s: input_size \"%s\" does not match the "
                             "spec \"%s\"", path, input, spec);
    /* A spec is small text that may ask for 2^48 parameters: the file's
     * tensors (already read, so bounded by its size) must hold them all
     * before the model is allocated. */
    size_t need = 0, have = 0, layer;
    for (int i = 0; i + 1 < arch.n_sizes; i++)
        if (!cg__mul_size((size_t)arch.sizes[i] + 1, (size_t)arch.sizes[i + 1], &layer) ||
            !cg__add_size(need, layer, &need))
            need = SIZE_MAX;
    for (int i = 0; i < cg_safetensors_count(st); i++)
        have += cg_safetensors_tensor(st, i)->size;
    if (need > have)
        return cg__fail_null(CG_ERR_FORMAT, "%s: the spec \"%s\" needs %zu parameters, "
                             "the file holds %zu", path, spec, need, have);
    return cg_model_new(&arch);
}

/* The metadata `key` ("classes", "features"): a JSON array of strings,
 * parsed into doc; *names (owned) and *n point at its strings. Absent: 0. */
static cg_status read_names(const struct owned *o, const char *key, struct cg__json_doc *doc,
                            const char ***names, int *n, const char *path)
{
    const char *text = cg_safetensors_meta(o->st, key);
    const struct cg__json *arr;

    if (!text)
        return CG_OK;
    cg_status s = cg__json_parse(doc, text, strlen(text), 0);

    if (s != CG_OK) {
        if (s != CG_ERR_NOMEM)
            cg__errmsg_prefix("%s: __metadata__ \"%s\"", path, key);
        return s;
    }
    arr = doc->root;
    if (arr->type != CG__JSON_ARRAY || arr->len > (size_t)INT32_MAX)
        return cg__fail(CG_ERR_FORMAT, "%s: __metadata__ \"%s\" is not a JSON array "
                        "of strings", path, key);
    if (arr->len && !(*names = cg__calloc(arr->len, sizeof **names)))
        return CG_ERR_NOMEM;
    for (size_t i = 0; i < arr->len; i++) {
        if (arr->items[i]->type != CG__JSON_STRING)
            return cg__fail(CG_ERR_FORMAT, "%s: __metadata__ \"%s\" entry %zu is not "
                            "a string", path, key, i);
        (*names)[i] = arr->items[i]->str;
    }
    *n = (int)arr->len;
    return CG_OK;
}

static cg_status fill_out_meta(struct owned *o, struct cg_model_meta *meta, const char *path,
                               int inputs)
{
    int n = cg_safetensors_meta_count(o->st);
    cg_status s;

    memset(meta, 0, sizeof *meta);
    meta->owned_ = o;
    meta->spec = cg_safetensors_meta(o->st, "spec");
    meta->version = cg_safetensors_meta(o->st, "version");
    meta->task = cg_safetensors_meta(o->st, "task");
    meta->normalization = cg_safetensors_meta(o->st, "normalization");
    if ((s = read_names(o, "classes", &o->classes, &o->names, &meta->n_classes, path)) !=
        CG_OK)
        return s;
    meta->classes = o->names;
    if ((s = read_names(o, "features", &o->features, &o->feature_names, &meta->n_features,
                        path)) != CG_OK)
        return s;
    meta->features = o->feature_names;
    if (meta->features && meta->n_features != inputs)
        return cg__fail(CG_ERR_FORMAT, "%s: __metadata__ \"features\" has %d names for %d "
                        "inputs", path, meta->n_features, inputs);
    if (n && !(o->extra = cg__calloc((size_t)n, sizeof *o->extra)))
        return CG_ERR_NOMEM;
    for (int i = 0; i < n; i++) {
        struct cg_meta_kv kv = cg_safetensors_meta_at(o->st, i);
        if (!is_reserved(kv.key))
            o->extra[meta->n_extra++] = kv;
    }
    meta->extra = o->extra;
    return CG_OK;
}

void cg_model_meta_deinit(struct cg_model_meta *meta)
{
    struct owned *o;

    if (!meta)
        return;
    if ((o = meta->owned_)) {
        cg_safetensors_free(o->st);
        cg__json_free(&o->classes);
        cg__free(o->names);
        cg__json_free(&o->features);
        cg__free(o->feature_names);
        cg__free(o->extra);
        cg__free(o);
    }
    memset(meta, 0, sizeof *meta);
}

cg_model *cg_model_load(const char *path, struct cg_model_meta *meta_out)
{
    struct cg_model_meta meta;
    struct owned *o;
    cg_model *m = NULL;

    memset(&meta, 0, sizeof meta);
    if (!path)
        return cg__fail_null(CG_ERR_ARG, "cg_model_load: path is NULL");
    if (!(o = cg__calloc(1, sizeof *o)))
        return NULL;
    meta.owned_ = o;
    /* The metadata is read (and checked) even when the caller does not want
     * it: a file is refused or accepted alike either way. */
    if (!(o->st = cg_safetensors_load(path)) || !(m = model_of(o->st, path)) ||
        copy_params(m, o->st, path) != CG_OK ||
        fill_out_meta(o, &meta, path, cg_model_input_size(m)) != CG_OK) {
        cg_model_free(m);
        cg_model_meta_deinit(&meta);
        return NULL;
    }
    if (meta_out)
        *meta_out = meta;
    else
        cg_model_meta_deinit(&meta);
    return m;
}
