/*
 * `cgrad train` as a new user meets it (issue 17): one plain line per epoch
 * in a log (and `make demo` shows them), the progress bar's line cleared
 * before the last lines on a terminal (a pseudo-terminal here, the bytes
 * checked), Ctrl-C and --resume giving an unbroken run's metrics, Ctrl-C
 * while the data loads (a FIFO that never ends, so the program is surely
 * loading), and class names for IDX data.
 *
 * Fixtures: blobs.csv, 3 classes in 4 features around centres 4 apart
 * (big.csv: 30000 rows of them); noisy.csv, 2 overlapping classes (so the
 * losses stay well above 0); IDX folders of 4x4 images whose class c
 * lights pixel c. All written here.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cg_test.h"
#include "cg_cli.h"

static struct cg_cli cli;
static char prog[4200];   /* the program, absolute */

static const char *const fashion[10] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                        "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};

/* ---- fixtures ------------------------------------------------------------------ */

static uint32_t lcg(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return *s >> 8;
}

static void put_be32(FILE *f, uint32_t v)
{
    unsigned char b[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 8), (unsigned char)v};
    fwrite(b, 1, 4, f);
}

/* One IDX pair `<folder>/<stem>-images-idx3-ubyte` and `-labels-idx1-ubyte`:
 * n 4x4 images, image i of class i % k with pixel (i % k) lit (200..250)
 * over a dark noise (0..50). */
static void write_idx_pair(const char *folder, const char *stem, int n, int k, uint32_t seed)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s/%s-images-idx3-ubyte", cli.dir, folder, stem);
    FILE *img = fopen(path, "wb");
    snprintf(path, sizeof path, "%s/%s/%s-labels-idx1-ubyte", cli.dir, folder, stem);
    FILE *lab = fopen(path, "wb");
    assert_non_null(img);
    assert_non_null(lab);
    put_be32(img, 0x803);
    put_be32(img, (uint32_t)n);
    put_be32(img, 4);
    put_be32(img, 4);
    put_be32(lab, 0x801);
    put_be32(lab, (uint32_t)n);
    for (int i = 0; i < n; i++) {
        for (int p = 0; p < 16; p++)
            fputc(p == i % k ? 200 + (int)(lcg(&seed) % 51) : (int)(lcg(&seed) % 51), img);
        fputc(i % k, lab);
    }
    fclose(img);
    fclose(lab);
}

/* An IDX folder of k classes: 30 training and 10 test images a class. */
static void write_idx(const char *folder, int k)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", cli.dir, folder);
    assert_int_equal(mkdir(path, 0755), 0);
    write_idx_pair(folder, "train", 30 * k, k, 1);
    write_idx_pair(folder, "t10k", 10 * k, k, 2);
}

