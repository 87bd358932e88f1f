/* cgroup: see cgroup.h. The interface: path checks, backend choice, shared helpers. */
#include "runtime/cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "runtime/cgroup-internal.h"
#include "util/cleanup.h"

#define DESTROY_RETRY_MS 1000
#define MAX_PIDS	 (1 << 22)

/* cgroupsPath comes from config.json: absolute, clean, no "." or ".." components, not "/". */
static int check_path(const char *path, struct error *err)
{
	const char *p;

	if (!path || path[0] != '/' || path[1] == '\0' || strlen(path) >= PATH_MAX / 2)
		goto bad;
	for (p = path; *p; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			goto bad;
	}
	for (p = path; *p;) {
		const char *c = p + 1, *end = strchrnul(c, '/');
		size_t len = (size_t)(end - c);

		if (len == 0 || (len == 1 && c[0] == '.') ||
		    (len == 2 && c[0] == '.' && c[1] == '.'))
			goto bad;
		p = end;
	}
	return 0;
bad:
	return error_set(err, EINVAL,
			 "cgroup path \"%s\": must be absolute and clean, without \"..\"",
			 path ? path : "(null)");
}

void cgroup_free(struct cgroup *cg)
{
	if (!cg)
		return;
	for (size_t i = 0; i < cg->n_hier; i++) {
		free(cg->hier[i].name);
		free(cg->hier[i].root);
		free(cg->hier[i].dir);
	}
	free(cg->hier);
	free(cg->mountroot);
	free(cg->path);
	free(cg);
}

DEFINE_CLEANUP(struct cgroup, cgroup_free)

int cgroup_add_hier(struct cgroup *cg, const char *name, const char *root, struct error *err)
{
	struct cgroup_hier *v, *h;

	v = realloc(cg->hier, (cg->n_hier + 1) * sizeof(*v));
	if (!v)
		return error_set(err, ENOMEM, "cgroup hierarchy %s: out of memory", root);
	cg->hier = v;
	h = &v[cg->n_hier];
	*h = (struct cgroup_hier){.name = strdup(name), .root = strdup(root)};
	if (h->root && asprintf(&h->dir, "%s%s", root, cg->path) < 0)
		h->dir = NULL;
	cg->n_hier++;
	if (!h->name || !h->root || !h->dir)
		return error_set(err, ENOMEM, "cgroup hierarchy %s: out of memory", root);
	return 0;
}

static struct cgroup *cgroup_new(const char *mountroot, const char *path, int version, bool strict,
				 struct error *err)
{
	cleanup(cgroup_free) struct cgroup *cg = NULL;
	int r;

	r = check_path(path, err);
	if (r < 0)
		return NULL;
	if (version != 1 && version != 2) {
		error_set(err, EINVAL, "cgroup %s: unknown cgroup version %d", path, version);
		return NULL;
	}
	cg = calloc(1, sizeof(*cg));
	if (!cg || !(cg->mountroot = strdup(mountroot)) || !(cg->path = strdup(path))) {
		error_set(err, ENOMEM, "cgroup %s: out of memory", path);
		return NULL;
	}
	cg->ops = version == 2 ? &cgroup_v2_ops : &cgroup_v1_ops;
	r = cg->ops->init(cg, strict, err);
	if (r < 0) {
		error_wrap(err, "cgroup %s", path);
		return NULL;
	}
	return TAKE_PTR(cg);
}

static int detect_version(const char *mountroot, struct error *err)
{
	struct statfs sfs;

	if (statfs(mountroot, &sfs) < 0)
		return error_errno(err, "statfs %s", mountroot);
	return sfs.f_type == CGROUP2_SUPER_MAGIC ? 2 : 1;
}

/* Removes the leaf in every hierarchy, retrying while exiting tasks keep it busy. */
static int destroy_leaves(struct cgroup *cg, bool quiet, struct error *err)
{
	int ret = 0;

	for (size_t i = 0; i < cg->n_hier; i++) {
		const char *dir = cg->hier[i].dir;
		int waited = 0;

		while (rmdir(dir) < 0) {
			if (errno == ENOENT)
				break;
			if (errno == EBUSY && waited < DESTROY_RETRY_MS) {
				cgroup_sleep_ms(10);
				waited += 10;
				continue;
			}
			if (ret == 0 && !quiet)
				ret = error_errno(err, "rmdir %s", dir);
			break;
		}
	}
	return ret;
}

