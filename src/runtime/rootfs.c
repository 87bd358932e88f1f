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
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fd.h"
#include "util/log.h"
#include "util/path.h"

#define HOST_CGROUP  "/sys/fs/cgroup"
#define MS_PROPAGATE (MS_SHARED | MS_SLAVE | MS_PRIVATE | MS_UNBINDABLE)

struct rootfs_ctx {
	const struct spec *spec;
	int root_fd; /* O_PATH of the rootfs bind mount */
	bool userns; /* not in the initial user namespace: no mknod, locked mount flags */
};

struct default_dev {
	const char *path;
	unsigned maj, min;
};

static const struct default_dev default_devs[] = {
    {"/dev/null", 1, 3},   {"/dev/zero", 1, 5},	   {"/dev/full", 1, 7},
    {"/dev/random", 1, 8}, {"/dev/urandom", 1, 9}, {"/dev/tty", 5, 0},
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

/* The MS_* flags a remount must keep (they may be locked in a user namespace). */
static unsigned long locked_flags(int fd)
{
	static const unsigned long map[][2] = {
	    {ST_NOSUID, MS_NOSUID},   {ST_NODEV, MS_NODEV},	      {ST_NOEXEC, MS_NOEXEC},
	    {ST_NOATIME, MS_NOATIME}, {ST_NODIRATIME, MS_NODIRATIME}, {ST_RELATIME, MS_RELATIME},
	};
	unsigned long flags = 0;
	struct statvfs sv;

	if (fstatvfs(fd, &sv) < 0)
		return 0;
	for (size_t i = 0; i < ARRAY_SIZE(map); i++)
		if (sv.f_flag & map[i][0])
			flags |= map[i][1];
	return flags;
}

/* Remounts the mount now at dest (re-resolved in root, so the new mount is seen) with flags;
 * on EPERM retries keeping the flags the kernel locked. */
static int remount_bind(int root_fd, const char *dest, unsigned long flags, struct error *err)
{
	cleanup_fd int fd = path_open_in_root(root_fd, dest, O_PATH, 0, err);
	unsigned long base = MS_REMOUNT | MS_BIND;
	char p[32];

	if (fd < 0)
		return fd;
	path_fd(fd, p, sizeof(p));
	if (mount(NULL, p, NULL, base | flags, NULL) == 0)
		return 0;
	if (errno == EPERM && mount(NULL, p, NULL, base | flags | locked_flags(fd), NULL) == 0)
		return 0;
	return error_errno(err, "remount %s", dest);
}

/* Makes the mount at dest read-only with all the mounts below it. */
static int readonly_recursive(int root_fd, const char *dest, struct error *err)
{
	cleanup_fd int fd = path_open_in_root(root_fd, dest, O_PATH, 0, err);
	struct mount_attr attr = {.attr_set = MOUNT_ATTR_RDONLY};

	if (fd < 0)
		return fd;
	if (mount_setattr(fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)) < 0)
		return error_errno(err, "make %s read-only", dest);
	return 0;
}

static int set_propagation(int root_fd, const struct spec_mount *m, struct error *err)
{
	cleanup_fd int fd = -1;
	char p[32];

	if (!m->propagation)
		return 0;
	fd = path_open_in_root(root_fd, m->destination, O_PATH, 0, err);
	if (fd < 0)
		return fd;
	if (mount(NULL, path_fd(fd, p, sizeof(p)), NULL, m->propagation, NULL) < 0)
		return error_errno(err, "set propagation of %s", m->destination);
	return 0;
}

/* Creates dest in root (a directory, or a file when dir is false) and returns its O_PATH fd. */
static int mount_target(int root_fd, const char *dest, bool dir, struct error *err)
{
	return path_mkentry_in_root(root_fd, dest, dir, dir ? 0755 : 0644, err);
}

