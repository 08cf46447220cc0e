/*
 * Tests of the one file writer and the same-file tests (tensor/file.c,
 * cg_data_reads_file in data/dataset.c) and of message escaping
 * (tensor/text.c).
 */
#define _GNU_SOURCE
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cg_test.h"

static char dir[256];

static const char *at(int k, const char *rel)
{
    return cg_test_path(dir, k, rel);
}

static int setup(void **state)
{
    (void)state;
    return cg_test_dir_make(dir, sizeof dir, "cg_file_");
}

static int teardown(void **state)
{
    (void)state;
    return cg_test_dir_remove(dir);
}

static void assert_file_is(const char *path, const char *text)
{
    char buf[256] = {0};
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    assert_int_equal(n, strlen(text));
    assert_string_equal(buf, text);
}

/* A regular file is replaced whole and keeps its mode; a link is followed
 * (the link stays a link, the file it names gets the new text). */
static void test_write_file_regular_and_link(void **state)
{
    (void)state;
    struct stat st;
    assert_int_equal(cg_write_file(at(0, "a.txt"), "one", 3), CG_OK);
    assert_file_is(at(0, "a.txt"), "one");
    assert_int_equal(chmod(at(0, "a.txt"), 0640), 0);
    assert_int_equal(cg_write_file(at(0, "a.txt"), "two!", 4), CG_OK);
    assert_file_is(at(0, "a.txt"), "two!");
    assert_int_equal(stat(at(0, "a.txt"), &st), 0);
    assert_int_equal(st.st_mode & 0777, 0640);
    assert_int_equal(symlink("a.txt", at(1, "link.txt")), 0);
    assert_int_equal(cg_write_file(at(1, "link.txt"), "three", 5), CG_OK);
    assert_int_equal(lstat(at(1, "link.txt"), &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    assert_file_is(at(0, "a.txt"), "three");
}

/* Devices are written in place: /dev/null takes anything, /dev/full says
 * why it cannot (a rename over them would have replaced them); a folder is
 * refused. */
static void test_write_file_devices(void **state)
{
    (void)state;
    struct stat st;
    assert_int_equal(cg_write_file("/dev/null", "x", 1), CG_OK);
    assert_int_equal(stat("/dev/null", &st), 0);
    assert_true(S_ISCHR(st.st_mode));
    cg_clear_error();
    assert_int_equal(cg_write_file("/dev/full", "x", 1), CG_ERR_IO);
    assert_errmsg_contains("/dev/full: cannot write: No space left on device");
    assert_int_equal(mkdir(at(0, "sub"), 0755), 0);
    assert_int_equal(cg_write_file(at(0, "sub"), "x", 1), CG_ERR_IO);
    assert_errmsg_contains("is a folder");
}

/* Same file: by device and inode when they exist (another spelling, a hard
 * link), by folder and name when neither does. */
static void test_same_file(void **state)
{
    (void)state;
    char cwd[PATH_MAX], rel[PATH_MAX];
    assert_int_equal(cg_write_file(at(0, "s.txt"), "s", 1), CG_OK);
    assert_int_equal(link(at(0, "s.txt"), at(1, "hard.txt")), 0);
    snprintf(rel, sizeof rel, "%s/./sub/../s.txt", dir);
    mkdir(at(2, "sub"), 0755);
    assert_true(cg_same_file(at(0, "s.txt"), at(1, "hard.txt")));
    assert_true(cg_same_file(at(0, "s.txt"), rel));
    assert_false(cg_same_file(at(0, "s.txt"), at(1, "new.txt")));
    assert_true(cg_same_file(at(0, "new.txt"), at(1, "sub/../new.txt")));
    assert_false(cg_same_file(at(0, "new.txt"), at(1, "sub/new.txt")));
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(chdir(dir), 0);
    assert_true(cg_same_file("s.txt", rel));
    assert_true(cg_same_file("none.txt", "./none.txt"));
    assert_int_equal(chdir(cwd), 0);
}

/* What a data set's loader reads: the file itself, an IDX folder's files,
 * the images of an image folder's class folders; not a model saved beside
 * the data. */
static void test_data_reads_file(void **state)
{
    (void)state;
    assert_int_equal(cg_write_file(at(0, "d.csv"), "a,b\n1,x\n", 8), CG_OK);
    assert_true(cg_data_reads_file(at(0, "d.csv"), at(1, "d.csv")));
    assert_false(cg_data_reads_file(at(0, "d.csv"), at(1, "e.csv")));
    mkdir(at(0, "idx"), 0755);
    assert_int_equal(cg_write_file(at(0, "idx/t10k-labels-idx1-ubyte.gz"), "x", 1), CG_OK);
    assert_int_equal(cg_write_file(at(0, "idx/model.st"), "x", 1), CG_OK);
    assert_true(cg_data_reads_file(at(0, "idx"), at(1, "idx/t10k-labels-idx1-ubyte.gz")));
    assert_false(cg_data_reads_file(at(0, "idx"), at(1, "idx/model.st")));
    mkdir(at(0, "img"), 0755);
    mkdir(at(0, "img/cat"), 0755);
    assert_int_equal(cg_write_file(at(0, "img/cat/1.PNG"), "x", 1), CG_OK);
    assert_int_equal(cg_write_file(at(0, "img/cat/notes.txt"), "x", 1), CG_OK);
    assert_int_equal(cg_write_file(at(0, "img/plot.png"), "x", 1), CG_OK);
    assert_true(cg_data_reads_file(at(0, "img"), at(1, "img/cat/1.PNG")));
    assert_true(cg_data_reads_file(at(0, "img"), at(1, "img/../img/cat/1.PNG")));
    assert_false(cg_data_reads_file(at(0, "img"), at(1, "img/cat/notes.txt")));
    assert_false(cg_data_reads_file(at(0, "img"), at(1, "img/plot.png")));
    assert_false(cg_data_reads_file(at(0, "img"), at(1, "img/cat/2.png")));   /* not there */
}

/* Control characters are escaped, the rest kept; a cut never splits an
 * escape. */
static void test_escape_text(void **state)
{
    (void)state;
    char buf[32];
    assert_string_equal(cg_escape_text(buf, sizeof buf, "a\nb\tc\r\x01\x7f caf\xc3\xa9"),
                        "a\\nb\\tc\\r\\x01\\x7f caf\xc3\xa9");
    assert_string_equal(cg_escape_text(buf, 5, "abc\ndef"), "abc");
    assert_string_equal(cg_escape_text(buf, 6, "abc\ndef"), "abc\\n");
    /* every library message goes through it (cg__fail) */
    assert_null(cg_csv_load("no\nsuch.csv", NULL));
    assert_errmsg_contains("no\\nsuch.csv: cannot open");
    assert_null(strchr(cg_errmsg(), '\n'));
}

/* Bytes that begin no valid sequence become U+FFFD; a cut never splits a
 * character; the return is the length needed. */
static void test_utf8_repair(void **state)
{
    (void)state;
    char buf[32];
    assert_int_equal(cg_utf8_repair(buf, sizeof buf, "caf\xc3\xa9"), 5);
    assert_string_equal(buf, "caf\xc3\xa9");
    assert_int_equal(cg_utf8_repair(buf, sizeof buf, "a\xe9z"), 5);
    assert_string_equal(buf, "a\xef\xbf\xbdz");
    /* a truncated sequence, an overlong form, a surrogate */
    assert_int_equal(cg_utf8_repair(buf, sizeof buf, "\xc3"), 3);
    assert_string_equal(buf, "\xef\xbf\xbd");
    cg_utf8_repair(buf, sizeof buf, "\xc0\xaf.");
    assert_string_equal(buf, "\xef\xbf\xbd\xef\xbf\xbd.");
    cg_utf8_repair(buf, sizeof buf, "\xed\xa0\x80");
    assert_string_equal(buf, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
    /* cut: the replacement does not fit whole in 4 bytes after "ab" */
    assert_int_equal(cg_utf8_repair(buf, 4, "ab\xff" "c"), 6);
    assert_string_equal(buf, "ab");
    assert_int_equal(cg_utf8_repair(NULL, 0, "\xff\xff"), 6);
    assert_int_equal(cg_utf8_repair(buf, sizeof buf, NULL), 0);
    assert_string_equal(buf, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_write_file_regular_and_link),
        cmocka_unit_test(test_write_file_devices),
        cmocka_unit_test(test_same_file),
        cmocka_unit_test(test_data_reads_file),
        cmocka_unit_test(test_escape_text),
        cmocka_unit_test(test_utf8_repair),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
