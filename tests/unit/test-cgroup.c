/* Unit tests for runtime/cgroup.c, cgroup-v1.c and cgroup-v2.c.
 *
 * Most tests run against plain directory trees under /tmp shaped like /sys/fs/cgroup (the backend
 * forced with cgroup_create_backend). One test uses this machine's real cgroup v1 hierarchies, only
 * as root and only under a /vessel-test-<pid> cgroup that it creates and removes.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
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
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>
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
	assert_string_equal(get(pathf("%s/c1/cpu.max", f->root)), "25000 50000");
	unlink(pathf("%s/c1/cpu.max", f->root));
	assert_int_equal(cgroup_apply(cg, &res, &err), 0);
	assert_string_equal(get(pathf("%s/c1/cpu.max", f->root)), "max 50000");

	res.unified = &bad;
	res.n_unified = 1;
	assert_int_equal(cgroup_apply(cg, &res, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "bad key"));
	cgroup_free(cg);
}

/* Every linux.resources field on the v1 tree; hugetlb and blkio hierarchies added. */
static void test_v1_apply_all(void **state)
{
	struct fixture *f = *state;
	struct error err = {0};
	struct spec_kv huge = {.key = (char *)"2MB", .value = (char *)"4194304"};
	struct spec_device_rule rules[] = {
	    {.allow = false, .type = 'a', .major = -1, .minor = -1, .access = "rwm"},
	    {.allow = true, .type = 'c', .major = 1, .minor = 3, .access = "rwm"},
	    {.allow = false, .type = 'c', .major = 1, .minor = -1, .access = "w"},
	};
	struct spec_resources res = unset_resources();
	struct cgroup *cg = cgroup_create_backend(f->root, "/c1", 1, &err);

	assert_non_null(cg);
	/* no blkio or hugetlb hierarchy yet: the error names the file and the controller */
	res.blkio_weight = 500;
	assert_int_equal(cgroup_apply(cg, &res, &err), -EOPNOTSUPP);
	assert_non_null(strstr(err.msg, "blkio.weight: no blkio cgroup hierarchy"));
	res = unset_resources();
	res.hugepage_limits = &huge;
	res.n_hugepage_limits = 1;
	assert_int_equal(cgroup_apply(cg, &res, &err), -EOPNOTSUPP);
	assert_non_null(strstr(err.msg, "hugetlb.2MB.limit_in_bytes"));
	cgroup_free(cg);

	assert_int_equal(mkdir(pathf("%s/blkio", f->root), 0755), 0);
	assert_int_equal(mkdir(pathf("%s/hugetlb", f->root), 0755), 0);
	cg = cgroup_create_backend(f->root, "/c1", 1, &err);
	assert_non_null(cg);
	put(pathf("%s/memory/c1/memory.memsw.limit_in_bytes", f->root), "9223372036854771712\n");
	res.memory_limit = 64 << 20;
	res.memory_reservation = 32 << 20;
	res.memory_swap = 128 << 20;
	res.disable_oom_killer = true;
	res.cpu_realtime_period = 1000000;
	res.cpu_realtime_runtime = 950000;
	res.cpu_mems = (char *)"0";
	res.pids_limit = 0;
	res.blkio_weight = 500;
	res.devices = rules;
	res.n_devices = ARRAY_SIZE(rules);
	assert_int_equal(cgroup_apply(cg, &res, &err), 0);
	assert_string_equal(get(pathf("%s/memory/c1/memory.limit_in_bytes", f->root)), "67108864");
	assert_string_equal(get(pathf("%s/memory/c1/memory.soft_limit_in_bytes", f->root)),
			    "33554432");
	assert_string_equal(get(pathf("%s/memory/c1/memory.memsw.limit_in_bytes", f->root)),
			    "134217728");
	assert_string_equal(get(pathf("%s/memory/c1/memory.oom_control", f->root)), "1");
	assert_string_equal(get(pathf("%s/cpu/c1/cpu.rt_period_us", f->root)), "1000000");
	assert_string_equal(get(pathf("%s/cpu/c1/cpu.rt_runtime_us", f->root)), "950000");
	assert_null(get(pathf("%s/cpu/c1/cpu.shares", f->root)));
	assert_string_equal(get(pathf("%s/cpuset/c1/cpuset.mems", f->root)), "0");
	assert_string_equal(get(pathf("%s/pids/c1/pids.max", f->root)), "max");
	assert_string_equal(get(pathf("%s/blkio/c1/blkio.weight", f->root)), "500");
	assert_string_equal(get(pathf("%s/hugetlb/c1/hugetlb.2MB.limit_in_bytes", f->root)),
			    "4194304");
	/* each rule is one write: the plain file keeps the last one of each kind */
	assert_string_equal(get(pathf("%s/devices/c1/devices.allow", f->root)), "c 1:3 rwm");
	assert_string_equal(get(pathf("%s/devices/c1/devices.deny", f->root)), "c 1:* w");

	/* bfq's weight file wins where it exists */
	put(pathf("%s/blkio/c1/blkio.bfq.weight", f->root), "100\n");
	res = unset_resources();
	res.blkio_weight = 200;
	assert_int_equal(cgroup_apply(cg, &res, &err), 0);
	assert_string_equal(get(pathf("%s/blkio/c1/blkio.bfq.weight", f->root)), "200");
	assert_string_equal(get(pathf("%s/blkio/c1/blkio.weight", f->root)), "500");
	cgroup_free(cg);
}