static int do_bind(const struct rootfs_ctx *ctx, const char *src, const char *dest,
		   unsigned long flags, bool rec, struct error *err)
{
	cleanup_fd int target = -1;
	unsigned long extra = flags & ~(MS_BIND | MS_REC | MS_REMOUNT | MS_PROPAGATE);
	struct stat st;
	char p[32];

	if (stat(src, &st) < 0)
		return error_errno(err, "bind %s", src);
	target = mount_target(ctx->root_fd, dest, S_ISDIR(st.st_mode), err);
	if (target < 0)
		return target;
	if (mount(src, path_fd(target, p, sizeof(p)), NULL, MS_BIND | (rec ? MS_REC : 0), NULL) < 0)
		return error_errno(err, "bind %s on %s", src, dest);
	/* A bind mount ignores flags other than MS_REC: they take a remount. */
	if (extra)
		return remount_bind(ctx->root_fd, dest, extra, err);
	return 0;
}

/* Refuses a /proc that is not procfs (CVE-2019-16884: a fake /proc in the image). */
static int check_fs_type(int root_fd, const char *dest, long magic, struct error *err)
{
	cleanup_fd int fd = path_open_in_root(root_fd, dest, O_PATH | O_DIRECTORY, 0, err);
	struct statfs sf;

	if (fd < 0)
		return fd;
	if (fstatfs(fd, &sf) < 0)
		return error_errno(err, "statfs %s", dest);
	if (sf.f_type != magic)
		return error_set(err, EINVAL, "%s: unexpected file system type 0x%lx", dest,
				 (unsigned long)sf.f_type);
	return 0;
}

