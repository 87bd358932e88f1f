/* spec: the OCI runtime configuration (config.json, runtime-spec 1.x, Linux) as plain C data.
 *
 * spec_parse() turns untrusted JSON into a validated struct spec: every field has the
 * type the spec gives it, enums are known, paths are absolute where they must be, and the
 * error names the field (`linux.namespaces[2].type: unknown namespace "foo"`). Nothing
 * later re-checks what the parser checked. All strings and arrays are owned by the spec.
 */
#ifndef VESSEL_RUNTIME_SPEC_H
#define VESSEL_RUNTIME_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/error.h"

enum spec_ns {
	SPEC_NS_PID,
	SPEC_NS_NETWORK,
	SPEC_NS_MOUNT,
	SPEC_NS_IPC,
	SPEC_NS_UTS,
	SPEC_NS_USER,
	SPEC_NS_CGROUP,
	SPEC_NS_TIME,
	SPEC_NS_MAX
};

struct spec_namespace {
	bool present; /* listed in linux.namespaces */
	char *path;   /* join this namespace; NULL: create a new one */
};

struct spec_id_map {
	uint32_t container_id;
	uint32_t host_id;
	uint32_t size;
};

struct spec_kv {
	char *key;
	char *value;
};

struct spec_rlimit {
	int resource; /* RLIMIT_* */
	uint64_t soft;
	uint64_t hard;
};

/* Capability sets as bitmasks indexed by CAP_* number (0..63). */
struct spec_caps {
	uint64_t bounding;
	uint64_t effective;
	uint64_t inheritable;
	uint64_t permitted;
	uint64_t ambient;
};

struct spec_user {
	uid_t uid;
	gid_t gid;
	bool has_umask;
	mode_t umask;
	gid_t *additional_gids;
	size_t n_additional_gids;
};

struct spec_process {
	bool terminal;
	unsigned console_height, console_width;
	struct spec_user user;
	char **args; /* NULL-terminated, at least one element */
	char **env;  /* NULL-terminated, "K=V" entries (may be empty) */
	char *cwd;   /* absolute */
	bool has_caps;
	struct spec_caps caps;
	struct spec_rlimit *rlimits;
	size_t n_rlimits;
	bool no_new_privileges;
	bool has_oom_score_adj;
	int oom_score_adj;
	char *apparmor_profile; /* NULL if unset */
	char *selinux_label;	/* NULL if unset */
};

enum spec_mount_flag {
	SPEC_MOUNT_BIND = 1 << 0,      /* bind or rbind */
	SPEC_MOUNT_RECURSIVE = 1 << 1, /* rbind */
	SPEC_MOUNT_TMPCOPYUP = 1 << 2,
};

struct spec_mount {
	char *destination;	   /* absolute, inside the container */
	char *type;		   /* "proc", "tmpfs", "bind", ...; "" if absent */
	char *source;		   /* "" if absent */
	unsigned long flags;	   /* MS_* to set (MS_RDONLY, MS_NOSUID, ...) */
	unsigned long clear_flags; /* MS_* explicitly cleared (rw, suid, dev, exec, ...) */
	unsigned long propagation; /* MS_PRIVATE/MS_SHARED/MS_SLAVE/MS_UNBINDABLE [| MS_REC], 0 */
	unsigned int vflags;	   /* enum spec_mount_flag */
	char *data;		   /* remaining options joined with ',' ("" if none) */
};

struct spec_device {
	char *path; /* absolute, inside the container */
	char type;  /* 'c', 'b', 'u' (= 'c') or 'p' */
	int64_t major, minor;
	bool has_mode;
	mode_t file_mode;
	bool has_uid, has_gid;
	uid_t uid;
	gid_t gid;
};

