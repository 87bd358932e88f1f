/* cgroup_v1: one hierarchy per (co-)mounted controller set under the mount root. */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include "runtime/cgroup-internal.h"
#include "util/cleanup.h"

#define FREEZE_WAIT_MS 2000

static bool seen_root(const struct cgroup *cg, const char *root)
{
	for (size_t i = 0; i < cg->n_hier; i++) {
		if (strcmp(cg->hier[i].root, root) == 0)
			return true;
	}
	return false;
}

/* Adds mountroot/name if it is a hierarchy; symlinks (cpu -> cpu,cpuacct) count once. */
static int add_entry(struct cgroup *cg, const char *name, bool strict, struct error *err)
{
	char full[PATH_MAX], real[PATH_MAX];
	struct statfs sfs;
	struct stat st;
	const char *base;

	if (name[0] == '.' || strcmp(name, "unified") == 0)
		return 0;
	if ((size_t)snprintf(full, sizeof(full), "%s/%s", cg->mountroot, name) >= sizeof(full))
		return 0;
	if (stat(full, &st) < 0 || !S_ISDIR(st.st_mode))
		return 0;
	if (!realpath(full, real))
		return error_errno(err, "realpath %s", full);
	if (statfs(real, &sfs) < 0)
		return error_errno(err, "statfs %s", real);
	if (sfs.f_type != CGROUP_SUPER_MAGIC) {
		if (strict)
			return 0;
		cg->plain = true;
	}
	if (seen_root(cg, real))
		return 0;
	base = strrchr(real, '/');
	return cgroup_add_hier(cg, base ? base + 1 : real, real, err);
}

static int cmp_hier(const void *a, const void *b)
{
	return strcmp(((const struct cgroup_hier *)a)->name, ((const struct cgroup_hier *)b)->name);
}

static int v1_init(struct cgroup *cg, bool strict, struct error *err)
{
	cleanup_dir DIR *d = NULL;
	struct dirent *de;
	int r;

	d = opendir(cg->mountroot);
	if (!d)
		return error_errno(err, "open %s", cg->mountroot);
	while ((errno = 0, de = readdir(d))) {
		r = add_entry(cg, de->d_name, strict, err);
		if (r < 0)
			return r;
	}
	if (errno)
		return error_errno(err, "read %s", cg->mountroot);
	if (cg->n_hier == 0)
		return error_set(err, ENOENT, "no cgroup v1 hierarchies under %s", cg->mountroot);
	qsort(cg->hier, cg->n_hier, sizeof(*cg->hier), cmp_hier);
	return 0;
}

/* A new cpuset level starts with empty cpus/mems and refuses tasks: inherit the parent's. */
static int copy_cpuset(struct cgroup *cg, const char *dir, void *data, struct error *err)
{
	static const char *const files[] = {"cpuset.cpus", "cpuset.mems"};
	char parent[PATH_MAX], val[4096];
	struct error ignored;
	char *slash;
	int r;

	snprintf(parent, sizeof(parent), "%s", dir);
	slash = strrchr(parent, '/');
	if (!slash || slash == parent)
		return error_set(err, EINVAL, "cpuset %s: no parent", dir);
	*slash = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		if (cgroup_read(dir, files[i], val, sizeof(val), &ignored) == 0 && val[0])
			continue;
		r = cgroup_read(parent, files[i], val, sizeof(val), err);
		if (r < 0)
			return r;
		r = cgroup_write(cg, dir, files[i], val, err);
		if (r < 0)
			return r;
	}
	return 0;
}

static int v1_create(struct cgroup *cg, struct error *err)
{
	const struct cgroup_hier *cpuset = cgroup_find_hier(cg, "cpuset");
	int r;

	for (size_t i = 0; i < cg->n_hier; i++) {
		const struct cgroup_hier *h = &cg->hier[i];

		r = cgroup_mkdir_p(cg, h->root, cg->path, h == cpuset ? copy_cpuset : NULL, NULL,
				   err);
		if (r < 0)
			return r;
	}
	return 0;
}

static int v1_enter(struct cgroup *cg, pid_t pid, struct error *err)
{
	char buf[32];
	int r;

	snprintf(buf, sizeof(buf), "%d", (int)pid);
	for (size_t i = 0; i < cg->n_hier; i++) {
		r = cgroup_write(cg, cg->hier[i].dir, "cgroup.procs", buf, err);
		if (r < 0)
			return r;
	}
	return 0;
}

