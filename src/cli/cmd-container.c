/* cmd-container: ps, logs, stop, kill, rm. */
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <time.h>

#include "cli/engine.h"
#include "cli/signals.h"
#include "engine/manage.h"
#include "engine/records.h"
#include "util/str.h"

static int bad(const struct cli_engine *e, const char *what)
{
	struct error err;

	error_set(&err, EINVAL, "%s", what);
	return cli_engine_fail(e, &err);
}

static void ago(int64_t t, char *buf, size_t size)
{
	int64_t d = time(NULL) - t;

	if (d < 60)
		snprintf(buf, size, "%lld seconds ago", (long long)d);
	else if (d < 3600)
		snprintf(buf, size, "%lld minutes ago", (long long)(d / 60));
	else if (d < 86400)
		snprintf(buf, size, "%lld hours ago", (long long)(d / 3600));
	else
		snprintf(buf, size, "%lld days ago", (long long)(d / 86400));
}

static void ps_json(const struct engine_record *v, size_t n, bool all)
{
	json_object *arr = json_object_new_array();

	for (size_t i = 0; i < n; i++) {
		enum engine_status st = engine_record_status(&v[i]);
		if (!all && st != ENGINE_RUNNING)
			continue;
		json_object *o = json_object_new_object();
		json_object_object_add(o, "id", json_object_new_string(v[i].id));
		json_object_object_add(o, "name", json_object_new_string(v[i].name));
		json_object_object_add(o, "image", json_object_new_string(v[i].image));
		json_object_object_add(o, "command", json_object_new_string(v[i].command));
		json_object_object_add(o, "created", json_object_new_int64(v[i].created));
		json_object_object_add(
		    o, "state",
		    json_object_new_string(st == ENGINE_RUNNING ? "running" : "exited"));
		json_object_object_add(o, "exit_code", json_object_new_int(v[i].exit_code));
		json_object_array_add(arr, o);
	}
	puts(json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PLAIN));
	json_object_put(arr);
}

int cli_ps(const struct cli_engine *e, int argc, char **argv)
{
	static const struct option opts[] = {{"all", no_argument, NULL, 'a'},
					     {"format", required_argument, NULL, 'f'},
					     {NULL, 0, NULL, 0}};
	struct engine_record *v = NULL;
	struct error err;
	bool all = false, json = false;
	size_t n = 0;
	int c;

	optind = 0;
	while ((c = getopt_long(argc, argv, "+a", opts, NULL)) != -1) {
		if (c == 'a')
			all = true;
		else if (c == 'f' && !strcmp(optarg, "json"))
			json = true;
		else if (c != 'f' || strcmp(optarg, "table"))
			return bad(e, "ps: usage: vessel ps [-a] [--format table|json]");
	}
	if (engine_record_list(e->paths.state, &v, &n, &err) < 0)
		return cli_engine_fail(e, &err);
	if (json) {
		ps_json(v, n, all);
	} else {
		printf("%-12s  %-20s  %-24s  %-16s  %-14s  %s\n", "CONTAINER ID", "IMAGE",
		       "COMMAND", "CREATED", "STATUS", "NAMES");
		for (size_t i = 0; i < n; i++) {
			enum engine_status st = engine_record_status(&v[i]);
			char created[32], status[32];
			if (!all && st != ENGINE_RUNNING)
				continue;
			ago(v[i].created, created, sizeof(created));
			if (st == ENGINE_RUNNING)
				snprintf(status, sizeof(status), "Up");
			else
				snprintf(status, sizeof(status), "Exited (%d)", v[i].exit_code);
			printf("%-12.12s  %-20.20s  %-24.24s  %-16s  %-14s  %s\n", v[i].id,
			       v[i].image, v[i].command, created, status, v[i].name);
		}
	}
	engine_records_free(v, n);
	return 0;
}

int cli_logs(const struct cli_engine *e, int argc, char **argv)
{
	static const struct option opts[] = {{"follow", no_argument, NULL, 'f'},
					     {"tail", required_argument, NULL, 't'},
					     {NULL, 0, NULL, 0}};
	struct error err;
	bool follow = false;
	long tail = -1;
	int c;

	optind = 0;
	while ((c = getopt_long(argc, argv, "+f", opts, NULL)) != -1) {
		if (c == 'f')
			follow = true;
		else if (c != 't' || str_to_long(optarg, 0, 1 << 30, &tail) < 0)
			return bad(e, "logs: usage: vessel logs [-f] [--tail N] CONTAINER");
	}
	if (optind != argc - 1)
		return bad(e, "logs: usage: vessel logs [-f] [--tail N] CONTAINER");
	if (engine_logs(&e->paths, argv[optind], tail, follow, &err) < 0)
		return cli_engine_fail(e, &err);
	return 0;
}

int cli_stop(const struct cli_engine *e, int argc, char **argv)
{
	static const struct option opts[] = {{"time", required_argument, NULL, 't'},
					     {NULL, 0, NULL, 0}};
	struct error err;
	long secs = 10;
	int c, status = 0;

	optind = 0;
	while ((c = getopt_long(argc, argv, "+t:", opts, NULL)) != -1) {
		if (c != 't' || str_to_long(optarg, 0, 3600, &secs) < 0)
			return bad(e, "stop: usage: vessel stop [-t SECS] CONTAINER...");
	}
	if (optind >= argc)
		return bad(e, "stop: usage: vessel stop [-t SECS] CONTAINER...");
	for (int i = optind; i < argc; i++) {
		if (engine_stop(&e->paths, argv[i], (int)secs, &err) < 0)
			status = cli_engine_fail(e, &err);
		else
			puts(argv[i]);
	}
	return status;
}

