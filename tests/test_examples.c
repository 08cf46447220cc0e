/* Runs the example programs (built by `make examples`, which `make test`
 * does first): each exits 0 only if its network learned. BUILD from the
 * environment names the build folder (default "build"). Run from the top
 * of the source tree. */
#define _GNU_SOURCE   /* realpath */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "cg_test.h"

static int run_example(const char *name)
{
    const char *build = getenv("BUILD");
    char cmd[512];
    int rc;

    snprintf(cmd, sizeof cmd, "%s/examples/%s > /dev/null", build && *build ? build : "build",
             name);
    rc = system(cmd);
    return rc != -1 && WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static void test_xor_learns(void **state)
{
    (void)state;
    assert_int_equal(run_example("xor"), 0);
}

static void test_regression_learns(void **state)
{
    (void)state;
    assert_int_equal(run_example("regression"), 0);
}

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return strdup(buf);
}

/* examples/fit.c in a folder of its own: trains iris with early stopping,
 * and run again resumes from its checkpoint to the same result. */
static void test_fit_stops_early_and_runs_again_to_the_same_end(void **state)
{
    (void)state;
    const char *build = getenv("BUILD");
    char dir[64], prog[PATH_MAX], rel[PATH_MAX], data[PATH_MAX], cmd[5 * PATH_MAX];
    snprintf(rel, sizeof rel, "%s/examples/fit", build && *build ? build : "build");
    assert_non_null(realpath(rel, prog));
    assert_non_null(realpath("examples/data/iris.csv", data));
    assert_int_equal(cg_test_dir_make(dir, sizeof dir, "cg_fit_"), 0);
    snprintf(cmd, sizeof cmd, "cd %s && %s %s > first.txt && %s %s > again.txt", dir, prog,
             data, prog, data);
    int rc = system(cmd);
    char *first = read_all(cg_test_path(dir, 0, "first.txt"));
    char *again = read_all(cg_test_path(dir, 1, "again.txt"));
    int epochs = 0, best = 0;
    double acc = 0;
    assert_int_equal(rc, 0);
    assert_int_equal(sscanf(first, "%d epochs, the best was epoch %d: validation accuracy %lf",
                            &epochs, &best, &acc), 3);
    assert_int_equal(epochs, best + 20);   /* patience 20: it stopped early */
    assert_true(acc >= 0.9);
    assert_string_equal(first, again);
    free(first);
    free(again);
    assert_int_equal(cg_test_dir_remove(dir), 0);
}

/* README's embedding section shows examples/fit.c as it is. */
static void test_readme_shows_fit_c(void **state)
{
    (void)state;
    char *readme = read_all("README.md"), *fit = read_all("examples/fit.c");
    if (!strstr(readme, fit))
        fail_msg("README.md does not show examples/fit.c as it is");
    free(readme);
    free(fit);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_xor_learns),
        cmocka_unit_test(test_regression_learns),
        cmocka_unit_test(test_fit_stops_early_and_runs_again_to_the_same_end),
        cmocka_unit_test(test_readme_shows_fit_c),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
