/* registry-layers: a manifest's layers fetched (and unpacked) by a few threads, with progress
 * reports. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "image/registry-internal.h"
#include "util/cleanup.h"

#define PROGRESS_NS 100000000 /* 10 reports a second */

struct pool {
	struct registry_client *c;
	struct image_store *store;
	const struct registry_blob *blobs;
	struct image_pull_layer *layers; /* under lock */
	int64_t *started;
	size_t n, next, workers;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool abort;
	int r;
	struct error err;
};

/* The next layer to fetch, marked as downloading; false when there is none. */
static bool take(struct pool *p, size_t *ret)
{
	while (p->next < p->n && p->layers[p->next].state == IMAGE_PULL_EXISTS)
		p->next++;
	if (p->next >= p->n || p->r < 0)
		return false;
	*ret = p->next++;
	p->layers[*ret].state = IMAGE_PULL_DOWNLOADING;
	p->started[*ret] = registry_now_ns();
	return true;
}

/* Fetches layer i, then unpacks it (when it has a diff_id) while other layers still arrive.
 * Called without the lock. */
static int fetch_one(struct pool *p, size_t i, struct error *err)
{
	const struct registry_blob *b = &p->blobs[i];
	int r =
	    registry_fetch_blob(p->c, p->store, b, &p->lock, &p->layers[i].done, &p->abort, err);

	if (r < 0 || !b->diff_id[0])
		return r;
	pthread_mutex_lock(&p->lock);
	p->layers[i].state = IMAGE_PULL_EXTRACTING;
	pthread_mutex_unlock(&p->lock);
	return image_store_unpack_layer(p->store, b->digest, b->diff_id, err);
}

static void *worker(void *opaque)
{
	struct pool *p = opaque;
	struct error err;
	size_t i;
	int r;

	pthread_mutex_lock(&p->lock);
	while (take(p, &i)) {
		pthread_mutex_unlock(&p->lock);
		r = fetch_one(p, i, &err);
		pthread_mutex_lock(&p->lock);
		p->layers[i].state = r < 0 ? IMAGE_PULL_FAILED : IMAGE_PULL_DONE;
		p->layers[i].elapsed_ns = registry_now_ns() - p->started[i];
		if (r < 0 && p->r == 0) {
			p->r = r;
			p->err = err;
			__atomic_store_n(&p->abort, true, __ATOMIC_RELAXED);
		}
		pthread_cond_signal(&p->cond);
	}
	p->workers--;
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

/* Copies the layers' state for a report (called with the lock held). */
static void snapshot(const struct pool *p, struct image_pull_layer *out)
{
	int64_t now = registry_now_ns();

	memcpy(out, p->layers, p->n * sizeof(*out));
	for (size_t i = 0; i < p->n; i++)
		if (out[i].state == IMAGE_PULL_DOWNLOADING || out[i].state == IMAGE_PULL_EXTRACTING)
			out[i].elapsed_ns = now - p->started[i];
}

static void wait_tick(struct pool *p)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_nsec += PROGRESS_NS;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_cond_timedwait(&p->cond, &p->lock, &ts);
}

/* Waits for the workers, reporting progress; called with the lock held. */
static void watch(struct pool *p, const struct image_pull_opts *opts, struct image_pull_layer *view)
{
	while (p->workers > 0) {
		wait_tick(p);
		if (!opts->progress)
			continue;
		snapshot(p, view);
		pthread_mutex_unlock(&p->lock);
		opts->progress(opts->opaque, view, p->n);
		pthread_mutex_lock(&p->lock);
	}
	if (opts->progress) {
		snapshot(p, view);
		pthread_mutex_unlock(&p->lock);
		opts->progress(opts->opaque, view, p->n);
		pthread_mutex_lock(&p->lock);
	}
}

static int init_pool(struct pool *p, struct image_pull_layer *layers, struct error *err)
{
	pthread_condattr_t attr;

	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&p->cond, &attr);
	pthread_condattr_destroy(&attr);
	pthread_mutex_init(&p->lock, NULL);
	for (size_t i = 0; i < p->n; i++) {
		memcpy(layers[i].digest, p->blobs[i].digest, IMAGE_DIGEST_SIZE);
		layers[i].size = p->blobs[i].size;
		if (image_store_has_blob(p->store, p->blobs[i].digest)) {
			layers[i].state = IMAGE_PULL_EXISTS;
			layers[i].done = layers[i].size;
		}
	}
	p->layers = layers;
	return 0;
}

static int run_pool(struct pool *p, const struct image_pull_opts *opts,
		    struct image_pull_layer *view, struct error *err)
{
	unsigned want = opts->parallel ? opts->parallel : IMAGE_REGISTRY_PARALLEL;
	pthread_t threads[16];
	size_t started = 0;

	if (want > sizeof(threads) / sizeof(threads[0]))
		want = sizeof(threads) / sizeof(threads[0]);
	pthread_mutex_lock(&p->lock);
	for (; started < want && started < p->n; started++) {
		if (pthread_create(&threads[started], NULL, worker, p) != 0)
			break;
		p->workers++;
	}
	if (started == 0 && p->n > 0) {
		pthread_mutex_unlock(&p->lock);
		return error_set(err, EAGAIN, "cannot start a download thread");
	}
	watch(p, opts, view);
	pthread_mutex_unlock(&p->lock);
	for (size_t i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
	if (p->r < 0) {
		*err = p->err;
		return p->r;
	}
	return 0;
}

int registry_fetch_layers(struct registry_client *c, struct image_store *store,
			  const struct registry_blob *blobs, size_t n,
			  const struct image_pull_opts *opts, int64_t *ret_bytes, struct error *err)
{
	struct pool p = {.c = c, .store = store, .blobs = blobs, .n = n};
	cleanup_free struct image_pull_layer *layers = calloc(n + 1, sizeof(*layers));
	cleanup_free struct image_pull_layer *view = calloc(n + 1, sizeof(*view));
	cleanup_free int64_t *started = calloc(n + 1, sizeof(*started));
	int r;

	*ret_bytes = 0;
	if (!layers || !view || !started)
		return error_set(err, ENOMEM, "out of memory");
	p.started = started;
	init_pool(&p, layers, err);
	r = run_pool(&p, opts, view, err);
	pthread_cond_destroy(&p.cond);
	pthread_mutex_destroy(&p.lock);
	for (size_t i = 0; i < n; i++)
		if (layers[i].state == IMAGE_PULL_DONE)
			*ret_bytes += layers[i].done;
	return r;
}
