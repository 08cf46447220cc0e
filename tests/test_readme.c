/*
 * The README's promises about installing and embedding:
 * - `make install` with DESTDIR puts the static and shared libraries (with
 *   their soname links), the headers, cgrad.pc, cgrad64.pc, the program, its
 *   man page and completion in place, the .pc files name the PREFIX, and
 *   `make uninstall` removes every file again;
 * - after `make` (default PREFIX) and `make install PREFIX=<temp>`, the
 *   README's C example, taken from README.md as it stands, builds with the
 *   very `cc` command lines of README's Install section, shared and
 *   -static, runs and learns XOR. The float test program checks cgrad, the
 *   double one cgrad64 (README: "cgrad64 in place of cgrad");
 * - `make install PREFIX=DIR` is found there by the shell, man (MANPATH)
 *   and bash completion.
 * These are skipped in the sanitizer build (make check), whose libraries
 * need the sanitizer runtime to link.
 *
 * And the tour: every command of the README's "A tour" section (its sh
 * blocks, in order, as written) runs in a fresh folder holding only links
 * to examples/ and the build folder, with a PATH without cgrad, so the
 * tour's own `export PATH=$PWD/build:$PATH` is what finds the program.
 * `make` is a no-op there (this program was built by make already). The
 * lines marked `# after make demo` need Fashion-MNIST: a second run
 * includes them where it is installed, and is skipped elsewhere.
 */
#define _GNU_SOURCE
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cg_test.h"
#include "cg_cli.h"

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
        "include/cgrad/data/data.h", "include/cgrad/train/train.h",
        "share/man/man1/cgrad.1", "share/bash-completion/completions/cgrad",
    };
    (void)state;
    if (getenv("CG_SKIP_INSTALL_TEST")) {
        cg_test_skipping("make check: sanitized libraries do not link without their runtime");
        skip();
    }
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
    if (getenv("CG_SKIP_INSTALL_TEST")) {
        cg_test_skipping("make check: sanitized libraries do not link without their runtime");
        skip();
    }
    /* The build was made with the default PREFIX: install must write the
     * .pc files for this one. */
    snprintf(cmd, sizeof cmd, "make -s install BUILD=%s PREFIX=%s/prefix >%s/install2.log 2>&1",
             build_dir(), dir, dir);
    assert_int_equal(run(cmd), 0);
    /* The example is the C block that starts with its file name. */
    snprintf(cmd, sizeof cmd, "awk '/^\\/\\* xor.c/,/^}$/' README.md > %s/xor.c", dir);
    assert_int_equal(run(cmd), 0);
    build_and_run("-rpath", true);
    /* With Open MPI built in, -static needs a static libmpi, which Debian
     * does not ship (README, Install). */
    snprintf(cmd, sizeof cmd, "PKG_CONFIG_PATH=%s/prefix/lib/pkgconfig pkg-config --static "
             "--libs " PC_NAME " | grep -q -- -lmpi && "
             "! test -e \"$(pkg-config --variable=libdir ompi-c)/libmpi.a\"", dir);
    if (run(cmd) == 0) {
        cg_test_skipping("Open MPI is built in and there is no static libmpi.a: a -static "
                         "program cannot link (README, Install)");
        skip();
    }
    build_and_run("-static", false);
}

static void test_make_install_prefix_is_found_by_shell_man_and_bash(void **state)
{
    char cmd[2048], out[4096];
    (void)state;
    if (getenv("CG_SKIP_INSTALL_TEST")) {
        cg_test_skipping("make check: sanitized libraries do not link without their runtime");
        skip();
    }
    snprintf(cmd, sizeof cmd, "make -s install BUILD=%s PREFIX=%s/home >%s/install2.log 2>&1",
             build_dir(), dir, dir);
    assert_int_equal(run(cmd), 0);
    /* the program on PATH, the page on MANPATH, cgrad.pc naming the prefix */
    snprintf(cmd, sizeof cmd,
             "cd %s && export PATH=$PWD/home/bin:/usr/bin:/bin MANPATH=$PWD/home/share/man && "
             "{ cgrad version && man -w cgrad && MANWIDTH=80 man cgrad 2>&1 | grep -m1 -c '^       "
             "--optim' && pkg-config --variable=prefix home/lib/pkgconfig/cgrad.pc && "
             "bash -c 'source home/share/bash-completion/completions/cgrad; "
             "COMP_WORDS=(cgrad predict --t); COMP_CWORD=2; _cgrad; echo \"${COMPREPLY[*]}\"'; "
             "} >out.txt 2>&1", dir);
    int rc = run(cmd);
    snprintf(cmd, sizeof cmd, "%s/out.txt", dir);
    FILE *f = fopen(cmd, "r");
    assert_non_null(f);
    out[fread(out, 1, sizeof out - 1, f)] = '\0';
    fclose(f);
    if (rc != 0)
        fail_msg("the installed copy: %s", out);
    snprintf(cmd, sizeof cmd, "cgrad %s (", CG_VERSION);
    assert_non_null(strstr(out, cmd));
    snprintf(cmd, sizeof cmd, "\n%s/home/share/man/man1/cgrad.1\n1\n%s/home\n--threads --top\n",
             dir, dir);
    assert_string_equal(strchr(out, '\n'), cmd);
    /* make uninstall takes all of it away */
    snprintf(cmd, sizeof cmd, "make -s uninstall PREFIX=%s/home >/dev/null 2>&1 && "
             "test -z \"$(find %s/home -type f)\"", dir, dir);
    assert_int_equal(run(cmd), 0);
}

