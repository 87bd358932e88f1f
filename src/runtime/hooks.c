/* hooks: see hooks.h. Each hook is spawned with a socket as stdin; the parent feeds it the state
 * without blocking (send(MSG_NOSIGNAL), so a hook that never reads cannot stall or SIGPIPE us)
 * while it waits on a pidfd for the exit, with the hook's timeout as the deadline.
 */
#include "runtime/hooks.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/spawn.h"

#define POLL_FALLBACK_MS 10

struct hook_run {
	const struct spec_hook *hook;
	const char *stage;
	pid_t pid;
	int pidfd;	 /* -1 when pidfd_open is unavailable: then poll every 10 ms */
	int sock;	 /* our end of the hook's stdin, -1 once all is sent */
	const char *buf; /* what is left to send */
	size_t len;
};

static const char *const stage_names[SPEC_HOOK_MAX] = {
    [SPEC_HOOK_PRESTART] = "prestart",
    [SPEC_HOOK_CREATE_RUNTIME] = "createRuntime",
    [SPEC_HOOK_CREATE_CONTAINER] = "createContainer",
    [SPEC_HOOK_START_CONTAINER] = "startContainer",
    [SPEC_HOOK_POSTSTART] = "poststart",
    [SPEC_HOOK_POSTSTOP] = "poststop",
};

const char *hooks_stage_name(enum spec_hook_kind kind)
{
	if ((unsigned int)kind >= SPEC_HOOK_MAX)
		return "unknown";
	return stage_names[kind];
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Sends what the socket takes now; closes it when done or when the hook stopped reading. */
static void feed(struct hook_run *hr)
{
	while (hr->len > 0) {
		ssize_t n = send(hr->sock, hr->buf, hr->len, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n < 0) /* EPIPE and friends: the hook does not want the state */
			break;
		hr->buf += n;
		hr->len -= (size_t)n;
	}
	close(hr->sock);
	hr->sock = -1;
}

/* Reaps the hook if it has exited: 1 with *status, 0 if still running, -errno. */
static int reap(struct hook_run *hr, int *status)
{
	pid_t p;

	do
		p = waitpid(hr->pid, status, WNOHANG);
	while (p < 0 && errno == EINTR);
	if (p < 0)
		return -errno;
	return p == hr->pid;
}

/* Waits for the exit, feeding stdin meanwhile; -ETIMEDOUT past the deadline (<0: none). */
static int wait_hook(struct hook_run *hr, long deadline, int *status)
{
	for (;;) {
		struct pollfd pfd[2] = {
		    {.fd = hr->pidfd, .events = POLLIN},
		    {.fd = hr->sock, .events = POLLOUT},
		};
		int timeout = -1, r;

		r = reap(hr, status);
		if (r != 0)
			return r < 0 ? r : 0;
		if (deadline >= 0) {
			long left = deadline - now_ms();

			if (left <= 0)
				return -ETIMEDOUT;
			timeout = left > INT_MAX ? INT_MAX : (int)left;
		}
		if (hr->pidfd < 0 && (timeout < 0 || timeout > POLL_FALLBACK_MS))
			timeout = POLL_FALLBACK_MS;
		if (poll(pfd, 2, timeout) < 0 && errno != EINTR)
			return -errno;
		if (hr->sock >= 0 && pfd[1].revents)
			feed(hr);
	}
}

static int describe_status(const struct hook_run *hr, int status, struct error *err)
{
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFEXITED(status))
		return error_set(err, ECANCELED, "%s hook %s: exited with status %d", hr->stage,
				 hr->hook->path, WEXITSTATUS(status));
	return error_set(err, ECANCELED, "%s hook %s: killed by signal %d", hr->stage,
			 hr->hook->path, WTERMSIG(status));
}

static int run_one(const struct spec_hook *hook, const char *stage, const char *state_json,
		   struct error *err)
{
	struct hook_run hr = {.hook = hook,
			      .stage = stage,
			      .pid = -1,
			      .pidfd = -1,
			      .sock = -1,
			      .buf = state_json,
			      .len = strlen(state_json)};
	long deadline = hook->timeout > 0 ? now_ms() + hook->timeout * 1000L : -1;
	char *fallback_argv[] = {hook->path, NULL};
	char *empty_env[] = {NULL};
	int sv[2], status = 0, r;

	if (!hook->path || hook->path[0] != '/')
		return error_set(err, EINVAL, "%s hook %s: path must be absolute", stage,
				 hook->path ? hook->path : "(null)");
	/* posix_spawn reports exec errors too, but not under every emulator: check first. */
	if (access(hook->path, X_OK) < 0)
		return error_errno(err, "%s hook %s", stage, hook->path);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return error_errno(err, "%s hook %s: socketpair", stage, hook->path);
	r = spawn_clean(
	    hook->path, hook->args && hook->args[0] ? hook->args : fallback_argv,
	    &(struct spawn_io){.in_fd = sv[1], .out_fd = -1, .envp = hook->env ?: empty_env},
	    &hr.pid);
	close(sv[1]);
	hr.sock = sv[0];
	if (r < 0) {
		close(hr.sock);
		return error_set(err, -r, "%s hook %s: %s", stage, hook->path, strerror(-r));
	}
	hr.pidfd = (int)syscall(SYS_pidfd_open, hr.pid, 0);
	shutdown(hr.sock, SHUT_RD);
	feed(&hr);
	r = wait_hook(&hr, deadline, &status);
	if (r < 0) {
		kill(hr.pid, SIGKILL);
		while (waitpid(hr.pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	if (hr.sock >= 0)
		close(hr.sock);
	if (hr.pidfd >= 0)
		close(hr.pidfd);
	if (r == -ETIMEDOUT)
		return error_set(err, ETIMEDOUT, "%s hook %s: timed out after %d s", stage,
				 hook->path, hook->timeout);
	if (r < 0)
		return error_set(err, -r, "%s hook %s: wait: %s", stage, hook->path, strerror(-r));
	return describe_status(&hr, status, err);
}

int hooks_run(const struct spec_hook_list *list, const char *stage, const char *state_json,
	      struct error *err)
{
	int r;

	if (!list)
		return 0;
	for (size_t i = 0; i < list->n; i++) {
		r = run_one(&list->v[i], stage, state_json ? state_json : "", err);
		if (r < 0)
			return r;
	}
	return 0;
}
