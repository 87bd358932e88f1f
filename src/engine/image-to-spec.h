/* image-to-spec: the OCI config.json for `vessel run`, from the image's config and the flags.
 *
 * The base is the runtime's default (Docker's 14 capabilities, the default seccomp profile,
 * the standard mounts, masked and read-only paths); the image gives Entrypoint, Cmd, Env,
 * WorkingDir and User; the flags override them and add limits, volumes and the network.
 */
#ifndef VESSEL_ENGINE_IMAGE_TO_SPEC_H
#define VESSEL_ENGINE_IMAGE_TO_SPEC_H

#include <stdbool.h>
#include <stdint.h>

#include "util/error.h"

/* What the image's config says (all borrowed; NULL-terminated arrays may be NULL). */
struct engine_image_config {
	char *const *entrypoint;
	char *const *cmd;
	char *const *env;
	const char *workdir;
	const char *user;
};

enum engine_network { ENGINE_NETWORK_NONE, ENGINE_NETWORK_HOST, ENGINE_NETWORK_MAX };

/* What `vessel run` was told (all borrowed). -1 / NULL: not given. */
struct engine_run_flags {
	char *const *args;	/* CMD... after the image; NULL: the image's Cmd */
	const char *entrypoint; /* --entrypoint ("" clears it) */
	char *const *env;	/* -e K=V (and --env-file lines) */
	char *const *volumes;	/* -v SRC:DST[:ro] */
	const char *workdir;	/* -w */
	const char *user;	/* -u USER[:GROUP] */
	const char *hostname;	/* --hostname */
	bool tty;		/* -t */
	bool read_only;		/* --read-only */
	int64_t millicpus;	/* --cpus, in thousandths */
	int64_t memory;		/* --memory, bytes */
	int64_t pids_limit;	/* --pids-limit */
	enum engine_network network;
};

/* Returns the config.json text (owned). rootfs_fd: borrowed, the container's root (for the
 * user lookup); rootfs: written as root.path; cgroup: linux.cgroupsPath. */
char *engine_spec_json(const struct engine_image_config *img, const struct engine_run_flags *f,
		       int rootfs_fd, const char *rootfs, const char *cgroup, struct error *err);

#endif
