/* cmd-oci: the runc-compatible commands. Each parses its flags and makes one runtime call. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/oci.h"
#include "cli/signals.h"
#include "runtime/container.h"
#include "runtime/exe-seal.h"
#include "util/cleanup.h"
#include "util/fd.h"
#include "util/str.h"

enum {
	OPT_BUNDLE = 256,
	OPT_PID_FILE,
	OPT_CONSOLE_SOCKET,
	OPT_PRESERVE_FDS,
	OPT_DETACH,
	OPT_FORCE,
	OPT_ALL,
	OPT_FORMAT,
	OPT_QUIET,
	OPT_PROCESS,
	OPT_TTY,
	OPT_CWD,
	OPT_ENV,
	OPT_USER,
	OPT_GIDS,
	OPT_NNP,
	OPT_ROOTLESS,
	OPT_IGNORED,
	OPT_IGNORED_ARG,
};

/* Flags of every command; each command accepts what it understands. */
static const struct option options[] = {
    {"bundle", required_argument, NULL, OPT_BUNDLE},
    {"b", required_argument, NULL, OPT_BUNDLE},
    {"pid-file", required_argument, NULL, OPT_PID_FILE},
    {"console-socket", required_argument, NULL, OPT_CONSOLE_SOCKET},
    {"preserve-fds", required_argument, NULL, OPT_PRESERVE_FDS},
    {"detach", no_argument, NULL, OPT_DETACH},
    {"d", no_argument, NULL, OPT_DETACH},
    {"force", no_argument, NULL, OPT_FORCE},
    {"f", no_argument, NULL, OPT_FORCE},
    {"all", no_argument, NULL, OPT_ALL},
    {"a", no_argument, NULL, OPT_ALL},
    {"format", required_argument, NULL, OPT_FORMAT},
    {"quiet", no_argument, NULL, OPT_QUIET},
    {"q", no_argument, NULL, OPT_QUIET},
    {"process", required_argument, NULL, OPT_PROCESS},
    {"p", required_argument, NULL, OPT_PROCESS},
    {"tty", no_argument, NULL, OPT_TTY},
    {"t", no_argument, NULL, OPT_TTY},
    {"cwd", required_argument, NULL, OPT_CWD},
    {"env", required_argument, NULL, OPT_ENV},
    {"e", required_argument, NULL, OPT_ENV},
    {"user", required_argument, NULL, OPT_USER},
    {"u", required_argument, NULL, OPT_USER},
    {"additional-gids", required_argument, NULL, OPT_GIDS},
    {"g", required_argument, NULL, OPT_GIDS},
    {"no-new-privs", no_argument, NULL, OPT_NNP},
    {"rootless", no_argument, NULL, OPT_ROOTLESS},
    {"no-pivot", no_argument, NULL, OPT_IGNORED},
    {"no-new-keyring", no_argument, NULL, OPT_IGNORED},
    {"no-subreaper", no_argument, NULL, OPT_IGNORED},
    {"ignore-paused", no_argument, NULL, OPT_IGNORED},
    {"notify-socket", required_argument, NULL, OPT_IGNORED_ARG},
    {"process-label", required_argument, NULL, OPT_IGNORED_ARG},
    {"apparmor", required_argument, NULL, OPT_IGNORED_ARG},
    {"cgroup", required_argument, NULL, OPT_IGNORED_ARG},
    {NULL, 0, NULL, 0},
};

static void args_free(struct args *a)
{
	free(a->env);
	free(a->gids);
}

int oci_bad_usage(const struct cli_globals *g, const char *cmd, const char *what)
{
	struct error err;

	error_set(&err, EINVAL, "%s: %s", cmd, what);
	return cli_fail(g, &err);
}

static int add_env(struct args *a, char *kv)
{
	char **v = realloc(a->env, (a->n_env + 2) * sizeof(char *));

	if (!v)
		return -ENOMEM;
	a->env = v;
	a->env[a->n_env++] = kv;
	a->env[a->n_env] = NULL;
	return 0;
}

