/*
 * Writing files: the library's one atomic writer (tensor.h, "files"), and
 * the same-file test that keeps an output from replacing an input.
 *
 * A regular target is written to "<path>.tmp.XXXXXX" and renamed over it,
 * so a crash leaves the old file or the new one, never half of either. The
 * writer holds an exclusive flock on its temporary file from its creation
 * until the rename, so the next writer of the same path can tell a
 * temporary file whose writer died (no lock: removed) from one being written
 * (locked: left alone). A rename would replace a device or a FIFO with a
 * regular file (`--out /dev/null` would delete /dev/null as root), so those
 * are written in place.
 */
#define _DEFAULT_SOURCE   /* flock */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

#define TMP_SUFFIX ".tmp.XXXXXX"

/* ---- names ---------------------------------------------------------------------- */

/* The folder part of path ("." for a bare name, "/" for "/x") into buf. */
static bool parent_of(const char *path, char *buf, size_t n)
{
    const char *slash = strrchr(path, '/');
    size_t len = slash ? (size_t)(slash - path) : 1;

    if (slash && len == 0)
        len = 1;
    if (len >= n)
        return false;
    memcpy(buf, slash ? path : ".", len);
    buf[len] = '\0';
    return true;
}

static const char *base_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

bool cg_same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    char da[PATH_MAX], db[PATH_MAX];
    bool ea, eb;

    if (!a || !b)
        return false;
    ea = stat(a, &sa) == 0;
    eb = stat(b, &sb) == 0;
    if (ea || eb)
        return ea && eb && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
    /* Neither exists yet: the same name in the same folder. */
    return strcmp(base_of(a), base_of(b)) == 0 && parent_of(a, da, sizeof da) &&
           parent_of(b, db, sizeof db) && stat(da, &sa) == 0 && stat(db, &sb) == 0 &&
           sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* ---- stale temporary files ---------------------------------------------------- */

/* "<base>.tmp." followed by the 6 characters mkstemp puts in. */
static bool is_tmp_of(const char *name, const char *base)
{
    size_t n = strlen(base), k = sizeof TMP_SUFFIX - 7;   /* ".tmp." */

    return strncmp(name, base, n) == 0 && strncmp(name + n, TMP_SUFFIX, k) == 0 &&
           strlen(name + n + k) == 6;
}

/* Remove dir/name if no writer holds its lock (its writer died). */
static void remove_if_stale(int dfd, const char *name)
{
    struct stat a, b;
    int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

    if (fd < 0)
        return;
    if (fstat(fd, &a) == 0 && S_ISREG(a.st_mode) && flock(fd, LOCK_EX | LOCK_NB) == 0 &&
        fstatat(dfd, name, &b, AT_SYMLINK_NOFOLLOW) == 0 && a.st_dev == b.st_dev &&
        a.st_ino == b.st_ino)
        unlinkat(dfd, name, 0);
    close(fd);
}

/* Every stale "<path>.tmp.XXXXXX" beside path. */
static void remove_stale_tmps(const char *path)
{
    char dir[PATH_MAX];
    struct dirent *e;
    DIR *d;

    if (!parent_of(path, dir, sizeof dir) || !(d = opendir(dir)))
        return;
    while ((e = readdir(d)))
        if (is_tmp_of(e->d_name, base_of(path)))
            remove_if_stale(dirfd(d), e->d_name);
    closedir(d);
}

/* ---- the writer --------------------------------------------------------------------- */

/* The mode a file made by fopen would get: 0666 less the umask. mkstemp
 * makes 0600, which would hide a model from users a plain write would have
 * shown it to. The umask is read from /proc, since umask() itself changes
 * it, which is unsafe beside other threads; 022 where /proc does not say. */
static mode_t new_file_mode(void)
{
    unsigned mask = 022;
    char line[128];
    FILE *f = fopen("/proc/self/status", "r");

    if (f) {
        while (fgets(line, sizeof line, f))
            if (sscanf(line, "Umask: %o", &mask) == 1)
                break;
        fclose(f);
    }
    return (mode_t)(0666 & ~mask);
}

/* Make the rename itself durable: fsync the folder that holds path. */
static void sync_parent_dir(const char *path)
{
    char dir[PATH_MAX];
    int fd;

    if (parent_of(path, dir, sizeof dir) && (fd = open(dir, O_RDONLY)) >= 0) {
        fsync(fd);
        close(fd);
    }
}

