/* Unit tests for runtime/process.c: each case runs in a forked child. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "runtime/process.h"
#include "util/cleanup.h"
#include "util/fd.h"

#define BIT(c) (UINT64_C(1) << (c))

/* Returns the text after "name:" in /proc/self/status, whitespace-trimmed, in buf. */
static int status_field(const char *name, char *buf, size_t len)
{
	char line[512];
	size_t n = strlen(name);
	FILE *f = fopen("/proc/self/status", "re");
	int r = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, name, n) != 0 || line[n] != ':')
			continue;
		char *v = line + n + 1;
		v += strspn(v, " \t");
		v[strcspn(v, "\n")] = '\0';
		while (*v && v[strlen(v) - 1] == ' ')
			v[strlen(v) - 1] = '\0';
		snprintf(buf, len, "%s", v);
		r = 0;
		break;
	}
	fclose(f);
	return r;
}

static int status_mask(const char *name, uint64_t *ret)
{
	char buf[64];
	unsigned long long v;

	if (status_field(name, buf, sizeof(buf)) < 0 || sscanf(buf, "%llx", &v) != 1)
		return -EINVAL;
	*ret = v;
	return 0;
}

/* Runs fn in a forked child; its struct error comes back in *ret_err. Returns the exit code. */
static int in_child(int (*fn)(const void *arg, struct error *err), const void *arg,
		    struct error *ret_err)
{
	int p[2], status;
	pid_t pid;

	memset(ret_err, 0, sizeof(*ret_err));
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* out of the way of the low fds that the exec cases set up */
		int out = fcntl(p[1], F_DUPFD_CLOEXEC, 100);
		struct error e = {0};

