/* init: the container's first process, from fork to execve (private to runtime/). */
#ifndef VESSEL_RUNTIME_INIT_H
#define VESSEL_RUNTIME_INIT_H

#include <stdbool.h>
#include <stdnoreturn.h>

#include "runtime/container.h"
#include "runtime/lsm.h"
#include "runtime/seccomp.h"
#include "runtime/spec.h"

struct init_ctx {
	const struct container_opts *opts;
	const struct spec *spec;
	const char *bundle;	      /* absolute */
	const char *rootfs;	      /* absolute */
	int sync_fd;		      /* our end of the sync socket */
	int fifo_fd;		      /* exec fifo, opened O_RDWR: start writes one byte into it */
	int console_fd;		      /* connected console socket, or -1 */
	struct seccomp_prog *seccomp; /* compiled linux.seccomp, or NULL */
	int seccomp_sock;	      /* connected to listenerPath, or -1 */
	struct lsm_plan lsm;	      /* AppArmor/SELinux to set at exec */
	bool unshare_cgroup;	      /* create the cgroup namespace once in the cgroup */
};

/* Runs in the forked init, inside the new namespaces: builds the rootfs, drops privileges,
 * reports SYNC_READY, waits for start, execs. Errors go to the sync socket; never returns. */
noreturn void init_main(const struct init_ctx *c);

#endif
