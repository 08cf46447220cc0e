/*
 * The exercises of examples/exercises/ (docs/LEARNING.md), built by `make
 * tests` against the double library: every learner's file as shipped (the
 * blank) fails, every solution passes, and every planted mistake
 * (tests/exercises/NAME-what.sed, applied to the solution) fails with the
 * diagnosis its first line names ("# expect: factor"). The exercises and
 * their mistakes are found by listing the folders, so a new one is checked
 * without a change here. Runs in the double build only (the programs are
 * the same for both); `make exercises-check` runs it alone.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "cg_test.h"

static char out[1 << 14];

static const char *build_dir(void)
{
    const char *b = getenv("BUILD");
    return b && *b ? b : "build";
}

/* Run $BUILD/exercises/<path>; its stdout lands in out. Returns the exit status. */
static int run(const char *path)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "%s/exercises/%s", build_dir(), path);
    FILE *p = popen(cmd, "r");
    size_t n = p ? fread(out, 1, sizeof out - 1, p) : 0;
    out[n] = '\0';
    int st = p ? pclose(p) : -1;
    return st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The names of dir's files ending in suffix, without it; returns the count. */
static int list(const char *dir, const char *suffix, char names[][64], int max)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    assert_non_null(d);
    while ((e = readdir(d)) && n < max) {
        size_t len = strlen(e->d_name), sl = strlen(suffix);
        if (len > sl && strcmp(e->d_name + len - sl, suffix) == 0 && len - sl < 64)
            snprintf(names[n++], 64, "%.*s", (int)(len - sl), e->d_name);
    }
    closedir(d);
    return n;
}

static void skip_in_float(void)
{
#ifndef CG_DOUBLE
    cg_test_skipping("the exercises are checked in the double build's run");
    skip();
#endif
}

static void test_every_blank_fails_with_nothing_accumulated(void **state)
{
    char names[64][64];
    (void)state;
    skip_in_float();
    int n = list("examples/exercises", ".c", names, 64);
    assert_true(n >= 8);
    for (int i = 0; i < n; i++) {
        if (run(names[i]) != 1 || !strstr(out, "verdict: FAIL (zero)"))
            fail_msg("blank %s: %s", names[i], out);
        assert_non_null(strstr(out, "docs/"));   /* it says where the math is */
    }
}

static void test_every_solution_passes(void **state)
{
    char names[64][64], path[128];
    (void)state;
    skip_in_float();
    int n = list("examples/exercises/solutions", ".c", names, 64);
    assert_int_equal(n, list("examples/exercises", ".c", names, 64));
    for (int i = 0; i < n; i++) {
        snprintf(path, sizeof path, "solutions/%.63s", names[i]);
        if (run(path) != 0 || !strstr(out, "verdict: PASS"))
            fail_msg("solution %s: %s", names[i], out);
    }
}

/* The diagnosis a mistake's .sed file expects: its first line. */
static void expected(const char *name, char *want)
{
    char path[128], line[128] = "";
    snprintf(path, sizeof path, "tests/exercises/%.63s.sed", name);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    if (!fgets(line, sizeof line, f) || sscanf(line, "# expect: %63s", want) != 1) /* want: [64] */
        fail_msg("%s: the first line is not '# expect: PATTERN'", path);
    fclose(f);
}

static void test_planted_mistakes_get_their_diagnosis(void **state)
{
    char names[64][64], path[128], want[64], verdict[96];
    (void)state;
    skip_in_float();
    int n = list("tests/exercises", ".sed", names, 64);
    assert_true(n >= 10);
    for (int i = 0; i < n; i++) {
        expected(names[i], want);
        snprintf(path, sizeof path, "mistakes/%.63s", names[i]);
        snprintf(verdict, sizeof verdict, "verdict: FAIL (%s)", want);
        if (run(path) != 1 || !strstr(out, verdict))
            fail_msg("mistake %s: wanted '%s', got:\n%s", names[i], verdict, out);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_blank_fails_with_nothing_accumulated),
        cmocka_unit_test(test_every_solution_passes),
        cmocka_unit_test(test_planted_mistakes_get_their_diagnosis),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
