/* image_manifest: OCI / Docker image indexes, manifests and image configs (untrusted JSON).
 *
 * Parsers check every type, every digest (image/digest.h) and bound every array (at most
 * IMAGE_MANIFEST_MAX_ITEMS manifests or layers); errors name the field ("layers[2].digest:
 * ..."). Parsed objects are owned by the caller: free them with the matching *_free().
 */
#ifndef VESSEL_IMAGE_MANIFEST_H
#define VESSEL_IMAGE_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#include "image/digest.h"
#include "util/error.h"

#define IMAGE_MT_OCI_INDEX	  "application/vnd.oci.image.index.v1+json"
#define IMAGE_MT_DOCKER_LIST	  "application/vnd.docker.distribution.manifest.list.v2+json"
#define IMAGE_MT_OCI_MANIFEST	  "application/vnd.oci.image.manifest.v1+json"
#define IMAGE_MT_DOCKER_MANIFEST  "application/vnd.docker.distribution.manifest.v2+json"
#define IMAGE_MT_OCI_CONFIG	  "application/vnd.oci.image.config.v1+json"
#define IMAGE_MT_DOCKER_CONFIG	  "application/vnd.docker.container.image.v1+json"
#define IMAGE_MT_OCI_LAYER	  "application/vnd.oci.image.layer.v1.tar"
#define IMAGE_MT_OCI_LAYER_GZIP	  "application/vnd.oci.image.layer.v1.tar+gzip"
#define IMAGE_MT_OCI_LAYER_ZSTD	  "application/vnd.oci.image.layer.v1.tar+zstd"
#define IMAGE_MT_DOCKER_LAYER	  "application/vnd.docker.image.rootfs.diff.tar.gzip"
#define IMAGE_ANNOTATION_REF_NAME "org.opencontainers.image.ref.name"

#define IMAGE_MANIFEST_MAX_ITEMS 1000
#define IMAGE_MANIFEST_MAX_BYTES (4u << 20) /* manifests and indexes */
#define IMAGE_CONFIG_MAX_BYTES	 (8u << 20)
#define IMAGE_BLOB_MAX_SIZE	 (INT64_C(1) << 40)

enum image_media_kind {
	IMAGE_MEDIA_UNKNOWN,
	IMAGE_MEDIA_INDEX,
	IMAGE_MEDIA_MANIFEST,
	IMAGE_MEDIA_CONFIG,
	IMAGE_MEDIA_LAYER,
	IMAGE_MEDIA_MAX
};

enum image_compression {
	IMAGE_COMPRESSION_NONE,
	IMAGE_COMPRESSION_GZIP,
	IMAGE_COMPRESSION_ZSTD,
	IMAGE_COMPRESSION_MAX
};

/* Fields owned, NULL when absent. */
struct image_platform {
	char *os;
	char *architecture;
	char *variant;
};

struct image_descriptor {
	char *media_type; /* owned */
	char digest[IMAGE_DIGEST_SIZE];
	int64_t size;
	struct image_platform platform;	    /* index entries only */
	char *ref_name;			    /* annotation org.opencontainers.image.ref.name */
	enum image_compression compression; /* layers only */
};

struct image_index {
	char *media_type; /* NULL when the document has none (OCI allows it) */
	struct image_descriptor *manifests;
	size_t n_manifests;
};

struct image_manifest {
	char *media_type;
	struct image_descriptor config;
	struct image_descriptor *layers;
	size_t n_layers;
};

struct image_config_label {
	char *key;
	char *value;
};

struct image_config {
	char *architecture, *os, *variant, *created; /* created: RFC 3339 or NULL */
	char **entrypoint, **cmd, **env;	     /* NULL-terminated, NULL when absent */
	char *working_dir, *user;		     /* NULL when absent */
	struct image_config_label *labels;
	size_t n_labels;
	char **diff_ids; /* NULL-terminated, "sha256:..." each */
	size_t n_diff_ids;
};

/* The kind of a media type string (borrowed); UNKNOWN for anything else. */
enum image_media_kind image_media_kind(const char *media_type);
/* The compression a layer media type implies; -EOPNOTSUPP for a non-layer type. */
int image_layer_compression(const char *media_type, enum image_compression *ret, struct error *err);
/* Tells an index from a manifest: by its mediaType member, else hint (borrowed, may be NULL:
 * the Content-Type or descriptor media type), else by its members. */
int image_manifest_detect(const char *buf, size_t len, const char *hint, enum image_media_kind *ret,
			  struct error *err);

int image_index_parse(const char *buf, size_t len, struct image_index **ret, struct error *err);
struct image_index *image_index_free(struct image_index *index);
int image_manifest_parse(const char *buf, size_t len, struct image_manifest **ret,
			 struct error *err);
struct image_manifest *image_manifest_free(struct image_manifest *m);
int image_config_parse(const char *buf, size_t len, struct image_config **ret, struct error *err);
struct image_config *image_config_free(struct image_config *c);

/* Parses "os/arch[/variant]" (borrowed) into *ret (owned fields; image_platform_clear()). */
int image_platform_parse(const char *s, struct image_platform *ret, struct error *err);
void image_platform_clear(struct image_platform *p);
/* Picks the index entry for platform ("os/arch[/variant]", NULL: linux/amd64): os and
 * architecture must match; a requested variant must match, otherwise an entry without a
 * variant is preferred. *ret borrows from index. -ENOENT naming the platforms on offer. */
int image_index_select(const struct image_index *index, const char *platform,
		       const struct image_descriptor **ret, struct error *err);

#endif