static int write_i64(struct cgroup *cg, const char *controller, const char *file, int64_t v,
		     struct error *err)
{
	const struct cgroup_hier *h = cgroup_find_hier(cg, controller);
	char buf[32];

	if (!h)
		return error_set(err, EOPNOTSUPP, "%s: no %s cgroup hierarchy", file, controller);
	snprintf(buf, sizeof(buf), "%" PRId64, v);
	return cgroup_write(cg, h->dir, file, buf, err);
}

static int write_str(struct cgroup *cg, const char *controller, const char *file, const char *v,
		     struct error *err)
{
	const struct cgroup_hier *h = cgroup_find_hier(cg, controller);

	if (!h)
		return error_set(err, EOPNOTSUPP, "%s: no %s cgroup hierarchy", file, controller);
	return cgroup_write(cg, h->dir, file, v, err);
}

static int apply_cpu(struct cgroup *cg, const struct spec_resources *res, struct error *err)
{
	int r = 0;

	if (res->cpu_shares > 0)
		r = write_i64(cg, "cpu", "cpu.shares", res->cpu_shares, err);
	if (r == 0 && res->cpu_period > 0)
		r = write_i64(cg, "cpu", "cpu.cfs_period_us", res->cpu_period, err);
	if (r == 0 && res->cpu_quota > 0)
		r = write_i64(cg, "cpu", "cpu.cfs_quota_us", res->cpu_quota, err);
	if (r == 0 && res->cpu_cpus && res->cpu_cpus[0])
		r = write_str(cg, "cpuset", "cpuset.cpus", res->cpu_cpus, err);
	if (r == 0 && res->cpu_mems && res->cpu_mems[0])
		r = write_str(cg, "cpuset", "cpuset.mems", res->cpu_mems, err);
	return r;
}

static int v1_apply(struct cgroup *cg, const struct spec_resources *res, struct error *err)
{
	int r = 0;

	if (res->n_unified > 0)
		return error_set(err, EINVAL, "unified: needs cgroup v2");
	if (res->memory_limit > 0)
		r = write_i64(cg, "memory", "memory.limit_in_bytes", res->memory_limit, err);
	if (r == 0 && res->pids_limit > 0)
		r = write_i64(cg, "pids", "pids.max", res->pids_limit, err);
	if (r == 0)
		r = apply_cpu(cg, res, err);
	return r;
}

static int v1_freeze(struct cgroup *cg, bool frozen, struct error *err)
{
	const struct cgroup_hier *h = cgroup_find_hier(cg, "freezer");
	struct error thaw_err;
	char state[64];
	long waited = 0, step = 1;
	int r;

	if (!h)
		return error_set(err, EOPNOTSUPP, "no freezer cgroup hierarchy");
	if (!frozen)
		return cgroup_write(cg, h->dir, "freezer.state", "THAWED", err);
	for (;;) {
		r = cgroup_write(cg, h->dir, "freezer.state", "FROZEN", err);
		if (r < 0)
			return r;
		r = cgroup_read(h->dir, "freezer.state", state, sizeof(state), err);
		if (r < 0)
			return r;
		if (strcmp(state, "FROZEN") == 0)
			return 0;
		if (waited >= FREEZE_WAIT_MS)
			break;
		cgroup_sleep_ms(step);
		waited += step;
		step = step < 10 ? step * 2 : 10;
	}
	cgroup_write(cg, h->dir, "freezer.state", "THAWED", &thaw_err);
	return error_set(err, EBUSY, "%s/freezer.state: still %s after %d ms", h->dir, state,
			 FREEZE_WAIT_MS);
}

static int v1_is_frozen(struct cgroup *cg, struct error *err)
{
	const struct cgroup_hier *h = cgroup_find_hier(cg, "freezer");
	char state[64];
	int r;

	if (!h)
		return 0;
	r = cgroup_read(h->dir, "freezer.state", state, sizeof(state), err);
	if (r < 0)
		return r;
	return strcmp(state, "FROZEN") == 0;
}

static const struct cgroup_hier *v1_procs_hier(const struct cgroup *cg)
{
	const struct cgroup_hier *h = cgroup_find_hier(cg, "pids");

	return h ? h : cg->n_hier ? &cg->hier[0] : NULL;
}

const struct cgroup_ops cgroup_v1_ops = {
    .name = "v1",
    .init = v1_init,
    .create = v1_create,
    .enter = v1_enter,
    .apply = v1_apply,
    .freeze = v1_freeze,
    .is_frozen = v1_is_frozen,
    .procs_hier = v1_procs_hier,
    .kill = NULL,
};
