/* Runs the example programs (built by `make examples`, which `make test`
 * does first): each exits 0 only if its network learned. BUILD from the
 * environment names the build folder (default "build"). */
#include <stdio.h>
#include <stdlib.h>
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_xor_learns),
        cmocka_unit_test(test_regression_learns),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
