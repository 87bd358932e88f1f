/* image_snapshot: a container's root filesystem from unpacked layers.
 *
 * The usual way is an overlayfs of the layer directories (each unpacked with
 * image_unpack_layer() in overlay mode) plus the container's own upper dir. Where overlayfs is
 * unavailable, image_snapshot_copy() flattens the layer tars into one plain directory.
 */
#ifndef VESSEL_IMAGE_SNAPSHOT_H
#define VESSEL_IMAGE_SNAPSHOT_H

#include <stddef.h>

#include "util/error.h"

/* Mounts an overlayfs at target (borrowed paths throughout). lower_dirs: n >= 1 layer
 * directories, top first. upper_dir and work_dir: both NULL for a read-only mount, or both set
 * (same filesystem, work_dir empty). A single layer without an upper dir is a read-only bind.
 * Paths with ':', ',' or '\' are escaped; an option string longer than a page goes through the
 * fsconfig API ("lowerdir+", one layer at a time). */
int image_snapshot_mount(const char *const *lower_dirs, size_t n, const char *upper_dir,
			 const char *work_dir, const char *target, struct error *err);
/* Unmounts what image_snapshot_mount() mounted at target (lazily when it is busy). */
int image_snapshot_umount(const char *target, struct error *err);
/* The fallback without overlayfs: applies the layer tars in layer_fds (borrowed, bottom layer
 * first, each read from its current offset) one after another into target, an existing
 * directory, with whiteouts applied (image_unpack_layer with overlay=false). */
int image_snapshot_copy(const int *layer_fds, size_t n, const char *target, struct error *err);

#endif
