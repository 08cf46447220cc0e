/*
 * Peak resident memory of `cgrad train` on the demo task (Fashion-MNIST,
 * 784-256-128-10, Adam, batch 128, 2 threads), one epoch: memory does not
 * grow with epochs, since every step reuses the same arena. The program runs
 * as a child and its peak RSS comes from wait4's rusage (ru_maxrss, KB).
 */
#define _DEFAULT_SOURCE /* wait4, realpath */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define FASHION_DIR "/usr/share/datasets/fashion-mnist"

int main(void)
{
    const char *build = getenv("BUILD") ? getenv("BUILD") : "build";
    char cgrad[512], out[] = "/tmp/cgrad_bench_mem_XXXXXX";
    struct rusage ru;
    int status;
    pid_t pid;

    if (access(FASHION_DIR, R_OK) != 0) {
        printf("| peak RSS of cgrad train | skipped | | no %s "
               "(scripts/deps.sh demo installs it) |\n", FASHION_DIR);
        return 0;
    }
    snprintf(cgrad, sizeof cgrad, "%s/cgrad", build);
    char *abs = realpath(cgrad, NULL);
    if (!abs || !mkdtemp(out)) {
        printf("| peak RSS of cgrad train | FAILED | | no %s |\n", cgrad);
        return 1;
    }
    pid = fork();
    if (pid == 0) {
        if (chdir(out) != 0)
            _exit(127);
        if (!freopen("/dev/null", "w", stdout))
            _exit(127);
        execl(abs, "cgrad", "train", FASHION_DIR, "--hidden", "256,128",
              "--epochs", "1", "--batch", "128", "--threads", "2", "--quiet",
              "--out", "m.safetensors", (char *)NULL);
        _exit(127);
    }
    if (pid < 0 || wait4(pid, &status, 0, &ru) != pid || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0) {
        printf("| peak RSS of cgrad train | FAILED | | exit status %d |\n", status);
        return 1;
    }
    printf("| peak RSS of cgrad train (demo task, 1 epoch) | %.1f | MB | images as bytes: "
           "%.1f MB |\n", (double)ru.ru_maxrss / 1024.0, 70000.0 * 784 / 1e6 / 1.048576);
    char cmd[128];
    free(abs);
    snprintf(cmd, sizeof cmd, "rm -rf %s", out);
    return system(cmd) == 0 ? 0 : 1;
}
