/*
 * The error model: a status code plus a thread-local message.
 *
 * Library code never exits or prints; it returns NULL or a cg_status and
 * leaves the reason here for cg_errmsg(). The message is thread-local so
 * that threads training side by side do not overwrite each other's errors.
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"

#define CG__ERRMSG_MAX 512

static _Thread_local char errmsg[CG__ERRMSG_MAX];
static _Thread_local cg_status errcode = CG_OK;

const char *cg_errmsg(void)
{
    return errmsg;
}

cg_status cg_errcode(void)
{
    return errcode;
}

void cg_clear_error(void)
{
    errmsg[0] = '\0';
    errcode = CG_OK;
}

const char *cg_status_str(cg_status status)
{
    switch (status) {
    case CG_OK:          return "ok";
    case CG_ERR_NOMEM:   return "out of memory";
    case CG_ERR_SHAPE:   return "shape mismatch";
    case CG_ERR_ARG:     return "bad argument";
    case CG_ERR_IO:      return "input/output error";
    case CG_ERR_FORMAT:  return "bad file format";
    case CG_ERR_NUMERIC: return "numerical error";
    case CG_ERR_STATE:   return "call out of order";
    }
    return "unknown status";
}

/* Control characters a message quotes from a file (a CSV field with a
 * newline, a name with an escape sequence) are escaped here, so that every
 * message is one line. */
static void set_error(cg_status status, const char *fmt, va_list ap)
{
    char raw[CG__ERRMSG_MAX];

    vsnprintf(raw, sizeof raw, fmt, ap);
    cg_escape_text(errmsg, sizeof errmsg, raw);
    errcode = status;
}

cg_status cg__fail(cg_status status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    set_error(status, fmt, ap);
    va_end(ap);
    return status;
}

void *cg__fail_null(cg_status status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    set_error(status, fmt, ap);
    va_end(ap);
    return NULL;
}

void cg__errmsg_prefix(const char *fmt, ...)
{
    char prefix[CG__ERRMSG_MAX];
    char old[CG__ERRMSG_MAX];
    va_list ap;

    va_start(ap, fmt);
    char raw[CG__ERRMSG_MAX];
    vsnprintf(raw, sizeof raw, fmt, ap);
    cg_escape_text(prefix, sizeof prefix, raw);
    va_end(ap);
    memcpy(old, errmsg, sizeof old);
    /* Cut by hand: gcc's -Wformat-truncation sees two 512-byte strings. */
    size_t n = strlen(prefix);
    if (n > sizeof errmsg - 3)
        n = sizeof errmsg - 3;
    memcpy(errmsg, prefix, n);
    memcpy(errmsg + n, ": ", 2);
    n += 2;
    size_t rest = strlen(old);
    if (rest > sizeof errmsg - 1 - n)
        rest = sizeof errmsg - 1 - n;
    memcpy(errmsg + n, old, rest);
    errmsg[n + rest] = '\0';
}

cg_status cg__errcode_set(cg_status status)
{
    errcode = status;
    return status;
}
