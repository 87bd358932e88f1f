/* cgroup_v1: one hierarchy per (co-)mounted controller set under the mount root. */
#include <dirent.h>
#include <stddef.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include "runtime/cgroup-devices.h"
#include "runtime/cgroup-internal.h"
#include "util/cleanup.h"

#define FREEZE_WAIT_MS 2000
#define MEM_LIMIT      "memory.limit_in_bytes"
#define MEMSW	       "memory.memsw.limit_in_bytes"

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

static int put_i64(struct cgroup *cg, const char *dir, const char *file, int64_t v,
		   struct error *err)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%" PRId64, v);
	return cgroup_write(cg, dir, file, buf, err);
}

/* The directory of this cgroup in the hierarchy holding controller; NULL with *err set. */
static const char *dir_of(struct cgroup *cg, const char *controller, const char *file,
			  struct error *err)
{
	const struct cgroup_hier *h = cgroup_find_hier(cg, controller);

	if (!h)
		error_set(err, EOPNOTSUPP, "%s: no %s cgroup hierarchy", file, controller);
	return h ? h->dir : NULL;
}

/* The kernel keeps memory.limit_in_bytes <= memory.memsw.limit_in_bytes: when memsw goes above
 * the current limit it is raised first, otherwise the limit is lowered first (as runc). */
static int set_limit_and_swap(struct cgroup *cg, const char *dir, const struct spec_resources *res,
			      struct error *err)
{
	int64_t limit = res->memory_limit, swap = res->memory_swap, cur = CGROUP_UNLIMITED;
	int r;

	if (limit <= 0 && swap <= 0)
		return 0;

	if (limit > 0 && swap > 0 && swap < limit)
		return error_set(err, EINVAL,
				 "%s: memory+swap limit %" PRId64
				 " is below the memory limit %" PRId64,
				 MEMSW, swap, limit);
	if (swap <= 0 && limit > 0 && cgroup_has_file(dir, MEMSW)) {
		r = cgroup_read_i64(dir, MEMSW, &cur, err);
		if (r < 0 && r != -ENOENT)
			return r;
		if (r == 0 && limit > cur)
			return error_set(err, EINVAL,
					 "%s: memory limit %" PRId64
					 " is above the memory+swap limit %" PRId64
					 ": set swap too",
					 MEM_LIMIT, limit, cur);
	}
	if (swap <= 0 || !cgroup_has_file(dir, MEMSW))
		return limit > 0 ? put_i64(cg, dir, MEM_LIMIT, limit, err) : 0;
	if (limit <= 0)
		return put_i64(cg, dir, MEMSW, swap, err);
	r = cgroup_read_i64(dir, MEM_LIMIT, &cur, err);
	if (r < 0 && r != -ENOENT)
		return r;
	if (cur < swap) {
		r = put_i64(cg, dir, MEMSW, swap, err);
		return r < 0 ? r : put_i64(cg, dir, MEM_LIMIT, limit, err);
	}
	r = put_i64(cg, dir, MEM_LIMIT, limit, err);
	return r < 0 ? r : put_i64(cg, dir, MEMSW, swap, err);
}

static int apply_memory(struct cgroup *cg, const struct spec_resources *res, struct error *err)
{
	const char *dir;
	int r;

	if (res->memory_limit <= 0 && res->memory_reservation <= 0 && res->memory_swap <= 0 &&
	    !res->disable_oom_killer)
		return 0;
	dir = dir_of(cg, "memory", "memory", err);
	if (!dir)
		return -err->code;
	r = set_limit_and_swap(cg, dir, res, err);
	if (r == 0 && res->memory_reservation > 0)
		r = put_i64(cg, dir, "memory.soft_limit_in_bytes", res->memory_reservation, err);
	if (r == 0 && res->disable_oom_killer)
		r = cgroup_write(cg, dir, "memory.oom_control", "1", err);
	return r;
}

/* A period the kernel refuses next to the old quota (EINVAL) is retried after the quota. */
static int set_pair(struct cgroup *cg, const char *dir, const char *pfile, int64_t period,
		    const char *qfile, int64_t quota, struct error *err)
{
	bool retry = false;
	int r;

	if (period > 0) {
		r = put_i64(cg, dir, pfile, period, err);
		if (r == -EINVAL && quota > 0)
			retry = true;
		else if (r < 0)
			return r;
	}
	if (quota <= 0)
		return 0;
	r = put_i64(cg, dir, qfile, quota, err);
	if (r == 0 && retry)
		r = put_i64(cg, dir, pfile, period, err);
	return r;
}

static int apply_cpu(struct cgroup *cg, const struct spec_resources *res, struct error *err)
{
	const char *dir;
	int r = 0;

	if (res->cpu_shares > 0 || res->cpu_quota > 0 || res->cpu_period > 0 ||
	    res->cpu_realtime_runtime > 0 || res->cpu_realtime_period > 0) {
		dir = dir_of(cg, "cpu", "cpu", err);
		if (!dir)
			return -err->code;
		if (res->cpu_shares > 0)
			r = put_i64(cg, dir, "cpu.shares", res->cpu_shares, err);
		if (r == 0)
			r = set_pair(cg, dir, "cpu.cfs_period_us", res->cpu_period,
				     "cpu.cfs_quota_us", res->cpu_quota, err);
		if (r == 0)
			r = set_pair(cg, dir, "cpu.rt_period_us", res->cpu_realtime_period,
				     "cpu.rt_runtime_us", res->cpu_realtime_runtime, err);
		if (r < 0)
			return r;
	}
	if (res->cpu_cpus && res->cpu_cpus[0]) {
		dir = dir_of(cg, "cpuset", "cpuset.cpus", err);
		r = dir ? cgroup_write(cg, dir, "cpuset.cpus", res->cpu_cpus, err) : -err->code;
	}
	if (r == 0 && res->cpu_mems && res->cpu_mems[0]) {
		dir = dir_of(cg, "cpuset", "cpuset.mems", err);
		r = dir ? cgroup_write(cg, dir, "cpuset.mems", res->cpu_mems, err) : -err->code;
	}
	return r;
}

