/* rootfs: the container's file system view, built by its init in a new mount namespace.
 *
 * Order, as the caller drives it:
 *   rootfs_prepare()  make / private (or rootfsPropagation), bind the rootfs to itself, do
 *                     spec->mounts in order, create linux.devices and the default devices
 *                     (/dev/null, zero, full, random, urandom, tty, ptmx -> pts/ptmx) and the
 *                     /dev/fd, stdin, stdout, stderr, core symlinks. Every destination is
 *                     resolved inside the rootfs (util/path.h). In a user namespace, devices are
 *                     bind-mounted from the host instead of made with mknod.
 *   (createContainer hooks run here)
 *   rootfs_pivot()    pivot_root into the rootfs and detach the old root.
 *   rootfs_finalize() sysctl, maskedPaths (bind the real /dev/null, checked to be the character
 *                     device, or an empty ro tmpfs on directories), readonlyPaths, then the root
 *                     remounted read-only if root.readonly.
 * rootfs: borrowed, an absolute host path (the bundle's root.path resolved).
 */
#ifndef VESSEL_RUNTIME_ROOTFS_H
#define VESSEL_RUNTIME_ROOTFS_H

#include "runtime/spec.h"
#include "util/error.h"

int rootfs_prepare(const struct spec *spec, const char *rootfs, struct error *err);
int rootfs_pivot(const char *rootfs, struct error *err);
int rootfs_finalize(const struct spec *spec, struct error *err);

#endif
