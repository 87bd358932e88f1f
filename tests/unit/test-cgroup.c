/* Unit tests for runtime/cgroup.c, cgroup-v1.c and cgroup-v2.c.
 *
 * Most tests run against plain directory trees under /tmp shaped like /sys/fs/cgroup (the backend
 * forced with cgroup_create_backend). One test uses this machine's real cgroup v1 hierarchies, only
 * as root and only under a /vessel-test-<pid> cgroup that it creates and removes.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/magic.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "runtime/cgroup-internal.h"
#include "runtime/cgroup.h"
#include "util/cleanup.h"

static const char *const v1_hiers[] = {"cpu",	  "cpuacct", "cpuset", "devices",
				       "freezer", "memory",  "pids"};

struct fixture {
	char root[64];
	pid_t child;
	char real_top[64]; /* real test: "/vessel-test-<pid>" */
};

static char *pathf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *pathf(const char *fmt, ...)
{
	static char bufs[4][4096];
	static int next;
	char *b = bufs[next++ % 4];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(b, sizeof(bufs[0]), fmt, ap);
	va_end(ap);
	return b;
}

static void put(const char *path, const char *content)
{
	FILE *f = fopen(path, "we");

	assert_non_null(f);
	fputs(content, f);
	assert_int_equal(fclose(f), 0);
}

static char *get(const char *path)
{
	static char buf[4096];
	FILE *f = fopen(path, "re");
	size_t n;

	if (!f)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static bool is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static void mkdirs(const char *root, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		assert_int_equal(mkdir(pathf("%s/%s", root, names[i]), 0755), 0);
}

/* The fake control files a test wrote: a real cgroupfs removes them with the directory. */
static void unlink_files(const char *dir)
{
	cleanup_dir DIR *d = opendir(dir);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d))) {
		if (de->d_type == DT_REG)
			unlinkat(dirfd(d), de->d_name, 0);
	}
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path) < 0 ? -1 : 0;
}

static int setup_v1(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->root, sizeof(f->root), "/tmp/vessel-cg1-XXXXXX");
	assert_non_null(mkdtemp(f->root));
	mkdirs(f->root, v1_hiers, ARRAY_SIZE(v1_hiers));
	assert_int_equal(mkdir(pathf("%s/unified", f->root), 0755), 0);
	put(pathf("%s/cpuset/cpuset.cpus", f->root), "0-1\n");
	put(pathf("%s/cpuset/cpuset.mems", f->root), "0\n");
	put(pathf("%s/README", f->root), "not a hierarchy\n");
	*state = f;
	return 0;
}

static int setup_v2(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->root, sizeof(f->root), "/tmp/vessel-cg2-XXXXXX");
	assert_non_null(mkdtemp(f->root));
	put(pathf("%s/cgroup.controllers", f->root), "cpu memory pids\n");
	put(pathf("%s/cgroup.subtree_control", f->root), "");
	*state = f;
	return 0;
}

static int teardown_tree(void **state)
{
	struct fixture *f = *state;

	if (f->child > 0) {
		kill(f->child, SIGKILL);
		waitpid(f->child, NULL, 0);
	}
	nftw(f->root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static pid_t spawn_sleeper(void)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		for (;;)
			pause();
	}
	return pid;
}

static struct spec_resources unset_resources(void)
{
	return (struct spec_resources){
	    .memory_limit = -1,
	    .memory_reservation = -1,
	    .memory_swap = -1,
	    .cpu_shares = -1,
	    .cpu_quota = -1,
	    .cpu_period = -1,
	    .cpu_realtime_runtime = -1,
	    .cpu_realtime_period = -1,
	    .pids_limit = -1,
	    .blkio_weight = -1,
	};
}

static void test_bad_paths(void **state)
{
	struct fixture *f = *state;
	static const char *const bad[] = {"../x",    "a/../../b", "",	   "/",
					  "/a/../b", "/..",	  "/a//b", "/a/",
					  "/a/./b",  "relative",  "/a\nb"};
	struct error err = {0};

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		assert_null(cgroup_create_backend(f->root, bad[i], 1, &err));
		assert_int_equal(err.code, EINVAL);
		assert_non_null(strstr(err.msg, "cgroup path"));
		assert_false(is_dir(pathf("%s/pids/x", f->root)));
		assert_null(cgroup_create_backend(f->root, bad[i], 2, &err));
		assert_int_equal(err.code, EINVAL);
	}
	assert_null(cgroup_create_backend(f->root, NULL, 1, &err));
	assert_null(cgroup_create_backend(f->root, "/ok", 3, &err));
	assert_null(cgroup_open_backend(f->root, "a/../../b", 1, &err));
	assert_non_null(strstr(err.msg, "\"a/../../b\""));
}

