/* Unit tests for util/path.c: lexical helpers and in-root resolution against hostile symlinks. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <setjmp.h>
#include <cmocka.h>

#include "util/cleanup.h"
#include "util/path.h"

struct tree {
	char root[64];	  /* the "container" root */
	char outside[64]; /* a host directory symlinks point at */
	int root_fd;
};

static void xsymlink(const struct tree *t, const char *target, const char *name)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/%s", t->root, name);
	assert_int_equal(symlink(target, p), 0);
}

static void xmkdir(const char *base, const char *name)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/%s", base, name);
	assert_int_equal(mkdir(p, 0755), 0);
}

static void xwrite(const char *base, const char *name, const char *data)
{
	char p[PATH_MAX];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", base, name);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, strlen(data)), (ssize_t)strlen(data));
	close(fd);
}

static int exists(const char *base, const char *name)
{
	char p[PATH_MAX];
	struct stat st;

	snprintf(p, sizeof(p), "%s/%s", base, name);
	return lstat(p, &st) == 0;
}

/* Asserts that fd is the host file base/name. */
static void assert_same(int fd, const char *base, const char *name)
{
	char p[PATH_MAX];
	struct stat a, b;

	snprintf(p, sizeof(p), "%s/%s", base, name);
	assert_int_equal(fstat(fd, &a), 0);
	assert_int_equal(lstat(p, &b), 0);
	assert_true(a.st_dev == b.st_dev && a.st_ino == b.st_ino);
}

static int rm_tree(const char *path)
{
	char cmd[PATH_MAX + 16];

	if (strncmp(path, "/tmp/", 5) != 0 || strstr(path, ".."))
		return -1;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
	return system(cmd);
}