int cli_kill(const struct cli_engine *e, int argc, char **argv)
{
	static const struct option opts[] = {{"signal", required_argument, NULL, 's'},
					     {NULL, 0, NULL, 0}};
	struct error err;
	int c, sig = SIGKILL, status = 0;

	optind = 0;
	while ((c = getopt_long(argc, argv, "+s:", opts, NULL)) != -1) {
		if (c != 's' || (sig = signal_parse(optarg)) < 0)
			return bad(e, "kill: usage: vessel kill [-s SIGNAL] CONTAINER...");
	}
	if (optind >= argc)
		return bad(e, "kill: usage: vessel kill [-s SIGNAL] CONTAINER...");
	for (int i = optind; i < argc; i++) {
		if (engine_kill(&e->paths, argv[i], sig, &err) < 0)
			status = cli_engine_fail(e, &err);
		else
			puts(argv[i]);
	}
	return status;
}

int cli_rm(const struct cli_engine *e, int argc, char **argv)
{
	static const struct option opts[] = {{"force", no_argument, NULL, 'f'}, {NULL, 0, NULL, 0}};
	struct error err;
	bool force = false;
	int c, status = 0;

	optind = 0;
	while ((c = getopt_long(argc, argv, "+f", opts, NULL)) != -1) {
		if (c != 'f')
			return bad(e, "rm: usage: vessel rm [-f] CONTAINER...");
		force = true;
	}
	if (optind >= argc)
		return bad(e, "rm: usage: vessel rm [-f] CONTAINER...");
	for (int i = optind; i < argc; i++) {
		if (engine_rm(&e->paths, argv[i], force, &err) < 0)
			status = cli_engine_fail(e, &err);
		else
			puts(argv[i]);
	}
	return status;
}

int cli_exec(const struct cli_engine *e, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"interactive", no_argument, NULL, 'i'},   {"tty", no_argument, NULL, 't'},
	    {"env", required_argument, NULL, 'e'},     {"user", required_argument, NULL, 'u'},
	    {"workdir", required_argument, NULL, 'w'}, {NULL, 0, NULL, 0}};
	struct engine_exec_opts o = {0};
	char *env[65] = {NULL};
	size_t n_env = 0;
	struct error err;
	int c, status = 125;

	optind = 0;
	while ((c = getopt_long(argc, argv, "+ite:u:w:", opts, NULL)) != -1) {
		if (c == 'i')
			o.interactive = true;
		else if (c == 'e' && n_env < 64 && strchr(optarg, '='))
			env[n_env++] = optarg;
		else if (c == 'u')
			o.user = optarg;
		else if (c == 'w')
			o.cwd = optarg;
		else if (c == 't')
			o.tty = true;
		else
			return bad(e,
				   "exec: usage: vessel exec [-i] [-e K=V] [-u UID[:GID]] [-w DIR] "
				   "CONTAINER CMD...");
	}
	if (argc - optind < 2)
		return bad(e, "exec: usage: vessel exec [-i] [-e K=V] [-u UID[:GID]] [-w DIR] "
			      "CONTAINER CMD...");
	o.args = argv + optind + 1;
	o.env = env;
	if (engine_exec(&e->paths, argv[optind], &o, &status, &err) < 0)
		return cli_engine_fail(e, &err);
	return status;
}

static void human(int64_t bytes, char *buf, size_t size)
{
	static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	double v = (double)bytes;
	size_t u = 0;

	if (bytes < 0 || bytes == INT64_MAX) {
		snprintf(buf, size, "-");
		return;
	}
	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	snprintf(buf, size, "%.4g%s", v, units[u]);
}

int cli_stats(const struct cli_engine *e, int argc, char **argv)
{
	static const struct option opts[] = {{"no-stream", no_argument, NULL, 'n'},
					     {NULL, 0, NULL, 0}};
	struct engine_stats *v = NULL;
	struct error err;
	bool stream = true;
	size_t n = 0;
	int c;

	optind = 0;
	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		if (c != 'n')
			return bad(e, "stats: usage: vessel stats [--no-stream] [CONTAINER...]");
		stream = false;
	}
	do {
		if (engine_stats(&e->paths, argv + optind, 1000, &v, &n, &err) < 0)
			return cli_engine_fail(e, &err);
		if (stream)
			printf("\033[2J\033[H");
		printf("%-12s  %-20s  %-8s  %-24s  %-8s  %s\n", "CONTAINER ID", "NAME", "CPU %",
		       "MEM USAGE / LIMIT", "MEM %", "PIDS");
		for (size_t i = 0; i < n; i++) {
			char use[16], lim[16], pct[16] = "-";
			human(v[i].mem_usage, use, sizeof(use));
			human(v[i].mem_limit, lim, sizeof(lim));
			if (v[i].mem_limit > 0 && v[i].mem_limit != INT64_MAX)
				snprintf(pct, sizeof(pct), "%.2f%%",
					 100.0 * (double)v[i].mem_usage / (double)v[i].mem_limit);
			printf("%-12.12s  %-20.20s  %-8.2f  %-10s / %-11s  %-8s  %lld\n", v[i].id,
			       v[i].name, v[i].cpu_percent, use, lim, pct, (long long)v[i].pids);
		}
		fflush(stdout);
		engine_stats_free(v, n);
	} while (stream);
	return 0;
}
