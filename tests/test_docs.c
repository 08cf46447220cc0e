/*
 * The documentation against the program (issue 17):
 *
 * - every message docs/CLI.md quotes (`cgrad: ...`, in its error examples and
 *   its prose) and every row of docs/DATA.md's CSV message tables is what the
 *   program prints on the case it describes; a documented message the test
 *   has no case for fails, so a new one gets checked too (the one message
 *   left out is the NaN example, whose numbers come from a long run);
 * - docs/CLI.md's synopsis has one command per line, and every command;
 * - the man page (`cgrad help --man`) renders with `man -l` without a warning
 *   and holds every option line of every command's --help;
 * - the bash completion (`cgrad help --bash-completion`) offers each
 *   command's options, exactly those of its --help, and fixed values.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cg_test.h"
#include "cg_cli.h"

static struct cg_cli cli;

/* ---- the cases -------------------------------------------------------------- */

/* A message's case: `key` is a part of the documented message (CLI.md) or
 * the text of a table row's first column (DATA.md); `cmd` is shell text
 * that makes the case and runs the program. */
struct doc_case {
    const char *key;
    const char *cmd;
};

#define CSV(text) "printf '" text "' >f.csv && cgrad train f.csv"

static const struct doc_case data_cases[] = {
    {"missing file", "rm -f f.csv && cgrad train f.csv"},
    {"empty file (or only blank lines)", CSV("\\n\\n")},
    {"header only / every row skipped", CSV("a,b,c\\n")},
    {"ragged row", CSV("a,b,c\\n1,2,3\\n1,2\\n")},
    {"a word", CSV("a,b,c\\n1,2,x\\n3,abc,y\\n")},
    {"empty field", CSV("a,b,c\\n1,,x\\n")},
    {"NaN", CSV("a,b,c\\n1,nan,x\\n")},
    {"inf, 1e999", CSV("a,b,c\\n1,inf,x\\n")},
    {"unclosed quote", CSV("a,b,c\\n1,\"2,x\\n")},
    {"label column by name", CSV("a,b,c\\n1,2,x\\n") " --label petal"},
    {"label column by index", CSV("a,b,c\\n1,2,x\\n") " --label 7"},
    {"unknown class (model's names)",
     "printf 'a,b,species\\n1,2,setosa\\n3,4,versicolor\\n5,6,virginica\\n' >f.csv && "
     "cgrad eval two.st f.csv"},
    {"a model's column missing",
     "sed '1s/petal_width/pw/' examples/data/iris.csv >f.csv && cgrad predict named.st f.csv"},
    {"too many or too few columns",
     "paste -d, examples/data/iris.csv examples/data/iris.csv | cut -d, -f1-6 | tail -n +2 >f.csv && "
     "cgrad predict iris.st f.csv"},
};

static const struct doc_case cli_cases[] = {
    {"iris.csv:17: expected 5 fields, found 4",
     "sed '17s/,[^,]*$//' examples/data/iris.csv >iris.csv && cgrad train iris.csv"},
    {"--lr: 'abc' is not a number", "cgrad train examples/data/iris.csv --lr abc"},
    {"'adamax' is not one of", "cgrad train examples/data/iris.csv --optim adamax"},
    {"model.safetensors: header length",
     "printf 'This is not a model\\n' >model.safetensors && cgrad info model.safetensors"},
    {"cannot resume: --batch changed",
     "cgrad train examples/data/iris.csv --epochs 1 --batch 64 --checkpoint ck.safetensors "
     "--quiet --out r.st >/dev/null && "
     "cgrad train examples/data/iris.csv --epochs 2 --resume ck.safetensors --quiet --out r.st"},
    {"new.csv: no column 'petal_width'",
     "sed '1s/petal_width/pw/' examples/data/iris.csv >new.csv && "
     "cgrad predict named.st new.csv"},
    {"six.csv: 6 columns",
     "paste -d, examples/data/iris.csv examples/data/iris.csv | cut -d, -f1-6 | tail -n +2 "
     ">six.csv && "
     "cgrad predict iris.st six.csv"},
    /* not checked: a placeholder, and numbers of a long Fashion-MNIST run */
    {"cgrad: ...", NULL},
    {"the loss is NaN at epoch 3, step 1204", NULL},
};