static struct cgroup *create_with(const char *mountroot, const char *path, int version, bool strict,
				  struct error *err)
{
	cleanup(cgroup_free) struct cgroup *cg = NULL;

	cg = cgroup_new(mountroot, path, version, strict, err);
	if (!cg)
		return NULL;
	if (cg->ops->create(cg, err) < 0) {
		error_wrap(err, "create cgroup %s", path);
		destroy_leaves(cg, true, NULL);
		return NULL;
	}
	return TAKE_PTR(cg);
}

static struct cgroup *open_with(const char *mountroot, const char *path, int version, bool strict,
				struct error *err)
{
	cleanup(cgroup_free) struct cgroup *cg = NULL;
	struct stat st;

	cg = cgroup_new(mountroot, path, version, strict, err);
	if (!cg)
		return NULL;
	for (size_t i = 0; i < cg->n_hier; i++) {
		if (stat(cg->hier[i].dir, &st) == 0 && S_ISDIR(st.st_mode))
			return TAKE_PTR(cg);
	}
	error_set(err, ENOENT, "open cgroup %s: not found under %s", path, mountroot);
	return NULL;
}

struct cgroup *cgroup_create(const char *mountroot, const char *path, struct error *err)
{
	int v = detect_version(mountroot, err);

	return v < 0 ? NULL : create_with(mountroot, path, v, true, err);
}

struct cgroup *cgroup_open(const char *mountroot, const char *path, struct error *err)
{
	int v = detect_version(mountroot, err);

	return v < 0 ? NULL : open_with(mountroot, path, v, true, err);
}

struct cgroup *cgroup_create_backend(const char *mountroot, const char *path, int version,
				     struct error *err)
{
	return create_with(mountroot, path, version, false, err);
}

struct cgroup *cgroup_open_backend(const char *mountroot, const char *path, int version,
				   struct error *err)
{
	return open_with(mountroot, path, version, false, err);
}

int cgroup_enter(struct cgroup *cg, pid_t pid, struct error *err)
{
	if (pid <= 0)
		return error_set(err, EINVAL, "enter cgroup %s: bad pid %d", cg->path, (int)pid);
	if (cg->ops->enter(cg, pid, err) < 0)
		return error_wrap(err, "enter cgroup %s", cg->path);
	return 0;
}

int cgroup_apply(struct cgroup *cg, const struct spec_resources *res, struct error *err)
{
	if (!res)
		return 0;
	if (cg->ops->apply(cg, res, err) < 0)
		return error_wrap(err, "cgroup %s: resources", cg->path);
	return 0;
}

int cgroup_freeze(struct cgroup *cg, bool frozen, struct error *err)
{
	if (cg->ops->freeze(cg, frozen, err) < 0)
		return error_wrap(err, "%s cgroup %s", frozen ? "freeze" : "thaw", cg->path);
	return 0;
}

int cgroup_is_frozen(struct cgroup *cg, struct error *err)
{
	int r = cg->ops->is_frozen(cg, err);

	return r < 0 ? error_wrap(err, "cgroup %s", cg->path) : r;
}

static int parse_pids(FILE *f, const char *file, pid_t **ret, size_t *ret_n, struct error *err)
{
	cleanup_free char *line = NULL;
	cleanup_free pid_t *v = NULL;
	size_t n = 0, cap = 0, linecap = 0;

	while (getline(&line, &linecap, f) > 0) {
		char *end;
		long pid;

		if (line[0] == '\n')
			continue;
		errno = 0;
		pid = strtol(line, &end, 10);
		if (errno || end == line || (*end != '\n' && *end) || pid <= 0 || pid > INT_MAX)
			return error_set(err, EINVAL, "%s: bad pid line \"%.32s\"", file, line);
		if (n == cap) {
			pid_t *nv;

			cap = cap ? cap * 2 : 16;
			if (cap > MAX_PIDS)
				return error_set(err, E2BIG, "%s: too many pids", file);
			nv = reallocarray(v, cap, sizeof(*v));
			if (!nv)
				return error_set(err, ENOMEM, "%s: out of memory", file);
			v = nv;
		}
		v[n++] = (pid_t)pid;
	}
	if (ferror(f))
		return error_set(err, EIO, "read %s: I/O error", file);
	*ret = n ? TAKE_PTR(v) : NULL;
	*ret_n = n;
	return 0;
}

