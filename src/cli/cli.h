/* cli: the command line: argv[0] dispatch (cli.c); the runc surface's global flags and error
 * printing (oci-main.c, all that vessel-runc's own main needs). */
#ifndef VESSEL_CLI_CLI_H
#define VESSEL_CLI_CLI_H

#include <stdbool.h>

#include "util/error.h"
#include "util/log.h"

#define VESSEL_VERSION "0.1.0"

struct cli_globals {
	const char *prog; /* "vessel-runc" or "vessel oci" in messages */
	const char *root;
	const char *log;
	enum log_format log_format;
	bool debug;
	bool systemd_cgroup;
	char **argv; /* the whole original argv, for the sealed re-exec */
};

/* The program: returns the process exit status. */
int cli_main(int argc, char **argv);
/* The runc surface, `PROG [global flags] COMMAND ...` read from argv[first] on: argv is the
 * whole original argv, which a sealed re-exec runs again as is; returns the exit status. */
int cli_oci_main(const char *prog, int argc, char **argv, int first);
/* The runc-compatible surface: argv[0] is the command name. */
int cli_oci(struct cli_globals *g, int argc, char **argv);
/* Prints "PROG: msg" to stderr and to --log; returns 1. */
int cli_fail(const struct cli_globals *g, const struct error *err);

#endif
