/* exec: a new process in a running container (runc exec), see container.h.
 *
 * A stage1 joins the container's namespaces (opened from /proc/<init>/ns before anything is
 * joined) and forks the process with CLONE_PARENT, so that it is our child and inside the pid
 * namespace. We are made non-dumpable first: while we run inside the container, its processes
 * cannot open our /proc/<pid>/exe (CVE-2019-5736).
 */
#include "runtime/container.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <stdnoreturn.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/cgroup.h"
#include "runtime/console.h"
#include "runtime/lifecycle.h"
#include "runtime/lsm.h"
#include "runtime/namespaces.h"
#include "runtime/process.h"
#include "runtime/seccomp-agent.h"
#include "runtime/state.h"
#include "runtime/sync.h"
#include "runtime/waiter.h"
#include "runtime/trampoline.h"
#include "util/cleanup.h"
#include "util/fd.h"
#include "util/log.h"
#include "util/str.h"

struct exec_job {
	const struct container_exec_opts *o;
	struct spec *spec;	       /* the container's stored config */
	struct spec_process from_file; /* --process FILE, owned */
	struct spec_process merged;    /* fields borrowed from spec, o and from_file */
	char **env;		       /* owned array, borrowed strings */
	int ns[SPEC_NS_MAX];
	int console_fd;
	int tty_recv; /* own_tty: where the pty master arrives */
	int sync_fd;
	struct seccomp_prog *seccomp; /* the container's linux.seccomp, or NULL */
	int seccomp_sock;
	char *state_json; /* the container's OCI state, for a seccomp agent */
	struct lsm_plan lsm;
};

static int parse_user(const char *s, struct spec_user *u, struct error *err)
{
	long uid, gid;
	cleanup_free char *copy = strdup(s);
	char *colon = copy ? strchr(copy, ':') : NULL;

	if (!copy)
		return error_set(err, ENOMEM, "out of memory");
	if (colon)
		*colon = '\0';
	if (str_to_long(copy, 0, UINT32_MAX - 1, &uid) < 0 ||
	    (colon && str_to_long(colon + 1, 0, UINT32_MAX - 1, &gid) < 0))
		return error_set(err, EINVAL, "--user %s: expected UID[:GID]", s);
	u->uid = (uid_t)uid;
	u->gid = colon ? (gid_t)gid : 0;
	return 0;
}

/* Builds job->merged: the --process file as is, else the config's process with the flags. */
static int build_process(struct exec_job *j, struct error *err)
{
	const struct container_exec_opts *o = j->o;
	cleanup_free char *text = NULL;
	size_t len, n1, n2;
	int r;

	if (o->process_file) {
		r = fd_read_file(o->process_file, 4 << 20, &text, &len, err);
		if (r == 0)
			r = spec_parse_process(text, len, &j->from_file, err);
		if (r < 0)
			return error_wrap(err, "--process %s", o->process_file);
		j->merged = j->from_file;
		return 0;
	}
	j->merged = j->spec->process;
	j->merged.args = o->args;
	j->merged.terminal = o->tty;
	if (o->cwd)
		j->merged.cwd = (char *)o->cwd;
	if (o->user) {
		j->merged.user.n_additional_gids = 0;
		r = parse_user(o->user, &j->merged.user, err);
		if (r < 0)
			return r;
	}
	if (o->n_additional_gids) {
		j->merged.user.additional_gids = (gid_t *)o->additional_gids;
		j->merged.user.n_additional_gids = o->n_additional_gids;
	}
	j->merged.no_new_privileges |= o->no_new_privs;
	n1 = strv_len(j->spec->process.env);
	n2 = strv_len(o->env);
	j->env = calloc(n1 + n2 + 1, sizeof(char *));
	if (!j->env)
		return error_set(err, ENOMEM, "out of memory");
	memcpy(j->env, j->spec->process.env, n1 * sizeof(char *));
	if (n2)
		memcpy(j->env + n1, o->env, n2 * sizeof(char *));
	j->merged.env = j->env;
	return 0;
}

static int exec_seccomp(const struct exec_job *j, struct error *err)
{
	if (!j->seccomp)
		return 0;
	return seccomp_agent_install(j->seccomp, j->seccomp_sock, j->state_json, getpid(), err);
}

static noreturn void exec_child(const struct exec_job *j)
{
	struct error err = {0};
	const struct spec_process *p = &j->merged;

	if (p->terminal) {
		if (setsid() < 0) {
			error_errno(&err, "setsid");
			goto fail;
		}
		if (console_setup(j->console_fd, p, false, &err) < 0)
			goto fail;
		close(j->console_fd);
	}
	/* seccomp as the init has it: before dropping capabilities unless no_new_privs */
	bool late = p->no_new_privileges;
	int trampoline = trampoline_create(&err);
	if (trampoline >= 0 && lsm_apply(&j->lsm, p, &err) == 0 &&
	    (late || exec_seccomp(j, &err) == 0) && process_prepare(p, &err) == 0 &&
	    (!late || exec_seccomp(j, &err) == 0))
		process_exec(p, j->o->preserve_fds, trampoline, &err);
fail:
	sync_send_error(j->sync_fd, &err);
	_exit(127);
}

