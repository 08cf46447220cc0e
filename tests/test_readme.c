/*
 * The README's promises about installing and embedding:
 * - `make install` with DESTDIR puts the static and shared libraries (with
 *   their soname links), the headers, cgrad.pc, cgrad64.pc and the program
 *   in place, the .pc files name the PREFIX, and `make uninstall` removes
 *   every file again;
 * - after `make` (default PREFIX) and `make install PREFIX=<temp>`, the
 *   README's C example, taken from README.md as it stands, builds with the
 *   very `cc` command lines of README's Install section, shared and
 *   -static, runs and learns XOR. The float test program checks cgrad, the
 *   double one cgrad64 (README: "cgrad64 in place of cgrad").
 * Skipped in the sanitizer build (make check), whose libraries need the
 * sanitizer runtime to link.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cg_test.h"

#ifdef CG_DOUBLE
#define PC_NAME "cgrad64"
#else
#define PC_NAME "cgrad"
#endif

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

/* The first line of cmd's output without trailing white space ("" if none). */
static void first_line(const char *cmd, char *out, size_t size)
{
    FILE *p = popen(cmd, "r");
    size_t n;

    assert_non_null(p);
    if (!fgets(out, (int)size, p))
        out[0] = '\0';
    pclose(p);
    for (n = strcspn(out, "\n"); n > 0 && out[n - 1] == ' '; n--)
        ;
    out[n] = '\0';
}

static void assert_installed(const char *root, const char *rel)
{
    char path[512];

    snprintf(path, sizeof path, "%s/%s", root, rel);
    if (access(path, R_OK) != 0)
        fail_msg("make install did not install %s", path);
}

/* libdir/name.so -> name.so.<soname version> -> name.so.<CG_VERSION> */
static void assert_so_links(const char *libdir, const char *name)
{
    char cmd[512], target[256];

    snprintf(cmd, sizeof cmd, "readlink %s/%s.so", libdir, name);
    first_line(cmd, target, sizeof target);
    if (strncmp(target, name, strlen(name)) != 0 || !strstr(target, ".so."))
        fail_msg("%s/%s.so links to \"%s\", not to its soname", libdir, name, target);
    snprintf(cmd, sizeof cmd, "readlink %s/%s", libdir, target);
    first_line(cmd, target, sizeof target);
    snprintf(cmd, sizeof cmd, "%s.so." CG_VERSION, name);
    if (strcmp(target, cmd) != 0)
        fail_msg("%s's soname link points to \"%s\", not %s", name, target, cmd);
    snprintf(cmd, sizeof cmd, "readelf -d %s/%s.so | grep -q 'SONAME.*%s.so'", libdir, name,
             name);
    assert_int_equal(run(cmd), 0);
}

/* pkg-config's answer for a .pc file under root, e.g. "--variable=prefix". */
static void pc_query(const char *pcdir, const char *name, const char *what, char *out,
                     size_t size)
{
    char cmd[512];

    snprintf(cmd, sizeof cmd, "PKG_CONFIG_PATH=%s pkg-config %s %s", pcdir, what, name);
    first_line(cmd, out, size);
}

static void test_make_install_and_uninstall_with_destdir(void **state)
{
    char cmd[512], root[128], pcdir[160], got[256];
    static const char *const files[] = {
        "lib/libcgrad.a", "lib/libcgrad64.a", "lib/libcgrad.so." CG_VERSION,
        "lib/libcgrad64.so." CG_VERSION, "lib/pkgconfig/cgrad.pc",
        "lib/pkgconfig/cgrad64.pc", "bin/cgrad", "include/cgrad/cgrad.h",
        "include/cgrad/tensor/tensor.h", "include/cgrad/autograd/autograd.h",
        "include/cgrad/nn/nn.h", "include/cgrad/optim/optim.h",
        "include/cgrad/data/data.h",
    };
    (void)state;
    if (getenv("CG_SKIP_INSTALL_TEST"))
        skip();
    snprintf(cmd, sizeof cmd, "make -s install BUILD=%s PREFIX=/opt/cg DESTDIR=%s/root "
             ">%s/install.log 2>&1", build_dir(), dir, dir);
    assert_int_equal(run(cmd), 0);
    snprintf(root, sizeof root, "%s/root/opt/cg", dir);
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        assert_installed(root, files[i]);
    snprintf(pcdir, sizeof pcdir, "%s/lib", root);
    assert_so_links(pcdir, "libcgrad");
    assert_so_links(pcdir, "libcgrad64");

    /* The .pc files name the PREFIX, not the DESTDIR staging folder. */
    snprintf(pcdir, sizeof pcdir, "%s/lib/pkgconfig", root);
    pc_query(pcdir, "cgrad", "--variable=prefix", got, sizeof got);
    assert_string_equal(got, "/opt/cg");
    pc_query(pcdir, "cgrad64", "--modversion", got, sizeof got);
    assert_string_equal(got, CG_VERSION);
    pc_query(pcdir, "cgrad64", "--cflags-only-other", got, sizeof got);
    assert_non_null(strstr(got, "-DCG_DOUBLE"));
    pc_query(pcdir, "cgrad", "--cflags-only-other", got, sizeof got);
    assert_null(strstr(got, "-DCG_DOUBLE"));
    pc_query(pcdir, "cgrad64", "--libs-only-l", got, sizeof got);
    assert_string_equal(got, "-lcgrad64");

    snprintf(cmd, sizeof cmd, "make -s uninstall BUILD=%s PREFIX=/opt/cg DESTDIR=%s/root "
             ">>%s/install.log 2>&1", build_dir(), dir, dir);
    assert_int_equal(run(cmd), 0);
    snprintf(cmd, sizeof cmd, "find %s/root ! -type d", dir);
    first_line(cmd, got, sizeof got);
    if (got[0])
        fail_msg("make uninstall left %s", got);
}