static int setup(void **state)
{
    static const char *const names[] = {"sepal_length", "sepal_width", "petal_length",
                                        "petal_width"};
    (void)state;
    if (cg_cli_setup(&cli, "cgrad-docs-") != 0)
        return -1;
    /* iris.st: the tour's model; named.st: with its input names; two.st: two
     * classes, setosa and versicolor */
    if (cg_cli_run(&cli, "cgrad train examples/data/iris.csv --hidden 8 --epochs 5 --quiet "
                         "--out iris.st && printf 'a,b,species\\n1,2,setosa\\n3,4,versicolor\\n'"
                         " >two.csv && cgrad train two.csv --epochs 1 --quiet --out two.st")) {
        fprintf(stderr, "test_docs: training failed: %s", cli.err);
        return -1;
    }
    cg_cli_name_inputs(&cli, "iris.st", "named.st", names, 4);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return cg_cli_teardown(&cli);
}

/* ---- reading the documents -------------------------------------------------------- */

/* The whole file, malloc'd. */
static char *read_doc(const char *path)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char *text = malloc(1 << 20);
    assert_non_null(text);
    size_t n = fread(text, 1, (1 << 20) - 1, f);
    text[n] = '\0';
    fclose(f);
    return text;
}

/* The message the program must print for a case: run it, and compare its
 * stderr with `want` (one line); the exit status is 2 for a usage error
 * (the ones that point to --help) and 1 otherwise. */
static void check_message(const char *cmd, const char *want)
{
    int status = strstr(want, "(see `cgrad") ? 2 : 1;
    char line[2048];
    snprintf(line, sizeof line, "%s\n", want);
    cg_cli_run(&cli, "%s", cmd);
    if (strcmp(cli.err, line) != 0 || cli.status != status)
        fail_msg("the docs say\n  %s\nthe program (`%s`, exit %d) says\n  %s", want, cmd,
                 cli.status, cli.err);
}

/* Collapse runs of white space (a message wrapped over lines) into one space. */
static void squeeze(char *s)
{
    char *w = s;
    for (char *r = s; *r; r++)
        if (!(*r == ' ' || *r == '\n') || (w > s && w[-1] != ' '))
            *w++ = (*r == '\n') ? ' ' : *r;
    while (w > s && w[-1] == ' ')
        w--;
    *w = '\0';
}

static const struct doc_case *find_case(const struct doc_case *cases, size_t n,
                                        const char *text, bool whole)
{
    for (size_t i = 0; i < n; i++)
        if (whole ? strcmp(cases[i].key, text) == 0 : strstr(text, cases[i].key) != NULL)
            return &cases[i];
    return NULL;
}

/* ---- documented messages ------------------------------------------------------------ */

/* Check one quoted message (white space squeezed): its case, if it is one
 * the program can be run on, must print it. Returns 1 if checked. */
static int check_quoted(const char *at, size_t len)
{
    char msg[2048];
    snprintf(msg, sizeof msg, "%.*s", (int)len, at);
    squeeze(msg);
    const struct doc_case *c = find_case(cli_cases, sizeof cli_cases / sizeof cli_cases[0],
                                         msg, false);
    if (!c)
        fail_msg("docs/CLI.md quotes \"%s\": add its case to tests/test_docs.c", msg);
    if (c->cmd)
        check_message(c->cmd, msg);
    return c->cmd != NULL;
}

/* Every "cgrad: ..." of CLI.md: the lines of its code blocks, then the
 * `cgrad: ...` spans of its prose (the code blocks blanked out first). */
static void test_cli_md_messages_are_the_programs(void **state)
{
    (void)state;
    char *doc = read_doc("docs/CLI.md");
    int checked = 0;
    bool fence = false;
    for (char *p = doc; *p;) {
        char *end = strchr(p, '\n');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        bool marker = strncmp(p, "```", 3) == 0;
        if (marker)
            fence = !fence;
        if (fence && !marker && strncmp(p, "cgrad: ", 7) == 0)
            checked += check_quoted(p, n);
        if (fence || marker)
            memset(p, ' ', n);
        p += n + (end != NULL);
    }
    for (char *q = doc; (q = strstr(q, "`cgrad: "));) {
        char *close = strchr(q + 1, '`');
        assert_non_null(close);
        checked += check_quoted(q + 1, (size_t)(close - q - 1));
        q = close + 1;
    }
    free(doc);
    assert_int_equal(checked, 7);
}

