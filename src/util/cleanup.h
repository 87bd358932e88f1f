/* cleanup: scope-bound release of memory, fds, FILEs, DIRs and child processes.
 *
 * A variable with a cleanup attribute is initialised where it is declared
 * (NULL / -1). TAKE_PTR() and TAKE_FD() hand ownership on.
 */
#ifndef VESSEL_UTIL_CLEANUP_H
#define VESSEL_UTIL_CLEANUP_H

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

static inline void cleanup_freep(void *p)
{
	free(*(void **)p);
}

static inline void cleanup_closep(const int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
}

static inline void cleanup_fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}

static inline void cleanup_closedirp(DIR **d)
{
	if (*d)
		closedir(*d);
}

/* Kills and reaps a child that was not handed on. */
static inline void cleanup_killp(const pid_t *pid)
{
	if (*pid > 0) {
		int saved = errno;
		kill(*pid, SIGKILL);
		while (waitpid(*pid, NULL, 0) < 0 && errno == EINTR)
			;
		errno = saved;
	}
}

/* Frees a NULL-terminated array of strings and the array. */
static inline void strv_free(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

static inline void cleanup_strvp(char ***v)
{
	strv_free(*v);
}

#define cleanup_free __attribute__((__cleanup__(cleanup_freep)))
#define cleanup_fd   __attribute__((__cleanup__(cleanup_closep)))
#define cleanup_file __attribute__((__cleanup__(cleanup_fclosep)))
#define cleanup_dir  __attribute__((__cleanup__(cleanup_closedirp)))
#define cleanup_pid  __attribute__((__cleanup__(cleanup_killp)))
#define cleanup_strv __attribute__((__cleanup__(cleanup_strvp)))

/* DEFINE_CLEANUP(struct foo, foo_free) makes `cleanup(foo_free) struct foo *x = NULL;` work. */
#define DEFINE_CLEANUP(type, fn)                                                                   \
	static inline void fn##p(type **p)                                                         \
	{                                                                                          \
		fn(*p);                                                                            \
	}
#define cleanup(fn) __attribute__((__cleanup__(fn##p)))

#define TAKE_PTR(p)                                                                                \
	({                                                                                         \
		__typeof__(p) _tp = (p);                                                           \
		(p) = NULL;                                                                        \
		_tp;                                                                               \
	})

#define TAKE_FD(fd)                                                                                \
	({                                                                                         \
		int _tf = (fd);                                                                    \
		(fd) = -1;                                                                         \
		_tf;                                                                               \
	})

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif
