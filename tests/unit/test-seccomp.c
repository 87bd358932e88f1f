/* Unit tests for runtime/seccomp.c. Filters are only ever installed in forked children. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <seccomp.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "runtime/seccomp.h"

/* Skips the calling test when libseccomp's API level (what the kernel supports, as libseccomp
 * detects it) is below level: 2 is the seccomp(2) syscall (valgrind only emulates prctl), 3
 * KILL_PROCESS and LOG, 5 NOTIFY. */
#define REQUIRE_API(level)                                                                         \
	do {                                                                                       \
		if (seccomp_api_get() < (level)) {                                                 \
			print_message("libseccomp API level %u < %u\n", seccomp_api_get(),         \
				      (level));                                                    \
			skip();                                                                    \
		}                                                                                  \
	} while (0)

/* ---- compile errors ---- */

static const struct {
	const char *json;
	const char *msg; /* the whole message, or its start when it ends in '*' */
} bad[] = {
    {"{", "linux.seccomp: 1:2: unexpected end of data"},
    {"[]", "linux.seccomp: the top level must be a JSON object"},
    {"{}", "linux.seccomp.defaultAction: is required"},
    {"{\"defaultAction\":1}", "linux.seccomp.defaultAction: must be a string"},
    {"{\"defaultAction\":\"SCMP_ACT_NOPE\"}",
     "linux.seccomp.defaultAction: unknown action \"SCMP_ACT_NOPE\""},
    {"{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":70000}",
     "linux.seccomp.defaultErrnoRet: out of range (0..65535)"},
    {"{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":-1}",
     "linux.seccomp.defaultErrnoRet: out of range (0..65535)"},
    {"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"architectures\":\"SCMP_ARCH_X86\"}",
     "linux.seccomp.architectures: must be an array"},
    {"{\"defaultAction\":\"SCMP_ACT_ALLOW\","
     "\"architectures\":[\"SCMP_ARCH_X86_64\",\"SCMP_ARCH_Z80\"]}",
     "linux.seccomp.architectures[1]: unknown architecture \"SCMP_ARCH_Z80\""},
    {"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"flags\":[\"SECCOMP_FILTER_FLAG_FOO\"]}",
     "linux.seccomp.flags[0]: unknown flag \"SECCOMP_FILTER_FLAG_FOO\""},
    {"{\"defaultAction\":\"SCMP_ACT_ALLOW\","
     "\"flags\":[\"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV\"]}",
     "linux.seccomp.flags[0]: SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV is not supported*"},
    {"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"listenerPath\":7}",
     "linux.seccomp.listenerPath: must be a string"},
    {"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":{}}",
     "linux.seccomp.syscalls: must be an array"},
    {"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[\"read\"]}",
     "linux.seccomp.syscalls[0]: must be an object"},
    {"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],"
     "\"action\":\"SCMP_ACT_ERRNO\"},{},{},{\"names\":[\"read\"],\"action\":\"SCMP_ACT_FOO\"}]}",
     "linux.seccomp.syscalls[1].action: is required"},
    {"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],"
     "\"action\":\"SCMP_ACT_ERRNO\"},{\"names\":[],\"action\":\"SCMP_ACT_LOG\"},"
     "{\"names\":[\"a\"],\"action\":\"SCMP_ACT_TRAP\"},"
     "{\"names\":[\"read\"],\"action\":\"SCMP_ACT_FOO\"}]}",
     "linux.seccomp.syscalls[3].action: unknown action \"SCMP_ACT_FOO\""},
    {"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"action\":\"SCMP_ACT_ERRNO\"}]}",
     "linux.seccomp.syscalls[0].names: is required"},
    {"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":\"read\","
     "\"action\":\"SCMP_ACT_ERRNO\"}]}",
     "linux.seccomp.syscalls[0].names: must be an array"},
    {"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\",3],"
     "\"action\":\"SCMP_ACT_ERRNO\"}]}",
     "linux.seccomp.syscalls[0].names[1]: must be a string"},
    {"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"re\\u0000ad\"],"
     "\"action\":\"SCMP_ACT_ERRNO\"}]}",
     "linux.seccomp.syscalls[0].names[0]: must not contain NUL"},
    {"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],"
     "\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":\"EPERM\"}]}",
     "linux.seccomp.syscalls[0].errnoRet: must be an integer"},
    {"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],"
     "\"action\":\"SCMP_ACT_ERRNO\",\"args\":[{\"index\":0,\"value\":1,\"op\":\"SCMP_CMP_XX\"}]}]}",
     "linux.seccomp.syscalls[0].args[0].op: unknown operator \"SCMP_CMP_XX\""},
    {"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],"
     "\"action\":\"SCMP_ACT_ERRNO\",\"args\":[{\"index\":1,\"value\":1,\"op\":\"SCMP_CMP_EQ\"},"
     "{\"index\":6,\"value\":1,\"op\":\"SCMP_CMP_EQ\"}]}]}",
     "linux.seccomp.syscalls[0].args[1].index: out of range (0..5)"},
    {"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],"
     "\"action\":\"SCMP_ACT_ERRNO\",\"args\":[{\"index\":0,\"op\":\"SCMP_CMP_EQ\"}]}]}",
     "linux.seccomp.syscalls[0].args[0].value: is required"},
    {"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],"
     "\"action\":\"SCMP_ACT_ERRNO\",\"args\":[{\"index\":0,\"value\":-5,\"op\":\"SCMP_CMP_EQ\"}]}]"
     "}",
     "linux.seccomp.syscalls[0].args[0].value: out of range*"},
    {"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],"
     "\"action\":\"SCMP_ACT_ERRNO\",\"args\":[1]}]}",
     "linux.seccomp.syscalls[0].args[0]: must be an object"},
    {"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],"
     "\"action\":\"SCMP_ACT_ERRNO\",\"args\":[{},{},{},{},{},{},{}]}]}",
     "linux.seccomp.syscalls[0].args: too many entries (7, at most 6)"},
    {"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],"
     "\"action\":\"SCMP_ACT_NOTIFY\"}]}",
     "linux.seccomp.syscalls[0].action: SCMP_ACT_NOTIFY requires linux.seccomp.listenerPath"},
    {"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"listenerPath\":\"/run/l.sock\","
     "\"syscalls\":[{\"names\":[\"read\",\"write\"],\"action\":\"SCMP_ACT_NOTIFY\"}]}",
     "linux.seccomp.syscalls[0].names[1]: SCMP_ACT_NOTIFY cannot be used for \"write\""},
    {"{\"defaultAction\":\"SCMP_ACT_NOTIFY\",\"listenerPath\":\"/run/l.sock\"}",
     "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action"},
    {"{\"defaultAction\":\"SCMP_ACT_ALLOW\"} []", "linux.seccomp: 1:36: unexpected character"},
};

