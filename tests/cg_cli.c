/* Running the cgrad program from the end-to-end tests (see cg_cli.h). */
#define _GNU_SOURCE
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cg_test.h"
#include "cg_cli.h"

int cg_cli_system(const char *cmd)
{
    int st = system(cmd);
    if (st == -1)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void slurp(const struct cg_cli *c, const char *name, char *buf, size_t n)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", c->dir, name);
    FILE *f = fopen(path, "rb");
    size_t len = f ? fread(buf, 1, n - 1, f) : 0;
    buf[len] = '\0';
    if (f)
        fclose(f);
}

int cg_cli_setup(struct cg_cli *c, const char *stem)
{
    const char *build = getenv("BUILD");
    char rel[PATH_MAX], prog[PATH_MAX + 16], link[PATH_MAX + 16];
    snprintf(rel, sizeof rel, "%s/cgrad", build && *build ? build : "build");
    if (!realpath(rel, prog) || !getcwd(c->src, sizeof c->src)) {
        fprintf(stderr, "%s not found (build it first)\n", rel);
        return -1;
    }
    /* the folder of the program as named: BUILD's wrapper may be a link */
    snprintf(rel, sizeof rel, "%s", build && *build ? build : "build");
    if (!realpath(rel, c->bin))
        return -1;
    if (cg_test_dir_make(c->dir, sizeof c->dir, stem) != 0)
        return -1;
    snprintf(link, sizeof link, "%s/examples", c->dir);
    snprintf(prog, sizeof prog, "%s/examples", c->src);
    return symlink(prog, link) == 0 ? 0 : -1;
}

int cg_cli_teardown(struct cg_cli *c)
{
    return cg_test_dir_remove(c->dir);
}

static int run_v(struct cg_cli *c, const char *fmt, va_list ap)
{
    char text[8192], cmd[8192 + 3 * PATH_MAX];
    vsnprintf(text, sizeof text, fmt, ap);
    snprintf(cmd, sizeof cmd,
             "cd '%s' && PATH='%s':\"$PATH\" && export PATH && { %s\n} >stdout.txt "
             "2>stderr.txt </dev/null", c->dir, c->bin, text);
    c->status = cg_cli_system(cmd);
    slurp(c, "stdout.txt", c->out, sizeof c->out);
    slurp(c, "stderr.txt", c->err, sizeof c->err);
    return c->status;
}

int cg_cli_run(struct cg_cli *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = run_v(c, fmt, ap);
    va_end(ap);
    return rc;
}

void cg_cli_expect(struct cg_cli *c, int want, const char *fmt, ...)
{
    char text[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    if (cg_cli_run(c, "%s", text) != want)
        fail_msg("`%s` exited %d, not %d\nstdout: %s\nstderr: %s", text, c->status, want,
                 c->out, c->err);
}

void cg_cli_write(const struct cg_cli *c, const char *name, const char *text)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", c->dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

void cg_cli_name_inputs(const struct cg_cli *c, const char *from, const char *to,
                        const char *const *names, int n)
{
    char in[PATH_MAX], out[PATH_MAX];
    struct cg_model_meta meta;
    snprintf(in, sizeof in, "%s/%s", c->dir, from);
    snprintf(out, sizeof out, "%s/%s", c->dir, to);
    cg_model *m = cg_model_load(in, &meta);
    assert_non_null(m);
    struct cg_model_meta copy = meta;
    copy.features = names;
    copy.n_features = n;
    assert_int_equal(cg_model_save(m, out, &copy), CG_OK);
    cg_model_meta_deinit(&meta);
    cg_model_free(m);
}
