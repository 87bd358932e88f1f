/* image_layout internals shared by layout.c, docker-archive.c and layout-save.c. */
#ifndef VESSEL_IMAGE_LAYOUT_INTERNAL_H
#define VESSEL_IMAGE_LAYOUT_INTERNAL_H

#include "image/layout.h"

#define IMAGE_LAYOUT_DOC_MAX (4u << 20) /* index.json, manifest.json, oci-layout */

/* Appends an owned copy of s to the NULL-terminated vector *v of *n entries. */
int image_layout_strv_add(char ***v, size_t *n, const char *s, struct error *err);
/* Tags name (borrowed) -> digest and records it in ret. */
int image_layout_tag(struct image_store *store, const char *name, const char *digest,
		     struct image_layout_result *ret, struct error *err);

#endif
