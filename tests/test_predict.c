/*
 * `cgrad predict` and `cgrad info` on what users have (issue 17): a folder
 * of images (every image at any depth, sorted), CSV rows on stdin (`-`),
 * the very CSV a model was trained on (its label column left out; columns
 * found by the header names a model stores), and info without empty
 * settings. Runs the built program on the examples/data files: iris.csv
 * and the Fashion-MNIST images of photos/ and new-photos/.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cg_test.h"
#include "cg_cli.h"

static struct cg_cli cli;

static int setup(void **state)
{
    (void)state;
    if (cg_cli_setup(&cli, "cgrad-predict-") != 0)
        return -1;
    /* the models every test uses, trained as the README's tour does */
    if (cg_cli_run(&cli, "cgrad train examples/data/iris.csv --hidden 16 --epochs 100 "
                         "--lr 0.01 --quiet --out iris.st") != 0 ||
        cg_cli_run(&cli, "cgrad train examples/data/photos --grayscale --hidden 32 "
                         "--epochs 30 --quiet --out photos.st") != 0) {
        fprintf(stderr, "test_predict: training failed: %s", cli.err);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return cg_cli_teardown(&cli);
}

/* The number of lines of text. */
static int lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

static void test_predict_a_folder_recursively_in_sorted_order(void **state)
{
    (void)state;
    /* a folder in a folder, a file that is not an image, a hidden one */
    cg_cli_expect(&cli, 0, "mkdir -p in/b in/.hidden && cp examples/data/new-photos/1.png "
                  "in/b/z.png && cp examples/data/new-photos/2.png in/a.png && "
                  "cp examples/data/new-photos/3.png in/.hidden/x.png && echo hi >in/notes");
    cg_cli_expect(&cli, 0, "cgrad predict photos.st in/");
    /* two lines: a.png before b/z.png (sorted by path), nothing else */
    assert_int_equal(lines(cli.out), 2);
    assert_memory_equal(cli.out, "in/a.png  sneaker ", 18);
    assert_non_null(strstr(cli.out, "\nin/b/z.png  trouser "));
}

static void test_predict_a_folder_gives_what_the_files_give(void **state)
{
    (void)state;
    char one_by_one[CG_CLI_OUT];
    cg_cli_expect(&cli, 0, "cgrad predict photos.st examples/data/new-photos/[1-6].png "
                  "--top 2");
    snprintf(one_by_one, sizeof one_by_one, "%s", cli.out);
    assert_int_equal(lines(one_by_one), 6);
    cg_cli_expect(&cli, 0, "cgrad predict photos.st examples/data/new-photos --top 2");
    assert_string_equal(cli.out, one_by_one);
    /* the classes are right: 1 and 4 trousers, 2 and 5 sneakers, 3 and 6 bags */
    assert_non_null(strstr(cli.out, "new-photos/1.png  trouser "));
    assert_non_null(strstr(cli.out, "new-photos/5.png  sneaker "));
    assert_non_null(strstr(cli.out, "new-photos/6.png  bag "));
    /* a folder without images, and a table model given a folder */
    cg_cli_expect(&cli, 0, "mkdir -p empty/sub");
    cg_cli_expect(&cli, 1, "cgrad predict photos.st empty");
    assert_string_equal(cli.err, "cgrad: empty: no image files in this folder or below "
                        "(png, jpg, jpeg, bmp, gif, tga, pnm, ppm, pgm)\n");
    cg_cli_expect(&cli, 1, "cgrad predict iris.st examples/data/new-photos");
    assert_non_null(strstr(cli.err, "was not trained on images"));
}

static void test_predict_reads_stdin(void **state)
{
    (void)state;
    cg_cli_expect(&cli, 0, "cgrad predict iris.st - --top 2 <examples/data/iris-new.csv");
    assert_int_equal(lines(cli.out), 3);
    assert_memory_equal(cli.out, "stdin:1  setosa ", 16);
    /* the same lines as from the file, named stdin */
    cg_cli_expect(&cli, 0, "cgrad predict iris.st - --top 2 <examples/data/iris-new.csv "
                  "| sed 's/^stdin:/examples\\/data\\/iris-new.csv:/' >stdin.txt && "
                  "cgrad predict iris.st examples/data/iris-new.csv --top 2 | cmp - stdin.txt");
    cg_cli_expect(&cli, 1, "printf 'a,b\\n1,x\\n' | cgrad predict iris.st -");
    assert_string_equal(cli.err, "cgrad: stdin: 2 columns, but the model takes 4 features "
                        "(and at most one label column)\n");
}

static void test_predict_on_the_training_file(void **state)
{
    (void)state;
    /* iris.csv still has its label column: predicted, not refused */
    cg_cli_expect(&cli, 0, "cgrad predict iris.st examples/data/iris.csv");
    assert_int_equal(lines(cli.out), 150);
    assert_non_null(strstr(cli.out, "iris.csv:1  setosa "));
    assert_non_null(strstr(cli.out, "iris.csv:150  virginica "));
    /* the label column in front, named by --label at training */
    cg_cli_expect(&cli, 0, "awk -F, -v OFS=, '{print $5,$1,$2,$3,$4}' examples/data/iris.csv "
                  ">front.csv && cgrad train front.csv --label species --hidden 16 --epochs 100"
                  " --lr 0.01 --quiet --out front.st && cgrad predict front.st front.csv "
                  "| head -n 1");
    assert_non_null(strstr(cli.out, "front.csv:1  setosa "));
    /* two columns too many, and no header to find the columns by name */
    cg_cli_expect(&cli, 1, "paste -d, examples/data/iris.csv examples/data/iris.csv "
                  "| cut -d, -f1-6 | tail -n +2 >six.csv && cgrad predict iris.st six.csv");
    assert_string_equal(cli.err, "cgrad: six.csv: 6 columns, but the model takes 4 features "
                        "(and at most one label column)\n");
}

static void test_predict_finds_columns_by_stored_names(void **state)
{
    (void)state;
    static const char *const names[] = {"sepal_length", "sepal_width", "petal_length",
                                        "petal_width"};
    char want[CG_CLI_OUT];
    /* what the trainer stores for CSV data: the header's names */
    cg_cli_name_inputs(&cli, "iris.st", "named.st", names, 4);
    cg_cli_expect(&cli, 0, "cgrad predict named.st examples/data/iris.csv --top 3 "
                  "| sed 's/^[^ ]*//'");
    snprintf(want, sizeof want, "%s", cli.out);
    /* the columns shuffled, one more added: found by name all the same */
    cg_cli_expect(&cli, 0, "awk -F, -v OFS=, '{print $4,$5,\"x\",$2,$1,$3}' "
                  "examples/data/iris.csv >shuffled.csv && cgrad predict named.st "
                  "shuffled.csv --top 3 | sed 's/^[^ ]*//'");
    assert_string_equal(cli.out, want);
    /* ... and cgrad train stores the names too */
    cg_cli_expect(&cli, 0, "cgrad predict iris.st shuffled.csv --top 3 | sed 's/^[^ ]*//'");
    assert_string_equal(cli.out, want);
    /* without a header the columns are taken by position: 6 is a count refused */
    cg_cli_expect(&cli, 1, "tail -n +2 shuffled.csv >bare.csv && cgrad predict named.st bare.csv");
    /* a column renamed: refused, not paired by position */
    cg_cli_expect(&cli, 1, "sed '1s/petal_width/pw/' examples/data/iris.csv >renamed.csv && "
                  "cgrad predict named.st renamed.csv");
    assert_string_equal(cli.err, "cgrad: renamed.csv: no column 'petal_width' (the model's "
                        "inputs are found by their header names)\n");
    cg_cli_expect(&cli, 0, "cgrad info named.st");
    assert_non_null(strstr(cli.out, "input: 4 features (sepal_length, sepal_width, "
                           "petal_length, petal_width)\n"));
    cg_cli_expect(&cli, 0, "cgrad info named.st --json");
    assert_non_null(strstr(cli.out, "\"features\": [\"sepal_length\", \"sepal_width\", "
                           "\"petal_length\", \"petal_width\"]"));
}

static void test_info_leaves_out_empty_settings(void **state)
{
    (void)state;
    cg_cli_expect(&cli, 0, "cgrad info iris.st");
    /* trained without --label, --test, images: none of them shown */
    assert_null(strstr(cli.out, "label:"));
    assert_null(strstr(cli.out, "test:"));
    assert_null(strstr(cli.out, "image_size:"));
    assert_null(strstr(cli.out, ": \n"));
    assert_non_null(strstr(cli.out, "  val_split: 0\n"));
    cg_cli_expect(&cli, 0, "cgrad info photos.st");
    assert_non_null(strstr(cli.out, "  image_size: 28x28x1\n"));
    /* --json keeps every key, empty ones as "" */
    cg_cli_expect(&cli, 0, "cgrad info iris.st --json");
    assert_non_null(strstr(cli.out, "\"label\": \"\""));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_predict_a_folder_recursively_in_sorted_order),
        cmocka_unit_test(test_predict_a_folder_gives_what_the_files_give),
        cmocka_unit_test(test_predict_reads_stdin),
        cmocka_unit_test(test_predict_on_the_training_file),
        cmocka_unit_test(test_predict_finds_columns_by_stored_names),
        cmocka_unit_test(test_info_leaves_out_empty_settings),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