static void test_v1_create_enter_destroy(void **state)
{
	struct fixture *f = *state;
	struct error err = {0};
	struct cgroup *cg;

	/* an existing parent with its own cpus: the new level inherits from it */
	assert_int_equal(mkdir(pathf("%s/cpuset/vessel", f->root), 0755), 0);
	put(pathf("%s/cpuset/vessel/cpuset.cpus", f->root), "1\n");
	put(pathf("%s/cpuset/vessel/cpuset.mems", f->root), "0\n");

	cg = cgroup_create_backend(f->root, "/vessel/deep/c1", 1, &err);
	assert_non_null(cg);
	assert_string_equal(cgroup_path(cg), "/vessel/deep/c1");
	assert_int_equal(cg->n_hier, ARRAY_SIZE(v1_hiers));
	for (size_t i = 0; i < ARRAY_SIZE(v1_hiers); i++)
		assert_true(is_dir(pathf("%s/%s/vessel/deep/c1", f->root, v1_hiers[i])));
	assert_false(is_dir(pathf("%s/unified/vessel", f->root)));
	assert_string_equal(get(pathf("%s/cpuset/vessel/deep/cpuset.cpus", f->root)), "1");
	assert_string_equal(get(pathf("%s/cpuset/vessel/deep/c1/cpuset.cpus", f->root)), "1");
	assert_string_equal(get(pathf("%s/cpuset/vessel/deep/c1/cpuset.mems", f->root)), "0");
	assert_null(get(pathf("%s/memory/vessel/deep/c1/cpuset.cpus", f->root)));

	assert_int_equal(cgroup_enter(cg, 4242, &err), 0);
	for (size_t i = 0; i < ARRAY_SIZE(v1_hiers); i++)
		assert_string_equal(
		    get(pathf("%s/%s/vessel/deep/c1/cgroup.procs", f->root, v1_hiers[i])), "4242");
	assert_true(cgroup_enter(cg, 0, &err) < 0);

	/* a leaf with files in it cannot go (as with live tasks); after the files, it can */
	assert_true(cgroup_destroy(cg, &err) < 0);
	assert_non_null(strstr(err.msg, "rmdir"));
	for (size_t i = 0; i < ARRAY_SIZE(v1_hiers); i++)
		unlink_files(pathf("%s/%s/vessel/deep/c1", f->root, v1_hiers[i]));
	assert_int_equal(cgroup_destroy(cg, &err), 0);
	for (size_t i = 0; i < ARRAY_SIZE(v1_hiers); i++) {
		assert_false(is_dir(pathf("%s/%s/vessel/deep/c1", f->root, v1_hiers[i])));
		assert_true(is_dir(pathf("%s/%s/vessel/deep", f->root, v1_hiers[i])));
	}
	assert_int_equal(cgroup_destroy(cg, &err), 0); /* already gone is fine */
	cgroup_free(cg);
}

static void test_v1_open(void **state)
{
	struct fixture *f = *state;
	struct error err = {0};
	struct cgroup *cg;

	assert_null(cgroup_open_backend(f->root, "/vessel/c1", 1, &err));
	assert_int_equal(err.code, ENOENT);
	cg = cgroup_create_backend(f->root, "/vessel/c1", 1, &err);
	assert_non_null(cg);
	cgroup_free(cg);
	cg = cgroup_open_backend(f->root, "/vessel/c1", 1, &err);
	assert_non_null(cg);
	assert_string_equal(cgroup_path(cg), "/vessel/c1");
	cgroup_free(cg);
	cgroup_free(NULL);
}

