/*
 * `cgrad graph SPEC|MODEL [--out FILE.dot|svg] [--batch N] [--loss ce|mse]`:
 * build one training step of a model (a spec such as 4-16-3, or a model
 * file) on a batch of random inputs and write its autograd graph as DOT
 * (cg_graph_dot): on stdout, to FILE.dot, or drawn to FILE.svg by
 * Graphviz's dot. Files are written to FILE.tmp and renamed.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "model_file.h"
#include "options.h"

/* The model of the argument: a file if one exists by that name, else a
 * spec with random weights. */
static int open_model(const char *arg, struct cli_model_file *mf, cg_model **m, bool *mse,
                      cg_rng *rng)
{
    if (access(arg, F_OK) == 0) {
        int rc = cli_model_open(mf, arg);
        *m = mf->model;
        *mse = mf->mse;
        return rc;
    }
    cg_clear_error();
    if (!(*m = cg_model_from_spec(arg)))
        return cli_usage_error("graph", "'%s' is no file, and not a model spec: %s", arg,
                               cg_errmsg());
    if (cg_model_init(*m, CG_INIT_DEFAULT, rng) != CG_OK)
        return cli_error("%s", cg_errmsg());
    return CLI_OK;
}

/* One step's forward on random inputs [B, in]: the loss, or NULL. */
static cg_tensor *forward(cg_graph *g, cg_model *m, int batch, bool mse, int *labels,
                          cg_rng *rng, cg_tensor **x)
{
    int in = cg_model_input_size(m), out = cg_model_output_size(m);
    cg_tensor *y;

    *x = cg_graph_tensor(g, 2, (int[]){batch, in});
    if (!*x)
        return NULL;
    cg_tensor_rand_uniform(*x, rng, -1, 1);
    y = cg_model_forward(g, m, *x, rng);
    if (!mse) {
        for (int n = 0; n < batch; n++)
            labels[n] = (int)cg_rng_below(rng, (uint32_t)out);
        return cg_cross_entropy(g, y, labels);
    }
    cg_tensor *target = cg_graph_tensor(g, 2, (int[]){batch, out});
    if (target)
        cg_tensor_rand_uniform(target, rng, -1, 1);
    return cg_mse_loss(g, y, target);
}

/* The DOT text in a malloc'd buffer (*len bytes). */
static char *dot_text(const cg_graph *g, const cg_tensor *loss, cg_model *m,
                      const cg_tensor *x, size_t *len)
{
    int n = 0;
    const struct cg_param *params = cg_model_params(m, &n);
    struct cg_dot_name *names = calloc((size_t)n + 1, sizeof *names);
    char *buf = NULL;
    FILE *f;

    if (!names)
        return NULL;
    for (int i = 0; i < n; i++)
        names[i] = (struct cg_dot_name){params[i].tensor, params[i].name};
    names[n] = (struct cg_dot_name){x, "x (a batch)"};
    if ((f = open_memstream(&buf, len)) != NULL) {
        if (cg_graph_dot(g, loss, names, n + 1, f) != CG_OK) {
            fclose(f);
            free(buf);
            buf = NULL;
        } else if (fclose(f) != 0) {
            free(buf);
            buf = NULL;
        }
    }
    free(names);
    return buf;
}

/* Run `dot -Tsvg -o tmp` with the DOT text on its stdin; 127: no dot. */
static int run_dot(const char *text, size_t len, const char *tmp)
{
    int fd[2], status = 0;
    pid_t pid;

    if (pipe(fd) != 0 || (pid = fork()) < 0)
        return -1;
    if (pid == 0) {
        dup2(fd[0], 0);
        close(fd[0]);
        close(fd[1]);
        execlp("dot", "dot", "-Tsvg", "-o", tmp, (char *)NULL);
        _exit(127);
    }
    close(fd[0]);
    for (size_t off = 0; off < len;) {
        ssize_t w = write(fd[1], text + off, len - off);
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    close(fd[1]);
    if (waitpid(pid, &status, 0) < 0)
        return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int write_svg(const char *path, const char *text, size_t len)
{
    size_t n = strlen(path) + 5;
    char *tmp = malloc(n);
    int rc;

    if (!tmp)
        return cli_error("out of memory");
    snprintf(tmp, n, "%s.tmp", path);
    rc = run_dot(text, len, tmp);
    if (rc == 0 && rename(tmp, path) != 0)
        rc = cli_error("%s: cannot write: %s", path, strerror(errno));
    else if (rc == 127)
        rc = cli_error("%s: Graphviz's dot is not installed (apt install graphviz); "
                       "--out FILE.dot writes the DOT text", path);
    else if (rc != 0)
        rc = cli_error("%s: dot -Tsvg failed (status %d)", path, rc);
    if (rc != CLI_OK)
        remove(tmp);
    free(tmp);
    return rc;
}

static int write_out(const struct cli_settings *s, const char *text, size_t len)
{
    if (!s->graph_out)
        return fwrite(text, 1, len, stdout) == len ? CLI_OK
                                                   : cli_error("stdout: write failed");
    if (cli_has_suffix(s->graph_out, ".svg"))
        return write_svg(s->graph_out, text, len);
    return cli_write_file_atomic(s->graph_out, text, len);
}

int cli_graph(int argc, char **argv)
{
    struct cli_settings s;
    struct cli_model_file mf;
    cg_model *m = NULL;
    cg_graph *g = NULL;
    cg_tensor *x = NULL, *loss;
    int *labels = NULL;
    char *text = NULL;
    size_t len = 0;
    bool mse = false;
    cg_rng rng;

    cli_settings_defaults(&s);
    int rc = cli_parse(CLI_CMD_GRAPH, argc, argv, &s);
    if (rc != CLI_OK)
        return rc < 0 ? CLI_OK : rc;
    memset(&mf, 0, sizeof mf);
    cg_rng_seed(&rng, s.seed);
    if ((rc = open_model(s.positional[0], &mf, &m, &mse, &rng)) != CLI_OK)
        goto out;
    if (s.loss != CLI_LOSS_AUTO)
        mse = s.loss == CLI_LOSS_MSE;
    g = cg_graph_new();
    labels = malloc((size_t)s.batch * sizeof *labels);
    if (!g || !labels || !(loss = forward(g, m, s.batch, mse, labels, &rng, &x)) ||
        !(text = dot_text(g, loss, m, x, &len))) {
        rc = cli_error("%s", cg_errmsg()[0] ? cg_errmsg() : "out of memory");
        goto out;
    }
    rc = write_out(&s, text, len);
out:
    free(text);
    free(labels);
    cg_graph_free(g);
    if (mf.model)
        cli_model_close(&mf);
    else
        cg_model_free(m);
    return rc;
}
