/* state-pid: state_pid_start_time (see state.h), apart from state.c so that the VM monitor can
 * check liveness without linking state.c's JSON library; and without scanf, which would pull
 * glibc's scanf and strtod engines (~80 KiB) into the static vessel-vmm. */
#include "runtime/state.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/cleanup.h"

uint64_t state_pid_start_time(pid_t pid)
{
	char path[64], buf[1024], *end;
	unsigned long long start;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	cleanup_fd int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* comm may hold spaces and parens: fields resume after the last ')', with the state (field
	 * 3); the start time is field 22 */
	char *p = strrchr(buf, ')');
	if (!p || p[1] != ' ' || !p[2] || p[2] == 'Z' || p[2] == 'X')
		return 0;
	for (int field = 3; field <= 22 && p; field++)
		p = strchr(p + 1, ' ');
	if (!p || p[1] < '0' || p[1] > '9')
		return 0;
	errno = 0;
	start = strtoull(p + 1, &end, 10);
	if (errno || (*end != ' ' && *end != '\n' && *end))
		return 0;
	return start;
}