static bool msg_matches(const char *msg, const char *want)
{
	size_t n = strlen(want);

	if (n && want[n - 1] == '*')
		return strncmp(msg, want, n - 1) == 0;
	return strcmp(msg, want) == 0;
}

static void test_compile_errors(void **state)
{
	REQUIRE_API(3u);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct error err = {0};
		struct seccomp_prog *p = seccomp_compile(bad[i].json, &err);

		if (p || !msg_matches(err.msg, bad[i].msg))
			fail_msg("profile %zu: got %s \"%s\", want \"%s\"", i, p ? "success" : "",
				 err.msg, bad[i].msg);
		assert_true(err.code > 0);
	}
}

static void test_null_profile(void **state)
{
	struct error err = {0};

	assert_null(seccomp_compile(NULL, &err));
	assert_int_equal(err.code, EINVAL);
}

/* Appends "{...}," n times to a profile and closes it. Returns owned. */
static char *many_entries(size_t n, const char *entry)
{
	const char *head = "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[";
	size_t len = strlen(head) + n * (strlen(entry) + 1) + 3;
	char *s = malloc(len), *q = s;

	assert_non_null(s);
	q = stpcpy(q, head);
	for (size_t i = 0; i < n; i++) {
		q = stpcpy(q, entry);
		*q++ = i + 1 < n ? ',' : ']';
	}
	strcpy(q, "}");
	return s;
}