static int setup_tree(void **state)
{
	struct tree *t = calloc(1, sizeof(*t));
	char target[PATH_MAX];

	if (!t)
		return -1;
	strcpy(t->root, "/tmp/vessel-test-path-root-XXXXXX");
	strcpy(t->outside, "/tmp/vessel-test-path-out-XXXXXX");
	if (!mkdtemp(t->root) || !mkdtemp(t->outside))
		return -1;
	xmkdir(t->root, "etc");
	xwrite(t->root, "etc/marker", "inside");
	xwrite(t->outside, "secret", "outside");
	xmkdir(t->root, "a");
	xmkdir(t->root, "a/b");
	xwrite(t->root, "file", "data");
	xsymlink(t, "/etc", "etc_abs");
	xsymlink(t, "../../..", "a/b/up");
	xsymlink(t, t->outside, "out_abs");
	snprintf(target, sizeof(target), "%s/newdir", t->outside);
	xsymlink(t, target, "x");
	snprintf(target, sizeof(target), "%s/newfile", t->outside);
	xsymlink(t, target, "dangling_file");
	xsymlink(t, "loop2", "loop1");
	xsymlink(t, "loop1", "loop2");
	xsymlink(t, "/proc/self/root", "magic");
	xsymlink(t, "file", "file_link");
	t->root_fd = open(t->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (t->root_fd < 0)
		return -1;
	*state = t;
	return 0;
}

static int teardown_tree(void **state)
{
	struct tree *t = *state;

	close(t->root_fd);
	rm_tree(t->root);
	rm_tree(t->outside);
	free(t);
	return 0;
}

static void test_clean(void **state)
{
	static const char *const cases[][2] = {
	    {"a//b/./c/..", "a/b"}, {"/", "/"},	       {"", "."},
	    {"/../..", "/"},	    {"../a/..", ".."}, {"a/../../b", "../b"},
	    {"/a/b/../../..", "/"}, {"./", "."},       {"/a/./b/", "/a/b"},
	    {"..//..", "../.."},    {"a/..", "."},     {"/x/../y", "/y"},
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		cleanup_free char *s = path_clean(cases[i][0]);

		assert_non_null(s);
		assert_string_equal(s, cases[i][1]);
	}
}

static void test_join(void **state)
{
	static const char *const cases[][3] = {
	    {"a", "b", "a/b"}, {"a/", "/b", "a/b"},	  {"/", "x", "/x"}, {"", "b", "b"},
	    {"a//", "", "a"},  {"/r", "//d/e", "/r/d/e"}, {"//", "/", "/"},
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		cleanup_free char *s = path_join(cases[i][0], cases[i][1]);

		assert_non_null(s);
		assert_string_equal(s, cases[i][2]);
	}
}

static void test_fd(void **state)
{
	char buf[32];

	assert_string_equal(path_fd(42, buf, sizeof(buf)), "/proc/self/fd/42");
}

static void test_open_stays_inside(void **state)
{
	struct tree *t = *state;
	struct error err = {0};
	static const char *const inside[] = {"etc_abs/marker", "a/b/up/etc/marker",
					     "/../../etc/marker", "a/b/up/../etc/marker"};

	for (size_t i = 0; i < ARRAY_SIZE(inside); i++) {
		cleanup_fd int fd = path_open_in_root(t->root_fd, inside[i], O_RDONLY, 0, &err);

		assert_true(fd >= 0);
		assert_same(fd, t->root, "etc/marker");
	}
	/* out_abs -> <outside>: resolves to <root>/<outside>, which does not exist. */
	assert_int_equal(path_open_in_root(t->root_fd, "out_abs/secret", O_RDONLY, 0, &err),
			 -ENOENT);
	assert_non_null(strstr(err.msg, "out_abs/secret"));
	assert_int_equal(path_open_in_root(t->root_fd, "loop1", O_RDONLY, 0, &err), -ELOOP);
	assert_int_equal(path_open_in_root(t->root_fd, "magic/etc", O_RDONLY, 0, &err), -ENOENT);
}

static void test_mkdir_through_symlink(void **state)
{
	struct tree *t = *state;
	struct error err = {0};
	char inside[PATH_MAX];
	cleanup_fd int fd = path_mkdir_in_root(t->root_fd, "x/sub/deeper", 0700, &err);

	assert_true(fd >= 0);
	assert_false(exists(t->outside, "newdir"));
	snprintf(inside, sizeof(inside), "%s%s/newdir/sub/deeper", t->root, t->outside);
	assert_same(fd, inside, "");
	{
		struct stat st;

		assert_int_equal(stat(inside, &st), 0);
		assert_int_equal(st.st_mode & 07777, 0700);
	}
}

static void test_mkdir_dotdot_and_relative_links(void **state)
{
	struct tree *t = *state;
	struct error err = {0};
	cleanup_fd int a = path_mkdir_in_root(t->root_fd, "../../../up1/d", 0755, &err);
	cleanup_fd int b = path_mkdir_in_root(t->root_fd, "a/b/up/up2", 0755, &err);
	cleanup_fd int c = path_mkdir_in_root(t->root_fd, "etc_abs/sub", 0755, &err);
	cleanup_fd int d = path_mkdir_in_root(t->root_fd, "a/b", 0755, &err);

	assert_true(a >= 0 && b >= 0 && c >= 0 && d >= 0);
	assert_same(a, t->root, "up1/d");
	assert_same(b, t->root, "up2");
	assert_same(c, t->root, "etc/sub");
	assert_same(d, t->root, "a/b");
	assert_true(exists(t->root, "etc/sub"));
	assert_int_not_equal(access("/etc/sub", F_OK), 0);
}

static void test_mkdir_errors(void **state)
{
	struct tree *t = *state;
	struct error err = {0};

	assert_int_equal(path_mkdir_in_root(t->root_fd, "file/sub", 0755, &err), -ENOTDIR);
	assert_non_null(strstr(err.msg, "file/sub"));
	assert_int_equal(path_mkdir_in_root(t->root_fd, "file", 0755, &err), -ENOTDIR);
	assert_int_equal(path_mkdir_in_root(t->root_fd, "loop1/sub", 0755, &err), -ELOOP);
	assert_false(exists(t->root, "loop1/sub"));
}

static void test_mkentry_file(void **state)
{
	struct tree *t = *state;
	struct error err = {0};
	char inside[PATH_MAX];
	char buf[16] = {0};
	cleanup_fd int f = path_mkentry_in_root(t->root_fd, "dangling_file", 0, 0644, &err);
	cleanup_fd int g = path_mkentry_in_root(t->root_fd, "file_link", 0, 0644, &err);
	cleanup_fd int h = path_mkentry_in_root(t->root_fd, "a/b/up/new/parent/f", 0, 0600, &err);
	cleanup_fd int rd = -1;

	assert_true(f >= 0 && g >= 0 && h >= 0);
	/* The dangling link's target got created inside root, not on the host. */
	assert_false(exists(t->outside, "newfile"));
	snprintf(inside, sizeof(inside), "%s%s", t->root, t->outside);
	assert_same(f, inside, "newfile");
	/* An existing file is reused, not truncated. */
	assert_same(g, t->root, "file");
	snprintf(inside, sizeof(inside), "%s/file", t->root);
	rd = open(inside, O_RDONLY | O_CLOEXEC);
	assert_true(rd >= 0);
	assert_int_equal(read(rd, buf, sizeof(buf) - 1), 4);
	assert_string_equal(buf, "data");
	assert_same(h, t->root, "new/parent/f");
	{
		struct stat st;

		assert_int_equal(fstat(h, &st), 0);
		assert_true(S_ISREG(st.st_mode));
		snprintf(inside, sizeof(inside), "%s/new/parent", t->root);
		assert_int_equal(stat(inside, &st), 0);
		assert_int_equal(st.st_mode & 07777, 0755);
	}
}

static void test_mkentry_kinds(void **state)
{
	struct tree *t = *state;
	struct error err = {0};
	cleanup_fd int d = path_mkentry_in_root(t->root_fd, "/out_abs/dir", 1, 0755, &err);

	assert_true(d >= 0);
	assert_false(exists(t->outside, "dir"));
	assert_int_equal(path_mkentry_in_root(t->root_fd, "a", 0, 0644, &err), -EISDIR);
	assert_int_equal(path_mkentry_in_root(t->root_fd, "file", 1, 0755, &err), -ENOTDIR);
	assert_int_equal(path_mkentry_in_root(t->root_fd, "loop2", 0, 0644, &err), -ELOOP);
	/* The outside directory was never written to. */
	assert_true(exists(t->outside, "secret"));
	assert_false(exists(t->outside, "newdir") || exists(t->outside, "newfile"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_clean),
	    cmocka_unit_test(test_join),
	    cmocka_unit_test(test_fd),
	    cmocka_unit_test_setup_teardown(test_open_stays_inside, setup_tree, teardown_tree),
	    cmocka_unit_test_setup_teardown(test_mkdir_through_symlink, setup_tree, teardown_tree),
	    cmocka_unit_test_setup_teardown(test_mkdir_dotdot_and_relative_links, setup_tree,
					    teardown_tree),
	    cmocka_unit_test_setup_teardown(test_mkdir_errors, setup_tree, teardown_tree),
	    cmocka_unit_test_setup_teardown(test_mkentry_file, setup_tree, teardown_tree),
	    cmocka_unit_test_setup_teardown(test_mkentry_kinds, setup_tree, teardown_tree),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
