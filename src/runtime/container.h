/* container: the OCI runtime's operations on one container, as runc offers them.
 *
 * Each call takes the runtime root (--root) and a container id, and leaves either a complete
 * change or nothing: a create that fails removes its state directory, cgroup and processes.
 */
#ifndef VESSEL_RUNTIME_CONTAINER_H
#define VESSEL_RUNTIME_CONTAINER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "runtime/cgroup.h"
#include "runtime/spec.h"
#include "util/error.h"

struct container_opts {
	const char *root; /* state root, e.g. /run/vessel-runc */
	const char *id;
	const char *bundle;	    /* NULL: the current directory */
	const char *pid_file;	    /* NULL: none */
	const char *console_socket; /* NULL: none */
	int preserve_fds;
	bool systemd_cgroup;
	bool detach;		     /* run: return once started */
	char **reexec_argv;	     /* the process's argv, to re-exec sealed when needed */
	int64_t timeout_ms;	     /* run: > 0 ends the container after this long (status 124) */
	void (*on_start)(void *arg); /* run: called once the container's process was started */
	void *on_start_arg;
};

struct container_exec_opts {
	const char *root;
	const char *id;
	const char *process_file; /* NULL: build the process from the fields below */
	char **args;		  /* NULL-terminated */
	char **env;		  /* extra "K=V", NULL-terminated, may be NULL */
	const char *cwd;
	const char *user; /* "UID[:GID]" */
	const gid_t *additional_gids;
	size_t n_additional_gids;
	bool tty;
	bool detach;
	bool no_new_privs;
	const char *pid_file;
	const char *console_socket;
	int preserve_fds;
	bool own_tty; /* tty without console_socket: proxy the pty to our stdio */
};

enum container_kill_flags { CONTAINER_KILL_ALL = 1 << 0 };

int container_create(const struct container_opts *o, struct error *err);
int container_start(const char *root, const char *id, struct error *err);
/* create + start, then (unless detach) wait: *ret_status is the container's exit status. */
int container_run(const struct container_opts *o, int *ret_status, struct error *err);
int container_exec(const struct container_exec_opts *o, int *ret_status, struct error *err);

/* The OCI state JSON; returns owned. */
char *container_state(const char *root, const char *id, struct error *err);
int container_kill(const char *root, const char *id, int sig, unsigned flags, struct error *err);
int container_delete(const char *root, const char *id, bool force, struct error *err);
int container_pause(const char *root, const char *id, bool pause, struct error *err);
/* Changes the limits of a created or running container (fields set to -1/NULL are kept). */
int container_update(const char *root, const char *id, const struct spec_resources *res,
		     struct error *err);
/* Its cgroup's usage counters. */
int container_stats(const char *root, const char *id, struct cgroup_stats *ret, struct error *err);
/* 1 if the container's init is gone, 0 if not. */
int container_stopped(const char *root, const char *id, struct error *err);

/* The container's pids (host view); *ret owned. */
int container_pids(const char *root, const char *id, pid_t **ret, size_t *ret_n, struct error *err);

/* One line of `list`. */
struct container_info {
	char *id;
	pid_t pid;
	const char *status;
	char *bundle;
	char *rootfs;
	char *created;
	uid_t owner;
};
/* Every container under root; *ret owned, free with container_list_free. */
int container_list(const char *root, struct container_info **ret, size_t *ret_n, struct error *err);
void container_list_free(struct container_info *v, size_t n);

#endif
