/*
 * End-to-end tests of the cgrad program: run the built binary ($BUILD/cgrad,
 * BUILD from the environment, default "build") in a temporary folder on
 * small fixtures written here, and check exit statuses, messages, accuracy
 * and the bytes of the model files.
 *
 * Fixtures: blobs.csv, a 3-class problem in 4 features whose classes sit
 * around centres 4 apart with noise uniform in [-1, 1] per feature, so a
 * linear boundary separates them perfectly (any accuracy bound below 1 is
 * safe); an image folder of 8x8 gray PNGs, class "dark" (values 20..70) and
 * class "light" (values 180..230), separable by the mean pixel.
 */
#define _GNU_SOURCE
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

#include "cg_stb_write.h"

extern char **environ;

static char cgrad[PATH_MAX];   /* the binary, absolute */
static char dir[256];          /* the temporary working folder */
static char out[1 << 16], err[1 << 16];

/* ---- running the program ---------------------------------------------------- */

static void read_file(const char *name, char *buf, size_t n)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    size_t len = f ? fread(buf, 1, n - 1, f) : 0;
    buf[len] = '\0';
    if (f)
        fclose(f);
}

/* Run `cgrad <args>` in dir (args is shell text); stdout and stderr land in
 * out and err. Returns the exit status. */
static int run(const char *args)
{
    char cmd[PATH_MAX + 8192];
    snprintf(cmd, sizeof cmd, "cd '%s' && '%s' %s >stdout.txt 2>stderr.txt </dev/null", dir,
             cgrad, args);
    int st = system(cmd);
    read_file("stdout.txt", out, sizeof out);
    read_file("stderr.txt", err, sizeof err);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* The exit status must be `want`; print what the program said if not. */
#define assert_run(args, want)                                                       \
    do {                                                                             \
        int rc_ = run(args);                                                         \
        if (rc_ != (want))                                                           \
            print_error("cgrad %s -> %d\nstdout: %s\nstderr: %s\n", (args), rc_, out, \
                        err);                                                        \
        assert_int_equal(rc_, (want));                                               \
    } while (0)

/* The number after "key": in a JSON text (NaN when absent or null). */
static double json_number(const char *json, const char *key)
{
    char pat[128];
    snprintf(pat, sizeof pat, "\"%s\": ", key);
    const char *p = strstr(json, pat);
    if (!p)
        return (double)NAN;
    p += strlen(pat);
    char *end;
    double v = strtod(p, &end);
    return end == p ? (double)NAN : v;
}

/* A one-line message "cgrad: ..." that contains needle. */
static void assert_one_line_error(const char *needle)
{
    if (strncmp(err, "cgrad: ", 7) != 0 || strchr(err, '\n') != err + strlen(err) - 1 ||
        !strstr(err, needle)) {
        print_error("stderr is not one line 'cgrad: ...%s...': %s\n", needle, err);
        fail();
    }
}

static bool same_file(const char *a, const char *b)
{
    static char x[1 << 20], y[1 << 20];
    char pa[PATH_MAX], pb[PATH_MAX];
    snprintf(pa, sizeof pa, "%s/%s", dir, a);
    snprintf(pb, sizeof pb, "%s/%s", dir, b);
    FILE *fa = fopen(pa, "rb"), *fb = fopen(pb, "rb");
    size_t na = fa ? fread(x, 1, sizeof x, fa) : 0, nb = fb ? fread(y, 1, sizeof y, fb) : 0;
    if (fa)
        fclose(fa);
    if (fb)
        fclose(fb);
    return fa && fb && na == nb && na > 0 && memcmp(x, y, na) == 0;
}

/* Drop the last field of every line of a CSV text, in place. */
static void strip_last_column(char *csv)
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

static bool exists(const char *name)
{
    char path[PATH_MAX];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return stat(path, &st) == 0;
}

/* ---- fixtures ------------------------------------------------------------------ */

static uint32_t lcg(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return *s >> 8;
}

/* uniform in [-1, 1] */
static double noise(uint32_t *s)
{
    return (double)lcg(s) / (double)(1u << 24) * 2.0 - 1.0;
}

static void write_text(const char *name, const char *text)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static const char *const blob_names[3] = {"red", "green", "blue"};
static const double centre[3][4] = {{0, 0, 0, 0}, {4, 4, 0, 0}, {0, 4, 4, 4}};

static void write_blobs(const char *name, int n, uint32_t seed, bool label)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, label ? "a,b,c,d,colour\n" : "a,b,c,d\n");
    for (int i = 0; i < n; i++) {
        int k = i % 3;
        for (int j = 0; j < 4; j++)
            fprintf(f, "%.4f%s", centre[k][j] + noise(&seed), j < 3 || label ? "," : "\n");
        if (label)
            fprintf(f, "%s\n", blob_names[k]);
    }
    fclose(f);
}

