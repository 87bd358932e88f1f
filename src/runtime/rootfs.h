/* rootfs: the container's file system view, built by its init in a new mount namespace.
 *
 * Order, as the caller drives it:
 *   rootfs_prepare()  make / private (or rootfsPropagation), bind the rootfs to itself, do
 *                     spec->mounts in order, create linux.devices and the default devices
 *                     (runtime/devices.h). Every destination is resolved inside the rootfs
 *                     (util/path.h). It also takes what finalize will need and must not look
 *                     up in the container: a clone of the host's /dev/null (checked to be the
 *                     null device) and the fd of the procfs mount made on /proc.
 *   (createContainer hooks run here)
 *   rootfs_pivot()    pivot_root into the rootfs and detach the old root.
 *   rootfs_finalize() sysctl (through the procfs mount made in prepare), readonlyPaths,
 *                     maskedPaths (the host's /dev/null bound on files, an empty read-only
 *                     tmpfs on directories), the root made read-only if root.readonly; then
 *                     it checks that /proc is still that procfs mount, neither covered nor
 *                     replaced ("mount /proc: not procfs (covered or replaced)").
 *   rootfs_free()     after finalize, or on any failure after prepare.
 * Every mount goes through runtime/mounts.h, on fds: no path under the container's /proc is
 * ever used (CVE-2019-16884, CVE-2023-27561).
 * rootfs: borrowed, an absolute host path (the bundle's root.path resolved).
 */
#ifndef VESSEL_RUNTIME_ROOTFS_H
#define VESSEL_RUNTIME_ROOTFS_H

#include "runtime/spec.h"
#include "util/cleanup.h"
#include "util/error.h"

/* What prepare hands on to finalize (fds, O_CLOEXEC). Opaque. */
struct rootfs;

/* On success *ret is owned by the caller (rootfs_free). */
int rootfs_prepare(const struct spec *spec, const char *rootfs, struct rootfs **ret,
		   struct error *err);
int rootfs_pivot(const char *rootfs, struct error *err);
int rootfs_finalize(struct rootfs *rfs, const struct spec *spec, struct error *err);
/* NULL-safe. */
void rootfs_free(struct rootfs *rfs);
DEFINE_CLEANUP(struct rootfs, rootfs_free)

#endif
