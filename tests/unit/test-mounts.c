/* Unit tests for runtime/mounts.c: fd-based mounts made in a forked child's private mount
 * namespace under a mkdtemp directory. Needs root. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <setjmp.h>
#include <cmocka.h>

#include "runtime/mounts.h"
#include "util/cleanup.h"

#define EXIT_SKIP 77

/* In the child: the line of the first failed check is the exit status. */
#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			return __LINE__ % 250 + 1;                                                 \
	} while (0)

static int open_path(const char *base, const char *name)
{
	char p[256];

	snprintf(p, sizeof(p), "%s/%s", base, name);
	return open(p, O_PATH | O_CLOEXEC);
}

static int write_errno(const char *base, const char *name)
{
	char p[256];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", base, name);
	fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return errno;
	close(fd);
	return 0;
}

static bool is_shared(const char *mnt)
{
	cleanup_file FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[4096], want[300];

	snprintf(want, sizeof(want), " %s ", mnt);
	while (f && fgets(line, sizeof(line), f))
		if (strstr(line, want) && strstr(line, " shared:"))
			return true;
	return false;
}

static int child(const char *base)
{
	char dir[256], sub[256], src[256];
	struct error err = {0};
	struct statvfs sv;
	struct stat st;
	cleanup_fd int target = -1, mnt = -1, file = -1, bound = -1;

	snprintf(dir, sizeof(dir), "%s/dir", base);
	snprintf(sub, sizeof(sub), "%s/dir/sub", base);
	snprintf(src, sizeof(src), "%s/src", base);
	/* A new file system: data options, mount flags, no path of /proc involved. */
	target = open_path(base, "dir");
	mnt = mounts_new_fs("tmpfs", NULL, "size=1m,mode=0700", MS_NOSUID | MS_NODEV, &err);
	CHECK(mnt >= 0 && target >= 0);
	CHECK(mounts_attach(mnt, target, &err) == 0);
	CHECK(stat(dir, &st) == 0 && (st.st_mode & 07777) == 0700);
	CHECK(statvfs(dir, &sv) == 0 && (sv.f_flag & ST_NOSUID) && (sv.f_flag & ST_NODEV));
	CHECK(mkdir(sub, 0755) == 0);
	/* The detached mount's fd names the attached mount: flags and propagation on it. */
	CHECK(mounts_set_flags(mnt, MS_RDONLY, 0, false, &err) == 0);
	CHECK(write_errno(base, "dir/x") == EROFS);
	CHECK(mounts_set_flags(mnt, 0, MS_RDONLY, false, &err) == 0);
	CHECK(write_errno(base, "dir/x") == 0);
	CHECK(mounts_set_propagation(mnt, MS_SHARED, &err) == 0 && is_shared(dir));
	CHECK(mounts_set_propagation(mnt, MS_PRIVATE, &err) == 0 && !is_shared(dir));
	/* A read-only bind of a file onto a file; the fd names the new mount. */
	file = open_path(base, "file");
	bound = mounts_bind(AT_FDCWD, src, file, MS_RDONLY, 0, false, &err);
	CHECK(bound >= 0 && fstat(bound, &st) == 0 && st.st_size == 4);
	CHECK(write_errno(base, "file") == EROFS);
	/* Errors name what failed. */
	CHECK(mounts_new_fs("tmpfs", NULL, "nosuchoption=1", 0, &err) < 0);
	CHECK(strstr(err.msg, "tmpfs") && strstr(err.msg, "nosuchoption"));
	CHECK(mounts_new_fs("nosuchfs", NULL, NULL, 0, &err) == -ENODEV);
	CHECK(mounts_clone(AT_FDCWD, "/nonexistent/x", false, &err) == -ENOENT);
	return 0;
}

static void test_mounts(void **state)
{
	char base[] = "/tmp/vessel-test-mounts-XXXXXX", p[300];
	int status = 0, fd;
	pid_t pid;

	if (getuid() != 0)
		skip();
	assert_non_null(mkdtemp(base));
	snprintf(p, sizeof(p), "%s/dir", base);
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/file", base);
	close(open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
	snprintf(p, sizeof(p), "%s/src", base);
	fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	assert_int_equal(write(fd, "data", 4), 4);
	close(fd);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (unshare(CLONE_NEWNS) < 0)
			_exit(EXIT_SKIP);
		if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
			_exit(1);
		_exit(child(base));
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	snprintf(p, sizeof(p), "rm -rf '%s'", base);
	assert_int_equal(system(p), 0);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == EXIT_SKIP)
		skip();
	if (WEXITSTATUS(status) != 0)
		fail_msg("child failed near line %d (mod 250)", WEXITSTATUS(status) - 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_mounts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
