/* manage: what happens to containers after `vessel run`: stop, kill, rm, logs. */
#ifndef VESSEL_ENGINE_MANAGE_H
#define VESSEL_ENGINE_MANAGE_H

#include <stdbool.h>

#include "engine/run.h"
#include "util/error.h"

/* SIGTERM, then SIGKILL after timeout_s (docker stop). A stopped container is fine. */
int engine_stop(const struct engine_paths *p, const char *key, int timeout_s, struct error *err);
int engine_kill(const struct engine_paths *p, const char *key, int sig, struct error *err);
/* Removes an exited container (force: kills a running one first). */
int engine_rm(const struct engine_paths *p, const char *key, bool force, struct error *err);
/* Writes the container's log to stdout/stderr; tail < 0: all; follow: until it exits. */
int engine_logs(const struct engine_paths *p, const char *key, long tail, bool follow,
		struct error *err);

#endif
