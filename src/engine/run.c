/* run: see run.h.
 *
 * The container's rootfs is an overlayfs of the image's layers plus its own upper directory,
 * mounted in a private mount namespace of this process (the runtime's init inherits it), so a
 * crash never leaves a mount on the host. This first increment runs in the foreground and
 * removes the container when it exits; records, -d and the monitor come next.
 */
#include "engine/run.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/image.h"
#include "image/snapshot.h"
#include "runtime/container.h"
#include "util/cleanup.h"
#include "util/fd.h"
#include "util/fs.h"
#include "util/str.h"

#define ID_BYTES 32

struct job {
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

static void cleanup_job(struct job *j)
{
	if (j->rootfs)
		umount2(j->rootfs, MNT_DETACH);
	if (j->dir)
		fs_remove_tree(AT_FDCWD, j->dir);
	if (j->bundle)
		fs_remove_tree(AT_FDCWD, j->bundle);
	free(j->dir);
	free(j->bundle);
	free(j->rootfs);
}

static int run_container(const struct engine_paths *p, const struct engine_run_opts *o,
			 struct job *j, int *ret_status, struct error *err)
{
	cleanup_free char *rt = str_printf("%s/runtime", p->state);
	struct container_opts co = {
	    .root = rt,
	    .id = j->id,
	    .bundle = j->bundle,
	    .reexec_argv = o->argv,
	    .timeout_ms = o->timeout_ms,
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

int engine_run(const struct engine_paths *paths, const struct engine_run_opts *o, int *ret_status,
	       struct error *err)
{
	struct image_store *store = NULL;
	struct engine_image img = {0};
	struct job j = {0};
	int r;

	if (o->detach)
		return error_set(err, ENOTSUP, "run -d: not supported yet; run in the foreground");
	r = image_store_open(paths->store, &store, err);
	if (r == 0)
		r = engine_image_open(store, o->image, &img, err);
	if (r == 0)
		r = new_id(j.id, err);
	if (r == 0)
		r = make_dirs(paths, &j, err);
	if (r == 0)
		r = mount_rootfs(&img, &j, err);
	if (r == 0)
		r = write_config(o, &img, &j, err);
	if (r == 0) {
		r = run_container(paths, o, &j, ret_status, err);
		if (r < 0 &&
		    (err->code == ENOENT || err->code == EACCES)) /* as a shell: 127, 126 */
			*ret_status = err->code == ENOENT ? 127 : 126;
	}
	cleanup_job(&j);
	engine_image_clear(&img);
	image_store_free(store);
	return r < 0 ? error_wrap(err, "run %s", o->image) : 0;
}