static int add_gid(struct args *a, const char *s)
{
	long v;
	gid_t *n;

	if (str_to_long(s, 0, UINT32_MAX - 1, &v) < 0)
		return -EINVAL;
	n = realloc(a->gids, (a->n_gids + 1) * sizeof(gid_t));
	if (!n)
		return -ENOMEM;
	a->gids = n;
	a->gids[a->n_gids++] = (gid_t)v;
	return 0;
}

static int take_option(struct args *a, int c)
{
	long n;

	switch (c) {
	case OPT_BUNDLE:
		a->c.bundle = optarg;
		return 0;
	case OPT_PID_FILE:
		a->c.pid_file = a->x.pid_file = optarg;
		return 0;
	case OPT_CONSOLE_SOCKET:
		a->c.console_socket = a->x.console_socket = optarg;
		return 0;
	case OPT_PRESERVE_FDS:
		if (str_to_long(optarg, 0, 1 << 20, &n) < 0)
			return -EINVAL;
		a->c.preserve_fds = a->x.preserve_fds = (int)n;
		return 0;
	case OPT_DETACH:
		a->c.detach = a->x.detach = true;
		return 0;
	case OPT_FORCE:
		a->force = true;
		return 0;
	case OPT_ALL:
		a->all = true;
		return 0;
	case OPT_FORMAT:
		a->format = optarg;
		return 0;
	case OPT_QUIET:
		a->quiet = true;
		return 0;
	case OPT_PROCESS:
		a->x.process_file = optarg;
		return 0;
	case OPT_TTY:
		a->x.tty = true;
		return 0;
	case OPT_CWD:
		a->x.cwd = optarg;
		return 0;
	case OPT_ENV:
		return add_env(a, optarg);
	case OPT_USER:
		a->x.user = optarg;
		return 0;
	case OPT_GIDS:
		return add_gid(a, optarg);
	case OPT_NNP:
		a->x.no_new_privs = true;
		return 0;
	case OPT_ROOTLESS:
		a->rootless = true;
		return 0;
	case OPT_IGNORED:
	case OPT_IGNORED_ARG:
		return 0;
	default:
		return -EINVAL;
	}
}

/* Parses flags (stopping at the first positional argument) into *a. */
static int parse(const struct cli_globals *g, int argc, char **argv, struct args *a)
{
	int c;

	optind = 0;
	opterr = 1;
	while ((c = getopt_long_only(argc, argv, "+", options, NULL)) != -1) {
		if (take_option(a, c) < 0)
			return oci_bad_usage(g, argv[0], "bad flag or value");
	}
	a->pos = argv + optind;
	a->n_pos = argc - optind;
	a->c.root = a->x.root = g->root;
	a->c.systemd_cgroup = g->systemd_cgroup;
	a->c.reexec_argv = g->argv;
	if (a->n_pos > 0)
		a->c.id = a->x.id = a->pos[0];
	return 0;
}

int oci_need_id(const struct cli_globals *g, const char *cmd, const struct args *a, int max)
{
	if (a->n_pos < 1)
		return oci_bad_usage(g, cmd, "missing container id");
	if (a->n_pos > max)
		return oci_bad_usage(g, cmd, "too many arguments");
	return 0;
}

static int seal(const struct cli_globals *g)
{
	struct error err;

	if (exe_seal_reexec(g->argv, &err) < 0)
		return cli_fail(g, &err);
	return 0;
}

static int cmd_create(const struct cli_globals *g, struct args *a)
{
	struct error err;

	if (oci_need_id(g, "create", a, 1))
		return 1;
	return container_create(&a->c, &err) < 0 ? cli_fail(g, &err) : 0;
}

static int cmd_run(const struct cli_globals *g, struct args *a)
{
	struct error err;
	int status = 0;

	if (oci_need_id(g, "run", a, 1))
		return 1;
	if (container_run(&a->c, &status, &err) < 0)
		return cli_fail(g, &err);
	return status;
}

