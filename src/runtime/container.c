/* container: create, start and run (see container.h). The other operations are in
 * lifecycle.c and exec.c; the init's side of create is in init.c.
 *
 * create forks a short-lived "stage1" that joins the namespaces the spec names by path,
 * unshares the user namespace (the parent writes its id maps), then the others, and forks the
 * init with CLONE_PARENT so that the init is the runtime's child and is pid 1 of a new pid
 * namespace. The init reports over a SOCK_SEQPACKET pair (sync.h) and then waits on the exec
 * fifo, which `start` writes one byte into.
 */
#include "runtime/container.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdnoreturn.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/cgroup.h"
#include "runtime/console.h"
#include "runtime/cpuset.h"
#include "runtime/exe-seal.h"
#include "runtime/hooks.h"
#include "runtime/init.h"
#include "runtime/lifecycle.h"
#include "runtime/namespaces.h"
#include "runtime/seccomp-agent.h"
#include "runtime/state.h"
#include "runtime/sync.h"
#include "runtime/waiter.h"
#include "util/cleanup.h"
#include "util/fd.h"
#include "util/log.h"
#include "util/str.h"

#define CONFIG_MAX (4 << 20)

/* Everything create builds, torn down in reverse by created_undo(). */
struct created {
	struct spec *spec;
	struct state st;
	struct cgroup *cg;
	int statefd;
	int sync_fd;
	int master; /* the pty master, when `run` holds the terminal itself */
	struct seccomp_prog *seccomp;
	pid_t pid;
	bool dir_made;
};

static void created_free(struct created *c)
{
	seccomp_prog_free(c->seccomp);
	spec_free(c->spec);
	state_clear(&c->st);
	cgroup_free(c->cg);
	if (c->statefd >= 0)
		close(c->statefd);
	if (c->sync_fd >= 0)
		close(c->sync_fd);
	if (c->master >= 0)
		close(c->master);
	*c = (struct created){.statefd = -1, .sync_fd = -1, .master = -1};
}

/* Removes what a failed create made: the init, the cgroup, the state directory. */
static void created_undo(struct created *c, const char *root, const char *id)
{
	struct error ignored;

	if (c->pid > 0) {
		kill(c->pid, SIGKILL);
		while (waitpid(c->pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	if (c->cg)
		cgroup_destroy(c->cg, &ignored);
	if (c->dir_made)
		state_remove(root, id, &ignored);
	created_free(c);
}

static noreturn void stage1_main(const struct spec *spec, int sync_fd, const struct init_ctx *ic)
{
	struct error err = {0};
	sigset_t none;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (namespaces_join_paths(spec, &err) < 0)
		goto fail;
	bool userns =
	    spec->namespaces[SPEC_NS_USER].present && !spec->namespaces[SPEC_NS_USER].path;
	if (userns) {
		if (unshare(CLONE_NEWUSER) < 0) {
			error_errno(&err, "create user namespace");
			goto fail;
		}
		if (sync_send(sync_fd, SYNC_USERMAP, 0, &err) < 0)
			goto fail;
	}
	if (sync_expect(sync_fd, SYNC_GO, NULL, &err) < 0)
		_exit(1);
	if (userns && (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)) {
		error_errno(&err, "become root in the user namespace");
		goto fail;
	}
	if (unshare(namespaces_new_flags(spec)) < 0) {
		error_errno(&err, "create namespaces");
		goto fail;
	}
	pid_t pid = (pid_t)syscall(SYS_clone, CLONE_PARENT | SIGCHLD, NULL, NULL, NULL, NULL);
	if (pid < 0) {
		error_errno(&err, "clone init");
		goto fail;
	}
	if (pid == 0)
		init_main(ic);
	sync_send(sync_fd, SYNC_PID, pid, &err);
	_exit(0);
fail:
	sync_send_error(sync_fd, &err);
	_exit(1);
}

static char *resolve_cgroup_path(const struct container_opts *o, const struct spec *spec,
				 struct error *err)
{
	const char *p = spec->cgroups_path;
	char *ret = NULL;

	if (p && o->systemd_cgroup && strchr(p, ':')) {
		error_set(
		    err, ENOTSUP,
		    "config.json: linux.cgroupsPath: \"%s\": the systemd cgroup driver is not "
		    "supported (use the cgroupfs manager)",
		    p);
		return NULL;
	}
	if (!p || !*p)
		ret = str_printf("/vessel/%s", o->id);
	else if (p[0] == '/')
		ret = strdup(p);
	else
		ret = str_printf("/vessel/%s", p);
	if (!ret)
		error_set(err, ENOMEM, "out of memory");
	return ret;
}

/* CVE-2019-5736: the container must never reach this binary through /proc/<pid>/exe. We are
 * non-dumpable from here to the init's last exec, so no container process can open our exe
 * link, and that exec goes through the sealed trampoline. Where the init is not alone in a new
 * pid namespace, other processes could watch it while it runs our code: there we also re-exec
 * from a sealed copy of the whole binary (returning only on failure, or when already sealed). */
static int protect_binary(const struct container_opts *o, const struct spec *spec,
			  struct error *err)
{
	const struct spec_namespace *pid = &spec->namespaces[SPEC_NS_PID];

	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return error_errno(err, "prctl PR_SET_DUMPABLE");
	if (pid->present && !pid->path)
		return 0;
	if (!o->reexec_argv)
		return error_set(err, EINVAL,
				 "a container without its own pid namespace needs the "
				 "runtime to re-execute itself sealed");
	return exe_seal_reexec(o->reexec_argv, err);
}

/* Reads and checks config.json; fills c->spec and the bundle/rootfs fields of c->st. */
static int load_bundle(const struct container_opts *o, struct created *c, char **ret_text,
		       size_t *ret_len, struct error *err)
{
	char buf[PATH_MAX];
	cleanup_free char *cfg = NULL;
	int r;

	if (!realpath(o->bundle ? o->bundle : ".", buf))
		return error_errno(err, "bundle %s", o->bundle ? o->bundle : ".");
	c->st.bundle = strdup(buf);
	cfg = str_printf("%s/config.json", buf);
	r = fd_read_file(cfg, CONFIG_MAX, ret_text, ret_len, err);
	if (r < 0)
		return r;
	c->spec = spec_parse(*ret_text, *ret_len, err);
	if (!c->spec)
		return -err->code;
	const struct spec *s = c->spec;
	if (!s->has_process)
		return error_set(err, EINVAL, "config.json: process: missing");
	cleanup_free char *root =
	    s->root_path[0] == '/' ? strdup(s->root_path) : str_printf("%s/%s", buf, s->root_path);
	if (!root || !realpath(root, buf))
		return error_errno(err, "config.json: root.path: %s", s->root_path);
	c->st.rootfs = strdup(buf);
	if (!s->namespaces[SPEC_NS_MOUNT].present)
		return error_set(err, EINVAL,
				 "config.json: linux.namespaces: a mount namespace is required");
	if ((s->hostname || s->domainname) && !s->namespaces[SPEC_NS_UTS].present)
		return error_set(err, EINVAL, "config.json: hostname: needs a uts namespace");
	if (cpuset_check(&s->resources, err) < 0)
		return -err->code;
	return 0;
}

static int make_state_dir(const struct container_opts *o, struct created *c, struct error *err)
{
	if (mkdir(o->root, 0700) < 0 && errno != EEXIST)
		return error_errno(err, "mkdir %s", o->root);
	cleanup_fd int rootfd = open(o->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return error_errno(err, "open %s", o->root);
	if (mkdirat(rootfd, o->id, 0700) < 0) {
		if (errno == EEXIST)
			return error_set(err, EEXIST, "container %s already exists", o->id);
		return error_errno(err, "mkdir %s/%s", o->root, o->id);
	}
	c->dir_made = true;
	c->statefd = openat(rootfd, o->id, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (c->statefd < 0)
		return error_errno(err, "open %s/%s", o->root, o->id);
	return 0;
}

static int run_hooks(const struct spec *spec, enum spec_hook_kind kind, const struct state *st,
		     enum state_status status, struct error *err)
{
	if (spec->hooks[kind].n == 0)
		return 0;
	cleanup_free char *json = state_oci_json(st, status);
	if (!json)
		return error_set(err, ENOMEM, "out of memory");
	return hooks_run(&spec->hooks[kind], hooks_stage_name(kind), json, err);
}

/* True if the runtime must run prestart/createRuntime hooks while the init waits. */
bool container_has_runtime_hooks(const struct spec *spec)
{
	return spec->hooks[SPEC_HOOK_PRESTART].n || spec->hooks[SPEC_HOOK_CREATE_RUNTIME].n;
}

/* Stage1 is needed to join namespaces by path, to map a new user namespace, and for the
 * time namespace (which clone() cannot create); otherwise the init is cloned directly. */
static bool needs_stage1(const struct spec *spec)
{
	if (spec->namespaces[SPEC_NS_USER].present || spec->namespaces[SPEC_NS_TIME].present)
		return true;
	for (int i = 0; i < SPEC_NS_MAX; i++) {
		if (spec->namespaces[i].present && spec->namespaces[i].path)
			return true;
	}
	return false;
}

/* Starts the init through stage1; returns its pid. */
static pid_t spawn_via_stage1(struct created *c, const struct init_ctx *ic, struct error *err)
{
	const struct spec *s = c->spec;
	struct sync_msg m;
	pid_t stage1 = fork();
	int r;

	if (stage1 < 0)
		return error_errno(err, "fork");
	if (stage1 == 0) {
		close(c->sync_fd);
		stage1_main(s, ic->sync_fd, ic);
	}
	r = cgroup_enter(c->cg, stage1, err);
	if (r == 0 && s->namespaces[SPEC_NS_USER].present && !s->namespaces[SPEC_NS_USER].path) {
		r = sync_expect(c->sync_fd, SYNC_USERMAP, NULL, err);
		if (r == 0)
			r = namespaces_write_id_maps(s, stage1, err);
	}
	if (r == 0)
		r = sync_send(c->sync_fd, SYNC_GO, 0, err);
	if (r == 0)
		r = sync_expect(c->sync_fd, SYNC_PID, &m, err);
	if (r < 0)
		kill(stage1, SIGKILL);
	while (waitpid(stage1, NULL, 0) < 0 && errno == EINTR)
		;
	return r < 0 ? r : m.pid;
}

/* Clones the init straight into its new namespaces (all but the cgroup namespace, which the
 * init unshares once it is in its cgroup); returns its pid. */
static pid_t spawn_direct(struct created *c, const struct init_ctx *ic, struct error *err)
{
	int flags = namespaces_new_flags(c->spec) & ~CLONE_NEWCGROUP;
	pid_t pid = (pid_t)syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, NULL);

	if (pid < 0)
		return error_errno(err, "clone");
	if (pid == 0) {
		close(c->sync_fd);
		init_main(ic);
	}
	c->pid = pid; /* from here created_undo() kills it */
	int r = cgroup_enter(c->cg, pid, err);
	return r < 0 ? r : pid;
}

/* The parent's half of the handshake with the init, once it exists. */
static int handshake(struct created *c, struct error *err)
{
	const struct spec *s = c->spec;
	int r = sync_send(c->sync_fd, SYNC_GO, c->pid, err);

	if (r == 0 && container_has_runtime_hooks(s)) {
		r = sync_expect(c->sync_fd, SYNC_HOOKS, NULL, err);
		if (r == 0)
			r = run_hooks(s, SPEC_HOOK_PRESTART, &c->st, STATE_CREATING, err);
		if (r == 0)
			r = run_hooks(s, SPEC_HOOK_CREATE_RUNTIME, &c->st, STATE_CREATING, err);
		if (r == 0)
			r = sync_send(c->sync_fd, SYNC_GO, 0, err);
	}
	if (r == 0)
		r = sync_expect(c->sync_fd, SYNC_READY, NULL, err);
	return r;
}

/* linux.resources, with the device rules every container gets: deny all but the standard
 * devices, linux.devices and what the spec allows. */
static int apply_resources(struct cgroup *cg, const struct spec *spec, struct error *err)
{
	struct spec_resources res = spec->resources;
	cleanup_free struct spec_device_rule *rules = NULL;
	int r = cgroup_device_rules(spec, &rules, &res.n_devices, err);

	if (r < 0)
		return r;
	res.devices = rules;
	return cgroup_apply(cg, &res, err);
}

/* The terminal's socket: --console-socket, or (own_tty: `run` in the foreground) one end of a
 * pair whose other end receives the pty master for us to proxy. */
static int open_console(const struct container_opts *o, bool own_tty, int *ret_fd, int *ret_recv,
			struct error *err)
{
	int sv[2];

	if (o->console_socket) {
		*ret_fd = console_connect(o->console_socket, err);
		return *ret_fd < 0 ? *ret_fd : 0;
	}
	if (!own_tty)
		return error_set(err, EINVAL,
				 "config.json: process.terminal: needs --console-socket");
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return error_errno(err, "socketpair");
	*ret_recv = sv[0];
	*ret_fd = sv[1];
	return 0;
}

/* create, leaving *c filled (init waiting on the fifo) or nothing at all. */
static int do_create(const struct container_opts *o, bool own_tty, struct created *c,
		     struct error *err)
{
	cleanup_fd int tty_sock = -1;
	cleanup_fd int seccomp_sock = -1;
	const char *warning = NULL;
	cleanup_free char *text = NULL;
	cleanup_fd int fifo_fd = -1;
	cleanup_fd int console_fd = -1;
	int fds[2] = {-1, -1};
	size_t len = 0;
	char created[40];
	int r;

	*c = (struct created){.statefd = -1, .sync_fd = -1, .master = -1};
	r = state_check_id(o->id, err);
	if (r == 0)
		r = load_bundle(o, c, &text, &len, err);
	if (r < 0)
		goto fail;
	r = protect_binary(o, c->spec, err);
	if (r == 0 && c->spec->seccomp_json) {
		c->seccomp = seccomp_compile(c->spec->seccomp_json, err);
		r = c->seccomp ? seccomp_agent_connect(c->seccomp, &seccomp_sock, err) : -err->code;
		if (r < 0)
			error_wrap(err, "config.json");
	}
	if (r < 0)
		goto fail;
	c->st.id = strdup(o->id);
	c->st.cgroup_path = resolve_cgroup_path(o, c->spec, err);
	c->st.annotations = state_annotations_json(c->spec);
	state_now(created, sizeof(created));
	c->st.created = strdup(created);
	c->st.owner = getuid();
	if (!c->st.cgroup_path) {
		r = -err->code;
		goto fail;
	}
	r = make_state_dir(o, c, err);
	if (r < 0)
		goto fail;
	/* a record first (pid 0: "creating"), so that delete --force can clean up after a
	 * create that died half way */
	r = state_save(c->statefd, &c->st, false, err);
	if (r == 0) /* the directory is new: no one reads these files half-written */
		r = fd_write_file_new(c->statefd, "config.json", text, len, err);
	if (r < 0)
		goto fail;
	if (mkfifoat(c->statefd, "exec.fifo", 0600) < 0 ||
	    (fifo_fd = openat(c->statefd, "exec.fifo", O_RDWR | O_CLOEXEC)) < 0) {
		r = error_errno(err, "exec fifo");
		goto fail;
	}
	if (c->spec->process.terminal) {
		r = open_console(o, own_tty, &console_fd, &tty_sock, err);
		if (r < 0)
			goto fail;
	}
	c->cg = cgroup_create("/sys/fs/cgroup", c->st.cgroup_path, err);
	if (!c->cg) {
		r = -err->code;
		goto fail;
	}
	r = apply_resources(c->cg, c->spec, err);
	if (r == 0)
		r = sync_pair(fds, err);
	if (r < 0)
		goto fail;
	c->sync_fd = fds[0];
	struct init_ctx ic = {
	    .opts = o,
	    .spec = c->spec,
	    .bundle = c->st.bundle,
	    .rootfs = c->st.rootfs,
	    .sync_fd = fds[1],
	    .fifo_fd = fifo_fd,
	    .console_fd = console_fd,
	    .seccomp = c->seccomp,
	    .seccomp_sock = seccomp_sock,
	    .lsm = lsm_check(&c->spec->process, &warning),
	};
	if (warning)
		log_warn("create %s: %s", o->id, warning);
	bool stage1 = needs_stage1(c->spec);
	ic.unshare_cgroup = !stage1 && c->spec->namespaces[SPEC_NS_CGROUP].present;
	pid_t pid = stage1 ? spawn_via_stage1(c, &ic, err) : spawn_direct(c, &ic, err);
	close(fds[1]);
	if (pid < 0) {
		r = pid;
		goto fail;
	}
	c->pid = c->st.pid = pid;
	r = handshake(c, err);
	if (r == 0 && tty_sock >= 0)
		r = c->master = fd_recv(tty_sock, err);
	if (r < 0)
		goto fail;
	c->st.start_time = state_pid_start_time(c->pid);
	r = state_save(c->statefd, &c->st, true, err);
	if (r == 0 && o->pid_file)
		r = lifecycle_write_pid_file(o->pid_file, c->pid, err);
	if (r < 0)
		goto fail;
	return 0;
fail:
	created_undo(c, o->root, o->id);
	return error_wrap(err, "create %s", o->id);
}

int container_create(const struct container_opts *o, struct error *err)
{
	struct created c;
	int r = do_create(o, false, &c, err);

	if (r == 0) {
		c.pid = 0; /* the init lives on */
		created_free(&c);
	}
	return r;
}

/* Lets the init exec: one byte into its fifo, then the fifo goes (status: running). */
static int signal_start(const char *root, const char *id, struct error *err)
{
	cleanup_free char *path = str_printf("%s/%s/exec.fifo", root, id);
	cleanup_fd int fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0) {
		if (errno == ENXIO)
			return error_set(err, ESRCH, "container %s: init has exited", id);
		return error_errno(err, "open %s", path);
	}
	if (write(fd, "", 1) != 1)
		return error_errno(err, "write %s", path);
	unlink(path);
	return 0;
}

static void poststart(const struct spec *spec, const struct state *st)
{
	struct error err;

	if (run_hooks(spec, SPEC_HOOK_POSTSTART, st, STATE_RUNNING, &err) < 0)
		log_warn("%s", err.msg);
}

int container_start(const char *root, const char *id, struct error *err)
{
	struct state st;
	int r = state_load(root, id, &st, err);

	if (r < 0)
		return error_wrap(err, "start");
	enum state_status status = state_status(root, &st);
	if (status != STATE_CREATED) {
		r = error_set(err, EINVAL, "start %s: container is %s, not created", id,
			      state_status_name(status));
		goto out;
	}
	r = signal_start(root, id, err);
	if (r < 0) {
		error_wrap(err, "start");
		goto out;
	}
	struct spec *spec = lifecycle_stored_spec(root, id, err);
	if (spec) {
		poststart(spec, &st);
		spec_free(spec);
	}
	r = 0;
out:
	state_clear(&st);
	return r;
}

int container_run(const struct container_opts *o, int *ret_status, struct error *err)
{
	struct created c;
	struct error ignored;
	int r = do_create(o, !o->detach, &c, err);

	if (r < 0)
		return r;
	r = signal_start(o->root, o->id, err);
	if (r < 0) {
		created_undo(&c, o->root, o->id);
		return error_wrap(err, "run %s", o->id);
	}
	poststart(c.spec, &c.st);
	if (o->on_start)
		o->on_start(o->on_start_arg);
	if (o->detach) {
		c.pid = 0;
		created_free(&c);
		return 0;
	}
	/* EOF on the sync socket: the init's execve closed it. A message: exec failed. */
	r = sync_expect(c.sync_fd, SYNC_READY, NULL, err);
	bool exec_failed = r < 0 && err->code != EPIPE;
	r = waiter_wait(c.pid, c.master, o->timeout_ms, ret_status, exec_failed ? &ignored : err);
	if (!exec_failed && r < 0)
		return r;
	c.pid = 0;
	struct cgroup_stats stats;
	if (cgroup_stats(c.cg, &stats, &ignored) == 0 && stats.oom_kills > 0)
		log_warn("run %s: the container was killed by the OOM killer (memory limit)",
			 o->id);
	if (run_hooks(c.spec, SPEC_HOOK_POSTSTOP, &c.st, STATE_STOPPED, &ignored) < 0)
		log_warn("%s", ignored.msg);
	created_undo(&c, o->root, o->id);
	if (exec_failed)
		return error_wrap(err, "run %s", o->id);
	return 0;
}
