/* run: `vessel run IMAGE [CMD...]`: an image's container, from the store to its exit. */
#ifndef VESSEL_ENGINE_RUN_H
#define VESSEL_ENGINE_RUN_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/image-to-spec.h"
#include "util/error.h"

struct engine_paths {
	const char *store; /* images and container files: /var/lib/vessel (VESSEL_ROOT) */
	const char *state; /* records and runtime state: /run/vessel */
};

struct engine_run_opts {
	const char *image; /* reference as typed */
	const char *name;  /* --name, or NULL for a generated one */
	bool detach;	   /* -d */
	bool rm;	   /* --rm */
	bool interactive;  /* -i */
	int64_t timeout_ms;
	struct engine_run_flags flags;
	char **argv; /* the process's argv (for the runtime's sealed re-exec) */
};

/* Runs the container; *ret_status: its exit status (124 after --timeout). When the command
 * cannot be run, returns the error with *ret_status 127 (not found) or 126 (not executable). */
int engine_run(const struct engine_paths *paths, const struct engine_run_opts *o, int *ret_status,
	       struct error *err);

#endif
