/* cgroup: a container's control group, behind one interface with two backends.
 *
 * cgroup v1 (one hierarchy per controller under <mountroot>/<controller>, including the hybrid
 * layout where <mountroot>/unified is an empty cgroup2) and cgroup v2 (<mountroot> itself is
 * cgroup2). The backend is chosen at run time by cgroup_open/create from what <mountroot> is.
 * path: the cgroup's path relative to the hierarchy roots, e.g. "/vessel/c1".
 * mountroot: normally "/sys/fs/cgroup"; tests pass a directory tree shaped like one.
 */
#ifndef VESSEL_RUNTIME_CGROUP_H
#define VESSEL_RUNTIME_CGROUP_H

#include <stdbool.h>
#include <sys/types.h>

#include "runtime/spec.h"
#include "util/error.h"

struct cgroup;

/* Creates (mkdir -p) the cgroup in every hierarchy; returns owned handle. */
struct cgroup *cgroup_create(const char *mountroot, const char *path, struct error *err);
/* Opens an existing cgroup (for later commands); returns owned handle. */
struct cgroup *cgroup_open(const char *mountroot, const char *path, struct error *err);
/* As cgroup_create/cgroup_open, with the backend forced (version 1 or 2) instead of chosen by
 * statfs, so that tests can use a plain directory tree shaped like /sys/fs/cgroup (v1: every
 * subdirectory but "unified" is a hierarchy). */
struct cgroup *cgroup_create_backend(const char *mountroot, const char *path, int version,
				     struct error *err);
struct cgroup *cgroup_open_backend(const char *mountroot, const char *path, int version,
				   struct error *err);
/* Moves pid into the cgroup in every hierarchy. */
int cgroup_enter(struct cgroup *cg, pid_t pid, struct error *err);
/* Applies linux.resources (the next issue fills this in; now: validated no-op). */
int cgroup_apply(struct cgroup *cg, const struct spec_resources *res, struct error *err);
/* Freezes or thaws every task (pause/resume). */
int cgroup_freeze(struct cgroup *cg, bool frozen, struct error *err);
/* 1 if frozen, 0 if not, -errno on error. */
int cgroup_is_frozen(struct cgroup *cg, struct error *err);
/* The pids in the cgroup (host view); *ret owned (NULL when *ret_n is 0). */
int cgroup_pids(struct cgroup *cg, pid_t **ret, size_t *ret_n, struct error *err);
/* Sends sig to every task in the cgroup. */
int cgroup_kill_all(struct cgroup *cg, int sig, struct error *err);
/* Removes the cgroup directories (waiting briefly for exiting tasks). */
int cgroup_destroy(struct cgroup *cg, struct error *err);
/* The cgroup path this handle was made for (borrowed). */
const char *cgroup_path(const struct cgroup *cg);
void cgroup_free(struct cgroup *cg);

#endif
