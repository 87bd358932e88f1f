/* image_snapshot: see snapshot.h */
#include "image/snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "image/unpack.h"
#include "util/cleanup.h"

#define FSCONFIG_MAX_VALUE 255 /* the kernel copies at most 256 bytes of a string value */

/* Appends s to *buf (length *len, capacity *cap), a backslash before ':', ',' and '\'. */
static int append_escaped(char **buf, size_t *len, size_t *cap, const char *s, bool escape)
{
	size_t need = *len + 2 * strlen(s) + 1;

	if (need > *cap) {
		char *n = realloc(*buf, need * 2);

		if (!n)
			return -ENOMEM;
		*buf = n;
		*cap = need * 2;
	}
	for (; *s; s++) {
		if (escape && strchr(":,\\", *s))
			(*buf)[(*len)++] = '\\';
		(*buf)[(*len)++] = *s;
	}
	(*buf)[*len] = '\0';
	return 0;
}

/* "lowerdir=a:b,upperdir=u,workdir=w", escaped; returns owned or NULL. */
static char *overlay_options(const char *const *lower, size_t n, const char *upper,
			     const char *work)
{
	char *buf = NULL;
	size_t len = 0, cap = 0;
	int r = append_escaped(&buf, &len, &cap, "lowerdir=", false);

	for (size_t i = 0; r == 0 && i < n; i++) {
		if (i > 0)
			r = append_escaped(&buf, &len, &cap, ":", false);
		if (r == 0)
			r = append_escaped(&buf, &len, &cap, lower[i], true);
	}
	if (r == 0 && upper) {
		r = append_escaped(&buf, &len, &cap, ",upperdir=", false);
		if (r == 0)
			r = append_escaped(&buf, &len, &cap, upper, true);
		if (r == 0)
			r = append_escaped(&buf, &len, &cap, ",workdir=", false);
		if (r == 0)
			r = append_escaped(&buf, &len, &cap, work, true);
	}
	if (r < 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* The kernel's own words about a failed fsconfig, when it left any in the log. */
static int fs_error(int fsfd, struct error *err, const char *what)
{
	int saved = errno;
	char msg[512];
	ssize_t n = read(fsfd, msg, sizeof(msg) - 1);

	errno = saved;
	if (n > 2) {
		msg[n] = '\0';
		msg[strcspn(msg, "\n")] = '\0';
		return error_set(err, saved, "%s: %s: %s", what, msg + 2, strerror(saved));
	}
	return error_errno(err, "%s", what);
}

static int fs_set(int fsfd, const char *key, const char *value, struct error *err)
{
	if (strlen(value) > FSCONFIG_MAX_VALUE)
		return error_set(err, ENAMETOOLONG, "overlay %s %s: path too long for fsconfig",
				 key, value);
	if (fsconfig(fsfd, FSCONFIG_SET_STRING, key, value, 0) < 0)
		return fs_error(fsfd, err, key);
	return 0;
}

/* The new mount API, one layer at a time: no length limit on the layer list. */
static int mount_fsconfig(const char *const *lower, size_t n, const char *upper, const char *work,
			  const char *target, struct error *err)
{
	cleanup_fd int fsfd = fsopen("overlay", FSOPEN_CLOEXEC);
	cleanup_fd int mfd = -1;
	int r = 0;

	if (fsfd < 0)
		return error_errno(err, "fsopen overlay");
	for (size_t i = 0; r == 0 && i < n; i++)
		r = fs_set(fsfd, "lowerdir+", lower[i], err);
	if (r == 0 && upper)
		r = fs_set(fsfd, "upperdir", upper, err);
	if (r == 0 && upper)
		r = fs_set(fsfd, "workdir", work, err);
	if (r < 0)
		return r;
	if (fsconfig(fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return fs_error(fsfd, err, "create overlay");
	mfd = fsmount(fsfd, FSMOUNT_CLOEXEC, upper ? 0 : MOUNT_ATTR_RDONLY);
	if (mfd < 0)
		return error_errno(err, "fsmount overlay");
	if (move_mount(mfd, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return error_errno(err, "move overlay to %s", target);
	return 0;
}

static int mount_bind_ro(const char *src, const char *target, struct error *err)
{
	if (mount(src, target, NULL, MS_BIND, NULL) < 0)
		return error_errno(err, "bind %s on %s", src, target);
	if (mount(NULL, target, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) < 0) {
		int r = error_errno(err, "remount %s read-only", target);

		umount2(target, MNT_DETACH);
		return r;
	}
	return 0;
}

int image_snapshot_mount(const char *const *lower_dirs, size_t n, const char *upper_dir,
			 const char *work_dir, const char *target, struct error *err)
{
	cleanup_free char *opts = NULL;
	long page = sysconf(_SC_PAGESIZE);

	if (n == 0)
		return error_set(err, EINVAL, "snapshot %s: no layers", target);
	if (!upper_dir != !work_dir)
		return error_set(err, EINVAL, "snapshot %s: upper and work dirs go together",
				 target);
	if (n == 1 && !upper_dir)
		return mount_bind_ro(lower_dirs[0], target, err);
	opts = overlay_options(lower_dirs, n, upper_dir, work_dir);
	if (!opts)
		return error_set(err, ENOMEM, "snapshot %s: %s", target, strerror(ENOMEM));
	if (strlen(opts) < (size_t)(page > 0 ? page : 4096)) {
		if (mount("overlay", target, "overlay", upper_dir ? 0 : MS_RDONLY, opts) < 0)
			return error_errno(err, "mount overlay on %s", target);
		return 0;
	}
	if (mount_fsconfig(lower_dirs, n, upper_dir, work_dir, target, err) < 0)
		return error_wrap(err, "mount overlay of %zu layers on %s", n, target);
	return 0;
}

int image_snapshot_umount(const char *target, struct error *err)
{
	if (umount2(target, UMOUNT_NOFOLLOW) == 0)
		return 0;
	if (errno == EBUSY && umount2(target, UMOUNT_NOFOLLOW | MNT_DETACH) == 0)
		return 0;
	return error_errno(err, "unmount %s", target);
}

int image_snapshot_copy(const int *layer_fds, size_t n, const char *target, struct error *err)
{
	const struct image_unpack_opts opts = {.overlay = false};

	for (size_t i = 0; i < n; i++) {
		int r = image_unpack_layer(layer_fds[i], target, &opts, NULL, err);

		if (r < 0)
			return error_wrap(err, "copy layer %zu of %zu into %s", i + 1, n, target);
	}
	return 0;
}