enum spec_hook_kind {
	SPEC_HOOK_PRESTART,
	SPEC_HOOK_CREATE_RUNTIME,
	SPEC_HOOK_CREATE_CONTAINER,
	SPEC_HOOK_START_CONTAINER,
	SPEC_HOOK_POSTSTART,
	SPEC_HOOK_POSTSTOP,
	SPEC_HOOK_MAX
};

struct spec_hook {
	char *path;  /* absolute */
	char **args; /* NULL-terminated; may be empty (then argv[0] = path) */
	char **env;  /* NULL-terminated */
	int timeout; /* seconds; 0 = none */
};

struct spec_hook_list {
	struct spec_hook *v;
	size_t n;
};

struct spec_device_rule {
	bool allow;
	char type;	      /* 'a', 'c' or 'b' */
	int64_t major, minor; /* -1 = wildcard */
	char access[4];	      /* subset of "rwm" */
};

/* linux.resources: parsed and validated; -1 (or 0 for counts) means "not set". */
struct spec_resources {
	int64_t memory_limit, memory_reservation, memory_swap;
	bool disable_oom_killer;
	int64_t cpu_shares, cpu_quota, cpu_period, cpu_realtime_runtime, cpu_realtime_period;
	char *cpu_cpus, *cpu_mems; /* NULL if unset */
	int64_t pids_limit;
	int64_t blkio_weight;
	struct spec_kv *hugepage_limits; /* key: page size ("2MB"), value: limit in bytes */
	size_t n_hugepage_limits;
	struct spec_kv *unified; /* cgroup v2 file -> value */
	size_t n_unified;
	struct spec_device_rule *devices;
	size_t n_devices;
};

struct spec {
	char *oci_version;
	char *root_path; /* as written; relative to the bundle when not absolute */
	bool root_readonly;
	char *hostname;	  /* NULL if unset */
	char *domainname; /* NULL if unset */
	bool has_process;
	struct spec_process process;
	struct spec_mount *mounts;
	size_t n_mounts;
	struct spec_hook_list hooks[SPEC_HOOK_MAX];
	struct spec_kv *annotations;
	size_t n_annotations;

	/* linux */
	struct spec_namespace namespaces[SPEC_NS_MAX];
	struct spec_id_map *uid_mappings, *gid_mappings;
	size_t n_uid_mappings, n_gid_mappings;
	struct spec_device *devices;
	size_t n_devices;
	char **masked_paths;   /* NULL-terminated */
	char **readonly_paths; /* NULL-terminated */
	struct spec_kv *sysctl;
	size_t n_sysctl;
	char *cgroups_path;		  /* NULL if unset */
	unsigned long rootfs_propagation; /* MS_* or 0 */
	bool has_resources;
	struct spec_resources resources;
	char *seccomp_json; /* linux.seccomp re-serialised, NULL if unset (parsed in seccomp.c) */
};

/* Parses config.json text. Returns owned spec, or NULL with *err naming the field. */
struct spec *spec_parse(const char *json, size_t len, struct error *err);
/* Reads and parses a file (borrowed path). */
struct spec *spec_load(const char *path, struct error *err);
/* Parses a lone process object (exec --process FILE); fills *ret (owned fields). */
int spec_parse_process(const char *json, size_t len, struct spec_process *ret, struct error *err);
void spec_process_clear(struct spec_process *p);
/* Parses a lone linux.resources object (`update -r FILE`) into *ret (fields owned; unset
 * numbers are -1). */
int spec_parse_resources(const char *json, size_t len, struct spec_resources *ret,
			 struct error *err);
/* Frees what *res owns and resets every field to "unset". */
void spec_resources_clear(struct spec_resources *res);
/* Frees spec (NULL-safe); returns NULL. */
struct spec *spec_free(struct spec *spec);

/* The name of a namespace as config.json spells it ("pid", "network", ...). */
const char *spec_ns_name(enum spec_ns ns);
/* The config.json that `spec` writes (rootless = user namespace with the caller's ids).
 * Returns owned string or NULL. */
char *spec_default_json(bool rootless, struct error *err);

#endif
