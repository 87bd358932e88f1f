/* engine_images internals shared by images.c (list, import, save) and images-inspect.c
 * (inspect, rmi): the store's names with what each image is. */
#ifndef VESSEL_ENGINE_IMAGES_INTERNAL_H
#define VESSEL_ENGINE_IMAGES_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "engine/images.h"
#include "image/manifest.h"

/* One tagged name and the image it names; every pointer owned. */
struct engine_images_row {
	char *name;			/* canonical reference */
	char *repository, *tag;		/* familiar repository; tag or "<none>" */
	char digest[IMAGE_DIGEST_SIZE]; /* the tagged manifest or index */
	char id[IMAGE_DIGEST_SIZE];	/* config digest of the linux/amd64 manifest; digest when
					 * unreadable */
	int64_t tagged;			/* when the name was tagged */
	int64_t size;			/* compressed layers + config; 0 when unreadable */
	struct image_config *config;	/* NULL when unreadable */
};

struct engine_images_table {
	struct image_store *store;
	struct engine_images_row *rows;
	size_t n;
};

/* Opens the store and reads every name with its image; clear *ret even after an error. */
int engine_images_load(const struct engine_paths *paths, struct engine_images_table *ret,
		       struct error *err);
void engine_images_table_clear(struct engine_images_table *t);
/* The row arg (borrowed) names: a reference, else an ID or digest prefix; the first row of
 * that image in *ret_row. -ENOENT "image ARG: not found", -EINVAL when a prefix is ambiguous. */
int engine_images_lookup(const struct engine_images_table *t, const char *arg, size_t *ret_row,
			 struct error *err);
/* Builds the embedded busybox when image (borrowed) names it and it is missing, as
 * `vessel run busybox` would; 0 for any other image. */
int engine_images_ensure_busybox(const struct engine_paths *paths, const char *image,
				 struct error *err);
/* Seconds since the epoch the image was created (its config's "created"; the tag time when
 * absent or unparsable). */
int64_t engine_images_created(const struct engine_images_row *row);
/* RFC 3339 UTC ("2024-05-01T10:00:00Z") of t into buf (at least 32 bytes). */
void engine_images_rfc3339(int64_t t, char *buf, size_t len);

#endif
