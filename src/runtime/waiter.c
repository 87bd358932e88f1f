/* waiter: see waiter.h */
#include "runtime/waiter.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fd.h"

static const int forwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};

static int exit_status(int wstatus)
{
	if (WIFEXITED(wstatus))
		return WEXITSTATUS(wstatus);
	if (WIFSIGNALED(wstatus))
		return 128 + WTERMSIG(wstatus);
	return 255;
}

static void copy_winsize(int master)
{
	struct winsize ws;

	if (master >= 0 && ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0)
		ioctl(master, TIOCSWINSZ, &ws);
}

/* Copies what is readable from in to out; false at EOF or error (a pty master says EIO once
 * the last slave fd is closed). */
static bool pump(int in, int out)
{
	char buf[8192];
	ssize_t n = read(in, buf, sizeof(buf));

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return true;
	if (n <= 0)
		return false;
	return fd_write_all(out, buf, (size_t)n) == 0;
}

/* With a master: a signal for the job is for the pty (WINCH resizes it, the rest go to the
 * process); without, every signal goes to the process. */
static void on_signal(pid_t pid, int master, int sig)
{
	if (sig == SIGWINCH && master >= 0)
		copy_winsize(master);
	else if (sig != SIGCHLD)
		kill(pid, sig);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The timeout: SIGTERM when it expires, SIGKILL WAITER_GRACE_MS later. Returns the poll
 * timeout until the next step (-1: none). */
static int timeout_step(pid_t pid, int64_t *deadline, int *stage)
{
	if (*deadline < 0)
		return -1;
	int64_t left = *deadline - now_ms();
	if (left > 0)
		return left > INT32_MAX ? INT32_MAX : (int)left;
	if (*stage == 0) {
		kill(pid, SIGTERM);
		*deadline = now_ms() + WAITER_GRACE_MS;
	} else {
		kill(pid, SIGKILL);
		*deadline = -1;
	}
	(*stage)++;
	return *deadline < 0 ? -1 : WAITER_GRACE_MS;
}

static int loop(pid_t pid, int master, int sfd, int64_t timeout_ms, int *ret_wstatus,
		bool *ret_timed_out, struct error *err)
{
	int64_t deadline = timeout_ms > 0 ? now_ms() + timeout_ms : -1;
	int stage = 0;
	struct pollfd p[3] = {
	    {.fd = sfd, .events = POLLIN},
	    {.fd = master, .events = POLLIN},
	    {.fd = master >= 0 ? STDIN_FILENO : -1, .events = POLLIN},
	};
	struct signalfd_siginfo si;

	for (;;) {
		pid_t w = waitpid(pid, ret_wstatus, WNOHANG);
		if (w == pid)
			break;
		if (w < 0 && errno != EINTR)
			return error_errno(err, "wait for %d", pid);
		if (poll(p, 3, timeout_step(pid, &deadline, &stage)) < 0 && errno != EINTR)
			return error_errno(err, "poll");
		if ((p[0].revents & POLLIN) && read(sfd, &si, sizeof(si)) == sizeof(si))
			on_signal(pid, master, (int)si.ssi_signo);
		if (p[1].revents && !pump(master, STDOUT_FILENO))
			p[1].fd = -1;
		if (p[2].revents && !pump(STDIN_FILENO, master))
			p[2].fd = -1;
	}
	*ret_timed_out = stage > 0;
	if (master >= 0) { /* what the process wrote just before it exited */
		fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK);
		while (pump(master, STDOUT_FILENO))
			;
	}
	return 0;
}

int waiter_wait(pid_t pid, int master, int64_t timeout_ms, int *ret_status, struct error *err)
{
	bool timed_out = false;
	struct termios saved;
	bool raw = master >= 0 && tcgetattr(STDIN_FILENO, &saved) == 0;
	sigset_t set, old;
	int wstatus = 0;

	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	for (size_t i = 0; i < ARRAY_SIZE(forwarded); i++)
		sigaddset(&set, forwarded[i]);
	sigprocmask(SIG_BLOCK, &set, &old);
	cleanup_fd int sfd = signalfd(-1, &set, SFD_CLOEXEC);
	if (sfd < 0) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		return error_errno(err, "signalfd");
	}
	if (raw) {
		struct termios t = saved;
		cfmakeraw(&t);
		tcsetattr(STDIN_FILENO, TCSANOW, &t);
	}
	copy_winsize(master);
	int r = loop(pid, master, sfd, timeout_ms, &wstatus, &timed_out, err);
	if (raw)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved);
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (r == 0)
		*ret_status = timed_out ? WAITER_TIMED_OUT : exit_status(wstatus);
	return r;
}
