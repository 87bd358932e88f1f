/* seccomp-agent: install a container's seccomp filter and, for SCMP_ACT_NOTIFY rules, hand the
 * notification fd to the agent at linux.seccomp.listenerPath, with the container process state
 * (runtime-spec "containerProcessState": ociVersion, fds ["seccompFd"], pid, metadata, state).
 */
#ifndef VESSEL_RUNTIME_SECCOMP_AGENT_H
#define VESSEL_RUNTIME_SECCOMP_AGENT_H

#include <sys/types.h>

#include "runtime/seccomp.h"
#include "util/error.h"

/* Before fork, on the host: a socket connected to the profile's listenerPath when it has
 * notify rules, else -1 (returned as *ret_sock). */
int seccomp_agent_connect(const struct seccomp_prog *p, int *ret_sock, struct error *err);
/* In the container process: installs p and sends the listener to agent_sock (if >= 0).
 * state_json: the container's OCI state (borrowed); pid: as the host sees it. */
int seccomp_agent_install(struct seccomp_prog *p, int agent_sock, const char *state_json, pid_t pid,
			  struct error *err);

#endif
