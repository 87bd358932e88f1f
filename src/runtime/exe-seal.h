/* exe-seal: run the runtime from a sealed copy of itself (CVE-2019-5736).
 *
 * A process that enters a container runs this binary inside it for a while; if the container
 * could reach the binary through /proc/<pid>/exe, it could overwrite the host's runtime. Running
 * from a sealed memfd makes /proc/<pid>/exe point at an unwritable copy.
 */
#ifndef VESSEL_RUNTIME_EXE_SEAL_H
#define VESSEL_RUNTIME_EXE_SEAL_H

#include "util/error.h"

/* Returns 0 if already running sealed; else re-executes argv from a sealed memfd and
 * returns only on failure. argv: borrowed. */
int exe_seal_reexec(char **argv, struct error *err);

#endif
