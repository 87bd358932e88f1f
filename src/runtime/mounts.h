/* mounts: mount operations on file descriptors, never on path strings.
 *
 * After pivot_root, "/proc/self/fd/N" would be looked up in the container's /proc, which an
 * image or a volume controls (CVE-2019-16884, CVE-2023-27561). So every mount here goes
 * through the kernel's fd-based mount API: a bind is open_tree(OPEN_TREE_CLONE) of its source
 * then move_mount onto the target's fd; a new file system is fsopen/fsconfig/fsmount then
 * move_mount; flags and propagation are mount_setattr on the mount's own fd. A detached
 * mount (from mounts_clone or mounts_new_fs) keeps naming the same mount after
 * mounts_attach, so the caller never has to look the new mount up again.
 *
 * Flags are MS_* as struct spec_mount holds them: MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC,
 * MS_NODIRATIME, MS_NOATIME / MS_RELATIME / MS_STRICTATIME apply to the mount; for a new
 * file system MS_SYNCHRONOUS and MS_MANDLOCK go to the superblock; the rest is ignored.
 * Returned fds are owned and O_CLOEXEC; fds passed in are borrowed.
 */
#ifndef VESSEL_RUNTIME_MOUNTS_H
#define VESSEL_RUNTIME_MOUNTS_H

#include <stdbool.h>

#include "util/error.h"

/* A detached copy of the mount at dirfd + path (path "" names dirfd itself; otherwise it is
 * followed from dirfd, which is AT_FDCWD for a host path), with the mounts below it when
 * recursive. */
int mounts_clone(int dirfd, const char *path, bool recursive, struct error *err);
/* A detached mount of a new file system: type, source ("" or NULL: type), data as in
 * mount(2) ("mode=755,size=64k,newinstance"). */
int mounts_new_fs(const char *type, const char *source, const char *data, unsigned long flags,
		  struct error *err);
/* Attaches the detached mount mnt_fd on top of whatever target_fd names. */
int mounts_attach(int mnt_fd, int target_fd, struct error *err);
/* Sets the flags in set and clears those in clear on the mount mnt_fd (and the mounts below
 * it when recursive). A flag the kernel locked (a user namespace's mount of a more
 * privileged one) is kept rather than cleared. */
int mounts_set_flags(int mnt_fd, unsigned long set, unsigned long clear, bool recursive,
		     struct error *err);
/* Sets propagation (MS_SHARED, MS_SLAVE, MS_PRIVATE or MS_UNBINDABLE, with MS_REC for the
 * mounts below) on the mount mnt_fd; 0 does nothing. */
int mounts_set_propagation(int mnt_fd, unsigned long propagation, struct error *err);
/* mounts_clone + mounts_set_flags + mounts_attach: binds src (dirfd + path as for
 * mounts_clone) onto target_fd with flags. Returns the fd of the new mount. */
int mounts_bind(int dirfd, const char *path, int target_fd, unsigned long flags,
		unsigned long clear, bool recursive, struct error *err);

#endif
