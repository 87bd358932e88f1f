/* init: see init.h. Runs between fork and execve: no logging, errors go to the sync socket. */
#include "runtime/init.h"

#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/console.h"
#include "runtime/hooks.h"
#include "runtime/lifecycle.h"
#include "runtime/process.h"
#include "runtime/rootfs.h"
#include "runtime/seccomp-agent.h"
#include "runtime/state.h"
#include "runtime/sync.h"
#include "runtime/trampoline.h"
#include "util/cleanup.h"
#include "util/path.h"

/* The container's OCI state as the init reports it (to its hooks, to a seccomp agent). */
static char *init_state(const struct init_ctx *c, pid_t host_pid, enum state_status status)
{
	cleanup_free char *ann = state_annotations_json(c->spec);
	struct state st = {
	    .id = (char *)c->opts->id,
	    .pid = host_pid,
	    .bundle = (char *)c->bundle,
	    .annotations = ann,
	};
	return ann ? state_oci_json(&st, status) : NULL;
}

/* The init's own hooks: createContainer and startContainer. */
static int init_hooks(const struct init_ctx *c, enum spec_hook_kind kind, pid_t host_pid,
		      enum state_status status, struct error *err)
{
	const struct spec_hook_list *list = &c->spec->hooks[kind];

	if (list->n == 0)
		return 0;
	cleanup_free char *json = init_state(c, host_pid, status);
	if (!json)
		return error_set(err, ENOMEM, "out of memory");
	return hooks_run(list, hooks_stage_name(kind), json, err);
}

/* Loading a filter needs CAP_SYS_ADMIN or no_new_privs: without noNewPrivileges it goes in
 * before the capabilities are dropped, with it as late as possible, just before execve. */
static int init_seccomp(const struct init_ctx *c, pid_t host_pid, bool late, struct error *err)
{
	if (!c->seccomp || late != c->spec->process.no_new_privileges)
		return 0;
	cleanup_free char *json = init_state(c, host_pid, STATE_RUNNING);
	if (!json)
		return error_set(err, ENOMEM, "out of memory");
	return seccomp_agent_install(c->seccomp, c->seccomp_sock, json, host_pid, err);
}

static int set_names(const struct spec *spec, struct error *err)
{
	if (spec->hostname && sethostname(spec->hostname, strlen(spec->hostname)) < 0)
		return error_errno(err, "sethostname %s", spec->hostname);
	if (spec->domainname && setdomainname(spec->domainname, strlen(spec->domainname)) < 0)
		return error_errno(err, "setdomainname %s", spec->domainname);
	return 0;
}

/* runc creates a missing process.cwd; so do we, resolved inside the new root. */
static int make_cwd(const char *cwd, struct error *err)
{
	cleanup_fd int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		return error_errno(err, "open /");
	int fd = path_mkdir_in_root(root, cwd, 0755, err);
	if (fd < 0)
		return error_wrap(err, "process.cwd %s", cwd);
	close(fd);
	return 0;
}

static int setup(const struct init_ctx *c, pid_t *ret_host_pid, int *ret_trampoline,
		 struct error *err)
{
	const struct spec *spec = c->spec;
	cleanup(rootfs_free) struct rootfs *rfs = NULL;
	char path[PATH_MAX];
	struct sync_msg m;
	int r;

	/* GO: we are in our cgroup, and learn our pid as the host sees it */
	r = sync_expect(c->sync_fd, SYNC_GO, &m, err);
	if (r < 0)
		return r;
	*ret_host_pid = m.pid;
	if (c->unshare_cgroup && unshare(CLONE_NEWCGROUP) < 0)
		return error_errno(err, "create cgroup namespace");
	if (setsid() < 0)
		return error_errno(err, "setsid");
	if (chdir(c->bundle) < 0)
		return error_errno(err, "chdir %s", c->bundle);
	r = rootfs_prepare(spec, c->rootfs, &rfs, err);
	if (r < 0)
		return r;
	if (container_has_runtime_hooks(spec)) {
		r = sync_send(c->sync_fd, SYNC_HOOKS, 0, err);
		if (r == 0)
			r = sync_expect(c->sync_fd, SYNC_GO, NULL, err);
		if (r < 0)
			return r;
	}
	r = init_hooks(c, SPEC_HOOK_CREATE_CONTAINER, m.pid, STATE_CREATING, err);
	if (r == 0)
		r = rootfs_pivot(c->rootfs, err);
	if (r == 0)
		r = rootfs_finalize(rfs, spec, err);
	if (r == 0)
		r = set_names(spec, err);
	if (r == 0)
		r = make_cwd(spec->process.cwd, err);
	if (r == 0 && c->console_fd >= 0) {
		r = console_setup(c->console_fd, &spec->process, true, err);
		close(c->console_fd);
	}
	if (r == 0)
		r = lsm_apply(&c->lsm, &spec->process, err);
	if (r == 0)
		r = init_seccomp(c, m.pid, false, err);
	if (r == 0)
		r = process_prepare(&spec->process, err);
	if (r == 0) /* fail at create, as runc does, when there is nothing to exec */
		r = process_lookup(&spec->process, path, sizeof(path), err);
	if (r < 0)
		return r;
	*ret_trampoline = trampoline_create(err);
	return *ret_trampoline < 0 ? *ret_trampoline : 0;
}

/* Blocks until `start` writes a byte into the fifo. */
static int wait_start(int fifo_fd, struct error *err)
{
	struct pollfd p = {.fd = fifo_fd, .events = POLLIN};
	char b;

	while (poll(&p, 1, -1) < 0) {
		if (errno != EINTR)
			return error_errno(err, "wait for start");
	}
	if (read(fifo_fd, &b, 1) != 1)
		return error_errno(err, "read exec fifo");
	close(fifo_fd);
	return 0;
}

noreturn void init_main(const struct init_ctx *c)
{
	struct error err = {0};
	pid_t host_pid = 0;
	int trampoline = -1;

	if (setup(c, &host_pid, &trampoline, &err) < 0)
		goto fail;
	if (sync_send(c->sync_fd, SYNC_READY, 0, &err) < 0)
		goto fail;
	if (wait_start(c->fifo_fd, &err) < 0)
		goto fail;
	if (init_hooks(c, SPEC_HOOK_START_CONTAINER, host_pid, STATE_RUNNING, &err) < 0)
		goto fail;
	if (init_seccomp(c, host_pid, true, &err) < 0)
		goto fail;
	process_exec(&c->spec->process, c->opts->preserve_fds, trampoline, &err);
fail:
	sync_send_error(c->sync_fd, &err);
	_exit(127);
}
