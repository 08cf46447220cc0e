/*
 * A small streaming JSON writer (RFC 8259): commas and nesting are tracked,
 * strings escaped, non-finite numbers written as null.
 */
#include <math.h>
#include <string.h>

#include "cli.h"

void cli_json_init(struct cli_json *j, FILE *f)
{
    memset(j, 0, sizeof *j);
    j->f = f;
    j->first[0] = true;
}

void cli_json_write_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"':  fputs("\\\"", f); break;
        case '\\': fputs("\\\\", f); break;
        case '\b': fputs("\\b", f); break;
        case '\f': fputs("\\f", f); break;
        case '\n': fputs("\\n", f); break;
        case '\r': fputs("\\r", f); break;
        case '\t': fputs("\\t", f); break;
        default:
            if (*p < 0x20)
                fprintf(f, "\\u%04x", *p);
            else
                fputc(*p, f);   /* UTF-8 passes through */
        }
    }
    fputc('"', f);
}

/* Before any value: the comma that separates it from the previous one. */
static void before_value(struct cli_json *j)
{
    if (j->after_key) {
        j->after_key = false;
        return;
    }
    if (!j->first[j->depth])
        fputs(", ", j->f);
    j->first[j->depth] = false;
}

static void open(struct cli_json *j, char c)
{
    before_value(j);
    fputc(c, j->f);
    if (j->depth + 1 < CLI_JSON_DEPTH)
        j->depth++;
    j->first[j->depth] = true;
    j->closer[j->depth] = c == '{' ? '}' : ']';
}

void cli_json_begin_obj(struct cli_json *j) { open(j, '{'); }
void cli_json_begin_arr(struct cli_json *j) { open(j, '['); }

void cli_json_end(struct cli_json *j)
{
    if (j->depth == 0)
        return;
    fputc(j->closer[j->depth], j->f);
    j->depth--;
    if (j->depth == 0)
        fputc('\n', j->f);
}

void cli_json_key(struct cli_json *j, const char *key)
{
    before_value(j);
    cli_json_write_string(j->f, key);
    fputs(": ", j->f);
    j->after_key = true;
}

void cli_json_str(struct cli_json *j, const char *s)
{
    before_value(j);
    if (s)
        cli_json_write_string(j->f, s);
    else
        fputs("null", j->f);
}

void cli_json_num(struct cli_json *j, double v)
{
    before_value(j);
    if (isfinite(v))
        fprintf(j->f, "%.9g", v);
    else
        fputs("null", j->f);
}

void cli_json_int(struct cli_json *j, long long v)
{
    before_value(j);
    fprintf(j->f, "%lld", v);
}

void cli_json_bool(struct cli_json *j, bool v)
{
    before_value(j);
    fputs(v ? "true" : "false", j->f);
}

void cli_json_null(struct cli_json *j)
{
    before_value(j);
    fputs("null", j->f);
}
