/*
 * make test's own summary (tests/run.sh): it counts the skipped tests and
 * says why each was skipped. The test runs tests/run.sh on this very
 * program started in a demonstration mode (CG_TEST_RUN_DEMO set), whose
 * tests pass, skip with a reason, skip without one and (CG_TEST_RUN_DEMO
 * = fail) fail.
 */
#define _GNU_SOURCE
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cg_test.h"

/* ---- the demonstration group ------------------------------------------------------ */

static void demo_passes(void **state)
{
    (void)state;
    assert_true(1);
}

static void demo_skips_with_reason(void **state)
{
    (void)state;
    cg_test_skipping("no unicorn in this machine");
    skip();
}

static void demo_skips_silently(void **state)
{
    (void)state;
    skip();
}

static void demo_fails_if_asked(void **state)
{
    (void)state;
    assert_string_not_equal(getenv("CG_TEST_RUN_DEMO"), "fail");
}

static int demo(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(demo_passes),
        cmocka_unit_test(demo_skips_with_reason),
        cmocka_unit_test(demo_skips_with_reason),
        cmocka_unit_test(demo_skips_silently),
        cmocka_unit_test(demo_fails_if_asked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* ---- the test ------------------------------------------------------------------------- */

static char out[1 << 16];

/* tests/run.sh on this program in demo mode `mode`: its exit status, the
 * output in out. */
static int run_sh(const char *mode)
{
    char self[PATH_MAX], cmd[3 * PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    assert_true(n > 0);
    self[n] = '\0';
    snprintf(cmd, sizeof cmd, "CG_TEST_RUN_DEMO=%s tests/run.sh '%s' '%s' 2>&1", mode, self,
             self);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t len = fread(out, 1, sizeof out - 1, p);
    out[len] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_summary_counts_skips_and_says_why(void **state)
{
    (void)state;
    char name[PATH_MAX], want[PATH_MAX + 128];
    ssize_t n = readlink("/proc/self/exe", name, sizeof name - 1);
    assert_true(n > 0);
    name[n] = '\0';
    const char *base = strrchr(name, '/') + 1;

    assert_int_equal(run_sh("pass"), 0);
    /* two programs (the same one twice): 2 passed and 6 skipped in all */
    const char *summary = strstr(out, "tests: 4 passed, 0 failed, 6 skipped\n");
    if (!summary)
        fail_msg("no summary line 'tests: 4 passed, 0 failed, 6 skipped' in:\n%s", out);
    /* one line per program and reason, sorted */
    snprintf(want, sizeof want, "  skipped 2 x %s: no reason given\n"
             "  skipped 4 x %s: no unicorn in this machine\n", base, base);
    assert_string_equal(strchr(summary, '\n') + 1, want);

    assert_int_equal(run_sh("fail"), 1);
    assert_non_null(strstr(out, "tests: 2 passed, 2 failed, 6 skipped\n"));
}

int main(void)
{
    if (getenv("CG_TEST_RUN_DEMO"))
        return demo();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_summary_counts_skips_and_says_why),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
