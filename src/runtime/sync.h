/* sync: the fixed-size message protocol between the runtime and the processes it forks.
 *
 * Messages travel over a SOCK_SEQPACKET socketpair; each is one struct sync_msg, so a child
 * can report a struct error raw, even after fork and before exec.
 */
#ifndef VESSEL_RUNTIME_SYNC_H
#define VESSEL_RUNTIME_SYNC_H

#include <sys/types.h>

#include "util/error.h"

enum sync_type {
	SYNC_GO = 1,  /* parent -> child: proceed */
	SYNC_USERMAP, /* child -> parent: write my uid/gid maps */
	SYNC_PID,     /* child -> parent: the pid of the process it forked (msg.pid) */
	SYNC_HOOKS,   /* init -> parent: run prestart/createRuntime hooks now */
	SYNC_READY,   /* init -> parent: set up, waiting for start */
	SYNC_ERROR,   /* child -> parent: msg.err says what failed */
	SYNC_TYPE_MAX
};

struct sync_msg {
	int type; /* enum sync_type */
	pid_t pid;
	struct error err;
};

/* Creates a SOCK_SEQPACKET|SOCK_CLOEXEC pair in fds[2]. */
int sync_pair(int fds[2], struct error *err);
int sync_send(int fd, enum sync_type type, pid_t pid, struct error *err);
/* Sends SYNC_ERROR carrying *e; used by children before _exit(). Never fails loudly. */
void sync_send_error(int fd, const struct error *e);
/* Receives one message of the expected type into *ret (may be NULL). A SYNC_ERROR from the
 * peer is copied into *err and returned as its -code; EOF is -EPIPE ("peer exited"). */
int sync_expect(int fd, enum sync_type type, struct sync_msg *ret, struct error *err);

#endif
