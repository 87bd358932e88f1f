/* image_store: blobs (see store.h); the name index is in store-index.c. */
#include "image/store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "image/store-internal.h"
#include "util/cleanup.h"
#include "util/fd.h"
#include "util/str.h"

#define COPY_BUF (128 * 1024)

static int open_dir_at(int dirfd, const char *name, struct error *err)
{
	int fd;

	if (mkdirat(dirfd, name, 0700) < 0 && errno != EEXIST)
		return error_errno(err, "create %s", name);
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return error_errno(err, "open %s", name);
	return fd;
}

static int open_dirs(struct image_store *s, struct error *err)
{
	cleanup_fd int blobs = -1;
	int fd;

	if (mkdir(s->root, 0700) < 0 && errno != EEXIST)
		return error_errno(err, "create %s", s->root);
	s->root_fd = open(s->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->root_fd < 0)
		return error_errno(err, "open %s", s->root);
	blobs = open_dir_at(s->root_fd, "blobs", err);
	if (blobs < 0)
		return blobs;
	s->blobs_fd = open_dir_at(blobs, "sha256", err);
	if (s->blobs_fd < 0)
		return s->blobs_fd;
	s->tmp_fd = open_dir_at(s->root_fd, "tmp", err);
	if (s->tmp_fd < 0)
		return s->tmp_fd;
	fd = open_dir_at(s->root_fd, "layers", err);
	if (fd < 0)
		return fd;
	close(fd);
	return 0;
}

int image_store_open(const char *root, struct image_store **ret, struct error *err)
{
	struct image_store *s = calloc(1, sizeof(*s));
	int r;

	*ret = NULL;
	if (!s)
		return error_set(err, ENOMEM, "image store: out of memory");
	s->root_fd = s->blobs_fd = s->tmp_fd = -1;
	s->root = strdup(root);
	if (!s->root) {
		image_store_free(s);
		return error_set(err, ENOMEM, "image store: out of memory");
	}
	r = open_dirs(s, err);
	if (r < 0) {
		image_store_free(s);
		return error_wrap(err, "image store %s", root);
	}
	*ret = s;
	return 0;
}

struct image_store *image_store_free(struct image_store *store)
{
	if (!store)
		return NULL;
	if (store->root_fd >= 0)
		close(store->root_fd);
	if (store->blobs_fd >= 0)
		close(store->blobs_fd);
	if (store->tmp_fd >= 0)
		close(store->tmp_fd);
	free(store->root);
	free(store);
	return NULL;
}

const char *image_store_root(const struct image_store *store)
{
	return store->root;
}

static int create_tmp(struct image_store *s, char name[64], struct error *err)
{
	for (unsigned i = 0; i < 1000; i++) {
		struct timespec ts;
		int fd;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		snprintf(name, 64, "blob-%d-%lx-%u", (int)getpid(), (unsigned long)ts.tv_nsec, i);
		fd = openat(s->tmp_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
			    0644);
		if (fd >= 0)
			return fd;
		if (errno != EEXIST)
			return error_errno(err, "create %s/tmp/%s", s->root, name);
	}
	return error_set(err, EEXIST, "create %s/tmp: no free name", s->root);
}

struct copy {
	struct image_digest_ctx md;
	int64_t total;
};

/* Copies read() into fd while hashing; stops past expected_size. */
static int copy_hashing(int fd, int64_t expected_size,
			ssize_t (*read_cb)(void *, void *, size_t, struct error *), void *opaque,
			struct copy *c, struct error *err)
{
	cleanup_free char *buf = malloc(COPY_BUF);
	int r;

	if (!buf)
		return error_set(err, ENOMEM, "out of memory");
	for (;;) {
		ssize_t n = read_cb(opaque, buf, COPY_BUF, err);

		if (n < 0)
			return (int)n;
		if (n == 0)
			return 0;
		c->total += n;
		if (expected_size >= 0 && c->total > expected_size)
			return error_set(err, EBADMSG, "more than the expected %lld bytes",
					 (long long)expected_size);
		r = image_digest_update(&c->md, buf, (size_t)n, err);
		if (r < 0)
			return r;
		r = fd_write_all(fd, buf, (size_t)n);
		if (r < 0)
			return error_set(err, -r, "write: %s", strerror(-r));
	}
}

static int verify(const char *expected, int64_t expected_size, const struct copy *c,
		  const char *got, struct error *err)
{
	if (expected_size >= 0 && c->total != expected_size)
		return error_set(err, EBADMSG, "size mismatch (got %lld bytes, expected %lld)",
				 (long long)c->total, (long long)expected_size);
	if (expected && strcmp(expected, got) != 0)
		return error_set(err, EBADMSG, "digest mismatch (got %s)", got);
	return 0;
}

static int put_tmp(struct image_store *s, int fd, const char *expected, int64_t expected_size,
		   ssize_t (*read_cb)(void *, void *, size_t, struct error *), void *opaque,
		   char got[IMAGE_DIGEST_SIZE], struct error *err)
{
	struct copy c = {0};
	int r;

	r = image_digest_init(&c.md, err);
	if (r < 0)
		return r;
	r = copy_hashing(fd, expected_size, read_cb, opaque, &c, err);
	if (r < 0) {
		image_digest_ctx_free(&c.md);
		return r;
	}
	r = image_digest_final(&c.md, got, err);
	if (r < 0)
		return r;
	return verify(expected, expected_size, &c, got, err);
}

