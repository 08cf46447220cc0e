/*
 * Running the cgrad program from the end-to-end tests: shell text run in a
 * temporary folder, with the build folder first on PATH, so that a test
 * writes commands as the docs do ("cgrad predict m.st photos/"). The folder
 * holds a link `examples` to the source tree's examples/, so the README's
 * paths work there too. Tests run from the top of the source tree.
 *
 *     static struct cg_cli cli;
 *     setup:    return cg_cli_setup(&cli, "cgrad-predict-");
 *     a test:   cg_cli_expect(&cli, 0, "cgrad info %s", "m.st");
 *               assert_non_null(strstr(cli.out, "parameters: "));
 *     teardown: return cg_cli_teardown(&cli);
 */
#ifndef CG_CLI_TEST_H
#define CG_CLI_TEST_H

#include <stdbool.h>
#include <stddef.h>

#define CG_CLI_OUT (1 << 16)

struct cg_cli {
    char dir[256];          /* the temporary folder the commands run in */
    char bin[4096];         /* the folder holding the program, absolute */
    char src[4096];         /* the source tree, absolute */
    char out[CG_CLI_OUT];   /* stdout of the last command (truncated) */
    char err[CG_CLI_OUT];   /* stderr of the last command */
    int  status;            /* its exit status (128 + signal if killed) */
};

/* Find $BUILD/cgrad (BUILD from the environment, default "build"), make the
 * folder and its `examples` link. 0, or -1 as a cmocka setup returns. */
int  cg_cli_setup(struct cg_cli *c, const char *stem);
/* Remove the folder. 0 or -1. */
int  cg_cli_teardown(struct cg_cli *c);
/* Run printf-formatted shell text in the folder, stdin from /dev/null
 * unless the text redirects it. Returns the exit status. */
int  cg_cli_run(struct cg_cli *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The same, failing the test (the command and both outputs printed) when
 * the exit status is not `want`. */
void cg_cli_expect(struct cg_cli *c, int want, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Write text to a file in the folder. */
void cg_cli_write(const struct cg_cli *c, const char *name, const char *text);
/* Copy model file `from` to `to` (in the folder) with the input names a
 * trainer stores for CSV data ("features") added, through the library. */
void cg_cli_name_inputs(const struct cg_cli *c, const char *from, const char *to,
                        const char *const *names, int n);
/* The exit status of `cmd` run through system() (128 + signal if killed). */
int  cg_cli_system(const char *cmd);

#endif /* CG_CLI_TEST_H */
