/* run: see run.h.
 *
 * The container's rootfs is an overlayfs of the image's layers plus its own upper directory,
 * mounted in a private mount namespace of this process (the runtime's init inherits it), so a
 * crash never leaves a mount on the host.
 *
 * Foreground: this process waits for the container. Detached (-d): a monitor process (like
 * conmon) owns the container: it writes its stdout and stderr to <store>/containers/<id>/
 * container.log as JSON lines, waits for it, and records its exit code; the caller returns
 * once the container has started (or with the error that stopped it).
 */
#include "engine/run.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <poll.h>
#include <pthread.h>
#include <stdnoreturn.h>
#include <sys/wait.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "engine/image.h"
#include "engine/records.h"
#include "image/snapshot.h"
#include "runtime/container.h"
#include "runtime/state.h"
#include "util/cleanup.h"
#include "util/fd.h"
#include "util/fs.h"
#include "util/str.h"

#define ID_BYTES 32

struct job {
	struct engine_record rec;
	char id[2 * ID_BYTES + 1];
	char *dir;    /* <store>/containers/<id>: upper, work, rootfs */
	char *bundle; /* <state>/containers/<id>: config.json */
	char *rootfs;
};

static int new_id(char *id, struct error *err)
{
	unsigned char raw[ID_BYTES];

	if (getrandom(raw, sizeof(raw), 0) != sizeof(raw))
		return error_errno(err, "getrandom");
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(id + 2 * i, 3, "%02x", raw[i]);
	return 0;
}

static int make_dirs(const struct engine_paths *p, struct job *j, struct error *err)
{
	static const char *const sub[] = {"upper", "work", "rootfs"};

	j->dir = str_printf("%s/containers/%s", p->store, j->id);
	j->bundle = str_printf("%s/containers/%s", p->state, j->id);
	j->rootfs = str_printf("%s/rootfs", j->dir ? j->dir : "");
	if (!j->dir || !j->bundle || !j->rootfs)
		return error_set(err, ENOMEM, "out of memory");
	for (size_t i = 0; i < ARRAY_SIZE(sub); i++) {
		cleanup_free char *d = str_printf("%s/%s", j->dir, sub[i]);
		int r = d ? fs_mkdir_p(d, 0700) : -ENOMEM;
		if (r == 0 && chmod(d, 0755) < 0) /* upper: the container's "/" */
			r = -errno;
		if (r < 0)
			return error_set(err, -r, "mkdir %s: %s", d ? d : j->dir, strerror(-r));
	}
	int r = fs_mkdir_p(j->bundle, 0700);
	return r < 0 ? error_set(err, -r, "mkdir %s: %s", j->bundle, strerror(-r)) : 0;
}

