/* cgroup_internal: what cgroup.c shares with its two backends (cgroup-v1.c, cgroup-v2.c).
 *
 * Not for use outside src/runtime/cgroup*.c.
 */
#ifndef VESSEL_RUNTIME_CGROUP_INTERNAL_H
#define VESSEL_RUNTIME_CGROUP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "runtime/cgroup.h"
#include "util/error.h"

/* One hierarchy: v2 has exactly one, v1 one per (co-)mounted controller set. */
struct cgroup_hier {
	char *name; /* "cpu,cpuacct", "pids", "systemd"; "" for v2 */
	char *root; /* the hierarchy's root directory */
	char *dir;  /* root + path: this cgroup's directory there */
};

struct cgroup {
	const struct cgroup_ops *ops;
	char *mountroot;
	char *path; /* cleaned, starts with '/' */
	struct cgroup_hier *hier;
	size_t n_hier;
	bool plain; /* plain directory tree (tests): writes may create files */
};

/* Each backend fills one of these, as a static const table. Every op takes a built handle. */
struct cgroup_ops {
	const char *name;
	/* Discovers the hierarchies under cg->mountroot into cg->hier. strict: only real cgroupfs.
	 */
	int (*init)(struct cgroup *cg, bool strict, struct error *err);
	int (*create)(struct cgroup *cg, struct error *err);
	int (*enter)(struct cgroup *cg, pid_t pid, struct error *err);
	int (*apply)(struct cgroup *cg, const struct spec_resources *res, struct error *err);
	int (*freeze)(struct cgroup *cg, bool frozen, struct error *err);
	int (*is_frozen)(struct cgroup *cg, struct error *err);
	/* The hierarchy whose cgroup.procs lists the tasks. */
	const struct cgroup_hier *(*procs_hier)(const struct cgroup *cg);
	/* Fast kill of every task, or -EOPNOTSUPP to fall back to freeze + signal + thaw. */
	int (*kill)(struct cgroup *cg, int sig, struct error *err);
	/* Fills *ret (already set to all -1). */
	int (*stats)(struct cgroup *cg, struct cgroup_stats *ret, struct error *err);
};

extern const struct cgroup_ops cgroup_v1_ops;
extern const struct cgroup_ops cgroup_v2_ops;

/* Appends a hierarchy (name and root borrowed, copied); dir is root + cg->path. */
int cgroup_add_hier(struct cgroup *cg, const char *name, const char *root, struct error *err);
/* Writes value to dir/file (O_CREAT only when cg->plain). */
int cgroup_write(const struct cgroup *cg, const char *dir, const char *file, const char *value,
		 struct error *err);
/* Reads dir/file into buf (NUL-terminated, trailing newline stripped). */
int cgroup_read(const char *dir, const char *file, char *buf, size_t size, struct error *err);
/* mkdir -p of root + path (path starts with '/'); each level created is passed to
 * created(cg, dir, data), if not NULL, parents first. */
int cgroup_mkdir_p(struct cgroup *cg, const char *root, const char *path,
		   int (*created)(struct cgroup *cg, const char *dir, void *data,
				  struct error *err),
		   void *data, struct error *err);
/* Reads dir/file as one integer ("max" = CGROUP_UNLIMITED); -ENOENT (err untouched) if the file
 * is missing. */
int cgroup_read_i64(const char *dir, const char *file, int64_t *ret, struct error *err);
/* Reads the value of "key N" in a keyed file (memory.events, cpu.stat); -ENOENT (err untouched)
 * if the file or the key is missing. */
int cgroup_read_key(const char *dir, const char *file, const char *key, int64_t *ret,
		    struct error *err);
/* true if dir/file exists. */
bool cgroup_has_file(const char *dir, const char *file);
/* Sleeps for ms milliseconds. */
void cgroup_sleep_ms(long ms);
/* Finds a v1 hierarchy holding controller ("pids"), or NULL. */
const struct cgroup_hier *cgroup_find_hier(const struct cgroup *cg, const char *controller);

#endif
