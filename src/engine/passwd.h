/* passwd: "USER[:GROUP]" resolved against the image's /etc/passwd and /etc/group, which are
 * untrusted files inside the rootfs (read through the rootfs fd, bounded). */
#ifndef VESSEL_ENGINE_PASSWD_H
#define VESSEL_ENGINE_PASSWD_H

#include <stddef.h>
#include <sys/types.h>

#include "util/error.h"

struct engine_user {
	uid_t uid;
	gid_t gid;
	gid_t gids[64]; /* supplementary groups the user is a member of */
	size_t n_gids;
};

/* spec: "name", "uid", "name:group", "uid:gid", ... (empty: root). rootfs_fd: borrowed, the
 * container's root (or -1: numeric ids only). */
int engine_user_resolve(int rootfs_fd, const char *spec, struct engine_user *ret,
			struct error *err);

#endif
