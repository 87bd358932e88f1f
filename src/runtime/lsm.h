/* lsm: process.apparmorProfile and process.selinuxLabel.
 *
 * Where the host runs AppArmor or SELinux, the profile or label is set for the next execve
 * (/proc/self/attr/.../exec). Where it does not, the container runs unconfined and the caller
 * warns, as runc does: lsm_check() says which applies, before anything is created.
 */
#ifndef VESSEL_RUNTIME_LSM_H
#define VESSEL_RUNTIME_LSM_H

#include <stdbool.h>

#include "runtime/spec.h"
#include "util/error.h"

struct lsm_plan {
	bool apparmor; /* set p->apparmor_profile at exec */
	bool selinux;  /* set p->selinux_label at exec */
};

/* Decides what the host can apply; *ret_warning (static text, or NULL) says what it cannot. */
struct lsm_plan lsm_check(const struct spec_process *p, const char **ret_warning);
/* In the container process, just before execve. */
int lsm_apply(const struct lsm_plan *plan, const struct spec_process *p, struct error *err);

#endif
