/* trampoline: exec a container's program through a sealed copy of a tiny static program
 * (stub/trampoline.c), so that /proc/self/exe never points at the runtime (CVE-2019-5736)
 * without re-executing the whole runtime for every container.
 */
#ifndef VESSEL_RUNTIME_TRAMPOLINE_H
#define VESSEL_RUNTIME_TRAMPOLINE_H

#include "util/error.h"

/* A sealed, executable, close-on-exec memfd holding the trampoline; returns the fd. */
int trampoline_create(struct error *err);
/* execs path with argv and envp through the trampoline fd; returns only on failure. */
int trampoline_exec(int fd, const char *path, char *const argv[], char *const envp[],
		    struct error *err);

#endif
