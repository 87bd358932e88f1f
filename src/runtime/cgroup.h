/* cgroup: a container's control group, behind one interface with two backends.
 *
 * cgroup v1 (one hierarchy per controller under <mountroot>/<controller>, including the hybrid
 * layout where <mountroot>/unified is an empty cgroup2) and cgroup v2 (<mountroot> itself is
 * cgroup2). The backend is chosen at run time by cgroup_open/create from what <mountroot> is.
 * path: the cgroup's path relative to the hierarchy roots, e.g. "/vessel/c1".
 * mountroot: normally "/sys/fs/cgroup"; tests pass a directory tree shaped like one.
 */
#ifndef VESSEL_RUNTIME_CGROUP_H
#define VESSEL_RUNTIME_CGROUP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "runtime/spec.h"
#include "util/error.h"

struct cgroup;

/* Creates (mkdir -p) the cgroup in every hierarchy; returns owned handle. */
struct cgroup *cgroup_create(const char *mountroot, const char *path, struct error *err);
/* Opens an existing cgroup (for later commands); returns owned handle. */
struct cgroup *cgroup_open(const char *mountroot, const char *path, struct error *err);
/* As cgroup_create/cgroup_open, with the backend forced (version 1 or 2) instead of chosen by
 * statfs, so that tests can use a plain directory tree shaped like /sys/fs/cgroup (v1: every
 * subdirectory but "unified" is a hierarchy). */
struct cgroup *cgroup_create_backend(const char *mountroot, const char *path, int version,
				     struct error *err);
struct cgroup *cgroup_open_backend(const char *mountroot, const char *path, int version,
				   struct error *err);
/* Moves pid into the cgroup in every hierarchy. */
int cgroup_enter(struct cgroup *cg, pid_t pid, struct error *err);
/* Applies every set field of linux.resources (borrowed), so it serves both create and update:
 * -1, NULL and empty lists leave a setting as it is, and so does 0 where runc reads 0 as unset
 * (memory limit/reservation/swap, cpu shares/quota/period/realtime, blkio weight); pids.limit 0
 * means "max"; disableOOMKiller false leaves the OOM killer as it is. v1: memory.limit_in_bytes,
 * soft_limit_in_bytes, memsw.limit_in_bytes (if present; ordered against the current limit),
 * oom_control; cpu.shares, cfs_period_us/cfs_quota_us, rt_period_us/rt_runtime_us;
 * cpuset.cpus/mems; pids.max (0 = max); blkio.bfq.weight or blkio.weight;
 * hugetlb.<size>.limit_in_bytes; devices.deny "a" then each rule in order. v2: memory.max,
 * memory.low, memory.swap.max (swap - limit); cpu.weight, cpu.max (keeping the current quota or
 * period), cpuset.cpus/mems; pids.max; io.bfq.weight or io.weight; hugetlb.<size>.max; unified
 * keys; devices as an eBPF program attached to the cgroup, replacing the one attached before.
 * res->devices is applied as given: pass cgroup_device_rules() to get the default deny-all plus the
 * standard devices. Errors name the file: "cgroup /c1: resources: memory.limit_in_bytes: write
 * 1048576: Device or resource busy". */
int cgroup_apply(struct cgroup *cg, const struct spec_resources *res, struct error *err);

/* The devices every container may use (runc's list: mknod of any b/c device, null, zero, full,
 * random, urandom, tty, ptmx, pts, net/tun). Returns a static array (borrowed), *ret_n its size. */
const struct spec_device_rule *cgroup_default_device_rules(size_t *ret_n);
/* The device rules to apply for spec (borrowed): deny all, then linux.resources.devices in order,
 * then an allow rule for each linux.devices entry, then cgroup_default_device_rules().
 * *ret: owned (free()). */
int cgroup_device_rules(const struct spec *spec, struct spec_device_rule **ret, size_t *ret_n,
			struct error *err);

/* Usage counters; -1 where the controller or file is missing. Limits that are "max" (or v1's
 * page-counter maximum) read as CGROUP_UNLIMITED. */
#define CGROUP_UNLIMITED INT64_MAX
struct cgroup_stats {
	int64_t cpu_usage_ns;	  /* v1 cpuacct.usage; v2 cpu.stat usage_usec * 1000 */
	int64_t memory_usage;	  /* bytes: v1 memory.usage_in_bytes; v2 memory.current */
	int64_t memory_limit;	  /* v1 memory.limit_in_bytes; v2 memory.max */
	int64_t memory_max_usage; /* v1 memory.max_usage_in_bytes; v2 memory.peak */
	int64_t pids_current;	  /* pids.current */
	int64_t pids_limit;	  /* pids.max */
	int64_t oom_kills;	  /* "oom_kill N" in v1 memory.oom_control, v2 memory.events */
};
/* Reads the counters into *ret. Fails if the cgroup is gone or a file cannot be read. */
int cgroup_stats(struct cgroup *cg, struct cgroup_stats *ret, struct error *err);
/* Freezes or thaws every task (pause/resume). */
int cgroup_freeze(struct cgroup *cg, bool frozen, struct error *err);
/* 1 if frozen, 0 if not, -errno on error. */
int cgroup_is_frozen(struct cgroup *cg, struct error *err);
/* The pids in the cgroup (host view); *ret owned (NULL when *ret_n is 0). */
int cgroup_pids(struct cgroup *cg, pid_t **ret, size_t *ret_n, struct error *err);
/* Sends sig to every task in the cgroup. */
int cgroup_kill_all(struct cgroup *cg, int sig, struct error *err);
/* Removes the cgroup directories (waiting briefly for exiting tasks). */
int cgroup_destroy(struct cgroup *cg, struct error *err);
/* The cgroup path this handle was made for (borrowed). */
const char *cgroup_path(const struct cgroup *cg);
void cgroup_free(struct cgroup *cg);

#endif
