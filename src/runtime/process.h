/* process: the last steps of a container process before execve, shared by init and exec.
 *
 *   process_prepare(): oomScoreAdj, rlimits, noNewPrivileges, user (additionalGids, gid, uid
 *                      keeping capabilities across setuid), the five capability sets exactly as
 *                      configured (inheritable only as asked), umask, then chdir to cwd and a
 *                      check that the cwd lies inside the container's root (CVE-2024-21626).
 *   (the caller waits for `start`, applies seccomp)
 *   process_exec():    marks every fd >= 3 + preserve_fds close-on-exec, looks args[0] up in
 *                      the PATH of p->env, and execve()s (through the sealed trampoline
 *                      when given one). Returns only on failure.
 * p: borrowed.
 */
#ifndef VESSEL_RUNTIME_PROCESS_H
#define VESSEL_RUNTIME_PROCESS_H

#include <stddef.h>

#include "runtime/spec.h"
#include "util/error.h"

int process_prepare(const struct spec_process *p, struct error *err);
/* Resolves args[0] (PATH from p->env when it has no '/') to an executable file in buf. */
int process_lookup(const struct spec_process *p, char *buf, size_t len, struct error *err);
/* trampoline_fd: from trampoline_create(), or -1 to execve directly. */
int process_exec(const struct spec_process *p, int preserve_fds, int trampoline_fd,
		 struct error *err);

#endif
