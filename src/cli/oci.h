/* oci: what the runc-surface command files share (private to cli/). */
#ifndef VESSEL_CLI_OCI_H
#define VESSEL_CLI_OCI_H

#include <stdbool.h>
#include <sys/types.h>

#include "cli/cli.h"
#include "runtime/container.h"

struct args {
	struct container_opts c;
	struct container_exec_opts x;
	const char *format;
	bool force, all, quiet, rootless;
	char **env; /* owned array, borrowed strings */
	size_t n_env;
	gid_t *gids;
	size_t n_gids;
	char **pos; /* positional arguments */
	int n_pos;
};

typedef int (*cmd_fn)(const struct cli_globals *g, struct args *a);

/* Prints "CMD: what" as a usage error; returns 1. */
int oci_bad_usage(const struct cli_globals *g, const char *cmd, const char *what);
/* Checks that the command got an id and at most max positional arguments; 0 or 1. */
int oci_need_id(const struct cli_globals *g, const char *cmd, const struct args *a, int max);
/* Pretty-prints JSON text to stdout; 0 or 1. */
int oci_print_json(const char *text);

int cmd_ps(const struct cli_globals *g, struct args *a);
int cmd_list(const struct cli_globals *g, struct args *a);
int cmd_spec(const struct cli_globals *g, struct args *a);
int cmd_features(const struct cli_globals *g, struct args *a);
/* update and events parse their own flags: argv[0] is the command. */
int cmd_update(const struct cli_globals *g, int argc, char **argv);
int cmd_events(const struct cli_globals *g, int argc, char **argv);

#endif