static int apply_pids_blkio(struct cgroup *cg, const struct spec_resources *res, struct error *err)
{
	const char *dir;
	int r;

	if (res->pids_limit >= 0) {
		dir = dir_of(cg, "pids", "pids.max", err);
		if (!dir)
			return -err->code;
		r = res->pids_limit == 0 ? cgroup_write(cg, dir, "pids.max", "max", err)
					 : put_i64(cg, dir, "pids.max", res->pids_limit, err);
		if (r < 0)
			return r;
	}
	if (res->blkio_weight > 0) {
		dir = dir_of(cg, "blkio", "blkio.weight", err);
		if (!dir)
			return -err->code;
		return put_i64(cg, dir,
			       cgroup_has_file(dir, "blkio.bfq.weight") ? "blkio.bfq.weight"
									: "blkio.weight",
			       res->blkio_weight, err);
	}
	return 0;
}

static int apply_hugetlb(struct cgroup *cg, const struct spec_resources *res, struct error *err)
{
	char file[128];
	const char *dir;
	int r;

	for (size_t i = 0; i < res->n_hugepage_limits; i++) {
		const struct spec_kv *kv = &res->hugepage_limits[i];

		snprintf(file, sizeof(file), "hugetlb.%s.limit_in_bytes", kv->key);
		if (strchr(kv->key, '/'))
			return error_set(err, EINVAL, "%s: bad page size", file);
		dir = dir_of(cg, "hugetlb", file, err);
		if (!dir)
			return -err->code;
		r = cgroup_write(cg, dir, file, kv->value, err);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Deny everything, then each rule in order: the kernel keeps the resulting list. */
static int apply_devices(struct cgroup *cg, const struct spec_resources *res, struct error *err)
{
	const char *dir;
	char line[64];
	int r;

	if (res->n_devices == 0)
		return 0;
	dir = dir_of(cg, "devices", "devices.deny", err);
	if (!dir)
		return -err->code;
	r = cgroup_write(cg, dir, "devices.deny", "a", err);
	for (size_t i = 0; r == 0 && i < res->n_devices; i++) {
		const struct spec_device_rule *d = &res->devices[i];

		cgroup_devices_v1_line(d, line, sizeof(line));
		r = cgroup_write(cg, dir, d->allow ? "devices.allow" : "devices.deny", line, err);
	}
	return r;
}

static int v1_apply(struct cgroup *cg, const struct spec_resources *res, struct error *err)
{
	int r;

	if (res->n_unified > 0)
		return error_set(err, EINVAL, "unified: \"%s\" needs cgroup v2",
				 res->unified[0].key);
	r = apply_memory(cg, res, err);
	if (r == 0)
		r = apply_cpu(cg, res, err);
	if (r == 0)
		r = apply_pids_blkio(cg, res, err);
	if (r == 0)
		r = apply_hugetlb(cg, res, err);
	if (r == 0)
		r = apply_devices(cg, res, err);
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

/* Reads one counter if the controller and the file are there; key: a "key N" line. */
static int stat_one(const struct cgroup *cg, const char *controller, const char *file,
		    const char *key, int64_t *ret, struct error *err)
{
	const struct cgroup_hier *h = cgroup_find_hier(cg, controller);
	int r;

	if (!h)
		return 0;
	r = key ? cgroup_read_key(h->dir, file, key, ret, err)
		: cgroup_read_i64(h->dir, file, ret, err);
	return r == -ENOENT ? 0 : r;
}

#define STAT(c, f, k, field)                                                                       \
	{                                                                                          \
		c, f, k, offsetof(struct cgroup_stats, field)                                      \
	}

static const struct {
	const char *controller, *file, *key;
	size_t offset;
} v1_stat_files[] = {
    STAT("cpuacct", "cpuacct.usage", NULL, cpu_usage_ns),
    STAT("memory", "memory.usage_in_bytes", NULL, memory_usage),
    STAT("memory", MEM_LIMIT, NULL, memory_limit),
    STAT("memory", "memory.max_usage_in_bytes", NULL, memory_max_usage),
    STAT("memory", "memory.oom_control", "oom_kill", oom_kills),
    STAT("pids", "pids.current", NULL, pids_current),
    STAT("pids", "pids.max", NULL, pids_limit),
};

static int v1_stats(struct cgroup *cg, struct cgroup_stats *ret, struct error *err)
{
	for (size_t i = 0; i < ARRAY_SIZE(v1_stat_files); i++) {
		int64_t *field = (int64_t *)((char *)ret + v1_stat_files[i].offset);
		int r = stat_one(cg, v1_stat_files[i].controller, v1_stat_files[i].file,
				 v1_stat_files[i].key, field, err);

		if (r < 0)
			return r;
	}
	return 0;
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
    .stats = v1_stats,
};