static int cmd_exec(const struct cli_globals *g, struct args *a)
{
	struct error err;
	int status = 0;

	if (a->n_pos < 1)
		return oci_bad_usage(g, "exec", "missing container id");
	if (!a->x.process_file && a->n_pos < 2)
		return oci_bad_usage(g, "exec", "missing command (or --process FILE)");
	if (seal(g))
		return 1;
	a->x.args = a->pos + 1;
	a->x.env = a->env;
	a->x.additional_gids = a->gids;
	a->x.n_additional_gids = a->n_gids;
	if (container_exec(&a->x, &status, &err) < 0)
		return cli_fail(g, &err);
	return status;
}

static int cmd_start(const struct cli_globals *g, struct args *a)
{
	struct error err;

	if (oci_need_id(g, "start", a, 1))
		return 1;
	return container_start(g->root, a->c.id, &err) < 0 ? cli_fail(g, &err) : 0;
}

int oci_print_json(const char *text)
{
	json_object *o = json_tokener_parse(text);

	if (!o)
		return 1;
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
						   JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return 0;
}

static int cmd_state(const struct cli_globals *g, struct args *a)
{
	struct error err;

	if (oci_need_id(g, "state", a, 1))
		return 1;
	cleanup_free char *json = container_state(g->root, a->c.id, &err);
	return json ? oci_print_json(json) : cli_fail(g, &err);
}

static int cmd_kill(const struct cli_globals *g, struct args *a)
{
	struct error err;
	int sig = SIGTERM;

	if (oci_need_id(g, "kill", a, 2))
		return 1;
	if (a->n_pos == 2 && (sig = signal_parse(a->pos[1])) < 0) {
		error_set(&err, EINVAL, "kill %s: unknown signal \"%s\"", a->c.id, a->pos[1]);
		return cli_fail(g, &err);
	}
	if (container_kill(g->root, a->c.id, sig, a->all ? CONTAINER_KILL_ALL : 0, &err) < 0)
		return cli_fail(g, &err);
	return 0;
}

static int cmd_delete(const struct cli_globals *g, struct args *a)
{
	struct error err;

	if (oci_need_id(g, "delete", a, 1))
		return 1;
	return container_delete(g->root, a->c.id, a->force, &err) < 0 ? cli_fail(g, &err) : 0;
}

static int cmd_pause(const struct cli_globals *g, struct args *a, bool pause)
{
	struct error err;

	if (oci_need_id(g, pause ? "pause" : "resume", a, 1))
		return 1;
	return container_pause(g->root, a->c.id, pause, &err) < 0 ? cli_fail(g, &err) : 0;
}

static int cmd_pause_on(const struct cli_globals *g, struct args *a)
{
	return cmd_pause(g, a, true);
}

static int cmd_pause_off(const struct cli_globals *g, struct args *a)
{
	return cmd_pause(g, a, false);
}

static const struct {
	const char *name;
	cmd_fn fn;
} commands[] = {
    {"create", cmd_create},	{"start", cmd_start},
    {"run", cmd_run},		{"exec", cmd_exec},
    {"state", cmd_state},	{"kill", cmd_kill},
    {"delete", cmd_delete},	{"pause", cmd_pause_on},
    {"resume", cmd_pause_off},	{"ps", cmd_ps},
    {"list", cmd_list},		{"spec", cmd_spec},
    {"features", cmd_features},
};

int cli_oci(struct cli_globals *g, int argc, char **argv)
{
	struct args a = {.format = "table"};
	int status = 1;

	if (!strcmp(argv[0], "update"))
		return cmd_update(g, argc, argv);
	if (!strcmp(argv[0], "events"))
		return cmd_events(g, argc, argv);

	for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
		if (strcmp(argv[0], commands[i].name))
			continue;
		if (parse(g, argc, argv, &a) == 0)
			status = commands[i].fn(g, &a);
		args_free(&a);
		return status;
	}
	struct error err;
	error_set(&err, EINVAL, "unknown command \"%s\"", argv[0]);
	return cli_fail(g, &err);
}
