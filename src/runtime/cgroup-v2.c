/* cgroup_v2: the unified hierarchy; the mount root is the one hierarchy. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/magic.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "runtime/cgroup-devices.h"
#include "runtime/cgroup-internal.h"
#include "util/cleanup.h"

#define FREEZE_WAIT_MS 2000

static int v2_init(struct cgroup *cg, bool strict, struct error *err)
{
	struct statfs sfs;

	if (statfs(cg->mountroot, &sfs) < 0)
		return error_errno(err, "statfs %s", cg->mountroot);
	if (sfs.f_type != CGROUP2_SUPER_MAGIC) {
		if (strict)
			return error_set(err, EINVAL, "%s: not a cgroup2 mount", cg->mountroot);
		cg->plain = true;
	}
	return cgroup_add_hier(cg, "", cg->mountroot, err);
}

static bool ignorable(int code)
{
	return code == EBUSY || code == ENOENT || code == EOPNOTSUPP || code == ENOTSUP;
}

/* Enables in dir's cgroup.subtree_control every controller its cgroup.controllers offers. */
static int enable_controllers(struct cgroup *cg, const char *dir, struct error *err)
{
	char avail[1024], all[2048] = "", one[128];
	size_t len = 0;
	struct error e;
	char *save = NULL;

	if (cgroup_read(dir, "cgroup.controllers", avail, sizeof(avail), &e) < 0)
		return ignorable(e.code) ? 0 : (*err = e, -e.code);
	for (char *c = strtok_r(avail, " \n", &save); c; c = strtok_r(NULL, " \n", &save))
		len += (size_t)snprintf(all + len, sizeof(all) - len, "%s+%s", len ? " " : "", c);
	if (len == 0 || len >= sizeof(all))
		return 0;
	if (cgroup_write(cg, dir, "cgroup.subtree_control", all, &e) == 0)
		return 0;
	/* One refused controller fails the whole write: enable them one by one. */
	save = NULL;
	for (char *c = strtok_r(all, " ", &save); c; c = strtok_r(NULL, " ", &save)) {
		snprintf(one, sizeof(one), "%s", c);
		if (cgroup_write(cg, dir, "cgroup.subtree_control", one, &e) < 0 &&
		    !ignorable(e.code)) {
			*err = e;
			return -e.code;
		}
	}
	return 0;
}

static int v2_create(struct cgroup *cg, struct error *err)
{
	const struct cgroup_hier *h = &cg->hier[0];
	char dir[PATH_MAX];
	size_t rootlen = strlen(h->root);
	const char *p = cg->path, *end;
	int r;

	r = cgroup_mkdir_p(cg, h->root, cg->path, NULL, NULL, err);
	if (r < 0)
		return r;
	if (rootlen + strlen(cg->path) >= sizeof(dir))
		return error_set(err, ENAMETOOLONG, "%s%s: path too long", h->root, cg->path);
	/* Every ancestor, root first, down to the leaf's parent. */
	memcpy(dir, h->root, rootlen + 1);
	for (;;) {
		r = enable_controllers(cg, dir, err);
		if (r < 0)
			return r;
		end = strchrnul(p + 1, '/');
		if (!*end)
			return 0;
		memcpy(dir + rootlen, cg->path, (size_t)(end - cg->path));
		dir[rootlen + (size_t)(end - cg->path)] = '\0';
		p = end;
	}
}

static int v2_enter(struct cgroup *cg, pid_t pid, struct error *err)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%d", (int)pid);
	return cgroup_write(cg, cg->hier[0].dir, "cgroup.procs", buf, err);
}

static int write_i64(struct cgroup *cg, const char *file, int64_t v, struct error *err)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%" PRId64, v);
	return cgroup_write(cg, cg->hier[0].dir, file, buf, err);
}

/* linux.resources.unified: keys are file names in this cgroup, nothing else. */
static int apply_unified(struct cgroup *cg, const struct spec_resources *res, struct error *err)
{
	for (size_t i = 0; i < res->n_unified; i++) {
		const char *k = res->unified[i].key, *v = res->unified[i].value;
		int r;

		if (!k || !v || !k[0] || k[0] == '.' || strchr(k, '/') || !strchr(k, '.'))
			return error_set(err, EINVAL, "unified: bad key \"%s\"", k ? k : "(null)");
		r = cgroup_write(cg, cg->hier[0].dir, k, v, err);
		if (r < 0)
			return r;
	}
	return 0;
}