/* Every `from` in s: [size] replaced by `to`. */
static void replace_all(char *s, size_t size, const char *from, const char *to)
{
    char tmp[512];
    size_t n = 0, lf = strlen(from);

    for (const char *q = s; *q;) {
        bool hit = strncmp(q, from, lf) == 0;
        const char *piece = hit ? to : (char[]){*q, '\0'};
        size_t lp = strlen(piece);
        assert_true(n + lp < sizeof tmp);
        memcpy(tmp + n, piece, lp);
        n += lp;
        q += hit ? lf : 1;
    }
    tmp[n] = '\0';
    assert_true(n < size);
    memcpy(s, tmp, n + 1);
}

/* README's Install line that contains `key`, with the README's prog.c as
 * xor.c and the module of this build (cgrad or cgrad64). */
static void readme_cc_line(const char *key, char *out, size_t size)
{
    char line[512];
    bool in_install = false;
    FILE *f = fopen("README.md", "r");

    assert_non_null(f);
    out[0] = '\0';
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "## ", 3) == 0)
            in_install = strcmp(line, "## Install\n") == 0;
        else if (in_install && strncmp(line, "cc ", 3) == 0 && strstr(line, key) && !out[0])
            snprintf(out, size, "%s", line);
    }
    fclose(f);
    if (!out[0])
        fail_msg("README.md's Install section has no cc line with %s", key);
    out[strcspn(out, "\n")] = '\0';
    replace_all(out, size, "prog.c", "xor.c");
    replace_all(out, size, "cgrad)", PC_NAME ")");   /* the module in $(pkg-config ...) */
}

/* Build xor.c with README's command (plus warnings as errors and -o), check
 * whether the program needs libcgrad*.so, run it and check it learned. */
static void build_and_run(const char *key, bool shared)
{
    char line[512], cmd[1536], out_name[32];
    double loss = 1;
    int lines = 0;
    FILE *out;

    readme_cc_line(key, line, sizeof line);
    snprintf(out_name, sizeof out_name, "xor_%s", shared ? "shared" : "static");
    snprintf(cmd, sizeof cmd,
             "cd %s && PKG_CONFIG_PATH=%s/prefix/lib/pkgconfig sh -c "
             "'cc -std=c11 -Wall -Wextra -Wpedantic -Werror -o %s %s' >build_%s.log 2>&1",
             dir, dir, out_name, line + 3, out_name);
    if (run(cmd) != 0)
        fail_msg("README's command did not build the example: %s (see %s/build_%s.log)",
                 line, dir, out_name);
    snprintf(cmd, sizeof cmd, "readelf -d %s/%s | grep -q 'NEEDED.*lib%s\\.so'", dir,
             out_name, PC_NAME);
    assert_int_equal(run(cmd), shared ? 0 : 1);
    snprintf(cmd, sizeof cmd, "%s/%s", dir, out_name);
    out = popen(cmd, "r");
    assert_non_null(out);
    while (fgets(line, sizeof line, out))
        lines += sscanf(line, "step %*d loss %lf", &loss) == 1;
    assert_int_equal(pclose(out), 0);
    assert_int_equal(lines, 5);
    assert_true(loss < 0.01);
}

static void test_readme_example_builds_shared_and_static_after_install(void **state)
{
    char cmd[1024];
    (void)state;
    if (getenv("CG_SKIP_INSTALL_TEST"))
        skip();
    /* The build was made with the default PREFIX: install must write the
     * .pc files for this one. */
    snprintf(cmd, sizeof cmd, "make -s install BUILD=%s PREFIX=%s/prefix >%s/install2.log 2>&1",
             build_dir(), dir, dir);
    assert_int_equal(run(cmd), 0);
    /* The example is the C block that starts with its file name. */
    snprintf(cmd, sizeof cmd, "awk '/^\\/\\* xor.c/,/^}$/' README.md > %s/xor.c", dir);
    assert_int_equal(run(cmd), 0);
    build_and_run("-rpath", true);
    build_and_run("-static", false);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_make_install_and_uninstall_with_destdir),
        cmocka_unit_test(test_readme_example_builds_shared_and_static_after_install),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
