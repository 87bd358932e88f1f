/* mounts: see mounts.h */
#include "runtime/mounts.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/cleanup.h"

#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif

#define MS_ATIME_FLAGS (MS_NOATIME | MS_RELATIME | MS_STRICTATIME)

/* The syscalls themselves: not every C library has wrappers for them. */
static int sys_open_tree(int dirfd, const char *path, unsigned int flags)
{
	return (int)syscall(SYS_open_tree, dirfd, path, flags);
}

static int sys_move_mount(int from_fd, const char *from, int to_fd, const char *to,
			  unsigned int flags)
{
	return (int)syscall(SYS_move_mount, from_fd, from, to_fd, to, flags);
}

static int sys_mount_setattr(int fd, const char *path, unsigned int flags, struct mount_attr *a)
{
	return (int)syscall(SYS_mount_setattr, fd, path, flags, a, sizeof(*a));
}

static int sys_fsopen(const char *type, unsigned int flags)
{
	return (int)syscall(SYS_fsopen, type, flags);
}

static int sys_fsconfig(int fd, unsigned int cmd, const char *key, const void *value, int aux)
{
	return (int)syscall(SYS_fsconfig, fd, cmd, key, value, aux);
}

static int sys_fsmount(int fd, unsigned int flags, unsigned int attr_flags)
{
	return (int)syscall(SYS_fsmount, fd, flags, attr_flags);
}

/* MS_* to MOUNT_ATTR_*: what set sets goes to attr_set, what clear clears to attr_clr. */
static void to_attr(unsigned long set, unsigned long clear, struct mount_attr *a)
{
	static const struct {
		unsigned long ms;
		uint64_t attr;
	} map[] = {
	    {MS_RDONLY, MOUNT_ATTR_RDONLY},	    {MS_NOSUID, MOUNT_ATTR_NOSUID},
	    {MS_NODEV, MOUNT_ATTR_NODEV},	    {MS_NOEXEC, MOUNT_ATTR_NOEXEC},
	    {MS_NODIRATIME, MOUNT_ATTR_NODIRATIME},
	};

	*a = (struct mount_attr){0};
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		if (set & map[i].ms)
			a->attr_set |= map[i].attr;
		else if (clear & map[i].ms)
			a->attr_clr |= map[i].attr;
	}
	/* atime is one field of three values: setting one clears the field first. */
	if (set & MS_ATIME_FLAGS) {
		a->attr_clr |= MOUNT_ATTR__ATIME;
		if (set & MS_NOATIME)
			a->attr_set |= MOUNT_ATTR_NOATIME;
		else if (set & MS_STRICTATIME)
			a->attr_set |= MOUNT_ATTR_STRICTATIME;
	}
}

int mounts_clone(int dirfd, const char *path, bool recursive, struct error *err)
{
	unsigned int flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC;
	int fd;

	if (!path[0])
		flags |= AT_EMPTY_PATH;
	if (recursive)
		flags |= AT_RECURSIVE;
	fd = sys_open_tree(dirfd, path, flags);
	if (fd < 0)
		return error_errno(err, "clone mount %s", path[0] ? path : "");
	return fd;
}

int mounts_attach(int mnt_fd, int target_fd, struct error *err)
{
	if (sys_move_mount(mnt_fd, "", target_fd, "",
			   MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return error_errno(err, "attach mount");
	return 0;
}

int mounts_set_flags(int mnt_fd, unsigned long set, unsigned long clear, bool recursive,
		     struct error *err)
{
	unsigned int at = AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0);
	struct mount_attr a;

	to_attr(set, clear, &a);
	if (!a.attr_set && !a.attr_clr)
		return 0;
	if (sys_mount_setattr(mnt_fd, "", at, &a) == 0)
		return 0;
	/* EPERM: a locked flag would be cleared (atime included): keep what is locked. */
	if (errno == EPERM && a.attr_clr) {
		a.attr_clr = 0;
		a.attr_set &= ~(uint64_t)MOUNT_ATTR__ATIME;
		if (!a.attr_set || sys_mount_setattr(mnt_fd, "", at, &a) == 0)
			return 0;
	}
	return error_errno(err, "set mount flags");
}

int mounts_set_propagation(int mnt_fd, unsigned long propagation, struct error *err)
{
	struct mount_attr a = {.propagation = propagation & ~(unsigned long)MS_REC};
	unsigned int at = AT_EMPTY_PATH | ((propagation & MS_REC) ? AT_RECURSIVE : 0);

	if (!a.propagation)
		return 0;
	if (sys_mount_setattr(mnt_fd, "", at, &a) < 0)
		return error_errno(err, "set propagation");
	return 0;
}

/* Hands one "key" or "key=value" of mount(2)'s data string to fsconfig. */
static int config_option(int fs, char *opt)
{
	char *eq = strchr(opt, '=');

	if (!eq)
		return sys_fsconfig(fs, FSCONFIG_SET_FLAG, opt, NULL, 0);
	*eq = '\0';
	return sys_fsconfig(fs, FSCONFIG_SET_STRING, opt, eq + 1, 0);
}

/* The source, the superblock flags and each option of data, then the superblock. */
static int configure(int fs, const char *source, const char *data, unsigned long flags,
		     struct error *err)
{
	cleanup_free char *copy = strdup(data ? data : "");
	char *save = NULL;

	if (!copy)
		return error_set(err, ENOMEM, "copy mount options");
	if (sys_fsconfig(fs, FSCONFIG_SET_STRING, "source", source, 0) < 0)
		return error_errno(err, "source %s", source);
	if ((flags & MS_SYNCHRONOUS) && sys_fsconfig(fs, FSCONFIG_SET_FLAG, "sync", NULL, 0) < 0)
		return error_errno(err, "option sync");
	if ((flags & MS_MANDLOCK) && sys_fsconfig(fs, FSCONFIG_SET_FLAG, "mand", NULL, 0) < 0)
		return error_errno(err, "option mand");
	for (char *o = strtok_r(copy, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
		if (config_option(fs, o) < 0)
			return error_errno(err, "option %s", o);
	}
	if (sys_fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return error_errno(err, "create the file system");
	return 0;
}

int mounts_new_fs(const char *type, const char *source, const char *data, unsigned long flags,
		  struct error *err)
{
	cleanup_fd int fs = sys_fsopen(type, FSOPEN_CLOEXEC);
	struct mount_attr a;
	int mnt, r;

	if (fs < 0)
		return error_errno(err, "open file system %s", type);
	r = configure(fs, source && source[0] ? source : type, data, flags, err);
	if (r < 0)
		return error_wrap(err, "%s", type);
	to_attr(flags, 0, &a);
	mnt = sys_fsmount(fs, FSMOUNT_CLOEXEC, (unsigned int)a.attr_set);
	if (mnt < 0)
		return error_errno(err, "%s: make the mount", type);
	return mnt;
}

int mounts_bind(int dirfd, const char *path, int target_fd, unsigned long flags,
		unsigned long clear, bool recursive, struct error *err)
{
	cleanup_fd int mnt = mounts_clone(dirfd, path, recursive, err);
	int r;

	if (mnt < 0)
		return mnt;
	/* Flags go on before the mount is visible; as with mount(2), on its top mount only. */
	r = mounts_set_flags(mnt, flags, clear, false, err);
	if (r == 0)
		r = mounts_attach(mnt, target_fd, err);
	return r < 0 ? r : TAKE_FD(mnt);
}
