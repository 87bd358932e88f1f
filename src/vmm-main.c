/* vessel-vmm: the micro-VM monitor alone, `vessel-vmm [--root DIR] [--state DIR] [vm]
 * run|ps|stop ...` (`vessel vm ...` execs it with its paths as --root and --state). A static
 * binary of only what the vm commands reach, so that a VM's process maps no shared library. */
#include <malloc.h>
#include <stdio.h>
#include <string.h>

#include "cli/engine.h"
#include "cli/vm.h"

int main(int argc, char **argv)
{
	struct engine_paths paths = {0};
	int first;

	/* One malloc arena for all threads: the I/O and vCPU threads each build their seccomp
	 * filter with libseccomp, and in arenas of their own that touched ~100 KiB more. */
	mallopt(M_ARENA_MAX, 1);
	if (argc == 2 && !strcmp(argv[1], "--help")) /* not a global flag: the vm usage */
		return cli_vm(&paths, argc, argv);
	first = cli_engine_paths(&paths, argc, argv);
	if (first < 0) {
		fputs("usage: vessel-vmm [--root DIR] [--state DIR] [vm] run|ps|stop ...\n",
		      stderr);
		return 1;
	}
	if (first < argc && !strcmp(argv[first], "vm"))
		first++;
	/* cli_vm reads its subcommand from argv[1]; argv[0] stands for "vm" and is not read. */
	return cli_vm(&paths, argc - first + 1, argv + first - 1);
}
