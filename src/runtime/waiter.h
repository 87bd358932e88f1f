/* waiter: a foreground container's parent: waits for its process, passes on the signals a
 * shell sends to its job, and, when the runtime holds the pty master itself (`run` of a
 * terminal process without --console-socket), joins it to our stdin and stdout.
 */
#ifndef VESSEL_RUNTIME_WAITER_H
#define VESSEL_RUNTIME_WAITER_H

#include <stdint.h>
#include <sys/types.h>

#include "util/error.h"

#define WAITER_GRACE_MS	 10000 /* from SIGTERM to SIGKILL when the timeout expires */
#define WAITER_TIMED_OUT 124   /* the exit status after a timeout, as timeout(1) */

/* pid: our child. master: a pty master to proxy, or -1 (borrowed). timeout_ms > 0: SIGTERM
 * then, WAITER_GRACE_MS later, SIGKILL. *ret_status: the exit status as a shell reports it
 * (128 + signal when killed), WAITER_TIMED_OUT after a timeout. */
int waiter_wait(pid_t pid, int master, int64_t timeout_ms, int *ret_status, struct error *err);

#endif