int cgroup_pids(struct cgroup *cg, pid_t **ret, size_t *ret_n, struct error *err)
{
	const struct cgroup_hier *h = cg->ops->procs_hier(cg);
	cleanup_free char *file = NULL;
	cleanup_file FILE *f = NULL;

	*ret = NULL;
	*ret_n = 0;
	if (!h)
		return error_set(err, ENOENT, "cgroup %s: no hierarchy", cg->path);
	if (asprintf(&file, "%s/cgroup.procs", h->dir) < 0) {
		file = NULL;
		return error_set(err, ENOMEM, "cgroup %s: out of memory", cg->path);
	}
	f = fopen(file, "re");
	if (!f)
		return error_errno(err, "open %s", file);
	return parse_pids(f, file, ret, ret_n, err);
}

/* Freeze (best effort), signal every task, thaw: no task can fork past us meanwhile. */
static int signal_all(struct cgroup *cg, int sig, struct error *err)
{
	cleanup_free pid_t *pids = NULL;
	struct error ferr;
	size_t n = 0;
	bool frozen;
	int r;

	frozen = cg->ops->freeze(cg, true, &ferr) == 0;
	r = cgroup_pids(cg, &pids, &n, err);
	for (size_t i = 0; r == 0 && i < n; i++) {
		if (kill(pids[i], sig) < 0 && errno != ESRCH)
			r = error_errno(err, "kill %d", (int)pids[i]);
	}
	if (frozen && cg->ops->freeze(cg, false, &ferr) < 0 && r == 0) {
		*err = ferr;
		r = -err->code;
	}
	return r;
}

int cgroup_kill_all(struct cgroup *cg, int sig, struct error *err)
{
	int r = -EOPNOTSUPP;

	if (cg->ops->kill)
		r = cg->ops->kill(cg, sig, err);
	if (r == -EOPNOTSUPP)
		r = signal_all(cg, sig, err);
	return r < 0 ? error_wrap(err, "kill cgroup %s", cg->path) : 0;
}

int cgroup_destroy(struct cgroup *cg, struct error *err)
{
	if (destroy_leaves(cg, false, err) < 0)
		return error_wrap(err, "destroy cgroup %s", cg->path);
	return 0;
}

int cgroup_stats(struct cgroup *cg, struct cgroup_stats *ret, struct error *err)
{
	const struct cgroup_hier *h = cg->ops->procs_hier(cg);
	struct stat st;

	*ret = (struct cgroup_stats){.cpu_usage_ns = -1,
				     .memory_usage = -1,
				     .memory_limit = -1,
				     .memory_max_usage = -1,
				     .pids_current = -1,
				     .pids_limit = -1,
				     .oom_kills = -1};
	if (!h || stat(h->dir, &st) < 0)
		return error_errno(err, "stats of cgroup %s", cg->path);
	if (cg->ops->stats(cg, ret, err) < 0)
		return error_wrap(err, "stats of cgroup %s", cg->path);
	return 0;
}

const char *cgroup_path(const struct cgroup *cg)
{
	return cg->path;
}

/* Shared helpers for the backends. */

int cgroup_write(const struct cgroup *cg, const char *dir, const char *file, const char *value,
		 struct error *err)
{
	cleanup_fd int fd = -1;
	char path[PATH_MAX];
	size_t len = strlen(value);
	ssize_t n;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, file) >= sizeof(path))
		return error_set(err, ENAMETOOLONG, "write %s/%s: path too long", dir, file);
	fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC | (cg->plain ? O_CREAT : 0), 0644);
	if (fd < 0)
		return error_errno(err, "open %s", path);
	do
		n = write(fd, value, len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return error_errno(err, "%s: write %s", file, value);
	if ((size_t)n != len)
		return error_set(err, EIO, "%s: write %s: short write", file, value);
	return 0;
}

int cgroup_read(const char *dir, const char *file, char *buf, size_t size, struct error *err)
{
	cleanup_fd int fd = -1;
	char path[PATH_MAX];
	size_t len = 0;
	ssize_t n;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, file) >= sizeof(path))
		return error_set(err, ENAMETOOLONG, "read %s/%s: path too long", dir, file);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return error_errno(err, "open %s", path);
	while (len + 1 < size) {
		n = read(fd, buf + len, size - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return error_errno(err, "read %s", path);
		if (n == 0)
			break;
		len += (size_t)n;
	}
	while (len > 0 && buf[len - 1] == '\n')
		len--;
	buf[len] = '\0';
	return 0;
}

/* "max" or v1's page-counter maximum (LONG_MAX rounded down to a page) mean unlimited. */
static int parse_i64(const char *s, int64_t *ret)
{
	char *end;
	long long v;

	if (strcmp(s, "max") == 0) {
		*ret = CGROUP_UNLIMITED;
		return 0;
	}
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || *end)
		return -EINVAL;
	*ret = v >= INT64_MAX - 4095 ? CGROUP_UNLIMITED : (int64_t)v;
	return 0;
}

int cgroup_read_i64(const char *dir, const char *file, int64_t *ret, struct error *err)
{
	char buf[64];
	struct error e;

	if (cgroup_read(dir, file, buf, sizeof(buf), &e) < 0) {
		if (e.code == ENOENT)
			return -ENOENT;
		*err = e;
		return -e.code;
	}
	if (parse_i64(buf, ret) < 0)
		return error_set(err, EINVAL, "%s: not a number: \"%.32s\"", file, buf);
	return 0;
}

int cgroup_read_key(const char *dir, const char *file, const char *key, int64_t *ret,
		    struct error *err)
{
	char buf[4096];
	size_t klen = strlen(key);
	struct error e;

	if (cgroup_read(dir, file, buf, sizeof(buf), &e) < 0) {
		if (e.code == ENOENT)
			return -ENOENT;
		*err = e;
		return -e.code;
	}
	for (char *line = buf, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (strncmp(line, key, klen) != 0 || line[klen] != ' ')
			continue;
		if (parse_i64(line + klen + 1, ret) < 0)
			return error_set(err, EINVAL, "%s: bad \"%s\" line", file, key);
		return 0;
	}
	return -ENOENT;
}

bool cgroup_has_file(const char *dir, const char *file)
{
	char path[PATH_MAX];

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, file) >= sizeof(path))
		return false;
	return access(path, F_OK) == 0;
}

int cgroup_mkdir_p(struct cgroup *cg, const char *root, const char *path,
		   int (*created)(struct cgroup *cg, const char *dir, void *data,
				  struct error *err),
		   void *data, struct error *err)
{
	char dir[PATH_MAX];
	size_t rootlen = strlen(root);
	const char *p = path;
	struct stat st;

	if (rootlen + strlen(path) >= sizeof(dir))
		return error_set(err, ENAMETOOLONG, "mkdir %s%s: path too long", root, path);
	memcpy(dir, root, rootlen);
	while (*p) {
		const char *end = strchrnul(p + 1, '/');
		size_t len = rootlen + (size_t)(end - path);

		memcpy(dir + rootlen, path, (size_t)(end - path));
		dir[len] = '\0';
		p = end;
		if (mkdir(dir, 0755) == 0) {
			if (created && created(cg, dir, data, err) < 0)
				return -err->code;
			continue;
		}
		if (errno != EEXIST)
			return error_errno(err, "mkdir %s", dir);
		if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
			return error_set(err, ENOTDIR, "mkdir %s: exists and is not a directory",
					 dir);
	}
	return 0;
}

void cgroup_sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

const struct cgroup_hier *cgroup_find_hier(const struct cgroup *cg, const char *controller)
{
	size_t clen = strlen(controller);

	for (size_t i = 0; i < cg->n_hier; i++) {
		const char *p = cg->hier[i].name;

		while (*p) {
			const char *end = strchrnul(p, ',');

			if ((size_t)(end - p) == clen && strncmp(p, controller, clen) == 0)
				return &cg->hier[i];
			p = *end ? end + 1 : end;
		}
	}
	return NULL;
}