static void test_v1_apply_memory_errors(void **state)
{
	struct fixture *f = *state;
	struct error err = {0};
	struct spec_kv kv = {.key = (char *)"memory.high", .value = (char *)"1"};
	struct spec_resources res = unset_resources();
	struct cgroup *cg = cgroup_create_backend(f->root, "/c1", 1, &err);

	assert_non_null(cg);
	/* no memsw file (swap accounting off): swap is left alone */
	res.memory_limit = 64 << 20;
	res.memory_swap = 128 << 20;
	assert_int_equal(cgroup_apply(cg, &res, &err), 0);
	assert_null(get(pathf("%s/memory/c1/memory.memsw.limit_in_bytes", f->root)));
	/* memory+swap below memory: refused before any write */
	put(pathf("%s/memory/c1/memory.memsw.limit_in_bytes", f->root), "1\n");
	res.memory_limit = 256 << 20;
	assert_int_equal(cgroup_apply(cg, &res, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "memory.memsw.limit_in_bytes: memory+swap limit"));
	assert_string_equal(get(pathf("%s/memory/c1/memory.limit_in_bytes", f->root)), "67108864");
	/* swap alone */
	res.memory_limit = -1;
	assert_int_equal(cgroup_apply(cg, &res, &err), 0);
	assert_string_equal(get(pathf("%s/memory/c1/memory.memsw.limit_in_bytes", f->root)),
			    "134217728");
	/* a failed write names the file and the value */
	assert_int_equal(unlink(pathf("%s/memory/c1/memory.limit_in_bytes", f->root)), 0);
	assert_int_equal(symlink("/dev/full", pathf("%s/memory/c1/memory.limit_in_bytes", f->root)),
			 0);
	res = unset_resources();
	res.memory_limit = 1 << 20;
	assert_int_equal(cgroup_apply(cg, &res, &err), -ENOSPC);
	assert_string_equal(err.msg, "cgroup /c1: resources: memory.limit_in_bytes: write 1048576: "
				     "No space left on device");
	/* unified keys need v2: the key is named */
	res = unset_resources();
	res.unified = &kv;
	res.n_unified = 1;
	assert_int_equal(cgroup_apply(cg, &res, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "\"memory.high\" needs cgroup v2"));
	cgroup_free(cg);
}