static void test_too_many_entries(void **state)
{
	const char *entry = "{\"names\":[\"getppid\"],\"action\":\"SCMP_ACT_ERRNO\"}";
	struct error err = {0};
	char *s = many_entries(SECCOMP_MAX_SYSCALLS + 1, entry);
	struct seccomp_prog *p = seccomp_compile(s, &err);

	assert_null(p);
	assert_string_equal(err.msg,
			    "linux.seccomp.syscalls: too many entries (1025, at most 1024)");
	free(s);
	s = many_entries(SECCOMP_MAX_SYSCALLS, entry);
	p = seccomp_compile(s, &err);
	assert_non_null(p);
	seccomp_prog_free(p);
	free(s);
}

/* A filter the kernel would refuse (over 4096 BPF instructions) fails at compile time. */
static void test_program_too_large(void **state)
{
	size_t cap = 1 << 20, off = 0;
	char *s = malloc(cap);
	struct error err = {0};
	int n = 0;

	assert_non_null(s);
	off += snprintf(s, cap, "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[");
	for (int nr = 0; nr < 450 && off < cap - 512; nr++) {
		char *name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
		if (!name)
			continue;
		off +=
		    snprintf(s + off, cap - off,
			     "%s{\"names\":[\"%s\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":%d,"
			     "\"args\":[{\"index\":1,\"value\":%d,\"op\":\"SCMP_CMP_GT\"},"
			     "{\"index\":2,\"value\":%d,\"op\":\"SCMP_CMP_MASKED_EQ\","
			     "\"valueTwo\":1}]}",
			     n++ ? "," : "", name, nr % 4000 + 1, nr, nr + 1);
		free(name);
	}
	snprintf(s + off, cap - off, "]}");
	assert_null(seccomp_compile(s, &err));
	assert_int_equal(err.code, E2BIG);
	assert_non_null(strstr(err.msg, "the kernel takes 4096"));
	free(s);
}

static void test_compile_ok(void **state)
{
	REQUIRE_API(5u);
	const char *json =
	    "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":38,"
	    "\"architectures\":[\"SCMP_ARCH_X86_64\",\"SCMP_ARCH_X86\",\"SCMP_ARCH_X32\","
	    "\"SCMP_ARCH_AARCH64\"],"
	    "\"flags\":[\"SECCOMP_FILTER_FLAG_TSYNC\",\"SECCOMP_FILTER_FLAG_LOG\","
	    "\"SECCOMP_FILTER_FLAG_SPEC_ALLOW\"],"
	    "\"listenerPath\":\"/run/notify.sock\",\"listenerMetadata\":\"meta\",\"unknownKey\":1,"
	    "\"syscalls\":["
	    /* unknown names are skipped, known ones still count */
	    "{\"names\":[\"no_such_syscall\",\"read\",\"write\"],\"action\":\"SCMP_ACT_ALLOW\"},"
	    /* a rule with the default action is skipped, not refused */
	    "{\"names\":[\"getpid\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":38},"
	    "{\"names\":[\"mkdirat\"],\"action\":\"SCMP_ACT_NOTIFY\"},"
	    "{\"names\":[\"kill\"],\"action\":\"SCMP_ACT_KILL_PROCESS\",\"errnoRet\":5},"
	    "{\"names\":[\"tkill\"],\"action\":\"SCMP_ACT_TRACE\",\"errnoRet\":7},"
	    "{\"names\":[\"socket\"],\"action\":\"SCMP_ACT_LOG\",\"args\":["
	    "{\"index\":0,\"value\":18446744073709551615,\"op\":\"SCMP_CMP_LE\"}]},"
	    "{\"names\":[\"fchmod\"],\"action\":\"SCMP_ACT_TRAP\",\"args\":null}]}";
	struct error err = {0};
	struct seccomp_prog *p = seccomp_compile(json, &err);

	if (!p)
		fail_msg("%s", err.msg);
	assert_true(seccomp_has_notify(p));
	assert_string_equal(seccomp_listener_path(p), "/run/notify.sock");
	assert_string_equal(seccomp_listener_metadata(p), "meta");
	seccomp_prog_free(p);
	seccomp_prog_free(NULL);

	/* NOTIFY for names libseccomp does not know: no rule, so no listener either */
	p = seccomp_compile("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"listenerPath\":\"/l\","
			    "\"syscalls\":[{\"names\":[\"nope\"],\"action\":\"SCMP_ACT_NOTIFY\"}]}",
			    &err);
	assert_non_null(p);
	assert_false(seccomp_has_notify(p));
	assert_string_equal(seccomp_listener_path(p), "/l");
	seccomp_prog_free(p);

	p = seccomp_compile("{\"defaultAction\":\"SCMP_ACT_KILL\",\"syscalls\":[]}", &err);
	assert_non_null(p);
	assert_false(seccomp_has_notify(p));
	assert_null(seccomp_listener_path(p));
	assert_null(seccomp_listener_metadata(p));
	seccomp_prog_free(p);
}