/* ---- the tour ------------------------------------------------------------------ */

static const char *const FASHION = "/usr/share/datasets/fashion-mnist";

/* The commands of README's "## A tour" section: the lines of its ```sh
 * blocks, in order; without the ones marked `# after make demo` unless
 * `demo`. Returns the number of commands; the script goes to path. */
static int write_tour(const char *path, bool demo)
{
    FILE *in = fopen("README.md", "r"), *out = fopen(path, "w");
    char line[1024];
    bool tour = false, sh = false;
    int n = 0;
    assert_non_null(in);
    assert_non_null(out);
    fputs("set -e\nmake() { :; }   # built by make already\n", out);
    while (fgets(line, sizeof line, in)) {
        if (strncmp(line, "## ", 3) == 0)
            tour = strcmp(line, "## A tour\n") == 0;
        else if (tour && strncmp(line, "```", 3) == 0)
            sh = !sh && strcmp(line, "```sh\n") == 0;
        else if (tour && sh && (demo || !strstr(line, "# after make demo"))) {
            size_t len = strlen(line);
            fputs(line, out);
            /* a continued line is one command with the next; a blank one none */
            n += len > 1 && line[len - 2] != '\\';
        }
    }
    fclose(in);
    assert_int_equal(fclose(out), 0);
    return n;
}

static struct cg_cli tour;

/* Run the tour in a new folder; its stdout ends up in tour.out. */
static void run_tour(bool demo)
{
    char script[PATH_MAX];
    assert_int_equal(cg_cli_setup(&tour, "cgrad-tour-"), 0);
    snprintf(script, sizeof script, "%s/tour.sh", tour.dir);
    int n = write_tour(script, demo);
    assert_true(n >= 10);
    /* build -> the build folder; PATH without cgrad: the tour's export finds it */
    int rc = cg_cli_run(&tour, "ln -s '%s' build && PATH=/usr/bin:/bin && "
                        "! command -v cgrad >/dev/null && sh -x ./tour.sh", tour.bin);
    if (rc != 0)
        fail_msg("README's tour (%d commands) stopped with status %d:\n%s\n%s", n, rc,
                 tour.out, tour.err);
}

static void check_tour_results(void)
{
    static const char *const files[] = {"iris.safetensors", "iris-metrics.csv", "iris.svg",
                                        "confusion.svg", "photos.safetensors"};
    char path[PATH_MAX];
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", tour.dir, files[i]);
        if (access(path, R_OK) != 0)
            fail_msg("the tour wrote no %s", files[i]);
    }
    /* the figures the README quotes */
    assert_non_null(strstr(tour.out, "\naccuracy 0.9600\n"));
    assert_non_null(strstr(tour.out, "examples/data/iris-new.csv:1  setosa 0.9991  "
                           "versicolor 0.0009\n"));
    assert_non_null(strstr(tour.out, "\nstdin:1  setosa 0.9991\n"));
    assert_non_null(strstr(tour.out, "\nexamples/data/new-photos/6.png  bag "));
}

static void test_readme_tour_runs_as_written(void **state)
{
    (void)state;
    run_tour(false);
    check_tour_results();
    assert_int_equal(cg_cli_teardown(&tour), 0);
}

static void test_readme_tour_with_fashion_mnist(void **state)
{
    (void)state;
#ifdef CG_DOUBLE
    cg_test_skipping("the Fashion-MNIST tour runs once, in the float build's test");
    skip();
#endif
    if (getenv("CG_SKIP_INSTALL_TEST")) {
        cg_test_skipping("make check: 5 epochs of Fashion-MNIST under the sanitizers are slow; "
                         "make test runs them");
        skip();
    }
    if (access(FASHION, R_OK) != 0) {
        cg_test_skipping("the tour's two `# after make demo` commands: no %s (make demo "
                         "installs it)", FASHION);
        skip();
    }
    run_tour(true);
    check_tour_results();
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/fashion.safetensors", tour.dir);
    assert_int_equal(access(path, R_OK), 0);
    assert_non_null(strstr(tour.out, "\nexamples/data/new-photos/1.png  "));
    assert_int_equal(cg_cli_teardown(&tour), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_make_install_and_uninstall_with_destdir),
        cmocka_unit_test(test_readme_example_builds_shared_and_static_after_install),
        cmocka_unit_test(test_make_install_prefix_is_found_by_shell_man_and_bash),
        cmocka_unit_test(test_readme_tour_runs_as_written),
        cmocka_unit_test(test_readme_tour_with_fashion_mnist),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
