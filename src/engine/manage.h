/* manage: what happens to containers after `vessel run`: stop, kill, rm, logs. */
#ifndef VESSEL_ENGINE_MANAGE_H
#define VESSEL_ENGINE_MANAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

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

/* docker inspect's shape for a container: [{Id, Name, Image, Config{Cmd}, Created, State}]. */
int engine_inspect_container(const struct engine_paths *p, const char *key, FILE *out,
			     struct error *err);

/* exec: a command in a running container (the runtime's exec). */
struct engine_exec_opts {
	char **args;	  /* NULL-terminated */
	char **env;	  /* -e K=V, NULL-terminated or NULL */
	const char *user; /* -u UID[:GID] */
	const char *cwd;  /* -w */
	bool interactive; /* -i: keep stdin */
	bool tty;	  /* -t */
};
int engine_exec(const struct engine_paths *p, const char *key, const struct engine_exec_opts *o,
		int *ret_status, struct error *err);

/* One sample of a running container's usage. */
struct engine_stats {
	char id[65];
	char *name; /* owned */
	double cpu_percent;
	int64_t mem_usage, mem_limit, pids;
};
/* Samples every running container (or those named) over interval_ms; *ret owned. */
int engine_stats(const struct engine_paths *p, char *const *keys, long interval_ms,
		 struct engine_stats **ret, size_t *ret_n, struct error *err);
void engine_stats_free(struct engine_stats *v, size_t n);

#endif
