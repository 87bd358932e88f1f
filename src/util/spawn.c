/* spawn: see spawn.h */
#include "util/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <unistd.h>

extern char **environ;

static int redirect(posix_spawn_file_actions_t *fa, const struct spawn_io *io)
{
	int r = io->in_fd >= 0
		    ? posix_spawn_file_actions_adddup2(fa, io->in_fd, STDIN_FILENO)
		    : posix_spawn_file_actions_addopen(fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);

	if (r == 0 && io->out_fd >= 0)
		r = posix_spawn_file_actions_adddup2(fa, io->out_fd, STDOUT_FILENO);
	return r;
}

int spawn_clean(const char *path, char *const argv[], const struct spawn_io *io, pid_t *ret_pid)
{
	char *const *envp = io->envp ? io->envp : environ;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, all;
	int r;

	sigemptyset(&none);
	sigfillset(&all);
	if (posix_spawn_file_actions_init(&fa) != 0)
		return -ENOMEM;
	if (posix_spawnattr_init(&attr) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		return -ENOMEM;
	}
	r = redirect(&fa, io);
	if (r == 0)
		r = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	if (r == 0)
		r = posix_spawnattr_setsigmask(&attr, &none);
	if (r == 0)
		r = posix_spawnattr_setsigdefault(&attr, &all);
	if (r == 0)
		r = (io->search_path ? posix_spawnp : posix_spawn)(ret_pid, path, &fa, &attr, argv,
								   envp);
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	return -r;
}
