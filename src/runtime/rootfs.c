/* rootfs: see rootfs.h */
#include "runtime/rootfs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "runtime/devices.h"
#include "runtime/mounts.h"
#include "util/cleanup.h"
#include "util/fd.h"
#include "util/log.h"
#include "util/path.h"

#define HOST_CGROUP  "/sys/fs/cgroup"
#define MS_PROPAGATE (MS_SHARED | MS_SLAVE | MS_PRIVATE | MS_UNBINDABLE)

struct rootfs {
	/* The host's /dev/null, opened before pivot_root: a detached clone until it is
	 * attached on the first masked file, then that mount (cloned for the next ones). */
	int null_fd;
	bool null_attached;
	int proc_fd; /* the procfs mount made on /proc, or -1 */
};

/* What rootfs_prepare works with. */
struct rootfs_ctx {
	const struct spec *spec;
	struct rootfs *rfs;
	int root_fd; /* O_PATH of the rootfs bind mount */
};

/* In a user namespace unless uid_map is the identity map of the initial one. */
static bool in_userns(void)
{
	cleanup_file FILE *f = fopen("/proc/self/uid_map", "re");
	unsigned long a, b, c;

	if (!f)
		return false;
	if (fscanf(f, "%lu %lu %lu", &a, &b, &c) != 3)
		return true;
	return !(a == 0 && b == 0 && c == 4294967295UL);
}

/* Creates dest in root (a directory, or a file when dir is false) and returns its O_PATH fd. */
static int mount_target(int root_fd, const char *dest, bool dir, struct error *err)
{
	return path_mkentry_in_root(root_fd, dest, dir, dir ? 0755 : 0644, err);
}

/* Binds the host path src on dest; returns the fd of the new mount. */
static int do_bind(const struct rootfs_ctx *ctx, const char *src, const struct spec_mount *m,
		   unsigned long flags, bool rec, struct error *err)
{
	cleanup_fd int mnt = mounts_clone(AT_FDCWD, src, rec, err);
	cleanup_fd int target = -1;
	struct stat st;
	int r;

	if (mnt < 0)
		return error_wrap(err, "bind %s", src);
	if (fstat(mnt, &st) < 0)
		return error_errno(err, "bind %s: stat", src);
	target = mount_target(ctx->root_fd, m->destination, S_ISDIR(st.st_mode), err);
	if (target < 0)
		return target;
	r = mounts_set_flags(mnt, flags & ~(MS_BIND | MS_REC | MS_REMOUNT | MS_PROPAGATE),
			     m->clear_flags, false, err);
	if (r == 0)
		r = mounts_attach(mnt, target, err);
	if (r < 0)
		return error_wrap(err, "bind %s on %s", src, m->destination);
	return TAKE_FD(mnt);
}

