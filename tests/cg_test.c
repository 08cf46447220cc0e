/* Shared helpers for the cmocka tests (see cg_test.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <zlib.h>

#include "cg_test.h"

void cg_assert_near(double actual, double expected, double tol, const char *file, int line)
{
    if (fabs(actual - expected) <= tol || (isnan(actual) && isnan(expected)) ||
        (isinf(actual) && actual == expected))
        return;
    print_error("%.17g != %.17g (tolerance %g)\n", actual, expected, tol);
    _fail(file, line);
}

void cg_assert_tensor_near(const cg_tensor *t, const double *expected, size_t n, double tol,
                           const char *file, int line)
{
    if (!t) {
        print_error("tensor is NULL: %s\n", cg_errmsg());
        _fail(file, line);
        return;
    }
    if (t->size != n) {
        print_error("tensor has %zu elements, expected %zu\n", t->size, n);
        _fail(file, line);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (fabs((double)t->data[i] - expected[i]) > tol) {
            print_error("element %zu: %.17g != %.17g (tolerance %g)\n", i,
                        (double)t->data[i], expected[i], tol);
            _fail(file, line);
            return;
        }
    }
}

void cg_assert_errmsg_contains(const char *needle, const char *file, int line)
{
    if (strstr(cg_errmsg(), needle))
        return;
    print_error("error message \"%s\" does not contain \"%s\"\n", cg_errmsg(), needle);
    _fail(file, line);
}

/* ---- the test allocator -------------------------------------------------- */

struct cg_test_alloc cg_test_alloc;
static unsigned alloc_flags;            /* CG_TEST_ALLOC_*, set at install */

/* Whether this allocation may go ahead; counts it either way. */
static bool test_alloc_admit(size_t size)
{
    cg_test_alloc.calls++;
    if (size > cg_test_alloc.largest)
        cg_test_alloc.largest = size;
    if (cg_test_alloc.allow == 0) {
        if (alloc_flags & CG_TEST_ALLOC_ONCE)
            cg_test_alloc.allow = -1;       /* this one fails, the rest succeed */
        return false;
    }
    if (cg_test_alloc.allow > 0)
        cg_test_alloc.allow--;
    return true;
}

static void *test_alloc_malloc(size_t size, void *ctx)
{
    void *p;

    (void)ctx;
    if (!test_alloc_admit(size) || !(p = malloc(size)))
        return NULL;
    cg_test_alloc.live++;
    return p;
}

static void *test_alloc_realloc(void *ptr, size_t size, void *ctx)
{
    void *p;

    (void)ctx;
    if (!test_alloc_admit(size) || !(p = realloc(ptr, size)))
        return NULL;                        /* ptr stays live */
    if (!ptr)
        cg_test_alloc.live++;
    return p;
}

static void test_alloc_free(void *ptr, void *ctx)
{
    (void)ctx;
    if (!ptr)
        return;
    cg_test_alloc.live--;
    free(ptr);
}

void cg_test_alloc_resume(void)
{
    struct cg_allocator a = {test_alloc_malloc, test_alloc_realloc, test_alloc_free, NULL};

    if (alloc_flags & CG_TEST_ALLOC_NO_REALLOC)
        a.realloc = NULL;
    cg_set_allocator(&a);
}

void cg_test_alloc_install(long allow, unsigned flags)
{
    alloc_flags = flags;
    cg_test_alloc = (struct cg_test_alloc){.allow = allow};
    cg_test_alloc_resume();
}

void cg_test_alloc_remove(void)
{
    cg_set_allocator(NULL);
}

void cg_test_walk_dataset_allocations(cg_dataset *(*load)(void *ctx), void *ctx, long max)
{
    for (long n = 0;; n++) {
        cg_test_alloc_install(n, CG_TEST_ALLOC_ONCE | CG_TEST_ALLOC_NO_REALLOC);
        cg_dataset *ds = load(ctx);
        cg_dataset_free(ds);
        cg_test_alloc_remove();
        assert_int_equal(cg_test_alloc.live, 0);
        if (ds)
            break;
        assert_int_equal(cg_errcode(), CG_ERR_NOMEM);
        assert_true(n < max);
    }
}

int cg_test_dir_make(char *dir, size_t size, const char *stem)
{
    if (snprintf(dir, size, "/tmp/%sXXXXXX", stem) >= (int)size)
        return -1;
    return mkdtemp(dir) ? 0 : -1;
}

int cg_test_dir_remove(const char *dir)
{
    char cmd[PATH_MAX + 16];

    if (!dir[0])
        return 0;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

const char *cg_test_path(const char *dir, int k, const char *rel)
{
    static char paths[CG_TEST_PATHS][PATH_MAX];

    assert_true(k >= 0 && k < CG_TEST_PATHS);
    snprintf(paths[k], sizeof paths[k], "%s/%s", dir, rel);
    return paths[k];
}

void cg_test_write_safetensors(const char *path, const char *json, size_t data_len)
{
    size_t hn = strlen(json), n = 8 + hn + data_len;
    unsigned char *b = calloc(1, n);
    assert_non_null(b);
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)((uint64_t)hn >> (8 * i));
    memcpy(b + 8, json, hn);
    for (size_t i = 0; i + 4 <= data_len; i += 4) {
        float v = (float)(i / 4 + 1);
        memcpy(b + 8 + hn + i, &v, 4);
    }
    cg_test_write_file(path, b, n, false);
    free(b);
}

void cg_test_write_file(const char *path, const void *p, size_t n, bool gz)
{
    if (gz) {
        gzFile f = gzopen(path, "wb");
        assert_non_null(f);
        assert_int_equal(gzwrite(f, p, (unsigned)n), (int)n);
        assert_int_equal(gzclose(f), Z_OK);
        return;
    }
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

void cg_test_skipping(const char *fmt, ...)
{
    va_list ap;
    fflush(stdout);
    printf("cg_test: skipped: ");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
}