static void write_images(void)
{
    static const char *const classes[2] = {"dark", "light"};
    uint32_t seed = 7;
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/img", dir);
    mkdir(path, 0755);
    for (int c = 0; c < 2; c++) {
        snprintf(path, sizeof path, "%s/img/%s", dir, classes[c]);
        mkdir(path, 0755);
        for (int i = 0; i < 10; i++) {
            unsigned char px[64];
            for (int p = 0; p < 64; p++)
                px[p] = (unsigned char)((c ? 180 : 20) + lcg(&seed) % 51);
            snprintf(path, sizeof path, "%s/img/%s/%d.png", dir, classes[c], i);
            assert_true(stbi_write_png(path, 8, 8, 1, px, 8) != 0);
        }
    }
}

static int setup(void **state)
{
    (void)state;
    const char *build = getenv("BUILD");
    char rel[PATH_MAX];
    snprintf(rel, sizeof rel, "%s/cgrad", build && *build ? build : "build");
    if (!realpath(rel, cgrad)) {
        fprintf(stderr, "test_cli: %s not found (build it first)\n", rel);
        return -1;
    }
    if (cg_test_dir_make(dir, sizeof dir, "cgrad-cli-") != 0)
        return -1;
    write_blobs("blobs.csv", 150, 1, true);
    write_blobs("blobs-test.csv", 60, 2, true);
    write_blobs("rows.csv", 3, 3, false);
    write_images();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return cg_test_dir_remove(dir);
}

/* ---- help and usage errors ---------------------------------------------------------- */

static void test_help_lists_every_option(void **state)
{
    (void)state;
    static const char *const names[] = {
        "--format csv|idx|images", "--label COL", "--task classify|regress", "--test PATH",
        "--val-split F", "--normalize zscore|minmax|none", "--image-size WxH", "--grayscale",
        "--rgb", "--hidden", "--act relu|sigmoid|tanh|leaky_relu", "--dropout F", "--init FILE",
        "--loss ce|mse", "--optim sgd|rmsprop|adagrad|adam|adamw", "--lr F", "--momentum F",
        "--dampening F", "--nesterov", "--alpha F", "--beta1 F", "--beta2 F", "--eps F",
        "--weight-decay F", "--clip-norm F", "--clip-value F",
        "--schedule none|step|exp|cosine", "--warmup N", "--epochs N", "--batch N",
        "--steps N", "--no-shuffle", "--seed N", "--threads N", "--on-nonfinite stop|skip",
        "--patience N", "--min-delta F", "--restore-best", "--out FILE", "--checkpoint FILE",
        "--checkpoint-steps N", "--resume FILE", "--metrics FILE", "--plot FILE", "--json",
        "--quiet"};
    assert_run("train --help", 0);
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strstr(out, names[i])) {
            print_error("train --help does not list %s\n", names[i]);
            fail();
        }
    assert_run("help", 0);
    assert_non_null(strstr(out, "gradcheck"));
    assert_run("help eval", 0);
    assert_non_null(strstr(out, "--confusion"));
    assert_run("predict --help", 0);
    assert_non_null(strstr(out, "--top K"));
    assert_run("gradcheck --help", 0);
    assert_non_null(strstr(out, "--op NAME"));
}