static bool host_is_cgroup2(void)
{
	struct statfs sf;

	return statfs(HOST_CGROUP, &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC;
}

/* Makes a new file system of type from src and data and attaches it on m->destination. */
static int new_fs(const struct rootfs_ctx *ctx, const struct spec_mount *m, const char *type,
		  const char *src, const char *data, struct error *err)
{
	cleanup_fd int target = mount_target(ctx->root_fd, m->destination, true, err);
	cleanup_fd int mnt = -1;
	int r;

	if (target < 0)
		return target;
	mnt = mounts_new_fs(type, src, data, m->flags, err);
	if (mnt < 0)
		return mnt;
	r = mounts_attach(mnt, target, err);
	return r < 0 ? r : TAKE_FD(mnt);
}

/* In a cgroup namespace on a cgroup2 host: a fresh cgroup2 mount (it shows the namespace's
 * root). Otherwise (no cgroup namespace, or cgroup v1 whose per-hierarchy mounts would need
 * the controller list): the host's /sys/fs/cgroup with every hierarchy in it, read-only. */
static int mount_cgroup(const struct rootfs_ctx *ctx, const struct spec_mount *m, struct error *err)
{
	cleanup_fd int mnt = -1;
	int r;

	if (ctx->spec->namespaces[SPEC_NS_CGROUP].present && host_is_cgroup2()) {
		r = new_fs(ctx, m, "cgroup2", "cgroup2", NULL, err);
		return r < 0 ? error_wrap(err, "mount cgroup2 on %s", m->destination) : r;
	}
	mnt = do_bind(ctx, HOST_CGROUP, m, m->flags & ~MS_RDONLY, true, err);
	if (mnt < 0)
		return mnt;
	r = mounts_set_flags(mnt, MS_RDONLY, 0, true, err);
	if (r < 0)
		return error_wrap(err, "make %s read-only", m->destination);
	return TAKE_FD(mnt);
}

/* proc, sysfs, tmpfs, devpts, mqueue and any other file system made from nothing. */
static int mount_fs(const struct rootfs_ctx *ctx, const struct spec_mount *m, struct error *err)
{
	const char *src = m->source[0] ? m->source : m->type;
	int mnt = new_fs(ctx, m, m->type, src, m->data, err);

	/* sysfs needs a network namespace owned by our user namespace: as runc, bind the
	 * host's /sys instead. */
	if (mnt == -EPERM && strcmp(m->type, "sysfs") == 0)
		return do_bind(ctx, "/sys", m, m->flags, true, err);
	if (mnt < 0)
		return error_wrap(err, "mount %s on %s", m->type, m->destination);
	return mnt;
}

/* The container's /proc must still be the procfs mounted on it, not covered by a later mount
 * (a volume on /proc: CVE-2023-27561) nor replaced by a symlink (CVE-2019-16884). */
static int check_proc(const struct rootfs *rfs, int root_fd, struct error *err)
{
	cleanup_fd int fd = openat(root_fd, "proc", O_PATH | O_NOFOLLOW | O_DIRECTORY | O_CLOEXEC);
	struct statx now, made;
	struct statfs sf;

	if (rfs->proc_fd < 0)
		return 0;
	if (fd < 0 || fstatfs(fd, &sf) < 0 || sf.f_type != PROC_SUPER_MAGIC ||
	    statx(fd, "", AT_EMPTY_PATH, STATX_INO, &now) < 0 ||
	    statx(rfs->proc_fd, "", AT_EMPTY_PATH, STATX_INO, &made) < 0 ||
	    !(now.stx_attributes & STATX_ATTR_MOUNT_ROOT) ||
	    now.stx_dev_major != made.stx_dev_major || now.stx_dev_minor != made.stx_dev_minor ||
	    now.stx_ino != made.stx_ino)
		return error_set(err, EPERM, "mount /proc: not procfs (covered or replaced)");
	return 0;
}

/* Keeps the fd of the procfs mount made on /proc: sysctls are written through it, and
 * rootfs_finalize checks that it is still what the container sees at /proc. */
static int keep_proc(const struct rootfs_ctx *ctx, const struct spec_mount *m, int *mnt,
		     struct error *err)
{
	cleanup_free char *dest = path_clean(m->destination);
	struct statfs sf;

	if (!dest)
		return error_set(err, ENOMEM, "mount %s", m->destination);
	if ((m->vflags & SPEC_MOUNT_BIND) || strcmp(m->type, "proc") != 0 || strcmp(dest, "/proc"))
		return 0;
	if (fstatfs(*mnt, &sf) < 0 || sf.f_type != PROC_SUPER_MAGIC)
		return error_set(err, EINVAL, "mount /proc: not procfs");
	if (ctx->rfs->proc_fd >= 0)
		close(ctx->rfs->proc_fd);
	ctx->rfs->proc_fd = TAKE_FD(*mnt);
	/* As runc: not through a symlink (it landed elsewhere, and /proc stays the image's). */
	return check_proc(ctx->rfs, ctx->root_fd, err);
}

static int mount_one(const struct rootfs_ctx *ctx, const struct spec_mount *m, struct error *err)
{
	cleanup_fd int mnt = -1;
	int r;

	if (m->vflags & SPEC_MOUNT_BIND)
		mnt = do_bind(ctx, m->source, m, m->flags, m->vflags & SPEC_MOUNT_RECURSIVE, err);
	else if (strcmp(m->type, "cgroup") == 0 || strcmp(m->type, "cgroup2") == 0)
		mnt = mount_cgroup(ctx, m, err);
	else
		mnt = mount_fs(ctx, m, err);
	if (mnt < 0)
		return mnt;
	r = mounts_set_propagation(mnt, m->propagation, err);
	if (r < 0)
		return error_wrap(err, "%s", m->destination);
	return keep_proc(ctx, m, &mnt, err);
}

/* Un-escapes mountinfo's octal escapes ("\040" for a space) in place. */
static void unescape(char *s)
{
	char *o = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*o++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
}

/* With a shared "/", the mount that holds rootfs must be private: pivot_root refuses a
 * shared parent, and the rootfs bind would propagate to the host. */
static int make_parent_private(const char *rootfs, struct error *err)
{
	cleanup_file FILE *f = fopen("/proc/self/mountinfo", "re");
	cleanup_free char *line = NULL, *best = NULL;
	size_t cap = 0, best_len = 0;

	if (!f)
		return error_errno(err, "open /proc/self/mountinfo");
	while (getline(&line, &cap, f) > 0) {
		char mp[PATH_MAX];
		size_t n;

		if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) != 1)
			continue;
		unescape(mp);
		n = strlen(mp);
		if (strncmp(rootfs, mp, n) != 0 || (rootfs[n] != '/' && rootfs[n] && n > 1))
			continue;
		if (n >= best_len) {
			free(best);
			best = strdup(mp);
			best_len = n;
		}
	}
	if (!best)
		return error_set(err, ENOENT, "find the mount holding %s", rootfs);
	if (mount(NULL, best, NULL, MS_PRIVATE, NULL) < 0)
		return error_errno(err, "make %s private", best);
	return 0;
}

