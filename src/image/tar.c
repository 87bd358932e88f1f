/* image_tar: see tar.h */
#include "image/tar.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/cleanup.h"

#define BLOCK (64 * 1024)

int image_tar_open_read(const char *path, struct archive **ret, struct error *err)
{
	struct archive *a = archive_read_new();

	*ret = NULL;
	if (!a)
		return error_set(err, ENOMEM, "out of memory");
	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	if (archive_read_open_filename(a, path, BLOCK) != ARCHIVE_OK) {
		error_set(err, archive_errno(a) > 0 ? archive_errno(a) : EINVAL, "open %s: %s",
			  path, archive_error_string(a));
		archive_read_free(a);
		return -err->code;
	}
	*ret = a;
	return 0;
}

int image_tar_clean_path(const char *path, char *buf, size_t size, struct error *err)
{
	const char *p = path;
	size_t n;

	if (!*p || *p == '/' || strlen(p) >= size || strlen(p) >= IMAGE_TAR_PATH_MAX)
		return error_set(err, EINVAL, "path \"%.200s\": not a relative path", path);
	while (p[0] == '.' && p[1] == '/')
		for (p += 2; *p == '/'; p++)
			;
	n = strlen(p);
	while (n > 0 && p[n - 1] == '/')
		n--;
	if (n == 0)
		return error_set(err, EINVAL, "path \"%.200s\": empty", path);
	memcpy(buf, p, n);
	buf[n] = '\0';
	for (const char *c = buf; c; c = strchr(c, '/')) {
		c += (*c == '/');
		if (c[0] == '.' && c[1] == '.' && (c[2] == '/' || c[2] == '\0'))
			return error_set(err, EINVAL, "path \"%.200s\": contains \"..\"", path);
	}
	return 0;
}

int image_tar_member_name(struct archive_entry *e, char *buf, size_t size, struct error *err)
{
	const char *name = archive_entry_pathname(e);

	if (!name)
		return error_set(err, EINVAL, "member without a name");
	if (strcmp(name, ".") == 0 || strcmp(name, "./") == 0) {
		snprintf(buf, size, ".");
		return 0;
	}
	return image_tar_clean_path(name, buf, size, err);
}

static int member_error(struct archive *a, const char *name, struct error *err)
{
	return error_set(err, archive_errno(a) > 0 ? archive_errno(a) : EIO, "member %s: %s", name,
			 archive_error_string(a) ? archive_error_string(a) : "read error");
}

int image_tar_read_member(struct archive *a, struct archive_entry *e, const char *name, size_t max,
			  char **ret, size_t *ret_len, struct error *err)
{
	cleanup_free char *buf = NULL;
	int64_t size = archive_entry_size(e);
	size_t got = 0;

	*ret = NULL;
	if (archive_entry_filetype(e) != AE_IFREG)
		return error_set(err, EINVAL, "member %s: not a regular file", name);
	if (size < 0 || (uint64_t)size > max)
		return error_set(err, EFBIG, "member %s: %lld bytes, more than the limit of %zu",
				 name, (long long)size, max);
	buf = malloc((size_t)size + 1);
	if (!buf)
		return error_set(err, ENOMEM, "out of memory");
	while (got < (size_t)size) {
		la_ssize_t n = archive_read_data(a, buf + got, (size_t)size - got);

		if (n < 0)
			return member_error(a, name, err);
		if (n == 0)
			return error_set(err, EBADMSG, "member %s: truncated", name);
		got += (size_t)n;
	}
	buf[got] = '\0';
	*ret_len = got;
	*ret = TAKE_PTR(buf);
	return 0;
}

struct member {
	struct archive *a;
	const char *name;
};

static ssize_t read_member(void *opaque, void *buf, size_t len, struct error *err)
{
	struct member *m = opaque;
	la_ssize_t n = archive_read_data(m->a, buf, len);

	if (n < 0)
		return member_error(m->a, m->name, err);
	return n;
}

int image_tar_put_member(struct image_store *store, struct archive *a, struct archive_entry *e,
			 const char *name, const char *expected, char *ret_digest,
			 struct error *err)
{
	struct member m = {a, name};
	int64_t size = archive_entry_size_is_set(e) ? archive_entry_size(e) : -1;
	int r;

