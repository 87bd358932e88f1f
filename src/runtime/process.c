/* process: see process.h */
#include "runtime/process.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/caps.h"
#include "util/cleanup.h"
#include "runtime/trampoline.h"
#include "util/fd.h"
#include "util/log.h"

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static const char *const rlimit_names[] = {
    [RLIMIT_CPU] = "RLIMIT_CPU",	   [RLIMIT_FSIZE] = "RLIMIT_FSIZE",
    [RLIMIT_DATA] = "RLIMIT_DATA",	   [RLIMIT_STACK] = "RLIMIT_STACK",
    [RLIMIT_CORE] = "RLIMIT_CORE",	   [RLIMIT_RSS] = "RLIMIT_RSS",
    [RLIMIT_NPROC] = "RLIMIT_NPROC",	   [RLIMIT_NOFILE] = "RLIMIT_NOFILE",
    [RLIMIT_MEMLOCK] = "RLIMIT_MEMLOCK",   [RLIMIT_AS] = "RLIMIT_AS",
    [RLIMIT_LOCKS] = "RLIMIT_LOCKS",	   [RLIMIT_SIGPENDING] = "RLIMIT_SIGPENDING",
    [RLIMIT_MSGQUEUE] = "RLIMIT_MSGQUEUE", [RLIMIT_NICE] = "RLIMIT_NICE",
    [RLIMIT_RTPRIO] = "RLIMIT_RTPRIO",	   [RLIMIT_RTTIME] = "RLIMIT_RTTIME",
};

static int set_oom_score_adj(int adj, struct error *err)
{
	cleanup_fd int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
	char buf[32];
	int n, r;

	if (fd < 0)
		return error_errno(err, "open /proc/self/oom_score_adj");
	n = snprintf(buf, sizeof(buf), "%d", adj);
	r = fd_write_all(fd, buf, (size_t)n);
	if (r < 0) {
		errno = -r;
		return error_errno(err, "write /proc/self/oom_score_adj %d", adj);
	}
	return 0;
}

static int set_rlimits(const struct spec_process *p, struct error *err)
{
	for (size_t i = 0; i < p->n_rlimits; i++) {
		const struct spec_rlimit *rl = &p->rlimits[i];
		struct rlimit lim = {.rlim_cur = rl->soft, .rlim_max = rl->hard};
		const char *name = NULL;

		if (rl->resource >= 0 && (size_t)rl->resource < ARRAY_SIZE(rlimit_names))
			name = rlimit_names[rl->resource];
		if (setrlimit(rl->resource, &lim) < 0) {
			if (name)
				return error_errno(err, "setrlimit %s", name);
			return error_errno(err, "setrlimit %d", rl->resource);
		}
	}
	return 0;
}

/* In a user namespace whose /proc/self/setgroups says "deny", setgroups() cannot work. */
static bool setgroups_denied(void)
{
	char buf[16] = "";
	cleanup_fd int fd = open("/proc/self/setgroups", O_RDONLY | O_CLOEXEC);

	if (fd < 0 || read(fd, buf, sizeof(buf) - 1) < 0)
		return false;
	return strncmp(buf, "deny", 4) == 0;
}