static bool host_is_cgroup2(void)
{
	struct statfs sf;

	return statfs(HOST_CGROUP, &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC;
}

/* In a cgroup namespace on a cgroup2 host: a fresh cgroup2 mount (it shows the namespace's
 * root). Otherwise (no cgroup namespace, or cgroup v1 whose per-hierarchy mounts would need
 * the controller list): the host's /sys/fs/cgroup with every hierarchy in it, read-only. */
static int mount_cgroup(const struct rootfs_ctx *ctx, const struct spec_mount *m, struct error *err)
{
	cleanup_fd int target = -1;
	char p[32];
	int r;

	if (!ctx->spec->namespaces[SPEC_NS_CGROUP].present || !host_is_cgroup2()) {
		r = do_bind(ctx, HOST_CGROUP, m->destination, m->flags & ~MS_RDONLY, true, err);
		if (r < 0)
			return r;
		return readonly_recursive(ctx->root_fd, m->destination, err);
	}
	target = mount_target(ctx->root_fd, m->destination, true, err);
	if (target < 0)
		return target;
	if (mount("cgroup2", path_fd(target, p, sizeof(p)), "cgroup2", m->flags, NULL) < 0)
		return error_errno(err, "mount cgroup2 on %s", m->destination);
	return 0;
}

/* proc, sysfs, tmpfs, devpts, mqueue and any other file system made from nothing. */
static int mount_fs(const struct rootfs_ctx *ctx, const struct spec_mount *m, struct error *err)
{
	cleanup_fd int target = mount_target(ctx->root_fd, m->destination, true, err);
	const char *src = m->source[0] ? m->source : m->type;
	const char *data = m->data[0] ? m->data : NULL;
	bool is_proc = strcmp(m->type, "proc") == 0;
	char p[32];

	if (target < 0)
		return target;
	if (mount(src, path_fd(target, p, sizeof(p)), m->type, m->flags & ~MS_PROPAGATE, data) <
	    0) {
		/* sysfs needs a network namespace owned by our user namespace: as runc, bind
		 * the host's /sys instead. */
		if (errno == EPERM && strcmp(m->type, "sysfs") == 0)
			return do_bind(ctx, "/sys", m->destination, m->flags, true, err);
		return error_errno(err, "mount %s on %s", m->type, m->destination);
	}
	if (is_proc)
		return check_fs_type(ctx->root_fd, m->destination, PROC_SUPER_MAGIC, err);
	return 0;
}

static int mount_one(const struct rootfs_ctx *ctx, const struct spec_mount *m, struct error *err)
{
	int r;

	if (m->vflags & SPEC_MOUNT_BIND)
		r = do_bind(ctx, m->source, m->destination, m->flags,
			    m->vflags & SPEC_MOUNT_RECURSIVE, err);
	else if (strcmp(m->type, "cgroup") == 0 || strcmp(m->type, "cgroup2") == 0)
		r = mount_cgroup(ctx, m, err);
	else
		r = mount_fs(ctx, m, err);
	if (r < 0)
		return r;
	return set_propagation(ctx->root_fd, m, err);
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

/* runc's rule: devices are made unless /dev itself is bind-mounted from the host. */
static bool wants_dev_setup(const struct spec *spec)
{
	for (size_t i = 0; i < spec->n_mounts; i++) {
		cleanup_free char *d = path_clean(spec->mounts[i].destination);

		if (d && strcmp(d, "/dev") == 0 && (spec->mounts[i].vflags & SPEC_MOUNT_BIND))
			return false;
	}
	return true;
}

static bool has_devpts(const struct spec *spec)
{
	for (size_t i = 0; i < spec->n_mounts; i++) {
		cleanup_free char *d = path_clean(spec->mounts[i].destination);

		if (d && strcmp(d, "/dev/pts") == 0 && strcmp(spec->mounts[i].type, "devpts") == 0)
			return true;
	}
	return false;
}

/* Splits a cleaned absolute path into the O_PATH fd of its parent (made in root) and *name. */
static int open_parent(int root_fd, const char *path, char **ret_clean, const char **ret_name,
		       struct error *err)
{
	char *clean = path_clean(path);
	char *slash;
	int fd;

	if (!clean)
		return error_set(err, ENOMEM, "device %s", path);
	slash = strrchr(clean, '/');
	if (clean[0] != '/' || !slash[1] || strcmp(slash + 1, "..") == 0) {
		free(clean);
		return error_set(err, EINVAL, "device %s: not an absolute file path", path);
	}
	*slash = '\0';
	fd = path_mkdir_in_root(root_fd, clean[0] ? clean : "/", 0755, err);
	*slash = '/';
	if (fd < 0) {
		free(clean);
		return fd;
	}
	*ret_clean = clean;
	*ret_name = slash + 1;
	return fd;
}

/* In a user namespace: bind the host's node onto an empty file. */
static int bind_device(int dir, const char *name, const char *host_path, struct error *err)
{
	cleanup_fd int f =
	    openat(dir, name, O_RDONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0);
	cleanup_fd int target = -1;
	char p[32];

	if (f < 0 && errno != EEXIST)
		return error_errno(err, "create %s", host_path);
	target = openat(dir, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (target < 0)
		return error_errno(err, "open %s", host_path);
	if (mount(host_path, path_fd(target, p, sizeof(p)), NULL, MS_BIND, NULL) < 0)
		return error_errno(err, "bind device %s", host_path);
	return 0;
}

static int make_device(const struct rootfs_ctx *ctx, const char *path, mode_t mode, dev_t rdev,
		       uid_t uid, gid_t gid, struct error *err)
{
	cleanup_free char *clean = NULL;
	const char *name = NULL;
	cleanup_fd int dir = open_parent(ctx->root_fd, path, &clean, &name, err);
	struct stat st;

	if (dir < 0)
		return dir;
	if (fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (S_ISLNK(st.st_mode))
			return error_set(err, ELOOP, "device %s: refusing to follow a symlink",
					 clean);
		if (S_ISDIR(st.st_mode))
			return error_set(err, EISDIR, "device %s", clean);
		if (!ctx->userns)
			return 0; /* as runc: an existing node is kept */
	}
	if (ctx->userns)
		return bind_device(dir, name, clean, err);
	if (mknodat(dir, name, mode, rdev) < 0) {
		if (errno == EEXIST)
			return 0;
		return error_errno(err, "mknod %s", clean);
	}
	if (fchownat(dir, name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
		return error_errno(err, "chown %s", clean);
	return 0;
}

static mode_t device_type(char type)
{
	switch (type) {
	case 'b':
		return S_IFBLK;
	case 'p':
		return S_IFIFO;
	default:
		return S_IFCHR;
	}
}

static bool spec_has_device(const struct spec *spec, const char *path)
{
	for (size_t i = 0; i < spec->n_devices; i++)
		if (strcmp(spec->devices[i].path, path) == 0)
			return true;
	return false;
}

static int create_devices(const struct rootfs_ctx *ctx, struct error *err)
{
	const struct spec *spec = ctx->spec;
	int r;

	for (size_t i = 0; i < ARRAY_SIZE(default_devs); i++) {
		const struct default_dev *d = &default_devs[i];

		if (spec_has_device(spec, d->path))
			continue;
		r = make_device(ctx, d->path, S_IFCHR | 0666, makedev(d->maj, d->min), 0, 0, err);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < spec->n_devices; i++) {
		const struct spec_device *d = &spec->devices[i];
		mode_t perm = d->has_mode ? (d->file_mode & 07777) : 0666;
		dev_t rdev = makedev((unsigned)d->major, (unsigned)d->minor);

		r = make_device(ctx, d->path, device_type(d->type) | perm,
				d->type == 'p' ? 0 : rdev, d->has_uid ? d->uid : 0,
				d->has_gid ? d->gid : 0, err);
		if (r < 0)
			return r;
	}
	return 0;
}

static int dev_symlinks(const struct rootfs_ctx *ctx, struct error *err)
{
	static const char *const links[][2] = {
	    {"/proc/self/fd", "fd"},
	    {"/proc/self/fd/0", "stdin"},
	    {"/proc/self/fd/1", "stdout"},
	    {"/proc/self/fd/2", "stderr"},
	};
	cleanup_fd int dev = path_mkdir_in_root(ctx->root_fd, "/dev", 0755, err);

	if (dev < 0)
		return dev;
	for (size_t i = 0; i < ARRAY_SIZE(links); i++)
		if (symlinkat(links[i][0], dev, links[i][1]) < 0 && errno != EEXIST)
			return error_errno(err, "symlink /dev/%s", links[i][1]);
	if (access("/proc/kcore", F_OK) == 0 && symlinkat("/proc/kcore", dev, "core") < 0 &&
	    errno != EEXIST)
		return error_errno(err, "symlink /dev/core");
	if (has_devpts(ctx->spec)) {
		if (unlinkat(dev, "ptmx", 0) < 0 && errno != ENOENT)
			return error_errno(err, "remove /dev/ptmx");
		if (symlinkat("pts/ptmx", dev, "ptmx") < 0)
			return error_errno(err, "symlink /dev/ptmx");
	}
	return 0;
}

static int setup_dev(const struct rootfs_ctx *ctx, struct error *err)
{
	mode_t old = umask(0);
	int r = create_devices(ctx, err);

	if (r == 0)
		r = dev_symlinks(ctx, err);
	umask(old);
	return r;
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

int rootfs_prepare(const struct spec *spec, const char *rootfs, struct error *err)
{
	cleanup_fd int root_fd = -1;
	struct rootfs_ctx ctx = {.spec = spec, .userns = in_userns()};
	int r;

	r = bind_rootfs(spec, rootfs, err);
	if (r < 0)
		return error_wrap(err, "prepare rootfs");
	root_fd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root_fd < 0)
		return error_errno(err, "prepare rootfs: open %s", rootfs);
	ctx.root_fd = root_fd;
	for (size_t i = 0; i < spec->n_mounts; i++) {
		r = mount_one(&ctx, &spec->mounts[i], err);
		if (r < 0)
			return error_wrap(err, "mounts[%zu] %s", i, spec->mounts[i].destination);
	}
	if (wants_dev_setup(spec)) {
		r = setup_dev(&ctx, err);
		if (r < 0)
			return error_wrap(err, "prepare /dev");
	}
	log_debug("rootfs %s prepared: %zu mounts", rootfs, spec->n_mounts);
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

/* Writes value to /proc/sys/<key with '.' as '/'>, resolved beneath the container's
 * /proc/sys, which must be procfs. */
static int write_sysctl(int root_fd, const struct spec_kv *kv, struct error *err)
{
	cleanup_fd int sys = -1, fd = -1;
	cleanup_free char *rel = strdup(kv->key);
	int r;

	if (!rel)
		return error_set(err, ENOMEM, "sysctl %s", kv->key);
	if (!rel[0] || strchr(rel, '/') || strstr(rel, "..") || rel[0] == '.' ||
	    rel[strlen(rel) - 1] == '.')
		return error_set(err, EINVAL, "sysctl %s: invalid key", kv->key);
	for (char *c = rel; *c; c++)
		if (*c == '.')
			*c = '/';
	r = check_fs_type(root_fd, "/proc/sys", PROC_SUPER_MAGIC, err);
	if (r < 0)
		return error_wrap(err, "sysctl %s", kv->key);
	sys = path_open_in_root(root_fd, "/proc/sys", O_PATH | O_DIRECTORY, 0, err);
	if (sys < 0)
		return error_wrap(err, "sysctl %s", kv->key);
	fd = path_open_in_root(sys, rel, O_WRONLY, 0, err);
	if (fd < 0)
		return error_wrap(err, "sysctl %s", kv->key);
	r = fd_write_all(fd, kv->value, strlen(kv->value));
	if (r < 0)
		return error_set(err, -r, "sysctl %s: write: %s", kv->key, strerror(-r));
	return 0;
}

/* The container's /dev/null, refused unless it is the real character device 1:3 and not a
 * symlink (CVE-2025-31133). */
static int open_dev_null(int root_fd, struct error *err)
{
	cleanup_fd int fd = path_open_in_root(root_fd, "/dev/null", O_PATH | O_NOFOLLOW, 0, err);
	struct stat st;

	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0)
		return error_errno(err, "stat /dev/null");
	if (!S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3))
		return error_set(err, EPERM, "/dev/null is not the null device");
	return TAKE_FD(fd);
}

static int mask_path(int root_fd, const char *path, int *null_fd, struct error *err)
{
	cleanup_fd int target = path_open_in_root(root_fd, path, O_PATH, 0, err);
	char src[32], dst[32];
	struct stat st;

	if (target == -ENOENT)
		return 0;
	if (target < 0)
		return target;
	if (fstat(target, &st) < 0)
		return error_errno(err, "stat %s", path);
	path_fd(target, dst, sizeof(dst));
	if (S_ISDIR(st.st_mode)) {
		if (mount("tmpfs", dst, "tmpfs", MS_RDONLY, "size=0") < 0)
			return error_errno(err, "mount tmpfs on %s", path);
		return 0;
	}
	if (*null_fd < 0) {
		*null_fd = open_dev_null(root_fd, err);
		if (*null_fd < 0)
			return *null_fd;
	}
	if (mount(path_fd(*null_fd, src, sizeof(src)), dst, NULL, MS_BIND, NULL) < 0)
		return error_errno(err, "bind /dev/null on %s", path);
	return 0;
}

static int readonly_path(int root_fd, const char *path, struct error *err)
{
	cleanup_fd int target = path_open_in_root(root_fd, path, O_PATH, 0, err);
	char p[32];

	if (target == -ENOENT)
		return 0;
	if (target < 0)
		return target;
	path_fd(target, p, sizeof(p));
	if (mount(p, p, NULL, MS_BIND | MS_REC, NULL) < 0)
		return error_errno(err, "bind %s", path);
	return remount_bind(root_fd, path, MS_RDONLY, err);
}

static int remount_root_readonly(struct error *err)
{
	cleanup_fd int fd = -1;
	unsigned long flags = MS_BIND | MS_REMOUNT | MS_RDONLY;

	if (mount(NULL, "/", NULL, flags, NULL) == 0)
		return 0;
	if (errno != EPERM)
		return error_errno(err, "remount / read-only");
	fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0 && mount(NULL, "/", NULL, flags | locked_flags(fd), NULL) == 0)
		return 0;
	return error_errno(err, "remount / read-only");
}

int rootfs_finalize(const struct spec *spec, struct error *err)
{
	cleanup_fd int root_fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	cleanup_fd int null_fd = -1;
	int r;

	if (root_fd < 0)
		return error_errno(err, "open /");
	for (size_t i = 0; i < spec->n_sysctl; i++) {
		r = write_sysctl(root_fd, &spec->sysctl[i], err);
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
		r = mask_path(root_fd, *p, &null_fd, err);
		if (r < 0)
			return error_wrap(err, "masked path %s", *p);
	}
	if (spec->root_readonly)
		return remount_root_readonly(err);
	return 0;
}
