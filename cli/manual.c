/*
 * The manual page and the bash completion of cgrad, written from the tables
 * of options.c so that they cannot drift from the program (see options.h).
 *
 * The man page takes each command's text from cli_print_help itself and
 * turns it into roff, as GNU's help2man does for coreutils, so `cgrad CMD
 * --help` and `man cgrad` say the same words. The completion lists each
 * command's options from the table and each option's fixed values.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "options.h"

/* ---- roff ------------------------------------------------------------------- */

/* s[0..n) as roff text: backslashes and minus signs escaped (a bare '-' is
 * a hyphen, which breaks a copied "--lr"), a leading '.' or '\'' guarded. */
static void roff(FILE *out, const char *s, size_t n)
{
    if (n && (s[0] == '.' || s[0] == '\''))
        fputs("\\&", out);
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\\')
            fputs("\\e", out);
        else if (s[i] == '-')
            fputs("\\-", out);
        else
            fputc(s[i], out);
    }
}

static void roff_line(FILE *out, const char *s)
{
    roff(out, s, strlen(s));
    fputc('\n', out);
}

/* "  --format csv|idx|images   kind of DATA": the name bold, the value
 * italic, the help (on the line, or on the next when the left part is long)
 * as the paragraph of a .TP item. Returns the lines used (1 or 2). */
static int option_item(FILE *out, const char *line, const char *next)
{
    const char *p = line + strspn(line, " ");
    size_t left = 0;
    while (p[left] && !(p[left] == ' ' && p[left + 1] == ' '))
        left++;
    size_t name = strcspn(p, " ");
    if (name > left)
        name = left;
    const char *help = p + left + strspn(p + left, " ");
    int used = 1;
    if (!*help && next) {
        help = next + strspn(next, " ");
        used = 2;
    }
    fputs(".TP\n\\fB", out);
    roff(out, p, name);
    fputs("\\fR", out);
    if (name < left) {
        fputs(" \\fI", out);
        roff(out, p + name + 1, left - name - 1);
        fputs("\\fR", out);
    }
    fputc('\n', out);
    roff_line(out, help);
    return used;
}

/* A group heading of the help ("Data:", "Options:"): a word and a colon. */
static bool is_heading(const char *line)
{
    size_t n = strlen(line);
    return n > 1 && line[n - 1] == ':' && isupper((unsigned char)line[0]) &&
           !strchr(line, ' ');
}

/* One command's section: its help text, as roff. */
static int command_section(FILE *out, const struct cli_command_info *c)
{
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    if (!mem)
        return 1;
    cli_print_help(c->cmd, mem);
    if (fclose(mem) != 0) {
        free(text);
        return 1;
    }
    fprintf(out, ".SS \"cgrad %s %s\"\n", c->name, c->args);
    enum { MAX_LINES = 1024 };   /* train's help has about 50 */
    char *save = NULL, *lines[MAX_LINES];
    int n = 0;
    for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        if (n == MAX_LINES) {
            free(text);
            return 1;
        }
        lines[n++] = l;
    }
    /* line 0 is the usage, written above; the exit status has its section */
    for (int i = 1; i < n; i++) {
        if (strncmp(lines[i], "Exit status:", 12) == 0)
            continue;
        if (strncmp(lines[i], "  -", 3) == 0)
            i += option_item(out, lines[i], i + 1 < n ? lines[i + 1] : NULL) - 1;
        else if (is_heading(lines[i]))
            fprintf(out, ".PP\n.B %s\n", lines[i]);
        else
            roff_line(out, lines[i]);
    }
    free(text);
    return 0;
}

int cli_write_man(FILE *out)
{
    struct cli_command_info c;
    fprintf(out, ".\\\" The manual page of cgrad, written by `cgrad help --man` from the\n"
                 ".\\\" program's own option tables and help texts: do not edit.\n"
                 ".TH CGRAD 1 \"\" \"cgrad %s\" \"User Commands\"\n"
                 ".SH NAME\ncgrad \\- train small neural networks on CSV and image data\n"
                 ".SH SYNOPSIS\n", CG_VERSION);
    for (int i = 0; cli_command_info(i, &c); i++) {
        fprintf(out, ".B cgrad %s\n", c.name);
        roff_line(out, c.args);
        fputs(".br\n", out);
    }
    fputs(".B cgrad help\n[COMMAND]\n.br\n.B cgrad version\n"
          ".SH DESCRIPTION\n"
          "cgrad trains multilayer perceptrons on CSV tables, IDX files (the MNIST layout)\n"
          "and folders of images, evaluates them, and predicts with them.\n"
          "Options are GNU\\-style long options (\\fB\\-\\-lr 0.01\\fR or "
          "\\fB\\-\\-lr=0.01\\fR;\n"
          "an unambiguous prefix such as \\fB\\-\\-epo 5\\fR works too).\n"
          "Every error is one line on standard error, \\fBcgrad: ...\\fR, naming the file\n"
          "(and line) or the option at fault.\n"
          ".SH COMMANDS\n", out);
    for (int i = 0; cli_command_info(i, &c); i++)
        if (command_section(out, &c) != 0)
            return cli_error("the help of `cgrad %s` does not fit the manual page's writer "
                             "(out of memory, or over 1024 lines)", c.name);
    fputs(".SS \"cgrad help [COMMAND]\"\n"
          "The list of commands, or the options of COMMAND (as \\fBcgrad COMMAND \\-\\-help\\fR).\n"
          "\\fBcgrad help \\-\\-man\\fR writes this page and \\fBcgrad help "
          "\\-\\-bash\\-completion\\fR\n"
          "a completion script for bash.\n"
          ".SS \"cgrad version\"\nThe version, and whether the numbers are float or double.\n"
          ".SH \"EXIT STATUS\"\n"
          ".TP\n0\nsuccess\n"
          ".TP\n1\na runtime error: a missing or malformed file, a loss that turned NaN, ...\n"
          ".TP\n2\na usage error: an unknown command or option, a bad value, a missing "
          "argument\n"
          ".TP\n130\ntraining interrupted with Ctrl\\-C (after writing the checkpoint)\n"
          ".SH EXAMPLES\n.nf\n"
          "cgrad train iris.csv \\-\\-hidden 16 \\-\\-epochs 100 \\-\\-out iris.safetensors\n"
          "cgrad eval iris.safetensors iris.csv\n"
          "cgrad predict iris.safetensors new.csv \\-\\-top 2\n"
          "cgrad predict photos.safetensors photos/\n"
          ".fi\n"
          ".SH \"SEE ALSO\"\n"
          "README.md and docs/CLI.md in cgrad's source tree.\n", out);
    return ferror(out) ? cli_error("cannot write the manual page") : 0;
}

