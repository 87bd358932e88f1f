/* console: the container's terminal (process.terminal with --console-socket).
 *
 * Inside the container (after pivot_root, with /dev/pts mounted), the init opens a new pty from
 * /dev/ptmx, sends the master to the console socket with SCM_RIGHTS (as conmon and runc's
 * recvtty expect), sets the window size, and makes the slave its controlling terminal and
 * stdin/stdout/stderr. sock: borrowed, a connected unix socket.
 */
#ifndef VESSEL_RUNTIME_CONSOLE_H
#define VESSEL_RUNTIME_CONSOLE_H

#include <stdbool.h>

#include "runtime/spec.h"
#include "util/error.h"

/* In the container: a new pty whose master goes to sock and whose slave becomes the calling
 * process's controlling terminal and stdio. for_init: also bind it on /dev/console (the
 * container's first process; an exec'd process shares the existing one). */
int console_setup(int sock, const struct spec_process *p, bool for_init, struct error *err);
/* Connects to the unix socket at path (the runtime side, before fork); returns fd. */
int console_connect(const char *path, struct error *err);

#endif
