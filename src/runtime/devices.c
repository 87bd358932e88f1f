/* devices: see devices.h */
#include "runtime/devices.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "runtime/mounts.h"
#include "util/cleanup.h"
#include "util/path.h"

struct dev_ctx {
	const struct spec *spec;
	int root_fd;
	bool userns;
};

struct default_dev {
	const char *path;
	unsigned maj, min;
};

static const struct default_dev default_devs[] = {
    {"/dev/null", 1, 3},   {"/dev/zero", 1, 5},	   {"/dev/full", 1, 7},
    {"/dev/random", 1, 8}, {"/dev/urandom", 1, 9}, {"/dev/tty", 5, 0},
};

/* runc's rule: devices are made unless /dev itself is bind-mounted from the host. */
bool devices_wanted(const struct spec *spec)
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
	cleanup_fd int target = -1, mnt = -1;

	if (f < 0 && errno != EEXIST)
		return error_errno(err, "create %s", host_path);
	target = openat(dir, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (target < 0)
		return error_errno(err, "open %s", host_path);
	mnt = mounts_bind(AT_FDCWD, host_path, target, 0, 0, false, err);
	if (mnt < 0)
		return error_wrap(err, "bind device %s", host_path);
	return 0;
}

static int make_device(const struct dev_ctx *ctx, const char *path, mode_t mode, dev_t rdev,
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

static int create_devices(const struct dev_ctx *ctx, struct error *err)
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

static int dev_symlinks(const struct dev_ctx *ctx, struct error *err)
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

int devices_setup(const struct spec *spec, int root_fd, bool userns, struct error *err)
{
	struct dev_ctx ctx = {.spec = spec, .root_fd = root_fd, .userns = userns};
	mode_t old = umask(0);
	int r = create_devices(&ctx, err);

	if (r == 0)
		r = dev_symlinks(&ctx, err);
	umask(old);
	return r;
}
