/* vm-exec: `vessel vm` hands over to vessel-vmm (see cli/vm.h). The monitor is its own static
 * binary so that a VM's process maps none of the libraries the engine links (curl, libcrypto,
 * libarchive, ...): they cost memory and milliseconds at every start. exec keeps the pid, so
 * the record `vm run` writes names the process the user started. */
#include "cli/vm.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/cleanup.h"

/* <directory of /proc/self/exe's target>/CLI_VMM_BIN into buf. */
static int vmm_path(char *buf, size_t size)
{
	ssize_t n = readlink("/proc/self/exe", buf, size - 1);
	char *slash;

	if (n < 0)
		return -errno;
	buf[n] = '\0';
	slash = strrchr(buf, '/');
	if (!slash || (size_t)(slash - buf) + 1 + sizeof(CLI_VMM_BIN) > size)
		return -ENAMETOOLONG;
	memcpy(slash + 1, CLI_VMM_BIN, sizeof(CLI_VMM_BIN));
	return 0;
}

int cli_vm_exec(const struct engine_paths *paths, int argc, char **argv)
{
	char path[PATH_MAX];
	cleanup_free char **args = calloc((size_t)argc + 6, sizeof(*args));
	int r = vmm_path(path, sizeof(path));

	if (r < 0) {
		fprintf(stderr, "vessel: vm: /proc/self/exe: %s\n", strerror(-r));
		return 1;
	}
	if (!args) {
		fprintf(stderr, "vessel: vm: out of memory\n");
		return 1;
	}
	args[0] = path;
	args[1] = (char *)"--root";
	args[2] = (char *)paths->store;
	args[3] = (char *)"--state";
	args[4] = (char *)paths->state;
	memcpy(&args[5], argv, (size_t)argc * sizeof(*args)); /* argv[0] is "vm" */
	execv(path, args);
	fprintf(stderr, "vessel: vm: %s: %s (install %s next to vessel)\n", path, strerror(errno),
		CLI_VMM_BIN);
	return 1;
}
