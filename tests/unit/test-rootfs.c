/* Unit tests for runtime/rootfs.c: a real rootfs built in a forked child's private mount
 * namespace, checked from inside after pivot_root and from the host afterwards. Needs root. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <sched.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <setjmp.h>
#include <cmocka.h>

#include "runtime/rootfs.h"
#include "util/cleanup.h"

#define S(x)		((char *)(x))
#define EXIT_SKIP	77
#define MQUEUE_FS_MAGIC 0x19800202 /* not in <linux/magic.h> */

struct fixture {
	char base[64];	  /* the "bundle" directory; the child chdir()s here */
	char outside[64]; /* a host directory that symlinks in the rootfs point at */
	char rootfs[128];
};

/* In the child: report the first failed check down the pipe. */
#define CHECK(w, cond)                                                                             \
	do {                                                                                       \
		if (!(cond))                                                                       \
			return report(w, __LINE__, #cond);                                         \
	} while (0)

static int report(int w, int line, const char *what)
{
	char buf[512];
	int n = snprintf(buf, sizeof(buf), "line %d: %s (errno: %s)", line, what, strerror(errno));

	if (write(w, buf, (size_t)n) < 0)
		return 1;
	return 1;
}

static void put(const char *base, const char *name, const char *data)
{
	char p[PATH_MAX];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", base, name);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, strlen(data)), (ssize_t)strlen(data));
	close(fd);
}

static void mk(const char *base, const char *name)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/%s", base, name);
	assert_int_equal(mkdir(p, 0755), 0);
}

static void link_to(const char *base, const char *name, const char *target)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/%s", base, name);
	assert_int_equal(symlink(target, p), 0);
}

static int host_lstat(const char *a, const char *b, struct stat *st)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/%s", a, b);
	return lstat(p, st);
}

/* Reads a whole small file (inside the child); returns the length or -1. */
static ssize_t slurp(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n >= 0)
		buf[n] = '\0';
	return n;
}

static int creat_errno(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);

	if (fd >= 0) {
		close(fd);
		return 0;
	}
	return errno;
}

/* Forks; the child enters private mount and UTS namespaces, chdir()s to the bundle and runs
 * fn. Returns fn's exit status; *msg gets what the child reported. */