static void test_usage_errors_exit_2(void **state)
{
    (void)state;
    static const struct {
        const char *args, *needle;
    } cases[] = {
        {"train blobs.csv --bogus", "--bogus"},
        {"train blobs.csv --lr abc", "--lr"},
        {"train blobs.csv --lr -1", "--lr"},
        {"train blobs.csv --epochs 2.5", "--epochs"},
        {"train blobs.csv --optim adamax", "--optim"},
        {"train blobs.csv --act swish", "--act"},
        {"train blobs.csv --hidden 8,,4", "--hidden"},
        {"train blobs.csv --dropout 1", "--dropout"},
        {"train blobs.csv --image-size 28", "--image-size"},
        {"train blobs.csv --epochs", "--epochs"},
        {"train", "DATA"},
        {"train a.csv b.csv", "b.csv"},
        {"eval model.safetensors", "DATA"},
        {"predict model.safetensors", "INPUT"},
        {"eval m.st blobs.csv --lr 0.1", "--lr"},
        {"info", "MODEL"},
        {"gradcheck --op no_such_op", "no_such_op"},
        {"frobnicate", "frobnicate"},
        {"train blobs.csv --nesterov", "--nesterov"},
        {"train blobs.csv --plot curves.jpg", "curves.jpg"},
        {"train blobs.csv --on-nonfinite ignore", "--on-nonfinite"},
        {"train blobs.csv --patience 0", "--patience"},
        {"train blobs.csv --checkpoint-steps 5", "--checkpoint-steps needs --checkpoint"},
        {"train blobs.csv --patience 3", "--patience needs validation data"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_run(cases[i].args, 2);
        assert_one_line_error(cases[i].needle);
    }
    assert_int_equal(run(""), 2);
}

/* ---- training and using a model ------------------------------------------------------ */

static void test_train_csv_reaches_accuracy(void **state)
{
    (void)state;
    assert_run("train blobs.csv --hidden 16 --epochs 20 --batch 16 --lr 0.01 --test "
               "blobs-test.csv --out blobs.st --metrics m.csv --plot p.svg --json", 0);
    /* stdout is exactly one JSON object */
    assert_true(out[0] == '{');
    assert_non_null(strstr(out, "\"model\": \"blobs.st\""));
    assert_true(json_number(out, "train_accuracy") >= 0.95);
    assert_true(json_number(out, "test_accuracy") >= 0.95);
    assert_int_equal((int)json_number(out, "epochs"), 20);
    /* 150 samples in batches of 16: 10 steps an epoch */
    assert_int_equal((int)json_number(out, "steps"), 200);
    assert_true(exists("blobs.st"));

    char csv[1 << 14];
    read_file("m.csv", csv, sizeof csv);
    static const char header[] = "epoch,step,lr,train_loss,train_acc,val_loss,val_acc,seconds\n";
    assert_memory_equal(csv, header, strlen(header));
    int lines = 0;
    for (const char *p = csv; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, 21);                       /* header + 20 epochs */
    assert_non_null(strstr(csv, "\n20,200,0.01,"));    /* epoch 20 ends at step 200 */
    read_file("p.svg", csv, sizeof csv);
    assert_non_null(strstr(csv, "<svg"));
    assert_non_null(strstr(csv, "accuracy"));
    /* the same curves as a PNG: its 8-byte signature, then the IHDR chunk
     * with the width 960 and height 380 big-endian */
    assert_run("train blobs.csv --hidden 16 --epochs 3 --batch 16 --quiet --out b2.st "
               "--plot p.png", 0);
    read_file("p.png", csv, sizeof csv);
    assert_memory_equal(csv, "\x89PNG\r\n\x1a\n", 8);
    assert_memory_equal(csv + 12, "IHDR\0\0\x03\xc0\0\0\x01\x7c", 12);
}

static void test_eval_ends_with_accuracy(void **state)
{
    (void)state;
    assert_run("train blobs.csv --hidden 16 --epochs 20 --batch 16 --lr 0.01 --quiet "
               "--out e.st", 0);
    assert_run("eval e.st blobs-test.csv --confusion c.svg", 0);
    size_t n = strlen(out);
    assert_true(n > 2 && out[n - 1] == '\n');
    const char *last = out + n - 2;
    while (last > out && last[-1] != '\n')
        last--;
    assert_memory_equal(last, "accuracy ", 9);
    assert_true(strtod(last + 9, NULL) >= 0.95);
    assert_non_null(strstr(out, "precision"));
    assert_non_null(strstr(out, "green"));
    assert_true(exists("c.svg"));
    /* 60 test rows, 20 a class: the confusion rows sum to 20 each */
    assert_run("eval e.st blobs-test.csv --json", 0);
    assert_int_equal((int)json_number(out, "samples"), 60);
    assert_non_null(strstr(out, "\"confusion\": [["));
    assert_non_null(strstr(out, "\"support\": 20"));
}

static void test_predict_rows_and_json(void **state)
{
    (void)state;
    assert_run("train blobs.csv --hidden 16 --epochs 20 --batch 16 --lr 0.01 --quiet "
               "--out p.st", 0);
    /* rows.csv rows 1, 2, 3 are drawn around the red, green, blue centres */
    assert_run("predict p.st rows.csv --top 2", 0);
    assert_non_null(strstr(out, "rows.csv:1  red "));
    assert_non_null(strstr(out, "rows.csv:2  green "));
    assert_non_null(strstr(out, "rows.csv:3  blue "));
    int lines = 0, fields = 0;
    for (const char *p = out; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, 3);
    /* --top 2: two class names on each line */
    for (int k = 0; k < 3; k++)
        for (const char *p = out; (p = strstr(p, blob_names[k])); p++)
            fields++;
    assert_int_equal(fields, 6);
    assert_run("predict p.st rows.csv --json", 0);
    assert_non_null(strstr(out, "\"predictions\": ["));
    assert_non_null(strstr(out, "\"row\": 3, \"top\": [{\"class\": \"blue\""));
    /* the training file itself: its label column is left out */
    assert_run("predict p.st blobs.csv", 0);
    assert_non_null(strstr(out, "blobs.csv:1  red "));
    assert_run("predict p.st rows.csv blobs.csv rows.csv", 0);
    assert_non_null(strstr(out, "rows.csv:3  blue "));
}

static void test_train_image_folder(void **state)
{
    (void)state;
    assert_run("train img --hidden 8 --epochs 15 --batch 4 --lr 0.01 --json --out img.st", 0);
    assert_true(json_number(out, "train_accuracy") >= 0.9);
    assert_run("info img.st", 0);
    assert_non_null(strstr(out, "input: images 8x8, 1 channel"));
    assert_non_null(strstr(out, "classes (2): dark, light"));
    assert_run("predict img.st img/light/3.png img/dark/0.png", 0);
    assert_non_null(strstr(out, "img/light/3.png  light "));
    assert_non_null(strstr(out, "img/dark/0.png  dark "));
    assert_run("eval img.st img", 0);
    assert_non_null(strstr(out, "\naccuracy 1.0000\n"));
}

static void test_info_counts_parameters(void **state)
{
    (void)state;
    assert_run("train blobs.csv --hidden 8 --epochs 1 --quiet --out i.st", 0);
    assert_run("info i.st --json", 0);
    /* 4-8-3: 8*4 + 8 + 3*8 + 3 = 67 */
    assert_int_equal((int)json_number(out, "parameters"), 67);
    assert_non_null(strstr(out, "\"classes\": [\"blue\", \"green\", \"red\"]"));
}

/* ---- determinism, resume, init ---------------------------------------------------------- */

static void test_steps_and_no_shuffle_repeat_bit_for_bit(void **state)
{
    (void)state;
    assert_run("train blobs.csv --hidden 8 --batch 8 --steps 7 --no-shuffle --quiet "
               "--out s1.st", 0);
    assert_run("train blobs.csv --hidden 8 --batch 8 --steps 7 --no-shuffle --quiet "
               "--out s2.st", 0);
    assert_true(same_file("s1.st", "s2.st"));
    /* shuffled runs with one seed too, with dropout */
    assert_run("train blobs.csv --hidden 8 --epochs 3 --dropout 0.3 --seed 5 --quiet "
               "--out d1.st", 0);
    assert_run("train blobs.csv --hidden 8 --epochs 3 --dropout 0.3 --seed 5 --quiet "
               "--out d2.st", 0);
    assert_true(same_file("d1.st", "d2.st"));
    assert_run("train blobs.csv --hidden 8 --epochs 3 --dropout 0.3 --seed 6 --quiet "
               "--out d3.st", 0);
    assert_false(same_file("d1.st", "d3.st"));
}

static void test_resume_matches_unbroken_run(void **state)
{
    (void)state;
    const char *opts = "train blobs.csv --hidden 8 --batch 16 --dropout 0.1 --lr 0.01 "
                       "--schedule cosine --quiet";
    char args[512];
    snprintf(args, sizeof args, "%s --epochs 5 --out whole.st", opts);
    assert_run(args, 0);
    /* stopped at an epoch's end */
    snprintf(args, sizeof args, "%s --epochs 5 --steps 20 --checkpoint ck.st --out part.st",
             opts);
    assert_run(args, 0);
    snprintf(args, sizeof args, "%s --epochs 5 --resume ck.st --out resumed.st", opts);
    assert_run(args, 0);
    assert_true(same_file("whole.st", "resumed.st"));
    /* stopped in the middle of an epoch: the same model, and the same
     * metrics, the interrupted epoch's row included (but for the seconds) */
    snprintf(args, sizeof args, "%s --epochs 5 --metrics whole.csv --out whole2.st", opts);
    assert_run(args, 0);
    snprintf(args, sizeof args, "%s --epochs 5 --steps 23 --checkpoint ck2.st --out p2.st",
             opts);
    assert_run(args, 0);
    snprintf(args, sizeof args, "%s --epochs 5 --resume ck2.st --metrics resumed2.csv "
             "--out resumed2.st", opts);
    assert_run(args, 0);
    assert_true(same_file("whole.st", "resumed2.st"));
    char whole[4096], resumed[4096];
    read_file("whole.csv", whole, sizeof whole);
    read_file("resumed2.csv", resumed, sizeof resumed);
    strip_last_column(whole);
    strip_last_column(resumed);
    assert_string_equal(whole, resumed);
    /* a setting that must not change */
    snprintf(args, sizeof args, "%s --epochs 5 --batch 8 --resume ck.st --out x.st", opts);
    assert_run(args, 1);
    assert_one_line_error("--batch");
    snprintf(args, sizeof args, "%s --epochs 5 --seed 9 --resume ck.st --out x.st", opts);
    assert_run(args, 1);
    assert_one_line_error("--seed");
}

static void test_init_loads_given_weights(void **state)
{
    (void)state;
    /* A 4-3 linear model (no hidden layer) whose weights pick feature j for
     * class j: exactly representable values, written as a PyTorch state_dict. */
    cg_float w[12] = {0.25, 0, 0, 0, 0, 0.5, 0, 0, 0, 0, -0.75, 0};
    cg_float b[3] = {1, -2, 0.125};
    cg_tensor *tw = cg_tensor_from_array(2, (int[]){3, 4}, w);
    cg_tensor *tb = cg_tensor_from_array(1, (int[]){3}, b);
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/given.safetensors", dir);
    struct cg_named_tensor t[2] = {{"0.weight", tw}, {"0.bias", tb}};
    assert_int_equal(cg_safetensors_save(path, t, 2, NULL, 0), CG_OK);
    /* sgd with lr 1e-30 moves a weight by 1e-30 times its gradient at most:
     * the nonzero weights keep their exact values, the zeros stay below 1e-20 */
    assert_run("train blobs.csv --hidden none --init given.safetensors --optim sgd --lr 1e-30 "
               "--epochs 1 --quiet --out init.st", 0);
    snprintf(path, sizeof path, "%s/init.st", dir);
    cg_model *m = cg_model_load(path, NULL);
    assert_non_null(m);
    assert_tensor_near(cg_model_param(m, "0.weight"), ((double[]){0.25, 0, 0, 0, 0, 0.5, 0, 0,
                                                                  0, 0, -0.75, 0}), 12, 1e-20);
    assert_tensor_near(cg_model_param(m, "0.bias"), ((double[]){1, -2, 0.125}), 3, 1e-20);
    cg_model_free(m);
    cg_tensor_free(tw);
    cg_tensor_free(tb);
    /* a file whose shapes do not fit the model names the tensor */
    assert_run("train blobs.csv --hidden 5 --init given.safetensors --quiet --out y.st", 1);
    assert_one_line_error("0.weight");
}

static void test_init_from_pytorch_state_dict(void **state)
{
    (void)state;
    /* tests/data/torch_state_dict.safetensors is what PyTorch's save_file
     * writes for nn.Sequential(Linear(4, 3), ReLU(), Linear(3, 2)); its
     * values (tests/data/make_torch_fixture.py) are exact binary fractions. */
    char fixture[PATH_MAX], args[PATH_MAX + 256];
    assert_non_null(realpath("tests/data/torch_state_dict.safetensors", fixture));
    write_blobs("two.csv", 20, 4, true);
    /* keep two classes: drop the blue rows */
    char cmd[PATH_MAX * 2];
    snprintf(cmd, sizeof cmd, "cd '%s' && grep -v ',blue$' two.csv > two2.csv", dir);
    assert_int_equal(system(cmd), 0);
    snprintf(args, sizeof args, "train two2.csv --hidden 3 --init '%s' --optim sgd --lr 1e-30 "
             "--epochs 1 --quiet --out torch.st", fixture);
    assert_run(args, 0);
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/torch.st", dir);
    cg_model *m = cg_model_load(path, NULL);
    assert_non_null(m);
    assert_tensor_near(cg_model_param(m, "0.weight"),
                       ((double[]){0.5, -0.25, 1.0, 0.0, 0.125, 2.0, -1.0, 0.75, -0.5, 0.25, 0.5,
                                   -2.0}), 12, 1e-20);
    assert_tensor_near(cg_model_param(m, "2.bias"), ((double[]){0.0625, -0.125}), 2, 1e-20);
    cg_model_free(m);
}

/* ---- failures ----------------------------------------------------------------------------- */

static void test_bad_files_exit_1_naming_them(void **state)
{
    (void)state;
    write_text("ragged.csv", "a,b,c\n1,2,x\n3,4\n");
    write_text("corrupt.st", "this is not a safetensors file at all\n");
    assert_run("train missing.csv", 1);
    assert_one_line_error("missing.csv");
    assert_run("train ragged.csv", 1);
    assert_one_line_error("ragged.csv:3");
    assert_run("eval corrupt.st blobs.csv", 1);
    assert_one_line_error("corrupt.st");
    assert_run("info corrupt.st", 1);
    assert_one_line_error("corrupt.st");
    assert_run("predict corrupt.st rows.csv", 1);
    assert_one_line_error("corrupt.st");
    assert_run("eval nothere.st blobs.csv", 1);
    assert_one_line_error("nothere.st");
    assert_run("train blobs.csv --init nothere.st --quiet", 1);
    assert_one_line_error("nothere.st");
    assert_run("train blobs.csv --resume corrupt.st --quiet", 1);
    assert_one_line_error("corrupt.st");
    assert_run("train blobs.csv --format idx", 1);
    assert_one_line_error("blobs.csv");
}

static void test_nan_loss_stops_with_advice(void **state)
{
    (void)state;
    assert_run("train blobs.csv --hidden 8 --optim sgd --lr 1e30 --epochs 3 --out nan.st", 1);
    assert_non_null(strstr(err, "epoch 1"));
    assert_non_null(strstr(err, "--lr"));
    assert_non_null(strstr(err, "--clip-norm"));
    assert_false(exists("nan.st"));
}

static void test_ctrl_c_saves_and_exits_130(void **state)
{
    (void)state;
    pid_t pid;
    char *argv[] = {cgrad, (char[]){"train"}, (char[]){"blobs.csv"}, (char[]){"--hidden"},
                    (char[]){"8"}, (char[]){"--epochs"}, (char[]){"10000000"},
                    (char[]){"--quiet"}, (char[]){"--checkpoint"}, (char[]){"int.ckpt"},
                    (char[]){"--out"}, (char[]){"int.st"}, NULL};
    char cwd[PATH_MAX];
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(chdir(dir), 0);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 2, "int.err", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int rc = posix_spawn(&pid, cgrad, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    assert_int_equal(chdir(cwd), 0);
    assert_int_equal(rc, 0);
    /* Interrupt once training runs: the first epoch's checkpoint is there. */
    int st;
    for (int i = 0; i < 1000 && !exists("int.ckpt"); i++) {
        nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
        assert_int_equal(waitpid(pid, &st, WNOHANG), 0);   /* still running */
    }
    assert_true(exists("int.ckpt"));
    kill(pid, SIGINT);
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 130);
    assert_true(exists("int.st"));
    read_file("int.err", err, sizeof err);
    assert_non_null(strstr(err, "--resume int.ckpt"));
    /* the checkpoint resumes (and stops at once: its step count is past --steps 1) */
    assert_run("train blobs.csv --hidden 8 --epochs 10000000 --quiet --out int2.st "
               "--checkpoint int.ckpt --resume int.ckpt --steps 1", 0);
}

static void test_early_stopping_and_nonfinite_skip(void **state)
{
    (void)state;
    /* early stopping: the validation loss of the separable blobs keeps
     * falling, by less than 0.01 an epoch after a while; it stops one epoch
     * after the last gain of more than that, and the restored best is in
     * the result and the model file */
    assert_run("train blobs.csv --hidden 8 --epochs 200 --batch 16 --lr 0.05 --val-split 0.3 "
               "--patience 1 --min-delta 0.01 --restore-best --json --out es.st", 0);
    int epochs = (int)json_number(out, "epochs"), best = (int)json_number(out, "best_epoch");
    assert_non_null(strstr(out, "\"stopped\": \"early\""));
    assert_int_equal(epochs, best + 1);
    assert_non_null(strstr(out, "\"restored_best\": true"));
    assert_run("info es.st", 0);
    assert_non_null(strstr(out, "restore_best: yes"));
    /* a huge rate: the loss turns NaN; skipped, the run goes on to exit 0 */
    assert_run("train blobs.csv --hidden 8 --optim sgd --lr 1e30 --epochs 2 --batch 50 "
               "--on-nonfinite skip --json --out skip.st", 0);
    assert_true(json_number(out, "skipped") > 0);
    assert_int_equal((int)json_number(out, "steps") + (int)json_number(out, "skipped"), 6);
}

static void test_gradcheck_passes(void **state)
{
    (void)state;
    assert_run("gradcheck --op relu", 0);
    assert_non_null(strstr(out, "relu"));
    assert_non_null(strstr(out, " ok\n"));
    assert_run("gradcheck --json", 0);
    assert_int_equal((int)json_number(out, "failed"), 0);
    assert_non_null(strstr(out, "\"op\": \"cross_entropy\""));
}

/* Every "max_rel_err" of a gradcheck --json text below `bound`; returns how
 * many there were. */
static int all_rel_errs_below(const char *json, double bound)
{
    int n = 0;
    for (const char *p = strstr(json, "\"max_rel_err\": "); p;
         p = strstr(p + 1, "\"max_rel_err\": ")) {
        double v = strtod(p + strlen("\"max_rel_err\": "), NULL);
        if (!(v < bound))
            fail_msg("max_rel_err %g is not below %g", v, bound);
        n++;
    }
    return n;
}

static void test_gradcheck_double_by_default(void **state)
{
    (void)state;
    assert_run("gradcheck --json", 0);
    assert_non_null(strstr(out, "\"precision\": \"F64\""));
    assert_true(all_rel_errs_below(out, 1e-6) >= 30);
    assert_run("gradcheck --json --float", 0);
    assert_non_null(strstr(out, "\"precision\": \"F32\""));
    assert_true(all_rel_errs_below(out, 1e-2) >= 30);
    /* float's errors are float's: some op's is above double's bound */
    bool above = false;
    for (const char *p = strstr(out, "\"max_rel_err\": "); p && !above;
         p = strstr(p + 1, "\"max_rel_err\": "))
        above = strtod(p + strlen("\"max_rel_err\": "), NULL) > 1e-6;
    assert_true(above);
    /* a step too large for a kink's neighbourhood still gives a verdict */
    assert_run("gradcheck --op relu --eps 1e-1", 0);
}

/* --explain works for every op of the suite, and shows both precisions. */
static void test_gradcheck_explains_every_op(void **state)
{
    static char ops[1 << 16];
    (void)state;
    assert_run("gradcheck --json", 0);
    memcpy(ops, out, sizeof ops);
    int n = 0;
    for (const char *p = strstr(ops, "\"op\": \""); p; p = strstr(p + 1, "\"op\": \"")) {
        char name[64], args[128];
        sscanf(p + strlen("\"op\": \""), "%63[^\"]", name);
        snprintf(args, sizeof args, "gradcheck --explain %s", name);
        assert_run(args, 0);
        assert_non_null(strstr(out, "n_k = (s(x_k + e) - s(x_k - e)) / (2e)"));
        assert_non_null(strstr(out, "rel_k = |a_k - n_k| / (|n_k| + atol / rtol)"));
        assert_non_null(strstr(out, "  1e-01 "));
        assert_non_null(strstr(out, "  1e-10 "));
        assert_non_null(strstr(out, "step lost")); /* float, at 1e-10 */
        assert_non_null(strstr(out, "PASS"));
        n++;
    }
    assert_true(n >= 30);
    assert_run("gradcheck --explain nosuch", 2);
    assert_non_null(strstr(err, "unknown op 'nosuch'"));
    assert_run("gradcheck --explain relu --json", 2);
}

/* gradcheck's help speaks of its own options, not of train's. */
static void test_gradcheck_help_in_its_own_words(void **state)
{
    (void)state;
    assert_run("gradcheck --help", 0);
    assert_non_null(strstr(out, "--seed N"));
    assert_non_null(strstr(out, "random inputs"));
    assert_non_null(strstr(out, "--float"));
    assert_non_null(strstr(out, "--explain NAME"));
    assert_null(strstr(out, "shuffling"));
    assert_null(strstr(out, "batch"));
    assert_run("train --help", 0);
    assert_non_null(strstr(out, "shuffling"));
    assert_null(strstr(out, "--explain"));
}

static void test_graph_writes_dot_that_dot_draws(void **state)
{
    (void)state;
    assert_run("graph 4-8-3 --batch 5", 0);
    assert_non_null(strstr(out, "digraph cgrad {"));
    assert_non_null(strstr(out, "0.weight\\n[8, 4]\\nneeds grad"));
    assert_non_null(strstr(out, "cross_entropy\\n[]\\nloss (root)"));
    assert_non_null(strstr(out, "[label=\" [5, 8]\"]"));
    assert_run("graph 4-8-3:dropout=0.5 --loss mse --out g.dot", 0);
    char cmd[PATH_MAX + 64];
    snprintf(cmd, sizeof cmd, "cd '%s' && dot -Tsvg g.dot -o g-by-dot.svg", dir);
    assert_int_equal(system(cmd), 0);
    read_file("g.dot", out, sizeof out);
    assert_non_null(strstr(out, "mse_loss"));
    assert_non_null(strstr(out, "dropout"));
    read_file("g-by-dot.svg", out, sizeof out);
    assert_non_null(strstr(out, "<svg"));
    assert_run("graph 4-8-3 --out g.svg", 0);
    read_file("g.svg", out, sizeof out);
    assert_non_null(strstr(out, "<svg"));
    /* a model file, with its own parameter names */
    assert_run("train blobs.csv --hidden 6 --epochs 1 --quiet --out graph.st", 0);
    assert_run("graph graph.st", 0);
    assert_non_null(strstr(out, "2.weight\\n[3, 6]"));
    assert_run("graph 4-8-3 --out g.png", 2);
    assert_run("graph no-such-thing", 2);
    assert_non_null(strstr(err, "not a model spec"));
    assert_run("graph", 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_help_lists_every_option),
        cmocka_unit_test(test_usage_errors_exit_2),
        cmocka_unit_test(test_train_csv_reaches_accuracy),
        cmocka_unit_test(test_eval_ends_with_accuracy),
        cmocka_unit_test(test_predict_rows_and_json),
        cmocka_unit_test(test_train_image_folder),
        cmocka_unit_test(test_info_counts_parameters),
        cmocka_unit_test(test_steps_and_no_shuffle_repeat_bit_for_bit),
        cmocka_unit_test(test_resume_matches_unbroken_run),
        cmocka_unit_test(test_init_loads_given_weights),
        cmocka_unit_test(test_init_from_pytorch_state_dict),
        cmocka_unit_test(test_bad_files_exit_1_naming_them),
        cmocka_unit_test(test_nan_loss_stops_with_advice),
        cmocka_unit_test(test_ctrl_c_saves_and_exits_130),
        cmocka_unit_test(test_early_stopping_and_nonfinite_skip),
        cmocka_unit_test(test_gradcheck_passes),
        cmocka_unit_test(test_gradcheck_double_by_default),
        cmocka_unit_test(test_gradcheck_explains_every_op),
        cmocka_unit_test(test_gradcheck_help_in_its_own_words),
        cmocka_unit_test(test_graph_writes_dot_that_dot_draws),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
