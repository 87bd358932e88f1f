/* namespaces: see namespaces.h */
#include "runtime/namespaces.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fd.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

static const struct {
	int flag;
	const char *proc;
} ns_table[SPEC_NS_MAX] = {
    [SPEC_NS_PID] = {CLONE_NEWPID, "pid"},	    [SPEC_NS_NETWORK] = {CLONE_NEWNET, "net"},
    [SPEC_NS_MOUNT] = {CLONE_NEWNS, "mnt"},	    [SPEC_NS_IPC] = {CLONE_NEWIPC, "ipc"},
    [SPEC_NS_UTS] = {CLONE_NEWUTS, "uts"},	    [SPEC_NS_USER] = {CLONE_NEWUSER, "user"},
    [SPEC_NS_CGROUP] = {CLONE_NEWCGROUP, "cgroup"}, [SPEC_NS_TIME] = {CLONE_NEWTIME, "time"},
};

/* Join order: the user namespace first (it owns the others), the mount namespace last. */
static const enum spec_ns join_order[SPEC_NS_MAX] = {
    SPEC_NS_USER, SPEC_NS_IPC,	SPEC_NS_UTS,	SPEC_NS_NETWORK,
    SPEC_NS_PID,  SPEC_NS_TIME, SPEC_NS_CGROUP, SPEC_NS_MOUNT,
};

int namespaces_flag(enum spec_ns ns)
{
	return ns_table[ns].flag;
}

const char *namespaces_proc_name(enum spec_ns ns)
{
	return ns_table[ns].proc;
}

int namespaces_new_flags(const struct spec *spec)
{
	int flags = 0;

	for (int i = 0; i < SPEC_NS_MAX; i++) {
		if (i != SPEC_NS_USER && spec->namespaces[i].present && !spec->namespaces[i].path)
			flags |= ns_table[i].flag;
	}
	return flags;
}

int namespaces_join_paths(const struct spec *spec, struct error *err)
{
	int fds[SPEC_NS_MAX];
	int r = 0;

	for (int i = 0; i < SPEC_NS_MAX; i++)
		fds[i] = -1;
	/* open them all first: joining the mount namespace changes what paths mean */
	for (int i = 0; i < SPEC_NS_MAX; i++) {
		const char *path = spec->namespaces[i].present ? spec->namespaces[i].path : NULL;
		if (!path)
			continue;
		fds[i] = open(path, O_RDONLY | O_CLOEXEC);
		if (fds[i] < 0) {
			r = error_errno(err, "linux.namespaces: %s: open %s", spec_ns_name(i),
					path);
			goto out;
		}
	}
	r = namespaces_join_fds(fds, err);
out:
	namespaces_close_fds(fds);
	return r;
}

int namespaces_join_fds(const int fds[SPEC_NS_MAX], struct error *err)
{
	for (int k = 0; k < SPEC_NS_MAX; k++) {
		enum spec_ns ns = join_order[k];
		if (fds[ns] >= 0 && setns(fds[ns], ns_table[ns].flag) < 0)
			return error_errno(err, "join %s namespace", spec_ns_name(ns));
	}
	return 0;
}

void namespaces_close_fds(int fds[SPEC_NS_MAX])
{
	for (int i = 0; i < SPEC_NS_MAX; i++) {
		if (fds[i] >= 0)
			close(fds[i]);
		fds[i] = -1;
	}
}

int namespaces_open_of(pid_t pid, int ret_fds[SPEC_NS_MAX], struct error *err)
{
	char path[64];
	struct stat mine, theirs;

	for (int i = 0; i < SPEC_NS_MAX; i++)
		ret_fds[i] = -1;
	for (int i = 0; i < SPEC_NS_MAX; i++) {
		snprintf(path, sizeof(path), "/proc/self/ns/%s", ns_table[i].proc);
		if (stat(path, &mine) < 0)
			continue; /* the kernel lacks this namespace kind */
		snprintf(path, sizeof(path), "/proc/%d/ns/%s", pid, ns_table[i].proc);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || fstat(fd, &theirs) < 0) {
			int r = error_errno(err, "open %s", path);
			if (fd >= 0)
				close(fd);
			namespaces_close_fds(ret_fds);
			return r;
		}
		if (theirs.st_ino == mine.st_ino && theirs.st_dev == mine.st_dev)
			close(fd);
		else
			ret_fds[i] = fd;
	}
	return 0;
}

static int write_map(pid_t pid, const char *file, const struct spec_id_map *m, size_t n,
		     struct error *err)
{
	char path[64];
	char buf[4096];
	size_t len = 0;

	for (size_t i = 0; i < n; i++) {
		int k = snprintf(buf + len, sizeof(buf) - len, "%u %u %u\n", m[i].container_id,
				 m[i].host_id, m[i].size);
		if (k < 0 || (size_t)k >= sizeof(buf) - len)
			return error_set(err, E2BIG, "%s: too many mappings", file);
		len += (size_t)k;
	}
	if (len == 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/%s", pid, file);
	cleanup_fd int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return error_errno(err, "open %s", path);
	int r = fd_write_all(fd, buf, len);
	if (r < 0)
		return error_set(err, -r, "write %s: %s", path, strerror(-r));
	return 0;
}

int namespaces_write_id_maps(const struct spec *spec, pid_t pid, struct error *err)
{
	int r = write_map(pid, "uid_map", spec->uid_mappings, spec->n_uid_mappings, err);
	if (r < 0)
		return error_wrap(err, "linux.uidMappings");
	r = write_map(pid, "gid_map", spec->gid_mappings, spec->n_gid_mappings, err);
	if (r < 0)
		return error_wrap(err, "linux.gidMappings");
	return 0;
}
