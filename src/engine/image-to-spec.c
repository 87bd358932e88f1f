/* image-to-spec: see image-to-spec.h */
#include "engine/image-to-spec.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "engine/passwd.h"
#include "runtime/spec.h"
#include "util/cleanup.h"

#define CPU_PERIOD 100000

static json_object *get(json_object *o, const char *key)
{
	json_object *v = NULL;

	json_object_object_get_ex(o, key, &v);
	return v;
}

/* args: the entrypoint (flag or image) followed by the command (flag or image). */
static int set_args(json_object *proc, const struct engine_image_config *img,
		    const struct engine_run_flags *f, struct error *err)
{
	json_object *a = json_object_new_array();

	if (f->entrypoint) {
		if (*f->entrypoint)
			json_object_array_add(a, json_object_new_string(f->entrypoint));
	} else {
		for (size_t i = 0; img->entrypoint && img->entrypoint[i]; i++)
			json_object_array_add(a, json_object_new_string(img->entrypoint[i]));
	}
	char *const *cmd = f->args && f->args[0] ? f->args : (f->entrypoint ? NULL : img->cmd);
	for (size_t i = 0; cmd && cmd[i]; i++)
		json_object_array_add(a, json_object_new_string(cmd[i]));
	json_object_object_add(proc, "args", a);
	if (json_object_array_length(a) == 0)
		return error_set(err, EINVAL, "no command: the image has no Entrypoint or Cmd");
	return 0;
}