	if (archive_entry_filetype(e) != AE_IFREG)
		return error_set(err, EINVAL, "member %s: not a regular file", name);
	r = image_store_put_blob(store, expected, size, read_member, &m, ret_digest, err);
	if (r < 0)
		return error_wrap(err, "member %s", name);
	return 0;
}

int image_tar_open_write(int fd, struct archive **ret, struct error *err)
{
	struct archive *a = archive_write_new();

	*ret = NULL;
	if (!a)
		return error_set(err, ENOMEM, "out of memory");
	if (archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK ||
	    archive_write_open_fd(a, fd) != ARCHIVE_OK) {
		error_set(err, EIO, "tar: %s", archive_error_string(a));
		archive_write_free(a);
		return -EIO;
	}
	*ret = a;
	return 0;
}

static struct archive_entry *new_entry(const char *path, mode_t type, mode_t mode)
{
	struct archive_entry *e = archive_entry_new();

	if (!e)
		return NULL;
	archive_entry_set_pathname(e, path);
	archive_entry_set_filetype(e, type);
	archive_entry_set_perm(e, mode);
	archive_entry_set_uid(e, 0);
	archive_entry_set_gid(e, 0);
	archive_entry_set_mtime(e, 0, 0);
	return e;
}

static int write_header(struct archive *a, struct archive_entry *e, const char *path,
			struct error *err)
{
	int r = 0;

	if (!e)
		return error_set(err, ENOMEM, "out of memory");
	if (archive_write_header(a, e) != ARCHIVE_OK)
		r = error_set(err, EIO, "tar %s: %s", path, archive_error_string(a));
	archive_entry_free(e);
	return r;
}

int image_tar_add_dir(struct archive *a, const char *path, mode_t mode, struct error *err)
{
	return write_header(a, new_entry(path, AE_IFDIR, mode), path, err);
}

int image_tar_add_symlink(struct archive *a, const char *path, const char *target,
			  struct error *err)
{
	struct archive_entry *e = new_entry(path, AE_IFLNK, 0777);

	if (e)
		archive_entry_set_symlink(e, target);
	return write_header(a, e, path, err);
}

static int write_data(struct archive *a, const char *path, const void *buf, size_t len,
		      struct error *err)
{
	if (archive_write_data(a, buf, len) != (la_ssize_t)len)
		return error_set(err, EIO, "tar %s: %s", path, archive_error_string(a));
	return 0;
}

int image_tar_add_buf(struct archive *a, const char *path, mode_t mode, const void *buf, size_t len,
		      struct error *err)
{
	struct archive_entry *e = new_entry(path, AE_IFREG, mode);
	int r;

	if (e)
		archive_entry_set_size(e, (la_int64_t)len);
	r = write_header(a, e, path, err);
	if (r < 0)
		return r;
	return len ? write_data(a, path, buf, len, err) : 0;
}

int image_tar_add_fd(struct archive *a, const char *path, mode_t mode, int fd, int64_t size,
		     struct error *err)
{
	struct archive_entry *e = new_entry(path, AE_IFREG, mode);
	cleanup_free char *buf = malloc(BLOCK);
	int64_t left = size;
	int r;

	if (!buf)
		return error_set(err, ENOMEM, "out of memory");
	if (e)
		archive_entry_set_size(e, size);
	r = write_header(a, e, path, err);
	while (r == 0 && left > 0) {
		ssize_t n = read(fd, buf, left < BLOCK ? (size_t)left : BLOCK);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? error_errno(err, "read %s", path)
				     : error_set(err, EBADMSG, "read %s: file shrank", path);
		r = write_data(a, path, buf, (size_t)n, err);
		left -= n;
	}
	return r;
}

int image_tar_close(struct archive *a, struct error *err)
{
	int r = 0;

	if (!a)
		return 0;
	if (archive_write_close(a) != ARCHIVE_OK)
		r = error_set(err, EIO, "tar: %s", archive_error_string(a));
	archive_write_free(a);
	return r;
}
