/* cgroup_v2: the unified hierarchy; the mount root is the one hierarchy. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/vfs.h>
#include <unistd.h>

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

static int apply_cpu(struct cgroup *cg, const struct spec_resources *res, struct error *err)
{
	const char *dir = cg->hier[0].dir;
	char buf[64];
	int r = 0;

	if (res->cpu_shares > 0) {
		int64_t s = res->cpu_shares < 2	       ? 2
			    : res->cpu_shares > 262144 ? 262144
						       : res->cpu_shares;

		r = write_i64(cg, "cpu.weight", 1 + ((s - 2) * 9999) / 262142, err);
	}
	if (r == 0 && (res->cpu_quota > 0 || res->cpu_period > 0)) {
		if (res->cpu_quota > 0 && res->cpu_period > 0)
			snprintf(buf, sizeof(buf), "%" PRId64 " %" PRId64, res->cpu_quota,
				 res->cpu_period);
		else if (res->cpu_quota > 0)
			snprintf(buf, sizeof(buf), "%" PRId64, res->cpu_quota);
		else
			snprintf(buf, sizeof(buf), "max %" PRId64, res->cpu_period);
		r = cgroup_write(cg, dir, "cpu.max", buf, err);
	}
	if (r == 0 && res->cpu_cpus && res->cpu_cpus[0])
		r = cgroup_write(cg, dir, "cpuset.cpus", res->cpu_cpus, err);
	if (r == 0 && res->cpu_mems && res->cpu_mems[0])
		r = cgroup_write(cg, dir, "cpuset.mems", res->cpu_mems, err);
	return r;
}

static int v2_apply(struct cgroup *cg, const struct spec_resources *res, struct error *err)
{
	int r = 0;

	if (res->memory_limit > 0)
		r = write_i64(cg, "memory.max", res->memory_limit, err);
	if (r == 0 && res->pids_limit > 0)
		r = write_i64(cg, "pids.max", res->pids_limit, err);
	if (r == 0)
		r = apply_cpu(cg, res, err);
	if (r == 0)
		r = apply_unified(cg, res, err);
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
};
