/* oci-main: the runc surface's entry, global flags and error printing; apart from cli.c so
 * that vessel-runc (src/runc-main.c) links none of the engine. See cli.h. */
#include "cli/cli.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "util/log.h"

enum {
	OPT_ROOT = 256,
	OPT_LOG,
	OPT_LOG_FORMAT,
	OPT_DEBUG,
	OPT_SYSTEMD_CGROUP,
	OPT_VERSION,
	OPT_HELP,
	OPT_IGNORED
};

static const struct option global_options[] = {
    {"root", required_argument, NULL, OPT_ROOT},
    {"log", required_argument, NULL, OPT_LOG},
    {"log-format", required_argument, NULL, OPT_LOG_FORMAT},
    {"debug", no_argument, NULL, OPT_DEBUG},
    {"systemd-cgroup", no_argument, NULL, OPT_SYSTEMD_CGROUP},
    {"criu", required_argument, NULL, OPT_IGNORED},
    {"rootless", required_argument, NULL, OPT_IGNORED},
    {"version", no_argument, NULL, OPT_VERSION},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0},
};

int cli_fail(const struct cli_globals *g, const struct error *err)
{
	fprintf(stderr, "%s: %s\n", g->prog, err->msg);
	if (g->log)
		log_error("%s", err->msg);
	return 1;
}

static void usage(const char *prog, FILE *f)
{
	fprintf(
	    f,
	    "usage: %s [--root DIR] [--log FILE] [--log-format text|json] [--debug] COMMAND ...\n"
	    "commands: spec create start run exec state kill delete ps list pause resume "
	    "features\n",
	    prog);
}

/* Parses runc's global flags; returns the index of the command, or -1 (exit now). */
static int parse_globals(struct cli_globals *g, int argc, char **argv, int *ret_status)
{
	int c;

	optind = 0;
	opterr = 1;
	while ((c = getopt_long_only(argc, argv, "+", global_options, NULL)) != -1) {
		switch (c) {
		case OPT_ROOT:
			g->root = optarg;
			break;
		case OPT_LOG:
			g->log = optarg;
			break;
		case OPT_LOG_FORMAT:
			if (strcmp(optarg, "text") && strcmp(optarg, "json")) {
				fprintf(stderr, "%s: --log-format: unknown format \"%s\"\n",
					g->prog, optarg);
				*ret_status = 1;
				return -1;
			}
			g->log_format = strcmp(optarg, "json") ? LOG_FORMAT_TEXT : LOG_FORMAT_JSON;
			break;
		case OPT_DEBUG:
			g->debug = true;
			break;
		case OPT_SYSTEMD_CGROUP:
			g->systemd_cgroup = true;
			break;
		case OPT_VERSION:
			printf("%s version %s\nspec: 1.0.2\n", g->prog, VESSEL_VERSION);
			*ret_status = 0;
			return -1;
		case OPT_HELP:
			usage(g->prog, stdout);
			*ret_status = 0;
			return -1;
		case OPT_IGNORED:
			break;
		default:
			usage(g->prog, stderr);
			*ret_status = 1;
			return -1;
		}
	}
	if (optind >= argc) {
		usage(g->prog, stderr);
		*ret_status = 1;
		return -1;
	}
	return optind;
}

int cli_oci_main(const char *prog, int argc, char **argv, int first)
{
	struct cli_globals g = {.prog = prog, .root = "/run/vessel-runc", .argv = argv};
	int status = 0;
	int i = parse_globals(&g, argc - first, argv + first, &status);

	if (i < 0)
		return status;
	if (log_open(g.prog, g.log, g.log_format, g.debug ? LOG_DEBUG : LOG_WARN) < 0) {
		fprintf(stderr, "%s: --log %s: %m\n", g.prog, g.log);
		return 1;
	}
	status = cli_oci(&g, argc - first - i, argv + first + i);
	log_close();
	return status;
}
