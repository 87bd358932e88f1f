/* spawn: start a helper program (a hook, a credential helper, busybox --list) with a clean
 * signal state: an empty mask and every handler at its default, whatever the caller blocks. */
#ifndef VESSEL_UTIL_SPAWN_H
#define VESSEL_UTIL_SPAWN_H

#include <stdbool.h>
#include <sys/types.h>

struct spawn_io {
	int in_fd;	   /* the child's stdin; -1: /dev/null */
	int out_fd;	   /* the child's stdout; -1: the caller's */
	char *const *envp; /* NULL: the caller's environment */
	bool search_path;  /* look path up in $PATH (posix_spawnp) */
};

/* Starts path with argv; 0 and *ret_pid, or -errno. The fds in io are borrowed. */
int spawn_clean(const char *path, char *const argv[], const struct spawn_io *io, pid_t *ret_pid);

#endif
