/* spec: see spec.h. Getters check one JSON value each and name its path when they reject it.
 *
 * Conventions: val_*() check a value already looked up; opt_*() look a key up and return 1
 * (present, stored), 0 (absent or null: nothing stored) or -errno; jr_need() turns 0 into
 * "is required". Arrays are stored as they fill, so spec_free() releases half-built specs.
 */
#include "runtime/spec.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/json-read.h"
#include "util/fd.h"
#include "util/log.h"

#define SPEC_MAX_BYTES (4u << 20)
#define SPEC_MAX_DEPTH 64

static const char *const ns_names[SPEC_NS_MAX] = {
    [SPEC_NS_PID] = "pid",	 [SPEC_NS_NETWORK] = "network", [SPEC_NS_MOUNT] = "mount",
    [SPEC_NS_IPC] = "ipc",	 [SPEC_NS_UTS] = "uts",		[SPEC_NS_USER] = "user",
    [SPEC_NS_CGROUP] = "cgroup", [SPEC_NS_TIME] = "time",
};

static const char *const hook_names[SPEC_HOOK_MAX] = {
    [SPEC_HOOK_PRESTART] = "prestart",
    [SPEC_HOOK_CREATE_RUNTIME] = "createRuntime",
    [SPEC_HOOK_CREATE_CONTAINER] = "createContainer",
    [SPEC_HOOK_START_CONTAINER] = "startContainer",
    [SPEC_HOOK_POSTSTART] = "poststart",
    [SPEC_HOOK_POSTSTOP] = "poststop",
};

/* Capability numbers 0..40 (CAP_CHOWN..CAP_CHECKPOINT_RESTORE), for parsing only. */
static const char *const cap_names[] = {
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
};

