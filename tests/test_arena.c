/* Tests of the arena, the allocator hook and the error model (tensor/). */
#include <stdlib.h>
#include <string.h>

#include "cg_test.h"

static void test_arena_alignment_and_reuse(void **state)
{
    (void)state;
    cg_arena *a = cg_arena_new();
    assert_non_null(a);
    for (int i = 1; i < 100; i++) {
        unsigned char *p = cg_arena_alloc(a, (size_t)i * 7);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % CG_ALIGN, 0);
        memset(p, 0xab, (size_t)i * 7);
    }
    struct cg_arena_stats s1 = cg_arena_stats(a);
    assert_true(s1.used > 0);
    assert_true(s1.high_water >= s1.used);
    cg_arena_reset(a);
    assert_int_equal(cg_arena_stats(a).used, 0);
    /* The same workload again allocates nothing from the system. */
    for (int i = 1; i < 100; i++)
        assert_non_null(cg_arena_alloc(a, (size_t)i * 7));
    struct cg_arena_stats s2 = cg_arena_stats(a);
    assert_int_equal(s2.sys_allocs, s1.sys_allocs);
    assert_int_equal(s2.high_water, s1.high_water);
    cg_arena_free(a);
}

static void test_arena_grows_past_first_block(void **state)
{
    (void)state;
    cg_arena *a = cg_arena_new();
    void *big = cg_arena_alloc(a, (size_t)1 << 20);
    void *small = cg_arena_alloc(a, 16);
    assert_non_null(big);
    assert_non_null(small);
    assert_true(cg_arena_stats(a).capacity >= ((size_t)1 << 20) + 16);
    size_t allocs = cg_arena_stats(a).sys_allocs;
    for (int step = 0; step < 10; step++) {
        cg_arena_reset(a);
        assert_non_null(cg_arena_alloc(a, (size_t)1 << 20));
        assert_non_null(cg_arena_alloc(a, 16));
    }
    assert_int_equal(cg_arena_stats(a).sys_allocs, allocs);
    cg_arena_free(a);
    cg_arena_free(NULL);
}

static void test_arena_calloc_overflow_is_an_error(void **state)
{
    (void)state;
    cg_arena *a = cg_arena_new();
    cg_clear_error();
    assert_null(cg_arena_calloc(a, SIZE_MAX / 2, 4));
    assert_int_equal(cg_errcode(), CG_ERR_NOMEM);
    cg_arena_free(a);
}

static void test_allocator_hook_sees_every_allocation(void **state)
{
    (void)state;
    cg_test_alloc_install(1, CG_TEST_ALLOC_NO_REALLOC);
    cg_tensor *t = cg_tensor_new(2, (int[]){3, 4});
    cg_tensor *u = cg_tensor_new(2, (int[]){3, 4});
    cg_test_alloc_remove();
    assert_non_null(t);
    assert_null(u);
    assert_int_equal(cg_errcode(), CG_ERR_NOMEM);
    assert_errmsg_contains("out of memory");
    cg_test_alloc_resume();
    cg_tensor_free(t);
    cg_test_alloc_remove();
    assert_int_equal(cg_test_alloc.live, 0);
}

static void test_error_model(void **state)
{
    (void)state;
    cg_clear_error();
    assert_string_equal(cg_errmsg(), "");
    assert_int_equal(cg_errcode(), CG_OK);
    assert_null(cg_tensor_new(5, (int[]){1, 1, 1, 1, 1}));
    assert_int_equal(cg_errcode(), CG_ERR_SHAPE);
    assert_errmsg_contains("0 to 4 dimensions");
    assert_string_equal(cg_status_str(CG_ERR_NOMEM), "out of memory");
    assert_string_equal(cg_status_str(CG_OK), "ok");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_arena_alignment_and_reuse),
        cmocka_unit_test(test_arena_grows_past_first_block),
        cmocka_unit_test(test_arena_calloc_overflow_is_an_error),
        cmocka_unit_test(test_allocator_hook_sees_every_allocation),
        cmocka_unit_test(test_error_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
