/*
 * Text from files: UTF-8 validation (safetensors headers, class names) and
 * the escaping of control characters that keeps every message one line.
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"

char *cg_escape_text(char *dst, size_t n, const char *src)
{
    size_t at = 0;

    if (!dst || n == 0)
        return dst;
    for (; src && *src; src++) {
        unsigned char c = (unsigned char)*src;
        char esc[8];
        size_t k;
        if (c >= 0x20 && c != 0x7f) {
            esc[0] = (char)c;
            k = 1;
        } else if (c == '\n' || c == '\r' || c == '\t') {
            esc[0] = '\\';
            esc[1] = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
            k = 2;
        } else {
            k = (size_t)snprintf(esc, sizeof esc, "\\x%02x", c);
        }
        if (at + k >= n)
            break;
        memcpy(dst + at, esc, k);
        at += k;
    }
    dst[at] = '\0';
    return dst;
}

/* The length of the UTF-8 sequence at s (at most n bytes), 0 if invalid
 * (RFC 3629: shortest form only, no surrogates, at most U+10FFFF). */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned long cp, min;
    size_t len;

    if (s[0] < 0x80)
        return 1;
    if ((s[0] & 0xe0) == 0xc0)
        len = 2, cp = s[0] & 0x1fu, min = 0x80;
    else if ((s[0] & 0xf0) == 0xe0)
        len = 3, cp = s[0] & 0x0fu, min = 0x800;
    else if ((s[0] & 0xf8) == 0xf0)
        len = 4, cp = s[0] & 0x07u, min = 0x10000;
    else
        return 0;
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3fu);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

bool cg__utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;

    for (size_t i = 0, k; i < n; i += k)
        if (!(k = utf8_seq(p + i, n - i)))
            return false;
    return true;
}

size_t cg_utf8_repair(char *dst, size_t n, const char *src)
{
    static const char replacement[] = "\xef\xbf\xbd";   /* U+FFFD */
    const unsigned char *p = (const unsigned char *)(src ? src : "");
    size_t left = strlen((const char *)p), need = 0, at = 0;
    bool cut = !dst || n == 0;

    while (left > 0) {
        size_t k = utf8_seq(p, left);
        const char *piece = k ? (const char *)p : replacement;
        size_t len = k ? k : sizeof replacement - 1;
        if (!cut && at + len < n) {
            memcpy(dst + at, piece, len);
            at += len;
        } else {
            cut = true;   /* never a partial character */
        }
        need += len;
        p += k ? k : 1;
        left -= k ? k : 1;
    }
    if (dst && n > 0)
        dst[at] = '\0';
    return need;
}