/* The rows of DATA.md's tables under `heading`: | input | status | `message` |. */
static int check_table(const char *doc, const char *heading)
{
    const char *p = strstr(doc, heading);
    char input[256], msg[1024], line[1200];
    int checked = 0;
    assert_non_null(p);
    p = strstr(p, "|---|");
    assert_non_null(p);
    p = strchr(p, '\n') + 1;
    for (; *p == '|'; p = strchr(p, '\n') + 1) {
        if (sscanf(p, "| %255[^|]| %*[^|]| `%1023[^`]` |", input, msg) != 2)
            fail_msg("docs/DATA.md: cannot read the row %.80s", p);
        squeeze(input);
        const struct doc_case *c = find_case(data_cases, sizeof data_cases /
                                             sizeof data_cases[0], input, true);
        if (!c)
            fail_msg("docs/DATA.md documents \"%s\" (%s): add its case to tests/test_docs.c",
                     input, msg);
        snprintf(line, sizeof line, "cgrad: %s", msg);
        check_message(c->cmd, line);
        checked++;
    }
    return checked;
}

static void test_data_md_messages_are_the_programs(void **state)
{
    (void)state;
    char *doc = read_doc("docs/DATA.md");
    int n = check_table(doc, "### CSV error messages");
    n += check_table(doc, "### For `predict`");
    free(doc);
    assert_int_equal(n, (int)(sizeof data_cases / sizeof data_cases[0]));
}

/* The names of the commands, from `cgrad help` (help and version too when
 * `all`). */
static int command_names(char names[][32], int max, bool all)
{
    cg_cli_expect(&cli, 0, "cgrad help");
    char *l = strstr(cli.out, "Commands:\n");
    int n = 0;
    assert_non_null(l);
    for (l += 10; n < max && sscanf(l, "  %31s", names[n]) == 1 && l[0] == ' ';
         l = strchr(l, '\n') + 1)
        if (all || (strcmp(names[n], "help") != 0 && strcmp(names[n], "version") != 0))
            n++;
    assert_true(n >= 5);
    return n;
}

/* ---- CLI.md's synopsis ---------------------------------------------------------- */

static void test_cli_md_synopsis_has_one_command_per_line(void **state)
{
    (void)state;
    char *doc = read_doc("docs/CLI.md");
    char *block = strstr(doc, "```\n");
    assert_non_null(block);
    block += 4;
    char *end = strstr(block, "```");
    assert_non_null(end);
    *end = '\0';
    for (char *l = block; *l; l = strchr(l, '\n') + 1) {
        char *q = strstr(l + 1, "cgrad ");
        if (strncmp(l, "cgrad ", 6) != 0 || (q && q < strchr(l, '\n')))
            fail_msg("docs/CLI.md's synopsis: not one command on the line %.*s",
                     (int)(strchr(l, '\n') - l), l);
    }
    /* every command of `cgrad help`, and help and version, on a line */
    char names[32][32];
    int n = command_names(names, 32, true);
    for (int c = 0; c < n; c++) {
        char *at = block - 1;
        size_t len = strlen(names[c]);
        while ((at = strstr(at, "\ncgrad ")) && !(strncmp(at + 7, names[c], len) == 0 &&
                                                  (at[7 + len] == ' ' || at[7 + len] == '\n')))
            at++;
        if (!at)
            fail_msg("docs/CLI.md's synopsis lacks `cgrad %s`", names[c]);
    }
    free(doc);
}

/* ---- the man page -------------------------------------------------------------- */

