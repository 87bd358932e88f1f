/* image_unpack: see unpack.h.
 *
 * Two libarchive readers are chained: "raw" undoes the compression (gzip, zstd, or none) and
 * hands out the uncompressed stream, which is hashed (the diff_id) and fed to the tar reader.
 * Only in-process filters are enabled: no external programs run on hostile bytes.
 */
#include "image/unpack.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "image/digest.h"
#include "util/cleanup.h"
#include "util/path.h"

#define READ_BLOCK   (128 * 1024)
#define OPAQUE_XATTR "trusted.overlay.opaque"
#define WH_PREFIX    ".wh."
#define OPQ_NAME     ".wh..opq" /* ".wh..wh..opq" without the prefix */

_Static_assert(IMAGE_UNPACK_DIFF_ID_SIZE == IMAGE_DIGEST_SIZE, "a diff_id is a digest");

/* The lexical paths this layer created (and their parents): in the flattened mode an opaque
 * marker removes everything else in its directory. Open addressing, FNV-1a. */
struct pathset {
	char **slots;
	size_t cap, len;
};

struct unpack {
	struct archive *raw, *tar;
	struct image_digest_ctx md;
	bool hash; /* md is in use */
	int root_fd;
	bool root; /* euid 0: ownership is applied */
	bool overlay;
	uint64_t max_entries, max_bytes, stream_bytes, file_bytes;
	struct image_unpack_stats *st;
	struct pathset seen;
};

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static char **pathset_slot(const struct pathset *s, const char *p)
{
	size_t i = hash_str(p) & (s->cap - 1);

	while (s->slots[i] && strcmp(s->slots[i], p) != 0)
		i = (i + 1) & (s->cap - 1);
	return &s->slots[i];
}

static bool pathset_has(const struct pathset *s, const char *p)
{
	return s->cap && *pathset_slot(s, p);
}

static int pathset_grow(struct pathset *s)
{
	struct pathset n = {.cap = s->cap ? s->cap * 2 : 256, .len = s->len};

	n.slots = calloc(n.cap, sizeof(*n.slots));
	if (!n.slots)
		return -ENOMEM;
	for (size_t i = 0; i < s->cap; i++)
		if (s->slots[i])
			*pathset_slot(&n, s->slots[i]) = s->slots[i];
	free(s->slots);
	*s = n;
	return 0;
}

/* Adds path and each of its parents; returns 0 or -ENOMEM. */
static int pathset_add(struct pathset *s, const char *path)
{
	cleanup_free char *p = strdup(path);
	char *slash;

	if (!p)
		return -ENOMEM;
	while (strcmp(p, ".") != 0 && !pathset_has(s, p)) {
		char **slot;

		if ((s->len + 1) * 2 > s->cap && pathset_grow(s) < 0)
			return -ENOMEM;
		slot = pathset_slot(s, p);
		*slot = strdup(p);
		if (!*slot)
			return -ENOMEM;
		s->len++;
		slash = strrchr(p, '/');
		if (!slash)
			break;
		*slash = '\0';
	}
	return 0;
}

static void pathset_free(struct pathset *s)
{
	for (size_t i = 0; i < s->cap; i++)
		free(s->slots[i]);
	free(s->slots);
}

/* The entry name without leading slashes, cleaned; refused when it climbs above the root. */
static int clean_name(const char *name, char **ret, struct error *err)
{
	char *c;

	if (strlen(name) > IMAGE_UNPACK_MAX_NAME)
		return error_set(err, ENAMETOOLONG, "name longer than %d bytes",
				 IMAGE_UNPACK_MAX_NAME);
	while (*name == '/')
		name++;
	c = path_clean(name);
	if (!c)
		return error_set(err, ENOMEM, "clean name: %s", strerror(ENOMEM));
	if (strcmp(c, "..") == 0 || strncmp(c, "../", 3) == 0) {
		free(c);
		return error_set(err, EINVAL, "path escapes the layer");
	}
	*ret = c;
	return 0;
}

