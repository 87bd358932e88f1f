/* manage: see manage.h */
#include "engine/manage.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "engine/records.h"
#include "runtime/container.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/str.h"

static void sleep_ms(long ms)
{
	nanosleep(&(struct timespec){.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000}, NULL);
}

static int signal_container(const struct engine_paths *p, const struct engine_record *r, int sig,
			    struct error *err)
{
	cleanup_free char *rt = str_printf("%s/runtime", p->state);

	if (!rt)
		return error_set(err, ENOMEM, "out of memory");
	return container_kill(rt, r->id, sig, 0, err);
}

/* Waits up to ms for the monitor to record the exit. */
static bool wait_exited(const struct engine_paths *p, const char *id, long ms)
{
	for (long t = 0; t <= ms; t += 20) {
		struct engine_record r;
		struct error ignored;
		if (engine_record_find(p->state, id, &r, &ignored) < 0)
			return true; /* --rm: gone */
		enum engine_status st = engine_record_status(&r);
		engine_record_clear(&r);
		if (st == ENGINE_EXITED)
			return true;
		sleep_ms(20);
	}
	return false;
}

int engine_stop(const struct engine_paths *p, const char *key, int timeout_s, struct error *err)
{
	struct engine_record r;
	int ret = engine_record_find(p->state, key, &r, err);

	if (ret < 0)
		return ret;
	if (engine_record_status(&r) == ENGINE_RUNNING) {
		struct error ignored;
		signal_container(p, &r, SIGTERM, &ignored);
		if (!wait_exited(p, r.id, timeout_s * 1000L)) {
			signal_container(p, &r, SIGKILL, &ignored);
			if (!wait_exited(p, r.id, 5000))
				ret = error_set(err, ETIMEDOUT, "stop %s: still running", key);
		}
	}
	engine_record_clear(&r);
	return ret;
}

int engine_kill(const struct engine_paths *p, const char *key, int sig, struct error *err)
{
	struct engine_record r;
	int ret = engine_record_find(p->state, key, &r, err);

	if (ret < 0)
		return ret;
	if (engine_record_status(&r) != ENGINE_RUNNING)
		ret = error_set(err, EINVAL, "kill %s: container is not running", key);
	else
		ret = signal_container(p, &r, sig, err);
	engine_record_clear(&r);
	return ret;
}

static void remove_container(const struct engine_paths *p, const struct engine_record *r)
{
	cleanup_free char *dir = str_printf("%s/containers/%s", p->store, r->id);
	cleanup_free char *state = str_printf("%s/containers/%s", p->state, r->id);

	if (dir)
		fs_remove_tree(AT_FDCWD, dir);
	if (state)
		fs_remove_tree(AT_FDCWD, state);
	engine_name_release(p->state, r->name);
}

int engine_rm(const struct engine_paths *p, const char *key, bool force, struct error *err)
{
	struct engine_record r;
	int ret = engine_record_find(p->state, key, &r, err);

	if (ret < 0)
		return ret;
	if (engine_record_status(&r) == ENGINE_RUNNING) {
		if (!force)
			ret = error_set(err, EBUSY,
					"rm %s: container is running (stop it, or rm -f)", key);
		else
			ret = engine_stop(p, r.id, 0, err);
	}
	if (ret == 0)
		remove_container(p, &r);
	engine_record_clear(&r);
	return ret;
}

static void print_line(const char *line)
{
	json_object *o = json_tokener_parse(line), *stream, *text;

	if (o && json_object_object_get_ex(o, "log", &text) &&
	    json_object_object_get_ex(o, "stream", &stream)) {
		FILE *f = strcmp(json_object_get_string(stream), "stderr") ? stdout : stderr;
		fputs(json_object_get_string(text), f);
	}
	json_object_put(o);
}

/* Prints lines from f; with tail >= 0 only the last tail of them (one pass, a ring). */
static void print_log(FILE *f, long tail)
{
	char *line = NULL, **ring = NULL;
	size_t cap = 0;
	long n = 0;

	if (tail >= 0 && !(ring = calloc((size_t)tail + 1, sizeof(char *))))
		return;
	while (getline(&line, &cap, f) > 0) {
		if (!ring) {
			print_line(line);
			continue;
		}
		free(ring[n % (tail + 1)]);
		ring[n++ % (tail + 1)] = strdup(line);
	}
	for (long i = n > tail ? n - tail : 0; ring && i < n; i++)
		print_line(ring[i % (tail + 1)]);
	for (long i = 0; ring && i <= tail; i++)
		free(ring[i]);
	free(ring);
	free(line);
	fflush(stdout);
	fflush(stderr);
}

int engine_logs(const struct engine_paths *p, const char *key, long tail, bool follow,
		struct error *err)
{
	struct engine_record r;
	int ret = engine_record_find(p->state, key, &r, err);

	if (ret < 0)
		return ret;
	cleanup_free char *path = str_printf("%s/containers/%s/container.log", p->store, r.id);
	cleanup_file FILE *f = path ? fopen(path, "re") : NULL;
	if (!f) {
		ret = error_set(err, ENOENT, "logs %s: no log (it ran in the foreground)", key);
	} else {
		print_log(f, tail);
		while (follow && !wait_exited(p, r.id, 0)) {
			sleep_ms(100);
			clearerr(f);
			print_log(f, -1);
		}
		print_log(f, -1);
	}
	engine_record_clear(&r);
	return ret;
}