/* env: PATH, the image's, then -e; a later KEY replaces an earlier one in place. */
static void set_env(json_object *proc, const struct engine_image_config *img,
		    const struct engine_run_flags *f)
{
	static const char *const path[] = {
	    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", NULL};
	static const char *const term[] = {"TERM=xterm", NULL};
	const char *const *lists[] = {path, (const char *const *)img->env, f->tty ? term : NULL,
				      (const char *const *)f->env};
	json_object *out = json_object_new_array();

	for (size_t l = 0; l < ARRAY_SIZE(lists); l++) {
		for (size_t i = 0; lists[l] && lists[l][i]; i++) {
			const char *kv = lists[l][i], *eq = strchr(kv, '=');
			if (!eq || eq == kv)
				continue;
			size_t j, n = json_object_array_length(out), klen = (size_t)(eq - kv) + 1;
			for (j = 0; j < n; j++) {
				const char *old =
				    json_object_get_string(json_object_array_get_idx(out, j));
				if (!strncmp(old, kv, klen))
					break;
			}
			if (j < n)
				json_object_array_put_idx(out, j, json_object_new_string(kv));
			else
				json_object_array_add(out, json_object_new_string(kv));
		}
	}
	json_object_object_add(proc, "env", out);
}

static int set_user(json_object *proc, const struct engine_image_config *img,
		    const struct engine_run_flags *f, int rootfs_fd, struct error *err)
{
	struct engine_user u;
	json_object *user = json_object_new_object();
	json_object *gids = json_object_new_array();
	int r = engine_user_resolve(rootfs_fd, f->user ? f->user : img->user, &u, err);

	if (r < 0) {
		json_object_put(user);
		json_object_put(gids);
		return error_wrap(err, "--user");
	}
	json_object_object_add(user, "uid", json_object_new_int64(u.uid));
	json_object_object_add(user, "gid", json_object_new_int64(u.gid));
	for (size_t i = 0; i < u.n_gids; i++)
		json_object_array_add(gids, json_object_new_int64(u.gids[i]));
	json_object_object_add(user, "additionalGids", gids);
	json_object_object_add(proc, "user", user);
	return 0;
}

/* -v SRC:DST[:ro|rw]: a bind mount of an absolute host path. */
static int add_volume(json_object *mounts, const char *v, struct error *err)
{
	cleanup_free char *copy = strdup(v);
	char *dst = copy ? strchr(copy, ':') : NULL;
	char *mode = dst ? strchr(dst + 1, ':') : NULL;

	if (!dst)
		return error_set(err, EINVAL, "-v %s: expected SRC:DST[:ro]", v);
	*dst++ = '\0';
	if (mode)
		*mode++ = '\0';
	if (copy[0] != '/' || dst[0] != '/')
		return error_set(err, EINVAL, "-v %s: SRC and DST must be absolute paths", v);
	if (mode && strcmp(mode, "ro") && strcmp(mode, "rw"))
		return error_set(err, EINVAL, "-v %s: mode must be ro or rw", v);
	json_object *m = json_object_new_object();
	json_object *opts = json_object_new_array();
	json_object_array_add(opts, json_object_new_string("rbind"));
	json_object_array_add(opts, json_object_new_string("rprivate"));
	if (mode && !strcmp(mode, "ro"))
		json_object_array_add(opts, json_object_new_string("ro"));
	json_object_object_add(m, "destination", json_object_new_string(dst));
	json_object_object_add(m, "type", json_object_new_string("bind"));
	json_object_object_add(m, "source", json_object_new_string(copy));
	json_object_object_add(m, "options", opts);
	json_object_array_add(mounts, m);
	return 0;
}

static json_object *child(json_object *o, const char *key)
{
	json_object *v = get(o, key);

	if (!v) {
		v = json_object_new_object();
		json_object_object_add(o, key, v);
	}
	return v;
}

static void set_resources(json_object *lx, const struct engine_run_flags *f)
{
	json_object *res = child(lx, "resources");

	if (f->millicpus > 0) {
		json_object *cpu = child(res, "cpu");
		json_object_object_add(cpu, "quota", json_object_new_int64(f->millicpus * 100));
		json_object_object_add(cpu, "period", json_object_new_int64(CPU_PERIOD));
	}
	if (f->memory > 0)
		json_object_object_add(child(res, "memory"), "limit",
				       json_object_new_int64(f->memory));
	if (f->pids_limit > 0)
		json_object_object_add(child(res, "pids"), "limit",
				       json_object_new_int64(f->pids_limit));
}

/* --network host: no network namespace (the host's interfaces). */
static void set_network(json_object *lx, enum engine_network net)
{
	json_object *ns = get(lx, "namespaces");

	if (net != ENGINE_NETWORK_HOST || !ns)
		return;
	for (size_t i = 0; i < json_object_array_length(ns); i++) {
		json_object *type = get(json_object_array_get_idx(ns, i), "type");
		if (type && !strcmp(json_object_get_string(type), "network")) {
			json_object_array_del_idx(ns, i, 1);
			return;
		}
	}
}

static int customise(json_object *o, const struct engine_image_config *img,
		     const struct engine_run_flags *f, int rootfs_fd, const char *rootfs,
		     const char *cgroup, struct error *err)
{
	json_object *proc = get(o, "process"), *root = get(o, "root"), *lx = get(o, "linux");
	json_object *mounts = get(o, "mounts");
	int r;

	if (!proc || !root || !lx || !mounts)
		return error_set(err, EINVAL, "internal error: incomplete default spec");
	json_object_object_add(proc, "terminal", json_object_new_boolean(f->tty));
	json_object_object_add(proc, "cwd",
			       json_object_new_string(f->workdir		      ? f->workdir
						      : img->workdir && *img->workdir ? img->workdir
										      : "/"));
	set_env(proc, img, f);
	r = set_args(proc, img, f, err);
	if (r == 0)
		r = set_user(proc, img, f, rootfs_fd, err);
	for (size_t i = 0; r == 0 && f->volumes && f->volumes[i]; i++)
		r = add_volume(mounts, f->volumes[i], err);
	if (r < 0)
		return r;
	json_object_object_add(root, "path", json_object_new_string(rootfs));
	json_object_object_add(root, "readonly", json_object_new_boolean(f->read_only));
	if (f->hostname)
		json_object_object_add(o, "hostname", json_object_new_string(f->hostname));
	json_object_object_add(lx, "cgroupsPath", json_object_new_string(cgroup));
	set_resources(lx, f);
	set_network(lx, f->network);
	return 0;
}

char *engine_spec_json(const struct engine_image_config *img, const struct engine_run_flags *f,
		       int rootfs_fd, const char *rootfs, const char *cgroup, struct error *err)
{
	cleanup_free char *base = spec_default_json(false, err);
	json_object *o = base ? json_tokener_parse(base) : NULL;
	char *ret = NULL;

	if (!o) {
		if (base)
			error_set(err, EINVAL, "internal error: default spec does not parse");
		return NULL;
	}
	if (customise(o, img, f, rootfs_fd, rootfs, cgroup, err) == 0) {
		ret = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
		if (!ret)
			error_set(err, ENOMEM, "out of memory");
	}
	json_object_put(o);
	return ret;
}
