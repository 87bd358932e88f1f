/* image_layout: import OCI image layouts and docker-archives into the store; save as OCI.
 *
 * Sources are hostile: every blob is verified against its digest and size before it is
 * visible in the store, documents are parsed by image/manifest.h, paths named by a
 * docker-archive's manifest.json must be relative without "..", and a member that is missing,
 * truncated or larger than declared is an error naming it. Names are tagged only after every
 * blob of the image is in the store.
 */
#ifndef VESSEL_IMAGE_LAYOUT_H
#define VESSEL_IMAGE_LAYOUT_H

#include <stddef.h>

#include "image/store.h"
#include "util/error.h"

/* What an import brought in; every string owned (image_layout_result_clear()). */
struct image_layout_result {
	char **digests; /* top-level manifest or index digests, NULL-terminated */
	size_t n_digests;
	char **names; /* canonical references tagged, NULL-terminated */
	size_t n_names;
};

/* Imports path (borrowed): a directory holding an OCI layout, or a tar (possibly compressed)
 * holding an OCI layout (an "oci-layout" member) or a docker-archive ("manifest.json").
 * name (borrowed, may be NULL) names images whose ref.name annotation is a bare tag, or the
 * only image when it has no name at all. *ret is filled (clear it even after an error). */
int image_layout_import(struct image_store *store, const char *path, const char *name,
			struct image_layout_result *ret, struct error *err);
/* The same for each kind of source. */
int image_layout_import_dir(struct image_store *store, const char *dir, const char *name,
			    struct image_layout_result *ret, struct error *err);
int image_layout_import_tar(struct image_store *store, const char *path, const char *name,
			    struct image_layout_result *ret, struct error *err);
int image_layout_import_docker_archive(struct image_store *store, const char *path,
				       struct image_layout_result *ret, struct error *err);
void image_layout_result_clear(struct image_layout_result *ret);

/* Writes the image ref (borrowed) as an OCI layout tar at output (replaced atomically), with
 * org.opencontainers.image.ref.name set to the canonical reference. */
int image_layout_save(struct image_store *store, const char *ref, const char *output,
		      struct error *err);

#endif