/* Splits a cleaned path (not ".") in place into its parent ("" for the root) and its last
 * component, which is returned. */
static const char *split_name(char *clean, const char **ret_parent)
{
	char *slash = strrchr(clean, '/');

	if (!slash) {
		*ret_parent = "";
		return clean;
	}
	*slash = '\0';
	*ret_parent = clean;
	return slash + 1;
}

static int remove_tree(int dirfd, const char *name);

/* Removes the entries of the directory fd (borrowed, lexical path dir), never following
 * symlinks. With keep (flattened mode, an opaque marker), what keep names stays and only what
 * lower layers left goes. */
static int clear_dir(int fd, const struct pathset *keep, const char *dir)
{
	cleanup_dir DIR *d = NULL;
	struct dirent *de;
	int dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (dfd < 0)
		return -errno;
	d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return -errno;
	}
	while ((errno = 0, de = readdir(d))) {
		cleanup_free char *p = NULL;
		cleanup_fd int cfd = -1;
		int r = 0;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (keep && asprintf(&p, "%s%s%s", dir, *dir ? "/" : "", de->d_name) < 0)
			return -ENOMEM;
		if (!keep || !pathset_has(keep, p)) {
			r = remove_tree(dirfd(d), de->d_name);
		} else {
			cfd = openat(dirfd(d), de->d_name,
				     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (cfd >= 0)
				r = clear_dir(cfd, keep, p);
		}
		if (r < 0)
			return r;
	}
	return errno ? -errno : 0;
}

