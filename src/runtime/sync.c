/* sync: see sync.h */
#include "runtime/sync.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

int sync_pair(int fds[2], struct error *err)
{
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) < 0)
		return error_errno(err, "socketpair");
	return 0;
}

static int send_msg(int fd, const struct sync_msg *m)
{
	ssize_t n;

	do
		n = send(fd, m, sizeof(*m), MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return n == sizeof(*m) ? 0 : -EIO;
}

int sync_send(int fd, enum sync_type type, pid_t pid, struct error *err)
{
	struct sync_msg m = {.type = type, .pid = pid};
	int r = send_msg(fd, &m);

	if (r < 0)
		return error_set(err, -r, "sync: send: %s", strerror(-r));
	return 0;
}

void sync_send_error(int fd, const struct error *e)
{
	struct sync_msg m = {.type = SYNC_ERROR, .err = *e};

	send_msg(fd, &m);
}

int sync_expect(int fd, enum sync_type type, struct sync_msg *ret, struct error *err)
{
	struct sync_msg m;
	ssize_t n;

	do
		n = recv(fd, &m, sizeof(m), 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return error_errno(err, "sync: recv");
	if (n == 0)
		return error_set(err, EPIPE, "child exited before it was set up");
	if (n != sizeof(m))
		return error_set(err, EPROTO, "sync: short message (%zd bytes)", n);
	if (m.type == SYNC_ERROR) {
		m.err.msg[sizeof(m.err.msg) - 1] = '\0';
		*err = m.err;
		if (err->code <= 0)
			err->code = EIO;
		return -err->code;
	}
	if (m.type != (int)type)
		return error_set(err, EPROTO, "sync: expected message %d, got %d", type, m.type);
	if (ret)
		*ret = m;
	return 0;
}
