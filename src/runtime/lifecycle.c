/* lifecycle: state, kill, delete, pause/resume, ps and list (see container.h). */
#include "runtime/container.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "runtime/cgroup.h"
#include "runtime/hooks.h"
#include "runtime/lifecycle.h"
#include "runtime/state.h"
#include "util/cleanup.h"
#include "util/fd.h"
#include "util/log.h"
#include "util/str.h"

#define CGROUP_ROOT "/sys/fs/cgroup"

struct spec *lifecycle_stored_spec(const char *root, const char *id, struct error *err)
{
	cleanup_free char *path = str_printf("%s/%s/config.json", root, id);
	cleanup_free char *text = NULL;
	size_t len;

	if (!path) {
		error_set(err, ENOMEM, "out of memory");
		return NULL;
	}
	if (fd_read_file(path, 4 << 20, &text, &len, err) < 0)
		return NULL;
	return spec_parse(text, len, err);
}

int lifecycle_write_pid_file(const char *path, pid_t pid, struct error *err)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%d", pid);
	cleanup_free char *dir = strdup(path);
	cleanup_free char *base = strdup(path);

	if (!dir || !base)
		return error_set(err, ENOMEM, "out of memory");
	char *slash = strrchr(dir, '/');
	const char *name = slash ? slash + 1 : path;
	if (slash)
		*(slash == dir ? slash + 1 : slash) = '\0';
	cleanup_fd int dfd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return error_errno(err, "pid file %s", path);
	int r = fd_write_file_atomic(dfd, name, buf, (size_t)n, err);
	if (r < 0)
		return error_wrap(err, "pid file %s", path);
	return 0;
}

char *container_state(const char *root, const char *id, struct error *err)
{
	struct state st;

	if (state_load(root, id, &st, err) < 0) {
		error_wrap(err, "state");
		return NULL;
	}
	char *json = state_oci_json(&st, state_status(root, &st));
	state_clear(&st);
	if (!json)
		error_set(err, ENOMEM, "out of memory");
	return json;
}

int container_kill(const char *root, const char *id, int sig, unsigned flags, struct error *err)
{
	struct state st;
	int r = state_load(root, id, &st, err);

	if (r < 0)
		return error_wrap(err, "kill");
	enum state_status status = state_status(root, &st);
	if (flags & CONTAINER_KILL_ALL) {
		struct cgroup *cg = cgroup_open(CGROUP_ROOT, st.cgroup_path, err);
		r = cg ? cgroup_kill_all(cg, sig, err) : -err->code;
		cgroup_free(cg);
	} else if (status == STATE_STOPPED || st.pid <= 0) {
		r = error_set(err, ESRCH, "container is not running");
	} else if (kill(st.pid, sig) < 0) {
		r = error_errno(err, "signal %d", st.pid);
	}
	state_clear(&st);
	return r < 0 ? error_wrap(err, "kill %s", id) : 0;
}

/* Waits up to ~2 s for the init to be gone (it may be someone else's child to reap). */
static void wait_gone(const struct state *st)
{
	for (int i = 0; i < 400 && state_pid_start_time(st->pid) == st->start_time; i++)
		nanosleep(&(struct timespec){.tv_nsec = 5 * 1000 * 1000}, NULL);
}

/*
 * delete --force of an unknown id succeeds, like runc's: podman deletes after a failed create
 * and from its exit command. A directory left by an aborted create goes too.
 */
static int delete_leftover(const char *root, const char *id, struct error *err)
{
	int r = state_remove(root, id, err);

	if (r < 0 && r != -ENOENT)
		return error_wrap(err, "delete");
	return 0;
}

int container_delete(const char *root, const char *id, bool force, struct error *err)
{
	struct state st;
	struct error e2;
	int r = state_load(root, id, &st, err);

	if (r == -ENOENT && force)
		return delete_leftover(root, id, err);
	if (r < 0)
		return error_wrap(err, "delete");
	enum state_status status = state_status(root, &st);
	if (status != STATE_STOPPED && status != STATE_CREATED && !force) {
		r = error_set(err, EBUSY, "delete %s: container is %s (use --force)", id,
			      state_status_name(status));
		goto out;
	}
	struct cgroup *cg = cgroup_open(CGROUP_ROOT, st.cgroup_path, &e2);
	if (status != STATE_STOPPED) {
		if (status == STATE_PAUSED && cg)
			cgroup_freeze(cg, false, &e2);
		if (cg)
			cgroup_kill_all(cg, SIGKILL, &e2);
		if (st.pid > 0) {
			kill(st.pid, SIGKILL);
			wait_gone(&st);
		}
	}
	if (cg) {
		if (cgroup_destroy(cg, &e2) < 0)
			log_warn("delete %s: %s", id, e2.msg);
		cgroup_free(cg);
	}
	struct spec *spec = lifecycle_stored_spec(root, id, &e2);
	if (spec && spec->hooks[SPEC_HOOK_POSTSTOP].n) {
		cleanup_free char *json = state_oci_json(&st, STATE_STOPPED);
		if (hooks_run(&spec->hooks[SPEC_HOOK_POSTSTOP], "poststop", json, &e2) < 0)
			log_warn("delete %s: %s", id, e2.msg);
	}
	spec_free(spec);
	r = state_remove(root, id, err);
out:
	state_clear(&st);
	return r;
}

