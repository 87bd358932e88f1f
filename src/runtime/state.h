/* state: a container's record under the runtime root (<root>/<id>/state.json).
 *
 * The record is written once the container is created and read by every later command. Status
 * is never stored: it is derived from the init's liveness (pid plus its start time, so a reused
 * pid is not mistaken for the container), the exec fifo, and the freezer.
 */
#ifndef VESSEL_RUNTIME_STATE_H
#define VESSEL_RUNTIME_STATE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "runtime/spec.h"
#include "util/error.h"

enum state_status {
	STATE_CREATING,
	STATE_CREATED,
	STATE_RUNNING,
	STATE_PAUSED,
	STATE_STOPPED,
	STATE_STATUS_MAX
};

struct state {
	char *id;
	pid_t pid;	     /* 0 while create is under way (or if it crashed) */
	uint64_t start_time; /* /proc/<pid>/stat field 22 */
	char *bundle;
	char *rootfs;
	char *created;	   /* RFC 3339, UTC */
	char *cgroup_path; /* relative to the hierarchy roots */
	uid_t owner;
	char *annotations; /* JSON object text, "{}" when none */
};

/* Checks a container id: 1..1024 characters of [A-Za-z0-9_.+-], not "." or "..". */
int state_check_id(const char *id, struct error *err);
/* Writes <dirfd>/state.json from *s (borrowed): creates it (first record), or replaces it
 * atomically (replace). */
int state_save(int dirfd, const struct state *s, bool replace, struct error *err);
/* Loads <root>/<id>/state.json; ENOENT becomes "container ID does not exist". */
int state_load(const char *root, const char *id, struct state *ret, struct error *err);
void state_clear(struct state *s);
/* Start time of pid from /proc, or 0 if it is gone or a zombie. */
uint64_t state_pid_start_time(pid_t pid);
/* Derives the status (root, id: where the exec fifo lives). */
enum state_status state_status(const char *root, const struct state *s);
const char *state_status_name(enum state_status st);
/* The OCI state JSON (ociVersion, id, status, pid, bundle, annotations); returns owned. */
char *state_oci_json(const struct state *s, enum state_status st);
/* Removes <root>/<id> and what it holds. */
int state_remove(const char *root, const char *id, struct error *err);
/* RFC 3339 timestamp of now (UTC, nanoseconds); buf of 40 bytes. */
void state_now(char *buf, size_t size);

/* spec's annotations as a JSON object text; returns owned. */
char *state_annotations_json(const struct spec *spec);
#endif
