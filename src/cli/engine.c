/* engine: `vessel [--root DIR] [--state DIR] COMMAND ...`, the Docker-like surface. */
#include "cli/engine.h"

#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/vm.h"

static int cli_engine_vm(const struct cli_engine *e, int argc, char **argv)
{
	return cli_vm_exec(&e->paths, argc, argv);
}

static const struct {
	const char *name;
	int (*fn)(const struct cli_engine *e, int argc, char **argv);
	const char *help;
} commands[] = {
    {"run", cli_run, "run [flags] IMAGE [CMD...]       a container from an image"},
    {"pull", cli_pull, "pull [--platform P] [-q] REF     an image from a registry"},
    {"ps", cli_ps, "ps [-a] [--format json]          containers"},
    {"logs", cli_logs, "logs [-f] [--tail N] CONTAINER   a detached container's output"},
    {"stop", cli_stop, "stop [-t SECS] CONTAINER...      SIGTERM, then SIGKILL"},
    {"kill", cli_kill, "kill [-s SIGNAL] CONTAINER...    signal a container"},
    {"rm", cli_rm, "rm [-f] CONTAINER...             remove containers"},
    {"exec", cli_exec, "exec [-i] [-e] [-u] [-w] CONTAINER CMD...   a command inside"},
    {"stats", cli_stats, "stats [--no-stream] [CONTAINER...]   CPU, memory, pids"},
    {"images", cli_images, "images [--format json] [-q]      list images"},
    {"import", cli_import, "import FILE|DIR [NAME]           an OCI layout or docker-archive"},
    {"save", cli_save, "save IMAGE -o FILE               an image as an OCI layout tar"},
    {"rmi", cli_rmi, "rmi [-f] IMAGE...                remove images"},
    {"inspect", cli_inspect, "inspect IMAGE...                 an image as JSON"},
    {"vm", cli_engine_vm, "vm run --kernel FILE ...         boot a micro-VM (KVM)"},
};

int cli_engine_fail(const struct cli_engine *e, const struct error *err)
{
	fprintf(stderr, "vessel: %s\n", err->msg);
	return 125;
}

static int usage(FILE *f, int status)
{
	fprintf(f, "usage: vessel [--root DIR] [--state DIR] COMMAND ...\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  vessel %s\n", commands[i].help);
	fprintf(f, "  vessel oci COMMAND ...           the OCI runtime (also as vessel-runc)\n"
		   "  vessel version\n"
		   "--root: images and container files (VESSEL_ROOT, default /var/lib/vessel)\n"
		   "--state: records and runtime state (VESSEL_STATE, default /run/vessel)\n");
	return status;
}

int cli_engine_main(int argc, char **argv)
{
	struct cli_engine e = {.argv = argv};
	int first = cli_engine_paths(&e.paths, argc, argv);

	if (first < 0 || first >= argc)
		return usage(stderr, 125);
	const char *cmd = argv[first];
	if (!strcmp(cmd, "help") || !strcmp(cmd, "--help"))
		return usage(stdout, 0);
	if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
		printf("vessel version %s\n", VESSEL_VERSION);
		return 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (!strcmp(cmd, commands[i].name))
			return commands[i].fn(&e, argc - first, argv + first);
	}
	fprintf(stderr, "vessel: unknown command \"%s\"\n", cmd);
	return usage(stderr, 125);
}
