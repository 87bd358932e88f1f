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

#include "engine/passwd.h"
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

/* -u USER[:GROUP] by name: looked up in the container's own /etc/passwd and /etc/group,
 * reached through its init's root (/proc/<pid>/root). */
static int exec_user(const char *rt, const char *id, const char *user, char *buf, size_t size,
		     struct engine_user *ret, struct error *err)
{
	cleanup_free char *json = container_state(rt, id, err);
	json_object *o = json ? json_tokener_parse(json) : NULL, *pid = NULL;
	char root[64];

	if (!json)
		return -err->code;
	if (!o || !json_object_object_get_ex(o, "pid", &pid)) {
		json_object_put(o);
		return error_set(err, EIO, "exec %s: no init pid", id);
	}
	snprintf(root, sizeof(root), "/proc/%d/root", json_object_get_int(pid));
	json_object_put(o);
	cleanup_fd int fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return error_errno(err, "exec %s: open %s", id, root);
	int r = engine_user_resolve(fd, user, ret, err);
	if (r < 0)
		return error_wrap(err, "--user");
	snprintf(buf, size, "%u:%u", (unsigned)ret->uid, (unsigned)ret->gid);
	return 0;
}

int engine_exec(const struct engine_paths *p, const char *key, const struct engine_exec_opts *o,
		int *ret_status, struct error *err)
{
	struct engine_user u = {0};
	char user[32];
	struct engine_record r;
	cleanup_free char *rt = str_printf("%s/runtime", p->state);
	int ret = engine_record_find(p->state, key, &r, err);

	if (ret < 0)
		return ret;
	if (engine_record_status(&r) != ENGINE_RUNNING)
		ret = error_set(err, EINVAL, "exec %s: container is not running", key);
	else if (o->user)
		ret = exec_user(rt, r.id, o->user, user, sizeof(user), &u, err);
	if (ret == 0) {
		struct container_exec_opts x = {
		    .root = rt,
		    .id = r.id,
		    .args = o->args,
		    .env = o->env,
		    .cwd = o->cwd,
		    .user = o->user ? user : NULL,
		    .additional_gids = u.gids,
		    .n_additional_gids = u.n_gids,
		    .tty = o->tty,
		    .own_tty = true,
		};
		if (!o->interactive) {
			int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
			if (null >= 0) {
				dup2(null, STDIN_FILENO);
				close(null);
			}
		}
		ret = container_exec(&x, ret_status, err);
	}
	engine_record_clear(&r);
	return ret;
}

static int sample(const char *rt, struct engine_stats *s, int64_t *ret_cpu, struct error *err)
{
	struct cgroup_stats cs;
	int r = container_stats(rt, s->id, &cs, err);

	if (r < 0)
		return r;
	*ret_cpu = cs.cpu_usage_ns;
	s->mem_usage = cs.memory_usage;
	s->mem_limit = cs.memory_limit;
	s->pids = cs.pids_current;
	return 0;
}

static int select_running(const struct engine_paths *p, char *const *keys,
			  struct engine_stats **ret, size_t *ret_n, struct error *err)
{
	struct engine_record *v = NULL;
	size_t n = 0, k = 0;
	int r = engine_record_list(p->state, &v, &n, err);

	if (r < 0)
		return r;
	*ret = calloc(n + 1, sizeof(**ret));
	for (size_t i = 0; *ret && i < n; i++) {
		bool wanted = !keys || !keys[0];
		for (char *const *key = keys; !wanted && key && *key; key++)
			wanted = !strcmp(*key, v[i].name) || !strncmp(v[i].id, *key, strlen(*key));
		if (!wanted || engine_record_status(&v[i]) != ENGINE_RUNNING)
			continue;
		memcpy((*ret)[k].id, v[i].id, sizeof(v[i].id));
		(*ret)[k++].name = TAKE_PTR(v[i].name);
	}
	engine_records_free(v, n);
	*ret_n = k;
	return *ret ? 0 : error_set(err, ENOMEM, "out of memory");
}

int engine_stats(const struct engine_paths *p, char *const *keys, long interval_ms,
		 struct engine_stats **ret, size_t *ret_n, struct error *err)
{
	cleanup_free char *rt = str_printf("%s/runtime", p->state);
	struct engine_stats *v = NULL;
	size_t n = 0;
	struct timespec a, b;
	int r = rt ? select_running(p, keys, &v, &n, err) : error_set(err, ENOMEM, "out of memory");
	cleanup_free int64_t *cpu0 = calloc(n + 1, sizeof(int64_t));

	for (size_t i = 0; r == 0 && cpu0 && i < n; i++)
		sample(rt, &v[i], &cpu0[i], err);
	clock_gettime(CLOCK_MONOTONIC, &a);
	sleep_ms(interval_ms);
	clock_gettime(CLOCK_MONOTONIC, &b);
	double wall = (double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec);
	for (size_t i = 0; r == 0 && cpu0 && i < n; i++) {
		int64_t cpu1 = 0;
		struct error ignored;
		if (sample(rt, &v[i], &cpu1, &ignored) == 0 && cpu0[i] >= 0 && wall > 0)
			v[i].cpu_percent = 100.0 * (double)(cpu1 - cpu0[i]) / wall;
	}
	if (r < 0) {
		engine_stats_free(v, n);
		return r;
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

void engine_stats_free(struct engine_stats *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i].name);
	free(v);
}

int engine_inspect_container(const struct engine_paths *p, const char *key, FILE *out,
			     struct error *err)
{
	struct engine_record r;
	int ret = engine_record_find(p->state, key, &r, err);

	if (ret < 0)
		return ret;
	bool running = engine_record_status(&r) == ENGINE_RUNNING;
	json_object *o = json_object_new_object(), *st = json_object_new_object();
	json_object *cfg = json_object_new_object(), *arr = json_object_new_array();
	json_object_object_add(o, "Id", json_object_new_string(r.id));
	json_object_object_add(o, "Name", json_object_new_string(r.name));
	json_object_object_add(o, "Image", json_object_new_string(r.image));
	json_object_object_add(o, "Created", json_object_new_int64(r.created));
	json_object_object_add(cfg, "Cmd", json_object_new_string(r.command));
	json_object_object_add(o, "Config", cfg);
	json_object_object_add(st, "Status",
			       json_object_new_string(running ? "running" : "exited"));
	json_object_object_add(st, "Running", json_object_new_boolean(running));
	json_object_object_add(st, "ExitCode", json_object_new_int(running ? 0 : r.exit_code));
	json_object_object_add(st, "FinishedAt", json_object_new_int64(r.finished));
	json_object_object_add(o, "State", st);
	json_object_array_add(arr, o);
	fprintf(out, "%s\n",
		json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PRETTY |
							JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(arr);
	engine_record_clear(&r);
	return 0;
}
