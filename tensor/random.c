/*
 * Random numbers: PCG32 (M.E. O'Neill, "PCG: A Family of Simple Fast
 * Space-Efficient Statistically Good Algorithms for Random Number
 * Generation", pcg_basic.c's pcg32_random_r and pcg32_srandom_r).
 * Integer arithmetic only, so the stream is the same everywhere.
 */
#include <math.h>

#include "internal.h"

#define CG__PCG_MULT 6364136223846793005ULL
#define CG__PCG_STREAM 54u

/* The largest cg_float below x. */
static cg_float below(cg_float x)
{
#ifdef CG_DOUBLE
    return nextafter(x, -HUGE_VAL);
#else
    return nextafterf(x, -HUGE_VALF);
#endif
}

uint32_t cg_rng_u32(cg_rng *rng)
{
    uint64_t old = rng->state;
    uint32_t xorshifted, rot;

    rng->state = old * CG__PCG_MULT + rng->inc;
    xorshifted = (uint32_t)(((old >> 18u) ^ old) >> 27u);
    rot = (uint32_t)(old >> 59u);
    return (xorshifted >> rot) | (xorshifted << ((-rot) & 31u));
}

void cg_rng_seed(cg_rng *rng, uint64_t seed)
{
    rng->state = 0;
    rng->inc = ((uint64_t)CG__PCG_STREAM << 1u) | 1u;
    cg_rng_u32(rng);
    rng->state += seed;
    cg_rng_u32(rng);
}

/* Reject the low values that would bias the modulo
 * (pcg32_boundedrand_r). */
uint32_t cg_rng_below(cg_rng *rng, uint32_t bound)
{
    uint32_t threshold;

    if (bound <= 1)
        return 0;
    threshold = (uint32_t)(-bound) % bound;
    for (;;) {
        uint32_t r = cg_rng_u32(rng);
        if (r >= threshold)
            return r % bound;
    }
}

double cg_rng_uniform(cg_rng *rng)
{
    uint64_t hi = cg_rng_u32(rng) >> 5;   /* 27 bits */
    uint64_t lo = cg_rng_u32(rng) >> 6;   /* 26 bits */
    return (double)(hi * 67108864u + lo) * (1.0 / 9007199254740992.0);
}

double cg_rng_normal(cg_rng *rng, double mean, double std)
{
    /* Box-Muller; 1 - u keeps the log's argument in (0, 1]. */
    double u1 = 1.0 - cg_rng_uniform(rng);
    double u2 = cg_rng_uniform(rng);
    double z = sqrt(-2.0 * log(u1)) * cos(2.0 * 3.14159265358979323846 * u2);
    return mean + std * z;
}

bool cg_rng_bernoulli(cg_rng *rng, double p)
{
    return cg_rng_uniform(rng) < p;
}

void cg_rng_shuffle(cg_rng *rng, size_t *idx, size_t n)
{
    for (size_t i = n; i > 1; i--) {
        size_t j;
        size_t tmp;

        if (i <= UINT32_MAX)   /* i itself is the bound: 2^32 does not fit */
            j = cg_rng_below(rng, (uint32_t)i);
        else
            j = (size_t)(cg_rng_uniform(rng) * (double)i);
        tmp = idx[i - 1];
        idx[i - 1] = idx[j];
        idx[j] = tmp;
    }
}

/* In [lo, hi): a u just below 1 can round up to hi in cg_float, and is then
 * taken down to the largest cg_float below hi. */
void cg_tensor_rand_uniform(cg_tensor *t, cg_rng *rng, cg_float lo, cg_float hi)
{
    for (size_t i = 0; i < t->size; i++) {
        double u = cg_rng_uniform(rng);
        cg_float v = (cg_float)((double)lo + ((double)hi - (double)lo) * u);
        t->data[i] = v < hi || !(hi > lo) ? v : below(hi);
    }
}

void cg_tensor_rand_normal(cg_tensor *t, cg_rng *rng, cg_float mean, cg_float std)
{
    for (size_t i = 0; i < t->size; i++)
        t->data[i] = (cg_float)cg_rng_normal(rng, (double)mean, (double)std);
}

void cg_tensor_rand_bernoulli(cg_tensor *t, cg_rng *rng, cg_float p)
{
    for (size_t i = 0; i < t->size; i++)
        t->data[i] = cg_rng_bernoulli(rng, (double)p) ? 1 : 0;
}
