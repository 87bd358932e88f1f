/* path: see path.h */
#include "util/path.h"

#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/cleanup.h"

#define MAX_SYMLINKS  40 /* as the kernel's MAXSYMLINKS */
#define MAX_RETRIES   32 /* EAGAIN from openat2, EEXIST/ENOENT races while creating */
#define RESOLVE_FLAGS (RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)

static int openat2_in_root(int root_fd, const char *path, int flags, mode_t mode)
{
	struct open_how how = {
	    .flags = (uint64_t)(flags | O_CLOEXEC),
	    .mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0,
	    .resolve = RESOLVE_FLAGS,
	};
	int fd = -1;

	if (!path[0])
		path = ".";
	/* openat2 returns EAGAIN when a concurrent rename may have let ".." escape. */
	for (int i = 0; i < MAX_RETRIES; i++) {
		fd = (int)syscall(SYS_openat2, root_fd, path, &how, sizeof(how));
		if (fd >= 0 || errno != EAGAIN)
			break;
	}
	return fd < 0 ? -errno : fd;
}

int path_open_in_root(int root_fd, const char *path, int flags, mode_t mode, struct error *err)
{
	int fd = openat2_in_root(root_fd, path, flags, mode);

	if (fd < 0) {
		errno = -fd;
		return error_errno(err, "open %s in root", path);
	}
	return fd;
}

/* Takes the first component off *rest (skipping slashes) into comp; returns 0 at the end. */
static int next_component(const char **rest, char *comp, size_t size)
{
	const char *p = *rest;
	size_t n;

	while (*p == '/')
		p++;
	n = strcspn(p, "/");
	if (n == 0)
		return 0;
	if (n >= size)
		return -ENAMETOOLONG;
	memcpy(comp, p, n);
	comp[n] = '\0';
	*rest = p + n;
	return 1;
}

static bool rest_is_empty(const char *rest)
{
	return rest[strspn(rest, "/")] == '\0';
}

/* The state of an in-root walk: the path resolved so far (no symlinks, relative to root)
 * and the part still to walk. */
struct walk {
	int root_fd;
	char *resolved; /* "" for the root, else "a/b/c" */
	char *rest;
	int links;
};

static int walk_push(struct walk *w, const char *comp)
{
	char *s = NULL;

	if (asprintf(&s, "%s%s%s", w->resolved, w->resolved[0] ? "/" : "", comp) < 0)
		return -ENOMEM;
	if (strlen(s) >= PATH_MAX) {
		free(s);
		return -ENAMETOOLONG;
	}
	free(w->resolved);
	w->resolved = s;
	return 0;
}

static void walk_pop(struct walk *w)
{
	char *slash = strrchr(w->resolved, '/');

	if (slash)
		*slash = '\0';
	else
		w->resolved[0] = '\0';
}

/* Replaces the walk's rest with target + rest; an absolute target restarts at the root. */
static int walk_splice_link(struct walk *w, int fd, const char *rest)
{
	char target[PATH_MAX];
	char *s = NULL;
	ssize_t n;

	if (++w->links > MAX_SYMLINKS)
		return -ELOOP;
	n = readlinkat(fd, "", target, sizeof(target));
	if (n < 0)
		return -errno;
	if ((size_t)n >= sizeof(target))
		return -ENAMETOOLONG;
	target[n] = '\0';
	if (target[0] == '/')
		w->resolved[0] = '\0';
	if (asprintf(&s, "%s/%s", target, rest) < 0)
		return -ENOMEM;
	if (strlen(s) >= 4 * PATH_MAX) {
		free(s);
		return -ENAMETOOLONG;
	}
	free(w->rest);
	w->rest = s;
	return 0;
}

/* Creates comp in the directory resolved so far: a directory unless it is the final entry
 * of a file target. EEXIST is not an error: the caller looks again. */
static int create_component(struct walk *w, const char *comp, bool as_dir, mode_t mode)
{
	cleanup_fd int parent = openat2_in_root(w->root_fd, w->resolved, O_PATH | O_DIRECTORY, 0);
	struct open_how how = {
	    .flags = O_RDONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    .mode = mode,
	    .resolve = RESOLVE_FLAGS | RESOLVE_NO_SYMLINKS,
	};
	int fd;

	if (parent < 0)
		return parent;
	if (as_dir) {
		if (mkdirat(parent, comp, mode) < 0 && errno != EEXIST)
			return -errno;
		return 0;
	}
	fd = (int)syscall(SYS_openat2, parent, comp, &how, sizeof(how));
	if (fd < 0)
		return errno == EEXIST ? 0 : -errno;
	close(fd);
	return 0;
}

/* Opens the next component without following it; creates it when missing and create is set. */
static int open_component(struct walk *w, const char *comp, bool last, int dir, bool create,
			  mode_t mode)
{
	cleanup_free char *sub = NULL;
	int fd = -ENOENT;

	if (asprintf(&sub, "%s/%s", w->resolved, comp) < 0)
		return -ENOMEM;
	for (int i = 0; i < MAX_RETRIES; i++) {
		int r;

		fd = openat2_in_root(w->root_fd, sub, O_PATH | O_NOFOLLOW, 0);
		if (fd != -ENOENT || !create)
			return fd;
		r = create_component(w, comp, !last || dir, last ? mode : 0755);
		if (r < 0)
			return r;
	}
	return fd;
}

