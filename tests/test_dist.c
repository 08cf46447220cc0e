/*
 * Data parallelism across processes (train/dist.h): cg_dist alone, and
 * `mpirun -np N cgrad train` against one process on the iris example
 * (examples/data/iris.csv): the weights within 1e-6 (relative, in norm) of
 * one process, bit-identical with --deterministic, a checkpoint of 2
 * processes resumed by 3, a killed rank and a stopped one (hung, or its
 * node lost) that end the job with a message naming them, and a sweep of
 * two points against two trainings, one whose slow point outlasts the
 * watchdog's timeout, and one whose stopped process is named.
 *
 * The mpirun cases need Open MPI (the library built with it and mpirun on
 * the PATH) and are skipped without. As root, mpirun needs
 * OMPI_ALLOW_RUN_AS_ROOT(_CONFIRM), set here; --oversubscribe lets 3
 * processes share 2 cores. Every command runs under `timeout`, so a hang
 * fails the test instead of stopping `make test`.
 */
#define _GNU_SOURCE
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cg_test.h"

static char cgrad[PATH_MAX];   /* the binary, absolute */
static char iris[PATH_MAX];    /* examples/data/iris.csv, absolute */
static char dir[256];          /* the temporary working folder */
static char out[1 << 16], err[1 << 16];
static bool have_mpirun;

/* ---- running ------------------------------------------------------------------ */

static void read_text(const char *name, char *buf, size_t n)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    size_t len = f ? fread(buf, 1, n - 1, f) : 0;
    buf[len] = '\0';
    if (f)
        fclose(f);
}

/* Run `cgrad <args>` (printf format) in dir on np processes (0: without
 * mpirun), under a timeout; stdout and stderr land in out and err. The exit
 * status. */
