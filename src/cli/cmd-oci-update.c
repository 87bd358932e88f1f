/* cmd-oci-update: `update` (change a live container's limits) and `events` (its usage). */
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/oci.h"
#include "util/cleanup.h"
#include "util/fd.h"
#include "util/str.h"
#include "util/units.h"

enum {
	U_MEMORY = 256,
	U_RESERVATION,
	U_SWAP,
	U_PERIOD,
	U_QUOTA,
	U_SHARES,
	U_RT_PERIOD,
	U_RT_RUNTIME,
	U_CPUS,
	U_MEMS,
	U_PIDS,
	U_BLKIO,
	U_RESOURCES,
	U_IGNORED,
	E_STATS,
	E_INTERVAL,
};

static const struct option update_options[] = {
    {"memory", required_argument, NULL, U_MEMORY},
    {"memory-reservation", required_argument, NULL, U_RESERVATION},
    {"memory-swap", required_argument, NULL, U_SWAP},
    {"cpu-period", required_argument, NULL, U_PERIOD},
    {"cpu-quota", required_argument, NULL, U_QUOTA},
    {"cpu-share", required_argument, NULL, U_SHARES},
    {"cpu-rt-period", required_argument, NULL, U_RT_PERIOD},
    {"cpu-rt-runtime", required_argument, NULL, U_RT_RUNTIME},
    {"cpuset-cpus", required_argument, NULL, U_CPUS},
    {"cpuset-mems", required_argument, NULL, U_MEMS},
    {"pids-limit", required_argument, NULL, U_PIDS},
    {"blkio-weight", required_argument, NULL, U_BLKIO},
    {"resources", required_argument, NULL, U_RESOURCES},
    {"r", required_argument, NULL, U_RESOURCES},
    {"kernel-memory", required_argument, NULL, U_IGNORED},
    {"kernel-memory-tcp", required_argument, NULL, U_IGNORED},
    {NULL, 0, NULL, 0},
};

static int number(const char *flag, const char *s, long min, long max, int64_t *ret,
		  struct error *err)
{
	long v;

	if (str_to_long(s, min, max, &v) < 0)
		return error_set(err, EINVAL, "--%s %s: expected a number in [%ld, %ld]", flag, s,
				 min, max);
	*ret = v;
	return 0;
}

static int cpuset(const char *flag, const char *s, char **ret, struct error *err)
{
	if (!*s || strspn(s, "0123456789,-") != strlen(s))
		return error_set(err, EINVAL, "--%s %s: expected a list like 0-2,4", flag, s);
	free(*ret);
	*ret = strdup(s);
	return *ret ? 0 : error_set(err, ENOMEM, "out of memory");
}

static int resources_file(const char *path, struct spec_resources *res, struct error *err)
{
	cleanup_free char *text = NULL;
	size_t len;
	int r = fd_read_file(!strcmp(path, "-") ? "/dev/stdin" : path, 1 << 20, &text, &len, err);

	if (r == 0) {
		spec_resources_clear(res);
		r = spec_parse_resources(text, len, res, err);
	}
	return r < 0 ? error_wrap(err, "--resources %s", path) : 0;
}

static int take(int c, const char *flag, struct spec_resources *res, struct error *err)
{
	switch (c) {
	case U_MEMORY:
		return units_parse_size(optarg, "--memory", &res->memory_limit, err);
	case U_RESERVATION:
		return units_parse_size(optarg, "--memory-reservation", &res->memory_reservation,
					err);
	case U_SWAP:
		return units_parse_size(optarg, "--memory-swap", &res->memory_swap, err);
	case U_PERIOD:
		return number(flag, optarg, 1000, 1000000, &res->cpu_period, err);
	case U_QUOTA:
		return number(flag, optarg, -1, INT32_MAX, &res->cpu_quota, err);
	case U_SHARES:
		return number(flag, optarg, 2, 262144, &res->cpu_shares, err);
	case U_RT_PERIOD:
		return number(flag, optarg, 1, INT32_MAX, &res->cpu_realtime_period, err);
	case U_RT_RUNTIME:
		return number(flag, optarg, 0, INT32_MAX, &res->cpu_realtime_runtime, err);
	case U_CPUS:
		return cpuset(flag, optarg, &res->cpu_cpus, err);
	case U_MEMS:
		return cpuset(flag, optarg, &res->cpu_mems, err);
	case U_PIDS:
		return number(flag, optarg, -1, INT32_MAX, &res->pids_limit, err);
	case U_BLKIO:
		return number(flag, optarg, 10, 1000, &res->blkio_weight, err);
	case U_RESOURCES:
		return resources_file(optarg, res, err);
	case U_IGNORED:
		return 0;
	default:
		return error_set(err, EINVAL, "update: bad flag");
	}
}

