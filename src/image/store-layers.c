/* image_store: unpacked layers and the writers' lock (see store.h).
 *
 * A layer is unpacked into "<root>/layers/<hex>.tmp-XXXXXX" and renamed to "<root>/layers/<hex>"
 * only once its whole tar was written and its diff_id matched, so a crash leaves nothing
 * half-visible (image gc removes stale temporary directories). Layers unpack into independent
 * directories, so several unpack at once, one thread each.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/store-internal.h"
#include "image/store.h"
#include "image/unpack.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/str.h"

#define LOCK_FILE   "store.lock"
#define MAX_THREADS 8

int image_store_lock(struct image_store *store, bool exclusive, struct error *err)
{
	cleanup_fd int fd =
	    openat(store->root_fd, LOCK_FILE, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

	if (fd < 0)
		return error_errno(err, "open %s/%s", store->root, LOCK_FILE);
	while (flock(fd, exclusive ? LOCK_EX : LOCK_SH) < 0)
		if (errno != EINTR)
			return error_errno(err, "lock %s/%s", store->root, LOCK_FILE);
	return TAKE_FD(fd);
}

bool image_store_has_layer(const struct image_store *store, const char *diff_id)
{
	cleanup_free char *dir = image_store_layer_dir(store, diff_id);
	struct stat st;

	return dir && stat(dir, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Unpacks blob into tmp (an empty directory) and checks the diff_id. */
static int unpack_into(struct image_store *store, const char *blob, const char *diff_id,
		       const char *tmp, struct error *err)
{
	char got[IMAGE_UNPACK_DIFF_ID_SIZE];
	const struct image_unpack_opts opts = {.overlay = true, .diff_id_out = got};
	cleanup_fd int fd = image_store_open_blob(store, blob, err);
	int r;

	if (fd < 0)
		return fd;
	/* Read once, front to back: let the kernel read ahead and drop nothing we still need. */
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	r = image_unpack_layer(fd, tmp, &opts, NULL, err);
	if (r == 0 && strcmp(got, diff_id) != 0)
		r = error_set(err, EINVAL, "diff_id %s does not match the config's %s", got,
			      diff_id);
	return r;
}

int image_store_unpack_layer(struct image_store *store, const char *blob, const char *diff_id,
			     struct error *err)
{
	cleanup_free char *dir = image_store_layer_dir(store, diff_id);
	cleanup_free char *tmp = dir ? str_printf("%s.tmp-XXXXXX", dir) : NULL;
	struct stat st;
	int r;

	if (!dir)
		return error_set(err, EINVAL, "layer %s: bad diff_id %.80s", blob, diff_id);
	if (stat(dir, &st) == 0)
		return 0;
	if (!tmp || !mkdtemp(tmp) || chmod(tmp, 0755) < 0)
		return error_errno(err, "layer %s: temporary directory", blob);
	r = unpack_into(store, blob, diff_id, tmp, err);
	/* Another unpack of the same layer may have won the race: its copy is as good. */
	if (r == 0 && rename(tmp, dir) < 0 && errno != EEXIST && errno != ENOTEMPTY)
		r = error_errno(err, "rename");
	fs_remove_tree(AT_FDCWD, tmp); /* on failure, or when the race was lost */
	return r < 0 ? error_wrap(err, "layer %s", blob) : 0;
}

struct unpack_pool {
	struct image_store *store;
	const struct image_store_layer *layers;
	size_t n, next;
	pthread_mutex_t lock;
	int r; /* the first failure, with err */
	struct error err;
};

static void *unpack_worker(void *opaque)
{
	struct unpack_pool *p = opaque;
	struct error err;

	pthread_mutex_lock(&p->lock);
	while (p->next < p->n && p->r == 0) {
		const struct image_store_layer *l = &p->layers[p->next++];

		pthread_mutex_unlock(&p->lock);
		int r = image_store_unpack_layer(p->store, l->blob, l->diff_id, &err);
		pthread_mutex_lock(&p->lock);
		if (r < 0 && p->r == 0) {
			p->r = r;
			p->err = err;
		}
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

static unsigned pool_size(size_t n)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	size_t want = cpus > 0 ? (size_t)cpus : 1;

	if (want > MAX_THREADS)
		want = MAX_THREADS;
	return (unsigned)(want < n ? want : n);
}

int image_store_unpack_layers(struct image_store *store, const struct image_store_layer *layers,
			      size_t n, struct error *err)
{
	struct unpack_pool p = {.store = store, .layers = layers, .n = n};
	pthread_t threads[MAX_THREADS];
	unsigned want = pool_size(n), started = 0;

	pthread_mutex_init(&p.lock, NULL);
	/* This thread is one of the workers: no thread to start for a single layer. */
	for (; started + 1 < want; started++)
		if (pthread_create(&threads[started], NULL, unpack_worker, &p) != 0)
			break;
	unpack_worker(&p);
	for (unsigned i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
	pthread_mutex_destroy(&p.lock);
	if (p.r < 0) {
		*err = p.err;
		return p.r;
	}
	return 0;
}
