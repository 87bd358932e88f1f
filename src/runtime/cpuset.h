/* cpuset: linux.resources.cpu.cpus and .mems checked against what the host has online, so a
 * container asking for CPU 999 is refused before anything is created. */
#ifndef VESSEL_RUNTIME_CPUSET_H
#define VESSEL_RUNTIME_CPUSET_H

#include "runtime/spec.h"
#include "util/error.h"

#define CPUSET_MAX 4096

/* Parses a list like "0-3,5" into bits (CPUSET_MAX bits); 0 or -EINVAL. */
int cpuset_parse(const char *list, unsigned long *bits);
/* cpus against /sys/devices/system/cpu/online, mems against .../node/online (when present). */
int cpuset_check(const struct spec_resources *res, struct error *err);

#endif
