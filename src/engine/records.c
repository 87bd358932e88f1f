/* records: see records.h */
#include "engine/records.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/state.h"
#include "util/cleanup.h"
#include "util/fd.h"
#include "util/fs.h"
#include "util/str.h"

static int check_name(const char *name, struct error *err)
{
	size_t n = strlen(name);

	if (n == 0 || n > 128 ||
	    !strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", name[0]) ||
	    strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != n)
		return error_set(err, EINVAL, "--name \"%.40s\": use letters, digits, _ . -", name);
	return 0;
}

int engine_name_claim(const char *state, const char *name, const char *id, struct error *err)
{
	cleanup_free char *dir = str_printf("%s/names", state);
	int r = check_name(name, err);

	if (r < 0)
		return r;
	if (!dir || (r = fs_mkdir_p(dir, 0700)) < 0)
		return error_set(err, dir ? -r : ENOMEM, "mkdir %s/names", state);
	cleanup_fd int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return error_errno(err, "open %s", dir);
	if (symlinkat(id, dfd, name) < 0) {
		if (errno == EEXIST)
			return error_set(err, EEXIST, "name %s is already in use", name);
		return error_errno(err, "claim name %s", name);
	}
	return 0;
}

void engine_name_release(const char *state, const char *name)
{
	cleanup_free char *path = str_printf("%s/names/%s", state, name);

	if (path)
		unlink(path);
}

int engine_record_save(const char *state, const struct engine_record *r, struct error *err)
{
	cleanup_free char *dir = str_printf("%s/containers/%s", state, r->id);
	json_object *o = json_object_new_object();

	json_object_object_add(o, "id", json_object_new_string(r->id));
	json_object_object_add(o, "name", json_object_new_string(r->name));
	json_object_object_add(o, "image", json_object_new_string(r->image));
	json_object_object_add(o, "command", json_object_new_string(r->command));
	json_object_object_add(o, "created", json_object_new_int64(r->created));
	json_object_object_add(o, "finished", json_object_new_int64(r->finished));
	json_object_object_add(o, "running", json_object_new_boolean(r->status == ENGINE_RUNNING));
	json_object_object_add(o, "exit_code", json_object_new_int(r->exit_code));
	json_object_object_add(o, "monitor", json_object_new_int(r->monitor));
	json_object_object_add(o, "monitor_start", json_object_new_uint64(r->monitor_start));
	json_object_object_add(o, "rm", json_object_new_boolean(r->rm));
	const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	int ret = -ENOMEM;
	if (dir && fs_mkdir_p(dir, 0700) == 0) {
		cleanup_fd int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		ret = dfd < 0 ? error_errno(err, "open %s", dir)
			      : fd_write_file_atomic(dfd, "record.json", text, strlen(text), err);
	} else {
		ret = error_set(err, EIO, "record %s: cannot make its directory", r->id);
	}
	json_object_put(o);
	return ret;
}

static char *str_field(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
		   ? strdup(json_object_get_string(v))
		   : NULL;
}

static int64_t int_field(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_int64(v) : 0;
}

static int load_id(const char *state, const char *id, struct engine_record *ret, struct error *err)
{
	cleanup_free char *path = str_printf("%s/containers/%s/record.json", state, id);
	cleanup_free char *text = NULL;
	size_t len;

	*ret = (struct engine_record){0};
	if (!path || fd_read_file(path, 1 << 20, &text, &len, err) < 0)
		return error_set(err, ENOENT, "no such container: %s", id);
	json_object *o = json_tokener_parse(text);
	ret->name = str_field(o, "name");
	ret->image = str_field(o, "image");
	ret->command = str_field(o, "command");
	ret->created = int_field(o, "created");
	ret->finished = int_field(o, "finished");
	ret->status = int_field(o, "running") ? ENGINE_RUNNING : ENGINE_EXITED;
	ret->exit_code = (int)int_field(o, "exit_code");
	ret->monitor = (pid_t)int_field(o, "monitor");
	ret->monitor_start = (uint64_t)int_field(o, "monitor_start");
	ret->rm = int_field(o, "rm") != 0;
	json_object_put(o);
	snprintf(ret->id, sizeof(ret->id), "%s", id);
	if (!ret->name || !ret->image || !ret->command) {
		engine_record_clear(ret);
		return error_set(err, EINVAL, "container %s: damaged record", id);
	}
	return 0;
}

/* A name, a whole id, or a prefix of exactly one id. */
static int resolve(const char *state, const char *key, char id[ENGINE_ID_LEN + 1],
		   struct error *err)
{
	char link[PATH_MAX];
	cleanup_free char *names = str_printf("%s/names/%s", state, key);
	cleanup_free char *dir = str_printf("%s/containers", state);
	ssize_t n = names && !strchr(key, '/') ? readlink(names, link, sizeof(link) - 1) : -1;
	size_t klen = strlen(key), found = 0;

	if (n == ENGINE_ID_LEN) {
		memcpy(id, link, ENGINE_ID_LEN);
		id[ENGINE_ID_LEN] = '\0';
		return 0;
	}
	cleanup_dir DIR *d = dir && klen >= 4 ? opendir(dir) : NULL;
	for (struct dirent *e; d && (e = readdir(d));) {
		if (strlen(e->d_name) == ENGINE_ID_LEN && !strncmp(e->d_name, key, klen)) {
			snprintf(id, ENGINE_ID_LEN + 1, "%s", e->d_name);
			found++;
		}
	}
	if (found == 1)
		return 0;
	return error_set(err, found ? EINVAL : ENOENT, "%s container: %s",
			 found ? "ambiguous" : "no such", key);
}

int engine_record_find(const char *state, const char *key, struct engine_record *ret,
		       struct error *err)
{
	char id[ENGINE_ID_LEN + 1];
	int r = resolve(state, key, id, err);

	return r < 0 ? r : load_id(state, id, ret, err);
}

static int newest_first(const void *a, const void *b)
{
	const struct engine_record *x = a, *y = b;

	return (y->created > x->created) - (y->created < x->created);
}

int engine_record_list(const char *state, struct engine_record **ret, size_t *ret_n,
		       struct error *err)
{
	cleanup_free char *dir = str_printf("%s/containers", state);
	cleanup_dir DIR *d = dir ? opendir(dir) : NULL;
	struct engine_record *v = NULL;
	size_t n = 0;

	for (struct dirent *e; d && (e = readdir(d));) {
		struct engine_record rec;
		struct error ignored;
		if (strlen(e->d_name) != ENGINE_ID_LEN ||
		    load_id(state, e->d_name, &rec, &ignored) < 0)
			continue;
		struct engine_record *nv = realloc(v, (n + 1) * sizeof(*v));
		if (!nv) {
			engine_record_clear(&rec);
			engine_records_free(v, n);
			return error_set(err, ENOMEM, "out of memory");
		}
		v = nv;
		v[n++] = rec;
	}
	if (n)
		qsort(v, n, sizeof(*v), newest_first);
	*ret = v;
	*ret_n = n;
	return 0;
}

void engine_record_clear(struct engine_record *r)
{
	free(r->name);
	free(r->image);
	free(r->command);
	*r = (struct engine_record){0};
}

void engine_records_free(struct engine_record *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		engine_record_clear(&v[i]);
	free(v);
}

enum engine_status engine_record_status(const struct engine_record *r)
{
	if (r->status == ENGINE_RUNNING &&
	    (r->monitor <= 0 || state_pid_start_time(r->monitor) != r->monitor_start))
		return ENGINE_EXITED;
	return r->status;
}
