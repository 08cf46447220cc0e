/* Tests of the PCG32 generator and the distributions built on it (tensor/).
 *
 * Every statistical test uses a fixed seed, so it cannot flake: the bounds
 * are several standard errors wide, so that they also hold for any other
 * seed a change of the stream might bring. */
#include <math.h>
#include <string.h>

#include "cg_test.h"

#define N_DRAWS 100000

/* Pearson's chi-square statistic of counts against equal expectations. */
static double chi_square(const long *counts, int k, long total)
{
    double expected = (double)total / k, x2 = 0;
    for (int i = 0; i < k; i++)
        x2 += ((double)counts[i] - expected) * ((double)counts[i] - expected) / expected;
    return x2;
}

static void test_seed_42_matches_pcg32_reference(void **state)
{
    (void)state;
    /* pcg32-demo (pcg_basic.c, pcg32_srandom_r(&rng, 42u, 54u)); checked
     * against a Python transcription of pcg32_random_r. */
    const uint32_t expected[] = {0xa15c02b7u, 0x7b47f409u, 0xba1d3330u,
                                 0x83d2f293u, 0xbfa4784bu, 0xcbed606eu};
    cg_rng rng;
    cg_rng_seed(&rng, 42);
    for (int i = 0; i < 6; i++)
        assert_int_equal(cg_rng_u32(&rng), expected[i]);
}

static void test_uniform_uses_53_bits(void **state)
{
    (void)state;
    /* (0xa15c02b7 >> 5) * 2^26 + (0x7b47f409 >> 6) = 5677329731624912,
     * divided by 2^53 = 0.6303102186438938 exactly. */
    cg_rng rng;
    cg_rng_seed(&rng, 42);
    assert_true(cg_rng_uniform(&rng) == 5677329731624912.0 / 9007199254740992.0);
}

static void test_same_seed_same_stream(void **state)
{
    (void)state;
    cg_rng a, b, c;
    int differ = 0;
    cg_rng_seed(&a, 7);
    cg_rng_seed(&b, 7);
    cg_rng_seed(&c, 8);
    for (int i = 0; i < 1000; i++) {
        uint32_t x = cg_rng_u32(&a);
        assert_int_equal(x, cg_rng_u32(&b));
        differ += x != cg_rng_u32(&c);
    }
    assert_true(differ > 990);
}

static void test_below_is_in_range_and_unbiased(void **state)
{
    (void)state;
    cg_rng rng;
    long counts[6] = {0};
    cg_rng_seed(&rng, 1);
    for (long i = 0; i < 60000; i++) {
        uint32_t r = cg_rng_below(&rng, 6);
        assert_true(r < 6);
        counts[r]++;
    }
    /* 5 degrees of freedom: P(chi2 > 20.5) = 0.001. */
    assert_true(chi_square(counts, 6, 60000) < 20.5);
    assert_int_equal(cg_rng_below(&rng, 1), 0);
}

static void test_below_rejects_modulo_bias_on_large_bound(void **state)
{
    (void)state;
    /* bound = 3 * 2^30: plain r % bound would map both r and r + bound to
     * [0, 2^30), giving it probability 2/4 instead of 1/3. */
    const uint32_t bound = 3u << 30;
    cg_rng rng;
    long low = 0, n = 30000;
    cg_rng_seed(&rng, 2);
    for (long i = 0; i < n; i++) {
        uint32_t r = cg_rng_below(&rng, bound);
        assert_true(r < bound);
        low += r < (1u << 30);
    }
    /* standard error sqrt(1/3 * 2/3 / 30000) = 0.0027 */
    assert_near((double)low / (double)n, 1.0 / 3.0, 0.015);
}

static void test_uniform_moments(void **state)
{
    (void)state;
    cg_rng rng;
    double s = 0, s2 = 0;
    cg_rng_seed(&rng, 3);
    for (int i = 0; i < N_DRAWS; i++) {
        double u = cg_rng_uniform(&rng);
        assert_true(u >= 0 && u < 1);
        s += u;
        s2 += u * u;
    }
    double mean = s / N_DRAWS, var = s2 / N_DRAWS - mean * mean;
    /* mean 1/2, standard error sqrt(1/12 / 1e5) = 0.0009; variance 1/12 */
    assert_near(mean, 0.5, 0.005);
    assert_near(var, 1.0 / 12.0, 0.002);
}

static void test_normal_moments(void **state)
{
    (void)state;
    cg_rng rng;
    double s = 0, s2 = 0;
    cg_rng_seed(&rng, 4);
    for (int i = 0; i < N_DRAWS; i++) {
        double z = cg_rng_normal(&rng, 3.0, 2.0);
        assert_true(isfinite(z));
        s += z;
        s2 += z * z;
    }
    double mean = s / N_DRAWS, sd = sqrt(s2 / N_DRAWS - mean * mean);
    /* standard errors: mean 2/sqrt(1e5) = 0.0063, std 2/sqrt(2e5) = 0.0045 */
    assert_near(mean, 3.0, 0.035);
    assert_near(sd, 2.0, 0.03);
}