static void test_v1_comounted(void **state)
{
	struct fixture *f = *state;
	struct error err = {0};
	const struct cgroup_hier *h;
	struct cgroup *cg;

	/* replace cpu and cpuacct by the usual co-mount and its symlinks */
	assert_int_equal(rmdir(pathf("%s/cpu", f->root)), 0);
	assert_int_equal(rmdir(pathf("%s/cpuacct", f->root)), 0);
	assert_int_equal(mkdir(pathf("%s/cpu,cpuacct", f->root), 0755), 0);
	assert_int_equal(symlink("cpu,cpuacct", pathf("%s/cpu", f->root)), 0);
	assert_int_equal(symlink("cpu,cpuacct", pathf("%s/cpuacct", f->root)), 0);

	cg = cgroup_create_backend(f->root, "/c1", 1, &err);
	assert_non_null(cg);
	assert_int_equal(cg->n_hier, ARRAY_SIZE(v1_hiers) - 1);
	h = cgroup_find_hier(cg, "cpuacct");
	assert_non_null(h);
	assert_string_equal(h->name, "cpu,cpuacct");
	assert_ptr_equal(h, cgroup_find_hier(cg, "cpu"));
	assert_null(cgroup_find_hier(cg, "cpu,"));
	assert_null(cgroup_find_hier(cg, "blkio"));
	assert_true(is_dir(pathf("%s/cpu,cpuacct/c1", f->root)));
	assert_int_equal(cgroup_enter(cg, 7, &err), 0);
	assert_string_equal(get(pathf("%s/cpu/c1/cgroup.procs", f->root)), "7");
	cgroup_free(cg);
}

static void test_v1_freeze(void **state)
{
	struct fixture *f = *state;
	struct error err = {0};
	struct cgroup *cg = cgroup_create_backend(f->root, "/c1", 1, &err);

	assert_non_null(cg);
	assert_int_equal(cgroup_is_frozen(cg, &err), -ENOENT); /* no freezer.state yet */
	assert_int_equal(cgroup_freeze(cg, true, &err), 0);
	assert_string_equal(get(pathf("%s/freezer/c1/freezer.state", f->root)), "FROZEN");
	assert_int_equal(cgroup_is_frozen(cg, &err), 1);
	assert_int_equal(cgroup_freeze(cg, false, &err), 0);
	assert_string_equal(get(pathf("%s/freezer/c1/freezer.state", f->root)), "THAWED");
	assert_int_equal(cgroup_is_frozen(cg, &err), 0);
	cgroup_free(cg);

	/* without a freezer hierarchy: never frozen, and freezing is an error */
	nftw(pathf("%s/freezer", f->root), rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	cg = cgroup_open_backend(f->root, "/c1", 1, &err);
	assert_non_null(cg);
	assert_int_equal(cgroup_is_frozen(cg, &err), 0);
	assert_int_equal(cgroup_freeze(cg, true, &err), -EOPNOTSUPP);
	assert_non_null(strstr(err.msg, "freezer"));
	cgroup_free(cg);
}

static void test_v1_pids_and_kill(void **state)
{
	struct fixture *f = *state;
	struct error err = {0};
	struct cgroup *cg = cgroup_create_backend(f->root, "/c1", 1, &err);
	cleanup_free pid_t *pids = NULL;
	size_t n = 99;
	int status;

	assert_non_null(cg);
	put(pathf("%s/cpu/c1/cgroup.procs", f->root), "5\n");
	put(pathf("%s/pids/c1/cgroup.procs", f->root), "1\n22\n\n333\n");
	assert_int_equal(cgroup_pids(cg, &pids, &n, &err), 0);
	assert_int_equal(n, 3);
	assert_int_equal(pids[0], 1);
	assert_int_equal(pids[1], 22);
	assert_int_equal(pids[2], 333);
	free(TAKE_PTR(pids));

	put(pathf("%s/pids/c1/cgroup.procs", f->root), "");
	assert_int_equal(cgroup_pids(cg, &pids, &n, &err), 0);
	assert_int_equal(n, 0);
	assert_null(pids);
	put(pathf("%s/pids/c1/cgroup.procs", f->root), "12\nx3\n");
	assert_int_equal(cgroup_pids(cg, &pids, &n, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "bad pid"));

	/* kill_all: freeze, signal what cgroup.procs lists, thaw */
	f->child = spawn_sleeper();
	put(pathf("%s/pids/c1/cgroup.procs", f->root), pathf("%d\n", (int)f->child));
	assert_int_equal(cgroup_kill_all(cg, SIGKILL, &err), 0);
	assert_int_equal(waitpid(f->child, &status, 0), f->child);
	f->child = 0;
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGKILL);
	assert_string_equal(get(pathf("%s/freezer/c1/freezer.state", f->root)), "THAWED");
	cgroup_free(cg);
}

