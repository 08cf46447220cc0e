/*
 * The cgrad program: command dispatch, `cgrad help`, the version, and the
 * one-line error reporting every command shares.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "options.h"

struct command {
    const char *name;
    enum cli_command id;
    int (*run)(int argc, char **argv);
    const char *summary;
};

static const struct command commands[] = {
    {"train", CLI_CMD_TRAIN, cli_train, "train a model on a CSV file, IDX folder or image folder"},
    {"eval", CLI_CMD_EVAL, cli_eval, "loss, accuracy, per-class figures, confusion matrix"},
    {"predict", CLI_CMD_PREDICT, cli_predict, "classify images or CSV rows with a model"},
    {"gradcheck", CLI_CMD_GRADCHECK, cli_gradcheck, "check every op's gradient numerically"},
    {"info", CLI_CMD_INFO, cli_info, "show what a model file holds"},
    {"graph", CLI_CMD_GRAPH, cli_graph, "draw a model's autograd graph (Graphviz DOT or SVG)"},
    {"export", CLI_CMD_EXPORT, cli_export, "write a model as one standalone C file"},
};
#define N_COMMANDS (sizeof commands / sizeof commands[0])

/* OpenBLAS starts its worker threads in its constructor, before main, and
 * each takes a 128 MB buffer, retrying a failed mmap forever: under
 * `ulimit -v` even `cgrad help` hung at 100% CPU (150 MB), and exit then
 * waited for the stuck thread. cgrad owns OpenBLAS's thread count
 * (--threads, cg_set_blas_threads), so when the address space is limited
 * and OPENBLAS_NUM_THREADS is not set, the program starts itself again with
 * OPENBLAS_NUM_THREADS=1, from a function in its .preinit_array: that runs
 * before any shared library's constructor, but libc's start-up then resets
 * the environment from the original array, so setenv() there would be lost.
 * Without a limit (the normal case) nothing happens. */
#if defined(__linux__) && defined(__GNUC__)
static void blas_starts_single(int argc, char **argv, char **envp)
{
    static char *env[1024];
    static char one[] = "OPENBLAS_NUM_THREADS=1";
    struct rlimit rl;
    int n = 0;

    (void)argc;
    if (getrlimit(RLIMIT_AS, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
        return;
    for (; envp[n]; n++)
        if (n == 1022 || strncmp(envp[n], "OPENBLAS_NUM_THREADS=", 21) == 0)
            return;
    memcpy(env, envp, (size_t)n * sizeof *env);
    env[n] = one;
    env[n + 1] = NULL;
    execve("/proc/self/exe", argv, env);   /* returns only on failure: go on */
}
__attribute__((section(".preinit_array"), used))
static void (*const preinit_blas)(int, char **, char **) = blas_starts_single;
#endif

/* "cgrad: <message>" on stderr, after what stdout holds, without a newline.
 * Control characters (a file's text quoted in the message) are escaped
 * with the library's cg_escape_text: every message is one line. */
static void report(const char *fmt, va_list ap)
{
    char raw[4096], line[4096];
    vsnprintf(raw, sizeof raw, fmt, ap);
    fflush(stdout);
    fputs("cgrad: ", stderr);
    fputs(cg_escape_text(line, sizeof line, raw), stderr);
}

int cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report(fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return CLI_RUNTIME;
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report(fmt, ap);
    va_end(ap);
    /* One line: the hint to --help rides on it. */
    if (cmd)
        fprintf(stderr, " (see `cgrad %s --help`)\n", cmd);
    else
        fputs(" (see `cgrad help`)\n", stderr);
    return CLI_USAGE;
}

double cli_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

bool cli_has_suffix(const char *path, const char *suffix)
{
    size_t n = strlen(path), m = strlen(suffix);
    return n >= m && strcasecmp(path + n - m, suffix) == 0;
}

static void print_usage(FILE *out)
{
    fprintf(out, "Usage: cgrad COMMAND [ARGS] [options]\n\n"
                 "cgrad %s: train small neural networks on CSV and image data.\n\n"
                 "Commands:\n", CG_VERSION);
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(out, "  %-10s  %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "  %-10s  %s\n", "help", "this text, or `cgrad help COMMAND`");
    fprintf(out, "  %-10s  %s\n", "version", "print the version");
    fprintf(out, "\nExamples:\n"
                 "  cgrad train iris.csv --hidden 16 --epochs 50 --out iris.safetensors\n"
                 "  cgrad eval iris.safetensors iris.csv\n"
                 "  cgrad predict iris.safetensors rows.csv --top 2\n"
                 "\nExit status: 0 ok, 1 runtime error, 2 usage error, 130 interrupted.\n");
}

static const struct command *find(const char *name)
{
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        print_usage(stderr);
        return CLI_USAGE;
    }
    const char *name = argv[1];
    if (strcmp(name, "help") == 0 || strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
        /* generated from the option table: make writes them for make install */
        if (argc == 3 && strcmp(argv[2], "--man") == 0)
            return cli_write_man(stdout);
        if (argc == 3 && strcmp(argv[2], "--bash-completion") == 0)
            return cli_write_bash_completion(stdout);
        if (argc > 2) {
            const struct command *c = find(argv[2]);
            if (!c)
                return cli_usage_error(NULL, "unknown command '%s'", argv[2]);
            cli_print_help(c->id, stdout);
            return CLI_OK;
        }
        print_usage(stdout);
        return CLI_OK;
    }
    if (strcmp(name, "version") == 0 || strcmp(name, "--version") == 0) {
        printf("cgrad %s (%s)\n", CG_VERSION, CG_FLOAT_NAME);
        return CLI_OK;
    }
    const struct command *c = find(name);
    if (!c) {
        if (name[0] == '-')
            return cli_usage_error(NULL, "unknown option '%s' before the command", name);
        return cli_usage_error(NULL, "unknown command '%s'", name);
    }
    return c->run(argc - 1, argv + 1);
}