static int run_np(int np, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int run_np(int np, const char *fmt, ...)
{
    char cmd[PATH_MAX * 2 + 8192], launch[128] = "", args[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    /* Under `make check` (ASan), Open MPI's own allocations that it never
     * frees (its plugins', unloaded at MPI_Finalize, so not even
     * suppressible by name) would fail every run: leak detection is off in
     * the processes mpirun starts; cgrad's code is leak-checked by the
     * one-process runs (here and in test_cli). */
    if (np > 0)
        snprintf(launch, sizeof launch,
                 "env LSAN_OPTIONS=detect_leaks=0 mpirun --oversubscribe -np %d ", np);
    snprintf(cmd, sizeof cmd,
             "cd '%s' && timeout -k 5 120 %s'%s' %s >stdout.txt 2>stderr.txt </dev/null", dir,
             launch, cgrad, args);
    int st = system(cmd);
    read_text("stdout.txt", out, sizeof out);
    read_text("stderr.txt", err, sizeof err);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* cgrad on np processes must succeed; print what it said if not. */
#define assert_run(np, ...)                                                          \
    do {                                                                             \
        int rc_ = run_np((np), __VA_ARGS__);                                         \
        if (rc_ != 0)                                                                \
            print_error("-np %d: exit %d\nstdout: %s\nstderr: %s\n", (np), rc_, out, err); \
        assert_int_equal(rc_, 0);                                                    \
    } while (0)

static int count_of(const char *text, const char *needle)
{
    int n = 0;
    for (const char *p = strstr(text, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

/* The model file `name` of dir: its parameters and its metadata. */
static cg_model *load(const char *name, struct cg_model_meta *meta)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    cg_model *m = cg_model_load(path, meta);
    if (!m)
        print_error("%s: %s\n", path, cg_errmsg());
    assert_non_null(m);
    return m;
}

static const char *meta_value(const struct cg_model_meta *meta, const char *key)
{
    for (int i = 0; i < meta->n_extra; i++)
        if (strcmp(meta->extra[i].key, key) == 0)
            return meta->extra[i].value;
    return NULL;
}

/* ||a - b|| / ||a|| over every parameter of two model files. */
static double relative_difference(const char *a, const char *b)
{
    cg_model *ma = load(a, NULL), *mb = load(b, NULL);
    const cg_tensor *fa = cg_model_flat(ma), *fb = cg_model_flat(mb);
    assert_int_equal(fa->size, fb->size);
    double d = 0, n = 0;
    for (size_t i = 0; i < fa->size; i++) {
        double x = (double)fa->data[i], y = (double)fb->data[i];
        d += (x - y) * (x - y);
        n += x * x;
    }
    cg_model_free(ma);
    cg_model_free(mb);
    return sqrt(d / n);
}

/* Whether two model files hold the same parameters, bit for bit. */
static bool same_bits(const char *a, const char *b)
{
    cg_model *ma = load(a, NULL), *mb = load(b, NULL);
    const cg_tensor *fa = cg_model_flat(ma), *fb = cg_model_flat(mb);
    bool same = fa->size == fb->size &&
                memcmp(fa->data, fb->data, fa->size * sizeof *fa->data) == 0;
    cg_model_free(ma);
    cg_model_free(mb);
    return same;
}

/* The mpirun cases run the cgrad program, which is the float build's: the
 * double build runs the library's cases only. */
#ifdef CG_DOUBLE
#define NEED_MPIRUN()                                                                \
    do {                                                                             \
        cg_test_skipping("mpirun runs the float build's cgrad: in the float run");  \
        skip();                                                                      \
    } while (0)
#else
#define NEED_MPIRUN()                                                                \
    do {                                                                             \
        if (!have_mpirun) {                                                          \
            cg_test_skipping("no Open MPI here (library, mpirun, or a start)");        \
            skip();                                                                  \
        }                                                                            \
    } while (0)
#endif

/* ---- fixtures ---------------------------------------------------------------------- */

static int setup(void **state)
{
    (void)state;
    const char *build = getenv("BUILD");
    char rel[PATH_MAX];
    snprintf(rel, sizeof rel, "%s/cgrad", build && *build ? build : "build");
    if (!realpath(rel, cgrad) || !realpath("examples/data/iris.csv", iris)) {
        fprintf(stderr, "test_dist: %s or examples/data/iris.csv not found\n", rel);
        return -1;
    }
    if (cg_test_dir_make(dir, sizeof dir, "cgrad-dist-") != 0)
        return -1;
    setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);
    setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
    /* mpirun there and able to start two processes here (a machine whose
     * MPI cannot start at all skips the cases, saying so) */
    have_mpirun = cg_dist_has_mpi() &&
                  system("timeout 60 mpirun --oversubscribe -np 2 true >/dev/null 2>&1") == 0;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return cg_test_dir_remove(dir);
}

/* The run every comparison trains: 120 + 30 samples, batches of 50 (the
 * last one short: 20 rows), validation split, 6 epochs; SGD, whose step
 * follows the gradient's scale (Adam's would hide a wrong one). */
#define IRIS_RUN "--hidden 16 --epochs 6 --batch 50 --val-split 0.2 --seed 3 --optim sgd " \
                 "--lr 0.1 --momentum 0.9 --quiet"

/* ---- alone ---------------------------------------------------------------------------- */

static void test_alone_is_a_group_of_one(void **state)
{
    (void)state;
    /* This test program was not started by mpirun. */
    cg_dist *d = cg_dist_init();
    assert_non_null(d);
    assert_int_equal(cg_dist_rank(d), 0);
    assert_int_equal(cg_dist_size(d), 1);
    cg_float x[3] = {1, 2, 3};
    assert_int_equal(cg_dist_sum(d, x, 3), CG_OK);
    assert_int_equal(cg_dist_broadcast(d, x, 3), CG_OK);
    assert_true(x[0] == 1 && x[1] == 2 && x[2] == 3);
    /* the watchdog's timeout: a default, a setting, and what it refuses */
    assert_true(cg_dist_timeout(d) == CG_DIST_TIMEOUT);
    assert_true(cg_dist_timeout(NULL) == CG_DIST_TIMEOUT);
    assert_int_equal(cg_dist_set_timeout(d, 2.5), CG_OK);
    assert_true(cg_dist_timeout(d) == 2.5);
    assert_int_equal(cg_dist_set_timeout(d, 0), CG_OK);
    assert_int_equal(cg_dist_set_timeout(d, -1), CG_ERR_ARG);
    assert_errmsg_contains("cg_dist_set_timeout");
    assert_int_equal(cg_dist_set_timeout(d, (double)NAN), CG_ERR_ARG);
    assert_true(cg_dist_timeout(d) == 0);
    cg_dist_alive(d);   /* alone: nothing to tell */
    cg_dist_free(d);
    assert_int_equal(cg_dist_size(NULL), 1);
    assert_int_equal(cg_dist_rank(NULL), 0);
}

static void test_without_mpi_refuses_mpirun(void **state)
{
    (void)state;
    if (cg_dist_has_mpi()) {
        /* MPI would try to reach a launcher that is not there */
        cg_test_skipping("built with Open MPI: the refusal without it is a NO_MPI=1 build's test");
        skip();
    }
    setenv("OMPI_COMM_WORLD_SIZE", "3", 1);
    cg_dist *d = cg_dist_init();
    unsetenv("OMPI_COMM_WORLD_SIZE");
    assert_null(d);
    assert_errmsg_contains("without Open MPI");
}

/* ---- the shares in one process (the library, no mpirun) ------------------------------ */

struct counts {
    long at2, at8;   /* allocations up to the end of step 2, and of step 8 */
};

static enum cg_fit_action count_step(const struct cg_fit_step *st, void *user)
{
    struct counts *c = user;
    if (st->step == 2)
        c->at2 = cg_test_alloc.calls;
    if (st->step == 8)
        c->at8 = cg_test_alloc.calls;
    return CG_FIT_CONTINUE;
}

/* Train 4-16-3 (weights from seed 5) on iris with SGD, deterministic or
 * not; its parameters into params [P]. */
static void fit_iris(bool deterministic, cg_float *params, size_t n, struct counts *c)
{
    cg_dataset *ds = cg_csv_load(iris, NULL);
    assert_non_null(ds);
    cg_model *m = cg_model_from_spec("4-16-3");
    cg_rng rng;
    cg_rng_seed(&rng, 5);
    assert_int_equal(cg_model_init(m, CG_INIT_DEFAULT, &rng), CG_OK);
    cg_tensor *flat = cg_model_flat(m);
    struct cg_sgd_params sp = {0.1, 0.9, 0, 0, false};
    cg_optim *opt = cg_sgd_new(&flat, 1, &sp);
    struct cg_fit_settings s = cg_fit_defaults();
    s.epochs = 3, s.batch = 10, s.deterministic = deterministic;   /* 15 steps an epoch */
    s.on_step = c ? count_step : NULL, s.user = c;
    struct cg_fit_result r;
    if (c)
        cg_test_alloc_install(-1, 0);
    cg_status st = cg_fit(m, opt, ds, NULL, &s, &r);
    if (c)
        cg_test_alloc_remove();
    assert_int_equal(st, CG_OK);
    assert_int_equal(flat->size, n);
    memcpy(params, flat->data, n * sizeof *params);
    cg_fit_result_deinit(&r);
    cg_optim_free(opt);
    cg_model_free(m);
    cg_dataset_free(ds);
}

static void test_shares_alone_match_the_trainer(void **state)
{
    (void)state;
    enum { P = 4 * 16 + 16 + 16 * 3 + 3 };
    cg_float plain[P], shares[P];
    struct counts c = {0, 0};
    fit_iris(false, plain, P, NULL);
    fit_iris(true, shares, P, &c);
    /* 16 shares summed in order against the trainer's one pass: the same
     * gradient up to the grouping of its sums */
    double d = 0, n = 0;
    for (int i = 0; i < P; i++) {
        d += ((double)plain[i] - (double)shares[i]) * ((double)plain[i] - (double)shares[i]);
        n += (double)plain[i] * (double)plain[i];
    }
    if (!(sqrt(d / n) < 1e-6))
        print_error("relative difference %g\n", sqrt(d / n));
    assert_true(sqrt(d / n) < 1e-6);
    /* steps 3 to 8 (in the first epoch) allocate nothing: the shares' buffers
     * are made once */
    assert_true(c.at2 > 0);
    assert_int_equal(c.at8, c.at2);
}

/* ---- against one process ------------------------------------------------------------- */

static void test_two_and_three_processes_match_one(void **state)
{
    (void)state;
    NEED_MPIRUN();
    assert_run(0, "train '%s' " IRIS_RUN " --json --out one.st", iris);
    assert_true(strstr(out, "\"processes\": 1") != NULL);
    for (int np = 2; np <= 3; np++) {
        char name[32];
        snprintf(name, sizeof name, "np%d.st", np);
        assert_run(np, "train '%s' " IRIS_RUN " --json --out %s", iris, name);
        /* rank 0 alone prints: one result */
        assert_int_equal(count_of(out, "\"task\""), 1);
        char want[32];
        snprintf(want, sizeof want, "\"processes\": %d", np);
        assert_true(strstr(out, want) != NULL);
        double d = relative_difference("one.st", name);
        if (!(d < 1e-6))
            print_error("-np %d: relative difference %g\n", np, d);
        assert_true(d < 1e-6);
        /* the model file says how many processes trained it */
        struct cg_model_meta meta;
        cg_model *m = load(name, &meta);
        char n[8];
        snprintf(n, sizeof n, "%d", np);
        assert_non_null(meta_value(&meta, "processes"));
        assert_string_equal(meta_value(&meta, "processes"), n);
        cg_model_meta_deinit(&meta);
        cg_model_free(m);
    }
}

/* Four processes and gradients past 64 KB (4-4096-3: 32,771 floats): Open
 * MPI's nonblocking all-reduce, sent from a buffer of its own, goes as
 * reduce-scatter + all-gather (dist.c, send_of), not the binomial tree of
 * the smaller runs above; the same weights as one process but for the
 * order of the sums. */
static void test_four_processes_large_gradients_match_one(void **state)
{
    (void)state;
    NEED_MPIRUN();
    static const char run[] = "--hidden 4096 --epochs 2 --batch 50 --seed 3 --optim sgd "
                              "--lr 0.01 --quiet";
    assert_run(0, "train '%s' %s --out big1.st", iris, run);
    assert_run(4, "train '%s' %s --out big4.st", iris, run);
    double d = relative_difference("big1.st", "big4.st");
    if (!(d < 1e-6))
        print_error("-np 4: relative difference %g\n", d);
    assert_true(d < 1e-6);
}

static void test_deterministic_is_bit_identical(void **state)
{
    (void)state;
    NEED_MPIRUN();
    /* with dropout: its masks are drawn per share, the same for any N */
    assert_run(0, "train '%s' " IRIS_RUN " --dropout 0.2 --deterministic --out d1.st", iris);
    assert_run(2, "train '%s' " IRIS_RUN " --dropout 0.2 --deterministic --out d2.st", iris);
    assert_run(3, "train '%s' " IRIS_RUN " --dropout 0.2 --deterministic --out d3.st", iris);
    assert_true(same_bits("d1.st", "d2.st"));
    assert_true(same_bits("d1.st", "d3.st"));
    /* with threads inside each process: the same --threads, the same bits */
    assert_run(0, "train '%s' " IRIS_RUN " --deterministic --threads 2 --out t1.st", iris);
    assert_run(2, "train '%s' " IRIS_RUN " --deterministic --threads 2 --out t2.st", iris);
    assert_true(same_bits("t1.st", "t2.st"));
    /* and the weights did move from the start (a real run, not a no-op) */
    assert_run(0, "train '%s' " IRIS_RUN " --dropout 0.2 --deterministic --steps 1 --out d0.st",
               iris);
    assert_false(same_bits("d1.st", "d0.st"));
}

/* --dist-timeout 0: no watchdog, Open MPI's blocking collectives; the
 * same sums (two processes' a + b is b + a), so the same bits. */
static void test_without_a_watchdog_the_same_answer(void **state)
{
    (void)state;
    NEED_MPIRUN();
    assert_run(2, "train '%s' " IRIS_RUN " --out w2.st", iris);
    assert_run(2, "train '%s' " IRIS_RUN " --dist-timeout 0 --out b2.st", iris);
    assert_true(same_bits("w2.st", "b2.st"));
    assert_run(0, "train '%s' " IRIS_RUN " --deterministic --out bd1.st", iris);
    assert_run(3, "train '%s' " IRIS_RUN " --deterministic --dist-timeout 0 --out bd3.st", iris);
    assert_true(same_bits("bd1.st", "bd3.st"));
}

static void test_checkpoint_of_two_resumes_with_three(void **state)
{
    (void)state;
    NEED_MPIRUN();
    assert_run(0, "train '%s' " IRIS_RUN " --deterministic --out whole.st", iris);
    /* 2 processes stop after 7 steps (mid-epoch 3) with a checkpoint; 3
     * processes take it to the end */
    assert_run(2, "train '%s' " IRIS_RUN " --deterministic --steps 7 --checkpoint part.ckpt "
               "--out part.st", iris);
    assert_run(3, "train '%s' " IRIS_RUN " --deterministic --resume part.ckpt --out resumed.st",
               iris);
    assert_true(same_bits("whole.st", "resumed.st"));
    /* the order of the sums is a setting a resume must keep */
    assert_int_equal(run_np(0, "train '%s' " IRIS_RUN " --resume part.ckpt --out no.st", iris),
                     1);
    assert_true(strstr(err, "--deterministic changed") != NULL);
}

/* The pid of rank `rank` among the children of process `parent`: mpirun's
 * environment for each says its rank. 0 when not (yet) found. */
static pid_t rank_pid(pid_t parent, int rank)
{
    char cmd[256], line[64];
    snprintf(cmd, sizeof cmd,
             "for p in $(pgrep -P %d); do tr '\\0' '\\n' < /proc/$p/environ 2>/dev/null | "
             "grep -qx OMPI_COMM_WORLD_RANK=%d && echo $p; done", (int)parent, rank);
    FILE *f = popen(cmd, "r");
    pid_t pid = 0;
    if (f && fgets(line, sizeof line, f))
        pid = (pid_t)atol(line);
    if (f)
        pclose(f);
    return pid;
}

static double seconds_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Whether process pid runs the cgrad under test (and is not a pid reused
 * since, nor a zombie). */
static bool is_cgrad(pid_t pid)
{
    char path[64], cmd[PATH_MAX];
    snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
    FILE *f = fopen(path, "rb");
    size_t n = f ? fread(cmd, 1, sizeof cmd - 1, f) : 0;
    cmd[n] = '\0';
    if (f)
        fclose(f);
    return strcmp(cmd, cgrad) == 0;
}

/* What became of a run whose process was signalled. */
struct fault {
    bool   ended;
    int    status;     /* mpirun's exit status, when it ended */
    double seconds;    /* from the signal to mpirun's end */
    bool   signalled;  /* the victim was found and signalled */
};

/* What became of `cgrad <args>` (printf format) on np processes when rank
 * `victim_rank` got signal `sig` once the file `ready` of dir was there
 * (NULL: a second after the victim started): whether mpirun ended within
 * `bound` seconds, its exit status, how long it took; its stderr in err.
 * Whatever happens, nothing is left running or stopped. */

static struct fault run_fault(int np, int victim_rank, int sig, const char *ready, double bound,
                              const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static struct fault run_fault(int np, int victim_rank, int sig, const char *ready, double bound,
                              const char *fmt, ...)
{
    char cmd[PATH_MAX * 2 + 4096], ckpt[PATH_MAX], args[PATH_MAX + 1024];
    struct fault f = {false, -1, 0, false};
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(ckpt, sizeof ckpt, "%s/%s", dir, ready ? ready : "");
    if (ready)
        unlink(ckpt);
    snprintf(cmd, sizeof cmd,
             "cd '%s' && exec env LSAN_OPTIONS=detect_leaks=0 mpirun --oversubscribe -np %d '%s' "
             "%s >fault-out.txt 2>fault-err.txt </dev/null", dir, np, cgrad, args);
    pid_t mpirun = fork();
    if (mpirun < 0)
        return f;
    if (mpirun == 0) {
        setpgid(0, 0);   /* a group of its own: the clean-up reaches every process */
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    setpgid(mpirun, mpirun);
    /* wait for the victim and the file */
    pid_t victim = 0;
    for (int i = 0; i < 600 && (!victim || (ready && access(ckpt, F_OK) != 0)); i++) {
        usleep(50 * 1000);
        if (!victim)
            victim = rank_pid(mpirun, victim_rank);
    }
    if (!ready)
        sleep(1);
    int st = 0;
    pid_t done = 0;
    double t0 = seconds_now();
    if (victim > 0 && (!ready || access(ckpt, F_OK) == 0) && kill(victim, sig) == 0) {
        f.signalled = true;
        while ((done = waitpid(mpirun, &st, WNOHANG)) == 0 && seconds_now() - t0 < bound)
            usleep(20 * 1000);
    }
    f.seconds = seconds_now() - t0;
    /* whatever happened: the stopped victim and anything else of the job
     * go (the group while mpirun is not reaped: its id is not reused) */
    if (victim > 0 && is_cgrad(victim))
        kill(victim, SIGKILL);
    if (done != mpirun) {
        kill(-mpirun, SIGKILL);
        waitpid(mpirun, &st, 0);
    } else {
        f.ended = true;
        f.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    }
    read_text("fault-err.txt", err, sizeof err);
    return f;
}

/* The fault's run ended by itself, in time, with a failure. */
static void assert_ended(const struct fault *f, double bound)
{
    if (!f->ended || f->status == 0)
        print_error("signalled %d, ended %d (status %d) after %.1f s; stderr: %s\n",
                    f->signalled, f->ended, f->status, f->seconds, err);
    assert_true(f->signalled);
    assert_true(f->ended);
    assert_true(f->seconds < bound);
    assert_int_not_equal(f->status, 0);
}

/* A run far too long to end by itself, a checkpoint every 20 steps (the
 * format's argument: the data). */
#define LONG_RUN "train '%s' --hidden 16 --epochs 1000000 --batch 8 --checkpoint fault.ckpt " \
                 "--checkpoint-steps 20 --out fault.st --quiet"

static void test_killed_rank_ends_the_job(void **state)
{
    (void)state;
    NEED_MPIRUN();
    /* a run far too long to end by itself; mpirun notices the death */
    struct fault f = run_fault(2, 1, SIGKILL, "fault.ckpt", 60, LONG_RUN, iris);
    assert_ended(&f, 60);
    if (!strstr(err, "rank 1"))
        print_error("stderr does not name rank 1: %s\n", err);
    assert_true(strstr(err, "rank 1") != NULL);
    /* the last checkpoint resumes, with another number of processes */
    assert_run(3, "train '%s' --hidden 16 --epochs 2 --batch 8 --resume fault.ckpt "
               "--out fault.st --quiet", iris);
}

/* A stopped process neither dies nor closes its connections: a hung one,
 * or one whose node is lost, as far as the others can tell. The watchdog
 * ends the job and names it. */
static void test_stopped_rank_ends_the_job(void **state)
{
    (void)state;
    NEED_MPIRUN();
    struct fault f = run_fault(2, 1, SIGSTOP, "fault.ckpt", 60, LONG_RUN " --dist-timeout 3",
                               iris);
    assert_ended(&f, 60);
    /* not before the timeout: the watchdog's doing */
    assert_true(f.seconds > 2.9);
    if (!strstr(err, "rank 1 did not reach") && !strstr(err, "rank 1 stopped answering"))
        print_error("stderr does not name rank 1: %s\n", err);
    assert_true(strstr(err, "rank 1 did not reach") || strstr(err, "rank 1 stopped answering"));
    assert_true(strstr(err, "cgrad: ") != NULL);
    assert_run(3, "train '%s' --hidden 16 --epochs 2 --batch 8 --resume fault.ckpt "
               "--out fault.st --quiet", iris);
    /* rank 0 stopped: the others name it */
    f = run_fault(3, 0, SIGSTOP, "fault.ckpt", 60, LONG_RUN " --dist-timeout 3", iris);
    assert_ended(&f, 60);
    if (!strstr(err, "no word from rank 0"))
        print_error("stderr does not name rank 0: %s\n", err);
    assert_true(strstr(err, "no word from rank 0") != NULL);
    assert_run(2, "train '%s' --hidden 16 --epochs 2 --batch 8 --resume fault.ckpt "
               "--out fault.st --quiet", iris);
}

/* The number after the n-th (0-based) "key": in a JSON text; NaN if none. */
static double json_number(const char *json, const char *key, int n)
{
    char pat[128];
    snprintf(pat, sizeof pat, "\"%s\": ", key);
    const char *p = strstr(json, pat);
    while (p && n-- > 0)
        p = strstr(p + 1, pat);
    if (!p)
        return (double)NAN;
    char *end;
    double v = strtod(p + strlen(pat), &end);
    return end == p + strlen(pat) ? (double)NAN : v;
}

static void test_sweep_of_two_points(void **state)
{
    (void)state;
    NEED_MPIRUN();
#define SWEEP_RUN "--hidden 8 --epochs 3 --batch 32 --val-split 0.2 --optim sgd --quiet --json"
    assert_run(2, "sweep '%s' --lr 0.05,0.2 " SWEEP_RUN, iris);
    assert_true(strstr(out, "\"processes\": 2") != NULL);
    assert_int_equal(count_of(out, "\"ok\": true"), 2);
    double sweep_loss[2] = {json_number(out, "val_loss", 0), json_number(out, "val_loss", 1)};
    /* each point is the training cgrad train does with its settings */
    static const char *const lrs[2] = {"0.05", "0.2"};
    for (int i = 0; i < 2; i++) {
        assert_run(0, "train '%s' --lr %s " SWEEP_RUN " --out sweep%d.st", iris, lrs[i], i);
        assert_true(json_number(out, "val_loss", 0) == sweep_loss[i]);
    }
    assert_true(sweep_loss[0] != sweep_loss[1]);
#undef SWEEP_RUN
}

static void test_sweep_waits_for_a_slow_point(void **state)
{
    (void)state;
    NEED_MPIRUN();
    /* rank 0's point is one epoch; rank 1's lasts seconds, far beyond the
     * timeout, while rank 0 waits for it: its steps tell the watchdog it
     * is alive */
    assert_run(2, "sweep '%s' --epochs 1,40000 --hidden 8 --batch 4 --optim sgd "
               "--dist-timeout 0.5 --quiet --json", iris);
    assert_int_equal(count_of(out, "\"ok\": true"), 2);
    double slow = json_number(out, "seconds", 1);
    if (!(slow > 1.0))
        print_error("the slow point took %g s: no longer than the timeout\n", slow);
    assert_true(slow > 1.0);
}

static void test_stopped_rank_ends_a_sweep(void **state)
{
    (void)state;
    NEED_MPIRUN();
    /* rank 1's point would train for hours; stopped, it stops telling the
     * watchdog it is alive, and rank 0, waiting for the table, names it */
    struct fault f = run_fault(2, 1, SIGSTOP, NULL, 60,
                               "sweep '%s' --epochs 1,10000000 --hidden 8 --batch 4 --optim sgd "
                               "--dist-timeout 1 --quiet", iris);
    assert_ended(&f, 60);
    if (!strstr(err, "rank 1 did not reach"))
        print_error("stderr does not name rank 1: %s\n", err);
    assert_true(strstr(err, "rank 1 did not reach") != NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alone_is_a_group_of_one),
        cmocka_unit_test(test_without_mpi_refuses_mpirun),
        cmocka_unit_test(test_shares_alone_match_the_trainer),
        cmocka_unit_test(test_two_and_three_processes_match_one),
        cmocka_unit_test(test_four_processes_large_gradients_match_one),
        cmocka_unit_test(test_deterministic_is_bit_identical),
        cmocka_unit_test(test_without_a_watchdog_the_same_answer),
        cmocka_unit_test(test_checkpoint_of_two_resumes_with_three),
        cmocka_unit_test(test_killed_rank_ends_the_job),
        cmocka_unit_test(test_stopped_rank_ends_the_job),
        cmocka_unit_test(test_sweep_of_two_points),
        cmocka_unit_test(test_sweep_waits_for_a_slow_point),
        cmocka_unit_test(test_stopped_rank_ends_a_sweep),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