static int bind_rootfs(const struct spec *spec, const char *rootfs, struct error *err)
{
	unsigned long prop = spec->rootfs_propagation ? spec->rootfs_propagation : MS_PRIVATE;
	int r;

	if (mount(NULL, "/", NULL, MS_REC | prop, NULL) < 0)
		return error_errno(err, "set propagation of /");
	if (prop & MS_SHARED) {
		r = make_parent_private(rootfs, err);
		if (r < 0)
			return r;
	}
	if (mount(rootfs, rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
		return error_errno(err, "bind %s", rootfs);
	return 0;
}

/* A detached clone of the host's /dev/null, checked to be the null device, for maskedPaths:
 * after pivot_root only the container's /dev is left, and that is the image's to forge. */
static int clone_host_null(struct error *err)
{
	cleanup_fd int fd = mounts_clone(AT_FDCWD, "/dev/null", false, err);
	struct stat st;
	int r;

	if (fd < 0)
		return error_wrap(err, "host /dev/null");
	if (fstat(fd, &st) < 0)
		return error_errno(err, "stat host /dev/null");
	if (!S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3))
		return error_set(err, EPERM, "host /dev/null is not the null device");
	r = mounts_set_propagation(fd, MS_PRIVATE, err);
	if (r < 0)
		return error_wrap(err, "host /dev/null");
	return TAKE_FD(fd);
}

void rootfs_free(struct rootfs *rfs)
{
	if (!rfs)
		return;
	if (rfs->null_fd >= 0)
		close(rfs->null_fd);
	if (rfs->proc_fd >= 0)
		close(rfs->proc_fd);
	free(rfs);
}

static int prepare(struct rootfs_ctx *ctx, const char *rootfs, struct error *err)
{
	const struct spec *spec = ctx->spec;
	int r;

	r = bind_rootfs(spec, rootfs, err);
	if (r < 0)
		return error_wrap(err, "prepare rootfs");
	ctx->rfs->null_fd = clone_host_null(err);
	if (ctx->rfs->null_fd < 0)
		return error_wrap(err, "prepare rootfs");
	ctx->root_fd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (ctx->root_fd < 0)
		return error_errno(err, "prepare rootfs: open %s", rootfs);
	for (size_t i = 0; i < spec->n_mounts; i++) {
		r = mount_one(ctx, &spec->mounts[i], err);
		if (r < 0)
			return error_wrap(err, "mounts[%zu] %s", i, spec->mounts[i].destination);
	}
	if (devices_wanted(spec)) {
		r = devices_setup(spec, ctx->root_fd, in_userns(), err);
		if (r < 0)
			return error_wrap(err, "prepare /dev");
	}
	return 0;
}

int rootfs_prepare(const struct spec *spec, const char *rootfs, struct rootfs **ret,
		   struct error *err)
{
	cleanup(rootfs_free) struct rootfs *rfs = calloc(1, sizeof(*rfs));
	struct rootfs_ctx ctx = {.spec = spec, .rfs = rfs, .root_fd = -1};
	int r;

	if (!rfs)
		return error_set(err, ENOMEM, "prepare rootfs");
	rfs->null_fd = rfs->proc_fd = -1;
	r = prepare(&ctx, rootfs, err);
	if (ctx.root_fd >= 0)
		close(ctx.root_fd);
	if (r < 0)
		return r;
	log_debug("rootfs %s prepared: %zu mounts", rootfs, spec->n_mounts);
	*ret = TAKE_PTR(rfs);
	return 0;
}

int rootfs_pivot(const char *rootfs, struct error *err)
{
	cleanup_fd int oldroot = open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	cleanup_fd int newroot = open(rootfs, O_DIRECTORY | O_RDONLY | O_CLOEXEC);

	if (oldroot < 0 || newroot < 0)
		return error_errno(err, "pivot_root: open %s", oldroot < 0 ? "/" : rootfs);
	if (fchdir(newroot) < 0)
		return error_errno(err, "pivot_root: chdir %s", rootfs);
	/* The old root ends up stacked on "." and is detached from there. */
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return error_errno(err, "pivot_root %s", rootfs);
	if (fchdir(oldroot) < 0)
		return error_errno(err, "pivot_root: chdir to the old root");
	if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)
		return error_errno(err, "pivot_root: make the old root a slave");
	if (umount2(".", MNT_DETACH) < 0)
		return error_errno(err, "pivot_root: detach the old root");
	if (chdir("/") < 0)
		return error_errno(err, "pivot_root: chdir /");
	return 0;
}

