/*
 * How many CPUs this process may use, and who sets OpenBLAS's thread count.
 *
 * The CPU count is what the kernel lets the process run on: the affinity
 * mask (taskset, a container's cpuset), capped by a cgroup CPU quota (v2
 * cpu.max; v1 cpu.cfs_quota_us over cpu.cfs_period_us) rounded up. A
 * machine's core count is not it: a container limited to 2 CPUs on a
 * 64-core host that starts 64 threads runs them in turns. Files are read
 * with open/read into the stack: nothing here allocates.
 *
 * OpenBLAS: its pthreads build starts a thread per core when the program
 * loads and runs each product on all of them. A cgrad program that runs
 * threads of its own (the trainer's pool, or an embedder's threads each
 * training a model) would then have every core asked for twice, and an
 * OpenBLAS product on several threads allocates memory outside
 * cg_set_allocator. So unless the program chose (cg_set_blas_threads, or
 * OPENBLAS_NUM_THREADS in the environment), the first product cgrad runs
 * sets OpenBLAS to one thread. That choice is process-wide, as OpenBLAS's
 * setting is: one flag records it.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cblas.h>

#include "internal.h"

/* ---- CPUs ------------------------------------------------------------------- */

/* The text of a small file into buf (NUL-terminated); false if unreadable. */
static bool read_small(const char *path, char *buf, size_t n)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t got = read(fd, buf, n - 1);
    close(fd);
    if (got <= 0)
        return false;
    buf[got] = '\0';
    return true;
}

/* CPUs of a quota: ceil(quota / period), or 0 for none. */
static int quota_cpus(long long quota, long long period)
{
    if (quota <= 0 || period <= 0)
        return 0;
    return (int)((quota + period - 1) / period);
}

int cg__cpu_max_cpus(const char *text)
{
    char *end;
    if (strncmp(text, "max", 3) == 0)
        return 0;
    long long quota = strtoll(text, &end, 10);
    return end == text ? 0 : quota_cpus(quota, strtoll(end, NULL, 10));
}

/* cgroup v2: dir/cpu.max under mount (/sys/fs/cgroup, or
 * /sys/fs/cgroup/unified on a hybrid system). */
static int v2_limit(const char *mount, const char *dir)
{
    char path[640], buf[128];
    snprintf(path, sizeof path, "%s%s/cpu.max", mount, dir);
    return read_small(path, buf, sizeof buf) ? cg__cpu_max_cpus(buf) : 0;
}

/* cgroup v1: cpu.cfs_quota_us (-1: none) over cpu.cfs_period_us. */
static int v1_limit(const char *mount, const char *dir)
{
    char path[640], quota[64], period[64];
    snprintf(path, sizeof path, "%s%s/cpu.cfs_quota_us", mount, dir);
    if (!read_small(path, quota, sizeof quota))
        return 0;
    snprintf(path, sizeof path, "%s%s/cpu.cfs_period_us", mount, dir);
    if (!read_small(path, period, sizeof period))
        return 0;
    return quota_cpus(strtoll(quota, NULL, 10), strtoll(period, NULL, 10));
}

static int min_limit(int a, int b)
{
    return a == 0 ? b : b == 0 ? a : a < b ? a : b;
}

/* The smallest quota on the way from the process's cgroup up to the root
 * (a parent's quota limits its children), or 0 for none. A container sees
 * its own cgroup as the root, so "/" is tried too. */
static int cgroup_limit(void)
{
    char buf[2048], dir[512], *save = NULL;
    int limit = 0;
    if (!read_small("/proc/self/cgroup", buf, sizeof buf))
        return 0;
    for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *ctrl = strchr(line, ':'), *path = ctrl ? strchr(ctrl + 1, ':') : NULL;
        if (!path)
            continue;
        bool v2 = ctrl[1] == ':';
        bool v1cpu = !v2 && (strstr(ctrl, ":cpu,") || strstr(ctrl, ",cpu:") ||
                             strstr(ctrl, ":cpu:"));
        if (!v2 && !v1cpu)
            continue;
        snprintf(dir, sizeof dir, "%s", path + 1);
        for (;;) {
            size_t len = strlen(dir);
            const char *d = len == 1 ? "" : dir;   /* "/" is the root itself */
            if (v2)
                limit = min_limit(limit, min_limit(v2_limit("/sys/fs/cgroup", d),
                                                   v2_limit("/sys/fs/cgroup/unified", d)));
            else
                limit = min_limit(limit, min_limit(v1_limit("/sys/fs/cgroup/cpu,cpuacct", d),
                                                   v1_limit("/sys/fs/cgroup/cpu", d)));
            char *slash = strrchr(dir, '/');
            if (!slash || len <= 1)
                break;
            slash[slash == dir ? 1 : 0] = '\0';
        }
    }
    return limit;
}

int cg_cpu_count(void)
{
    cpu_set_t set;
    int cpus = 0;
    if (sched_getaffinity(0, sizeof set, &set) == 0)
        cpus = CPU_COUNT(&set);
    if (cpus <= 0) {
        long online = sysconf(_SC_NPROCESSORS_ONLN);
        cpus = online > 0 ? (int)online : 1;
    }
    int limit = cgroup_limit();
    return limit > 0 && limit < cpus ? limit : cpus;
}

/* ---- OpenBLAS's threads -------------------------------------------------------- */

/* 0: nobody chose yet; 1: set to one thread by cgrad; 2: the program chose. */
static atomic_int blas_owner;

void cg_set_blas_threads(int n)
{
    int k = n <= 0 ? cg_cpu_count() : n;
    atomic_store(&blas_owner, 2);
    /* more threads only when their buffers fit: a slower run, not a hang */
    openblas_set_num_threads(k > 1 && cg__blas_fits((size_t)k) ? k : 1);
}

void cg__blas_default(void)
{
    int expected = 0;
    if (atomic_load_explicit(&blas_owner, memory_order_relaxed) != 0)
        return;
    if (!atomic_compare_exchange_strong(&blas_owner, &expected, 1))
        return;
    if (!getenv("OPENBLAS_NUM_THREADS"))
        openblas_set_num_threads(1);
}
