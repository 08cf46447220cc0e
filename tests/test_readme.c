/*
 * The README's promises about installing and embedding: `make install`
 * with DESTDIR puts the libraries, headers, cgrad.pc and the program in
 * place, and the README's C example compiles with pkg-config against the
 * installed copy, runs, and learns XOR. Skipped in the sanitizer build
 * (make check), whose libraries need the sanitizer runtime to link.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cg_test.h"

static char dir[64];

static int run(const char *cmd)
{
    int rc = system(cmd);
    return rc == -1 ? -1 : WEXITSTATUS(rc);
}

static int setup(void **state)
{
    (void)state;
    return cg_test_dir_make(dir, sizeof dir, "cgrad_readme_");
}

static int teardown(void **state)
{
    (void)state;
    return cg_test_dir_remove(dir);
}

static const char *build_dir(void)
{
    const char *b = getenv("BUILD");
    return b && *b ? b : "build";
}

static void test_make_install_puts_everything_in_place(void **state)
{
    char cmd[512], path[256];
    static const char *const files[] = {
        "lib/libcgrad.a", "lib/libcgrad64.a", "lib/pkgconfig/cgrad.pc", "bin/cgrad",
        "include/cgrad/cgrad.h", "include/cgrad/tensor/tensor.h",
        "include/cgrad/autograd/autograd.h", "include/cgrad/nn/nn.h",
        "include/cgrad/optim/optim.h", "include/cgrad/data/data.h",
        "include/cgrad/train/train.h",
    };
    (void)state;
    if (getenv("CG_SKIP_INSTALL_TEST"))
        skip();
    snprintf(cmd, sizeof cmd, "make -s install BUILD=%s PREFIX=/usr/local DESTDIR=%s/root "
             ">%s/install.log 2>&1", build_dir(), dir, dir);
    assert_int_equal(run(cmd), 0);
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/root/usr/local/%s", dir, files[i]);
        if (access(path, R_OK) != 0)
            fail_msg("make install did not install %s", path);
    }
}

static void test_readme_example_compiles_with_pkg_config_and_learns(void **state)
{
    char cmd[1024], line[256];
    double loss = 1;
    FILE *out;
    (void)state;
    if (getenv("CG_SKIP_INSTALL_TEST"))
        skip();
    /* The example is the C block that starts with its file name. */
    snprintf(cmd, sizeof cmd, "awk '/^\\/\\* xor.c/,/^}$/' README.md > %s/xor.c", dir);
    assert_int_equal(run(cmd), 0);
    snprintf(cmd, sizeof cmd,
             "cd %s && PKG_CONFIG_PATH=%s/root/usr/local/lib/pkgconfig "
             "PKG_CONFIG_SYSROOT_DIR=%s/root "
             "sh -c 'cc -std=c11 -Wall -Wextra -Werror xor.c "
             "$(pkg-config --cflags --libs --static cgrad) -o xor' >build.log 2>&1",
             dir, dir, dir);
    assert_int_equal(run(cmd), 0);
    snprintf(cmd, sizeof cmd, "%s/xor", dir);
    out = popen(cmd, "r");
    assert_non_null(out);
    int lines = 0;
    while (fgets(line, sizeof line, out))
        lines += sscanf(line, "step %*d loss %lf", &loss) == 1;
    assert_int_equal(pclose(out), 0);
    assert_int_equal(lines, 5);
    assert_true(loss < 0.01);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_make_install_puts_everything_in_place),
        cmocka_unit_test(test_readme_example_compiles_with_pkg_config_and_learns),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