static int run_child(int (*fn)(const struct fixture *, int), const struct fixture *fx, char *msg,
		     size_t size)
{
	int p[2], status = 0;
	ssize_t n;
	pid_t pid;

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		if (unshare(CLONE_NEWNS | CLONE_NEWUTS) < 0)
			_exit(errno == EPERM ? EXIT_SKIP : report(p[1], __LINE__, "unshare"));
		if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
			_exit(report(p[1], __LINE__, "make / private"));
		if (chdir(fx->base) < 0)
			_exit(report(p[1], __LINE__, "chdir"));
		_exit(fn(fx, p[1]));
	}
	close(p[1]);
	n = read(p[0], msg, size - 1);
	msg[n > 0 ? n : 0] = '\0';
	close(p[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	if (!fx)
		return -1;
	if (getuid() != 0) {
		*state = fx;
		return 0;
	}
	strcpy(fx->base, "/tmp/vessel-test-rootfs-XXXXXX");
	strcpy(fx->outside, "/tmp/vessel-test-rootfs-out-XXXXXX");
	if (!mkdtemp(fx->base) || !mkdtemp(fx->outside))
		return -1;
	snprintf(fx->rootfs, sizeof(fx->rootfs), "%s/rootfs", fx->base);
	mk(fx->base, "rootfs");
	mk(fx->rootfs, "etc");
	put(fx->rootfs, "etc/secret", "secret");
	put(fx->rootfs, "etc/other", "other");
	mk(fx->rootfs, "secretdir");
	put(fx->rootfs, "secretdir/x", "x");
	mk(fx->rootfs, "rw");
	mk(fx->base, "src");
	put(fx->base, "src/hello", "hello");
	put(fx->base, "hostfile", "hostfile");
	put(fx->outside, "fakenull", "fake");
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	char cmd[256];

	if (fx->base[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", fx->base, fx->outside);
		if (system(cmd) != 0)
			return -1;
	}
	free(fx);
	return 0;
}

static void skip_unless_root(void)
{
	if (getuid() != 0)
		skip();
}

static const char *mask_list[] = {"/etc/secret", "/secretdir", "/nonexistent", NULL};
static const char *ro_list[] = {"/rw", "/missing", NULL};

/* Checks inside the container after rootfs_finalize. */
static int check_inside(int w)
{
	struct stat st;
	struct statfs sf;
	char buf[64];

	CHECK(w, statfs("/proc", &sf) == 0 && sf.f_type == PROC_SUPER_MAGIC);
	CHECK(w, statfs("/sys", &sf) == 0 && sf.f_type == SYSFS_MAGIC);
	CHECK(w, stat("/dev/null", &st) == 0 && S_ISCHR(st.st_mode));
	CHECK(w, st.st_rdev == makedev(1, 3) && (st.st_mode & 07777) == 0666);
	CHECK(w, stat("/dev/tty", &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(5, 0));
	CHECK(w, stat("/dev/urandom", &st) == 0 && st.st_rdev == makedev(1, 9));
	CHECK(w, stat("/dev/custom/mydev", &st) == 0 && st.st_rdev == makedev(1, 7));
	CHECK(w, (st.st_mode & 07777) == 0600 && st.st_uid == 1000 && st.st_gid == 1001);
	CHECK(w,
	      readlink("/dev/fd", buf, sizeof(buf)) == 13 && memcmp(buf, "/proc/self/fd", 13) == 0);
	CHECK(w, readlink("/dev/ptmx", buf, sizeof(buf)) == 8 && memcmp(buf, "pts/ptmx", 8) == 0);
	CHECK(w, slurp("/etc/secret", buf, sizeof(buf)) == 0);
	CHECK(w, slurp("/etc/other", buf, sizeof(buf)) == 5);
	CHECK(w, access("/secretdir/x", F_OK) < 0 && errno == ENOENT);
	CHECK(w, creat_errno("/rw/f") == EROFS);
	CHECK(w, creat_errno("/data/x") == EROFS);
	CHECK(w, slurp("/data/hello", buf, sizeof(buf)) == 5 && strcmp(buf, "hello") == 0);
	CHECK(w, slurp("/etc/bound", buf, sizeof(buf)) == 8 && strcmp(buf, "hostfile") == 0);
	CHECK(w, gethostname(buf, sizeof(buf)) == 0 && strcmp(buf, "vessel-test") == 0);
	CHECK(w, statfs("/link_abs", &sf) == 0 && sf.f_type == TMPFS_MAGIC);
	CHECK(w, statfs("/link_up/sub", &sf) == 0 && sf.f_type == TMPFS_MAGIC);
	CHECK(w, statfs("/dev/mqueue", &sf) == 0 && sf.f_type == MQUEUE_FS_MAGIC);
	CHECK(w, creat_errno("/etc/newfile") == 0); /* the root itself is still writable */
	return 0;
}

/* The host's cgroup tree is bound read-only, nested hierarchies included (checked with
 * statvfs only: never write to the host's cgroups). */
static int check_cgroup(int w)
{
	cleanup_dir DIR *d = opendir("/sys/fs/cgroup");
	struct statvfs sv;
	struct dirent *e;

	CHECK(w, d != NULL);
	CHECK(w, statvfs("/sys/fs/cgroup", &sv) == 0 && (sv.f_flag & ST_RDONLY));
	while ((e = readdir(d))) {
		char p[PATH_MAX];

		if (e->d_name[0] == '.' || e->d_type != DT_DIR)
			continue;
		snprintf(p, sizeof(p), "/sys/fs/cgroup/%s", e->d_name);
		CHECK(w, statvfs(p, &sv) == 0 && (sv.f_flag & ST_RDONLY));
	}
	return 0;
}

static int check_refusals(int w, struct rootfs *rfs)
{
	struct spec ro_root = {.root_readonly = true};
	struct spec_kv bad_kv[] = {{S("../../etc/x"), S("1")}, {S("kernel/hostname"), S("x")}};
	struct spec bad = {.sysctl = bad_kv, .n_sysctl = 1};
	struct error err = {0};

	CHECK(w, rootfs_finalize(rfs, &bad, &err) == -EINVAL && strstr(err.msg, "../../etc/x"));
	bad.sysctl = &bad_kv[1];
	CHECK(w, rootfs_finalize(rfs, &bad, &err) == -EINVAL);
	CHECK(w, rootfs_finalize(rfs, &ro_root, &err) == 0);
	CHECK(w, creat_errno("/newfile") == EROFS);
	return 0;
}

static int child_full(const struct fixture *fx, int w)
{
	struct spec_mount mounts[] = {
	    {S("/proc"), S("proc"), S("proc"), MS_NOSUID | MS_NOEXEC | MS_NODEV, 0, 0, 0, S("")},
	    {S("/dev"), S("tmpfs"), S("tmpfs"), MS_NOSUID, 0, 0, 0, S("mode=755")},
	    {S("/dev/pts"), S("devpts"), S("devpts"), MS_NOSUID | MS_NOEXEC, 0, 0, 0,
	     S("newinstance,ptmxmode=0666,mode=0620")},
	    {S("/dev/mqueue"), S("mqueue"), S("mqueue"), MS_NOSUID, 0, 0, 0, S("")},
	    {S("/sys"), S("sysfs"), S("sysfs"), MS_RDONLY | MS_NOSUID, 0, 0, 0, S("")},
	    {S("/sys/fs/cgroup"), S("cgroup"), S("cgroup"), MS_RDONLY, 0, 0, 0, S("")},
	    {S("/data"), S("bind"), S("src"), MS_RDONLY | MS_NODEV, 0, 0, SPEC_MOUNT_BIND, S("")},
	    {S("/rootlink/etc/bound"), S("bind"), S(""), 0, 0, 0, SPEC_MOUNT_BIND, S("")},
	    {S("/link_abs"), S("tmpfs"), S("tmpfs"), 0, 0, 0, 0, S("")},
	    {S("/link_up/sub"), S("tmpfs"), S("tmpfs"), 0, 0, 0, 0, S("")},
	};
	struct spec_device devs[] = {
	    {.path = S("/dev/custom/mydev"),
	     .type = 'c',
	     .major = 1,
	     .minor = 7,
	     .has_mode = true,
	     .file_mode = 0600,
	     .has_uid = true,
	     .uid = 1000,
	     .has_gid = true,
	     .gid = 1001},
	};
	struct spec_kv sysctl[] = {{S("kernel.hostname"), S("vessel-test")}};
	char hostfile[PATH_MAX];
	struct spec spec = {
	    .mounts = mounts,
	    .n_mounts = ARRAY_SIZE(mounts),
	    .devices = devs,
	    .n_devices = ARRAY_SIZE(devs),
	    .sysctl = sysctl,
	    .n_sysctl = ARRAY_SIZE(sysctl),
	    .masked_paths = (char **)mask_list,
	    .readonly_paths = (char **)ro_list,
	};
	struct error err = {0};
	cleanup(rootfs_free) struct rootfs *rfs = NULL;
	int r;

	snprintf(hostfile, sizeof(hostfile), "%s/hostfile", fx->base);
	mounts[7].source = hostfile;
	r = rootfs_prepare(&spec, fx->rootfs, &rfs, &err);
	CHECK(w, r == 0 || !report(w, 0, err.msg));
	CHECK(w, rootfs_pivot(fx->rootfs, &err) == 0 || !report(w, 0, err.msg));
	CHECK(w, access(hostfile, F_OK) < 0); /* the old root is gone */
	CHECK(w, rootfs_finalize(rfs, &spec, &err) == 0 || !report(w, 0, err.msg));
	if (check_inside(w) || check_cgroup(w))
		return 1;
	return check_refusals(w, rfs);
}

static void test_full(void **state)
{
	struct fixture *fx = *state;
	char msg[1024], target[PATH_MAX];
	struct stat st;
	int r;

	skip_unless_root();
	link_to(fx->rootfs, "rootlink", "/");
	snprintf(target, sizeof(target), "%s/t", fx->outside);
	link_to(fx->rootfs, "link_abs", target);
	snprintf(target, sizeof(target), "../../../../../../../..%s", fx->outside);
	link_to(fx->rootfs, "link_up", target);
	r = run_child(child_full, fx, msg, sizeof(msg));
	if (r == EXIT_SKIP)
		skip();
	if (r != 0)
		fail_msg("child: %s", msg);
	/* Nothing was created through the symlinks on the host ... */
	assert_int_equal(host_lstat(fx->outside, "t", &st), -1);
	assert_int_equal(host_lstat(fx->outside, "sub", &st), -1);
	/* ... but inside the rootfs. */
	snprintf(target, sizeof(target), "%s%s", fx->rootfs, fx->outside);
	assert_int_equal(host_lstat(target, "t", &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(host_lstat(target, "sub", &st), 0);
	assert_int_equal(host_lstat(fx->rootfs, "etc/bound", &st), 0);
	assert_true(S_ISREG(st.st_mode));
}

static int child_symlinked_dev_null(const struct fixture *fx, int w)
{
	struct spec_mount mounts[] = {
	    {S("/proc"), S("proc"), S("proc"), 0, 0, 0, 0, S("")},
	};
	struct spec spec = {.mounts = mounts, .n_mounts = 1};
	struct error err = {0};
	cleanup(rootfs_free) struct rootfs *rfs = NULL;

	CHECK(w, rootfs_prepare(&spec, fx->rootfs, &rfs, &err) == -ELOOP);
	CHECK(w, strstr(err.msg, "/dev/null") != NULL);
	return 0;
}

/* A /dev/null symlink in the image is neither followed nor replaced by rootfs_prepare. */
static void test_dev_null_symlink_prepare(void **state)
{
	struct fixture *fx = *state;
	char msg[1024], target[PATH_MAX];
	struct stat st;
	int r;

	skip_unless_root();
	mk(fx->rootfs, "dev");
	snprintf(target, sizeof(target), "%s/fakenull", fx->outside);
	link_to(fx->rootfs, "dev/null", target);
	r = run_child(child_symlinked_dev_null, fx, msg, sizeof(msg));
	if (r == EXIT_SKIP)
		skip();
	if (r != 0)
		fail_msg("child: %s", msg);
	assert_int_equal(host_lstat(fx->outside, "fakenull", &st), 0);
	assert_true(S_ISREG(st.st_mode) && st.st_size == 4);
	assert_int_equal(host_lstat(fx->rootfs, "dev/null", &st), 0);
	assert_true(S_ISLNK(st.st_mode));
}

static int child_mask_with_fake_null(const struct fixture *fx, int w)
{
	struct spec_mount mounts[] = {
	    {S("/proc"), S("proc"), S("proc"), 0, 0, 0, 0, S("")},
	    {S("/dev"), S("bind"), S("devsrc"), 0, 0, 0, SPEC_MOUNT_BIND | SPEC_MOUNT_RECURSIVE,
	     S("")},
	};
	const char *masked[] = {"/etc/secret", NULL};
	struct spec spec = {.mounts = mounts, .n_mounts = 2, .masked_paths = (char **)masked};
	struct error err = {0};
	cleanup(rootfs_free) struct rootfs *rfs = NULL;
	char buf[64];

	CHECK(w, rootfs_prepare(&spec, fx->rootfs, &rfs, &err) == 0 || !report(w, 0, err.msg));
	CHECK(w, rootfs_pivot(fx->rootfs, &err) == 0 || !report(w, 0, err.msg));
	CHECK(w, rootfs_finalize(rfs, &spec, &err) == -EPERM);
	CHECK(w, strstr(err.msg, "/dev/null") && strstr(err.msg, "/etc/secret"));
	CHECK(w, slurp("/etc/secret", buf, sizeof(buf)) == 6 && strcmp(buf, "secret") == 0);
	return 0;
}

/* maskedPaths refuses a /dev/null that is a symlink (CVE-2025-31133), even to a null device. */
static void test_dev_null_symlink_mask(void **state)
{
	struct fixture *fx = *state;
	char msg[1024];
	int r;
	char node[PATH_MAX];

	skip_unless_root();
	/* The symlink leads to a genuine null device: only the symlink itself is wrong. */
	snprintf(node, sizeof(node), "%s/realnull", fx->rootfs);
	assert_int_equal(mknod(node, S_IFCHR | 0666, makedev(1, 3)), 0);
	mk(fx->base, "devsrc");
	link_to(fx->base, "devsrc/null", "/realnull");
	r = run_child(child_mask_with_fake_null, fx, msg, sizeof(msg));
	if (r == EXIT_SKIP)
		skip();
	if (r != 0)
		fail_msg("child: %s", msg);
}

static int child_shared(const struct fixture *fx, int w)
{
	struct spec_mount mounts[] = {
	    {S("/proc"), S("proc"), S("proc"), 0, 0, 0, 0, S("")},
	    {S("/shared"), S("tmpfs"), S("tmpfs"), 0, 0, MS_SHARED, 0, S("")},
	};
	struct spec spec = {.mounts = mounts, .n_mounts = 2, .rootfs_propagation = MS_SHARED};
	struct error err = {0};
	cleanup(rootfs_free) struct rootfs *rfs = NULL;
	cleanup_file FILE *f = NULL;
	char line[4096];
	int shared = 0;

	CHECK(w, rootfs_prepare(&spec, fx->rootfs, &rfs, &err) == 0 || !report(w, 0, err.msg));
	CHECK(w, rootfs_pivot(fx->rootfs, &err) == 0 || !report(w, 0, err.msg));
	f = fopen("/proc/self/mountinfo", "re");
	CHECK(w, f != NULL);
	while (fgets(line, sizeof(line), f))
		if (strstr(line, " /shared ") && strstr(line, " shared:"))
			shared = 1;
	CHECK(w, shared);
	return 0;
}

/* rootfsPropagation "shared" still pivots (the rootfs' parent mount is made private), and a
 * mount's own propagation is applied. */
static void test_shared_propagation(void **state)
{
	char msg[1024];
	int r;

	skip_unless_root();
	r = run_child(child_shared, *state, msg, sizeof(msg));
	if (r == EXIT_SKIP)
		skip();
	if (r != 0)
		fail_msg("child: %s", msg);
}

static int child_proc_covered(const struct fixture *fx, int w)
{
	struct spec_mount mounts[] = {
	    {S("/proc"), S("proc"), S("proc"), 0, 0, 0, 0, S("")},
	    {S("/proc"), S("tmpfs"), S("tmpfs"), 0, 0, 0, 0, S("")},
	};
	struct spec_kv sysctl[] = {{S("kernel.hostname"), S("through-procfs")}};
	struct spec spec = {.mounts = mounts, .n_mounts = 2, .sysctl = sysctl, .n_sysctl = 1};
	struct error err = {0};
	cleanup(rootfs_free) struct rootfs *rfs = NULL;
	char buf[64];

	CHECK(w, rootfs_prepare(&spec, fx->rootfs, &rfs, &err) == 0 || !report(w, 0, err.msg));
	CHECK(w, rootfs_pivot(fx->rootfs, &err) == 0 || !report(w, 0, err.msg));
	CHECK(w, rootfs_finalize(rfs, &spec, &err) == -EPERM);
	CHECK(w, strstr(err.msg, "mount /proc: not procfs (covered or replaced)") != NULL);
	/* The sysctl went to the procfs made in prepare, not into the tmpfs now on /proc. */
	CHECK(w, gethostname(buf, sizeof(buf)) == 0 && strcmp(buf, "through-procfs") == 0);
	CHECK(w, access("/proc/sys", F_OK) < 0 && errno == ENOENT);
	return 0;
}

/* A mount covering /proc after procfs (CVE-2023-27561) is refused at finalize; sysctls are
 * written through the procfs mount itself. */
static void test_proc_covered(void **state)
{
	char msg[1024];
	int r;

	skip_unless_root();
	r = run_child(child_proc_covered, *state, msg, sizeof(msg));
	if (r == EXIT_SKIP)
		skip();
	if (r != 0)
		fail_msg("child: %s", msg);
}

static int child_proc_symlink(const struct fixture *fx, int w)
{
	struct spec_mount mounts[] = {
	    {S("/proc"), S("proc"), S("proc"), 0, 0, 0, 0, S("")},
	};
	struct spec spec = {.mounts = mounts, .n_mounts = 1};
	struct error err = {0};
	cleanup(rootfs_free) struct rootfs *rfs = NULL;

	CHECK(w, rootfs_prepare(&spec, fx->rootfs, &rfs, &err) == -EPERM);
	CHECK(w, strstr(err.msg, "mount /proc: not procfs") != NULL);
	return 0;
}

/* An image whose /proc is a symlink (CVE-2019-16884) is refused, as runc does. */
static void test_proc_symlink(void **state)
{
	struct fixture *fx = *state;
	char msg[1024];
	int r;

	skip_unless_root();
	mk(fx->rootfs, "evil");
	link_to(fx->rootfs, "proc", "/evil");
	r = run_child(child_proc_symlink, fx, msg, sizeof(msg));
	if (r == EXIT_SKIP)
		skip();
	if (r != 0)
		fail_msg("child: %s", msg);
}

/* The child's mounts died with its namespace: none is left on the host. */
static void test_no_leftover_mounts(void **state)
{
	struct fixture *fx = *state;
	cleanup_file FILE *f = NULL;
	char line[4096];

	skip_unless_root();
	f = fopen("/proc/self/mountinfo", "re");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		assert_null(strstr(line, "vessel-test-rootfs"));
	(void)fx;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_full, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_dev_null_symlink_prepare, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_dev_null_symlink_mask, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_shared_propagation, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_proc_covered, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_proc_symlink, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_no_leftover_mounts, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