/* One step of the walk. Returns 1 to go on, 0 at the end with *ret_fd set, or -errno. */
static int walk_step(struct walk *w, int dir, bool create, mode_t mode, int *ret_fd)
{
	char comp[NAME_MAX + 1];
	const char *rest = w->rest;
	cleanup_fd int fd = -1;
	struct stat st;
	bool last;
	int r;

	r = next_component(&rest, comp, sizeof(comp));
	if (r <= 0) {
		if (r == 0)
			*ret_fd = openat2_in_root(w->root_fd, w->resolved, O_PATH | O_DIRECTORY, 0);
		return r < 0 ? r : (*ret_fd < 0 ? *ret_fd : 0);
	}
	last = rest_is_empty(rest);
	if (strcmp(comp, ".") == 0 || strcmp(comp, "..") == 0) {
		if (comp[1] == '.')
			walk_pop(w);
		memmove(w->rest, rest, strlen(rest) + 1);
		return 1;
	}
	fd = open_component(w, comp, last, dir, create, mode);
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (S_ISLNK(st.st_mode)) {
		r = walk_splice_link(w, fd, rest);
		return r < 0 ? r : 1;
	}
	if (S_ISDIR(st.st_mode)) {
		r = walk_push(w, comp);
		if (r < 0)
			return r;
		memmove(w->rest, rest, strlen(rest) + 1);
		return 1;
	}
	if (!last || dir == 1)
		return -ENOTDIR;
	*ret_fd = TAKE_FD(fd);
	return 0;
}

/* Walks path inside root_fd one component at a time, following symlinks by hand so that
 * a dangling one is created at its target inside root. dir: 1 directory, 0 non-directory,
 * -1 either. Returns an O_PATH fd of the final entry. */
static int walk_in_root(int root_fd, const char *path, int dir, bool create, mode_t mode)
{
	struct walk w = {.root_fd = root_fd};
	int fd = -1;
	int r;

	w.resolved = strdup("");
	w.rest = strdup(path);
	if (!w.resolved || !w.rest) {
		r = -ENOMEM;
		goto out;
	}
	while ((r = walk_step(&w, dir, create, mode, &fd)) > 0)
		;
	if (r == 0 && dir == 0) {
		struct stat st;

		if (fstat(fd, &st) < 0 || S_ISDIR(st.st_mode)) {
			close(fd);
			r = -EISDIR;
		}
	}
out:
	free(w.resolved);
	free(w.rest);
	return r < 0 ? r : fd;
}

int path_mkdir_in_root(int root_fd, const char *path, mode_t mode, struct error *err)
{
	int fd = walk_in_root(root_fd, path, 1, true, mode);

	if (fd < 0)
		return error_set(err, -fd, "mkdir %s in root: %s", path, strerror(-fd));
	return fd;
}

int path_mkentry_in_root(int root_fd, const char *path, int dir, mode_t mode, struct error *err)
{
	int fd = walk_in_root(root_fd, path, dir ? 1 : 0, true, mode);

	if (fd < 0)
		return error_set(err, -fd, "create %s in root: %s", path, strerror(-fd));
	return fd;
}

const char *path_fd(int fd, char *buf, size_t size)
{
	snprintf(buf, size, "/proc/self/fd/%d", fd);
	return buf;
}

char *path_join(const char *a, const char *b)
{
	size_t la = strlen(a);
	char *s = NULL;

	while (la > 0 && a[la - 1] == '/')
		la--;
	while (*b == '/')
		b++;
	if (la == 0 && a[0] == '/')
		return asprintf(&s, "/%s", b) < 0 ? NULL : s;
	if (la == 0)
		return strdup(b);
	if (!*b)
		return strndup(a, la);
	return asprintf(&s, "%.*s/%s", (int)la, a, b) < 0 ? NULL : s;
}

/* Appends comp to out (length *n) as path_clean does, resolving ".." lexically. */
static void clean_append(char *out, size_t *n, bool rooted, size_t *dotdot, const char *comp,
			 size_t len)
{
	if (len == 1 && comp[0] == '.')
		return;
	if (len == 2 && comp[0] == '.' && comp[1] == '.') {
		if (*n > *dotdot) {
			while (*n > *dotdot && out[*n - 1] != '/')
				(*n)--;
			if (*n > *dotdot)
				(*n)--;
			if (*n == 0 && rooted)
				*n = 1;
			return;
		}
		if (rooted)
			return;
	}
	if (*n > 0 && out[*n - 1] != '/')
		out[(*n)++] = '/';
	memcpy(out + *n, comp, len);
	*n += len;
	if (len == 2 && comp[0] == '.' && comp[1] == '.')
		*dotdot = *n;
}

char *path_clean(const char *path)
{
	bool rooted = path[0] == '/';
	size_t n = rooted ? 1 : 0, dotdot = n;
	char *out = malloc(strlen(path) + 2);
	const char *p = path;

	if (!out)
		return NULL;
	out[0] = '/';
	while (*p) {
		size_t len;

		while (*p == '/')
			p++;
		len = strcspn(p, "/");
		if (len)
			clean_append(out, &n, rooted, &dotdot, p, len);
		p += len;
	}
	if (n == 0)
		out[n++] = '.';
	out[n] = '\0';
	return out;
}
