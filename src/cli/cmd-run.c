/* cmd-run: `vessel run [flags] IMAGE [CMD...]`. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/engine.h"
#include "engine/run.h"
#include "util/cleanup.h"
#include "util/fd.h"
#include "util/str.h"
#include "util/units.h"

enum {
	R_NAME = 256,
	R_RM,
	R_ENV_FILE,
	R_HOSTNAME,
	R_ENTRYPOINT,
	R_READ_ONLY,
	R_CPUS,
	R_PIDS,
	R_TIMEOUT,
	R_NETWORK,
};

static const struct option run_options[] = {
    {"detach", no_argument, NULL, 'd'},
    {"interactive", no_argument, NULL, 'i'},
    {"tty", no_argument, NULL, 't'},
    {"env", required_argument, NULL, 'e'},
    {"volume", required_argument, NULL, 'v'},
    {"workdir", required_argument, NULL, 'w'},
    {"user", required_argument, NULL, 'u'},
    {"memory", required_argument, NULL, 'm'},
    {"name", required_argument, NULL, R_NAME},
    {"rm", no_argument, NULL, R_RM},
    {"env-file", required_argument, NULL, R_ENV_FILE},
    {"hostname", required_argument, NULL, R_HOSTNAME},
    {"entrypoint", required_argument, NULL, R_ENTRYPOINT},
    {"read-only", no_argument, NULL, R_READ_ONLY},
    {"cpus", required_argument, NULL, R_CPUS},
    {"pids-limit", required_argument, NULL, R_PIDS},
    {"timeout", required_argument, NULL, R_TIMEOUT},
    {"network", required_argument, NULL, R_NETWORK},
    {NULL, 0, NULL, 0},
};

struct run_args {
	struct engine_run_opts o;
	char **env, **volumes; /* owned arrays */
	size_t n_env, n_volumes;
	char **texts; /* owned: the env files' text, which env points into */
	size_t n_texts;
};

static int push(char ***v, size_t *n, char *s)
{
	char **nv = realloc(*v, (*n + 2) * sizeof(char *));

	if (!nv)
		return -ENOMEM;
	*v = nv;
	nv[(*n)++] = s;
	nv[*n] = NULL;
	return 0;
}

/* --env-file: K=V lines; blank lines and # comments skipped. The text is kept in a->texts. */
static int env_file(struct run_args *a, const char *path, struct error *err)
{
	char *text = NULL;
	size_t len;

	if (fd_read_file(path, 1 << 20, &text, &len, err) < 0)
		return error_wrap(err, "--env-file");
	if (push(&a->texts, &a->n_texts, text) < 0) {
		free(text);
		return error_set(err, ENOMEM, "out of memory");
	}
	for (char *save = NULL, *l = strtok_r(text, "\n", &save); l;
	     l = strtok_r(NULL, "\n", &save)) {
		if (*l == '#' || !*l)
			continue;
		if (!strchr(l, '='))
			return error_set(err, EINVAL,
					 "--env-file %s: line \"%.40s\" is not KEY=VALUE", path, l);
		if (push(&a->env, &a->n_env, l) < 0)
			return error_set(err, ENOMEM, "out of memory");
	}
	return 0;
}

static int take(struct run_args *a, int c, struct error *err)
{
	struct engine_run_flags *f = &a->o.flags;

	switch (c) {
	case 'd':
		a->o.detach = true;
		return 0;
	case 'i':
		a->o.interactive = true;
		return 0;
	case 't':
		f->tty = true;
		return 0;
	case 'e':
		if (!strchr(optarg, '=') || optarg[0] == '=')
			return error_set(err, EINVAL, "-e %s: expected KEY=VALUE", optarg);
		return push(&a->env, &a->n_env, optarg);
	case 'v':
		return push(&a->volumes, &a->n_volumes, optarg);
	case 'w':
		if (optarg[0] != '/')
			return error_set(err, EINVAL, "-w %s: must be an absolute path", optarg);
		f->workdir = optarg;
		return 0;
	case 'u':
		f->user = optarg;
		return 0;
	case 'm':
		return units_parse_size(optarg, "--memory", &f->memory, err);
	case R_NAME:
		a->o.name = optarg;
		return 0;
	case R_RM:
		a->o.rm = true;
		return 0;
	case R_ENV_FILE:
		return env_file(a, optarg, err);
	case R_HOSTNAME:
		f->hostname = optarg;
		return 0;
	case R_ENTRYPOINT:
		f->entrypoint = optarg;
		return 0;
	case R_READ_ONLY:
		f->read_only = true;
		return 0;
	case R_CPUS:
		return units_parse_cpus(optarg, "--cpus", &f->millicpus, err);
	case R_PIDS: {
		long v;
		if (str_to_long(optarg, 1, INT32_MAX, &v) < 0)
			return error_set(err, EINVAL, "--pids-limit %s: expected a positive number",
					 optarg);
		f->pids_limit = v;
		return 0;
	}
	case R_TIMEOUT:
		return units_parse_duration(optarg, "--timeout", &a->o.timeout_ms, err);
	case R_NETWORK:
		if (!strcmp(optarg, "none"))
			f->network = ENGINE_NETWORK_NONE;
		else if (!strcmp(optarg, "host"))
			f->network = ENGINE_NETWORK_HOST;
		else
			return error_set(err, EINVAL, "--network %s: expected none or host",
					 optarg);
		return 0;
	default:
		return error_set(err, EINVAL, "run: unknown flag (see vessel run --help)");
	}
}

int cli_run(const struct cli_engine *e, int argc, char **argv)
{
	struct run_args a = {.o.flags = {.millicpus = -1, .memory = -1, .pids_limit = -1}};
	struct error err;
	int c, r = 0, status = 125;

	a.o.argv = e->argv;
	optind = 0;
	while (r >= 0 && (c = getopt_long(argc, argv, "+dite:v:w:u:m:", run_options, NULL)) != -1)
		r = take(&a, c, &err);
	if (r == -ENOMEM)
		r = error_set(&err, ENOMEM, "out of memory");
	if (r >= 0 && optind >= argc)
		r = error_set(&err, EINVAL, "run: missing IMAGE");
	if (r >= 0) {
		a.o.image = argv[optind];
		a.o.flags.args = argv + optind + 1;
		a.o.flags.env = a.env;
		a.o.flags.volumes = a.volumes;
		r = engine_run(&e->paths, &a.o, &status, &err);
	}
	free(a.env);
	free(a.volumes);
	for (size_t i = 0; i < a.n_texts; i++)
		free(a.texts[i]);
	free(a.texts);
	if (r < 0 && cli_engine_fail(e, &err) && status != 126 && status != 127)
		return 125;
	return status;
}