int container_pause(const char *root, const char *id, bool pause, struct error *err)
{
	const char *verb = pause ? "pause" : "resume";
	struct state st;
	int r = state_load(root, id, &st, err);

	if (r < 0)
		return error_wrap(err, "%s", verb);
	enum state_status status = state_status(root, &st);
	if (status != (pause ? STATE_RUNNING : STATE_PAUSED)) {
		r = error_set(err, EINVAL, "%s %s: container is %s", verb, id,
			      state_status_name(status));
		goto out;
	}
	struct cgroup *cg = cgroup_open(CGROUP_ROOT, st.cgroup_path, err);
	r = cg ? cgroup_freeze(cg, pause, err) : -err->code;
	cgroup_free(cg);
	if (r == 0) {
		cleanup_free char *marker = str_printf("%s/%s/paused", root, id);
		if (pause)
			close(open(marker, O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
		else
			unlink(marker);
	} else {
		error_wrap(err, "%s %s", verb, id);
	}
out:
	state_clear(&st);
	return r;
}

/* Opens the cgroup of a container that is not stopped; *ret_cg owned. */
static int open_live_cgroup(const char *root, const char *id, struct cgroup **ret_cg,
			    struct error *err)
{
	struct state st;
	int r = state_load(root, id, &st, err);

	if (r < 0)
		return r;
	if (state_status(root, &st) == STATE_STOPPED)
		r = error_set(err, ESRCH, "container %s is stopped", id);
	else if (!(*ret_cg = cgroup_open(CGROUP_ROOT, st.cgroup_path, err)))
		r = -err->code;
	state_clear(&st);
	return r;
}

int container_update(const char *root, const char *id, const struct spec_resources *res,
		     struct error *err)
{
	struct cgroup *cg = NULL;
	int r = open_live_cgroup(root, id, &cg, err);

	if (r == 0)
		r = cgroup_apply(cg, res, err);
	cgroup_free(cg);
	return r < 0 ? error_wrap(err, "update %s", id) : 0;
}

int container_stats(const char *root, const char *id, struct cgroup_stats *ret, struct error *err)
{
	struct cgroup *cg = NULL;
	int r = open_live_cgroup(root, id, &cg, err);

	if (r == 0)
		r = cgroup_stats(cg, ret, err);
	cgroup_free(cg);
	return r < 0 ? error_wrap(err, "events %s", id) : 0;
}

int container_stopped(const char *root, const char *id, struct error *err)
{
	struct state st;
	int r = state_load(root, id, &st, err);

	if (r < 0)
		return r;
	r = state_status(root, &st) == STATE_STOPPED;
	state_clear(&st);
	return r;
}

int container_pids(const char *root, const char *id, pid_t **ret, size_t *ret_n, struct error *err)
{
	struct state st;
	int r = state_load(root, id, &st, err);

	if (r < 0)
		return error_wrap(err, "ps");
	struct cgroup *cg = cgroup_open(CGROUP_ROOT, st.cgroup_path, err);
	r = cg ? cgroup_pids(cg, ret, ret_n, err) : -err->code;
	cgroup_free(cg);
	state_clear(&st);
	return r < 0 ? error_wrap(err, "ps %s", id) : 0;
}

void container_list_free(struct container_info *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++) {
		free(v[i].id);
		free(v[i].bundle);
		free(v[i].rootfs);
		free(v[i].created);
	}
	free(v);
}

int container_list(const char *root, struct container_info **ret, size_t *ret_n, struct error *err)
{
	cleanup_dir DIR *d = opendir(root);
	struct container_info *v = NULL;
	size_t n = 0;
	struct dirent *e;

	*ret = NULL;
	*ret_n = 0;
	if (!d)
		return errno == ENOENT ? 0 : error_errno(err, "list %s", root);
	while ((e = readdir(d))) {
		struct state st;
		struct error ignored;
		if (e->d_name[0] == '.' || state_load(root, e->d_name, &st, &ignored) < 0)
			continue;
		struct container_info *nv = realloc(v, (n + 1) * sizeof(*v));
		if (!nv) {
			state_clear(&st);
			container_list_free(v, n);
			return error_set(err, ENOMEM, "out of memory");
		}
		v = nv;
		enum state_status status = state_status(root, &st);
		v[n++] = (struct container_info){
		    .id = TAKE_PTR(st.id),
		    .pid = status == STATE_STOPPED ? 0 : st.pid,
		    .status = state_status_name(status),
		    .bundle = TAKE_PTR(st.bundle),
		    .rootfs = TAKE_PTR(st.rootfs),
		    .created = TAKE_PTR(st.created),
		    .owner = st.owner,
		};
		state_clear(&st);
	}
	*ret = v;
	*ret_n = n;
	return 0;
}