/* ---- bash completion ------------------------------------------------------------ */

/* A value the shell can offer a file name for. */
static bool wants_file(const char *metavar)
{
    return strstr(metavar, "FILE") || strstr(metavar, "PATH");
}

/* One case arm: the value options that want file names (files), or those
 * whose value is a number or a name (nothing to offer); none, no arm. */
static void value_arm(FILE *out, bool files)
{
    struct cli_option_info o;
    int n = 0;
    for (int i = 0; cli_option_info(i, &o); i++)
        if (o.takes_value && !o.choices && wants_file(o.metavar) == files)
            fprintf(out, "%s--%s", n++ ? "|" : "    ", o.name);
    if (n)
        fputs(files ? ") COMPREPLY=($(compgen -f -- \"$cur\")); return 0;;\n"
                    : ") return 0;;\n", out);
}

/* The case arms for the word after an option: its fixed values, file
 * names, or nothing (a number, a column name). */
static void value_arms(FILE *out)
{
    struct cli_option_info o;
    for (int i = 0; cli_option_info(i, &o); i++) {
        if (!o.choices)
            continue;
        fprintf(out, "    --%s) words=\"", o.name);
        for (int k = 0; o.choices[k]; k++)
            fprintf(out, "%s%s", k ? " " : "", o.choices[k]);
        fputs("\";;\n", out);
    }
    value_arm(out, true);
    value_arm(out, false);
}

int cli_write_bash_completion(FILE *out)
{
    struct cli_command_info c;
    struct cli_option_info o;
    fprintf(out, "# bash completion of cgrad %s: commands, options and their fixed values.\n"
                 "# Written by `cgrad help --bash-completion` from the program's option\n"
                 "# table: do not edit. Needs no bash-completion helpers.\n"
                 "_cgrad()\n{\n"
                 "    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}\n"
                 "    local cmd=${COMP_WORDS[1]} commands=\"", CG_VERSION);
    for (int i = 0; cli_command_info(i, &c); i++)
        fprintf(out, "%s ", c.name);
    fputs("help version\" words= opts=\n"
          "    # --opt=value: bash splits the word at '='\n"
          "    if [ \"$cur\" = \"=\" ]; then cur=; fi\n"
          "    if [ \"$prev\" = \"=\" ] && [ \"$COMP_CWORD\" -ge 2 ]; then\n"
          "        prev=${COMP_WORDS[COMP_CWORD-2]}\n    fi\n"
          "    if [ \"$COMP_CWORD\" -eq 1 ]; then\n"
          "        COMPREPLY=($(compgen -W \"$commands --help --version\" -- \"$cur\"))\n"
          "        return 0\n    fi\n"
          "    case \"$prev\" in\n", out);
    value_arms(out);
    fputs("    esac\n    if [ -n \"$words\" ]; then\n"
          "        COMPREPLY=($(compgen -W \"$words\" -- \"$cur\"))\n        return 0\n    fi\n"
          "    case \"$cmd\" in\n"
          "    help)\n"
          "        [ \"$COMP_CWORD\" -eq 2 ] &&\n"
          "            COMPREPLY=($(compgen -W \"$commands --man --bash-completion\" -- "
          "\"$cur\"))\n"
          "        return 0;;\n", out);
    for (int i = 0; cli_command_info(i, &c); i++) {
        fprintf(out, "    %s) opts=\"", c.name);
        for (int k = 0; cli_option_info(k, &o); k++)
            if (o.cmds & c.cmd)
                fprintf(out, "--%s ", o.name);
        fputs("--help\";;\n", out);
    }
    fputs("    *) return 0;;\n    esac\n"
          "    if [[ \"$cur\" == -* ]]; then\n"
          "        COMPREPLY=($(compgen -W \"$opts\" -- \"$cur\"))\n"
          "    else\n"
          "        COMPREPLY=($(compgen -f -- \"$cur\"))\n"
          "    fi\n}\n"
          "complete -o filenames -F _cgrad cgrad\n", out);
    return ferror(out) ? cli_error("cannot write the completion script") : 0;
}
