/* Crash-safe training (the cgrad program, $BUILD/cgrad; BUILD from the
 * environment, default "build"):
 *
 * - kill: `cgrad train --checkpoint` is killed with SIGKILL at 20 moments
 *   drawn from a seeded generator, every fourth one the moment a checkpoint
 *   write is under way (its temporary file is seen). Each time, the model
 *   and checkpoint on disk (if any) must load, and --resume (or a fresh
 *   start, when no checkpoint was written yet) must finish the run with a
 *   model file byte-identical to an unbroken run's.
 * - Ctrl-C: SIGINT mid-run writes the checkpoint, exits 130 and says how to
 *   resume (--resume); resuming finishes byte-identical too.
 * - the library: examples/fit.c ($BUILD/examples/fit, cg_fit with early
 *   stopping, restore-best and a checkpoint every epoch, resuming when run
 *   again) is killed the same way, in a folder of its own, and run again
 *   to the end: its model file must be byte-identical to an unbroken run's.
 *
 * Runs in the float build only (the program is built from it). Prints the
 * figures that go into docs/RELIABILITY.md. */
#define _GNU_SOURCE  /* realpath */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cg_test.h"

#define KILLS 20
#define FIT_KILLS 12

extern char **environ;

static char cgrad[PATH_MAX];
static char fit[PATH_MAX];      /* examples/fit; empty when not built */
static char dir[64];
static double unbroken_seconds, fit_seconds;

static const char *at(int k, const char *rel)
{
    return cg_test_path(dir, k, rel);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
}

/* A deterministic generator for the fixture and the kill moments (xorshift). */
static uint64_t rs = 88172645463325252ull;
static double uniform(void)
{
    rs ^= rs << 13;
    rs ^= rs >> 7;
    rs ^= rs << 17;
    return (double)(rs >> 11) * (1.0 / 9007199254740992.0);
}

/* 3 classes of Gaussian-ish blobs in 8 features, `rows` rows. */
static void write_fixture(const char *path, int rows)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "f0,f1,f2,f3,f4,f5,f6,f7,label\n");
    for (int i = 0; i < rows; i++) {
        int c = i % 3;
        for (int j = 0; j < 8; j++)
            fprintf(f, "%.4f,", (double)(c == j % 3) * 2.0 + uniform() + uniform() - 1.0);
        fprintf(f, "c%d\n", c);
    }
    assert_int_equal(fclose(f), 0);
}

/* The noisy kind for examples/fit.c, whose validation loss turns up so
 * that it stops early: classes 1 apart, a fifth of the labels drawn anew. */
static void write_noisy_fixture(const char *path, int rows)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "f0,f1,f2,f3,f4,f5,f6,f7,label\n");
    for (int i = 0; i < rows; i++) {
        int c = i % 3;
        for (int j = 0; j < 8; j++)
            fprintf(f, "%.4f,", (double)(c == j % 3) + uniform() + uniform() - 1.0);
        if (uniform() < 0.2)
            c = (int)(uniform() * 3);
        fprintf(f, "c%d\n", c);
    }
    assert_int_equal(fclose(f), 0);
}

/* The training command with checkpoint ck and model out, resuming from ck
 * if asked; the argv lives in static storage until the next call. */
static char *const *train_argv(const char *ck, const char *out, bool resume)
{
    static const char *const words[] = {"train", "data.csv", "--hidden", "128,64", "--epochs",
                                        "12", "--batch", "32", "--seed", "1", "--quiet",
                                        "--checkpoint", NULL, "--out", NULL, "--resume", NULL};
    static char store[20][PATH_MAX];
    static char *argv[21];
    int n = 0;
    snprintf(store[n], PATH_MAX, "%s", cgrad);
    argv[n] = store[n];
    n++;
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        const char *w = words[i];
        if (i == 12)
            w = ck;
        else if (i == 14)
            w = out;
        else if (i == 16)
            w = ck;
        if (i >= 15 && !resume)
            break;
        snprintf(store[n], PATH_MAX, "%s", w);
        argv[n] = store[n];
        n++;
    }
    argv[n] = NULL;
    return argv;
}