static void test_v1_stats(void **state)
{
	struct fixture *f = *state;
	struct error err = {0};
	struct cgroup_stats st;
	struct cgroup *cg = cgroup_create_backend(f->root, "/c1", 1, &err);

	assert_non_null(cg);
	assert_int_equal(cgroup_stats(cg, &st, &err), 0);
	assert_int_equal(st.cpu_usage_ns, -1);
	assert_int_equal(st.oom_kills, -1);
	put(pathf("%s/cpuacct/c1/cpuacct.usage", f->root), "123456789\n");
	put(pathf("%s/memory/c1/memory.usage_in_bytes", f->root), "4096\n");
	put(pathf("%s/memory/c1/memory.limit_in_bytes", f->root), "9223372036854771712\n");
	put(pathf("%s/memory/c1/memory.max_usage_in_bytes", f->root), "8192\n");
	put(pathf("%s/memory/c1/memory.oom_control", f->root),
	    "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n");
	put(pathf("%s/pids/c1/pids.current", f->root), "5\n");
	put(pathf("%s/pids/c1/pids.max", f->root), "max\n");
	assert_int_equal(cgroup_stats(cg, &st, &err), 0);
	assert_int_equal(st.cpu_usage_ns, 123456789);
	assert_int_equal(st.memory_usage, 4096);
	assert_true(st.memory_limit == CGROUP_UNLIMITED);
	assert_int_equal(st.memory_max_usage, 8192);
	assert_int_equal(st.oom_kills, 3);
	assert_int_equal(st.pids_current, 5);
	assert_true(st.pids_limit == CGROUP_UNLIMITED);

	put(pathf("%s/pids/c1/pids.current", f->root), "five\n");
	assert_int_equal(cgroup_stats(cg, &st, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "pids.current: not a number"));
	put(pathf("%s/pids/c1/pids.current", f->root), "5\n");
	put(pathf("%s/memory/c1/memory.oom_control", f->root), "oom_kill x\n");
	assert_int_equal(cgroup_stats(cg, &st, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "memory.oom_control: bad \"oom_kill\" line"));
	cgroup_free(cg);
}

static void test_v2_apply_all(void **state)
{
	struct fixture *f = *state;
	struct error err = {0};
	struct spec_kv huge = {.key = (char *)"1GB", .value = (char *)"1073741824"};
	struct spec_device_rule rules[] = {
	    {.allow = false, .type = 'a', .major = -1, .minor = -1, .access = "rwm"},
	    {.allow = true, .type = 'c', .major = 1, .minor = 3, .access = "rwm"},
	};
	struct spec_resources res = unset_resources();
	struct cgroup *cg = cgroup_create_backend(f->root, "/c1", 2, &err);

	assert_non_null(cg);
	res.memory_limit = 64 << 20;
	res.memory_reservation = 16 << 20;
	res.memory_swap = 96 << 20;
	res.disable_oom_killer = true; /* no v2 equivalent: ignored, as runc */
	res.pids_limit = 0;
	res.blkio_weight = 500;
	res.hugepage_limits = &huge;
	res.n_hugepage_limits = 1;
	res.devices = rules; /* a plain tree cannot hold a program: built, not loaded */
	res.n_devices = ARRAY_SIZE(rules);
	assert_int_equal(cgroup_apply(cg, &res, &err), 0);
	assert_string_equal(get(pathf("%s/c1/memory.max", f->root)), "67108864");
	assert_string_equal(get(pathf("%s/c1/memory.low", f->root)), "16777216");
	assert_string_equal(get(pathf("%s/c1/memory.swap.max", f->root)), "33554432");
	assert_null(get(pathf("%s/c1/memory.oom_control", f->root)));
	assert_string_equal(get(pathf("%s/c1/pids.max", f->root)), "max");
	assert_string_equal(get(pathf("%s/c1/io.weight", f->root)), "4950");
	assert_string_equal(get(pathf("%s/c1/hugetlb.1GB.max", f->root)), "1073741824");
	assert_null(get(pathf("%s/c1/devices.allow", f->root)));

	put(pathf("%s/c1/io.bfq.weight", f->root), "100\n");
	res = unset_resources();
	res.blkio_weight = 300;
	res.memory_swap = 64 << 20; /* swap alone: against the current memory.max */
	assert_int_equal(cgroup_apply(cg, &res, &err), 0);
	assert_string_equal(get(pathf("%s/c1/io.bfq.weight", f->root)), "300");
	assert_string_equal(get(pathf("%s/c1/memory.swap.max", f->root)), "0");

	res = unset_resources();
	res.memory_swap = 32 << 20;
	assert_int_equal(cgroup_apply(cg, &res, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "memory.swap.max: memory+swap limit"));
	put(pathf("%s/c1/memory.max", f->root), "max\n");
	assert_int_equal(cgroup_apply(cg, &res, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "memory.swap.max: a swap limit needs a memory limit"));

	res = unset_resources();
	res.cpu_realtime_runtime = 1000;
	assert_int_equal(cgroup_apply(cg, &res, &err), -EOPNOTSUPP);
	assert_non_null(strstr(err.msg, "cpu.rt_runtime_us"));
	cgroup_free(cg);
}

