/* image: see image.h */
#include "engine/image.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "image/busybox.h"
#include "image/ref.h"
#include "util/cleanup.h"

#define BUSYBOX "docker.io/library/busybox:latest"

static int resolve(struct image_store *store, const char *ref, char digest[IMAGE_DIGEST_SIZE],
		   struct error *err)
{
	cleanup_free char *name = image_ref_normalize(ref, err);
	int r;

	if (!name)
		return -err->code;
	r = image_store_resolve(store, name, digest, err);
	if (r == -ENOENT && !strcmp(name, BUSYBOX)) {
		r = image_busybox_ensure(store, err);
		if (r == 0)
			r = image_store_resolve(store, name, digest, err);
	}
	return r;
}

/* The manifest ref names: directly, or linux/amd64's from an index. */
static int load_manifest(struct image_store *store, const char *ref, struct image_manifest **ret,
			 struct error *err)
{
	char digest[IMAGE_DIGEST_SIZE];
	cleanup_free char *buf = NULL;
	enum image_media_kind kind;
	size_t len;
	int r = resolve(store, ref, digest, err);

	if (r == 0)
		r = image_store_read_blob(store, digest, IMAGE_MANIFEST_MAX_BYTES, &buf, &len, err);
	if (r == 0)
		r = image_manifest_detect(buf, len, NULL, &kind, err);
	if (r == 0 && kind == IMAGE_MEDIA_INDEX) {
		struct image_index *index = NULL;
		const struct image_descriptor *d;
		r = image_index_parse(buf, len, &index, err);
		if (r == 0)
			r = image_index_select(index, NULL, &d, err);
		if (r == 0) {
			memcpy(digest, d->digest, IMAGE_DIGEST_SIZE);
			free(TAKE_PTR(buf));
			r = image_store_read_blob(store, digest, IMAGE_MANIFEST_MAX_BYTES, &buf,
						  &len, err);
		}
		image_index_free(index);
	}
	if (r == 0)
		r = image_manifest_parse(buf, len, ret, err);
	return r;
}

/* Every layer's directory in img, the missing ones unpacked (several at once). */
static int ensure_layers(struct image_store *store, const struct image_manifest *m,
			 struct engine_image *img, struct error *err)
{
	cleanup_free struct image_store_layer *todo = NULL;
	size_t n_todo = 0;

	if (m->n_layers != img->config->n_diff_ids)
		return error_set(err, EINVAL, "image: %zu layers but %zu diff_ids in its config",
				 m->n_layers, img->config->n_diff_ids);
	img->layer_dirs = calloc(m->n_layers + 1, sizeof(char *));
	todo = calloc(m->n_layers + 1, sizeof(*todo));
	if (!img->layer_dirs || !todo)
		return error_set(err, ENOMEM, "out of memory");
	for (size_t i = 0; i < m->n_layers; i++) {
		const char *diff_id = img->config->diff_ids[i];
		char *dir = image_store_layer_dir(store, diff_id);
		if (!dir)
			return error_set(err, EINVAL, "image: bad diff_id %.80s", diff_id);
		img->layer_dirs[img->n_layers++] = dir;
		if (image_store_has_layer(store, diff_id))
			continue;
		memcpy(todo[n_todo].blob, m->layers[i].digest, IMAGE_DIGEST_SIZE);
		memcpy(todo[n_todo++].diff_id, diff_id, IMAGE_DIGEST_SIZE);
	}
	return image_store_unpack_layers(store, todo, n_todo, err);
}

int engine_image_open(struct image_store *store, const char *ref, struct engine_image *ret,
		      struct error *err)
{
	struct image_manifest *m = NULL;
	cleanup_free char *buf = NULL;
	size_t len;
	/* Shared: image gc waits until the layers are unpacked. */
	cleanup_fd int lock = image_store_lock(store, false, err);
	int r = lock < 0 ? lock : 0;

	*ret = (struct engine_image){0};
	if (r == 0)
		r = load_manifest(store, ref, &m, err);
	if (r == 0)
		r = image_store_read_blob(store, m->config.digest, IMAGE_CONFIG_MAX_BYTES, &buf,
					  &len, err);
	if (r == 0)
		r = image_config_parse(buf, len, &ret->config, err);
	if (r == 0)
		r = ensure_layers(store, m, ret, err);
	image_manifest_free(m);
	if (r < 0) {
		engine_image_clear(ret);
		return error_wrap(err, "image %s", ref);
	}
	return 0;
}

void engine_image_clear(struct engine_image *img)
{
	for (size_t i = 0; i < img->n_layers; i++)
		free(img->layer_dirs[i]);
	free(img->layer_dirs);
	image_config_free(img->config);
	*img = (struct engine_image){0};
}