int cmd_update(const struct cli_globals *g, int argc, char **argv)
{
	struct spec_resources res = {0};
	struct error err;
	int c, idx = 0, r = 0;

	spec_resources_clear(&res);
	optind = 0;
	while (r == 0 && (c = getopt_long_only(argc, argv, "+", update_options, &idx)) != -1)
		r = take(c, c == '?' ? "?" : update_options[idx].name, &res, &err);
	if (r == 0 && optind != argc - 1)
		r = error_set(&err, EINVAL, "update: expected one container id");
	if (r == 0)
		r = container_update(g->root, argv[optind], &res, &err);
	spec_resources_clear(&res);
	return r < 0 ? cli_fail(g, &err) : 0;
}

static void add_i64(json_object *o, const char *key, int64_t v)
{
	if (v >= 0)
		json_object_object_add(o, key, json_object_new_int64(v));
}

/* runc's event JSON: {"type":"stats","id":ID,"data":{cpu, memory, pids}}. */
static void print_stats(const char *id, const struct cgroup_stats *s)
{
	json_object *o = json_object_new_object(), *data = json_object_new_object();
	json_object *cpu = json_object_new_object(), *cpu_usage = json_object_new_object();
	json_object *mem = json_object_new_object(), *mem_usage = json_object_new_object();
	json_object *pids = json_object_new_object();

	add_i64(cpu_usage, "total", s->cpu_usage_ns);
	json_object_object_add(cpu, "usage", cpu_usage);
	add_i64(mem_usage, "usage", s->memory_usage);
	add_i64(mem_usage, "limit", s->memory_limit);
	add_i64(mem_usage, "max", s->memory_max_usage);
	json_object_object_add(mem, "usage", mem_usage);
	add_i64(mem, "oom_kill", s->oom_kills);
	add_i64(pids, "current", s->pids_current);
	add_i64(pids, "limit", s->pids_limit);
	json_object_object_add(data, "cpu", cpu);
	json_object_object_add(data, "memory", mem);
	json_object_object_add(data, "pids", pids);
	json_object_object_add(o, "type", json_object_new_string("stats"));
	json_object_object_add(o, "id", json_object_new_string(id));
	json_object_object_add(o, "data", data);
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	fflush(stdout);
	json_object_put(o);
}

static const struct option events_options[] = {
    {"stats", no_argument, NULL, E_STATS},
    {"interval", required_argument, NULL, E_INTERVAL},
    {NULL, 0, NULL, 0},
};

/* Seconds from "5", "5s" or "500ms". */
static int interval_ms(const char *s, long *ret)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (end == s || v <= 0 || v > 86400000)
		return -EINVAL;
	if (!strcmp(end, "ms"))
		*ret = v;
	else if (!*end || !strcmp(end, "s"))
		*ret = v * 1000;
	else
		return -EINVAL;
	return 0;
}

/* Streams stats every interval, and an "oom" event when the OOM killer strikes, until the
 * container stops. */
static int stream(const struct cli_globals *g, const char *id, long ms, struct error *err)
{
	int64_t ooms = -1;
	struct cgroup_stats s;

	while (container_stopped(g->root, id, err) == 0) {
		if (container_stats(g->root, id, &s, err) < 0)
			return container_stopped(g->root, id, err) == 1 ? 0 : -err->code;
		if (ooms >= 0 && s.oom_kills > ooms)
			printf("{\"type\":\"oom\",\"id\":\"%s\"}\n", id);
		ooms = s.oom_kills;
		print_stats(id, &s);
		nanosleep(&(struct timespec){.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000},
			  NULL);
	}
	return 0;
}

int cmd_events(const struct cli_globals *g, int argc, char **argv)
{
	struct cgroup_stats s;
	struct error err;
	bool once = false;
	long ms = 5000;
	int c;

	optind = 0;
	while ((c = getopt_long_only(argc, argv, "+", events_options, NULL)) != -1) {
		if (c == E_STATS)
			once = true;
		else if (c != E_INTERVAL || interval_ms(optarg, &ms) < 0)
			return oci_bad_usage(g, "events", "bad flag or value");
	}
	if (optind != argc - 1)
		return oci_bad_usage(g, "events", "expected one container id");
	if (!once)
		return stream(g, argv[optind], ms, &err) < 0 ? cli_fail(g, &err) : 0;
	if (container_stats(g->root, argv[optind], &s, &err) < 0)
		return cli_fail(g, &err);
	print_stats(argv[optind], &s);
	return 0;
}