static void test_default_profile_compiles(void **state)
{
	struct error err = {0};
	char *json = seccomp_default_json();
	struct seccomp_prog *p;

	assert_non_null(json);
	assert_non_null(strstr(json, "\"SCMP_ACT_ERRNO\""));
	p = seccomp_compile(json, &err);
	if (!p)
		fail_msg("%s", err.msg);
	assert_false(seccomp_has_notify(p));
	seccomp_prog_free(p);
	free(json);
}

/* ---- installed, in forked children ---- */

/* Child checks: a failed one exits with its line number. */
#define CHECK(x)                                                                                   \
	do {                                                                                       \
		if (!(x)) {                                                                        \
			dprintf(2, "child: %s:%d: %s (errno %d)\n", __FILE__, __LINE__, #x,        \
				errno);                                                            \
			_exit(__LINE__ & 0x7f ? __LINE__ & 0x7f : 1);                              \
		}                                                                                  \
	} while (0)

/* Compiles and installs json in the calling (child) process; exits on failure. */
static void child_install(const char *json, int *ret_listener)
{
	struct rlimit no_core = {0, 0};
	struct error err = {0};
	struct seccomp_prog *p = seccomp_compile(json, &err);

	setrlimit(RLIMIT_CORE, &no_core);
	if (!p || seccomp_install(p, ret_listener, &err) < 0) {
		dprintf(2, "child: %s\n", err.msg);
		_exit(126);
	}
	seccomp_prog_free(p);
}

