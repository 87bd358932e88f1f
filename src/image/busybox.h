/* image_busybox: the embedded default image, built locally from Debian's busybox-static.
 *
 * One uncompressed layer (deterministic: mtime 0, uid/gid 0) with /bin/busybox, a symlink per
 * applet, /etc/passwd and /etc/group (root, nobody), /tmp (1777), /root, /proc, /sys, /dev;
 * a config (Cmd ["sh"], PATH, linux/amd64) and an OCI manifest, tagged
 * docker.io/library/busybox:latest. Works offline.
 */
#ifndef VESSEL_IMAGE_BUSYBOX_H
#define VESSEL_IMAGE_BUSYBOX_H

#include "image/digest.h"
#include "image/store.h"
#include "util/error.h"

#define IMAGE_BUSYBOX_PATH "/bin/busybox"
#define IMAGE_BUSYBOX_REF  "docker.io/library/busybox:latest"

/* Builds the image from the static busybox at path (borrowed), puts its three blobs in store
 * and tags ref (borrowed); ret_digest (may be NULL) gets the manifest digest. */
int image_busybox_build(struct image_store *store, const char *path, const char *ref,
			char *ret_digest, struct error *err);
/* image_busybox_build(store, IMAGE_BUSYBOX_PATH, IMAGE_BUSYBOX_REF) unless that tag exists. */
int image_busybox_ensure(struct image_store *store, struct error *err);

#endif