static void test_v2_stats(void **state)
{
	struct fixture *f = *state;
	struct error err = {0};
	struct cgroup_stats st;
	struct cgroup *cg = cgroup_create_backend(f->root, "/c1", 2, &err);

	assert_non_null(cg);
	put(pathf("%s/c1/cpu.stat", f->root), "usage_usec 2500\nuser_usec 2000\nsystem_usec 500\n");
	put(pathf("%s/c1/memory.current", f->root), "1048576\n");
	put(pathf("%s/c1/memory.max", f->root), "max\n");
	put(pathf("%s/c1/memory.events", f->root), "low 0\nhigh 0\nmax 7\noom 2\noom_kill 1\n");
	put(pathf("%s/c1/pids.current", f->root), "3\n");
	put(pathf("%s/c1/pids.max", f->root), "50\n");
	assert_int_equal(cgroup_stats(cg, &st, &err), 0);
	assert_int_equal(st.cpu_usage_ns, 2500000);
	assert_int_equal(st.memory_usage, 1048576);
	assert_true(st.memory_limit == CGROUP_UNLIMITED);
	assert_int_equal(st.memory_max_usage, -1); /* no memory.peak before Linux 5.19 */
	assert_int_equal(st.oom_kills, 1);
	assert_int_equal(st.pids_current, 3);
	assert_int_equal(st.pids_limit, 50);
	put(pathf("%s/c1/memory.peak", f->root), "2097152\n");
	assert_int_equal(cgroup_stats(cg, &st, &err), 0);
	assert_int_equal(st.memory_max_usage, 2097152);

	unlink_files(pathf("%s/c1", f->root));
	assert_int_equal(cgroup_destroy(cg, &err), 0);
	assert_int_equal(cgroup_stats(cg, &st, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "stats of cgroup /c1"));
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

/* SIGKILLs what is left in our test cgroup (only processes this test started). */
static void kill_leftovers(const char *dir)
{
	char *procs = get(pathf("%s/cgroup.procs", dir));

	for (char *p = procs; p && *p;) {
		char *end;
		long pid = strtol(p, &end, 10);

		if (end == p)
			break;
		if (pid > 0)
			kill((pid_t)pid, SIGKILL);
		p = end + (*end == '\n');
	}
}

static void rmdir_retry(const char *dir)
{
	for (int i = 0; i < 100 && rmdir(dir) < 0 && errno == EBUSY; i++) {
		kill_leftovers(dir);
		usleep(10000);
	}
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
		rmdir_retry(pathf("/sys/fs/cgroup/%s%s/c1", de->d_name, f->real_top));
		rmdir(pathf("/sys/fs/cgroup/%s%s", de->d_name, f->real_top));
	}
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	prctl(PR_SET_CHILD_SUBREAPER, 0);
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

/* Creates /vessel-test-<pid>/c1 in this machine's v1 hierarchies; NULL (skip) when not possible. */
static struct cgroup *real_cgroup(struct fixture *f)
{
	struct error err = {0};
	struct cgroup *cg;

	snprintf(f->real_top, sizeof(f->real_top), "/vessel-test-%d", (int)getpid());
	cg = cgroup_create("/sys/fs/cgroup", pathf("%s/c1", f->real_top), &err);
	if (!cg)
		fail_msg("%s", err.msg);
	return cg;
}

/* Forks a child that runs fn once it is in cg; returns its pid. */
static pid_t spawn_in(struct cgroup *cg, int (*fn)(void *), void *arg)
{
	struct error err = {0};
	int p[2];
	pid_t pid;
	char c = 'x';

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[1]);
		if (read(p[0], &c, 1) != 1)
			_exit(99);
		_exit(fn(arg));
	}
	close(p[0]);
	if (cgroup_enter(cg, pid, &err) < 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		fail_msg("%s", err.msg);
	}
	assert_int_equal(write(p[1], &c, 1), 1);
	close(p[1]);
	return pid;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int burn_cpu(void *arg)
{
	double end = now_s() + *(const double *)arg;
	volatile unsigned long x = 0;

	while (now_s() < end)
		x++;
	return 0;
}