/* memory.swap.max is swap alone; the spec's swap is memory+swap, as in v1 (runc does the same). */
static int apply_memory(struct cgroup *cg, const struct spec_resources *res, struct error *err)
{
	const char *dir = cg->hier[0].dir;
	int64_t limit = res->memory_limit;
	int r = 0;

	if (limit > 0)
		r = write_i64(cg, "memory.max", limit, err);
	if (r == 0 && res->memory_reservation > 0)
		r = write_i64(cg, "memory.low", res->memory_reservation, err);
	if (r < 0 || res->memory_swap <= 0)
		return r;
	if (limit <= 0) {
		r = cgroup_read_i64(dir, "memory.max", &limit, err);
		if (r < 0 && r != -ENOENT)
			return r;
		if (r < 0 || limit == CGROUP_UNLIMITED)
			return error_set(err, EINVAL,
					 "memory.swap.max: a swap limit needs a memory limit");
	}
	if (res->memory_swap < limit)
		return error_set(err, EINVAL,
				 "memory.swap.max: memory+swap limit %" PRId64
				 " is below the memory limit %" PRId64,
				 res->memory_swap, limit);
	return write_i64(cg, "memory.swap.max", res->memory_swap - limit, err);
}

/* cpu.max is "quota period": a period alone keeps the current quota (a quota alone keeps the
 * current period: the kernel does that). */
static int apply_cpu_max(struct cgroup *cg, const struct spec_resources *res, struct error *err)
{
	const char *dir = cg->hier[0].dir;
	char buf[96], cur[32] = "max";
	struct error ignored;

	if (res->cpu_quota > 0 && res->cpu_period > 0)
		snprintf(buf, sizeof(buf), "%" PRId64 " %" PRId64, res->cpu_quota, res->cpu_period);
	else if (res->cpu_quota > 0)
		snprintf(buf, sizeof(buf), "%" PRId64, res->cpu_quota);
	else if (res->cpu_period > 0) {
		if (cgroup_read(dir, "cpu.max", cur, sizeof(cur), &ignored) < 0 || !cur[0])
			snprintf(cur, sizeof(cur), "max");
		cur[strcspn(cur, " ")] = '\0';
		snprintf(buf, sizeof(buf), "%s %" PRId64, cur, res->cpu_period);
	} else
		return 0;
	return cgroup_write(cg, dir, "cpu.max", buf, err);
}

static int apply_cpu(struct cgroup *cg, const struct spec_resources *res, struct error *err)
{
	const char *dir = cg->hier[0].dir;
	int r = 0;

	if (res->cpu_realtime_runtime > 0 || res->cpu_realtime_period > 0)
		return error_set(err, EOPNOTSUPP,
				 "cpu.rt_runtime_us: realtime scheduling needs cgroup v1");
	if (res->cpu_shares > 0) {
		int64_t s = res->cpu_shares < 2	       ? 2
			    : res->cpu_shares > 262144 ? 262144
						       : res->cpu_shares;

		r = write_i64(cg, "cpu.weight", 1 + ((s - 2) * 9999) / 262142, err);
	}
	if (r == 0)
		r = apply_cpu_max(cg, res, err);
	if (r == 0 && res->cpu_cpus && res->cpu_cpus[0])
		r = cgroup_write(cg, dir, "cpuset.cpus", res->cpu_cpus, err);
	if (r == 0 && res->cpu_mems && res->cpu_mems[0])
		r = cgroup_write(cg, dir, "cpuset.mems", res->cpu_mems, err);
	return r;
}

/* pids.max (0 = max); io.bfq.weight takes the blkio weight as is, io.weight on 1..10000. */
static int apply_pids_io(struct cgroup *cg, const struct spec_resources *res, struct error *err)
{
	const char *dir = cg->hier[0].dir;
	int64_t w = res->blkio_weight;
	int r = 0;

	if (res->pids_limit == 0)
		r = cgroup_write(cg, dir, "pids.max", "max", err);
	else if (res->pids_limit > 0)
		r = write_i64(cg, "pids.max", res->pids_limit, err);
	if (r < 0 || w <= 0)
		return r;
	if (cgroup_has_file(dir, "io.bfq.weight"))
		return write_i64(cg, "io.bfq.weight", w, err);
	return write_i64(cg, "io.weight", 1 + ((w < 10 ? 0 : w - 10) * 9999) / 990, err);
}

static int apply_hugetlb(struct cgroup *cg, const struct spec_resources *res, struct error *err)
{
	char file[128];
	int r;

	for (size_t i = 0; i < res->n_hugepage_limits; i++) {
		const struct spec_kv *kv = &res->hugepage_limits[i];

		snprintf(file, sizeof(file), "hugetlb.%s.max", kv->key);
		if (strchr(kv->key, '/'))
			return error_set(err, EINVAL, "%s: bad page size", file);
		r = cgroup_write(cg, cg->hier[0].dir, file, kv->value, err);
		if (r < 0)
			return r;
	}
	return 0;
}

/* An eBPF program replaces the v1 lists. A plain tree (tests) cannot hold one: built only. */
static int apply_devices(struct cgroup *cg, const struct spec_resources *res, struct error *err)
{
	cleanup_free struct bpf_insn *insns = NULL;
	cleanup_fd int prog = -1;
	size_t n = 0;
	int r;

	if (res->n_devices == 0)
		return 0;
	r = cgroup_devices_bpf_build(res->devices, res->n_devices, &insns, &n, err);
	if (r < 0 || cg->plain)
		return r;
	prog = cgroup_devices_bpf_load(insns, n, err);
	if (prog < 0)
		return prog;
	return cgroup_devices_bpf_attach(cg->hier[0].dir, prog, err);
}