static void test_v1_apply(void **state)
{
	struct fixture *f = *state;
	struct error err = {0};
	struct cgroup *cg = cgroup_create_backend(f->root, "/c1", 1, &err);
	struct spec_resources res = unset_resources();
	struct spec_kv kv = {.key = (char *)"memory.high", .value = (char *)"1"};

	assert_non_null(cg);
	assert_int_equal(cgroup_apply(cg, &res, &err), 0);
	assert_null(get(pathf("%s/memory/c1/memory.limit_in_bytes", f->root)));
	assert_null(get(pathf("%s/pids/c1/pids.max", f->root)));
	assert_int_equal(cgroup_apply(cg, NULL, &err), 0);

	res.memory_limit = 64 << 20;
	res.pids_limit = 100;
	res.cpu_shares = 512;
	res.cpu_quota = 50000;
	res.cpu_period = 100000;
	res.cpu_cpus = (char *)"0";
	assert_int_equal(cgroup_apply(cg, &res, &err), 0);
	assert_string_equal(get(pathf("%s/memory/c1/memory.limit_in_bytes", f->root)), "67108864");
	assert_string_equal(get(pathf("%s/pids/c1/pids.max", f->root)), "100");
	assert_string_equal(get(pathf("%s/cpu/c1/cpu.shares", f->root)), "512");
	assert_string_equal(get(pathf("%s/cpu/c1/cpu.cfs_quota_us", f->root)), "50000");
	assert_string_equal(get(pathf("%s/cpu/c1/cpu.cfs_period_us", f->root)), "100000");
	assert_string_equal(get(pathf("%s/cpuset/c1/cpuset.cpus", f->root)), "0");

	res = unset_resources();
	res.unified = &kv;
	res.n_unified = 1;
	assert_int_equal(cgroup_apply(cg, &res, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "cgroup v2"));
	cgroup_free(cg);
}

static void test_v2_create_enter_destroy(void **state)
{
	struct fixture *f = *state;
	struct error err = {0};
	struct cgroup *cg;

	/* an existing middle level offering fewer controllers */
	assert_int_equal(mkdir(pathf("%s/vessel", f->root), 0755), 0);
	put(pathf("%s/vessel/cgroup.controllers", f->root), "cpu pids\n");

	cg = cgroup_create_backend(f->root, "/vessel/c1", 2, &err);
	assert_non_null(cg);
	assert_int_equal(cg->n_hier, 1);
	assert_true(is_dir(pathf("%s/vessel/c1", f->root)));
	assert_string_equal(get(pathf("%s/cgroup.subtree_control", f->root)), "+cpu +memory +pids");
	assert_string_equal(get(pathf("%s/vessel/cgroup.subtree_control", f->root)), "+cpu +pids");
	assert_null(get(pathf("%s/vessel/c1/cgroup.subtree_control", f->root)));

	assert_int_equal(cgroup_enter(cg, 31337, &err), 0);
	assert_string_equal(get(pathf("%s/vessel/c1/cgroup.procs", f->root)), "31337");

	unlink_files(pathf("%s/vessel/c1", f->root));
	assert_int_equal(cgroup_destroy(cg, &err), 0);
	assert_false(is_dir(pathf("%s/vessel/c1", f->root)));
	assert_true(is_dir(pathf("%s/vessel", f->root)));
	cgroup_free(cg);

	/* the real thing is picked by statfs: a plain directory is neither v2 nor v1 */
	assert_null(cgroup_create(f->root, "/vessel/c2", &err));
	assert_non_null(strstr(err.msg, "no cgroup v1 hierarchies"));
	assert_false(is_dir(pathf("%s/vessel/c2", f->root)));
}

static void test_v2_freeze(void **state)
{
	struct fixture *f = *state;
	struct error err = {0};
	struct cgroup *cg = cgroup_create_backend(f->root, "/c1", 2, &err);

	assert_non_null(cg);
	assert_int_equal(cgroup_is_frozen(cg, &err), 0);
	put(pathf("%s/c1/cgroup.events", f->root), "populated 1\nfrozen 1\n");
	assert_int_equal(cgroup_freeze(cg, true, &err), 0);
	assert_string_equal(get(pathf("%s/c1/cgroup.freeze", f->root)), "1");
	assert_int_equal(cgroup_is_frozen(cg, &err), 1);
	assert_int_equal(cgroup_freeze(cg, false, &err), 0);
	assert_string_equal(get(pathf("%s/c1/cgroup.freeze", f->root)), "0");
	assert_int_equal(cgroup_is_frozen(cg, &err), 0);

	/* the kernel never reports frozen: give up after ~2 s, thawed again */
	put(pathf("%s/c1/cgroup.events", f->root), "populated 1\nfrozen 0\n");
	assert_int_equal(cgroup_freeze(cg, true, &err), -EBUSY);
	assert_non_null(strstr(err.msg, "freeze cgroup /c1"));
	assert_string_equal(get(pathf("%s/c1/cgroup.freeze", f->root)), "0");
	cgroup_free(cg);
}