static int setup(void **state)
{
    (void)state;
    if (cg_cli_setup(&cli, "cgrad-train-cli-") != 0)
        return -1;
    snprintf(prog, sizeof prog, "%s/cgrad", cli.bin);
    /* blobs.csv: 3 separable classes; big.csv: the same, 30000 rows */
    if (cg_cli_run(&cli, "awk 'BEGIN { srand(1); print \"a,b,c,d,colour\"; "
                         "split(\"red green blue\", name, \" \"); "
                         "for (i = 0; i < 30000; i++) { k = i %% 3; "
                         "printf \"%%.3f,%%.3f,%%.3f,%%.3f,%%s\\n\", 4 * (k == 1) + rand(), "
                         "4 * (k > 0) + rand(), 4 * (k == 2) + rand(), 4 * (k == 2) + rand(), "
                         "name[k + 1] } }' >big.csv && head -n 151 big.csv >blobs.csv && "
                         "awk 'BEGIN { srand(2); print \"a,b,label\"; for (i = 0; i < 24000; "
                         "i++) printf \"%%.3f,%%.3f,%%d\\n\", (i %% 2) + 2 * rand(), 2 * rand(), "
                         "i %% 2 }' >noisy.csv") != 0) {
        fprintf(stderr, "test_train_cli: fixtures: %s", cli.err);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return cg_cli_teardown(&cli);
}

/* ---- progress in a log -------------------------------------------------------------- */

/* Text holds the line "epoch <e>/<n>  step ..." for every epoch, at line
 * starts, and no carriage return or escape sequence. */
static void assert_epoch_lines(const char *text, int n)
{
    for (int e = 1; e <= n; e++) {
        char want[64];
        snprintf(want, sizeof want, "\nepoch %d/%d  step ", e, n);
        const char *at = strstr(text, want + 1);
        if (!at || (at != text && at[-1] != '\n'))
            fail_msg("no line '%s...' in:\n%s", want + 1, text);
    }
    assert_null(strchr(text, '\r'));
    assert_null(strchr(text, '\033'));
}

static void test_one_line_per_epoch_in_a_log(void **state)
{
    (void)state;
    cg_cli_expect(&cli, 0, "cgrad train blobs.csv --hidden 8 --epochs 3 --out log.st");
    assert_epoch_lines(cli.out, 3);
    assert_non_null(strstr(cli.out, "\ntrained 4-8-3: 3 epochs"));
    /* --json: the lines go to stderr, stdout is the JSON object alone */
    cg_cli_expect(&cli, 0, "cgrad train blobs.csv --hidden 8 --epochs 3 --json --out log.st");
    assert_epoch_lines(cli.err, 3);
    assert_true(cli.out[0] == '{');
    assert_null(strstr(cli.out, "epoch 1/3"));
    /* --quiet: none */
    cg_cli_expect(&cli, 0, "cgrad train blobs.csv --hidden 8 --epochs 3 --quiet --out log.st");
    assert_null(strstr(cli.out, "epoch 1/3"));
}

/* ---- progress on a terminal --------------------------------------------------------- */

/* Run the program on a pseudo-terminal (its stdout and stderr) in the test
 * folder; after `wait_for` shows up in its output (NULL: never), send
 * SIGINT. Everything it wrote lands in buf; returns the exit status. */
static int run_on_pty(char *const argv[], const char *wait_for, char *buf, size_t size)
{
    int fd;
    pid_t pid = forkpty(&fd, NULL, NULL, NULL);
    assert_true(pid >= 0);
    if (pid == 0) {
        if (chdir(cli.dir) == 0)
            execv(prog, argv);
        _exit(127);
    }
    size_t n = 0;
    bool sent = false;
    for (;;) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 60000) <= 0)
            break;   /* 60 s without a byte: give up (the status says so) */
        ssize_t got = read(fd, buf + n, size - 1 - n);
        if (got <= 0)
            break;   /* EIO: the program ended, the terminal is gone */
        n += (size_t)got;
        buf[n] = '\0';
        if (wait_for && !sent && strstr(buf, wait_for)) {
            kill(pid, SIGINT);
            sent = true;
        }
        if (n == size - 1)
            memmove(buf, buf + size / 2, n -= size / 2);   /* keep the end */
    }
    buf[n] = '\0';
    close(fd);
    int st;
    if (waitpid(pid, &st, 0) != pid)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Every bar ("... left" and the erase-to-end-of-line) is followed by the
 * line's clearing (carriage return, erase) or by more of the bar: no text
 * ever follows a bar on its line; and `line` begins a line. */
static void assert_bar_cleared_before(const char *text, const char *line)
{
    const char *bar = "left\033[K";
    assert_non_null(strstr(text, bar));   /* a bar was drawn */
    for (const char *at = strstr(text, bar); at; at = strstr(at + 1, bar)) {
        const char *next = at + strlen(bar);
        if (strncmp(next, "\r\033[K", 4) != 0 && strncmp(next, "\repoch ", 7) != 0)
            fail_msg("text after a bar on its line: ...%.60s", next);
    }
    const char *at = strstr(text, line);
    assert_non_null(at);
    assert_true(at > text);
    if (at[-1] != '\n' && !(at - text >= 4 && strncmp(at - 4, "\r\033[K", 4) == 0))
        fail_msg("'%s' does not start a line: ...%.40s", line, at - 20 > text ? at - 20 : text);
}

static void test_bar_cleared_before_the_last_lines(void **state)
{
    (void)state;
    static char buf[1 << 20];
    /* stopped by --steps in the middle of the first epoch (batch 1: the
     * bar is drawn at the first step) */
    char *steps[] = {(char[]){"cgrad"}, (char[]){"train"}, (char[]){"big.csv"},
                     (char[]){"--hidden"}, (char[]){"8"}, (char[]){"--batch"}, (char[]){"1"},
                     (char[]){"--steps"}, (char[]){"20"}, (char[]){"--out"},
                     (char[]){"tty.st"}, NULL};
    assert_int_equal(run_on_pty(steps, NULL, buf, sizeof buf), 0);
    assert_bar_cleared_before(buf, "trained 4-8-3: 0 epochs, 20 steps");
    /* Ctrl-C once the bar is up: the message starts its own line */
    char *ctrl_c[] = {(char[]){"cgrad"}, (char[]){"train"}, (char[]){"big.csv"},
                      (char[]){"--hidden"}, (char[]){"8"}, (char[]){"--batch"}, (char[]){"1"},
                      (char[]){"--epochs"}, (char[]){"1000"}, (char[]){"--out"},
                      (char[]){"tty2.st"}, NULL};
    assert_int_equal(run_on_pty(ctrl_c, "left\033[K", buf, sizeof buf), 130);
    assert_bar_cleared_before(buf, "cgrad: interrupted at epoch");
}

