/*
 * `cgrad train --class-names FILE|a,b,c`: the names of IDX classes 0, 1,
 * ... (IDX labels are bare numbers), from a file of one name a line or a
 * comma list, checked against the data's number of classes (see train.h).
 */
#include <stdlib.h>
#include <string.h>

#include "train.h"

#define MAX_FILE (1 << 20)

/* The whole of a small text file into a malloc'd string; NULL if it does not
 * open (no message), or after printing why it is not readable. */
static char *read_small_file(const char *path, bool *opened)
{
    FILE *f = fopen(path, "rb");
    *opened = f != NULL;
    if (!f)
        return NULL;
    char *text = malloc(MAX_FILE + 1);
    size_t n = text ? fread(text, 1, MAX_FILE + 1, f) : 0;
    bool bad = ferror(f) != 0;
    fclose(f);
    if (!text || bad || n > MAX_FILE) {
        free(text);
        if (!text)
            cli_error("out of memory");
        else
            cli_error("--class-names %s: %s", path, bad ? "read error" : "larger than 1 MB");
        return NULL;
    }
    text[n] = '\0';
    return text;
}

/* Split text in place at `sep` (a file: at line ends, '\r' dropped, blank
 * lines skipped) into at most max names. Returns the count, or max + 1 when
 * there are more. */
static int split(char *text, char sep, bool lines, const char **names, int max)
{
    int n = 0;
    for (char *p = text; p;) {
        char *end = strchr(p, sep);
        if (end)
            *end = '\0';
        size_t len = strlen(p);
        if (lines && len && p[len - 1] == '\r')
            p[--len] = '\0';
        if (!lines || len) {
            if (n == max)
                return max + 1;
            names[n++] = p;
        }
        p = end ? end + 1 : NULL;
    }
    return n;
}

int cli_class_names(struct run *r, const char *arg)
{
    const char *data = r->s.positional[0];
    bool opened;
    if (r->format != CLI_FORMAT_IDX || !r->classify)
        return cli_usage_error("train", "--class-names is for IDX data, whose labels are "
                                        "numbers: %s names its classes itself", data);
    r->class_text = read_small_file(arg, &opened);
    if (!r->class_text && opened)
        return CLI_RUNTIME;
    if (!opened && !strchr(arg, ','))
        return cli_error("--class-names %s: cannot open (give a file of one name a line, "
                         "or the names separated by commas)", arg);
    if (!r->class_text && !(r->class_text = strdup(arg)))
        return cli_error("out of memory");
    if (!(r->class_names = calloc((size_t)r->n_classes + 1, sizeof *r->class_names)))
        return cli_error("out of memory");
    int n = split(r->class_text, opened ? '\n' : ',', opened, r->class_names, r->n_classes);
    if (n != r->n_classes)
        return cli_error("--class-names %s: %s%d names, but %s has %d classes", arg,
                         n > r->n_classes ? "more than " : "", n > r->n_classes ? n - 1 : n,
                         data, r->n_classes);
    for (int c = 0; c < n; c++) {
        if (!r->class_names[c][0])
            return cli_error("--class-names %s: name %d is empty", arg, c + 1);
        for (int d = 0; d < c; d++)
            if (strcmp(r->class_names[c], r->class_names[d]) == 0)
                return cli_error("--class-names %s: '%s' is there twice", arg,
                                 r->class_names[c]);
    }
    return CLI_OK;
}