static void test_bernoulli_frequency(void **state)
{
    (void)state;
    cg_rng rng;
    long hits = 0;
    cg_rng_seed(&rng, 5);
    for (int i = 0; i < N_DRAWS; i++)
        hits += cg_rng_bernoulli(&rng, 0.3);
    /* standard error sqrt(0.3 * 0.7 / 1e5) = 0.00145 */
    assert_near((double)hits / N_DRAWS, 0.3, 0.008);
    for (int i = 0; i < 1000; i++) {
        assert_false(cg_rng_bernoulli(&rng, 0.0));
        assert_true(cg_rng_bernoulli(&rng, 1.0));
    }
}

/* ---- shuffle ------------------------------------------------------------- */

static void shuffled(size_t *idx, size_t n, uint64_t seed)
{
    cg_rng rng;
    for (size_t i = 0; i < n; i++)
        idx[i] = i;
    cg_rng_seed(&rng, seed);
    cg_rng_shuffle(&rng, idx, n);
}

static void test_shuffle_is_a_deterministic_permutation(void **state)
{
    (void)state;
    size_t a[50], b[50], c[50];
    bool seen[50] = {false};
    int moved = 0;

    shuffled(a, 50, 11);
    shuffled(b, 50, 11);
    shuffled(c, 50, 12);
    for (size_t i = 0; i < 50; i++) {
        assert_true(a[i] < 50);
        assert_false(seen[a[i]]);
        seen[a[i]] = true;
        moved += a[i] != i;
    }
    assert_true(moved > 25);           /* not (nearly) the identity */
    assert_memory_equal(a, b, sizeof a);
    assert_memory_not_equal(a, c, sizeof a);

    cg_rng rng;                        /* n = 0 and 1 are no-ops */
    size_t one = 7;
    cg_rng_seed(&rng, 1);
    cg_rng_shuffle(&rng, NULL, 0);
    cg_rng_shuffle(&rng, &one, 1);
    assert_int_equal(one, 7);
}

static void test_shuffle_is_uniform_over_permutations(void **state)
{
    (void)state;
    /* The 6 orders of 3 items, coded as 3 * first + second (0..8). */
    long counts[9] = {0}, perm_counts[6];
    cg_rng rng;
    int k = 0;
    cg_rng_seed(&rng, 13);
    for (long t = 0; t < 60000; t++) {
        size_t idx[3] = {0, 1, 2};
        cg_rng_shuffle(&rng, idx, 3);
        counts[3 * idx[0] + idx[1]]++;
    }
    for (int i = 0; i < 9; i++)
        if (i / 3 != i % 3)
            perm_counts[k++] = counts[i];
    assert_int_equal(k, 6);
    assert_true(chi_square(perm_counts, 6, 60000) < 20.5);
}

/* ---- tensors ------------------------------------------------------------- */

static void test_rand_fills_tensors(void **state)
{
    (void)state;
    cg_tensor *t = cg_tensor_new(2, (int[]){200, 500});
    cg_tensor *u = cg_tensor_new(2, (int[]){200, 500});
    cg_rng rng;
    double lo = 1e9, hi = -1e9;

    cg_rng_seed(&rng, 21);
    cg_tensor_rand_uniform(t, &rng, -2, 3);
    for (size_t i = 0; i < t->size; i++) {
        lo = fmin(lo, (double)t->data[i]);
        hi = fmax(hi, (double)t->data[i]);
    }
    assert_true(lo >= -2 && hi < 3);
    assert_true(lo < -1.99 && hi > 2.99);          /* the whole range is used */
    assert_near(cg_tensor_mean(t), 0.5, 0.02);      /* se 5/sqrt(12e5) = 0.0046 */
    cg_rng_seed(&rng, 21);                          /* same seed, same tensor */
    cg_tensor_rand_uniform(u, &rng, -2, 3);
    assert_memory_equal(t->data, u->data, t->size * sizeof(cg_float));

    cg_tensor_rand_normal(t, &rng, -1, (cg_float)0.5);
    assert_near(cg_tensor_mean(t), -1, 0.01);       /* se 0.5/sqrt(1e5) = 0.0016 */
    double ss = 0;
    for (size_t i = 0; i < t->size; i++)
        ss += ((double)t->data[i] + 1) * ((double)t->data[i] + 1);
    assert_near(sqrt(ss / (double)t->size), 0.5, 0.01);

    cg_tensor_rand_bernoulli(t, &rng, (cg_float)0.25);
    for (size_t i = 0; i < t->size; i++)
        assert_true(t->data[i] == 0 || t->data[i] == 1);
    assert_near(cg_tensor_mean(t), 0.25, 0.01);     /* se 0.0014 */
    cg_tensor_free(t);
    cg_tensor_free(u);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seed_42_matches_pcg32_reference),
        cmocka_unit_test(test_uniform_uses_53_bits),
        cmocka_unit_test(test_same_seed_same_stream),
        cmocka_unit_test(test_below_is_in_range_and_unbiased),
        cmocka_unit_test(test_below_rejects_modulo_bias_on_large_bound),
        cmocka_unit_test(test_uniform_moments),
        cmocka_unit_test(test_normal_moments),
        cmocka_unit_test(test_bernoulli_frequency),
        cmocka_unit_test(test_shuffle_is_a_deterministic_permutation),
        cmocka_unit_test(test_shuffle_is_uniform_over_permutations),
        cmocka_unit_test(test_rand_fills_tensors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
