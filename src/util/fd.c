/* fd: see fd.h */
#include "util/fd.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cleanup.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

int fd_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int fd_read_exact(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len > 0) {
		ssize_t n = read(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EPIPE;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int fd_send(int sock, int fd, struct error *err)
{
	return fd_send_with(sock, fd, "", 1, err);
}

int fd_send_with(int sock, int fd, const void *data, size_t len, struct error *err)
{
	struct iovec iov = {.iov_base = (void *)data, .iov_len = len};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr msg = {
	    .msg_iov = &iov,
	    .msg_iovlen = 1,
	    .msg_control = u.buf,
	    .msg_controllen = sizeof(u.buf),
	};
	struct cmsghdr *cmsg;
	ssize_t n;

	memset(&u, 0, sizeof(u));
	cmsg = CMSG_FIRSTHDR(&msg);
	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	cmsg->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));

	do
		n = sendmsg(sock, &msg, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return error_errno(err, "send fd");
	return 0;
}

/* Closes every fd carried in msg's SCM_RIGHTS messages; returns the first, or -1. */
static int take_fds(struct msghdr *msg, int *ret_count)
{
	int first = -1;

	*ret_count = 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int fd;
			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (first < 0)
				first = fd;
			else
				close(fd);
			(*ret_count)++;
		}
	}
	return first;
}

int fd_recv(int sock, struct error *err)
{
	char byte;
	struct iovec iov = {.iov_base = &byte, .iov_len = 1};
	union {
		char buf[CMSG_SPACE(sizeof(int) * 4)];
		struct cmsghdr align;
	} u;
	struct msghdr msg = {
	    .msg_iov = &iov,
	    .msg_iovlen = 1,
	    .msg_control = u.buf,
	    .msg_controllen = sizeof(u.buf),
	};
	int count, fd;
	ssize_t n;

	do
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return error_errno(err, "receive fd");
	fd = take_fds(&msg, &count);
	if (msg.msg_flags & MSG_CTRUNC) {
		if (fd >= 0)
			close(fd);
		return error_set(err, EBADMSG, "receive fd: control message truncated");
	}
	if (n == 0 && fd < 0)
		return error_set(err, EPIPE, "receive fd: connection closed");
	if (fd < 0)
		return error_set(err, EBADMSG, "receive fd: no file descriptor in message");
	if (count != 1) {
		close(fd);
		return error_set(err, EBADMSG, "receive fd: expected 1 descriptor, got %d", count);
	}
	return fd;
}

static int cloexec_walk(int first, struct error *err)
{
	cleanup_dir DIR *d = opendir("/proc/self/fd");
	struct dirent *de;

	if (!d)
		return error_errno(err, "open /proc/self/fd");
	while ((errno = 0, de = readdir(d))) {
		char *end;
		long fd;

		if (de->d_name[0] == '.')
			continue;
		errno = 0;
		fd = strtol(de->d_name, &end, 10);
		if (*end || errno || fd < first || fd > INT_MAX || fd == dirfd(d))
			continue;
		int flags = fcntl((int)fd, F_GETFD);
		if (flags < 0) {
			if (errno == EBADF)
				continue;
			return error_errno(err, "fcntl fd %ld", fd);
		}
		if (!(flags & FD_CLOEXEC) && fcntl((int)fd, F_SETFD, flags | FD_CLOEXEC) < 0)
			return error_errno(err, "fcntl fd %ld", fd);
	}
	if (errno)
		return error_errno(err, "read /proc/self/fd");
	return 0;
}

int fd_cloexec_from(int first, struct error *err)
{
	if (first < 0)
		return error_set(err, EINVAL, "cloexec from %d: invalid fd", first);
	if (close_range((unsigned)first, ~0U, CLOSE_RANGE_CLOEXEC) == 0)
		return 0;
	if (errno != ENOSYS && errno != EINVAL)
		return error_errno(err, "close_range %d", first);
	return cloexec_walk(first, err);
}

/* size: the file's size when known (a regular file), else 0: the first buffer, one byte over
 * so that EOF needs no second one (no doubling: the VM monitor reads its kernel with this, and a
 * buffer grown past the file would count in its peak RSS). */
static int read_all(int fd, const char *path, size_t max, size_t size, char **ret, size_t *ret_len,
		    struct error *err)
{
	size_t cap = size ? size + 1 : 4096, len = 0;
	cleanup_free char *buf = NULL;

	for (;;) {
		if (len == cap || !buf) {
			cap = buf ? cap * 2 : cap;
			if (cap > max + 1)
				cap = max + 1;
			char *nb = realloc(buf, cap + 1);
			if (!nb)
				return error_set(err, ENOMEM, "read %s: out of memory", path);
			buf = nb;
		}
		ssize_t n = read(fd, buf + len, cap - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return error_errno(err, "read %s", path);
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > max)
			return error_set(err, EFBIG, "read %s: file larger than %zu bytes", path,
					 max);
	}
	buf[len] = '\0';
	*ret = TAKE_PTR(buf);
	if (ret_len)
		*ret_len = len;
	return 0;
}

int fd_read_file(const char *path, size_t max, char **ret, size_t *ret_len, struct error *err)
{
	cleanup_fd int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	struct stat st;

	if (fd < 0)
		return error_errno(err, "open %s", path);
	if (fstat(fd, &st) < 0)
		return error_errno(err, "stat %s", path);
	if (S_ISDIR(st.st_mode))
		return error_set(err, EISDIR, "read %s: Is a directory", path);
	if (S_ISREG(st.st_mode) && (uint64_t)st.st_size > max)
		return error_set(err, EFBIG, "read %s: file larger than %zu bytes", path, max);
	if (max >= SIZE_MAX - 1)
		max = SIZE_MAX - 2;
	return read_all(fd, path, max, S_ISREG(st.st_mode) ? (size_t)st.st_size : 0, ret, ret_len,
			err);
}

int fd_write_file_new(int dirfd, const char *name, const char *data, size_t len, struct error *err)
{
	int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);

	if (fd < 0)
		return error_errno(err, "create %s", name);
	int r = fd_write_all(fd, data, len);
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r < 0) {
		unlinkat(dirfd, name, 0);
		return error_set(err, -r, "write %s: %s", name, strerror(-r));
	}
	return 0;
}

int fd_write_file_atomic(int dirfd, const char *name, const char *data, size_t len,
			 struct error *err)
{
	char tmp[PATH_MAX];
	int fd = -1;
	int r;

	for (unsigned i = 0;; i++) {
		r = snprintf(tmp, sizeof(tmp), ".%s.tmp.%d.%u", name, (int)getpid(), i);
		if (r < 0 || (size_t)r >= sizeof(tmp))
			return error_set(err, ENAMETOOLONG, "write %s: name too long", name);
		fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd >= 0)
			break;
		if (errno != EEXIST || i >= 100)
			return error_errno(err, "create %s", tmp);
	}
	r = fd_write_all(fd, data, len);
	if (r < 0) {
		errno = -r;
		error_errno(err, "write %s", tmp);
		goto fail;
	}
	if (close(fd) < 0) {
		fd = -1;
		r = error_errno(err, "close %s", tmp);
		goto fail;
	}
	fd = -1;
	if (renameat(dirfd, tmp, dirfd, name) < 0) {
		r = error_errno(err, "rename %s to %s", tmp, name);
		goto fail;
	}
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	unlinkat(dirfd, tmp, 0);
	return r;
}