static noreturn void exec_stage1(const struct exec_job *j)
{
	struct error err = {0};
	sigset_t none;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (sync_expect(j->sync_fd, SYNC_GO, NULL, &err) < 0)
		_exit(1);
	if (namespaces_join_fds(j->ns, &err) < 0)
		goto fail;
	pid_t pid = (pid_t)syscall(SYS_clone, CLONE_PARENT | SIGCHLD, NULL, NULL, NULL, NULL);
	if (pid < 0) {
		error_errno(&err, "clone");
		goto fail;
	}
	if (pid == 0)
		exec_child(j);
	sync_send(j->sync_fd, SYNC_PID, pid, &err);
	_exit(0);
fail:
	sync_send_error(j->sync_fd, &err);
	_exit(1);
}

/* Forks the process into the container; returns its pid once it has exec'd. */
static pid_t spawn(struct exec_job *j, const struct state *st, struct error *err)
{
	int fds[2];
	struct sync_msg m;
	struct error ignored;
	int r = sync_pair(fds, err);

	if (r < 0)
		return r;
	j->sync_fd = fds[1];
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	pid_t stage1 = fork();
	if (stage1 < 0) {
		close(fds[0]);
		close(fds[1]);
		return error_errno(err, "fork");
	}
	if (stage1 == 0) {
		close(fds[0]);
		exec_stage1(j);
	}
	close(fds[1]);
	cleanup_fd int sync_fd = fds[0];
	struct cgroup *cg = cgroup_open("/sys/fs/cgroup", st->cgroup_path, &ignored);
	if (cg)
		cgroup_enter(cg, stage1, &ignored);
	cgroup_free(cg);
	r = sync_send(sync_fd, SYNC_GO, 0, err);
	if (r == 0)
		r = sync_expect(sync_fd, SYNC_PID, &m, err);
	while (waitpid(stage1, NULL, 0) < 0 && errno == EINTR)
		;
	if (r < 0)
		return r;
	/* EOF: the execve closed the socket; a message: it failed */
	r = sync_expect(sync_fd, SYNC_READY, NULL, err);
	if (r < 0 && err->code != EPIPE) {
		while (waitpid(m.pid, NULL, 0) < 0 && errno == EINTR)
			;
		return r;
	}
	return m.pid;
}

static void job_free(struct exec_job *j)
{
	seccomp_prog_free(j->seccomp);
	free(j->state_json);
	if (j->seccomp_sock >= 0)
		close(j->seccomp_sock);
	spec_free(j->spec);
	spec_process_clear(&j->from_file);
	free(j->env);
	namespaces_close_fds(j->ns);
	if (j->console_fd >= 0)
		close(j->console_fd);
	if (j->tty_recv >= 0)
		close(j->tty_recv);
}

static int prepare_job(struct exec_job *j, const struct state *st, struct error *err)
{
	const struct container_exec_opts *o = j->o;
	int r;

	j->spec = lifecycle_stored_spec(o->root, o->id, err);
	if (!j->spec)
		return -err->code;
	r = build_process(j, err);
	if (r < 0)
		return r;
	if (!j->merged.args || !j->merged.args[0])
		return error_set(err, EINVAL, "no command given");
	const char *warning = NULL;
	j->lsm = lsm_check(&j->merged, &warning);
	if (warning)
		log_warn("exec %s: %s", o->id, warning);
	if (j->merged.terminal && !o->console_socket && o->own_tty && !o->detach) {
		int sv[2]; /* the master comes back to us: we proxy it like run does */
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
			return error_errno(err, "socketpair");
		j->tty_recv = sv[0];
		j->console_fd = sv[1];
	} else if (j->merged.terminal) {
		if (!o->console_socket)
			return error_set(err, EINVAL, "--tty needs --console-socket");
		j->console_fd = console_connect(o->console_socket, err);
		if (j->console_fd < 0)
			return j->console_fd;
	}
	if (j->spec->seccomp_json) {
		j->state_json = state_oci_json(st, STATE_RUNNING);
		j->seccomp = seccomp_compile(j->spec->seccomp_json, err);
		r = j->seccomp ? seccomp_agent_connect(j->seccomp, &j->seccomp_sock, err)
			       : -err->code;
		if (r < 0)
			return r;
	}
	return namespaces_open_of(st->pid, j->ns, err);
}

int container_exec(const struct container_exec_opts *o, int *ret_status, struct error *err)
{
	struct exec_job j = {
	    .o = o, .console_fd = -1, .tty_recv = -1, .sync_fd = -1, .seccomp_sock = -1};
	cleanup_fd int master = -1;
	struct state st;
	int r;

	for (int i = 0; i < SPEC_NS_MAX; i++)
		j.ns[i] = -1;
	r = state_load(o->root, o->id, &st, err);
	if (r < 0)
		return error_wrap(err, "exec");
	enum state_status status = state_status(o->root, &st);
	if (status != STATE_RUNNING && status != STATE_CREATED) {
		r = error_set(err, EINVAL, "container is %s", state_status_name(status));
		goto out;
	}
	r = prepare_job(&j, &st, err);
	if (r < 0)
		goto out;
	pid_t pid = spawn(&j, &st, err);
	if (pid < 0) {
		r = pid;
		goto out;
	}
	if (o->pid_file) {
		r = lifecycle_write_pid_file(o->pid_file, pid, err);
		if (r < 0)
			goto out;
	}
	if (j.tty_recv >= 0) {
		master = fd_recv(j.tty_recv, err);
		if (master < 0) {
			r = master;
			goto out;
		}
	}
	*ret_status = 0;
	if (!o->detach)
		r = waiter_wait(pid, master, 0, ret_status, err);
out:
	job_free(&j);
	state_clear(&st);
	return r < 0 ? error_wrap(err, "exec %s", o->id) : 0;
}
