/* Unit tests for runtime/console.c */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cmocka.h>

#include "runtime/console.h"
#include "util/fd.h"

/* The child's view after console_setup(): 0 ok, else a step number (stderr is the pty). */
static int child_check(void)
{
	struct winsize ws;

	if (!isatty(0) || !isatty(1) || !isatty(2))
		return 3;
	if (ioctl(0, TIOCGWINSZ, &ws) < 0 || ws.ws_row != 24 || ws.ws_col != 80)
		return 4;
	if (tcgetpgrp(0) != getpgrp())
		return 5; /* the slave is our controlling terminal */
	if (fd_write_all(1, "hello", 5) < 0)
		return 6;
	return 0;
}

static void run_child(int sock, int report, int wait_fd)
{
	struct spec_process p = {.terminal = true, .console_width = 80, .console_height = 24};
	struct error err = {0};
	int r;
	char c;

	if (setsid() < 0)
		_exit(2);
	if (console_setup(sock, &p, false, &err) < 0) {
		fd_write_all(report, err.msg, strlen(err.msg));
		_exit(1);
	}
	r = child_check();
	/* hold the slave open until the parent has read */
	if (read(wait_fd, &c, 1) < 0)
		r = 7;
	_exit(r);
}

static void test_setup(void **state)
{
	int sv[2], rep[2], hold[2], status, master;
	struct error err = {0};
	char buf[64] = "", msg[1024] = "";
	struct winsize ws;
	size_t got = 0;
	pid_t pid;

	if (access("/dev/ptmx", R_OK | W_OK) < 0)
		skip();
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(pipe2(rep, O_CLOEXEC), 0);
	assert_int_equal(pipe2(hold, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(sv[0]);
		close(rep[0]);
		close(hold[1]);
		run_child(sv[1], rep[1], hold[0]);
	}
	close(sv[1]);
	close(rep[1]);
	close(hold[0]);

	master = fd_recv(sv[0], &err);
	if (master < 0) {
		ssize_t n = read(rep[0], msg, sizeof(msg) - 1);
		print_error("child: %s (%zd)\n", msg, n);
	}
	assert_true(master >= 0);
	assert_true(fcntl(master, F_GETFD) & FD_CLOEXEC);
	assert_true(isatty(master));
	while (got < 5) {
		struct pollfd pfd = {.fd = master, .events = POLLIN};
		assert_int_equal(poll(&pfd, 1, 5000), 1);
		ssize_t n = read(master, buf + got, sizeof(buf) - 1 - got);
		assert_true(n > 0);
		got += (size_t)n;
	}
	assert_string_equal(buf, "hello");
	assert_int_equal(ioctl(master, TIOCGWINSZ, &ws), 0);
	assert_int_equal(ws.ws_row, 24);
	assert_int_equal(ws.ws_col, 80);

	close(hold[1]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	close(master);
	close(sv[0]);
	close(rep[0]);
}

static void test_setup_bad_socket(void **state)
{
	struct spec_process p = {.terminal = true};
	struct error err = {0};
	int rep[2], status;
	char msg[1024] = "";
	pid_t pid;

	if (access("/dev/ptmx", R_OK | W_OK) < 0)
		skip();
	assert_int_equal(pipe2(rep, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
		setsid();
		/* not a socket: sending the master fails, and nothing of the terminal is set up */
		if (console_setup(null, &p, false, &err) < 0) {
			fd_write_all(rep[1], err.msg, strlen(err.msg));
			_exit(isatty(0) ? 2 : 1);
		}
		_exit(0);
	}
	close(rep[1]);
	assert_true(read(rep[0], msg, sizeof(msg) - 1) > 0);
	close(rep[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 1);
	assert_string_equal(msg, "console socket: send fd: Socket operation on non-socket");
}

static void test_connect(void **state)
{
	char dir[] = "/tmp/vessel-test-console-XXXXXX";
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	struct error err = {0};
	char long_path[200];
	int l, c, a;

	assert_non_null(mkdtemp(dir));
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s/sock", dir);
	l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(l >= 0);
	assert_int_equal(bind(l, (struct sockaddr *)&addr, sizeof(addr)), 0);
	assert_int_equal(listen(l, 1), 0);

	c = console_connect(addr.sun_path, &err);
	assert_true(c >= 0);
	assert_true(fcntl(c, F_GETFD) & FD_CLOEXEC);
	a = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	assert_true(a >= 0);
	/* the connection works both ways for SCM_RIGHTS */
	assert_int_equal(fd_send(c, 0, &err), 0);
	int fd = fd_recv(a, &err);
	assert_true(fd >= 0);
	close(fd);
	close(a);
	close(c);
	close(l);
	assert_int_equal(unlink(addr.sun_path), 0);

	assert_int_equal(console_connect(addr.sun_path, &err), -ENOENT);
	assert_non_null(strstr(err.msg, addr.sun_path));
	assert_int_equal(rmdir(dir), 0);

	memset(long_path, 'a', sizeof(long_path) - 1);
	long_path[0] = '/';
	long_path[sizeof(long_path) - 1] = '\0';
	assert_int_equal(console_connect(long_path, &err), -ENAMETOOLONG);
	assert_non_null(strstr(err.msg, "path too long"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_setup),
	    cmocka_unit_test(test_setup_bad_socket),
	    cmocka_unit_test(test_connect),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
