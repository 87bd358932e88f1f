/* waiter: a foreground container's parent: waits for its process, passes on the signals a
 * shell sends to its job, and, when the runtime holds the pty master itself (`run` of a
 * terminal process without --console-socket), joins it to our stdin and stdout.
 */
#ifndef VESSEL_RUNTIME_WAITER_H
#define VESSEL_RUNTIME_WAITER_H

#include <sys/types.h>

#include "util/error.h"

/* pid: our child. master: a pty master to proxy, or -1 (borrowed). *ret_status: the exit
 * status as a shell reports it (128 + signal when killed). */
int waiter_wait(pid_t pid, int master, int *ret_status, struct error *err);

#endif
