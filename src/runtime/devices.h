/* devices: the container's /dev, made while its rootfs is prepared (before pivot_root).
 *
 * linux.devices and the default devices (/dev/null, zero, full, random, urandom, tty) are
 * created inside the rootfs, then the /dev/fd, stdin, stdout, stderr, core symlinks and, with
 * a devpts mount on /dev/pts, /dev/ptmx -> pts/ptmx. Every path is resolved inside root_fd
 * (util/path.h) and a symlink in the image's /dev is never followed. In a user namespace
 * (userns), where mknod is refused, the host's node is bind-mounted instead.
 */
#ifndef VESSEL_RUNTIME_DEVICES_H
#define VESSEL_RUNTIME_DEVICES_H

#include <stdbool.h>

#include "runtime/spec.h"
#include "util/error.h"

/* runc's rule: /dev is set up unless spec bind-mounts /dev itself from the host. */
bool devices_wanted(const struct spec *spec);
/* Creates spec's devices, the default ones and the symlinks in root_fd (borrowed). */
int devices_setup(const struct spec *spec, int root_fd, bool userns, struct error *err);

#endif