static void test_man_page_renders_and_says_what_help_says(void **state)
{
    (void)state;
    char names[32][32];
    int n = command_names(names, 32, false);
    /* man -l renders it; groff's warnings (-ww) would land on stderr */
    cg_cli_expect(&cli, 0, "cgrad help --man >cgrad.1 && LC_ALL=C.UTF-8 MANWIDTH=100 "
                  "man --warnings=all -l cgrad.1 >man.txt && groff -man -ww -z cgrad.1 && "
                  "lexgrog cgrad.1");
    assert_string_equal(cli.err, "");
    assert_non_null(strstr(cli.out, "cgrad - train small neural networks"));
    cg_cli_expect(&cli, 0, "cat man.txt");
    char man[CG_CLI_OUT];
    snprintf(man, sizeof man, "%s", cli.out);
    for (int c = 0; c < n; c++) {
        /* every option line of the command's help: "  --format csv|idx|images" */
        cg_cli_expect(&cli, 0, "cgrad %s --help | sed -n 's/^  \\(--[^ ]*\\( [^ ][^ ]*\\)\\?\\).*/"
                      "\\1/p'", names[c]);
        int options = 0;
        for (char *l = cli.out; *l; l = strchr(l, '\n') + 1, options++) {
            char want[128];
            snprintf(want, sizeof want, "\n       %.*s", (int)(strchr(l, '\n') - l), l);
            if (!strstr(man, want))
                fail_msg("the man page lacks `%s` of cgrad %s", want + 8, names[c]);
        }
        assert_true(options >= 1);   /* --help at least */
        char section[64];
        snprintf(section, sizeof section, "\n   cgrad %.31s ", names[c]);
        assert_non_null(strstr(man, section));
    }
}

/* ---- the completion ---------------------------------------------------------------- */

/* What the completion offers for the words (the last is being completed). */
static const char *complete(const char *words)
{
    cg_cli_expect(&cli, 0, "cgrad help --bash-completion >cgrad.bash && bash -c '"
                  "source ./cgrad.bash; COMP_WORDS=(%s); COMP_CWORD=$((${#COMP_WORDS[@]} - 1));"
                  " _cgrad; echo \"${COMPREPLY[*]}\"'", words);
    return cli.out;
}

static int cmp_word(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The words of s sorted, one space after each, into out. */
static void sorted_words(const char *s, char *out, size_t size)
{
    static char copy[CG_CLI_OUT];
    char *words[256], *save = NULL;
    int n = 0;
    snprintf(copy, sizeof copy, "%s", s);
    for (char *w = strtok_r(copy, " \n", &save); w && n < 256; w = strtok_r(NULL, " \n", &save))
        words[n++] = w;
    qsort(words, (size_t)n, sizeof *words, cmp_word);
    out[0] = '\0';
    for (int i = 0; i < n; i++)
        snprintf(out + strlen(out), size - strlen(out), "%s ", words[i]);
}

static void test_completion_offers_options_and_values(void **state)
{
    (void)state;
    char names[32][32], want[4096], got[4096], words[64];
    int n = command_names(names, 32, false);
    for (int c = 0; c < n; c++) {
        /* exactly the options the command's --help lists */
        cg_cli_expect(&cli, 0, "cgrad %s --help | sed -n 's/^  \\(--[^ ]*\\).*/\\1/p'",
                      names[c]);
        sorted_words(cli.out, want, sizeof want);
        assert_non_null(strstr(want, "--help "));
        snprintf(words, sizeof words, "cgrad %.31s --", names[c]);
        sorted_words(complete(words), got, sizeof got);
        assert_string_equal(got, want);
    }
    assert_string_equal(complete("cgrad train --ep"), "--eps --epochs\n");   /* table order */
    assert_string_equal(complete("cgrad train --optim \"\""), "sgd rmsprop adagrad adam adamw\n");
    /* --act=s: bash splits the word at '=' */
    assert_string_equal(complete("cgrad train --act = s"), "sigmoid\n");
    assert_string_equal(complete("cgrad train --format ="), "csv idx images\n");
    assert_string_equal(complete("cgrad eval --lr \"\""), "\n");
    assert_string_equal(complete("cgrad gradc"), "gradcheck\n");
    assert_string_equal(complete("cgrad help inf"), "info\n");
    /* a file for a FILE value, and for DATA */
    assert_string_equal(complete("cgrad train --out two.c"), "two.csv\n");
    assert_string_equal(complete("cgrad train two.cs"), "two.csv\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cli_md_messages_are_the_programs),
        cmocka_unit_test(test_data_md_messages_are_the_programs),
        cmocka_unit_test(test_cli_md_synopsis_has_one_command_per_line),
        cmocka_unit_test(test_man_page_renders_and_says_what_help_says),
        cmocka_unit_test(test_completion_offers_options_and_values),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
