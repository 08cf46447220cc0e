/*
 * Gradient clipping: torch.nn.utils.clip_grad_norm_ (norm_type 2) and
 * torch.nn.utils.clip_grad_value_.
 */
#include <math.h>

#include "internal.h"

/* CG_OK if params[0..n) is a list clipping can walk. */
static cg_status check_list(const char *fn, cg_tensor *const *params, int n, double bound,
                            const char *bound_name)
{
    if (n < 0 || (n > 0 && !params))
        return cg__fail(CG_ERR_ARG, "%s: bad parameter list (n = %d)", fn, n);
    for (int i = 0; i < n; i++)
        if (!params[i])
            return cg__fail(CG_ERR_ARG, "%s: params[%d] is NULL", fn, i);
    if (!(bound >= 0))
        return cg__fail(CG_ERR_ARG, "%s: %s must be >= 0, got %g", fn, bound_name, bound);
    return CG_OK;
}

/* The L2 norm of one gradient g: [size], summed in double and rounded once
 * (PyTorch's float norm is a float result of a careful reduction too). */
static cg_float grad_norm(const cg_tensor *t)
{
    double sum = 0;
    for (size_t j = 0; j < t->size; j++)
        sum += (double)t->grad[j] * (double)t->grad[j];
    return (cg_float)sqrt(sum);
}

/*
 * https://pytorch.org/docs/stable/generated/torch.nn.utils.clip_grad_norm_.html
 *
 *   norms = [||g_i||_2 for each parameter i with a grad]
 *   total_norm = ||norms||_2
 *   clip_coef = max_norm / (total_norm + 1e-6), clamped to at most 1
 *   g_i = g_i * clip_coef
 *   return total_norm
 *
 * total_norm and clip_coef in cg_float, as PyTorch computes them in float32
 * tensors. A non-finite total_norm is returned with the grads untouched.
 */
cg_float cg_clip_grad_norm(cg_tensor *const *params, int n, double max_norm)
{
    if (check_list("cg_clip_grad_norm", params, n, max_norm, "max_norm") != CG_OK)
        return -1;
    double sum = 0;
    for (int i = 0; i < n; i++) {
        if (params[i]->grad) {
            double norm = (double)grad_norm(params[i]);
            sum += norm * norm;
        }
    }
    cg_float total_norm = (cg_float)sqrt(sum);
    if (!isfinite(total_norm))
        return total_norm;
    cg_float clip_coef = (cg_float)max_norm / (total_norm + (cg_float)1e-6);
    if (clip_coef < 1) {
        for (int i = 0; i < n; i++) {
            cg_float *restrict g = params[i]->grad;
            if (!g)
                continue;
            for (size_t j = 0; j < params[i]->size; j++)
                g[j] = g[j] * clip_coef;
        }
    }
    return total_norm;
}

/*
 * https://pytorch.org/docs/stable/generated/torch.nn.utils.clip_grad_value_.html
 *
 *   g = clamp(g, -clip_value, clip_value)    element-wise; NaN stays NaN
 */
cg_status cg_clip_grad_value(cg_tensor *const *params, int n, double clip_value)
{
    cg_status st = check_list("cg_clip_grad_value", params, n, clip_value, "clip_value");
    if (st != CG_OK)
        return st;
    const cg_float hi = (cg_float)clip_value, lo = -hi;
    for (int i = 0; i < n; i++) {
        cg_float *restrict g = params[i]->grad;
        if (!g)
            continue;
        for (size_t j = 0; j < params[i]->size; j++)
            g[j] = g[j] < lo ? lo : (g[j] > hi ? hi : g[j]);
    }
    return CG_OK;
}