int image_store_put_blob(struct image_store *store, const char *expected, int64_t expected_size,
			 ssize_t (*read)(void *opaque, void *buf, size_t len, struct error *err),
			 void *opaque, char *ret_digest, struct error *err)
{
	const char *what = expected ? expected : "(new)";
	char got[IMAGE_DIGEST_SIZE] = "";
	char tmp[64];
	cleanup_fd int fd = -1;
	int r;

	if (expected && image_digest_validate(expected, err) < 0)
		return error_wrap(err, "blob");
	if (expected && image_store_has_blob(store, expected)) {
		if (ret_digest)
			memcpy(ret_digest, expected, IMAGE_DIGEST_SIZE);
		return 0;
	}
	fd = create_tmp(store, tmp, err);
	if (fd < 0)
		return error_wrap(err, "blob %s", what);
	r = put_tmp(store, fd, expected, expected_size, read, opaque, got, err);
	if (r >= 0) /* starts the write-back (see unpack.c), waits for nothing */
		sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
	if (r >= 0 && close(TAKE_FD(fd)) < 0)
		r = error_errno(err, "close");
	if (r >= 0 && renameat(store->tmp_fd, tmp, store->blobs_fd, image_digest_hex(got)) < 0)
		r = error_errno(err, "rename into blobs/sha256");
	if (r < 0) {
		unlinkat(store->tmp_fd, tmp, 0);
		return error_wrap(err, "blob %s", what);
	}
	if (ret_digest)
		memcpy(ret_digest, got, IMAGE_DIGEST_SIZE);
	return 0;
}

static ssize_t read_fd(void *opaque, void *buf, size_t len, struct error *err)
{
	const int *fd = opaque;
	ssize_t n;

	do
		n = read(*fd, buf, len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return error_errno(err, "read");
	return n;
}

int image_store_put_blob_fd(struct image_store *store, const char *expected, int64_t expected_size,
			    int fd, char *ret_digest, struct error *err)
{
	return image_store_put_blob(store, expected, expected_size, read_fd, &fd, ret_digest, err);
}

struct membuf {
	const char *p;
	size_t left;
};

static ssize_t read_mem(void *opaque, void *buf, size_t len, struct error *err)
{
	struct membuf *m = opaque;
	size_t n = len < m->left ? len : m->left;

	memcpy(buf, m->p, n);
	m->p += n;
	m->left -= n;
	return (ssize_t)n;
}

int image_store_put_blob_buf(struct image_store *store, const char *expected, const void *buf,
			     size_t len, char *ret_digest, struct error *err)
{
	struct membuf m = {buf, len};

	return image_store_put_blob(store, expected, (int64_t)len, read_mem, &m, ret_digest, err);
}

bool image_store_has_blob(const struct image_store *store, const char *digest)
{
	struct stat st;

	if (!image_digest_is_valid(digest))
		return false;
	return fstatat(store->blobs_fd, image_digest_hex(digest), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	       S_ISREG(st.st_mode);
}

int image_store_open_blob(const struct image_store *store, const char *digest, struct error *err)
{
	int fd;

	if (image_digest_validate(digest, err) < 0)
		return error_wrap(err, "open blob");
	fd = openat(store->blobs_fd, image_digest_hex(digest), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return error_errno(err, "open blob %s", digest);
	return fd;
}

int image_store_blob_size(const struct image_store *store, const char *digest, int64_t *ret_size,
			  struct error *err)
{
	struct stat st;

	if (image_digest_validate(digest, err) < 0)
		return error_wrap(err, "blob");
	if (fstatat(store->blobs_fd, image_digest_hex(digest), &st, AT_SYMLINK_NOFOLLOW) < 0)
		return error_errno(err, "blob %s", digest);
	*ret_size = st.st_size;
	return 0;
}

static int read_all_fd(int fd, const char *digest, size_t max, char **ret, size_t *ret_len,
		       struct error *err)
{
	struct stat st;
	cleanup_free char *buf = NULL;
	char got[IMAGE_DIGEST_SIZE];
	int r;

	if (fstat(fd, &st) < 0)
		return error_errno(err, "blob %s", digest);
	if ((uint64_t)st.st_size > max)
		return error_set(err, EFBIG, "blob %s: %lld bytes, more than the limit of %zu",
				 digest, (long long)st.st_size, max);
	buf = malloc((size_t)st.st_size + 1);
	if (!buf)
		return error_set(err, ENOMEM, "blob %s: out of memory", digest);
	r = fd_read_exact(fd, buf, (size_t)st.st_size);
	if (r < 0)
		return error_set(err, -r, "read blob %s: %s", digest, strerror(-r));
	buf[st.st_size] = '\0';
	r = image_digest_buf(buf, (size_t)st.st_size, got, err);
	if (r < 0)
		return r;
	if (strcmp(got, digest) != 0)
		return error_set(err, EBADMSG, "blob %s: digest mismatch (got %s)", digest, got);
	*ret_len = (size_t)st.st_size;
	*ret = TAKE_PTR(buf);
	return 0;
}

int image_store_read_blob(const struct image_store *store, const char *digest, size_t max,
			  char **ret, size_t *ret_len, struct error *err)
{
	cleanup_fd int fd = image_store_open_blob(store, digest, err);

	*ret = NULL;
	*ret_len = 0;
	if (fd < 0)
		return fd;
	return read_all_fd(fd, digest, max, ret, ret_len, err);
}

char *image_store_blob_path(const struct image_store *store, const char *digest)
{
	if (!image_digest_is_valid(digest))
		return NULL;
	return str_printf("%s/blobs/sha256/%s", store->root, image_digest_hex(digest));
}

char *image_store_layer_dir(const struct image_store *store, const char *diffid)
{
	if (!image_digest_is_valid(diffid))
		return NULL;
	return str_printf("%s/layers/%s", store->root, image_digest_hex(diffid));
}