/* ---- Ctrl-C and --resume ---------------------------------------------------------------- */

/* Drop the last field (the seconds) of every line, in place. */
static void drop_seconds(char *csv)
{
    char *w = csv;
    for (char *line = csv; *line;) {
        char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        char *comma = memrchr(line, ',', len);
        size_t keep = comma ? (size_t)(comma - line) : len;
        memmove(w, line, keep);
        w += keep;
        *w++ = '\n';
        line += len + (end ? 1 : 0);
    }
    *w = '\0';
}

/* Interrupted by Ctrl-C (a little after the first epoch's checkpoint is
 * written, so most likely in the middle of the second epoch; test_cli
 * stops a run mid-epoch by --steps for certain) and resumed: the metrics are those of an unbroken
 * run, the interrupted epoch's row included, and so is the model. */
static void test_ctrl_c_then_resume_keeps_the_history(void **state)
{
    (void)state;
    static char whole[CG_CLI_OUT];
    /* 8 epochs: the signal, 0.05 s after the first checkpoint (epoch 1), must
     * find the run still going on a fast, quiet machine too */
    const char *opts = "cgrad train noisy.csv --hidden 8 --batch 1 --epochs 8 --quiet";
    cg_cli_expect(&cli, 0, "%s --metrics whole.csv --out whole.st >/dev/null && cat whole.csv",
                  opts);
    snprintf(whole, sizeof whole, "%s", cli.out);
    cg_cli_expect(&cli, 130, "%s --metrics part.csv --checkpoint ck.st --out part.st & "
                             "pid=$!; while [ ! -f ck.st ]; do sleep 0.01; done; "
                             "sleep 0.05; kill -INT $pid; wait $pid", opts);
    assert_non_null(strstr(cli.err, "cgrad: interrupted at epoch "));
    cg_cli_expect(&cli, 0, "%s --metrics part.csv --checkpoint ck.st --resume ck.st "
                           "--out part.st >/dev/null && cat part.csv && cmp whole.st part.st", opts);
    drop_seconds(whole);
    drop_seconds(cli.out);
    assert_string_equal(whole, cli.out);
}

/* ---- Ctrl-C while loading ------------------------------------------------------------- */

static void test_ctrl_c_while_loading_says_so(void **state)
{
    (void)state;
    char fifo[PATH_MAX];
    snprintf(fifo, sizeof fifo, "%s/endless.csv", cli.dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int e = open("/dev/null", O_RDONLY);
        char errpath[PATH_MAX + 16];
        snprintf(errpath, sizeof errpath, "%s/load.err", cli.dir);
        int w = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (e < 0 || w < 0 || dup2(e, 0) < 0 || dup2(w, 1) < 0 || dup2(w, 2) < 0 ||
            chdir(cli.dir) != 0)
            _exit(127);
        execl(prog, "cgrad", "train", "endless.csv", "--out", "never.st", (char *)NULL);
        _exit(127);
    }
    /* the FIFO opens for writing once the program has it open for reading:
     * then it is loading, and waits for rows that never end */
    int fd = -1, st;
    for (int i = 0; i < 3000 && fd < 0; i++) {
        if ((fd = open(fifo, O_WRONLY | O_NONBLOCK)) < 0) {
            assert_int_equal(errno, ENXIO);
            assert_int_equal(waitpid(pid, &st, WNOHANG), 0);   /* still running */
            nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
        }
    }
    assert_true(fd >= 0);
    const char rows[] = "a,b,c\n1,2,x\n3,4,y\n";
    assert_int_equal(write(fd, rows, sizeof rows - 1), (ssize_t)(sizeof rows - 1));
    nanosleep(&(struct timespec){0, 50 * 1000 * 1000}, NULL);
    kill(pid, SIGINT);
    assert_int_equal(waitpid(pid, &st, 0), pid);
    close(fd);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 130);
    cg_cli_expect(&cli, 0, "cat load.err; ls");
    assert_non_null(strstr(cli.out, "cgrad: interrupted while loading endless.csv; nothing was "
                                     "written\n"));
    assert_null(strstr(cli.out, "never"));   /* no model, no checkpoint */
}