static int v2_apply(struct cgroup *cg, const struct spec_resources *res, struct error *err)
{
	int r;

	r = apply_memory(cg, res, err);
	if (r == 0)
		r = apply_cpu(cg, res, err);
	if (r == 0)
		r = apply_pids_io(cg, res, err);
	if (r == 0)
		r = apply_hugetlb(cg, res, err);
	if (r == 0)
		r = apply_unified(cg, res, err);
	if (r == 0)
		r = apply_devices(cg, res, err);
	return r;
}

/* cgroup.events holds "frozen 0|1" among other "key value" lines. */
static int events_frozen(const char *dir, struct error *err)
{
	char buf[1024];
	const char *p;
	int r;

	r = cgroup_read(dir, "cgroup.events", buf, sizeof(buf), err);
	if (r < 0)
		return r;
	for (p = buf; p; p = strchr(p, '\n')) {
		if (*p == '\n')
			p++;
		if (strncmp(p, "frozen ", 7) == 0)
			return p[7] == '1';
	}
	return 0;
}

static int v2_freeze(struct cgroup *cg, bool frozen, struct error *err)
{
	const char *dir = cg->hier[0].dir;
	long waited = 0, step = 1;
	int r;

	r = cgroup_write(cg, dir, "cgroup.freeze", frozen ? "1" : "0", err);
	if (r < 0 || !frozen)
		return r;
	for (;;) {
		r = events_frozen(dir, err);
		if (r != 0)
			return r < 0 ? r : 0;
		if (waited >= FREEZE_WAIT_MS)
			break;
		cgroup_sleep_ms(step);
		waited += step;
		step = step < 10 ? step * 2 : 10;
	}
	cgroup_write(cg, dir, "cgroup.freeze", "0", err);
	return error_set(err, EBUSY, "%s: not frozen after %d ms", dir, FREEZE_WAIT_MS);
}

static int v2_is_frozen(struct cgroup *cg, struct error *err)
{
	char buf[16];
	struct error e;

	if (cgroup_read(cg->hier[0].dir, "cgroup.freeze", buf, sizeof(buf), &e) < 0) {
		if (e.code == ENOENT)
			return 0;
		*err = e;
		return -e.code;
	}
	return strcmp(buf, "1") == 0;
}

static const struct cgroup_hier *v2_procs_hier(const struct cgroup *cg)
{
	return &cg->hier[0];
}

/* cgroup.kill (Linux 5.14) SIGKILLs the whole subtree at once. */
static int v2_kill(struct cgroup *cg, int sig, struct error *err)
{
	char file[PATH_MAX];

	snprintf(file, sizeof(file), "%s/cgroup.kill", cg->hier[0].dir);
	if (sig != SIGKILL || access(file, F_OK) < 0)
		return -EOPNOTSUPP;
	return cgroup_write(cg, cg->hier[0].dir, "cgroup.kill", "1", err);
}

static int v2_stats(struct cgroup *cg, struct cgroup_stats *ret, struct error *err)
{
	static const struct {
		const char *file, *key;
		size_t offset;
	} files[] = {
	    {"cpu.stat", "usage_usec", offsetof(struct cgroup_stats, cpu_usage_ns)},
	    {"memory.current", NULL, offsetof(struct cgroup_stats, memory_usage)},
	    {"memory.max", NULL, offsetof(struct cgroup_stats, memory_limit)},
	    {"memory.peak", NULL, offsetof(struct cgroup_stats, memory_max_usage)},
	    {"memory.events", "oom_kill", offsetof(struct cgroup_stats, oom_kills)},
	    {"pids.current", NULL, offsetof(struct cgroup_stats, pids_current)},
	    {"pids.max", NULL, offsetof(struct cgroup_stats, pids_limit)},
	};
	const char *dir = cg->hier[0].dir;

	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		int64_t *field = (int64_t *)((char *)ret + files[i].offset);
		int r = files[i].key ? cgroup_read_key(dir, files[i].file, files[i].key, field, err)
				     : cgroup_read_i64(dir, files[i].file, field, err);

		if (r < 0 && r != -ENOENT)
			return r;
	}
	if (ret->cpu_usage_ns >= 0)
		ret->cpu_usage_ns = ret->cpu_usage_ns > INT64_MAX / 1000 ? CGROUP_UNLIMITED
									 : ret->cpu_usage_ns * 1000;
	return 0;
}

const struct cgroup_ops cgroup_v2_ops = {
    .name = "v2",
    .init = v2_init,
    .create = v2_create,
    .enter = v2_enter,
    .apply = v2_apply,
    .freeze = v2_freeze,
    .is_frozen = v2_is_frozen,
    .procs_hier = v2_procs_hier,
    .kill = v2_kill,
    .stats = v2_stats,
};
