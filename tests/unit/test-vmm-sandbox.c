/* sandbox: each thread kind may make the calls its work needs and traps on the others. Every
 * case runs in a forked child (a filter cannot be removed). */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "vmm/sandbox.h"

enum probe {
	P_PIPE,
	P_MMAP_RW,
	P_UNIX_SOCKET,
	P_OPEN,
	P_MMAP_EXEC,
	P_INET_SOCKET,
	P_IOCTL_TTY,
	P_EXECVE
};

/* 0 when the call was allowed; the child dies with status 1 (and a report) when it traps. */
static int probe(enum probe p)
{
	int fds[2];
	void *m;

	switch (p) {
	case P_PIPE: /* pipe2 is not allowed, so make the fds before entering */
		return 0;
	case P_MMAP_RW:
		m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		return m == MAP_FAILED ? 2 : munmap(m, 4096) ? 3 : 0;
	case P_UNIX_SOCKET:
		fds[0] = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		return fds[0] < 0 ? 2 : close(fds[0]) ? 3 : 0;
	case P_OPEN:
		return open("/etc/hostname", O_RDONLY | O_CLOEXEC) < 0 ? 2 : 0;
	case P_MMAP_EXEC:
		m = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		return m == MAP_FAILED ? 2 : 0;
	case P_INET_SOCKET:
		return socket(AF_INET, SOCK_STREAM, 0) < 0 ? 2 : 0;
	case P_IOCTL_TTY: {
		int n;
		return ioctl(0, FIONREAD, &n) < 0 && errno != ENOTTY && errno != EINVAL ? 2 : 0;
	}
	case P_EXECVE:
		execl("/bin/true", "true", (char *)NULL);
		return 2;
	}
	return 4;
}

/* Exit status of a child that enters kind's sandbox and then runs p; stderr goes to err_fd. */
static int run(enum sandbox_thread kind, enum probe p, int err_fd)
{
	pid_t pid = fork();
	int status;

	assert_true(pid >= 0);
	if (pid == 0) {
		struct error err;
		int out[2];
		if (pipe2(out, O_CLOEXEC) < 0)
			_exit(5);
		dup2(err_fd, STDERR_FILENO);
		if (sandbox_install_report(&err) < 0 || sandbox_enter(kind, &err) < 0)
			_exit(6);
		if (write(out[1], "x", 1) != 1 || close(out[1]) < 0)
			_exit(7); /* write and close: every thread may */
		_exit(probe(p));
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static void test_allowed(void **state)
{
	(void)state;
	assert_int_equal(run(SANDBOX_IO, P_PIPE, 2), 0);
	assert_int_equal(run(SANDBOX_IO, P_MMAP_RW, 2), 0);
	assert_int_equal(run(SANDBOX_VCPU, P_MMAP_RW, 2), 0);
	assert_int_equal(run(SANDBOX_IO, P_UNIX_SOCKET, 2), 0);
}

/* A trapped call ends the child with 1 and names the call on stderr. */
static void expect_trap(enum sandbox_thread kind, enum probe p, long nr)
{
	char buf[256] = "", want[64];
	int fds[2];
	ssize_t n;

	assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
	assert_int_equal(run(kind, p, fds[1]), 1);
	close(fds[1]);
	n = read(fds[0], buf, sizeof(buf) - 1);
	close(fds[0]);
	assert_true(n > 0);
	snprintf(want, sizeof(want), "forbidden system call %ld\n", nr);
	assert_non_null(strstr(buf, want));
}

static void test_forbidden(void **state)
{
	(void)state;
	expect_trap(SANDBOX_IO, P_OPEN, SYS_openat);
	expect_trap(SANDBOX_VCPU, P_OPEN, SYS_openat);
	expect_trap(SANDBOX_IO, P_MMAP_EXEC, SYS_mmap);
	expect_trap(SANDBOX_VCPU, P_INET_SOCKET, SYS_socket);
	expect_trap(SANDBOX_IO, P_IOCTL_TTY, SYS_ioctl);
	expect_trap(SANDBOX_VCPU, P_EXECVE, SYS_execve);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_allowed),
	    cmocka_unit_test(test_forbidden),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