/* ---- class names ------------------------------------------------------------------------ */

static void test_class_names_for_idx(void **state)
{
    (void)state;
    write_idx("idx3", 3);
    /* a file, one name a line (a CRLF end and a blank line are fine) */
    cg_cli_write(&cli, "names.txt", "cat\r\ndog\n\nbird\n");
    cg_cli_expect(&cli, 0, "cgrad train idx3 --hidden 8 --epochs 20 --lr 0.01 "
                           "--class-names names.txt --quiet --out named.st");
    cg_cli_expect(&cli, 0, "cgrad info named.st");
    assert_non_null(strstr(cli.out, "classes (3): cat, dog, bird\n"));
    cg_cli_expect(&cli, 0, "cgrad eval named.st idx3");
    assert_non_null(strstr(cli.out, "\ndog "));
    assert_non_null(strstr(cli.out, "\nbird "));
    /* a comma list */
    cg_cli_expect(&cli, 0, "cgrad train idx3 --hidden 8 --epochs 1 --class-names 'a b,c/d,e' "
                           "--quiet --out list.st && cgrad info list.st");
    assert_non_null(strstr(cli.out, "classes (3): a b, c/d, e\n"));
    /* without: the numbers */
    cg_cli_expect(&cli, 0, "cgrad train idx3 --hidden 8 --epochs 1 --quiet --out plain.st && "
                           "cgrad info plain.st");
    assert_non_null(strstr(cli.out, "classes (3): 0, 1, 2\n"));
    /* refused: a count that is not the data's, empty, twice, a missing
     * file, data that names its classes itself */
    cg_cli_expect(&cli, 1, "cgrad train idx3 --class-names a,b --quiet --out x.st");
    assert_non_null(strstr(cli.err, "--class-names a,b: 2 names, but idx3 has 3 classes"));
    cg_cli_expect(&cli, 1, "cgrad train idx3 --class-names a,b,c,d --quiet --out x.st");
    assert_non_null(strstr(cli.err, "more than 3 names, but idx3 has 3 classes"));
    cg_cli_expect(&cli, 1, "cgrad train idx3 --class-names a,,c --quiet --out x.st");
    assert_non_null(strstr(cli.err, "name 2 is empty"));
    cg_cli_expect(&cli, 1, "cgrad train idx3 --class-names a,b,a --quiet --out x.st");
    assert_non_null(strstr(cli.err, "'a' is there twice"));
    cg_cli_expect(&cli, 1, "cgrad train idx3 --class-names nofile.txt --quiet --out x.st");
    assert_non_null(strstr(cli.err, "nofile.txt: cannot open"));
    cg_cli_expect(&cli, 2, "cgrad train blobs.csv --class-names a,b,c --quiet --out x.st");
    assert_non_null(strstr(cli.err, "--class-names is for IDX data"));
    cg_cli_expect(&cli, 0, "ls");
    assert_null(strstr(cli.out, "x.st"));
}

/* ---- make demo ---------------------------------------------------------------------------- */

/* scripts/demo.sh on a small IDX folder of ten classes: a line per epoch,
 * and Fashion-MNIST's names in the evaluation. */
static void test_demo_shows_epochs_and_names(void **state)
{
    (void)state;
    write_idx("idx10", 10);
    cg_cli_run(&cli, "BUILD='%s' DEMO_DATA=idx10 DEMO_OUT=demo DEMO_THREADS=1 "
                     "sh '%s/scripts/demo.sh' 2>&1", cli.bin, cli.src);
    if (!strstr(cli.out, "test accuracy:"))
        fail_msg("the demo did not finish (exit %d):\n%s", cli.status, cli.out);
    assert_epoch_lines(cli.out, 5);
    cg_cli_expect(&cli, 0, "cat demo/eval.txt");
    for (int c = 0; c < 10; c++) {
        char row[64];
        snprintf(row, sizeof row, "\n%s ", fashion[c]);   /* a row of the tables */
        if (!strstr(cli.out, row))
            fail_msg("no row '%s' in the evaluation:\n%s", fashion[c], cli.out);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_line_per_epoch_in_a_log),
        cmocka_unit_test(test_bar_cleared_before_the_last_lines),
        cmocka_unit_test(test_ctrl_c_then_resume_keeps_the_history),
        cmocka_unit_test(test_ctrl_c_while_loading_says_so),
        cmocka_unit_test(test_class_names_for_idx),
        cmocka_unit_test(test_demo_shows_epochs_and_names),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