/* A device or a FIFO, opened for writing where it is. */
static cg_status open_in_place(struct cg__out *o, const char *path)
{
    /* O_NONBLOCK: a FIFO nobody reads is ENXIO, not a hang. */
    int fd = open(path, O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    int flags;

    if (fd < 0)
        return cg__fail(CG_ERR_IO, "cannot open: %s", errno == ENXIO ?
                        "a FIFO that no process reads" : strerror(errno));
    if ((flags = fcntl(fd, F_GETFL)) < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0 ||
        !(o->f = fdopen(fd, "wb"))) {
        close(fd);
        return cg__fail(CG_ERR_IO, "cannot open: %s", strerror(errno));
    }
    return CG_OK;
}

/* A new temporary file beside path, locked, with the mode path has (or
 * would get). mkstemp, then flock: a cleaner that removed the name between
 * the two leaves us an unlinked inode, so we try again. */
static cg_status open_tmp(struct cg__out *o, const char *path, mode_t mode)
{
    size_t n = strlen(path);
    struct stat sb;
    cg_status s;

    if (!(o->tmp = cg__malloc(n + sizeof TMP_SUFFIX)))
        return CG_ERR_NOMEM;
    for (int attempt = 0; attempt < 3; attempt++) {
        memcpy(o->tmp, path, n);
        memcpy(o->tmp + n, TMP_SUFFIX, sizeof TMP_SUFFIX);
        if ((o->lock_fd = mkstemp(o->tmp)) < 0) {
            s = cg__fail(CG_ERR_IO, "cannot create a temporary file %s: %s", o->tmp,
                         strerror(errno));
            cg__free(o->tmp);   /* no file of ours by that name to remove */
            o->tmp = NULL;
            return s;
        }
        if (flock(o->lock_fd, LOCK_EX) == 0 && fstat(o->lock_fd, &sb) == 0 && sb.st_nlink > 0)
            break;
        close(o->lock_fd);
        o->lock_fd = -1;
    }
    if (o->lock_fd < 0)
        return cg__fail(CG_ERR_IO, "cannot lock a temporary file beside it");
    if (fchmod(o->lock_fd, mode) != 0)
        return cg__fail(CG_ERR_IO, "cannot set the mode of %s: %s", o->tmp, strerror(errno));
    /* A second descriptor for stdio: closing it keeps the lock of lock_fd. */
    int fd = dup(o->lock_fd);
    if (fd < 0 || !(o->f = fdopen(fd, "wb"))) {
        if (fd >= 0)
            close(fd);
        return cg__fail(CG_ERR_IO, "cannot open %s: %s", o->tmp, strerror(errno));
    }
    return CG_OK;
}

cg_status cg__out_open(struct cg__out *o, const char *path)
{
    struct stat ls, st;
    cg_status s;

    memset(o, 0, sizeof *o);
    o->path = path;
    o->lock_fd = -1;
    if (lstat(path, &ls) != 0) {
        if (errno != ENOENT)
            return cg__fail(CG_ERR_IO, "cannot write: %s", strerror(errno));
        ls.st_mode = S_IFREG | new_file_mode();
        st = ls;
    } else if (stat(path, &st) != 0) {
        return cg__fail(CG_ERR_IO, "cannot write: a symbolic link to a missing file");
    }
    if (S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode))
        return open_in_place(o, path);
    if (!S_ISREG(st.st_mode))
        return cg__fail(CG_ERR_IO, "cannot write: %s", S_ISDIR(st.st_mode) ? "is a folder"
                        : "not a regular file, character device or FIFO");
    /* A link is followed: the file it names is replaced, the link stays. */
    if (S_ISLNK(ls.st_mode) && !(o->target = realpath(path, NULL)))
        return cg__fail(CG_ERR_IO, "cannot resolve the link: %s", strerror(errno));
    if (o->target) {   /* realpath's malloc: into our allocator's block */
        char *t = cg__strdup(o->target);
        free(o->target);
        if (!(o->target = t))
            return CG_ERR_NOMEM;
    }
    remove_stale_tmps(o->target ? o->target : path);
    s = open_tmp(o, o->target ? o->target : path, st.st_mode & 07777);
    if (s != CG_OK)
        cg__out_close(o, s);
    return s;
}

cg_status cg__out_close(struct cg__out *o, cg_status s)
{
    const char *path = o->target ? o->target : o->path;

    if (o->f) {
        /* A device is not fsync'ed (EINVAL); its errors show at the flush. */
        bool flushed = fflush(o->f) == 0 && (!o->tmp || fsync(fileno(o->f)) == 0);
        int err = errno;
        bool closed = fclose(o->f) == 0;
        if (!closed && flushed)
            err = errno;
        if (!(flushed && closed) && s == CG_OK)
            s = cg__fail(CG_ERR_IO, "cannot write: %s", strerror(err));
        o->f = NULL;
    }
    if (o->tmp) {
        if (s == CG_OK && rename(o->tmp, path) != 0)
            s = cg__fail(CG_ERR_IO, "cannot rename %s to its name: %s", o->tmp,
                         strerror(errno));
        if (s != CG_OK)
            unlink(o->tmp);
        else
            sync_parent_dir(path);
    }
    if (o->lock_fd >= 0)
        close(o->lock_fd);
    cg__free(o->tmp);
    cg__free(o->target);
    memset(o, 0, sizeof *o);
    o->lock_fd = -1;
    return s;
}

cg_status cg__write_atomic(const char *path, cg_status (*write)(FILE *f, void *ctx), void *ctx)
{
    struct cg__out o;
    cg_status s;

    if (!path || !path[0])
        return cg__fail(CG_ERR_ARG, "cg__write_atomic: no path");
    if ((s = cg__out_open(&o, path)) != CG_OK)
        return s;
    return cg__out_close(&o, write(o.f, ctx));
}

cg_status cg_write_file(const char *path, const void *data, size_t len)
{
    struct cg__out o;
    cg_status s;

    if (!path || !path[0] || (len && !data))
        return cg__fail(CG_ERR_ARG, "cg_write_file: no path or no data");
    if ((s = cg__out_open(&o, path)) == CG_OK) {
        if (len && fwrite(data, 1, len, o.f) != len)
            s = cg__fail(CG_ERR_IO, "cannot write: %s", strerror(errno));
        s = cg__out_close(&o, s);
    }
    if (s != CG_OK && s != CG_ERR_NOMEM)
        cg__errmsg_prefix("%s", path);
    return s;
}
