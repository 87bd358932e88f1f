/* Unit tests for vmm/cpio.c: archives read back by a strict newc reader (cpio-read.h) and, where
 * Debian's cpio is installed, by `cpio -t` too. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "cpio-read.h"
#include "util/cleanup.h"
#include "util/fd.h"
#include "vmm/cpio.h"

static const char hello[] = "hello, initramfs\n"; /* 17 bytes: the data needs padding */

/* A memfd holding the test archive (with several alignments of names and data). */
static int write_sample(int fd, const char *host_file)
{
	struct error err = {0};
	struct cpio c;

	cpio_init(&c, fd);
	assert_int_equal(cpio_add_dir(&c, "/bin", 0755, &err), 0);
	assert_int_equal(cpio_add_file(&c, "bin/hello", 0644, hello, strlen(hello), &err), 0);
	assert_int_equal(cpio_add_symlink(&c, "bin/sh", "busybox", &err), 0);
	assert_int_equal(cpio_add_dir(&c, "tmp", 01777, &err), 0);
	assert_int_equal(cpio_add_file(&c, "empty", 0600, "", 0, &err), 0);
	if (host_file)
		assert_int_equal(cpio_add_file_from(&c, "bin/copy", 0755, host_file, &err), 0);
	assert_int_equal(cpio_finish(&c, &err), 0);
	return 0;
}

static uint8_t *slurp(int fd, size_t *len)
{
	struct stat st;

	assert_int_equal(fstat(fd, &st), 0);
	uint8_t *buf = malloc((size_t)st.st_size + 1);
	assert_non_null(buf);
	assert_int_equal(pread(fd, buf, (size_t)st.st_size, 0), st.st_size);
	*len = (size_t)st.st_size;
	return buf;
}

static void test_members(void **state)
{
	cleanup_fd int fd = memfd_create("cpio", MFD_CLOEXEC);
	struct cpio_list l;
	size_t len;

	write_sample(fd, NULL);
	cleanup_free uint8_t *buf = slurp(fd, &len);
	assert_int_equal(len % 4, 0);
	assert_int_equal(cpio_read_all(buf, len, &l), 0);
	assert_int_equal(l.trailers, 1);
	assert_int_equal(l.n, 5);
	const char *names[] = {"bin", "bin/hello", "bin/sh", "tmp", "empty"};
	const unsigned modes[] = {040755, 0100644, 0120777, 041777, 0100600};
	for (size_t i = 0; i < l.n; i++) {
		assert_string_equal(l.v[i].name, names[i]);
		assert_int_equal(l.v[i].mode, modes[i]);
		assert_int_equal(l.v[i].uid, 0);
		assert_int_equal(l.v[i].gid, 0);
		assert_int_equal(l.v[i].mtime, 0);
		assert_int_equal(l.v[i].ino, i + 1);
		assert_int_equal(l.v[i].header_offset % 4, 0);
		assert_int_equal(l.v[i].data_offset % 4, 0);
	}
	assert_int_equal(l.v[1].size, strlen(hello));
	assert_memory_equal(l.v[1].data, hello, strlen(hello));
	assert_int_equal(l.v[2].size, 7);
	assert_memory_equal(l.v[2].data, "busybox", 7);
	assert_int_equal(l.v[4].size, 0);
	/* The trailer closes the archive: its 110-byte header and the name "TRAILER!!!\0". */
	assert_memory_equal(buf + len - 124, "070701", 6);
	assert_memory_equal(buf + len - 124 + 110, "TRAILER!!!", 11);
	free(l.v);
}

static void test_deterministic(void **state)
{
	cleanup_fd int a = memfd_create("a", MFD_CLOEXEC);
	cleanup_fd int b = memfd_create("b", MFD_CLOEXEC);
	size_t la, lb;

	write_sample(a, NULL);
	write_sample(b, NULL);
	cleanup_free uint8_t *ba = slurp(a, &la);
	cleanup_free uint8_t *bb = slurp(b, &lb);
	assert_int_equal(la, lb);
	assert_memory_equal(ba, bb, la);
}