		close(p[0]);
		close(p[1]);
		int r = fn(arg, &e);
		fd_write_all(out, &e, sizeof(e));
		_exit(r < 0 ? 1 : r);
	}
	close(p[1]);
	if (fd_read_exact(p[0], ret_err, sizeof(*ret_err)) < 0)
		snprintf(ret_err->msg, sizeof(ret_err->msg), "child sent no result");
	close(p[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static void skip_unless_root(void)
{
	uint64_t eff = 0;

	/* setuid/setgid and capset need CAP_SETUID, CAP_SETGID, CAP_SETPCAP */
	if (getuid() != 0 || status_mask("CapEff", &eff) < 0 ||
	    (eff & (BIT(6) | BIT(7) | BIT(8))) != (BIT(6) | BIT(7) | BIT(8)))
		skip();
}

static char root_cwd[] = "/";

static void base_process(struct spec_process *p)
{
	memset(p, 0, sizeof(*p));
	p->cwd = root_cwd;
}

#define FAIL(err, ...) error_set(err, EINVAL, __VA_ARGS__)

/* --- rlimits, oom_score_adj, no_new_privs, umask ------------------------------------- */

static int prepare_basics(const void *arg, struct error *err)
{
	struct spec_rlimit rl[] = {
	    {.resource = RLIMIT_NOFILE, .soft = 512, .hard = 1024},
	    {.resource = RLIMIT_CORE, .soft = 0, .hard = 0},
	};
	struct spec_process p;
	struct rlimit got;
	char buf[64];

	base_process(&p);
	p.rlimits = rl;
	p.n_rlimits = ARRAY_SIZE(rl);
	p.has_oom_score_adj = true;
	p.oom_score_adj = 500;
	p.no_new_privileges = true;
	p.user.has_umask = true;
	p.user.umask = 027;
	if (process_prepare(&p, err) < 0)
		return 1;
	if (getrlimit(RLIMIT_NOFILE, &got) < 0 || got.rlim_cur != 512 || got.rlim_max != 1024)
		return FAIL(err, "RLIMIT_NOFILE %lu/%lu", got.rlim_cur, got.rlim_max), 2;
	if (getrlimit(RLIMIT_CORE, &got) < 0 || got.rlim_cur != 0 || got.rlim_max != 0)
		return FAIL(err, "RLIMIT_CORE %lu/%lu", got.rlim_cur, got.rlim_max), 3;
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		return FAIL(err, "no_new_privs not set"), 4;
	if (umask(0) != 027)
		return FAIL(err, "umask"), 5;
	int fd = open("/proc/self/oom_score_adj", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
	if (fd >= 0)
		close(fd);
	if (n <= 0 || (buf[n] = '\0', atoi(buf) != 500))
		return FAIL(err, "oom_score_adj"), 6;
	char cwd[64];
	if (!getcwd(cwd, sizeof(cwd)) || strcmp(cwd, "/") != 0)
		return FAIL(err, "cwd"), 7;
	return 0;
}

static void test_prepare_basics(void **state)
{
	struct error err;

	skip_unless_root();
	assert_int_equal(in_child(prepare_basics, NULL, &err), 0);
}

static int prepare_default_umask(const void *arg, struct error *err)
{
	struct spec_process p;

	base_process(&p);
	umask(077);
	if (process_prepare(&p, err) < 0)
		return 1;
	return umask(0) == 0022 ? 0 : 2;
}

static void test_default_umask(void **state)
{
	struct error err;

	skip_unless_root();
	assert_int_equal(in_child(prepare_default_umask, NULL, &err), 0);
}

/* Raising a hard limit without CAP_SYS_RESOURCE fails, and the error names the rlimit. */
static int prepare_rlimit_error(const void *arg, struct error *err)
{
	struct spec_rlimit rl = {.resource = RLIMIT_NOFILE, .soft = 100, .hard = 200};
	struct rlimit low = {.rlim_cur = 50, .rlim_max = 100};
	struct spec_process p;
	cap_t c = cap_get_proc();
	cap_value_t res = CAP_SYS_RESOURCE;

	if (!c || cap_set_flag(c, CAP_EFFECTIVE, 1, &res, CAP_CLEAR) < 0 || cap_set_proc(c) < 0)
		return FAIL(err, "drop CAP_SYS_RESOURCE"), 2;
	cap_free(c);
	if (setrlimit(RLIMIT_NOFILE, &low) < 0)
		return FAIL(err, "lower RLIMIT_NOFILE"), 2;
	base_process(&p);
	p.rlimits = &rl;
	p.n_rlimits = 1;
	return process_prepare(&p, err) < 0 ? 1 : 0;
}

static void test_rlimit_error(void **state)
{
	struct error err;

	skip_unless_root();
	assert_int_equal(in_child(prepare_rlimit_error, NULL, &err), 1);
	assert_string_equal(err.msg, "setrlimit RLIMIT_NOFILE: Operation not permitted");
}

/* --- user and capabilities ---------------------------------------------------------- */

static int check_ids(struct error *err)
{
	char buf[128];

	if (status_field("Uid", buf, sizeof(buf)) < 0 || strcmp(buf, "1000\t1000\t1000\t1000"))
		return FAIL(err, "Uid %s", buf), 2;
	if (status_field("Gid", buf, sizeof(buf)) < 0 || strcmp(buf, "1000\t1000\t1000\t1000"))
		return FAIL(err, "Gid %s", buf), 3;
	if (status_field("Groups", buf, sizeof(buf)) < 0 || strcmp(buf, "5 6"))
		return FAIL(err, "Groups '%s'", buf), 4;
	return 0;
}

static int prepare_user(const void *arg, struct error *err)
{
	const struct spec_caps *caps = arg;
	gid_t gids[] = {5, 6};
	struct spec_process p;
	uint64_t want = caps ? caps->effective : 0, v = 0;
	int r;

	base_process(&p);
	p.user.uid = 1000;
	p.user.gid = 1000;
	p.user.additional_gids = gids;
	p.user.n_additional_gids = ARRAY_SIZE(gids);
	if (caps) {
		p.has_caps = true;
		p.caps = *caps;
	}
	if (process_prepare(&p, err) < 0)
		return 1;
	r = check_ids(err);
	if (r)
		return r;
	if (status_mask("CapEff", &v) < 0 || v != want)
		return FAIL(err, "CapEff %llx", (unsigned long long)v), 5;
	if (status_mask("CapPrm", &v) < 0 || v != (caps ? caps->permitted : 0))
		return FAIL(err, "CapPrm %llx", (unsigned long long)v), 6;
	if (status_mask("CapAmb", &v) < 0 || v != (caps ? caps->ambient : 0))
		return FAIL(err, "CapAmb %llx", (unsigned long long)v), 7;
	if (caps && (status_mask("CapBnd", &v) < 0 || v != caps->bounding))
		return FAIL(err, "CapBnd %llx", (unsigned long long)v), 8;
	if (prctl(PR_GET_KEEPCAPS, 0, 0, 0, 0) != 0)
		return FAIL(err, "keepcaps left on"), 9;
	return 0;
}

static void test_user_no_caps(void **state)
{
	struct error err;

	skip_unless_root();
	assert_int_equal(in_child(prepare_user, NULL, &err), 0);
}

static void test_user_with_caps(void **state)
{
	const uint64_t nbs = BIT(10);
	struct spec_caps caps = {
	    .bounding = nbs,
	    .effective = nbs,
	    .permitted = nbs,
	    .inheritable = nbs,
	    .ambient = nbs,
	};
	struct error err;

	skip_unless_root();
	assert_int_equal(in_child(prepare_user, &caps, &err), 0);
}

/* --- cwd ---------------------------------------------------------------------------- */

static int prepare_missing_cwd(const void *arg, struct error *err)
{
	static char cwd[] = "/nonexistent-vessel-cwd";
	struct spec_process p;

	base_process(&p);
	p.cwd = cwd;
	return process_prepare(&p, err) < 0 ? 1 : 0;
}

static void test_cwd_missing(void **state)
{
	struct error err;

	skip_unless_root();
	assert_int_equal(in_child(prepare_missing_cwd, NULL, &err), 1);
	assert_string_equal(err.msg, "chdir /nonexistent-vessel-cwd: No such file or directory");
}

/* CVE-2024-21626: the working directory is a directory outside the root (as a leaked host fd
 * would give). Here: chroot into a fresh directory while holding an fd to /tmp, fchdir to it. */
static int prepare_unreachable_cwd(const void *arg, struct error *err)
{
	const char *root = arg;
	static char dot[] = ".";
	struct spec_process p;
	int outside = open("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (outside < 0 || chroot(root) < 0 || chdir("/") < 0 || fchdir(outside) < 0)
		return FAIL(err, "setup: %s", strerror(errno)), 2;
	base_process(&p);
	p.cwd = dot;
	return process_prepare(&p, err) < 0 ? 1 : 0;
}

static void test_cwd_unreachable(void **state)
{
	char root[] = "/tmp/vessel-test-process-XXXXXX";
	struct error err;
	int r;

	skip_unless_root();
	assert_non_null(mkdtemp(root));
	r = in_child(prepare_unreachable_cwd, root, &err);
	assert_int_equal(rmdir(root), 0);
	assert_int_equal(r, 1);
	assert_int_equal(err.code, ENOENT);
	assert_string_equal(err.msg, "cwd .: outside the container");
}

/* --- exec --------------------------------------------------------------------------- */

struct exec_case {
	const char *const *args;
	const char *const *env;
	int preserve_fds;
};

static int do_exec(const void *arg, struct error *err)
{
	const struct exec_case *c = arg;
	struct spec_process p;
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	int null = fd < 0 ? -1 : fcntl(fd, F_DUPFD_CLOEXEC, 50);

	/* fds 3 and 4 open without FD_CLOEXEC; the runtime's own env must not leak */
	close(fd);
	if (null < 0 || dup2(null, 3) != 3 || dup2(null, 4) != 4)
		return FAIL(err, "setup fds"), 2;
	setenv("VESSEL_LEAK", "1", 1);
	base_process(&p);
	p.args = (char **)c->args;
	p.env = (char **)c->env;
	process_exec(&p, c->preserve_fds, -1, err);
	return 1;
}

static void test_exec_path(void **state)
{
	static const char *const args[] = {"true", NULL};
	static const char *const env[] = {"PATH=/nonexistent:/usr/bin:/bin", NULL};
	struct exec_case c = {args, env, 0};
	struct error err;

	assert_int_equal(in_child(do_exec, &c, &err), 0);
	assert_string_equal(err.msg, "child sent no result");
}

static void test_exec_default_path_and_env(void **state)
{
	static const char *const args[] = {
	    "sh", "-c",
	    "test \"$FOO\" = bar && test -z \"$VESSEL_LEAK\" && test -e /proc/self/fd/3 && "
	    "! test -e /proc/self/fd/4",
	    NULL};
	static const char *const env[] = {"FOO=bar", NULL};
	struct exec_case c = {args, env, 1};
	struct error err;

	assert_int_equal(in_child(do_exec, &c, &err), 0);
}

static void test_exec_missing(void **state)
{
	static const char *const args[] = {"vessel-no-such-binary", NULL};
	static const char *const abs_args[] = {"/nonexistent/vessel", NULL};
	static const char *const env[] = {"PATH=/usr/bin:/bin", NULL};
	struct exec_case c = {args, env, 0};
	struct error err;

	assert_int_equal(in_child(do_exec, &c, &err), 1);
	assert_int_equal(err.code, ENOENT);
	assert_string_equal(err.msg, "exec vessel-no-such-binary: No such file or directory");
	c.args = abs_args;
	assert_int_equal(in_child(do_exec, &c, &err), 1);
	assert_string_equal(err.msg, "exec /nonexistent/vessel: No such file or directory");
}

static void test_exec_not_executable(void **state)
{
	static const char *const args[] = {"passwd", NULL};
	static const char *const env[] = {"PATH=/etc", NULL};
	struct exec_case c = {args, env, 0};
	struct error err;

	/* /etc/passwd exists but is not executable (root's access(X_OK) needs an x bit) */
	assert_int_equal(in_child(do_exec, &c, &err), 1);
	assert_int_equal(err.code, EACCES);
	assert_string_equal(err.msg, "exec passwd: Permission denied");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_prepare_basics),
	    cmocka_unit_test(test_default_umask),
	    cmocka_unit_test(test_rlimit_error),
	    cmocka_unit_test(test_user_no_caps),
	    cmocka_unit_test(test_user_with_caps),
	    cmocka_unit_test(test_cwd_missing),
	    cmocka_unit_test(test_cwd_unreachable),
	    cmocka_unit_test(test_exec_path),
	    cmocka_unit_test(test_exec_default_path_and_env),
	    cmocka_unit_test(test_exec_missing),
	    cmocka_unit_test(test_exec_not_executable),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
