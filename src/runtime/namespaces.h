/* namespaces: joining and creating a container's Linux namespaces. */
#ifndef VESSEL_RUNTIME_NAMESPACES_H
#define VESSEL_RUNTIME_NAMESPACES_H

#include <sys/types.h>

#include "runtime/spec.h"
#include "util/error.h"

/* The CLONE_NEW* flag of a namespace kind. */
int namespaces_flag(enum spec_ns ns);
/* The /proc/<pid>/ns/<name> entry name of a namespace kind ("net" for network). */
const char *namespaces_proc_name(enum spec_ns ns);
/* CLONE_NEW* flags of the namespaces spec asks to create (excluding user). */
int namespaces_new_flags(const struct spec *spec);
/* setns() into every namespace spec gives a path for, the user namespace first. */
int namespaces_join_paths(const struct spec *spec, struct error *err);
/* Writes spec's uid and gid maps for pid (a process in a new user namespace). */
int namespaces_write_id_maps(const struct spec *spec, pid_t pid, struct error *err);

/* The namespaces of a running process that differ from ours, as open fds (-1 where the
 * same); joined by namespaces_join_fds (user first) and closed by namespaces_close_fds. */
int namespaces_open_of(pid_t pid, int ret_fds[SPEC_NS_MAX], struct error *err);
int namespaces_join_fds(const int fds[SPEC_NS_MAX], struct error *err);
void namespaces_close_fds(int fds[SPEC_NS_MAX]);

#endif
