/* fuzz-manifest: image indexes, manifests and configs come from registries and tarballs. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "image/manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_index(const struct image_index *idx)
{
	const struct image_descriptor *d;
	struct error err;

	for (size_t i = 0; i < idx->n_manifests; i++)
		if (!image_digest_is_valid(idx->manifests[i].digest) || idx->manifests[i].size < 0)
			abort();
	if (image_index_select(idx, NULL, &d, &err) == 0 && d->platform.os == NULL)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct image_index *idx = NULL;
	struct image_manifest *m = NULL;
	struct image_config *c = NULL;
	enum image_media_kind kind;
	const char *buf = (const char *)data;
	struct error err;

	if (image_index_parse(buf, size, &idx, &err) == 0)
		check_index(idx);
	image_index_free(idx);
	if (image_manifest_parse(buf, size, &m, &err) == 0) {
		if (!image_digest_is_valid(m->config.digest) ||
		    m->n_layers > IMAGE_MANIFEST_MAX_ITEMS)
			abort();
		for (size_t i = 0; i < m->n_layers; i++)
			if (m->layers[i].compression >= IMAGE_COMPRESSION_MAX)
				abort();
	}
	image_manifest_free(m);
	if (image_config_parse(buf, size, &c, &err) == 0) {
		for (size_t i = 0; i < c->n_diff_ids; i++)
			if (!image_digest_is_valid(c->diff_ids[i]))
				abort();
	}
	image_config_free(c);
	image_manifest_detect(buf, size, NULL, &kind, &err);
	return 0;
}