/* The overlay, in a mount namespace of our own whose mounts never reach the host. */
/* <dir>/layers: the diff_ids under this container, which image gc must keep. */
static int write_layers(const struct engine_image *img, const struct job *j, struct error *err)
{
	cleanup_fd int dir = open(j->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	size_t len = 0;

	for (size_t i = 0; i < img->n_layers; i++)
		len += strlen(img->config->diff_ids[i]) + 1;
	cleanup_free char *text = calloc(1, len + 1);
	for (size_t i = 0; text && i < img->n_layers; i++)
		strcat(strcat(text, img->config->diff_ids[i]), "\n");
	if (dir < 0 || !text)
		return error_errno(err, "open %s", j->dir);
	return fd_write_file_new(dir, "layers", text, len, err);
}

static int mount_rootfs(const struct engine_image *img, struct job *j, struct error *err)
{
	cleanup_free const char **lowers = calloc(img->n_layers + 1, sizeof(char *));
	cleanup_free char *upper = str_printf("%s/upper", j->dir);
	cleanup_free char *work = str_printf("%s/work", j->dir);

	if (!lowers || !upper || !work)
		return error_set(err, ENOMEM, "out of memory");
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
		return error_errno(err, "private mount namespace");
	for (size_t i = 0; i < img->n_layers; i++) /* top first */
		lowers[i] = img->layer_dirs[img->n_layers - 1 - i];
	return image_snapshot_mount(lowers, img->n_layers, upper, work, j->rootfs, err);
}

static int write_config(const struct engine_run_opts *o, const struct engine_image *img,
			struct job *j, struct error *err)
{
	const struct image_config *c = img->config;
	struct engine_image_config ic = {
	    .entrypoint = c->entrypoint,
	    .cmd = c->cmd,
	    .env = c->env,
	    .workdir = c->working_dir,
	    .user = c->user,
	};
	struct engine_run_flags f = o->flags;
	char hostname[13];
	cleanup_free char *cgroup = str_printf("/vessel/%s", j->id);
	cleanup_fd int rootfd = open(j->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);

	snprintf(hostname, sizeof(hostname), "%s", j->id);
	if (!f.hostname)
		f.hostname = hostname;
	if (rootfd < 0)
		return error_errno(err, "open %s", j->rootfs);
	cleanup_free char *json = engine_spec_json(&ic, &f, rootfd, j->rootfs, cgroup, err);
	cleanup_fd int dir = open(j->bundle, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (!json)
		return -err->code;
	if (dir < 0)
		return error_errno(err, "open %s", j->bundle);
	return fd_write_file_new(dir, "config.json", json, strlen(json), err);
}

/* After the container: its files go with --rm (or when it never ran), else it is recorded
 * as exited with its code. */
static void finish_job(const struct engine_paths *p, struct job *j, bool keep, int code)
{
	struct error ignored;

	if (j->rootfs)
		umount2(j->rootfs, MNT_DETACH);
	if (keep && !j->rec.rm) {
		j->rec.status = ENGINE_EXITED;
		j->rec.exit_code = code;
		j->rec.finished = time(NULL);
		engine_record_save(p->state, &j->rec, &ignored);
	} else {
		if (j->dir)
			fs_remove_tree(AT_FDCWD, j->dir);
		if (j->bundle)
			fs_remove_tree(AT_FDCWD, j->bundle);
		if (j->rec.name)
			engine_name_release(p->state, j->rec.name);
	}
	free(j->dir);
	free(j->bundle);
	free(j->rootfs);
	engine_record_clear(&j->rec);
}

static int run_container(const struct engine_paths *p, const struct engine_run_opts *o,
			 struct job *j, void (*on_start)(void *), void *arg, int *ret_status,
			 struct error *err)
{
	cleanup_free char *rt = str_printf("%s/runtime", p->state);
	struct container_opts co = {
	    .root = rt,
	    .id = j->id,
	    .bundle = j->bundle,
	    .reexec_argv = o->argv,
	    .timeout_ms = o->timeout_ms,
	    .on_start = on_start,
	    .on_start_arg = arg,
	};

	if (!rt)
		return error_set(err, ENOMEM, "out of memory");
	if (!o->interactive) { /* docker: no stdin unless -i */
		int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (null >= 0) {
			dup2(null, STDIN_FILENO);
			close(null);
		}
	}
	return container_run(&co, ret_status, err);
}

/* Everything from the rootfs to the container's exit, in this process. */
static int run_here(const struct engine_paths *p, const struct engine_run_opts *o,
		    const struct engine_image *img, struct job *j, void (*on_start)(void *),
		    void *arg, int *ret_status, struct error *err)
{
	int r = write_layers(img, j, err);

	if (r == 0)
		r = mount_rootfs(img, j, err);
	if (r == 0)
		r = write_config(o, img, j, err);
	if (r == 0) {
		r = run_container(p, o, j, on_start, arg, ret_status, err);
		if (r < 0 &&
		    (err->code == ENOENT || err->code == EACCES)) /* as a shell: 127, 126 */
			*ret_status = err->code == ENOENT ? 127 : 126;
	}
	return r;
}

static int new_record(const struct engine_run_opts *o, struct job *j, struct error *err)
{
	char name[20];
	size_t len = 0;

	snprintf(name, sizeof(name), "c-%.12s", j->id);
	for (char *const *a = o->flags.args; a && *a; a++)
		len += strlen(*a) + 1;
	j->rec = (struct engine_record){.created = time(NULL), .rm = o->rm};
	memcpy(j->rec.id, j->id, sizeof(j->rec.id));
	j->rec.name = strdup(o->name ? o->name : name);
	j->rec.image = strdup(o->image);
	j->rec.command = calloc(1, len + 1);
	for (char *const *a = o->flags.args; j->rec.command && a && *a; a++) {
		if (a != o->flags.args)
			strcat(j->rec.command, " ");
		strcat(j->rec.command, *a);
	}
	if (!j->rec.name || !j->rec.image || !j->rec.command)
		return error_set(err, ENOMEM, "out of memory");
	return 0;
}

/* Makes this process the container's monitor in the record. */
static int own_record(const struct engine_paths *p, struct job *j, struct error *err)
{
	j->rec.monitor = getpid();
	j->rec.monitor_start = state_pid_start_time(j->rec.monitor);
	j->rec.status = ENGINE_RUNNING;
	return engine_record_save(p->state, &j->rec, err);
}

static int prepare(const struct engine_paths *p, const struct engine_run_opts *o,
		   struct image_store **store, struct engine_image *img, struct job *j,
		   struct error *err)
{
	int r = fs_mkdir_p(p->store, 0700);

	r = r < 0 ? error_set(err, -r, "mkdir %s: %s", p->store, strerror(-r))
		  : image_store_open(p->store, store, err);
	if (r == 0)
		r = engine_image_open(*store, o->image, img, err);
	if (r == 0)
		r = new_id(j->id, err);
	if (r == 0)
		r = new_record(o, j, err);
	if (r == 0)
		r = engine_name_claim(p->state, j->rec.name, j->id, err);
	if (r < 0) {
		free(TAKE_PTR(j->rec.name)); /* not ours to release */
		return r;
	}
	return make_dirs(p, j, err);
}

/* What the runner tells the caller of -d: started (code 0), or why not. */
struct ready {
	int status;
	struct error err;
};

static void started(void *arg)
{
	struct ready msg = {0};

	fd_write_all(*(int *)arg, &msg, sizeof(msg));
	close(*(int *)arg);
	*(int *)arg = -1;
}

/* Appends what fd says to the log as JSON lines: {"time", "stream", "log"}, and copies it to
 * echo (unless -1). */
static bool log_pump(int fd, const char *stream, FILE *log, int echo)
{
	char buf[8192], stamp[40];
	ssize_t n = read(fd, buf, sizeof(buf));

	if (n <= 0)
		return n < 0 && errno == EINTR;
	if (echo >= 0)
		fd_write_all(echo, buf, (size_t)n);
	state_now(stamp, sizeof(stamp));
	for (char *line = buf, *end = buf + n; line < end;) {
		char *nl = memchr(line, '\n', (size_t)(end - line));
		size_t len = nl ? (size_t)(nl - line + 1) : (size_t)(end - line);
		json_object *o = json_object_new_object();
		json_object_object_add(o, "time", json_object_new_string(stamp));
		json_object_object_add(o, "stream", json_object_new_string(stream));
		json_object_object_add(o, "log", json_object_new_string_len(line, (int)len));
		fprintf(log, "%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
		json_object_put(o);
		line += len;
	}
	fflush(log);
	return true;
}

/* Logs out and err (read ends) until both are closed, echoing them unless -1. */
static void pump_logs(int out, int err, FILE *log, int echo_out, int echo_err)
{
	struct pollfd fds[2] = {{.fd = out, .events = POLLIN}, {.fd = err, .events = POLLIN}};
	const int echo[2] = {echo_out, echo_err};

	while (fds[0].fd >= 0 || fds[1].fd >= 0) {
		if (poll(fds, 2, -1) < 0 && errno != EINTR)
			break;
		for (int i = 0; i < 2; i++) {
			if (fds[i].revents &&
			    !log_pump(fds[i].fd, i ? "stderr" : "stdout", log, echo[i]))
				fds[i].fd = -1;
		}
	}
}

/* A foreground container's output goes to the terminal and, as with -d, to its log: our
 * stdout and stderr become pipes for the run, read by a thread that copies them on. */
struct tee {
	int saved[2]; /* the real stdout and stderr */
	int rd[2];    /* read ends of the two pipes */
	FILE *log;
	pthread_t thread;
	bool on;
};

static void *tee_main(void *arg)
{
	struct tee *t = arg;

	pump_logs(t->rd[0], t->rd[1], t->log, t->saved[0], t->saved[1]);
	return NULL;
}

static void close_all(int *fds, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (fds[i] >= 0)
			close(fds[i]);
	}
}

/* Best effort: without it the container still runs, unlogged. */
static void tee_start(struct tee *t, const char *dir)
{
	cleanup_free char *path = str_printf("%s/container.log", dir);
	int fds[4] = {-1, -1, -1, -1}; /* stdout pipe, stderr pipe */

	*t = (struct tee){.saved = {-1, -1}};
	fflush(stdout);
	fflush(stderr);
	if (!path || !(t->log = fopen(path, "ae")) || pipe2(fds, O_CLOEXEC) < 0 ||
	    pipe2(fds + 2, O_CLOEXEC) < 0)
		goto fail;
	t->saved[0] = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
	t->saved[1] = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
	t->rd[0] = fds[0];
	t->rd[1] = fds[2];
	/* the thread must take no signal: the runtime waits for SIGCHLD through a signalfd */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int r =
	    t->saved[0] < 0 || t->saved[1] < 0 ? -1 : pthread_create(&t->thread, NULL, tee_main, t);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r)
		goto fail;
	dup2(fds[1], STDOUT_FILENO);
	dup2(fds[3], STDERR_FILENO);
	close(fds[1]);
	close(fds[3]);
	t->on = true;
	return;
fail:
	close_all(t->saved, 2);
	close_all(fds, 4);
	if (t->log)
		fclose(t->log);
	*t = (struct tee){0};
}

static void tee_stop(struct tee *t)
{
	if (!t->on)
		return;
	fflush(stdout);
	fflush(stderr);
	dup2(t->saved[0], STDOUT_FILENO); /* the pipes' last write ends go: the thread sees EOF */
	dup2(t->saved[1], STDERR_FILENO);
	pthread_join(t->thread, NULL);
	close_all(t->saved, 2);
	close_all(t->rd, 2);
	fclose(t->log);
}

/* The runner: the container in the foreground, its stdout and stderr into pipes. */
static noreturn void runner(const struct engine_paths *p, const struct engine_run_opts *o,
			    const struct engine_image *img, struct job *j, int ready, int out,
			    int err_fd)
{
	struct ready msg = {.status = 125};

	dup2(out, STDOUT_FILENO);
	dup2(err_fd, STDERR_FILENO);
	if (run_here(p, o, img, j, started, &ready, &msg.status, &msg.err) < 0 && ready >= 0)
		fd_write_all(ready, &msg, sizeof(msg));
	_exit(msg.status);
}

/* The monitor of a detached container: forks the runner, logs its output, records the exit. */
static noreturn void monitor(const struct engine_paths *p, const struct engine_run_opts *o,
			     const struct engine_image *img, struct job *j, int ready)
{
	struct error ignored;
	int out[2], errp[2], wstatus = 0, null = open("/dev/null", O_RDWR | O_CLOEXEC);
	cleanup_free char *path = str_printf("%s/container.log", j->dir);
	FILE *log = path ? fopen(path, "ae") : NULL;

	setsid();
	for (int fd = 0; fd < 3 && null >= 0; fd++)
		dup2(null, fd);
	if (!log || own_record(p, j, &ignored) < 0 || pipe2(out, O_CLOEXEC) < 0 ||
	    pipe2(errp, O_CLOEXEC) < 0)
		_exit(125);
	pid_t pid = fork();
	if (pid == 0)
		runner(p, o, img, j, ready, out[1], errp[1]);
	close(ready);
	close(out[1]);
	close(errp[1]);
	if (pid > 0)
		pump_logs(out[0], errp[0], log, -1, -1);
	while (pid > 0 && waitpid(pid, &wstatus, 0) < 0 && errno == EINTR)
		;
	fclose(log);
	finish_job(p, j, true, WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus));
	_exit(0);
}