static void test_v2_pids_and_kill(void **state)
{
	struct fixture *f = *state;
	struct error err = {0};
	struct cgroup *cg = cgroup_create_backend(f->root, "/c1", 2, &err);
	cleanup_free pid_t *pids = NULL;
	size_t n = 0;
	int status;

	assert_non_null(cg);
	put(pathf("%s/c1/cgroup.procs", f->root), "10\n20\n");
	assert_int_equal(cgroup_pids(cg, &pids, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_int_equal(pids[1], 20);

	/* no cgroup.kill: signal each pid (SIGTERM never uses cgroup.kill) */
	put(pathf("%s/c1/cgroup.events", f->root), "frozen 1\n");
	f->child = spawn_sleeper();
	put(pathf("%s/c1/cgroup.procs", f->root), pathf("%d\n", (int)f->child));
	assert_int_equal(cgroup_kill_all(cg, SIGTERM, &err), 0);
	assert_int_equal(waitpid(f->child, &status, 0), f->child);
	f->child = 0;
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGTERM);

	/* with cgroup.kill, SIGKILL is one write */
	put(pathf("%s/c1/cgroup.kill", f->root), "");
	assert_int_equal(cgroup_kill_all(cg, SIGKILL, &err), 0);
	assert_string_equal(get(pathf("%s/c1/cgroup.kill", f->root)), "1");
	cgroup_free(cg);
}

static void test_v2_apply(void **state)
{
	struct fixture *f = *state;
	struct error err = {0};
	struct cgroup *cg = cgroup_create_backend(f->root, "/c1", 2, &err);
	struct spec_resources res = unset_resources();
	struct spec_kv kv[] = {{.key = (char *)"memory.high", .value = (char *)"1000000"}};
	struct spec_kv bad = {.key = (char *)"../cgroup.procs", .value = (char *)"1"};

	assert_non_null(cg);
	assert_int_equal(cgroup_apply(cg, &res, &err), 0);
	assert_null(get(pathf("%s/c1/memory.max", f->root)));
	assert_null(get(pathf("%s/c1/cpu.max", f->root)));

	res.memory_limit = 1 << 30;
	res.pids_limit = 64;
	res.cpu_shares = 1024;
	res.cpu_quota = 25000;
	res.cpu_period = 100000;
	res.unified = kv;
	res.n_unified = 1;
	assert_int_equal(cgroup_apply(cg, &res, &err), 0);
	assert_string_equal(get(pathf("%s/c1/memory.max", f->root)), "1073741824");
	assert_string_equal(get(pathf("%s/c1/pids.max", f->root)), "64");
	assert_string_equal(get(pathf("%s/c1/cpu.weight", f->root)), "39");
	assert_string_equal(get(pathf("%s/c1/cpu.max", f->root)), "25000 100000");
	assert_string_equal(get(pathf("%s/c1/memory.high", f->root)), "1000000");

	res = unset_resources();
	res.cpu_period = 50000;
	assert_int_equal(cgroup_apply(cg, &res, &err), 0);
	assert_string_equal(get(pathf("%s/c1/cpu.max", f->root)), "max 50000");

	res.unified = &bad;
	res.n_unified = 1;
	assert_int_equal(cgroup_apply(cg, &res, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "bad key"));
	cgroup_free(cg);
}

/* The real thing: this machine's cgroup v1 hierarchies, as root, in a cgroup of our own. */
static bool real_v1_available(void)
{
	struct statfs sfs;

	return geteuid() == 0 && statfs("/sys/fs/cgroup/pids", &sfs) == 0 &&
	       sfs.f_type == CGROUP_SUPER_MAGIC && statfs("/sys/fs/cgroup", &sfs) == 0 &&
	       sfs.f_type != CGROUP2_SUPER_MAGIC;
}

static int teardown_real(void **state)
{
	struct fixture *f = *state;
	cleanup_dir DIR *d = opendir("/sys/fs/cgroup");
	struct dirent *de;

	if (f->child > 0) {
		kill(f->child, SIGKILL);
		waitpid(f->child, NULL, 0);
	}
	while (d && f->real_top[0] && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		rmdir(pathf("/sys/fs/cgroup/%s%s/c1", de->d_name, f->real_top));
		rmdir(pathf("/sys/fs/cgroup/%s%s", de->d_name, f->real_top));
	}
	free(f);
	return 0;
}

static int setup_real(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	*state = f;
	return 0;
}

static bool proc_cgroup_has(pid_t pid, const char *controller, const char *path)
{
	char line[512], want[128];
	bool found = false;
	FILE *fp = fopen(pathf("/proc/%d/cgroup", (int)pid), "re");

	if (!fp)
		return false;
	snprintf(want, sizeof(want), ":%s:", controller);
	while (!found && fgets(line, sizeof(line), fp)) {
		char *p = strstr(line, want);
		size_t len;

		line[strcspn(line, "\n")] = '\0';
		len = strlen(line);
		found = p && len >= strlen(path) && strcmp(line + len - strlen(path), path) == 0;
	}
	fclose(fp);
	return found;
}

static void test_real_v1(void **state)
{
	struct fixture *f = *state;
	struct error err = {0};
	cleanup_free pid_t *pids = NULL;
	char path[96];
	struct cgroup *cg;
	size_t n = 0;
	int status;

	if (!real_v1_available())
		skip(); /* needs root and /sys/fs/cgroup/pids as a cgroup v1 mount */
	snprintf(f->real_top, sizeof(f->real_top), "/vessel-test-%d", (int)getpid());
	snprintf(path, sizeof(path), "%s/c1", f->real_top);
	cg = cgroup_create("/sys/fs/cgroup", path, &err);
	if (!cg)
		fail_msg("%s", err.msg);
	assert_true(is_dir(pathf("/sys/fs/cgroup/pids%s", path)));
	assert_true(is_dir(pathf("/sys/fs/cgroup/cpuset%s", path)));
	assert_false(is_dir(pathf("/sys/fs/cgroup/unified%s", path)));

	f->child = spawn_sleeper();
	if (cgroup_enter(cg, f->child, &err) < 0)
		fail_msg("%s", err.msg);
	assert_true(proc_cgroup_has(f->child, "pids", path));
	assert_true(proc_cgroup_has(f->child, "cpuset", path));
	assert_int_equal(cgroup_pids(cg, &pids, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(pids[0], f->child);

	assert_int_equal(cgroup_freeze(cg, true, &err), 0);
	assert_int_equal(cgroup_is_frozen(cg, &err), 1);
	assert_int_equal(cgroup_freeze(cg, false, &err), 0);
	assert_int_equal(cgroup_is_frozen(cg, &err), 0);

	assert_int_equal(cgroup_kill_all(cg, SIGKILL, &err), 0);
	assert_int_equal(waitpid(f->child, &status, 0), f->child);
	f->child = 0;
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGKILL);

	if (cgroup_destroy(cg, &err) < 0)
		fail_msg("%s", err.msg);
	assert_false(is_dir(pathf("/sys/fs/cgroup/pids%s", path)));
	assert_true(is_dir(pathf("/sys/fs/cgroup/pids%s", f->real_top)));
	cgroup_free(cg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_bad_paths, setup_v1, teardown_tree),
	    cmocka_unit_test_setup_teardown(test_v1_create_enter_destroy, setup_v1, teardown_tree),
	    cmocka_unit_test_setup_teardown(test_v1_open, setup_v1, teardown_tree),
	    cmocka_unit_test_setup_teardown(test_v1_comounted, setup_v1, teardown_tree),
	    cmocka_unit_test_setup_teardown(test_v1_freeze, setup_v1, teardown_tree),
	    cmocka_unit_test_setup_teardown(test_v1_pids_and_kill, setup_v1, teardown_tree),
	    cmocka_unit_test_setup_teardown(test_v1_apply, setup_v1, teardown_tree),
	    cmocka_unit_test_setup_teardown(test_v2_create_enter_destroy, setup_v2, teardown_tree),
	    cmocka_unit_test_setup_teardown(test_v2_freeze, setup_v2, teardown_tree),
	    cmocka_unit_test_setup_teardown(test_v2_pids_and_kill, setup_v2, teardown_tree),
	    cmocka_unit_test_setup_teardown(test_v2_apply, setup_v2, teardown_tree),
	    cmocka_unit_test_setup_teardown(test_real_v1, setup_real, teardown_real),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
