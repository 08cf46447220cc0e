/* libFuzzer target: the cgrad program's option parser (cli/options.c,
 * cli_parse and cli_settings_finish), without running a command.
 *
 * Input layout: byte 0 chooses the command (train, eval, predict, gradcheck,
 * info, export) and bit 3 the task given to cli_settings_finish; the rest is split
 * at NUL bytes into argv words (up to 64). */
#include "fuzz_util.h"

#include "cli/options.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const enum cli_command cmds[6] = {CLI_CMD_TRAIN, CLI_CMD_EVAL, CLI_CMD_PREDICT,
                                             CLI_CMD_GRADCHECK, CLI_CMD_INFO, CLI_CMD_EXPORT};
    static const char *const names[6] = {"train", "eval", "predict", "gradcheck", "info",
                                         "export"};
    char *argv[66];
    int argc = 0;

    if (size < 1 || size > 4096)
        return 0;
    char *buf = malloc(size + 1);  /* writable: getopt_long permutes argv */
    char name[16];
    if (!buf)
        return 0;
    memcpy(buf, data + 1, size - 1);
    buf[size - 1] = '\0';
    snprintf(name, sizeof name, "%s", names[data[0] % 6]);
    argv[argc++] = name;
    for (char *p = buf; p < buf + size - 1 && argc < 65; p += strlen(p) + 1)
        argv[argc++] = p;
    argv[argc] = NULL;

    struct cli_settings s;
    cli_settings_defaults(&s);
    int rc = cli_parse(cmds[data[0] % 6], argc, argv, &s);
    if (rc == 0) {
        cli_settings_finish(&s, (data[0] & 8) != 0);
        if (s.n_positional < 0 || s.n_positional > CLI_MAX_POSITIONAL ||
            s.n_hidden < 0 || s.n_hidden > CLI_MAX_HIDDEN)
            abort();
        for (int i = 0; i < s.n_positional; i++)
            if (!s.positional[i])
                abort();
    }
    free(buf);
    return 0;
}
