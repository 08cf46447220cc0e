/*
 * Helpers shared by the libFuzzer targets (tests/fuzz/fuzz_*.c). The loaders
 * take paths, so each input is written to a file in a per-process temporary
 * folder (removed at exit) and the real loader is called on it.
 */
#ifndef CG_FUZZ_UTIL_H
#define CG_FUZZ_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "cgrad.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char fuzz_root[64];

static inline void fuzz_cleanup(void)
{
    char cmd[128];
    if (fuzz_root[0]) {
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", fuzz_root);
        if (system(cmd) != 0)
            fprintf(stderr, "fuzz: cannot remove %s\n", fuzz_root);
    }
}

/* dir/rel for the per-process folder (made on first use); one of 4 buffers. */
static inline const char *fuzz_path(const char *rel)
{
    static char buf[4][256];
    static int k;
    if (!fuzz_root[0]) {
        /* TMPDIR, or memory (/dev/shm) rather than a disk: a file per input */
        const char *t = getenv("TMPDIR");
        if (!t || !*t)
            t = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
        snprintf(fuzz_root, sizeof fuzz_root, "%s/cg_fuzz_XXXXXX", t);
        if (!mkdtemp(fuzz_root))
            abort();
        atexit(fuzz_cleanup);
    }
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", fuzz_root, rel);
    return buf[k];
}

/* Write n bytes to path, plain or gzip-compressed (zlib's own writer). */
static inline void fuzz_write(const char *path, const uint8_t *p, size_t n, int gz)
{
    if (gz) {
        gzFile f = gzopen(path, "wb1");
        if (!f || (n && gzwrite(f, p, (unsigned)n) != (int)n) || gzclose(f) != Z_OK)
            abort();
        return;
    }
    FILE *f = fopen(path, "wb");
    if (!f || (n && fwrite(p, 1, n, f) != n) || fclose(f) != 0)
        abort();
}

#endif /* CG_FUZZ_UTIL_H */
