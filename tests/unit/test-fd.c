/* Unit tests for util/fd.c */
#include <errno.h>
#include <fcntl.h>
#include <seccomp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "util/cleanup.h"
#include "util/fd.h"

static void test_send_recv(void **state)
{
	struct error err = {0};
	int sv[2], p[2];
	char buf[8] = "";

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_int_equal(fd_send(sv[0], p[1], &err), 0);
	int fd = fd_recv(sv[1], &err);
	assert_true(fd >= 0);
	assert_int_not_equal(fd, p[1]);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(fd_write_all(fd, "ping", 4), 0);
	assert_int_equal(fd_read_exact(p[0], buf, 4), 0);
	assert_string_equal(buf, "ping");
	close(fd);
	close(p[1]);
	/* early EOF */
	assert_int_equal(fd_read_exact(p[0], buf, 1), -EPIPE);
	close(p[0]);
	/* peer closed: no fd */
	close(sv[0]);
	assert_int_equal(fd_recv(sv[1], &err), -EPIPE);
	assert_non_null(strstr(err.msg, "receive fd"));
	close(sv[1]);
}

static void test_recv_without_fd(void **state)
{
	struct error err = {0};
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(write(sv[0], "x", 1), 1);
	assert_int_equal(fd_recv(sv[1], &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "no file descriptor"));
	close(sv[0]);
	close(sv[1]);
}

static int cloexec_of(int fd)
{
	int flags = fcntl(fd, F_GETFD);
	return flags < 0 ? -1 : !!(flags & FD_CLOEXEC);
}

#define CHECK(x)                                                                                   \
	do {                                                                                       \
		if (!(x))                                                                          \
			return __LINE__;                                                           \
	} while (0)

/* Returns 0, or the failing line (usable in a forked child, where cmocka cannot assert). */
static int cloexec_case(void)
{
	struct error err = {0};
	cleanup_fd int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	int r;

	CHECK(devnull >= 0);
	/* dup2 gives fds without FD_CLOEXEC */
	CHECK(dup2(devnull, 150) == 150);
	CHECK(dup2(devnull, 200) == 200);
	CHECK(dup2(devnull, 201) == 201);
	CHECK(cloexec_of(150) == 0);
	CHECK(cloexec_of(200) == 0);
	r = fd_cloexec_from(200, &err);
	CHECK(r == 0);
	CHECK(cloexec_of(150) == 0);
	CHECK(cloexec_of(200) == 1);
	CHECK(cloexec_of(201) == 1);
	close(150);
	close(200);
	close(201);
	CHECK(fd_cloexec_from(-1, &err) == -EINVAL);
	return 0;
}

static void test_cloexec_from(void **state)
{
	assert_int_equal(cloexec_case(), 0);
}

/* The /proc/self/fd fallback, with close_range() made to fail with ENOSYS by seccomp. */
static void test_cloexec_from_fallback(void **state)
{
	pid_t pid = fork();
	int status;

	assert_true(pid >= 0);
	if (pid == 0) {
		scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
		if (!ctx ||
		    seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(close_range), 0) < 0 ||
		    seccomp_load(ctx) < 0)
			_exit(77);
		seccomp_release(ctx);
		if (close_range(200, ~0U, 0) == 0 || errno != ENOSYS)
			_exit(77);
		_exit(cloexec_case() ? 1 : 0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == 77)
		skip();
	assert_int_equal(WEXITSTATUS(status), 0);
}

static char *make_tmpdir(void)
{
	char *dir = strdup("/tmp/vessel-test-fd-XXXXXX");
	assert_non_null(dir);
	assert_non_null(mkdtemp(dir));
	return dir;
}

static void test_read_file(void **state)
{
	cleanup_free char *dir = make_tmpdir();
	struct error err = {0};
	char path[256];
	char *data = NULL;
	size_t len = 99;

	snprintf(path, sizeof(path), "%s/f", dir);
	cleanup_fd int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(fd_write_all(fd, "0123456789", 10), 0);

	assert_int_equal(fd_read_file(path, 10, &data, &len, &err), 0);
	assert_int_equal(len, 10);
	assert_string_equal(data, "0123456789");
	free(data);
	data = NULL;

	assert_int_equal(fd_read_file(path, 9, &data, &len, &err), -EFBIG);
	assert_null(data);
	assert_non_null(strstr(err.msg, path));

	/* a file whose stat size is 0 but has content: the read loop enforces max */
	assert_int_equal(fd_read_file("/proc/self/status", 16, &data, &len, &err), -EFBIG);
	assert_null(data);
	assert_non_null(strstr(err.msg, "/proc/self/status"));
	assert_int_equal(fd_read_file("/proc/self/status", 1 << 20, &data, &len, &err), 0);
	assert_int_equal(strlen(data), len);
	assert_non_null(strstr(data, "Pid:"));
	free(data);
	data = NULL;

	/* empty file */
	assert_int_equal(ftruncate(fd, 0), 0);
	assert_int_equal(fd_read_file(path, 0, &data, &len, &err), 0);
	assert_int_equal(len, 0);
	assert_string_equal(data, "");
	free(data);
	data = NULL;

	snprintf(path, sizeof(path), "%s/missing", dir);
	assert_int_equal(fd_read_file(path, 10, &data, &len, &err), -ENOENT);
	assert_non_null(strstr(err.msg, path));
	assert_int_equal(fd_read_file(dir, 10, &data, &len, &err), -EISDIR);

	snprintf(path, sizeof(path), "%s/f", dir);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(dir), 0);
}

static int count_entries(const char *dir)
{
	cleanup_dir DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	return n;
}

static void test_write_file_atomic(void **state)
{
	cleanup_free char *dir = make_tmpdir();
	struct error err = {0};
	char path[256];
	char *data = NULL;
	struct stat st;

	cleanup_fd int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(dfd >= 0);
	snprintf(path, sizeof(path), "%s/state.json", dir);

	assert_int_equal(fd_write_file_atomic(dfd, "state.json", "{\"a\":1}", 7, &err), 0);
	assert_int_equal(fd_read_file(path, 100, &data, NULL, &err), 0);
	assert_string_equal(data, "{\"a\":1}");
	free(data);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);

	assert_int_equal(fd_write_file_atomic(dfd, "state.json", "{}", 2, &err), 0);
	assert_int_equal(fd_read_file(path, 100, &data, NULL, &err), 0);
	assert_string_equal(data, "{}");
	free(data);
	assert_int_equal(count_entries(dir), 1);

	/* rename over a non-empty directory fails: the temp file must be gone */
	assert_int_equal(mkdirat(dfd, "busy", 0700), 0);
	assert_int_equal(mkdirat(dfd, "busy/x", 0700), 0);
	assert_true(fd_write_file_atomic(dfd, "busy", "zz", 2, &err) < 0);
	assert_non_null(strstr(err.msg, "busy"));
	assert_int_equal(count_entries(dir), 2);

	assert_int_equal(unlinkat(dfd, "busy/x", AT_REMOVEDIR), 0);
	assert_int_equal(unlinkat(dfd, "busy", AT_REMOVEDIR), 0);
	assert_int_equal(unlinkat(dfd, "state.json", 0), 0);
	assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_send_recv),	 cmocka_unit_test(test_recv_without_fd),
	    cmocka_unit_test(test_cloexec_from), cmocka_unit_test(test_cloexec_from_fallback),
	    cmocka_unit_test(test_read_file),	 cmocka_unit_test(test_write_file_atomic),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