static const struct {
	const char *name;
	int resource;
} rlimits[] = {
    {"RLIMIT_CPU", RLIMIT_CPU},		  {"RLIMIT_FSIZE", RLIMIT_FSIZE},
    {"RLIMIT_DATA", RLIMIT_DATA},	  {"RLIMIT_STACK", RLIMIT_STACK},
    {"RLIMIT_CORE", RLIMIT_CORE},	  {"RLIMIT_RSS", RLIMIT_RSS},
    {"RLIMIT_NPROC", RLIMIT_NPROC},	  {"RLIMIT_NOFILE", RLIMIT_NOFILE},
    {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},	  {"RLIMIT_AS", RLIMIT_AS},
    {"RLIMIT_LOCKS", RLIMIT_LOCKS},	  {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
    {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE}, {"RLIMIT_NICE", RLIMIT_NICE},
    {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},	  {"RLIMIT_RTTIME", RLIMIT_RTTIME},
};

static const struct {
	const char *name;
	unsigned long prop;
} propagations[] = {
    {"private", MS_PRIVATE},	   {"rprivate", MS_PRIVATE | MS_REC},
    {"shared", MS_SHARED},	   {"rshared", MS_SHARED | MS_REC},
    {"slave", MS_SLAVE},	   {"rslave", MS_SLAVE | MS_REC},
    {"unbindable", MS_UNBINDABLE}, {"runbindable", MS_UNBINDABLE | MS_REC},
};

static const struct mount_opt {
	const char *name;
	unsigned long set, clear;
	unsigned int vflags;
} mount_opts[] = {
    {"ro", MS_RDONLY, 0, 0},
    {"rw", 0, MS_RDONLY, 0},
    {"nosuid", MS_NOSUID, 0, 0},
    {"suid", 0, MS_NOSUID, 0},
    {"nodev", MS_NODEV, 0, 0},
    {"dev", 0, MS_NODEV, 0},
    {"noexec", MS_NOEXEC, 0, 0},
    {"exec", 0, MS_NOEXEC, 0},
    {"sync", MS_SYNCHRONOUS, 0, 0},
    {"async", 0, MS_SYNCHRONOUS, 0},
    {"remount", MS_REMOUNT, 0, 0},
    {"mand", MS_MANDLOCK, 0, 0},
    {"nomand", 0, MS_MANDLOCK, 0},
    {"atime", 0, MS_NOATIME, 0},
    {"noatime", MS_NOATIME, 0, 0},
    {"diratime", 0, MS_NODIRATIME, 0},
    {"nodiratime", MS_NODIRATIME, 0, 0},
    {"relatime", MS_RELATIME, 0, 0},
    {"norelatime", 0, MS_RELATIME, 0},
    {"strictatime", MS_STRICTATIME, 0, 0},
    {"nostrictatime", 0, MS_STRICTATIME, 0},
    {"bind", MS_BIND, 0, SPEC_MOUNT_BIND},
    {"rbind", MS_BIND | MS_REC, 0, SPEC_MOUNT_BIND | SPEC_MOUNT_RECURSIVE},
    {"tmpcopyup", 0, 0, SPEC_MOUNT_TMPCOPYUP},
};

/* ---- errors and paths ---- */

static int opt_u32(const struct jreader *c, json_object *o, const char *base, const char *key,
		   uint32_t *ret)
{
	int64_t x;
	int r = jr_opt_i64(c, o, base, key, 0, UINT32_MAX, &x);
	if (r > 0)
		*ret = (uint32_t)x;
	return r;
}

static int check_abs(const struct jreader *c, const char *path, const char *s)
{
	if (s[0] != '/')
		return jr_fail(c, path, "must be an absolute path");
	return 0;
}

static int check_env(const struct jreader *c, const char *path, const char *s)
{
	if (s[0] == '=' || !strchr(s, '='))
		return jr_fail(c, path, "must be KEY=VALUE");
	return 0;
}

/* ---- containers ---- */

/* An array of strings into a NULL-terminated vector (owned by *ret even on failure). */
static int val_strv(const struct jreader *c, json_object *v, const char *path,
		    int (*check)(const struct jreader *, const char *, const char *), char ***ret)
{
	struct jpath p;
	size_t n;

	if (!json_object_is_type(v, json_type_array))
		return jr_fail(c, path, "must be an array of strings");
	n = json_object_array_length(v);
	strv_free(*ret);
	*ret = calloc(n + 1, sizeof(char *));
	if (!*ret)
		return jr_oom(c);
	for (size_t i = 0; i < n; i++) {
		char **out = &(*ret)[i];
		int r = jr_str(c, json_object_array_get_idx(v, i), jidx(&p, path, i), out);
		if (r == 0 && check)
			r = check(c, p.s, *out);
		if (r < 0)
			return r;
	}
	return 0;
}

/* An optional array of strings; absent gives an empty vector. */
static int opt_strv(const struct jreader *c, json_object *o, const char *base, const char *key,
		    int (*check)(const struct jreader *, const char *, const char *), char ***ret)
{
	struct jpath p;
	json_object *v = jr_member(o, base, key, &p);
	if (v)
		return val_strv(c, v, p.s, check, ret);
	*ret = calloc(1, sizeof(char *));
	return *ret ? 0 : jr_oom(c);
}

/* An optional array of objects, each parsed by fn into a zeroed element of `size` bytes.
 * *ret and *ret_n are set as elements are started, so the caller frees half-built arrays. */
static int opt_objs(const struct jreader *c, json_object *o, const char *base, const char *key,
		    size_t size,
		    int (*fn)(const struct jreader *, json_object *, const char *, void *),
		    void **ret, size_t *ret_n)
{
	struct jpath p, e;
	json_object *v = jr_member(o, base, key, &p);
	size_t n;

	if (!v)
		return 0;
	if (!json_object_is_type(v, json_type_array))
		return jr_fail(c, p.s, "must be an array");
	n = json_object_array_length(v);
	if (n == 0)
		return 1;
	char *arr = calloc(n, size);
	if (!arr)
		return jr_oom(c);
	*ret = arr;
	for (size_t i = 0; i < n; i++) {
		json_object *x = json_object_array_get_idx(v, i);
		jidx(&e, p.s, i);
		if (!json_object_is_type(x, json_type_object))
			return jr_fail(c, e.s, "must be an object");
		*ret_n = i + 1;
		int r = fn(c, x, e.s, arr + i * size);
		if (r < 0)
			return r;
	}
	return 1;
}

/* An optional object of strings. file_keys: keys name files in one directory. */
static int opt_kv(const struct jreader *c, json_object *o, const char *base, const char *key,
		  bool file_keys, struct spec_kv **ret, size_t *ret_n)
{
	struct jpath p, k;
	json_object *v = NULL;
	int r = jr_opt_typed(c, o, base, key, json_type_object, &v);

	if (r <= 0 || json_object_object_length(v) == 0)
		return r;
	*ret = calloc((size_t)json_object_object_length(v), sizeof(**ret));
	if (!*ret)
		return jr_oom(c);
	jkey(&p, base, key);
	json_object_object_foreach (v, name, val) {
		struct spec_kv *kv = &(*ret)[(*ret_n)++];
		jkey(&k, p.s, name);
		if (file_keys && (!name[0] || name[0] == '.' || strchr(name, '/')))
			return jr_fail(c, k.s, "not a file name");
		kv->key = strdup(name);
		if (!kv->key)
			return jr_oom(c);
		r = jr_str(c, val, k.s, &kv->value);
		if (r < 0)
			return r;
	}
	return 1;
}

static int lookup(const char *const *names, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (names[i] && strcmp(names[i], s) == 0)
			return (int)i;
	return -1;
}

static int prop_lookup(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(propagations); i++)
		if (strcmp(propagations[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* ---- process ---- */

static int parse_user(const struct jreader *c, json_object *o, const char *base,
		      struct spec_user *u)
{
	struct jpath p, e;
	json_object *v = NULL;
	int64_t x;
	int r;

	if ((r = opt_u32(c, o, base, "uid", &u->uid)) < 0 ||
	    (r = opt_u32(c, o, base, "gid", &u->gid)) < 0)
		return r;
	if ((r = jr_opt_i64(c, o, base, "umask", 0, 0777, &x)) < 0)
		return r;
	u->has_umask = r > 0;
	u->umask = r > 0 ? (mode_t)x : 0;
	if ((r = jr_opt_typed(c, o, base, "additionalGids", json_type_array, &v)) <= 0)
		return r;
	size_t n = json_object_array_length(v);
	u->additional_gids = calloc(n ? n : 1, sizeof(gid_t));
	if (!u->additional_gids)
		return jr_oom(c);
	jkey(&p, base, "additionalGids");
	for (size_t i = 0; i < n; i++) {
		r = jr_i64(c, json_object_array_get_idx(v, i), jidx(&e, p.s, i), 0, UINT32_MAX, &x);
		if (r < 0)
			return r;
		u->additional_gids[u->n_additional_gids++] = (gid_t)x;
	}
	return 0;
}

static int parse_caps(const struct jreader *c, json_object *o, const char *base,
		      struct spec_caps *caps)
{
	static const char *const sets[] = {"bounding", "effective", "inheritable", "permitted",
					   "ambient"};
	uint64_t *dst[] = {&caps->bounding, &caps->effective, &caps->inheritable, &caps->permitted,
			   &caps->ambient};
	struct jpath p, e;

	for (size_t s = 0; s < ARRAY_SIZE(sets); s++) {
		json_object *v = NULL;
		int r = jr_opt_typed(c, o, base, sets[s], json_type_array, &v);
		if (r < 0)
			return r;
		jkey(&p, base, sets[s]);
		for (size_t i = 0; r > 0 && i < json_object_array_length(v); i++) {
			const char *name = NULL;
			int cap;
			r = jr_cstr(c, json_object_array_get_idx(v, i), jidx(&e, p.s, i), &name);
			if (r < 0)
				return r;
			cap = lookup(cap_names, ARRAY_SIZE(cap_names), name);
			if (cap < 0)
				log_debug("%s: unknown capability \"%s\" ignored", e.s, name);
			else
				*dst[s] |= UINT64_C(1) << cap;
			r = 1;
		}
	}
	return 0;
}

static int parse_rlimit(const struct jreader *c, json_object *o, const char *path, void *out)
{
	struct spec_rlimit *rl = out;
	struct jpath p;
	const char *type = NULL;
	int r;

	if ((r = jr_need(c, jr_opt_cstr(c, o, path, "type", &type), path, "type")) < 0)
		return r;
	size_t i = 0;
	while (i < ARRAY_SIZE(rlimits) && strcmp(rlimits[i].name, type) != 0)
		i++;
	if (i == ARRAY_SIZE(rlimits))
		return jr_fail(c, jkey(&p, path, "type"), "unknown rlimit \"%s\"", type);
	rl->resource = rlimits[i].resource;
	if ((r = jr_need(c, jr_opt_u64(c, o, path, "soft", UINT64_MAX, &rl->soft), path, "soft")) <
		0 ||
	    (r = jr_need(c, jr_opt_u64(c, o, path, "hard", UINT64_MAX, &rl->hard), path, "hard")) <
		0)
		return r;
	if (rl->soft > rl->hard)
		return jr_fail(c, jkey(&p, path, "soft"), "greater than hard limit");
	return 0;
}

static int parse_rlimits(const struct jreader *c, json_object *o, const char *base,
			 struct spec_process *p)
{
	struct jpath jp, e, t;
	void *arr = NULL;
	int r =
	    opt_objs(c, o, base, "rlimits", sizeof(*p->rlimits), parse_rlimit, &arr, &p->n_rlimits);

	p->rlimits = arr;
	if (r < 0)
		return r;
	jkey(&jp, base, "rlimits");
	for (size_t i = 1; i < p->n_rlimits; i++)
		for (size_t j = 0; j < i; j++)
			if (p->rlimits[i].resource == p->rlimits[j].resource)
				return jr_fail(c, jkey(&t, jidx(&e, jp.s, i), "type"),
					       "duplicate rlimit (also in [%zu])", j);
	return 0;
}

static int parse_process_security(const struct jreader *c, json_object *o, const char *base,
				  struct spec_process *p)
{
	struct jpath jp;
	json_object *v = NULL;
	int64_t x;
	int r;

	if ((r = jr_opt_typed(c, o, base, "capabilities", json_type_object, &v)) < 0)
		return r;
	p->has_caps = r > 0;
	if (r > 0 && (r = parse_caps(c, v, jkey(&jp, base, "capabilities"), &p->caps)) < 0)
		return r;
	if ((r = parse_rlimits(c, o, base, p)) < 0 ||
	    (r = jr_opt_bool(c, o, base, "noNewPrivileges", &p->no_new_privileges)) < 0)
		return r;
	if ((r = jr_opt_i64(c, o, base, "oomScoreAdj", -1000, 1000, &x)) < 0)
		return r;
	p->has_oom_score_adj = r > 0;
	p->oom_score_adj = r > 0 ? (int)x : 0;
	if ((r = jr_opt_str(c, o, base, "apparmorProfile", &p->apparmor_profile)) < 0 ||
	    (r = jr_opt_str(c, o, base, "selinuxLabel", &p->selinux_label)) < 0)
		return r;
	return 0;
}

static int parse_process(const struct jreader *c, json_object *o, const char *base,
			 struct spec_process *p)
{
	struct jpath jp;
	json_object *v = NULL;
	uint32_t h = 0, w = 0;
	int r;

	if ((r = jr_opt_bool(c, o, base, "terminal", &p->terminal)) < 0 ||
	    (r = jr_opt_typed(c, o, base, "consoleSize", json_type_object, &v)) < 0)
		return r;
	jkey(&jp, base, "consoleSize");
	if (r > 0 && ((r = opt_u32(c, v, jp.s, "height", &h)) < 0 ||
		      (r = opt_u32(c, v, jp.s, "width", &w)) < 0))
		return r;
	p->console_height = h;
	p->console_width = w;
	if ((r = jr_opt_typed(c, o, base, "user", json_type_object, &v)) < 0)
		return r;
	if (r > 0 && (r = parse_user(c, v, jkey(&jp, base, "user"), &p->user)) < 0)
		return r;
	v = jr_member(o, base, "args", &jp);
	if (!v || !json_object_is_type(v, json_type_array) || json_object_array_length(v) == 0)
		return jr_fail(c, jp.s, "must be a non-empty array of strings");
	if ((r = val_strv(c, v, jp.s, NULL, &p->args)) < 0 ||
	    (r = opt_strv(c, o, base, "env", check_env, &p->env)) < 0 ||
	    (r = jr_need(c, jr_opt_str(c, o, base, "cwd", &p->cwd), base, "cwd")) < 0 ||
	    (r = check_abs(c, jkey(&jp, base, "cwd"), p->cwd)) < 0)
		return r;
	return parse_process_security(c, o, base, p);
}

/* ---- mounts and hooks ---- */

static int mount_options(const struct jreader *c, struct spec_mount *m, char **opts)
{
	size_t len = 1;

	for (char **o = opts; *o; o++)
		len += strlen(*o) + 1;
	m->data = calloc(len, 1);
	if (!m->data)
		return jr_oom(c);
	for (char **o = opts; *o; o++) {
		size_t i = 0;
		while (i < ARRAY_SIZE(mount_opts) && strcmp(mount_opts[i].name, *o) != 0)
			i++;
		int prop = prop_lookup(*o);
		if (i < ARRAY_SIZE(mount_opts)) {
			const struct mount_opt *mo = &mount_opts[i];
			m->flags = (m->flags & ~mo->clear) | mo->set;
			m->clear_flags = (m->clear_flags & ~mo->set) | mo->clear;
			m->vflags |= mo->vflags;
		} else if (prop >= 0) {
			m->propagation = propagations[prop].prop;
		} else {
			if (m->data[0])
				strcat(m->data, ",");
			strcat(m->data, *o);
		}
	}
	return 0;
}

static int parse_mount(const struct jreader *c, json_object *o, const char *path, void *out)
{
	struct spec_mount *m = out;
	cleanup_strv char **opts = NULL;
	struct jpath p;
	int r;

	if ((r = jr_need(c, jr_opt_str(c, o, path, "destination", &m->destination), path,
			 "destination")) < 0 ||
	    (r = check_abs(c, jkey(&p, path, "destination"), m->destination)) < 0 ||
	    (r = jr_opt_str(c, o, path, "type", &m->type)) < 0 ||
	    (r = jr_opt_str(c, o, path, "source", &m->source)) < 0 ||
	    (r = opt_strv(c, o, path, "options", NULL, &opts)) < 0)
		return r;
	if (!m->type)
		m->type = strdup("");
	if (!m->source)
		m->source = strdup("");
	if (!m->type || !m->source)
		return jr_oom(c);
	if ((r = mount_options(c, m, opts)) < 0)
		return r;
	if (strcmp(m->type, "bind") == 0) {
		m->vflags |= SPEC_MOUNT_BIND;
		m->flags |= MS_BIND;
	}
	return 0;
}

static int parse_hook(const struct jreader *c, json_object *o, const char *path, void *out)
{
	struct spec_hook *h = out;
	struct jpath p;
	int64_t t = 0;
	int r;

	if ((r = jr_need(c, jr_opt_str(c, o, path, "path", &h->path), path, "path")) < 0 ||
	    (r = check_abs(c, jkey(&p, path, "path"), h->path)) < 0 ||
	    (r = opt_strv(c, o, path, "args", NULL, &h->args)) < 0 ||
	    (r = opt_strv(c, o, path, "env", check_env, &h->env)) < 0 ||
	    (r = jr_opt_i64(c, o, path, "timeout", 1, INT32_MAX, &t)) < 0)
		return r;
	h->timeout = (int)t;
	return 0;
}

static int parse_hooks(const struct jreader *c, json_object *o, const char *base, struct spec *s)
{
	for (size_t k = 0; k < SPEC_HOOK_MAX; k++) {
		void *arr = NULL;
		int r = opt_objs(c, o, base, hook_names[k], sizeof(struct spec_hook), parse_hook,
				 &arr, &s->hooks[k].n);
		s->hooks[k].v = arr;
		if (r < 0)
			return r;
	}
	return 0;
}

/* ---- linux ---- */

static int parse_namespaces(const struct jreader *c, json_object *o, const char *base,
			    struct spec *s)
{
	struct jpath p, e, t;
	json_object *v = NULL;
	int r = jr_opt_typed(c, o, base, "namespaces", json_type_array, &v);

	if (r <= 0)
		return r;
	jkey(&p, base, "namespaces");
	for (size_t i = 0; i < json_object_array_length(v); i++) {
		json_object *x = json_object_array_get_idx(v, i);
		const char *type = NULL;
		jidx(&e, p.s, i);
		if (!json_object_is_type(x, json_type_object))
			return jr_fail(c, e.s, "must be an object");
		if ((r = jr_need(c, jr_opt_cstr(c, x, e.s, "type", &type), e.s, "type")) < 0)
			return r;
		int ns = lookup(ns_names, SPEC_NS_MAX, type);
		if (ns < 0)
			return jr_fail(c, jkey(&t, e.s, "type"), "unknown namespace \"%s\"", type);
		if (s->namespaces[ns].present)
			return jr_fail(c, jkey(&t, e.s, "type"), "duplicate namespace \"%s\"",
				       type);
		s->namespaces[ns].present = true;
		if ((r = jr_opt_str(c, x, e.s, "path", &s->namespaces[ns].path)) < 0 ||
		    (r > 0 &&
		     (r = check_abs(c, jkey(&t, e.s, "path"), s->namespaces[ns].path)) < 0))
			return r;
	}
	return 0;
}

static int parse_idmap(const struct jreader *c, json_object *o, const char *path, void *out)
{
	struct spec_id_map *m = out;
	int r;

	if ((r = jr_need(c, opt_u32(c, o, path, "containerID", &m->container_id), path,
			 "containerID")) < 0 ||
	    (r = jr_need(c, opt_u32(c, o, path, "hostID", &m->host_id), path, "hostID")) < 0 ||
	    (r = jr_need(c, opt_u32(c, o, path, "size", &m->size), path, "size")) < 0)
		return r;
	return 0;
}

static int parse_device(const struct jreader *c, json_object *o, const char *path, void *out)
{
	struct spec_device *d = out;
	struct jpath p;
	const char *type = NULL;
	int64_t mode = 0;
	int r, rmaj, rmin;

	if ((r = jr_need(c, jr_opt_str(c, o, path, "path", &d->path), path, "path")) < 0 ||
	    (r = check_abs(c, jkey(&p, path, "path"), d->path)) < 0 ||
	    (r = jr_need(c, jr_opt_cstr(c, o, path, "type", &type), path, "type")) < 0)
		return r;
	if (strlen(type) != 1 || !strchr("cbup", type[0]))
		return jr_fail(c, jkey(&p, path, "type"), "must be one of c, b, u, p");
	d->type = type[0];
	if ((rmaj = jr_opt_i64(c, o, path, "major", 0, UINT32_MAX, &d->major)) < 0 ||
	    (rmin = jr_opt_i64(c, o, path, "minor", 0, UINT32_MAX, &d->minor)) < 0)
		return rmaj < 0 ? rmaj : rmin;
	if (d->type != 'p' && (!rmaj || !rmin))
		return jr_fail(c, jkey(&p, path, rmaj ? "minor" : "major"),
			       "is required for type %c", d->type);
	if ((r = jr_opt_i64(c, o, path, "fileMode", 0, 0177777, &mode)) < 0)
		return r;
	d->has_mode = r > 0;
	d->file_mode = (mode_t)mode & 07777;
	if ((r = opt_u32(c, o, path, "uid", &d->uid)) < 0)
		return r;
	d->has_uid = r > 0;
	if ((r = opt_u32(c, o, path, "gid", &d->gid)) < 0)
		return r;
	d->has_gid = r > 0;
	return 0;
}

static int parse_memory_cpu(const struct jreader *c, json_object *o, const char *base,
			    struct spec_resources *res)
{
	struct jpath p, e;
	json_object *v = NULL;
	int r;

	if ((r = jr_opt_typed(c, o, base, "memory", json_type_object, &v)) < 0)
		return r;
	jkey(&p, base, "memory");
	if (r > 0 &&
	    ((r = jr_opt_i64(c, v, p.s, "limit", -1, INT64_MAX, &res->memory_limit)) < 0 ||
	     (r = jr_opt_i64(c, v, p.s, "reservation", -1, INT64_MAX, &res->memory_reservation)) <
		 0 ||
	     (r = jr_opt_i64(c, v, p.s, "swap", -1, INT64_MAX, &res->memory_swap)) < 0 ||
	     (r = jr_opt_bool(c, v, p.s, "disableOOMKiller", &res->disable_oom_killer)) < 0))
		return r;
	if ((r = jr_opt_typed(c, o, base, "cpu", json_type_object, &v)) <= 0)
		return r;
	jkey(&p, base, "cpu");
	if ((r = jr_opt_i64(c, v, p.s, "shares", 0, INT64_MAX, &res->cpu_shares)) < 0 ||
	    (r = jr_opt_i64(c, v, p.s, "quota", -1, INT64_MAX, &res->cpu_quota)) < 0 ||
	    (r = jr_opt_i64(c, v, p.s, "period", 1, INT64_MAX, &res->cpu_period)) < 0 ||
	    (r = jr_opt_i64(c, v, p.s, "realtimeRuntime", -1, INT64_MAX,
			    &res->cpu_realtime_runtime)) < 0 ||
	    (r = jr_opt_i64(c, v, p.s, "realtimePeriod", 0, INT64_MAX, &res->cpu_realtime_period)) <
		0 ||
	    (r = jr_opt_str(c, v, p.s, "cpus", &res->cpu_cpus)) < 0 ||
	    (r = jr_opt_str(c, v, p.s, "mems", &res->cpu_mems)) < 0)
		return r;
	if (res->cpu_quota > 0 && res->cpu_period < 0)
		return jr_fail(c, jkey(&e, p.s, "quota"), "needs cpu.period");
	if (res->cpu_cpus && strspn(res->cpu_cpus, "0123456789,-") != strlen(res->cpu_cpus))
		return jr_fail(c, jkey(&e, p.s, "cpus"), "must be a CPU list like 0-3,5");
	if (res->cpu_mems && strspn(res->cpu_mems, "0123456789,-") != strlen(res->cpu_mems))
		return jr_fail(c, jkey(&e, p.s, "mems"), "must be a node list like 0-1");
	return 0;
}

static int parse_hugepage(const struct jreader *c, json_object *o, const char *path, void *out)
{
	struct spec_kv *kv = out;
	struct jpath p;
	uint64_t limit = 0;
	char buf[24];
	int r;

	if ((r = jr_need(c, jr_opt_str(c, o, path, "pageSize", &kv->key), path, "pageSize")) < 0)
		return r;
	size_t digits = strspn(kv->key, "0123456789");
	const char *unit = kv->key + digits;
	if (digits == 0 || (strcmp(unit, "KB") && strcmp(unit, "MB") && strcmp(unit, "GB")))
		return jr_fail(c, jkey(&p, path, "pageSize"), "must be like 2MB");
	if ((r = jr_need(c, jr_opt_u64(c, o, path, "limit", UINT64_MAX, &limit), path, "limit")) <
	    0)
		return r;
	snprintf(buf, sizeof(buf), "%" PRIu64, limit);
	kv->value = strdup(buf);
	return kv->value ? 0 : jr_oom(c);
}

static int parse_device_rule(const struct jreader *c, json_object *o, const char *path, void *out)
{
	struct spec_device_rule *d = out;
	struct jpath p;
	const char *type = "a", *access = "rwm";
	int r;

	d->major = d->minor = -1;
	if ((r = jr_need(c, jr_opt_bool(c, o, path, "allow", &d->allow), path, "allow")) < 0 ||
	    (r = jr_opt_cstr(c, o, path, "type", &type)) < 0 ||
	    (r = jr_opt_i64(c, o, path, "major", -1, UINT32_MAX, &d->major)) < 0 ||
	    (r = jr_opt_i64(c, o, path, "minor", -1, UINT32_MAX, &d->minor)) < 0 ||
	    (r = jr_opt_cstr(c, o, path, "access", &access)) < 0)
		return r;
	if (strlen(type) != 1 || !strchr("abc", type[0]))
		return jr_fail(c, jkey(&p, path, "type"), "must be one of a, b, c");
	d->type = type[0];
	if (!access[0])
		access = "rwm";
	for (const char *a = access; *a; a++)
		if (!strchr("rwm", *a) || strchr(a + 1, *a))
			return jr_fail(c, jkey(&p, path, "access"), "must be a subset of \"rwm\"");
	snprintf(d->access, sizeof(d->access), "%s", access);
	return 0;
}

static int parse_resources(const struct jreader *c, json_object *o, const char *base,
			   struct spec_resources *res)
{
	struct jpath p;
	json_object *v = NULL;
	void *arr;
	int r;

	if ((r = parse_memory_cpu(c, o, base, res)) < 0 ||
	    (r = jr_opt_typed(c, o, base, "pids", json_type_object, &v)) < 0)
		return r;
	if (r > 0 && (r = jr_opt_i64(c, v, jkey(&p, base, "pids"), "limit", -1, INT64_MAX,
				     &res->pids_limit)) < 0)
		return r;
	if ((r = jr_opt_typed(c, o, base, "blockIO", json_type_object, &v)) < 0)
		return r;
	if (r > 0 && (r = jr_opt_i64(c, v, jkey(&p, base, "blockIO"), "weight", 10, 1000,
				     &res->blkio_weight)) < 0)
		return r;
	arr = NULL;
	r = opt_objs(c, o, base, "hugepageLimits", sizeof(struct spec_kv), parse_hugepage, &arr,
		     &res->n_hugepage_limits);
	res->hugepage_limits = arr;
	if (r < 0 || (r = opt_kv(c, o, base, "unified", true, &res->unified, &res->n_unified)) < 0)
		return r;
	arr = NULL;
	r = opt_objs(c, o, base, "devices", sizeof(struct spec_device_rule), parse_device_rule,
		     &arr, &res->n_devices);
	res->devices = arr;
	return r < 0 ? r : 0;
}

static int parse_linux_more(const struct jreader *c, json_object *o, const char *base,
			    struct spec *s)
{
	struct jpath p;
	json_object *v = NULL;
	const char *prop = NULL;
	int r;

	if ((r = jr_opt_cstr(c, o, base, "rootfsPropagation", &prop)) < 0)
		return r;
	if (r > 0) {
		int i = prop_lookup(prop);
		if (i < 0)
			return jr_fail(c, jkey(&p, base, "rootfsPropagation"),
				       "unknown propagation \"%s\"", prop);
		s->rootfs_propagation = propagations[i].prop;
	}
	if ((r = jr_opt_typed(c, o, base, "resources", json_type_object, &v)) < 0)
		return r;
	s->has_resources = r > 0;
	if (r > 0 && (r = parse_resources(c, v, jkey(&p, base, "resources"), &s->resources)) < 0)
		return r;
	if ((r = jr_opt_typed(c, o, base, "seccomp", json_type_object, &v)) <= 0)
		return r;
	s->seccomp_json = strdup(json_object_to_json_string_ext(
	    v, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	return s->seccomp_json ? 0 : jr_oom(c);
}

static int parse_linux(const struct jreader *c, json_object *o, const char *base, struct spec *s)
{
	void *u = NULL, *g = NULL, *d = NULL;
	int r;

	if ((r = parse_namespaces(c, o, base, s)) < 0)
		return r;
	r = opt_objs(c, o, base, "uidMappings", sizeof(struct spec_id_map), parse_idmap, &u,
		     &s->n_uid_mappings);
	s->uid_mappings = u;
	if (r < 0)
		return r;
	r = opt_objs(c, o, base, "gidMappings", sizeof(struct spec_id_map), parse_idmap, &g,
		     &s->n_gid_mappings);
	s->gid_mappings = g;
	if (r < 0)
		return r;
	r = opt_objs(c, o, base, "devices", sizeof(struct spec_device), parse_device, &d,
		     &s->n_devices);
	s->devices = d;
	if (r < 0 || (r = opt_kv(c, o, base, "sysctl", false, &s->sysctl, &s->n_sysctl)) < 0 ||
	    (r = jr_opt_str(c, o, base, "cgroupsPath", &s->cgroups_path)) < 0 ||
	    (r = opt_strv(c, o, base, "maskedPaths", check_abs, &s->masked_paths)) < 0 ||
	    (r = opt_strv(c, o, base, "readonlyPaths", check_abs, &s->readonly_paths)) < 0)
		return r;
	return parse_linux_more(c, o, base, s);
}

/* ---- top level ---- */

static void resources_init(struct spec_resources *res)
{
	res->memory_limit = res->memory_reservation = res->memory_swap = -1;
	res->cpu_shares = res->cpu_quota = res->cpu_period = -1;
	res->cpu_realtime_runtime = res->cpu_realtime_period = -1;
	res->pids_limit = res->blkio_weight = -1;
}

static int parse_top(const struct jreader *c, json_object *o, struct spec *s)
{
	json_object *v = NULL;
	void *mounts = NULL;
	int r;

	if ((r = jr_need(c, jr_opt_str(c, o, "", "ociVersion", &s->oci_version), "",
			 "ociVersion")) < 0 ||
	    (r = jr_need(c, jr_opt_typed(c, o, "", "root", json_type_object, &v), "", "root")) <
		0 ||
	    (r = jr_need(c, jr_opt_str(c, v, "root", "path", &s->root_path), "root", "path")) < 0 ||
	    (r = jr_opt_bool(c, v, "root", "readonly", &s->root_readonly)) < 0)
		return r;
	if (!s->root_path[0])
		return jr_fail(c, "root.path", "must not be empty");
	if ((r = jr_opt_str(c, o, "", "hostname", &s->hostname)) < 0 ||
	    (r = jr_opt_str(c, o, "", "domainname", &s->domainname)) < 0 ||
	    (r = jr_opt_typed(c, o, "", "process", json_type_object, &v)) < 0)
		return r;
	s->has_process = r > 0;
	if (r > 0 && (r = parse_process(c, v, "process", &s->process)) < 0)
		return r;
	r = opt_objs(c, o, "", "mounts", sizeof(struct spec_mount), parse_mount, &mounts,
		     &s->n_mounts);
	s->mounts = mounts;
	if (r < 0 || (r = jr_opt_typed(c, o, "", "hooks", json_type_object, &v)) < 0)
		return r;
	if (r > 0 && (r = parse_hooks(c, v, "hooks", s)) < 0)
		return r;
	if ((r = opt_kv(c, o, "", "annotations", false, &s->annotations, &s->n_annotations)) < 0)
		return r;
	if ((r = jr_opt_typed(c, o, "", "linux", json_type_object, &v)) < 0)
		return r;
	if (r > 0)
		return parse_linux(c, v, "linux", s);
	s->masked_paths = calloc(1, sizeof(char *));
	s->readonly_paths = calloc(1, sizeof(char *));
	return s->masked_paths && s->readonly_paths ? 0 : jr_oom(c);
}

static void kv_free(struct spec_kv *kv, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(kv[i].key);
		free(kv[i].value);
	}
	free(kv);
}

void spec_process_clear(struct spec_process *p)
{
	if (!p)
		return;
	free(p->user.additional_gids);
	strv_free(p->args);
	strv_free(p->env);
	free(p->cwd);
	free(p->rlimits);
	free(p->apparmor_profile);
	free(p->selinux_label);
	memset(p, 0, sizeof(*p));
}

static void linux_free(struct spec *s)
{
	for (size_t i = 0; i < SPEC_NS_MAX; i++)
		free(s->namespaces[i].path);
	free(s->uid_mappings);
	free(s->gid_mappings);
	for (size_t i = 0; i < s->n_devices; i++)
		free(s->devices[i].path);
	free(s->devices);
	strv_free(s->masked_paths);
	strv_free(s->readonly_paths);
	kv_free(s->sysctl, s->n_sysctl);
	free(s->cgroups_path);
	spec_resources_clear(&s->resources);
	free(s->seccomp_json);
}

void spec_resources_clear(struct spec_resources *res)
{
	free(res->cpu_cpus);
	free(res->cpu_mems);
	kv_free(res->hugepage_limits, res->n_hugepage_limits);
	kv_free(res->unified, res->n_unified);
	free(res->devices);
	memset(res, 0, sizeof(*res));
	resources_init(res);
}

struct spec *spec_free(struct spec *s)
{
	if (!s)
		return NULL;
	free(s->oci_version);
	free(s->root_path);
	free(s->hostname);
	free(s->domainname);
	spec_process_clear(&s->process);
	for (size_t i = 0; i < s->n_mounts; i++) {
		free(s->mounts[i].destination);
		free(s->mounts[i].type);
		free(s->mounts[i].source);
		free(s->mounts[i].data);
	}
	free(s->mounts);
	for (size_t k = 0; k < SPEC_HOOK_MAX; k++) {
		for (size_t i = 0; i < s->hooks[k].n; i++) {
			free(s->hooks[k].v[i].path);
			strv_free(s->hooks[k].v[i].args);
			strv_free(s->hooks[k].v[i].env);
		}
		free(s->hooks[k].v);
	}
	kv_free(s->annotations, s->n_annotations);
	linux_free(s);
	free(s);
	return NULL;
}

static int parse_json(const struct jreader *c, const char *json, size_t len, json_object **ret)
{
	return jr_parse(c, json, len, SPEC_MAX_BYTES, SPEC_MAX_DEPTH, ret);
}

struct spec *spec_parse(const char *json, size_t len, struct error *err)
{
	const struct jreader c = {"config.json", err};
	json_object *root;
	struct spec *s;
	int r;

	if (parse_json(&c, json, len, &root) < 0)
		return NULL;
	s = calloc(1, sizeof(*s));
	if (s)
		resources_init(&s->resources);
	r = s ? parse_top(&c, root, s) : jr_oom(&c);
	json_object_put(root);
	if (r < 0)
		return spec_free(s);
	return s;
}

int spec_parse_process(const char *json, size_t len, struct spec_process *ret, struct error *err)
{
	const struct jreader c = {"process", err};
	json_object *root;
	int r;

	memset(ret, 0, sizeof(*ret));
	r = parse_json(&c, json, len, &root);
	if (r < 0)
		return r;
	r = parse_process(&c, root, "", ret);
	json_object_put(root);
	if (r < 0)
		spec_process_clear(ret);
	return r;
}

int spec_parse_resources(const char *json, size_t len, struct spec_resources *ret,
			 struct error *err)
{
	const struct jreader c = {"resources", err};
	json_object *root;
	int r;

	memset(ret, 0, sizeof(*ret));
	resources_init(ret);
	r = parse_json(&c, json, len, &root);
	if (r < 0)
		return r;
	r = parse_resources(&c, root, "", ret);
	json_object_put(root);
	if (r < 0)
		spec_resources_clear(ret);
	return r;
}

struct spec *spec_load(const char *path, struct error *err)
{
	cleanup_free char *buf = NULL;
	size_t len = 0;

	if (fd_read_file(path, SPEC_MAX_BYTES, &buf, &len, err) < 0)
		return NULL;
	return spec_parse(buf, len, err);
}

const char *spec_ns_name(enum spec_ns ns)
{
	return (unsigned)ns < SPEC_NS_MAX ? ns_names[ns] : NULL;
}