static void test_file_from_host(void **state)
{
	char path[] = "/tmp/test-cpio-XXXXXX";
	cleanup_fd int src = mkostemp(path, O_CLOEXEC);
	cleanup_fd int fd = memfd_create("cpio", MFD_CLOEXEC);
	uint8_t data[5001];
	struct cpio_list l;
	size_t len;

	assert_true(src >= 0);
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7);
	assert_int_equal(fd_write_all(src, data, sizeof(data)), 0);
	write_sample(fd, path);
	unlink(path);
	cleanup_free uint8_t *buf = slurp(fd, &len);
	assert_int_equal(cpio_read_all(buf, len, &l), 0);
	const struct cpio_entry *e = cpio_find(&l, "bin/copy");
	assert_non_null(e);
	assert_int_equal(e->mode, 0100755);
	assert_int_equal(e->size, sizeof(data));
	assert_memory_equal(e->data, data, sizeof(data));
	free(l.v);
}

/* Two archives one after the other (the base initramfs and the per-run command) list the
 * members of both. */
static void test_concatenated(void **state)
{
	cleanup_fd int fd = memfd_create("cpio", MFD_CLOEXEC);
	struct error err = {0};
	struct cpio_list l;
	struct cpio c;
	size_t len;

	write_sample(fd, NULL);
	cpio_init(&c, fd);
	assert_int_equal(cpio_add_dir(&c, "vessel", 0755, &err), 0);
	assert_int_equal(cpio_add_file(&c, "vessel/cmd", 0644, "echo\0hi\0", 8, &err), 0);
	assert_int_equal(cpio_finish(&c, &err), 0);
	cleanup_free uint8_t *buf = slurp(fd, &len);
	assert_int_equal(cpio_read_all(buf, len, &l), 0);
	assert_int_equal(l.trailers, 2);
	assert_int_equal(l.n, 7);
	assert_non_null(cpio_find(&l, "bin/hello"));
	assert_non_null(cpio_find(&l, "vessel/cmd"));
	assert_memory_equal(cpio_find(&l, "vessel/cmd")->data, "echo\0hi\0", 8);
	free(l.v);
}

static void test_bad_names(void **state)
{
	cleanup_fd int fd = memfd_create("cpio", MFD_CLOEXEC);
	char long_name[CPIO_NAME_MAX + 2];
	struct error err = {0};
	struct cpio c;

	cpio_init(&c, fd);
	assert_int_equal(cpio_add_dir(&c, "/", 0755, &err), -EINVAL);
	assert_int_equal(cpio_add_file(&c, "", 0644, "", 0, &err), -EINVAL);
	memset(long_name, 'a', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	assert_int_equal(cpio_add_dir(&c, long_name, 0755, &err), -EINVAL);
	assert_int_equal(cpio_add_symlink(&c, "x", "", &err), -EINVAL);
	assert_int_equal(cpio_add_file_from(&c, "x", 0644, "/nonexistent/x", &err), -ENOENT);
	assert_non_null(strstr(err.msg, "/nonexistent/x"));
	assert_int_equal(cpio_add_file_from(&c, "x", 0644, "/tmp", &err), -EINVAL);
	assert_non_null(strstr(err.msg, "not a regular file"));
}

/* GNU cpio, where installed, agrees with the reader above. */
static void test_gnu_cpio_lists(void **state)
{
	char path[] = "/tmp/test-cpio-XXXXXX", cmd[256], out[1024] = "";
	cleanup_fd int fd = -1;
	FILE *p;
	size_t n;

	if (access("/usr/bin/cpio", X_OK) != 0) {
		fprintf(stderr, "skip: /usr/bin/cpio is not installed (Debian package cpio)\n");
		skip();
	}
	fd = mkostemp(path, O_CLOEXEC);
	assert_true(fd >= 0);
	write_sample(fd, NULL);
	snprintf(cmd, sizeof(cmd), "/usr/bin/cpio -it --quiet < %s 2>&1", path);
	p = popen(cmd, "r");
	assert_non_null(p);
	n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	assert_int_equal(pclose(p), 0);
	unlink(path);
	assert_string_equal(out, "bin\nbin/hello\nbin/sh\ntmp\nempty\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_members),	   cmocka_unit_test(test_deterministic),
	    cmocka_unit_test(test_file_from_host), cmocka_unit_test(test_concatenated),
	    cmocka_unit_test(test_bad_names),	   cmocka_unit_test(test_gnu_cpio_lists),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
