/* engine_images: the image commands people type: images, import, save, rmi, inspect, and the
 * store's garbage collection.
 *
 * Each command opens the store at paths->store, does its work and writes its normal output to
 * out (borrowed); errors go to err only. An image argument is a reference ("busybox",
 * "127.0.0.1:5000/x:1", "name@sha256:...") or, when no name matches, a prefix of an image ID
 * (the config digest, with or without "sha256:") or of a manifest digest.
 */
#ifndef VESSEL_ENGINE_IMAGES_H
#define VESSEL_ENGINE_IMAGES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "engine/run.h"
#include "image/store.h"
#include "util/error.h"

enum engine_images_format {
	ENGINE_IMAGES_TABLE, /* REPOSITORY TAG IMAGE ID CREATED SIZE, like docker images */
	ENGINE_IMAGES_JSON,  /* [{repository, tag, id, digest, created, size}] */
	ENGINE_IMAGES_QUIET, /* image IDs (12 hex), one a line */
	ENGINE_IMAGES_FORMAT_MAX
};

/* What engine_images_gc() removed. */
struct engine_images_gc_stats {
	size_t blobs;  /* files under blobs/sha256 */
	size_t layers; /* directories under layers/ */
	int64_t bytes; /* size of the removed blobs */
};

/* `vessel images`: every tagged name, sorted. */
int engine_images_list(const struct engine_paths *paths, enum engine_images_format format,
		       FILE *out, struct error *err);
/* `vessel import PATH [NAME]`: an OCI layout (directory or tar) or a docker-archive; name
 * (may be NULL) names an image the source leaves unnamed. Prints "Loaded image: NAME" per
 * name and "Loaded image ID: DIGEST" per top-level digest. On error no name is left changed
 * (names tagged before the failure are restored); verified blobs stay for the next try. */
int engine_images_import(const struct engine_paths *paths, const char *path, const char *name,
			 FILE *out, struct error *err);
/* `vessel save IMAGE -o FILE`: an OCI layout tar, written atomically. */
int engine_images_save(const struct engine_paths *paths, const char *image, const char *output,
		       struct error *err);
/* `vessel rmi [-f] IMAGE...`: every argument is resolved before anything changes (an unknown
 * one is an error and nothing is removed); a name is untagged, an ID untags all its names
 * (more than one only with force); then engine_images_gc(). Prints "Untagged: NAME" and
 * "Deleted: DIGEST" lines like docker. */
int engine_images_remove(const struct engine_paths *paths, char *const *images, size_t n,
			 bool force, FILE *out, struct error *err);
/* `vessel inspect IMAGE...`: a JSON array with one object per image, like docker image
 * inspect (Id, RepoTags, RepoDigests, Created, Architecture, Os, Config, RootFS, Size). */
int engine_images_inspect(const struct engine_paths *paths, char *const *images, size_t n,
			  FILE *out, struct error *err);

/* Removes the blobs and unpacked layers that no tagged image reaches (a tagged index reaches
 * its manifests, a manifest its config and layers, a config its diff_ids' layer dirs), under
 * the store's locks: store.lock exclusive (image_store_lock), so it first waits for every
 * pull, import and layer unpack in progress, whose blobs are tagged only when they end. When
 * a tagged image cannot be read completely (other than a missing blob), nothing is removed and
 * the error names it. ret (may be NULL) gets what was removed. */
int engine_images_gc(struct image_store *store, struct engine_images_gc_stats *ret,
		     struct error *err);

#endif
