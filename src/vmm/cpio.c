/* cpio: see cpio.h */
#include "vmm/cpio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fd.h"

#define NEWC_HEADER 110

void cpio_init(struct cpio *c, int fd)
{
	*c = (struct cpio){.fd = fd};
}

static int put(struct cpio *c, const void *buf, size_t len)
{
	int r = fd_write_all(c->fd, buf, len);

	if (r == 0)
		c->offset += len;
	return r;
}

static int pad4(struct cpio *c)
{
	static const char zeros[4];

	return put(c, zeros, (4 - (c->offset & 3)) & 3);
}

/* The header and the name (NUL-terminated, padded): the entry's data follows. */
static int header(struct cpio *c, const char *name, unsigned mode, unsigned nlink, uint64_t size,
		  struct error *err)
{
	char hdr[NEWC_HEADER + 1];
	size_t namesize;
	int r;

	while (*name == '/')
		name++;
	namesize = strlen(name) + 1;
	if (namesize == 1 || namesize > CPIO_NAME_MAX)
		return error_set(err, EINVAL, "cpio: bad entry name \"%.64s\"", name);
	if (size > UINT32_MAX)
		return error_set(err, EFBIG, "cpio %s: over 4 GiB", name);
	snprintf(hdr, sizeof(hdr), "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		 ++c->ino, mode, 0, 0, nlink, 0, (unsigned)size, 0, 0, 0, 0, (unsigned)namesize, 0);
	r = put(c, hdr, NEWC_HEADER);
	if (r == 0)
		r = put(c, name, namesize);
	if (r == 0)
		r = pad4(c);
	return r < 0 ? error_set(err, -r, "cpio %s: write: %s", name, strerror(-r)) : 0;
}

int cpio_add_dir(struct cpio *c, const char *name, unsigned mode, struct error *err)
{
	return header(c, name, S_IFDIR | (mode & 07777), 2, 0, err);
}

int cpio_add_file(struct cpio *c, const char *name, unsigned mode, const void *data, size_t len,
		  struct error *err)
{
	int r = header(c, name, S_IFREG | (mode & 07777), 1, len, err);

	if (r == 0 && ((r = put(c, data, len)) < 0 || (r = pad4(c)) < 0))
		return error_set(err, -r, "cpio %s: write: %s", name, strerror(-r));
	return r;
}

/* Copies exactly size bytes of in to the archive. */
static int copy(struct cpio *c, int in, uint64_t size)
{
	while (size > 0) {
		ssize_t n = sendfile(c->fd, in, NULL, size);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO; /* the file shrank while we copied it */
		c->offset += (uint64_t)n;
		size -= (uint64_t)n;
	}
	return 0;
}

int cpio_add_file_from(struct cpio *c, const char *name, unsigned mode, const char *path,
		       struct error *err)
{
	cleanup_fd int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	struct stat st;
	int r;

	if (fd < 0 || fstat(fd, &st) < 0)
		return error_errno(err, "%s", path);
	if (!S_ISREG(st.st_mode))
		return error_set(err, EINVAL, "%s: not a regular file", path);
	r = header(c, name, S_IFREG | (mode & 07777), 1, (uint64_t)st.st_size, err);
	if (r == 0 && ((r = copy(c, fd, (uint64_t)st.st_size)) < 0 || (r = pad4(c)) < 0))
		return error_set(err, -r, "cpio %s: copy %s: %s", name, path, strerror(-r));
	return r;
}

int cpio_add_symlink(struct cpio *c, const char *name, const char *target, struct error *err)
{
	size_t len = strlen(target);
	int r;

	if (len == 0 || len >= CPIO_NAME_MAX)
		return error_set(err, EINVAL, "cpio %s: bad symlink target", name);
	r = header(c, name, S_IFLNK | 0777, 1, len, err);
	if (r == 0 && ((r = put(c, target, len)) < 0 || (r = pad4(c)) < 0))
		return error_set(err, -r, "cpio %s: write: %s", name, strerror(-r));
	return r;
}

int cpio_finish(struct cpio *c, struct error *err)
{
	return header(c, "TRAILER!!!", 0, 1, 0, err);
}
