/* engine: what the Docker-like commands share (private to cli/). */
#ifndef VESSEL_CLI_ENGINE_H
#define VESSEL_CLI_ENGINE_H

#include "engine/run.h"
#include "util/error.h"

struct cli_engine {
	struct engine_paths paths;
	char **argv; /* the whole original argv */
};

#define CLI_ENGINE_STATE_DEFAULT "/run/vessel"

/* [--root DIR] [--state DIR] at the front of argv (getopt: argv[0] is the program), over
 * VESSEL_ROOT and VESSEL_STATE, over the defaults. Returns the index of the command word (argc
 * when there is none), or -1 on an unknown flag (getopt has said which). */
int cli_engine_paths(struct engine_paths *paths, int argc, char **argv);

/* Prints "vessel: msg" and returns 125, Docker's status for the engine's own errors. */
int cli_engine_fail(const struct cli_engine *e, const struct error *err);

/* `vessel ...` (argv[0] is the program). */
int cli_engine_main(int argc, char **argv);
int cli_run(const struct cli_engine *e, int argc, char **argv);
int cli_pull(const struct cli_engine *e, int argc, char **argv);
int cli_images(const struct cli_engine *e, int argc, char **argv);
int cli_import(const struct cli_engine *e, int argc, char **argv);
int cli_save(const struct cli_engine *e, int argc, char **argv);
int cli_rmi(const struct cli_engine *e, int argc, char **argv);
int cli_inspect(const struct cli_engine *e, int argc, char **argv);
int cli_ps(const struct cli_engine *e, int argc, char **argv);
int cli_logs(const struct cli_engine *e, int argc, char **argv);
int cli_stop(const struct cli_engine *e, int argc, char **argv);
int cli_kill(const struct cli_engine *e, int argc, char **argv);
int cli_rm(const struct cli_engine *e, int argc, char **argv);
int cli_exec(const struct cli_engine *e, int argc, char **argv);
int cli_stats(const struct cli_engine *e, int argc, char **argv);

#endif