/* -d: starts the monitor and waits until the container runs (or failed to). */
static int detach(const struct engine_paths *p, const struct engine_run_opts *o,
		  const struct engine_image *img, struct job *j, int *ret_status, struct error *err)
{
	struct ready msg;
	int fds[2];

	fflush(stdout);
	if (pipe2(fds, O_CLOEXEC) < 0)
		return error_errno(err, "pipe");
	pid_t pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return error_errno(err, "fork");
	}
	if (pid == 0) {
		close(fds[0]);
		monitor(p, o, img, j, fds[1]);
	}
	close(fds[1]);
	int r = fd_read_exact(fds[0], &msg, sizeof(msg));
	close(fds[0]);
	if (r < 0)
		return error_set(err, EIO, "the container's monitor exited before it started");
	if (msg.status) {
		*ret_status = msg.status;
		msg.err.msg[sizeof(msg.err.msg) - 1] = '\0';
		*err = msg.err;
		return -(err->code > 0 ? err->code : EIO);
	}
	return 0;
}

int engine_run(const struct engine_paths *paths, const struct engine_run_opts *o, int *ret_status,
	       struct error *err)
{
	struct image_store *store = NULL;
	struct engine_image img = {0};
	struct job j = {0};
	int r = prepare(paths, o, &store, &img, &j, err);

	if (r == 0 && o->detach) {
		*ret_status = 0;
		r = detach(paths, o, &img, &j, ret_status, err);
		if (r == 0)
			printf("%s\n", j.id);
		free(j.dir); /* the monitor owns the container now */
		free(j.bundle);
		free(j.rootfs);
		engine_record_clear(&j.rec);
	} else if (r == 0) {
		struct tee tee = {0};
		r = own_record(paths, &j, err);
		if (r == 0 && !o->rm)
			tee_start(&tee, j.dir);
		if (r == 0)
			r = run_here(paths, o, &img, &j, NULL, NULL, ret_status, err);
		tee_stop(&tee);
		finish_job(paths, &j, true, *ret_status);
	} else {
		finish_job(paths, &j, false, 0);
	}
	engine_image_clear(&img);
	image_store_free(store);
	return r < 0 ? error_wrap(err, "run %s", o->image) : 0;
}
