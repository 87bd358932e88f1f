/* fd: file-descriptor chores: whole reads and writes, SCM_RIGHTS, atomic files. */
#ifndef VESSEL_UTIL_FD_H
#define VESSEL_UTIL_FD_H

#include <stddef.h>
#include <sys/types.h>

#include "util/error.h"

/* Writes all of buf, retrying on EINTR and short writes. Returns 0 or -errno. */
int fd_write_all(int fd, const void *buf, size_t len);
/* Reads exactly len bytes; returns 0, -EPIPE on early EOF, or -errno. */
int fd_read_exact(int fd, void *buf, size_t len);
/* Sends fd over a unix socket with SCM_RIGHTS (one byte of payload). */
int fd_send(int sock, int fd, struct error *err);
/* Sends fd with len bytes of data (at least 1) in one message. */
int fd_send_with(int sock, int fd, const void *data, size_t len, struct error *err);
/* Receives one fd sent by fd_send(); returns the fd (O_CLOEXEC) or -errno. */
int fd_recv(int sock, struct error *err);
/* Marks every fd >= first close-on-exec. */
int fd_cloexec_from(int first, struct error *err);
/* Reads a whole file of at most max bytes into *ret (owned, NUL-terminated), *ret_len. */
int fd_read_file(const char *path, size_t max, char **ret, size_t *ret_len, struct error *err);
/* Creates dir/name (which must not exist), mode 0600, with data; removes it on failure. */
int fd_write_file_new(int dirfd, const char *name, const char *data, size_t len, struct error *err);
/* Writes data to dir/name atomically (temp file + fsync-less rename), mode 0600. */
int fd_write_file_atomic(int dirfd, const char *name, const char *data, size_t len,
			 struct error *err);

#endif
