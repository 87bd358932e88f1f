/* state: see state.h */
#include "runtime/state.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fd.h"
#include "util/fs.h"

#define STATE_FILE  "state.json"
#define OCI_VERSION "1.0.2"

static const char *const status_names[STATE_STATUS_MAX] = {
    [STATE_CREATING] = "creating", [STATE_CREATED] = "created", [STATE_RUNNING] = "running",
    [STATE_PAUSED] = "paused",	   [STATE_STOPPED] = "stopped",
};

const char *state_status_name(enum state_status st)
{
	return st < STATE_STATUS_MAX ? status_names[st] : "unknown";
}

int state_check_id(const char *id, struct error *err)
{
	size_t n = strlen(id);

	if (n == 0 || n > 1024 || !strcmp(id, ".") || !strcmp(id, ".."))
		return error_set(err, EINVAL, "invalid container id \"%.64s\"", id);
	for (const char *p = id; *p; p++) {
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.+-",
			    *p))
			return error_set(err, EINVAL, "invalid container id \"%.64s\"", id);
	}
	return 0;
}

void state_now(char *buf, size_t size)
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	size_t n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, size - n, ".%09ldZ", ts.tv_nsec);
}

int state_save(int dirfd, const struct state *s, bool replace, struct error *err)
{
	json_object *o = json_object_new_object();
	json_object *ann = json_tokener_parse(s->annotations ? s->annotations : "{}");

	json_object_object_add(o, "id", json_object_new_string(s->id));
	json_object_object_add(o, "pid", json_object_new_int(s->pid));
	json_object_object_add(o, "start_time", json_object_new_uint64(s->start_time));
	json_object_object_add(o, "bundle", json_object_new_string(s->bundle));
	json_object_object_add(o, "rootfs", json_object_new_string(s->rootfs));
	json_object_object_add(o, "created", json_object_new_string(s->created));
	json_object_object_add(o, "cgroup_path", json_object_new_string(s->cgroup_path));
	json_object_object_add(o, "owner", json_object_new_int64(s->owner));
	json_object_object_add(o, "annotations", ann ? ann : json_object_new_object());
	const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	int r = replace ? fd_write_file_atomic(dirfd, STATE_FILE, text, strlen(text), err)
			: fd_write_file_new(dirfd, STATE_FILE, text, strlen(text), err);
	json_object_put(o);
	return r;
}

static char *dup_field(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return strdup(json_object_get_string(v));
}

static int parse_state(const char *text, struct state *s, struct error *err)
{
	json_object *o = json_tokener_parse(text);
	json_object *v;

	if (!o || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return error_set(err, EINVAL, "state.json: not a JSON object");
	}
	s->id = dup_field(o, "id");
	s->bundle = dup_field(o, "bundle");
	s->rootfs = dup_field(o, "rootfs");
	s->created = dup_field(o, "created");
	s->cgroup_path = dup_field(o, "cgroup_path");
	if (json_object_object_get_ex(o, "pid", &v))
		s->pid = json_object_get_int(v);
	if (json_object_object_get_ex(o, "start_time", &v))
		s->start_time = json_object_get_uint64(v);
	if (json_object_object_get_ex(o, "owner", &v))
		s->owner = (uid_t)json_object_get_int64(v);
	if (json_object_object_get_ex(o, "annotations", &v))
		s->annotations = strdup(json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	if (!s->id || !s->bundle || !s->rootfs || !s->created || !s->cgroup_path ||
	    !s->annotations || s->pid < 0) {
		state_clear(s);
		return error_set(err, EINVAL, "state.json: incomplete record");
	}
	return 0;
}

int state_load(const char *root, const char *id, struct state *ret, struct error *err)
{
	cleanup_free char *path = NULL;
	cleanup_free char *text = NULL;
	size_t len;
	int r;

	*ret = (struct state){0};
	r = state_check_id(id, err);
	if (r < 0)
		return r;
	if (asprintf(&path, "%s/%s/%s", root, id, STATE_FILE) < 0)
		return error_set(err, ENOMEM, "out of memory");
	r = fd_read_file(path, 1 << 20, &text, &len, err);
	if (r == -ENOENT)
		return error_set(err, ENOENT, "container %s does not exist", id);
	if (r < 0)
		return r;
	r = parse_state(text, ret, err);
	if (r < 0)
		return error_wrap(err, "container %s", id);
	return 0;
}

void state_clear(struct state *s)
{
	free(s->id);
	free(s->bundle);
	free(s->rootfs);
	free(s->created);
	free(s->cgroup_path);
	free(s->annotations);
	*s = (struct state){0};
}

enum state_status state_status(const char *root, const struct state *s)
{
	char path[4096];
	struct stat sb;

	if (s->pid == 0) /* a create in progress, or one that crashed */
		return STATE_CREATING;
	if (s->pid < 0 || state_pid_start_time(s->pid) != s->start_time)
		return STATE_STOPPED;
	snprintf(path, sizeof(path), "%s/%s/exec.fifo", root, s->id);
	if (stat(path, &sb) == 0)
		return STATE_CREATED;
	snprintf(path, sizeof(path), "%s/%s/paused", root, s->id);
	if (stat(path, &sb) == 0)
		return STATE_PAUSED;
	return STATE_RUNNING;
}

char *state_oci_json(const struct state *s, enum state_status st)
{
	json_object *o = json_object_new_object();
	json_object *ann = json_tokener_parse(s->annotations ? s->annotations : "{}");
	char *ret;

	json_object_object_add(o, "ociVersion", json_object_new_string(OCI_VERSION));
	json_object_object_add(o, "id", json_object_new_string(s->id));
	json_object_object_add(o, "status", json_object_new_string(state_status_name(st)));
	json_object_object_add(o, "pid", json_object_new_int(st == STATE_STOPPED ? 0 : s->pid));
	json_object_object_add(o, "bundle", json_object_new_string(s->bundle));
	json_object_object_add(o, "annotations", ann ? ann : json_object_new_object());
	ret = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	return ret;
}

int state_remove(const char *root, const char *id, struct error *err)
{
	cleanup_fd int rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r;

	if (rootfd < 0)
		return error_errno(err, "open %s", root);
	r = fs_remove_tree(rootfd, id);
	if (r < 0)
		return error_set(err, -r, "remove %s/%s: %s", root, id, strerror(-r));
	return 0;
}

char *state_annotations_json(const struct spec *spec)
{
	json_object *o = json_object_new_object();
	char *ret;

	for (size_t i = 0; i < spec->n_annotations; i++)
		json_object_object_add(o, spec->annotations[i].key,
				       json_object_new_string(spec->annotations[i].value));
	ret = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	return ret;
}