static void test_real_cpu_quota(void **state)
{
	struct fixture *f = *state;
	struct spec_resources res = unset_resources();
	struct error err = {0};
	struct cgroup_stats st0, st1;
	double secs = 3.0, t0, t1, used;
	struct cgroup *cg;
	int status;

	if (!real_v1_available())
		skip(); /* needs root and this machine's cgroup v1 hierarchies */
	cg = real_cgroup(f);
	res.cpu_quota = 25000;
	res.cpu_period = 100000;
	if (cgroup_apply(cg, &res, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(cgroup_stats(cg, &st0, &err), 0);
	t0 = now_s();
	f->child = spawn_in(cg, burn_cpu, &secs);
	assert_int_equal(waitpid(f->child, &status, 0), f->child);
	f->child = 0;
	t1 = now_s();
	assert_int_equal(cgroup_stats(cg, &st1, &err), 0);
	used = (double)(st1.cpu_usage_ns - st0.cpu_usage_ns) / 1e9 / (t1 - t0);
	print_message("cpu quota 25000/100000: %.3f CPU over %.2f s\n", used, t1 - t0);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_true(used > 0.20 && used < 0.30);
	assert_int_equal(cgroup_destroy(cg, &err), 0);
	cgroup_free(cg);
}

static int touch_memory(void *arg)
{
	size_t size = *(const size_t *)arg;
	char *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return 2;
	for (size_t i = 0; i < size; i += 4096)
		p[i] = 1;
	return 0;
}

static void test_real_oom(void **state)
{
	struct fixture *f = *state;
	struct spec_resources res = unset_resources();
	struct error err = {0};
	size_t size = 128 << 20;
	struct cgroup_stats st;
	struct cgroup *cg;
	int status;

	if (!real_v1_available())
		skip(); /* needs root and this machine's cgroup v1 hierarchies */
	cg = real_cgroup(f);
	res.memory_limit = 64 << 20;
	res.memory_swap = 64 << 20; /* no swapping out of it either */
	if (cgroup_apply(cg, &res, &err) < 0)
		fail_msg("%s", err.msg);
	f->child = spawn_in(cg, touch_memory, &size);
	assert_int_equal(waitpid(f->child, &status, 0), f->child);
	f->child = 0;
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGKILL);
	assert_int_equal(cgroup_stats(cg, &st, &err), 0);
	assert_true(st.oom_kills >= 1);
	assert_int_equal(st.memory_limit, 64 << 20);
	assert_true(st.memory_max_usage > 48 << 20 && st.memory_max_usage <= 64 << 20);
	assert_int_equal(cgroup_destroy(cg, &err), 0);
	cgroup_free(cg);
}

/* Every process forks until the deadline; a failed fork waits a millisecond. */
static int fork_bomb(void *arg)
{
	double end = now_s() + *(const double *)arg;

	while (now_s() < end) {
		if (fork() < 0)
			usleep(1000);
	}
	return 0;
}

static void test_real_fork_bomb(void **state)
{
	struct fixture *f = *state;
	struct spec_resources res = unset_resources();
	struct error err = {0};
	double secs = 4.0, end;
	int64_t peak = -1, failed = 0;
	size_t max_tasks = 0;
	struct cgroup_stats st;
	const char *dir;
	struct cgroup *cg;
	pid_t host;
	int status;

	if (!real_v1_available())
		skip(); /* needs root and this machine's cgroup v1 hierarchies */
	cg = real_cgroup(f);
	res.pids_limit = 50;
	if (cgroup_apply(cg, &res, &err) < 0)
		fail_msg("%s", err.msg);
	/* orphaned bombers come to us, so that they are reaped */
	assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
	f->child = spawn_in(cg, fork_bomb, &secs);
	/* pids.current itself may read a little above the limit while forks are being refused
	 * (charged, then reverted), so count the tasks and read the kernel's pids.peak */
	for (end = now_s() + 2.0; now_s() < end; usleep(10000)) {
		cleanup_free pid_t *pids = NULL;
		size_t n = 0;

		assert_int_equal(cgroup_pids(cg, &pids, &n, &err), 0);
		max_tasks = n > max_tasks ? n : max_tasks;
	}
	dir = cgroup_find_hier(cg, "pids")->dir;
	if (cgroup_read_i64(dir, "pids.peak", &peak, &err) == -ENOENT)
		peak = (int64_t)max_tasks; /* before Linux 6.1 */
	/* the host can still fork */
	host = fork();
	if (host == 0)
		_exit(7);
	assert_true(host > 0);
	assert_int_equal(waitpid(host, &status, 0), host);
	assert_int_equal(WEXITSTATUS(status), 7);
	assert_int_equal(cgroup_read_key(dir, "pids.events", "max", &failed, &err), 0);
	assert_int_equal(cgroup_kill_all(cg, SIGKILL, &err), 0);
	for (end = now_s() + 3.0; now_s() < end; usleep(5000)) {
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		assert_int_equal(cgroup_stats(cg, &st, &err), 0);
		if (st.pids_current == 0)
			break;
	}
	f->child = 0;
	prctl(PR_SET_CHILD_SUBREAPER, 0);
	print_message("fork bomb under pids.max 50: pids.peak %" PRId64
		      ", at most %zu tasks seen, %" PRId64 " forks refused\n",
		      peak, max_tasks, failed);
	assert_int_equal(st.pids_current, 0);
	assert_true(peak >= 45 && peak <= 50);
	assert_true(max_tasks <= 50);
	assert_true(failed > 0);
	assert_int_equal(cgroup_destroy(cg, &err), 0);
	cgroup_free(cg);
}

static int touch_and_wait(void *arg)
{
	int r = touch_memory(arg);

	if (r == 0)
		pause();
	return r;
}

static bool host_has_swap(void)
{
	char *swaps = get("/proc/swaps");

	return !swaps || strchr(swaps, '\n') != strrchr(swaps, '\n');
}

static void test_real_memory_update(void **state)
{
	struct fixture *f = *state;
	struct spec_resources res = unset_resources();
	struct error err = {0};
	size_t size = 16 << 20;
	struct cgroup_stats st;
	const char *dir;
	struct cgroup *cg;

	if (!real_v1_available())
		skip(); /* needs root and this machine's cgroup v1 hierarchies */
	cg = real_cgroup(f);
	dir = cgroup_find_hier(cg, "memory")->dir;
	f->child = spawn_in(cg, touch_and_wait, &size);
	static const int64_t steps[][2] = {{64, 64}, {256, 512}, {128, 128}, {32, 32}, {24, 0}};
	for (size_t i = 0; i < ARRAY_SIZE(steps); i++) {
		res.memory_limit = steps[i][0] << 20;
		res.memory_swap = steps[i][1] ? steps[i][1] << 20 : -1;
		if (cgroup_apply(cg, &res, &err) < 0)
			fail_msg("step %zu: %s", i, err.msg);
		assert_int_equal(atoll(get(pathf("%s/memory.limit_in_bytes", dir))),
				 steps[i][0] << 20);
		if (steps[i][1] && cgroup_has_file(dir, "memory.memsw.limit_in_bytes"))
			assert_int_equal(atoll(get(pathf("%s/memory.memsw.limit_in_bytes", dir))),
					 steps[i][1] << 20);
	}
	/* raising the limit alone above memory+swap: refused, saying what to do */
	res.memory_limit = 64 << 20;
	if (cgroup_has_file(dir, "memory.memsw.limit_in_bytes")) {
		assert_int_equal(cgroup_apply(cg, &res, &err), -EINVAL);
		assert_non_null(strstr(err.msg, "above the memory+swap limit 33554432: set swap"));
	}
	for (int i = 0; i < 200 && cgroup_stats(cg, &st, &err) == 0 && st.memory_usage < 16 << 20;
	     i++)
		usleep(5000);
	assert_true(st.memory_usage >= 16 << 20);
	if (!host_has_swap()) {
		/* below what the task holds, with nowhere to swap it: the kernel says busy */
		res = unset_resources();
		res.memory_limit = 1 << 20;
		assert_int_equal(cgroup_apply(cg, &res, &err), -EBUSY);
		assert_non_null(strstr(err.msg, "resources: memory.limit_in_bytes: write 1048576: "
						"Device or resource busy"));
		assert_int_equal(atoll(get(pathf("%s/memory.limit_in_bytes", dir))), 24 << 20);
	}
	kill(f->child, SIGKILL);
	waitpid(f->child, NULL, 0);
	f->child = 0;
	assert_int_equal(cgroup_destroy(cg, &err), 0);
	cgroup_free(cg);
}

/* exit status: bit 0 /dev/null did not open, bit 1 /dev/zero was not refused with EPERM */
static int probe_devices(void *arg)
{
	int fd, ret = 0;

	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		ret |= 1;
	else
		close(fd);
	fd = open("/dev/zero", O_RDONLY | O_CLOEXEC);
	if (fd >= 0 || errno != EPERM)
		ret |= 2;
	if (fd >= 0)
		close(fd);
	return ret;
}

static void test_real_devices_v1(void **state)
{
	struct fixture *f = *state;
	struct spec_device_rule rules[] = {
	    {.allow = false, .type = 'a', .major = -1, .minor = -1, .access = "rwm"},
	    {.allow = true, .type = 'c', .major = 1, .minor = 3, .access = "rwm"},
	};
	struct spec_resources res = unset_resources();
	struct error err = {0};
	struct cgroup *cg;
	int status;

	if (!real_v1_available())
		skip(); /* needs root and this machine's cgroup v1 hierarchies */
	cg = real_cgroup(f);
	res.devices = rules;
	res.n_devices = ARRAY_SIZE(rules);
	if (cgroup_apply(cg, &res, &err) < 0)
		fail_msg("%s", err.msg);
	assert_string_equal(get(pathf("%s/devices.list", cgroup_find_hier(cg, "devices")->dir)),
			    "c 1:3 rwm\n");
	f->child = spawn_in(cg, probe_devices, NULL);
	assert_int_equal(waitpid(f->child, &status, 0), f->child);
	f->child = 0;
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(cgroup_destroy(cg, &err), 0);
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
	    cmocka_unit_test_setup_teardown(test_v1_apply_all, setup_v1, teardown_tree),
	    cmocka_unit_test_setup_teardown(test_v1_apply_memory_errors, setup_v1, teardown_tree),
	    cmocka_unit_test_setup_teardown(test_v1_stats, setup_v1, teardown_tree),
	    cmocka_unit_test_setup_teardown(test_v2_create_enter_destroy, setup_v2, teardown_tree),
	    cmocka_unit_test_setup_teardown(test_v2_freeze, setup_v2, teardown_tree),
	    cmocka_unit_test_setup_teardown(test_v2_pids_and_kill, setup_v2, teardown_tree),
	    cmocka_unit_test_setup_teardown(test_v2_apply, setup_v2, teardown_tree),
	    cmocka_unit_test_setup_teardown(test_v2_apply_all, setup_v2, teardown_tree),
	    cmocka_unit_test_setup_teardown(test_v2_stats, setup_v2, teardown_tree),
	    cmocka_unit_test_setup_teardown(test_real_v1, setup_real, teardown_real),
	    cmocka_unit_test_setup_teardown(test_real_cpu_quota, setup_real, teardown_real),
	    cmocka_unit_test_setup_teardown(test_real_oom, setup_real, teardown_real),
	    cmocka_unit_test_setup_teardown(test_real_fork_bomb, setup_real, teardown_real),
	    cmocka_unit_test_setup_teardown(test_real_memory_update, setup_real, teardown_real),
	    cmocka_unit_test_setup_teardown(test_real_devices_v1, setup_real, teardown_real),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
