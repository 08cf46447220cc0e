/* libFuzzer target: the safetensors reader (cg_safetensors_load: every
 * tensor, dtype and metadata entry read back) and the model loader
 * (cg_model_load: spec parsing, shapes, metadata), as a model file and as a
 * checkpoint are read. */
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_path("in.safetensors");
    volatile double sink = 0;

    fuzz_write(path, data, size, 0);
    cg_safetensors *st = cg_safetensors_load(path);
    if (st) {
        for (int i = 0; i < cg_safetensors_count(st); i++) {
            const cg_tensor *t = cg_safetensors_tensor(st, i);
            const char *name = cg_safetensors_name(st, i);
            (void)cg_safetensors_dtype(st, i);
            if (!t || !name || cg_safetensors_get(st, name) == NULL)
                abort();
            for (size_t k = 0; k < t->size; k++)
                sink += (double)t->data[k];
        }
        for (int i = 0; i < cg_safetensors_meta_count(st); i++) {
            struct cg_meta_kv kv = cg_safetensors_meta_at(st, i);
            if (!kv.key || !kv.value || strlen(kv.key) + strlen(kv.value) > size)
                abort();
        }
        cg_safetensors_free(st);
    } else if (cg_errmsg()[0] == '\0') {
        abort();
    }

    struct cg_model_meta meta = {0};
    cg_model *m = cg_model_load(path, &meta);
    if (m) {
        char spec[CG_NN_SPEC_MAX];
        if (cg_model_spec(m, spec, sizeof spec) != CG_OK)
            abort();
        for (int i = 0; i < meta.n_classes; i++)
            if (!meta.classes[i])
                abort();
    } else if (cg_errmsg()[0] == '\0') {
        abort();
    }
    cg_model_meta_deinit(&meta);
    cg_model_free(m);
    (void)sink;
    return 0;
}
