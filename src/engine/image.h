/* image: an image made ready to run: its config, and its layers unpacked in the store. */
#ifndef VESSEL_ENGINE_IMAGE_H
#define VESSEL_ENGINE_IMAGE_H

#include <stddef.h>

#include "image/manifest.h"
#include "image/store.h"
#include "util/error.h"

struct engine_image {
	struct image_config *config;
	char **layer_dirs; /* owned, bottom layer first */
	size_t n_layers;
};

/* Resolves ref (borrowed) in the store (building the embedded busybox image when that is
 * what is asked for and missing), picks linux/amd64 from an index, reads the config, and
 * unpacks each layer once (verified against its diff_id) under <store>/layers/. */
int engine_image_open(struct image_store *store, const char *ref, struct engine_image *ret,
		      struct error *err);
void engine_image_clear(struct engine_image *img);

#endif