/* Writes value to sys/<key with '.' as '/'> beneath the procfs mount made on /proc (never
 * the container's /proc, which may by now be something else). */
static int write_sysctl(const struct rootfs *rfs, const struct spec_kv *kv, struct error *err)
{
	cleanup_fd int fd = -1;
	cleanup_free char *rel = NULL;
	struct statfs sf;
	int r;

	if (asprintf(&rel, "sys/%s", kv->key) < 0)
		return error_set(err, ENOMEM, "sysctl %s", kv->key);
	if (!kv->key[0] || strchr(kv->key, '/') || strstr(kv->key, "..") || kv->key[0] == '.' ||
	    kv->key[strlen(kv->key) - 1] == '.')
		return error_set(err, EINVAL, "sysctl %s: invalid key", kv->key);
	for (char *c = rel; *c; c++)
		if (*c == '.')
			*c = '/';
	if (rfs->proc_fd < 0)
		return error_set(err, ENOENT, "sysctl %s: no procfs mounted on /proc", kv->key);
	fd = path_open_in_root(rfs->proc_fd, rel, O_WRONLY, 0, err);
	if (fd < 0)
		return error_wrap(err, "sysctl %s", kv->key);
	if (fstatfs(fd, &sf) < 0 || sf.f_type != PROC_SUPER_MAGIC)
		return error_set(err, EINVAL, "sysctl %s: not a procfs file", kv->key);
	r = fd_write_all(fd, kv->value, strlen(kv->value));
	if (r < 0)
		return error_set(err, -r, "sysctl %s: write: %s", kv->key, strerror(-r));
	return 0;
}

