/* lifecycle: helpers shared by the container operations (private to runtime/). */
#ifndef VESSEL_RUNTIME_LIFECYCLE_H
#define VESSEL_RUNTIME_LIFECYCLE_H

#include <stdbool.h>
#include <sys/types.h>

#include "runtime/spec.h"
#include "util/error.h"

/* The config.json saved at create time in <root>/<id>/; returns owned spec. */
struct spec *lifecycle_stored_spec(const char *root, const char *id, struct error *err);

/* Writes pid (decimal) to path atomically. */
int lifecycle_write_pid_file(const char *path, pid_t pid, struct error *err);

/* True if the runtime runs prestart/createRuntime hooks while the init waits (SYNC_HOOKS). */
bool container_has_runtime_hooks(const struct spec *spec);

#endif