/* Start prog in dir/sub with argv, stdout into outfile (NULL: nowhere) and
 * stderr into errfile; the pid. */
static pid_t start_in(const char *prog, const char *sub, char *const *argv, const char *outfile,
                      const char *errfile)
{
    pid_t pid;
    char cwd[PATH_MAX];
    posix_spawn_file_actions_t fa;

    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(chdir(at(7, sub)), 0);
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, outfile ? outfile : "/dev/null",
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, 2, errfile, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int rc = posix_spawn(&pid, prog, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    assert_int_equal(chdir(cwd), 0);
    assert_int_equal(rc, 0);
    return pid;
}

/* Start cgrad in dir with argv, stderr into errfile; the pid. */
static pid_t start(char *const *argv, const char *errfile)
{
    return start_in(cgrad, ".", argv, NULL, errfile);
}

/* Wait for pid; its exit status, or 128 + the signal. */
static int finish(pid_t pid)
{
    int st;
    while (waitpid(pid, &st, 0) < 0)
        assert_int_equal(errno, EINTR);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int run(char *const *argv)
{
    return finish(start(argv, "stderr.txt"));
}

static bool exists(const char *rel)
{
    struct stat st;
    return stat(at(3, rel), &st) == 0;
}

static bool same_file(const char *a, const char *b)
{
    FILE *fa = fopen(at(0, a), "rb"), *fb = fopen(at(1, b), "rb");
    bool same = fa && fb;
    while (same) {
        int ca = fgetc(fa), cb = fgetc(fb);
        same = ca == cb;
        if (ca == EOF || cb == EOF)
            break;
    }
    if (fa)
        fclose(fa);
    if (fb)
        fclose(fb);
    return same;
}

/* Temporary files (a write under way or cut short) in dir/sub. */
static int temp_files_in(const char *sub, bool remove)
{
    char folder[PATH_MAX], name[PATH_MAX * 2];
    snprintf(folder, sizeof folder, "%s", at(6, sub));
    DIR *d = opendir(folder);
    int n = 0;
    assert_non_null(d);
    for (struct dirent *e; (e = readdir(d));)
        if (strstr(e->d_name, ".tmp.")) {
            n++;
            snprintf(name, sizeof name, "%s/%s", folder, e->d_name);
            if (remove)
                unlink(name);
        }
    closedir(d);
    return n;
}

static int temp_files(bool remove)
{
    return temp_files_in(".", remove);
}

/* The files on disk load cleanly (whichever exist). */
static void check_files_load(const char *ck, const char *out)
{
    if (exists(ck)) {
        cg_safetensors *st = cg_safetensors_load(at(0, ck));
        if (!st)
            fail_msg("checkpoint %s does not load: %s", ck, cg_errmsg());
        assert_true(cg_safetensors_count(st) > 0);
        cg_safetensors_free(st);
    }
    if (exists(out)) {
        cg_model *m = cg_model_load(at(0, out), NULL);
        if (!m)
            fail_msg("model %s does not load: %s", out, cg_errmsg());
        cg_model_free(m);
    }
}

static int setup(void **state)
{
    (void)state;
#ifdef CG_DOUBLE
    (void)write_fixture;
    (void)write_noisy_fixture;
    return 0;
#else
    const char *build = getenv("BUILD");
    char rel[PATH_MAX];
    snprintf(rel, sizeof rel, "%s/cgrad", build && *build ? build : "build");
    if (!realpath(rel, cgrad) || access(cgrad, X_OK) != 0) {
        cgrad[0] = '\0';  /* no program: the tests skip (realpath may leave a part) */
        return 0;
    }
    if (cg_test_dir_make(dir, sizeof dir, "cg_crash_") != 0)
        return -1;
    write_fixture(at(0, "data.csv"), 20000);
    snprintf(rel, sizeof rel, "%s/examples/fit", build && *build ? build : "build");
    if (!realpath(rel, fit) || access(fit, X_OK) != 0)
        fit[0] = '\0';
    write_noisy_fixture(at(0, "fit.csv"), 3000);
    if (mkdir(at(0, "fitref"), 0755) != 0 || mkdir(at(0, "fitk"), 0755) != 0)
        return -1;
    return 0;
#endif
}

static int teardown(void **state)
{
    (void)state;
    return cg_test_dir_remove(dir);
}

static void need_program(void)
{
    if (!cgrad[0]) {
#ifdef CG_DOUBLE
        cg_test_skipping("the kill tests run the cgrad program once, in the float build");
#else
        cg_test_skipping("no cgrad program in the build folder");
#endif
        skip();
    }
}

/* The reference: one unbroken run. */
static void unbroken(void)
{
    if (exists("ref.st"))
        return;
    double t0 = now();
    assert_int_equal(run(train_argv("ref.ckpt", "ref.st", false)), 0);
    unbroken_seconds = now() - t0;
    assert_true(exists("ref.st"));
}

/* Kill pid with SIGKILL once a temporary file appears (a write under way),
 * or after `limit` seconds; its exit status (128 + 9 if killed), and in
 * *hit whether the kill landed during a write. */
static int kill_during_write(pid_t pid, const char *sub, double limit, bool *hit)
{
    double t0 = now();
    int st;
    *hit = false;
    while (now() - t0 < limit) {
        if (temp_files_in(sub, false) > 0) {
            kill(pid, SIGKILL);
            *hit = true;
            return finish(pid);
        }
        if (waitpid(pid, &st, WNOHANG) == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    }
    kill(pid, SIGKILL);
    return finish(pid);
}

static void test_sigkill_then_resume_is_bit_identical(void **state)
{
    (void)state;
    need_program();
    unbroken();
    int during_write = 0, before_first = 0, finished_early = 0, leftovers = 0;
    for (int i = 0; i < KILLS; i++) {
        unlink(at(0, "k.ckpt"));
        unlink(at(0, "k.st"));
        pid_t pid = start(train_argv("k.ckpt", "k.st", false), "kill.err");
        int rc;
        if (i % 4 == 3) {
            bool hit;
            rc = kill_during_write(pid, ".", 2 * unbroken_seconds, &hit);
            during_write += hit;
        } else {
            sleep_s(uniform() * unbroken_seconds);
            kill(pid, SIGKILL);
            rc = finish(pid);
        }
        if (rc != 128 + SIGKILL)
            finished_early++;
        /* what a crash leaves must load */
        check_files_load("k.ckpt", "k.st");
        /* left in place: the resumed run's writes of the same targets
         * must remove them (stale, no writer holds their lock) */
        leftovers += temp_files(false);
        /* finish the run: resume, or start again without a checkpoint */
        bool ck = exists("k.ckpt");
        before_first += !ck;
        int r2 = run(train_argv("k.ckpt", "k.st", ck));
        if (r2 != 0)
            fail_msg("kill %d: the resumed run exited %d", i, r2);
        if (!same_file("k.st", "ref.st"))
            fail_msg("kill %d: the resumed run's model differs from the unbroken run's", i);
        if (temp_files(true) != 0)
            fail_msg("kill %d: the resumed run left a stale temporary file", i);
    }
    printf("crash: %d SIGKILLs (unbroken run %.2f s): %d during a checkpoint write, %d before "
           "the first checkpoint, %d after the run ended; %d temporary files left by the "
           "kills, all removed by the resumed runs; every resume bit-identical\n", KILLS, unbroken_seconds, during_write,
           before_first, finished_early, leftovers);
    assert_true(during_write > 0);
}

static void test_sigint_writes_checkpoint_and_exits_130(void **state)
{
    (void)state;
    need_program();
    unbroken();
    unlink(at(0, "i.ckpt"));
    unlink(at(0, "i.st"));
    pid_t pid = start(train_argv("i.ckpt", "i.st", false), "int.err");
    /* interrupt once the first epoch's checkpoint is there, mid-run */
    double t0 = now();
    while (!exists("i.ckpt") && now() - t0 < 30)
        sleep_s(0.002);
    assert_true(exists("i.ckpt"));
    sleep_s(unbroken_seconds / 24);  /* into the next epoch */
    kill(pid, SIGINT);
    assert_int_equal(finish(pid), 130);
    char err[4096] = "";
    FILE *f = fopen(at(0, "int.err"), "r");
    assert_non_null(f);
    size_t n = fread(err, 1, sizeof err - 1, f);
    err[n] = '\0';
    fclose(f);
    if (!strstr(err, "--resume i.ckpt"))
        fail_msg("no advice to --resume on stderr: %s", err);
    check_files_load("i.ckpt", "i.st");
    assert_int_equal(temp_files(false), 0);
    assert_int_equal(run(train_argv("i.ckpt", "i.st", true)), 0);
    assert_true(same_file("i.st", "ref.st"));
}

/* ---- the library's example -------------------------------------------------------- */

static char *const *fit_argv(void)
{
    static char data[] = "../fit.csv";
    static char *argv[3];
    argv[0] = fit;
    argv[1] = data;
    argv[2] = NULL;
    return argv;
}

/* examples/fit in dir/sub, to its end; its exit status. */
static int run_fit(const char *sub, const char *outfile)
{
    return finish(start_in(fit, sub, fit_argv(), outfile, "err.txt"));
}

/* The unbroken run (fitref/ref.st), which must have stopped early with
 * the best epoch's weights, and its time. */
static void fit_unbroken(void)
{
    int epochs = 0, best = 0;
    double t0 = now();
    assert_int_equal(run_fit("fitref", "out.txt"), 0);
    fit_seconds = now() - t0;
    FILE *f = fopen(at(0, "fitref/out.txt"), "r");
    assert_non_null(f);
    assert_int_equal(fscanf(f, "%d epochs, the best was epoch %d", &epochs, &best), 2);
    fclose(f);
    if (!(best >= 1 && epochs == best + 20 && epochs < 300))
        fail_msg("examples/fit did not stop early (%d epochs, the best %d)", epochs, best);
    assert_int_equal(rename(at(0, "fitref/fit.safetensors"), at(1, "fitref/ref.st")), 0);
    /* run again after its end: it resumes there and writes the same model */
    assert_int_equal(run_fit("fitref", NULL), 0);
    assert_true(same_file("fitref/fit.safetensors", "fitref/ref.st"));
}

static void test_fit_example_sigkill_then_run_again_is_bit_identical(void **state)
{
    (void)state;
    if (!fit[0]) {
        cg_test_skipping("examples/fit is the float build's: killed in the float run");
        skip();
    }
    fit_unbroken();
    int during_write = 0, before_first = 0, finished_early = 0, leftovers = 0;
    for (int i = 0; i < FIT_KILLS; i++) {
        unlink(at(0, "fitk/fit.ckpt"));
        unlink(at(0, "fitk/fit.safetensors"));
        pid_t pid = start_in(fit, "fitk", fit_argv(), NULL, "kill.err");
        int rc;
        if (i % 4 == 3) {
            bool hit;
            rc = kill_during_write(pid, "fitk", 2 * fit_seconds, &hit);
            during_write += hit;
        } else {
            sleep_s(uniform() * fit_seconds);
            kill(pid, SIGKILL);
            rc = finish(pid);
        }
        if (rc != 128 + SIGKILL)
            finished_early++;
        check_files_load("fitk/fit.ckpt", "fitk/fit.safetensors");
        leftovers += temp_files_in("fitk", true);
        before_first += !exists("fitk/fit.ckpt");
        int r2 = run_fit("fitk", NULL);   /* resumes if a checkpoint is there */
        if (r2 != 0)
            fail_msg("kill %d: examples/fit run again exited %d", i, r2);
        if (!same_file("fitk/fit.safetensors", "fitref/ref.st"))
            fail_msg("kill %d: the model after running again differs from the unbroken run's",
                     i);
    }
    printf("crash: examples/fit (cg_fit): %d SIGKILLs (unbroken run %.2f s): %d during a "
           "checkpoint write, %d before the first checkpoint, %d after the run ended; %d "
           "temporary files left by the kills; every run again bit-identical\n", FIT_KILLS,
           fit_seconds, during_write, before_first, finished_early, leftovers);
    assert_true(during_write > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sigkill_then_resume_is_bit_identical),
        cmocka_unit_test(test_sigint_writes_checkpoint_and_exits_130),
        cmocka_unit_test(test_fit_example_sigkill_then_run_again_is_bit_identical),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