/* The container's own /dev/null is not used, but one that is not the real null device (a
 * symlink: CVE-2025-31133) marks a forged /dev and is refused. */
static int check_dev_null(int root_fd, struct error *err)
{
	cleanup_fd int fd = path_open_in_root(root_fd, "/dev/null", O_PATH | O_NOFOLLOW, 0, err);
	struct stat st;

	if (fd == -ENOENT)
		return 0;
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0)
		return error_errno(err, "stat /dev/null");
	if (!S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3))
		return error_set(err, EPERM, "/dev/null is not the null device");
	return 0;
}

/* Binds the host's /dev/null on target. */
static int bind_null(struct rootfs *rfs, int target, struct error *err)
{
	cleanup_fd int mnt = -1;

	int r;

	if (!rfs->null_attached) {
		r = mounts_attach(rfs->null_fd, target, err);
		rfs->null_attached = r == 0;
		return r;
	}
	mnt = mounts_clone(rfs->null_fd, "", false, err);
	if (mnt < 0)
		return mnt;
	return mounts_attach(mnt, target, err);
}

static int mask_path(struct rootfs *rfs, int root_fd, const char *path, struct error *err)
{
	cleanup_fd int target = path_open_in_root(root_fd, path, O_PATH, 0, err);
	cleanup_fd int mnt = -1;
	struct stat st;
	int r;

	if (target == -ENOENT)
		return 0;
	if (target < 0)
		return target;
	if (fstat(target, &st) < 0)
		return error_errno(err, "stat %s", path);
	if (S_ISDIR(st.st_mode)) {
		mnt = mounts_new_fs("tmpfs", "tmpfs", "size=0", MS_RDONLY, err);
		if (mnt < 0 || mounts_attach(mnt, target, err) < 0)
			return error_wrap(err, "mount tmpfs on %s", path);
		return 0;
	}
	r = check_dev_null(root_fd, err);
	if (r == 0)
		r = bind_null(rfs, target, err);
	if (r < 0)
		return error_wrap(err, "bind /dev/null on %s", path);
	return 0;
}

/* Binds path on itself, read-only with every mount below it. */
static int readonly_path(int root_fd, const char *path, struct error *err)
{
	cleanup_fd int target = path_open_in_root(root_fd, path, O_PATH, 0, err);
	cleanup_fd int mnt = -1;
	int r;

	if (target == -ENOENT)
		return 0;
	if (target < 0)
		return target;
	mnt = mounts_clone(target, "", true, err);
	if (mnt < 0)
		return mnt;
	r = mounts_set_flags(mnt, MS_RDONLY, 0, true, err);
	if (r == 0)
		r = mounts_attach(mnt, target, err);
	return r;
}

int rootfs_finalize(struct rootfs *rfs, const struct spec *spec, struct error *err)
{
	cleanup_fd int root_fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	int r;

	if (root_fd < 0)
		return error_errno(err, "open /");
	for (size_t i = 0; i < spec->n_sysctl; i++) {
		r = write_sysctl(rfs, &spec->sysctl[i], err);
		if (r < 0)
			return r;
	}
	/* Read-only paths first: their bind would otherwise hide masks below them. */
	for (char **p = spec->readonly_paths; p && *p; p++) {
		r = readonly_path(root_fd, *p, err);
		if (r < 0)
			return error_wrap(err, "readonly path %s", *p);
	}
	for (char **p = spec->masked_paths; p && *p; p++) {
		r = mask_path(rfs, root_fd, *p, err);
		if (r < 0)
			return error_wrap(err, "masked path %s", *p);
	}
	if (spec->root_readonly) {
		r = mounts_set_flags(root_fd, MS_RDONLY, 0, false, err);
		if (r < 0)
			return error_wrap(err, "remount / read-only");
	}
	return check_proc(rfs, root_fd, err);
}
