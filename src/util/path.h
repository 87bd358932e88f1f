/* path: resolve paths inside a root without ever leaving it.
 *
 * Every path under a container's rootfs is untrusted: a symlink may point out of it, and a
 * component may be swapped while we work (CVE-2021-30465, CVE-2024-45310). These helpers
 * resolve with openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS), so ".." and absolute
 * symlinks stay inside root_fd. root_fd is borrowed; returned fds are owned and O_CLOEXEC.
 */
#ifndef VESSEL_UTIL_PATH_H
#define VESSEL_UTIL_PATH_H

#include <sys/types.h>

#include "util/error.h"

/* Opens path (absolute or relative, read as relative to root) inside root_fd. */
int path_open_in_root(int root_fd, const char *path, int flags, mode_t mode, struct error *err);
/* mkdir -p inside root_fd; returns an O_PATH|O_DIRECTORY fd of the last directory. */
int path_mkdir_in_root(int root_fd, const char *path, mode_t mode, struct error *err);
/* Makes sure path exists inside root_fd as a directory (dir=1) or a regular file (dir=0),
 * creating parents; returns an O_PATH fd of it (a mount target). */
int path_mkentry_in_root(int root_fd, const char *path, int dir, mode_t mode, struct error *err);
/* "/proc/self/fd/N" for an fd. buf: at least 32 bytes. Never for mounts in a container's
 * rootfs: the lookup goes through whatever /proc is then (runtime/mounts.h works on fds). */
const char *path_fd(int fd, char *buf, size_t size);
/* Joins a and b with exactly one '/'; returns owned string or NULL (ENOMEM). */
char *path_join(const char *a, const char *b);
/* Lexically cleans an absolute or relative path ("a//b/./c/.." -> "a/b"); returns owned. */
char *path_clean(const char *path);

#endif
