/* Unit tests for image/snapshot.c: overlayfs of unpacked layers, and the flattened copy.
 * The mounting runs in this test process after unshare(CLONE_NEWNS) and making / private, so
 * nothing reaches the host's mount table; everything lives under a mkdtemp dir in /tmp. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <sched.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <setjmp.h>
#include <cmocka.h>

#include "image/snapshot.h"
#include "image/unpack.h"
#include "util/cleanup.h"

struct ent {
	const char *name;
	const char *data; /* NULL: a directory */
};

struct fx {
	char base[64];
	char mounted[8][PATH_MAX]; /* unmounted at teardown */
	int n_mounted;
	struct error err;
};

/* Layer 1 and layer 2 of the test image; layer 2 whites out a/gone and makes o opaque. */
static const struct ent layer1[] = {
    {"a", NULL},      {"a/keep", "keep"}, {"a/gone", "gone"},	   {"o/old", "old"},
    {"o/sub/x", "x"}, {"bin/sh", "sh1"},  {"etc/os-release", "v1"}};
static const struct ent layer2[] = {{"a/.wh.gone", ""},
				    {"o/.wh..wh..opq", ""},
				    {"o/new", "new"},
				    {"bin/sh", "sh2"},
				    {"etc/hosts", "h"}};

static int build_tar(const struct ent *ents, size_t n)
{
	struct archive *a = archive_write_new();
	int fd = memfd_create("layer", MFD_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(archive_write_set_format_pax(a), ARCHIVE_OK);
	assert_int_equal(archive_write_open_fd(a, fd), ARCHIVE_OK);
	for (size_t i = 0; i < n; i++) {
		struct archive_entry *e = archive_entry_new();
		size_t len = ents[i].data ? strlen(ents[i].data) : 0;

		archive_entry_set_pathname(e, ents[i].name);
		archive_entry_set_filetype(e, ents[i].data ? AE_IFREG : AE_IFDIR);
		archive_entry_set_perm(e, ents[i].data ? 0644 : 0755);
		archive_entry_set_size(e, (la_int64_t)len);
		assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
		assert_int_equal(archive_write_data(a, ents[i].data, len), (la_ssize_t)len);
		archive_entry_free(e);
	}
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	return fd;
}

static void path(char *out, const struct fx *f, const char *name)
{
	snprintf(out, PATH_MAX, "%s/%.1000s", f->base, name);
}

static void xmkdir(const struct fx *f, const char *name)
{
	char p[PATH_MAX];

	path(p, f, name);
	assert_int_equal(mkdir(p, 0755), 0);
}

/* Unpacks entries as an overlay-mode layer into base/name. */
static void make_layer(struct fx *f, const char *name, const struct ent *ents, size_t n)
{
	const struct image_unpack_opts o = {.overlay = true};
	cleanup_fd int fd = build_tar(ents, n);
	char p[PATH_MAX];

	xmkdir(f, name);
	path(p, f, name);
	if (image_unpack_layer(fd, p, &o, NULL, &f->err) < 0)
		fail_msg("%s", f->err.msg);
}

static void do_mount(struct fx *f, const char *const *lower, size_t n, const char *upper,
		     const char *work, const char *target)
{
	if (image_snapshot_mount(lower, n, upper, work, target, &f->err) < 0)
		fail_msg("%s", f->err.msg);
	snprintf(f->mounted[f->n_mounted++], PATH_MAX, "%s", target);
}

static void read_file(const char *dir, const char *name, char *buf, size_t size)
{
	char p[PATH_MAX * 2];
	ssize_t n;
	int fd;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		fail_msg("%s: %s", p, strerror(errno));
	n = read(fd, buf, size - 1);
	assert_true(n >= 0);
	buf[n] = '\0';
	close(fd);
}

static void assert_file(const char *dir, const char *name, const char *data)
{
	char buf[256];

	read_file(dir, name, buf, sizeof(buf));
	assert_string_equal(buf, data);
}

static int lexists(const char *dir, const char *name)
{
	char p[PATH_MAX * 2];
	struct stat st;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return lstat(p, &st) == 0;
}

/* "path type mode [size]" for every entry under dir, sorted. */
static void tree(const char *dir, char *out, size_t size)
{
	char cmd[PATH_MAX + 128];
	FILE *p;
	size_t n;

	snprintf(cmd, sizeof(cmd),
		 "cd '%s' && find . -mindepth 1 \\( -type d -printf '%%p d %%m\\n' \\) -o "
		 "-printf '%%p %%y %%m %%s\\n' | LC_ALL=C sort",
		 dir);
	p = popen(cmd, "r");
	assert_non_null(p);
	n = fread(out, 1, size - 1, p);
	out[n] = '\0';
	assert_int_equal(pclose(p), 0);
}

static int group_setup(void **state)
{
	if (geteuid() != 0 || unshare(CLONE_NEWNS) < 0 ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		*state = NULL;
	else
		*state = (void *)1;
	return 0;
}

static int setup(void **state)
{
	struct fx *f;

	if (!*state)
		return 0;
	f = calloc(1, sizeof(*f));
	strcpy(f->base, "/tmp/h14-snap-XXXXXX");
	if (!f || !mkdtemp(f->base))
		return -1;
	*state = f;
	return 0;
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(p);
}

static int teardown(void **state)
{
	struct fx *f = *state;

	if (!f)
		return 0;
	while (f->n_mounted > 0)
		assert_int_equal(image_snapshot_umount(f->mounted[--f->n_mounted], &f->err), 0);
	nftw(f->base, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	*state = (void *)1;
	return 0;
}

#define NEED_MOUNTS(f)                                                                             \
	do {                                                                                       \
		if (!(f))                                                                          \
			skip(); /* needs root and a private mount namespace */                     \
	} while (0)

/* Two layers and an upper dir: whiteouts hide, writes go up, and the copy fallback builds
 * the same tree. */
static void test_overlay_and_copy(void **state)
{
	struct fx *f = *state;
	char l1[PATH_MAX], l2[PATH_MAX], up[PATH_MAX], work[PATH_MAX], root[PATH_MAX];
	char copy[PATH_MAX], t1[8192], t2[8192];
	const char *lower[] = {l2, l1};
	int fds[2];
	struct stat st;

	NEED_MOUNTS(f);
	make_layer(f, "l1", layer1, ARRAY_SIZE(layer1));
	make_layer(f, "l2", layer2, ARRAY_SIZE(layer2));
	xmkdir(f, "upper"), xmkdir(f, "work"), xmkdir(f, "root"), xmkdir(f, "copy");
	path(l1, f, "l1"), path(l2, f, "l2"), path(up, f, "upper"), path(work, f, "work");
	path(root, f, "root"), path(copy, f, "copy");
	do_mount(f, lower, 2, up, work, root);
	assert_file(root, "a/keep", "keep");
	assert_false(lexists(root, "a/gone"));
	assert_false(lexists(root, "o/old") || lexists(root, "o/sub"));
	assert_file(root, "o/new", "new");
	assert_file(root, "bin/sh", "sh2");
	assert_file(root, "etc/os-release", "v1");
	tree(root, t1, sizeof(t1));

	fds[0] = build_tar(layer1, ARRAY_SIZE(layer1));
	fds[1] = build_tar(layer2, ARRAY_SIZE(layer2));
	assert_int_equal(image_snapshot_copy(fds, 2, copy, &f->err), 0);
	close(fds[0]), close(fds[1]);
	tree(copy, t2, sizeof(t2));
	assert_string_equal(t1, t2);

	/* Writes and deletes land in the upper dir; the layers stay as they were. */
	assert_int_equal(mkdir(strcat(strcpy(t1, root), "/newdir"), 0755), 0);
	assert_int_equal(unlink(strcat(strcpy(t1, root), "/a/keep")), 0);
	assert_true(lexists(up, "newdir") && !lexists(l1, "newdir") && !lexists(l2, "newdir"));
	assert_file(l1, "a/keep", "keep");
	snprintf(t1, sizeof(t1), "%s/a/keep", up);
	assert_int_equal(lstat(t1, &st), 0);
	assert_true(S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0));
}

static void test_read_only(void **state)
{
	struct fx *f = *state;
	char l1[PATH_MAX], l2[PATH_MAX], r1[PATH_MAX], r2[PATH_MAX + 8];
	const char *lower[] = {l2, l1};

	NEED_MOUNTS(f);
	make_layer(f, "l1", layer1, ARRAY_SIZE(layer1));
	make_layer(f, "l2", layer2, ARRAY_SIZE(layer2));
	xmkdir(f, "r1"), xmkdir(f, "r2");
	path(l1, f, "l1"), path(l2, f, "l2"), path(r1, f, "r1"), path(r2, f, "r2");
	do_mount(f, lower, 2, NULL, NULL, r1);
	assert_file(r1, "bin/sh", "sh2");
	do_mount(f, lower + 1, 1, NULL, NULL, r2);
	assert_file(r2, "bin/sh", "sh1");
	assert_int_equal(mkdir(strcat(r1, "/x"), 0755), -1);
	assert_int_equal(errno, EROFS);
	assert_int_equal(mkdir(strcat(r2, "/x"), 0755), -1);
	assert_int_equal(errno, EROFS);
}

/* 40 layers under long names: the option string passes a page, so fsconfig takes over. */
static void test_many_layers(void **state)
{
	struct fx *f = *state;
	char names[40][160], *lower[40], root[PATH_MAX];
	struct ent e[1] = {{NULL, "x"}};
	char files[40][16];

	NEED_MOUNTS(f);
	for (int i = 0; i < 40; i++) {
		snprintf(names[i], sizeof(names[i]), "layer-%02d-%0100d", i, 0);
		snprintf(files[i], sizeof(files[i]), "common/f%02d", i);
		e[0].name = files[i];
		make_layer(f, names[i], e, 1);
		lower[39 - i] = malloc(PATH_MAX);
		path(lower[39 - i], f, names[i]);
	}
	xmkdir(f, "root");
	path(root, f, "root");
	do_mount(f, (const char *const *)lower, 40, NULL, NULL, root);
	for (int i = 0; i < 40; i++) {
		assert_true(lexists(root, files[i]));
		free(lower[i]);
	}
}

/* Paths with ':' and ',' are escaped in the mount options. */
static void test_escaping(void **state)
{
	struct fx *f = *state;
	char l1[PATH_MAX], l2[PATH_MAX], up[PATH_MAX], work[PATH_MAX], root[PATH_MAX];
	const char *lower[] = {l2, l1};

	NEED_MOUNTS(f);
	make_layer(f, "l:1", layer1, ARRAY_SIZE(layer1));
	make_layer(f, "l,2\\x", layer2, ARRAY_SIZE(layer2));
	xmkdir(f, "up:per"), xmkdir(f, "wo,rk"), xmkdir(f, "root");
	path(l1, f, "l:1"), path(l2, f, "l,2\\x"), path(up, f, "up:per"), path(work, f, "wo,rk");
	path(root, f, "root");
	do_mount(f, lower, 2, up, work, root);
	assert_file(root, "bin/sh", "sh2");
	assert_file(root, "a/keep", "keep");
}

/* A full disk is an error naming the entry. */
static void test_disk_full(void **state)
{
	struct fx *f = *state;
	static char big[256 * 1024];
	const struct ent e[] = {{"small", "s"}, {"big", big}};
	char dir[PATH_MAX];
	cleanup_fd int fd = -1;

	NEED_MOUNTS(f);
	memset(big, 'b', sizeof(big) - 1);
	xmkdir(f, "tiny");
	path(dir, f, "tiny");
	assert_int_equal(mount("tmpfs", dir, "tmpfs", 0, "size=64k"), 0);
	snprintf(f->mounted[f->n_mounted++], PATH_MAX, "%s", dir);
	fd = build_tar(e, 2);
	assert_true(image_unpack_layer(fd, dir, NULL, NULL, &f->err) < 0);
	assert_non_null(strstr(f->err.msg, "layer entry \"big\": write: No space left on device"));
}

static void test_errors(void **state)
{
	struct fx *f = *state;
	const char *lower[] = {"/nonexistent-h14-a", "/nonexistent-h14-b"};
	char root[PATH_MAX];

	NEED_MOUNTS(f);
	xmkdir(f, "root");
	path(root, f, "root");
	assert_int_equal(image_snapshot_mount(lower, 0, NULL, NULL, root, &f->err), -EINVAL);
	assert_int_equal(image_snapshot_mount(lower, 2, root, NULL, root, &f->err), -EINVAL);
	assert_true(image_snapshot_mount(lower, 2, NULL, NULL, root, &f->err) < 0);
	assert_non_null(strstr(f->err.msg, root));
	assert_true(image_snapshot_mount(lower, 1, NULL, NULL, root, &f->err) < 0);
	assert_true(image_snapshot_umount(root, &f->err) < 0);
	assert_non_null(strstr(f->err.msg, "unmount"));
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(test_overlay_and_copy), T(test_read_only), T(test_many_layers),
	    T(test_escaping),	      T(test_disk_full), T(test_errors),
	};
#undef T

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