static int set_user(const struct spec_process *p, struct error *err)
{
	const struct spec_user *u = &p->user;

	if (setgroups(u->n_additional_gids, u->additional_gids) < 0) {
		if (errno != EPERM || !setgroups_denied())
			return error_errno(err, "setgroups");
		log_debug("setgroups skipped: denied in this user namespace");
	}
	if (setresgid(u->gid, u->gid, u->gid) < 0)
		return error_errno(err, "setresgid %u", (unsigned)u->gid);
	/* Without a capabilities object the kernel's drop on setuid(non-zero) is the default. */
	if (p->has_caps && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		return error_errno(err, "prctl PR_SET_KEEPCAPS");
	if (setresuid(u->uid, u->uid, u->uid) < 0)
		return error_errno(err, "setresuid %u", (unsigned)u->uid);
	if (p->has_caps) {
		int r = caps_apply(&p->caps, err);
		if (r < 0)
			return error_wrap(err, "capabilities");
		if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
			return error_errno(err, "prctl PR_SET_KEEPCAPS");
	}
	return 0;
}

static int enter_cwd(const char *cwd, struct error *err)
{
	char buf[PATH_MAX];

	if (chdir(cwd) < 0)
		return error_errno(err, "chdir %s", cwd);
	/* CVE-2024-21626: a leaked host directory fd (/proc/self/fd/N) as cwd is unreachable
	 * from the container's root; glibc reports it as ENOENT, the raw syscall as
	 * "(unreachable)/...". */
	if (!getcwd(buf, sizeof(buf))) {
		if (errno == ENOENT)
			return error_set(err, ENOENT, "cwd %s: outside the container", cwd);
		return error_errno(err, "cwd %s: getcwd", cwd);
	}
	if (buf[0] != '/' || strncmp(buf, "(unreachable)", 13) == 0)
		return error_set(err, ENOENT, "cwd %s: outside the container", cwd);
	return 0;
}

int process_prepare(const struct spec_process *p, struct error *err)
{
	int r;

	if (p->has_oom_score_adj) {
		r = set_oom_score_adj(p->oom_score_adj, err);
		if (r < 0)
			return r;
	}
	r = set_rlimits(p, err);
	if (r < 0)
		return r;
	if (p->no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return error_errno(err, "prctl PR_SET_NO_NEW_PRIVS");
	r = set_user(p, err);
	if (r < 0)
		return r;
	umask(p->user.has_umask ? p->user.umask : 0022);
	return enter_cwd(p->cwd, err);
}

static const char *env_path(char *const *env)
{
	for (char *const *e = env; e && *e; e++)
		if (strncmp(*e, "PATH=", 5) == 0)
			return *e + 5;
	return DEFAULT_PATH;
}

static bool is_executable(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

/* Searches PATH for name; fills buf. Returns 0, -ENOENT, or -EACCES if only non-executable
 * candidates were found. */
static int search_path(const char *path, const char *name, char *buf, size_t len)
{
	int r = -ENOENT;

	for (const char *p = path;; p++) {
		const char *end = strchrnul(p, ':');
		size_t dlen = (size_t)(end - p);
		int n;

		if (dlen == 0)
			n = snprintf(buf, len, "%s", name);
		else
			n = snprintf(buf, len, "%.*s/%s", (int)dlen, p, name);
		if (n > 0 && (size_t)n < len) {
			if (is_executable(buf))
				return 0;
			if (access(buf, F_OK) == 0)
				r = -EACCES;
		}
		if (!*end)
			break;
		p = end;
	}
	return r;
}

int process_lookup(const struct spec_process *p, char *buf, size_t len, struct error *err)
{
	static char *const empty_env[] = {NULL};
	char *const *env = p->env ? p->env : empty_env;
	const char *name = p->args ? p->args[0] : NULL;
	int r;

	if (!name || !*name)
		return error_set(err, EINVAL, "exec: no process args");
	if (strchr(name, '/')) {
		if (!is_executable(name))
			return error_errno(err, "exec %s", name);
		if (snprintf(buf, len, "%s", name) >= (int)len)
			return error_set(err, ENAMETOOLONG, "exec %s: name too long", name);
		return 0;
	}
	r = search_path(env_path(env), name, buf, len);
	if (r < 0)
		return error_set(err, -r, "exec %s: %s", name, strerror(-r));
	return 0;
}

int process_exec(const struct spec_process *p, int preserve_fds, int trampoline_fd,
		 struct error *err)
{
	static char *const empty_env[] = {NULL};
	char buf[PATH_MAX];
	int r = process_lookup(p, buf, sizeof(buf), err);

	if (r < 0)
		return r;
	r = fd_cloexec_from(3 + (preserve_fds > 0 ? preserve_fds : 0), err);
	if (r < 0)
		return error_wrap(err, "exec %s", p->args[0]);
	if (trampoline_fd >= 0)
		return trampoline_exec(trampoline_fd, buf, p->args, p->env ? p->env : empty_env,
				       err);
	execve(buf, p->args, p->env ? p->env : empty_env);
	return error_errno(err, "exec %s", p->args[0]);
}
