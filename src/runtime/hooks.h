/* hooks: OCI lifecycle hooks, each run with the container state JSON on its stdin.
 *
 * Runs list->v[0..n) in order; a hook that exits non-zero, is killed, or outlives its timeout
 * (then SIGKILLed) fails the stage. stage: "prestart", "createRuntime", ... for messages.
 * state_json: borrowed.
 */
#ifndef VESSEL_RUNTIME_HOOKS_H
#define VESSEL_RUNTIME_HOOKS_H

#include "runtime/spec.h"
#include "util/error.h"

int hooks_run(const struct spec_hook_list *list, const char *stage, const char *state_json,
	      struct error *err);
/* The config.json name of a hook kind ("createRuntime"). */
const char *hooks_stage_name(enum spec_hook_kind kind);

#endif