/* rm -rf dirfd/name without following symlinks; a missing name is not an error. */
static int remove_tree(int dirfd, const char *name)
{
	cleanup_fd int fd = -1;
	int r;

	if (unlinkat(dirfd, name, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno != EISDIR)
		return -errno;
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = clear_dir(fd, NULL, NULL);
	if (r < 0)
		return r;
	return unlinkat(dirfd, name, AT_REMOVEDIR) < 0 ? -errno : 0;
}

/* Clears the way for a new entry: an existing directory stays when a directory comes. */
static int make_room(int parent_fd, const char *base, bool dir, struct error *err)
{
	struct stat st;
	int r;

	if (fstatat(parent_fd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : error_errno(err, "stat");
	if (dir && S_ISDIR(st.st_mode))
		return 0;
	r = remove_tree(parent_fd, base);
	return r < 0 ? error_set(err, -r, "replace: %s", strerror(-r)) : 0;
}

static int set_xattrs(struct unpack *u, int fd, struct archive_entry *e, struct error *err)
{
	const char *name;
	const void *value;
	size_t size;

	archive_entry_xattr_reset(e);
	while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
		if (strncmp(name, "user.", 5) != 0 && strcmp(name, "security.capability") != 0) {
			u->st->xattrs_skipped++;
			continue;
		}
		if (fsetxattr(fd, name, value, size, 0) == 0)
			continue;
		if (errno != ENOTSUP && errno != EPERM && errno != EINVAL && errno != E2BIG &&
		    errno != ERANGE)
			return error_errno(err, "set xattr %s", name);
		u->st->xattrs_skipped++;
	}
	return 0;
}

static void entry_times(struct archive_entry *e, struct timespec ts[2])
{
	ts[1] = (struct timespec){archive_entry_mtime(e), archive_entry_mtime_nsec(e)};
	ts[0] = ts[1];
	if (archive_entry_atime_is_set(e))
		ts[0] = (struct timespec){archive_entry_atime(e), archive_entry_atime_nsec(e)};
	if (ts[0].tv_nsec < 0 || ts[0].tv_nsec > 999999999 || ts[1].tv_nsec < 0 ||
	    ts[1].tv_nsec > 999999999)
		ts[0].tv_nsec = ts[1].tv_nsec = 0;
}

/* Ownership, mode (after chown, which clears setuid), xattrs and times: through fd when the
 * entry is open, else by name in parent_fd, never following (symlinks: no mode, no xattrs). */
static int set_meta(struct unpack *u, int fd, int parent_fd, const char *base,
		    struct archive_entry *e, struct error *err)
{
	uid_t uid = (uid_t)archive_entry_uid(e);
	gid_t gid = (gid_t)archive_entry_gid(e);
	mode_t mode = archive_entry_perm(e) & 07777;
	bool link = archive_entry_filetype(e) == AE_IFLNK;
	struct timespec ts[2];
	int r;

	if (u->root &&
	    (fd >= 0 ? fchown(fd, uid, gid)
		     : fchownat(parent_fd, base, uid, gid, AT_SYMLINK_NOFOLLOW)) < 0 &&
	    errno != EINVAL)
		return error_errno(err, "chown");
	if (!link && (fd >= 0 ? fchmod(fd, mode) : fchmodat(parent_fd, base, mode, 0)) < 0)
		return error_errno(err, "chmod");
	r = fd >= 0 ? set_xattrs(u, fd, e, err) : 0;
	if (r < 0)
		return r;
	entry_times(e, ts);
	if ((fd >= 0 ? futimens(fd, ts) : utimensat(parent_fd, base, ts, AT_SYMLINK_NOFOLLOW)) < 0)
		return error_errno(err, "set times");
	return 0;
}

static int write_all_at(int fd, const char *buf, size_t len, int64_t off)
{
	while (len > 0) {
		ssize_t n = pwrite(fd, buf, len, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

static int copy_data(struct unpack *u, int fd, int64_t size, struct error *err)
{
	const void *buf;
	size_t len;
	la_int64_t off;
	int r;

	while ((r = archive_read_data_block(u->tar, &buf, &len, &off)) != ARCHIVE_EOF) {
		if (r < ARCHIVE_WARN)
			return error_set(err, EIO, "read: %s", archive_error_string(u->tar));
		if (off < 0 || (uint64_t)off > (uint64_t)size || len > (uint64_t)(size - off))
			return error_set(err, EINVAL, "data beyond the file's size");
		r = write_all_at(fd, buf, len, off);
		if (r < 0)
			return error_set(err, -r, "write: %s", strerror(-r));
		u->st->bytes += len;
	}
	if (ftruncate(fd, size) < 0)
		return error_errno(err, "truncate");
	/* Start writing the data back now, without waiting: the overlay's unmount syncs the
	 * upper file system and would otherwise wait for every layer's bytes at once. */
	sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
	return 0;
}

static int unpack_file(struct unpack *u, int parent_fd, const char *base, struct archive_entry *e,
		       struct error *err)
{
	int64_t size = archive_entry_size(e);
	cleanup_fd int fd = -1;
	int r;

	if (size < 0 || (uint64_t)size > u->max_bytes - u->file_bytes)
		return error_set(err, EFBIG, "files larger than %llu bytes in all",
				 (unsigned long long)u->max_bytes);
	u->file_bytes += (uint64_t)size;
	r = make_room(parent_fd, base, false, err);
	if (r < 0)
		return r;
	fd = openat(parent_fd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return error_errno(err, "create");
	r = copy_data(u, fd, size, err);
	if (r < 0)
		return r;
	u->st->files++;
	return set_meta(u, fd, -1, NULL, e, err);
}

static int unpack_dir(struct unpack *u, int parent_fd, const char *base, struct archive_entry *e,
		      struct error *err)
{
	cleanup_fd int fd = -1;
	int r = make_room(parent_fd, base, true, err);

	if (r < 0)
		return r;
	if (mkdirat(parent_fd, base, 0700) < 0 && errno != EEXIST)
		return error_errno(err, "mkdir");
	fd = openat(parent_fd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return error_errno(err, "open directory");
	u->st->dirs++;
	return set_meta(u, fd, -1, NULL, e, err);
}

static int unpack_symlink(struct unpack *u, int parent_fd, const char *base,
			  struct archive_entry *e, struct error *err)
{
	const char *target = archive_entry_symlink(e);
	int r;

	if (!target || !*target || strlen(target) > IMAGE_UNPACK_MAX_NAME)
		return error_set(err, EINVAL, "bad symlink target");
	r = make_room(parent_fd, base, false, err);
	if (r < 0)
		return r;
	if (symlinkat(target, parent_fd, base) < 0)
		return error_errno(err, "symlink");
	u->st->symlinks++;
	return set_meta(u, -1, parent_fd, base, e, err);
}

/* The target is resolved in the root like any name and must be a regular file or a symlink
 * (linked as itself); it is never followed. */
static int unpack_hardlink(struct unpack *u, int parent_fd, const char *clean, const char *base,
			   const char *target, struct error *err)
{
	cleanup_free char *tclean = NULL;
	cleanup_fd int tfd = -1;
	const char *tbase, *tparent;
	struct stat st;
	int r = clean_name(target, &tclean, err);

	if (r < 0)
		return error_wrap(err, "hardlink target \"%s\"", target);
	if (strcmp(tclean, clean) == 0)
		return 0;
	if (strcmp(tclean, ".") == 0)
		return error_set(err, EINVAL, "hardlink target is the layer root");
	tbase = split_name(tclean, &tparent);
	tfd = path_open_in_root(u->root_fd, tparent, O_PATH | O_DIRECTORY, 0, err);
	if (tfd < 0)
		return error_wrap(err, "hardlink target \"%s\"", target);
	if (fstatat(tfd, tbase, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return error_errno(err, "hardlink target \"%s\"", target);
	if (!S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode))
		return error_set(err, EINVAL, "hardlink target \"%s\" is not a regular file",
				 target);
	r = make_room(parent_fd, base, false, err);
	if (r < 0)
		return r;
	if (linkat(tfd, tbase, parent_fd, base, 0) < 0)
		return error_errno(err, "link to \"%s\"", target);
	u->st->hardlinks++;
	return 0;
}

static int unpack_node(struct unpack *u, int parent_fd, const char *base, struct archive_entry *e,
		       struct error *err)
{
	mode_t type = archive_entry_filetype(e);
	int r = make_room(parent_fd, base, false, err);

	if (r < 0)
		return r;
	if (mknodat(parent_fd, base, type | 0600, type == AE_IFIFO ? 0 : archive_entry_rdev(e)) <
	    0) {
		if (errno == EPERM && type != AE_IFIFO) {
			u->st->devices_skipped++;
			return 0;
		}
		return error_errno(err, "mknod");
	}
	u->st->devices++;
	return set_meta(u, -1, parent_fd, base, e, err);
}

static int unpack_opaque(struct unpack *u, const char *parent, struct error *err)
{
	cleanup_fd int fd = path_mkdir_in_root(u->root_fd, parent, 0755, err);
	cleanup_fd int dfd = -1;
	int r;

	if (fd < 0)
		return fd;
	if (!u->overlay) {
		r = clear_dir(fd, &u->seen, parent);
		return r < 0 ? error_set(err, -r, "opaque directory: %s", strerror(-r)) : 0;
	}
	dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || fsetxattr(dfd, OPAQUE_XATTR, "y", 1, 0) < 0)
		return error_errno(err, "set %s", OPAQUE_XATTR);
	return 0;
}

/* ".wh.NAME" in parent: NAME is deleted (flattened) or marked with a 0:0 character device. */
static int unpack_whiteout(struct unpack *u, const char *parent, const char *what,
			   struct error *err)
{
	cleanup_fd int fd = -1;
	struct error scratch;
	int r;

	u->st->whiteouts++;
	if (strcmp(what, OPQ_NAME) == 0)
		return unpack_opaque(u, parent, err);
	if (strncmp(what, WH_PREFIX, strlen(WH_PREFIX)) == 0)
		return 0; /* aufs metadata (.wh..wh.plnk, ...) */
	if (!*what || strcmp(what, ".") == 0 || strcmp(what, "..") == 0)
		return error_set(err, EINVAL, "invalid whiteout");
	if (!u->overlay) {
		fd = path_open_in_root(u->root_fd, parent, O_PATH | O_DIRECTORY, 0, &scratch);
		if (fd < 0)
			return 0; /* nothing there to hide */
		r = remove_tree(fd, what);
		return r < 0 ? error_set(err, -r, "whiteout: %s", strerror(-r)) : 0;
	}
	fd = path_mkdir_in_root(u->root_fd, parent, 0755, err);
	if (fd < 0)
		return fd;
	r = make_room(fd, what, false, err);
	if (r < 0)
		return r;
	if (mknodat(fd, what, S_IFCHR | 0, makedev(0, 0)) < 0)
		return error_errno(err, "whiteout device");
	return 0;
}

static int unpack_entry(struct unpack *u, struct archive_entry *e, struct error *err)
{
	const char *name = archive_entry_pathname(e), *base, *parent, *hardlink;
	cleanup_free char *clean = NULL, *copy = NULL;
	cleanup_fd int pfd = -1;
	mode_t type = archive_entry_filetype(e);
	int r;

	if (!name)
		return error_set(err, EINVAL, "entry without a name");
	r = clean_name(name, &clean, err);
	if (r < 0)
		return r;
	if (strcmp(clean, ".") == 0)
		return type == AE_IFDIR ? 0 : error_set(err, EINVAL, "not a directory");
	copy = strdup(clean);
	if (!copy)
		return error_set(err, ENOMEM, "%s", strerror(ENOMEM));
	base = split_name(copy, &parent);
	if (strncmp(base, WH_PREFIX, strlen(WH_PREFIX)) == 0)
		return unpack_whiteout(u, parent, base + strlen(WH_PREFIX), err);
	if (!u->overlay && pathset_add(&u->seen, clean) < 0)
		return error_set(err, ENOMEM, "%s", strerror(ENOMEM));
	pfd = path_mkdir_in_root(u->root_fd, parent, 0755, err);
	if (pfd < 0)
		return pfd;
	hardlink = archive_entry_hardlink(e);
	if (hardlink)
		return unpack_hardlink(u, pfd, clean, base, hardlink, err);
	switch (type) {
	case AE_IFREG:
		return unpack_file(u, pfd, base, e, err);
	case AE_IFDIR:
		return unpack_dir(u, pfd, base, e, err);
	case AE_IFLNK:
		return unpack_symlink(u, pfd, base, e, err);
	case AE_IFCHR:
	case AE_IFBLK:
	case AE_IFIFO:
		return unpack_node(u, pfd, base, e, err);
	default:
		return 0; /* sockets and unknown types: nothing to create */
	}
}

/* The tar reader's input: the next block of the uncompressed stream, hashed and counted. */
static la_ssize_t stream_read(struct archive *a, void *data, const void **buf)
{
	struct unpack *u = data;
	struct error scratch;
	size_t len;
	la_int64_t off;
	int r = archive_read_data_block(u->raw, buf, &len, &off);

	if (r == ARCHIVE_EOF)
		return 0;
	if (r < ARCHIVE_WARN) {
		archive_set_error(a, archive_errno(u->raw) > 0 ? archive_errno(u->raw) : EIO,
				  "decompress: %s", archive_error_string(u->raw));
		return -1;
	}
	if (len > u->max_bytes - u->stream_bytes) {
		archive_set_error(a, EFBIG, "uncompressed layer larger than %ju bytes",
				  (uintmax_t)u->max_bytes);
		return -1;
	}
	u->stream_bytes += len;
	if (u->hash && image_digest_update(&u->md, *buf, len, &scratch) < 0) {
		archive_set_error(a, scratch.code, "%s", scratch.msg);
		return -1;
	}
	return (la_ssize_t)len;
}

static int unpack_open(struct unpack *u, int fd, struct error *err)
{
	struct archive_entry *e;
	int r;

	u->raw = archive_read_new();
	u->tar = archive_read_new();
	if (!u->raw || !u->tar)
		return error_set(err, ENOMEM, "archive: %s", strerror(ENOMEM));
	if (archive_read_support_filter_gzip(u->raw) != ARCHIVE_OK ||
	    archive_read_support_filter_zstd(u->raw) != ARCHIVE_OK ||
	    archive_read_support_format_raw(u->raw) != ARCHIVE_OK ||
	    archive_read_support_format_empty(u->raw) != ARCHIVE_OK ||
	    archive_read_support_format_tar(u->tar) != ARCHIVE_OK)
		return error_set(err, ENOTSUP, "libarchive lacks gzip, zstd or tar support");
	if (archive_read_open_fd(u->raw, fd, READ_BLOCK) != ARCHIVE_OK)
		return error_set(err, EIO, "open layer: %s", archive_error_string(u->raw));
	r = archive_read_next_header(u->raw, &e);
	if (r == ARCHIVE_EOF)
		return error_set(err, EINVAL, "read layer: empty file, not a tar");
	if (r < ARCHIVE_WARN)
		return error_set(err, EIO, "read layer: %s", archive_error_string(u->raw));
	if (archive_read_open(u->tar, u, NULL, stream_read, NULL) != ARCHIVE_OK)
		return error_set(err, EIO, "read layer: %s", archive_error_string(u->tar));
	return 0;
}

static int unpack_all(struct unpack *u, struct error *err)
{
	struct archive_entry *e;
	int r;

	while ((r = archive_read_next_header(u->tar, &e)) != ARCHIVE_EOF) {
		const char *name;

		if (r < ARCHIVE_WARN)
			return error_set(
			    err, archive_errno(u->tar) > 0 ? archive_errno(u->tar) : EIO,
			    "read layer after %llu entries: %s", (unsigned long long)u->st->entries,
			    archive_error_string(u->tar));
		name = archive_entry_pathname(e);
		if (++u->st->entries > u->max_entries)
			return error_set(err, E2BIG, "layer has more than %llu entries",
					 (unsigned long long)u->max_entries);
		r = unpack_entry(u, e, err);
		if (r < 0)
			return error_wrap(err, "layer entry \"%.256s\"", name ? name : "");
	}
	return 0;
}

/* Hashes what follows the tar's end marker and writes "sha256:<hex>". */
static int unpack_finish(struct unpack *u, char *diff_id, struct error *err)
{
	const void *buf;
	la_ssize_t len;

	while ((len = stream_read(u->tar, u, &buf)) > 0)
		;
	if (len < 0)
		return error_set(err, EIO, "read layer: %s", archive_error_string(u->tar));
	if (!u->hash)
		return 0;
	u->hash = false; /* final releases the context */
	return image_digest_final(&u->md, diff_id, err);
}

int image_unpack_layer(int archive_fd, const char *dest_dir, const struct image_unpack_opts *opts,
		       struct image_unpack_stats *ret, struct error *err)
{
	static const struct image_unpack_opts defaults;
	struct image_unpack_stats stats = {0};
	struct unpack u = {.root_fd = -1, .st = &stats, .root = geteuid() == 0};
	int r;

	opts = opts ? opts : &defaults;
	u.overlay = opts->overlay;
	u.max_entries = opts->max_entries ? opts->max_entries : IMAGE_UNPACK_MAX_ENTRIES;
	u.max_bytes = opts->max_bytes ? opts->max_bytes : IMAGE_UNPACK_MAX_BYTES;
	u.root_fd = open(dest_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (u.root_fd < 0)
		return error_errno(err, "open %s", dest_dir);
	u.hash = opts->diff_id_out != NULL;
	r = u.hash ? image_digest_init(&u.md, err) : 0;
	if (r == 0)
		r = unpack_open(&u, archive_fd, err);
	if (r == 0)
		r = unpack_all(&u, err);
	if (r == 0)
		r = unpack_finish(&u, opts->diff_id_out, err);
	archive_read_free(u.tar);
	archive_read_free(u.raw);
	image_digest_ctx_free(&u.md);
	pathset_free(&u.seen);
	close(u.root_fd);
	if (ret)
		*ret = stats;
	return r;
}