/* Runs fn in a child; returns its wait status. */
static int run_child(void (*fn)(void))
{
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		fn();
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

static void assert_child_ok(void (*fn)(void))
{
	int status = run_child(fn);

	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("child: status 0x%x (exit %d, signal %d)", status,
			 WIFEXITED(status) ? WEXITSTATUS(status) : -1,
			 WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

static void child_errno(void)
{
	child_install("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":["
		      "{\"names\":[\"mkdirat\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":38},"
		      "{\"names\":[\"fchdir\",\"bogus_call\"],\"action\":\"SCMP_ACT_ERRNO\"}]}",
		      NULL);
	errno = 0;
	CHECK(syscall(SYS_mkdirat, AT_FDCWD, "/nonexistent-h8/x", 0700) == -1 && errno == ENOSYS);
	errno = 0;
	CHECK(syscall(SYS_fchdir, 0) == -1 && errno == EPERM); /* errnoRet defaults to EPERM */
	CHECK(syscall(SYS_getpid) == getpid());
	/* the filter does not set no_new_privs: that is process.noNewPrivileges' business */
	CHECK(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 0);
}

static void test_install_errno(void **state)
{
	REQUIRE_API(2u);
	assert_child_ok(child_errno);
}

static void child_args(void)
{
	int fd;

	child_install(
	    "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":["
	    /* personality: only the query 0xffffffff passes */
	    "{\"names\":[\"personality\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":13,\"args\":["
	    "{\"index\":0,\"value\":4294967295,\"op\":\"SCMP_CMP_NE\"}]},"
	    /* distinct indexes: AND */
	    "{\"names\":[\"dup3\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":18,\"args\":["
	    "{\"index\":0,\"value\":0,\"op\":\"SCMP_CMP_EQ\"},"
	    "{\"index\":2,\"value\":524288,\"valueTwo\":524288,\"op\":\"SCMP_CMP_MASKED_EQ\"}]},"
	    /* a repeated index: one rule per condition, OR */
	    "{\"names\":[\"getpriority\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":18,\"args\":["
	    "{\"index\":1,\"value\":123456,\"op\":\"SCMP_CMP_EQ\"},"
	    "{\"index\":1,\"value\":234567,\"op\":\"SCMP_CMP_EQ\"}]}]}",
	    NULL);
	CHECK(syscall(SYS_personality, 0xffffffffUL) >= 0);
	errno = 0;
	CHECK(syscall(SYS_personality, PER_LINUX32) == -1 && errno == EACCES);
	errno = 0;
	CHECK(syscall(SYS_dup3, 0, 100, O_CLOEXEC) == -1 && errno == EXDEV);
	CHECK((fd = (int)syscall(SYS_dup3, 0, 100, 0)) == 100);
	close(fd);
	CHECK((fd = (int)syscall(SYS_dup3, 1, 101, O_CLOEXEC)) == 101);
	close(fd);
	errno = 0;
	CHECK(syscall(SYS_getpriority, PRIO_PROCESS, 123456) == -1 && errno == EXDEV);
	errno = 0;
	CHECK(syscall(SYS_getpriority, PRIO_PROCESS, 234567) == -1 && errno == EXDEV);
	CHECK(syscall(SYS_getpriority, PRIO_PROCESS, 0) >= 0);
}

static void test_install_args(void **state)
{
	REQUIRE_API(2u);
	assert_child_ok(child_args);
}

static void child_kill(void)
{
	child_install("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":["
		      "{\"names\":[\"getppid\"],\"action\":\"SCMP_ACT_KILL_PROCESS\"}]}",
		      NULL);
	syscall(SYS_getppid);
	_exit(3);
}

static void test_install_kill_process(void **state)
{
	int status;

	REQUIRE_API(3u);
	status = run_child(child_kill);
	if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGSYS)
		fail_msg("child: status 0x%x, want SIGSYS", status);
}

static void child_notify(void)
{
	struct seccomp_notif *req = NULL;
	struct seccomp_notif_resp *resp = NULL;
	int listener = -1, status;
	pid_t pid;

	child_install("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"listenerPath\":\"/run/x.sock\","
		      "\"syscalls\":[{\"names\":[\"mkdirat\"],\"action\":\"SCMP_ACT_NOTIFY\"}]}",
		      &listener);
	CHECK(listener >= 0);
	CHECK(fcntl(listener, F_GETFD) & FD_CLOEXEC);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		errno = 0;
		long r = syscall(SYS_mkdirat, AT_FDCWD, "/nonexistent-h8/y", 0700);
		_exit(r == -1 && errno == EXDEV ? 0 : 1);
	}
	CHECK(seccomp_notify_alloc(&req, &resp) == 0);
	CHECK(seccomp_notify_receive(listener, req) == 0);
	CHECK(req->data.nr == SYS_mkdirat && req->pid == (uint32_t)pid);
	resp->id = req->id;
	resp->error = -EXDEV;
	resp->val = 0;
	resp->flags = 0;
	CHECK(seccomp_notify_respond(listener, resp) == 0);
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
	seccomp_notify_free(req, resp);
}

static void test_install_notify(void **state)
{
	REQUIRE_API(5u);
	assert_child_ok(child_notify);
}

/* Without no_new_privs and without CAP_SYS_ADMIN the kernel refuses the filter. */
static void child_no_privilege(void)
{
	struct error err = {0};
	struct seccomp_prog *p =
	    seccomp_compile("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":["
			    "{\"names\":[\"getppid\"],\"action\":\"SCMP_ACT_ERRNO\"}]}",
			    &err);
	cap_value_t admin = CAP_SYS_ADMIN;
	cap_t caps = cap_get_proc();
	int listener = 5;

	CHECK(p && caps);
	CHECK(cap_set_flag(caps, CAP_EFFECTIVE, 1, &admin, CAP_CLEAR) == 0);
	CHECK(cap_set_proc(caps) == 0);
	CHECK(seccomp_install(p, &listener, &err) == -EACCES);
	CHECK(listener == -1);
	CHECK(strstr(err.msg, "seccomp: load filter: Permission denied") == err.msg);
	CHECK(syscall(SYS_getppid) == getppid()); /* nothing was loaded */
	cap_free(caps);
	seccomp_prog_free(p);
}

static void test_install_needs_privilege(void **state)
{
	REQUIRE_API(2u);
	if (geteuid() != 0)
		skip(); /* needs CAP_SYS_ADMIN to drop */
	assert_child_ok(child_no_privilege);
}

static void *thread_fn(void *arg)
{
	return arg;
}

static void child_default_profile(void)
{
	char *json = seccomp_default_json();
	void *ret = NULL;
	pthread_t t;
	int fd, status;
	pid_t pid;

	CHECK(json);
	CHECK(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0);
	child_install(json, NULL);
	free(json);
	errno = 0;
	CHECK(unshare(CLONE_NEWNS) == -1 && errno == EPERM);
	errno = 0;
	CHECK(syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -3, 0) == -1 && errno == EPERM);
	errno = 0;
	CHECK(mount("none", "/nonexistent-h8", "tmpfs", 0, NULL) == -1 && errno == EPERM);
	errno = 0;
	CHECK(syscall(SYS_bpf, 0, NULL, 0) == -1 && errno == EPERM);
	errno = 0;
	CHECK(syscall(SYS_setns, 0, 0) == -1 && errno == EPERM);
	errno = 0;
	CHECK(syscall(SYS_clone3, NULL, 0) == -1 && errno == ENOSYS);
	errno = 0; /* clone with a namespace flag is refused before it forks */
	CHECK(syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0) == -1 && errno == EPERM);
	errno = 0;
	CHECK(personality(ADDR_NO_RANDOMIZE) == -1 && errno == EPERM);
	CHECK(personality(0xffffffff) >= 0);
	CHECK(syscall(SYS_getpid) == getpid());
	CHECK((fd = open("/dev/null", O_WRONLY | O_CLOEXEC)) >= 0);
	CHECK(write(fd, "x", 1) == 1);
	close(fd);
	pid = fork(); /* glibc: clone(SIGCHLD | CLONE_CHILD_*) */
	CHECK(pid >= 0);
	if (pid == 0)
		_exit(7);
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 7);
	/* glibc tries clone3, gets ENOSYS and falls back to clone */
	CHECK(pthread_create(&t, NULL, thread_fn, &status) == 0);
	CHECK(pthread_join(t, &ret) == 0 && ret == &status);
}

static void test_install_default_profile(void **state)
{
	REQUIRE_API(2u);
	assert_child_ok(child_default_profile);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_compile_errors),
	    cmocka_unit_test(test_null_profile),
	    cmocka_unit_test(test_too_many_entries),
	    cmocka_unit_test(test_program_too_large),
	    cmocka_unit_test(test_compile_ok),
	    cmocka_unit_test(test_default_profile_compiles),
	    cmocka_unit_test(test_install_errno),
	    cmocka_unit_test(test_install_args),
	    cmocka_unit_test(test_install_kill_process),
	    cmocka_unit_test(test_install_notify),
	    cmocka_unit_test(test_install_needs_privilege),
	    cmocka_unit_test(test_install_default_profile),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
