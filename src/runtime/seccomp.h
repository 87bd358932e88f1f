/* seccomp: compiles config.json's linux.seccomp into a libseccomp filter and loads it.
 *
 * seccomp_compile() parses and checks the whole profile and builds the filter (no effect on
 * the calling process); seccomp_install() loads it. A profile that cannot be compiled is an
 * error, never a silent allow. Syscall names libseccomp does not know are skipped (as runc
 * does); a rule whose action equals the default action is skipped.
 *
 * The filter never sets no_new_privs itself (libseccomp's CTL_NNP is off): loading it needs
 * either PR_SET_NO_NEW_PRIVS already set or CAP_SYS_ADMIN in the effective set. With
 * noNewPrivileges false, install it before capabilities are dropped.
 */
#ifndef VESSEL_RUNTIME_SECCOMP_H
#define VESSEL_RUNTIME_SECCOMP_H

#include <stdbool.h>

#include "util/error.h"

#define SECCOMP_MAX_SYSCALLS 1024 /* entries in linux.seccomp.syscalls */
#define SECCOMP_MAX_ARGS     6	  /* args per entry */

/* A compiled filter (wraps a scmp_filter_ctx). */
struct seccomp_prog;

/* Parses and compiles linux.seccomp (JSON text, borrowed, untrusted). Errors name the entry:
 * "linux.seccomp.syscalls[3].action: unknown action \"SCMP_ACT_FOO\"". Returns owned. */
struct seccomp_prog *seccomp_compile(const char *json, struct error *err);

/* Loads the filter into the calling process (the container's init, just before execve).
 * p: borrowed. ret_listener: with SCMP_ACT_NOTIFY rules, the notification fd (owned by the
 * caller, O_CLOEXEC), else -1; it may be NULL only when seccomp_has_notify() is false.
 * -EACCES: neither no_new_privs nor CAP_SYS_ADMIN. */
int seccomp_install(struct seccomp_prog *p, int *ret_listener, struct error *err);

/* Whether the profile has SCMP_ACT_NOTIFY rules (then it has a listener path). */
bool seccomp_has_notify(const struct seccomp_prog *p);
/* The listenerPath and listenerMetadata of the profile (borrowed; NULL when unset). */
const char *seccomp_listener_path(const struct seccomp_prog *p);
const char *seccomp_listener_metadata(const struct seccomp_prog *p);

/* Releases p (NULL-safe); a loaded filter stays loaded. */
void seccomp_prog_free(struct seccomp_prog *p);

/* Vessel's default profile (Docker's default policy in spirit) as linux.seccomp JSON text:
 * defaultAction SCMP_ACT_ERRNO (EPERM), x86_64/x86/x32, an allow list. Returns owned, NULL
 * on OOM. */
char *seccomp_default_json(void);

#endif
