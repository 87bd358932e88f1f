/* image_manifest: indexes and manifests (see manifest.h); configs are in config.c, platform
 * selection in platform.c. */
#include "image/manifest.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image/json-read.h"
#include "util/cleanup.h"

static const struct {
	const char *type;
	enum image_media_kind kind;
	enum image_compression compression;
} media_types[] = {
    {IMAGE_MT_OCI_INDEX, IMAGE_MEDIA_INDEX, IMAGE_COMPRESSION_NONE},
    {IMAGE_MT_DOCKER_LIST, IMAGE_MEDIA_INDEX, IMAGE_COMPRESSION_NONE},
    {IMAGE_MT_OCI_MANIFEST, IMAGE_MEDIA_MANIFEST, IMAGE_COMPRESSION_NONE},
    {IMAGE_MT_DOCKER_MANIFEST, IMAGE_MEDIA_MANIFEST, IMAGE_COMPRESSION_NONE},
    {IMAGE_MT_OCI_CONFIG, IMAGE_MEDIA_CONFIG, IMAGE_COMPRESSION_NONE},
    {IMAGE_MT_DOCKER_CONFIG, IMAGE_MEDIA_CONFIG, IMAGE_COMPRESSION_NONE},
    {IMAGE_MT_OCI_LAYER, IMAGE_MEDIA_LAYER, IMAGE_COMPRESSION_NONE},
    {IMAGE_MT_OCI_LAYER_GZIP, IMAGE_MEDIA_LAYER, IMAGE_COMPRESSION_GZIP},
    {IMAGE_MT_OCI_LAYER_ZSTD, IMAGE_MEDIA_LAYER, IMAGE_COMPRESSION_ZSTD},
    {IMAGE_MT_DOCKER_LAYER, IMAGE_MEDIA_LAYER, IMAGE_COMPRESSION_GZIP},
    {"application/vnd.oci.image.layer.nondistributable.v1.tar", IMAGE_MEDIA_LAYER,
     IMAGE_COMPRESSION_NONE},
    {"application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", IMAGE_MEDIA_LAYER,
     IMAGE_COMPRESSION_GZIP},
    {"application/vnd.oci.image.layer.nondistributable.v1.tar+zstd", IMAGE_MEDIA_LAYER,
     IMAGE_COMPRESSION_ZSTD},
    {"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", IMAGE_MEDIA_LAYER,
     IMAGE_COMPRESSION_GZIP},
};

enum image_media_kind image_media_kind(const char *media_type)
{
	for (size_t i = 0; media_type && i < ARRAY_SIZE(media_types); i++)
		if (strcmp(media_type, media_types[i].type) == 0)
			return media_types[i].kind;
	return IMAGE_MEDIA_UNKNOWN;
}

int image_layer_compression(const char *media_type, enum image_compression *ret, struct error *err)
{
	for (size_t i = 0; media_type && i < ARRAY_SIZE(media_types); i++) {
		if (strcmp(media_type, media_types[i].type) == 0 &&
		    media_types[i].kind == IMAGE_MEDIA_LAYER) {
			*ret = media_types[i].compression;
			return 0;
		}
	}
	return error_set(err, EOPNOTSUPP, "unsupported layer media type \"%.100s\"",
			 media_type ? media_type : "");
}

int image_manifest_detect(const char *buf, size_t len, const char *hint, enum image_media_kind *ret,
			  struct error *err)
{
	cleanup_json struct json_object *o = NULL;
	cleanup_free char *mt = NULL;
	int r;

	*ret = IMAGE_MEDIA_UNKNOWN;
	r = image_json_parse(buf, len, IMAGE_MANIFEST_MAX_BYTES, &o, err);
	if (r < 0)
		return r;
	r = image_json_string(o, "", "mediaType", false, &mt, err);
	if (r < 0)
		return r;
	*ret = image_media_kind(mt ? mt : hint);
	if (*ret == IMAGE_MEDIA_UNKNOWN && !mt) {
		if (json_object_object_get_ex(o, "manifests", NULL))
			*ret = IMAGE_MEDIA_INDEX;
		else if (json_object_object_get_ex(o, "layers", NULL))
			*ret = IMAGE_MEDIA_MANIFEST;
	}
	if (*ret != IMAGE_MEDIA_INDEX && *ret != IMAGE_MEDIA_MANIFEST)
		return error_set(err, EOPNOTSUPP, "unsupported manifest media type \"%.100s\"",
				 mt	? mt
				 : hint ? hint
					: "");
	return 0;
}

static void descriptor_clear(struct image_descriptor *d)
{
	free(d->media_type);
	free(d->ref_name);
	image_platform_clear(&d->platform);
}

static int parse_digest(struct json_object *o, const char *field, char ret[IMAGE_DIGEST_SIZE],
			struct error *err)
{
	cleanup_free char *d = NULL;
	int r;

	r = image_json_string(o, field, "digest", true, &d, err);
	if (r < 0)
		return r;
	r = image_digest_validate(d, err);
	if (r < 0)
		return error_wrap(err, "%s.digest", field);
	memcpy(ret, d, IMAGE_DIGEST_SIZE);
	return 0;
}

static int parse_platform(struct json_object *o, const char *field, struct image_platform *p,
			  struct error *err)
{
	struct json_object *po;
	char name[64];
	int r;

	r = image_json_object(o, field, "platform", false, &po, err);
	if (r < 0 || !po)
		return r;
	snprintf(name, sizeof(name), "%s.platform", field);
	r = image_json_string(po, name, "os", true, &p->os, err);
	if (r < 0)
		return r;
	r = image_json_string(po, name, "architecture", true, &p->architecture, err);
	if (r < 0)
		return r;
	return image_json_string(po, name, "variant", false, &p->variant, err);
}

static int parse_ref_name(struct json_object *o, const char *field, char **ret, struct error *err)
{
	struct json_object *a;
	char name[64];
	int r;

	r = image_json_object(o, field, "annotations", false, &a, err);
	if (r < 0 || !a)
		return r;
	snprintf(name, sizeof(name), "%s.annotations", field);
	return image_json_string(a, name, IMAGE_ANNOTATION_REF_NAME, false, ret, err);
}

/* field: "manifests[3]", "config", "layers[0]". */
static int parse_descriptor(struct json_object *o, const char *field, struct image_descriptor *d,
			    struct error *err)
{
	int r;

	if (!json_object_is_type(o, json_type_object))
		return error_set(err, EINVAL, "%s: not an object", field);
	r = image_json_string(o, field, "mediaType", true, &d->media_type, err);
	if (r < 0)
		return r;
	r = parse_digest(o, field, d->digest, err);
	if (r < 0)
		return r;
	r = image_json_int64(o, field, "size", true, 0, IMAGE_BLOB_MAX_SIZE, &d->size, err);
	if (r < 0)
		return r;
	r = parse_platform(o, field, &d->platform, err);
	if (r < 0)
		return r;
	return parse_ref_name(o, field, &d->ref_name, err);
}

/* Parses the array member key into *ret (owned). */
static int parse_descriptors(struct json_object *o, const char *key, bool required,
			     struct image_descriptor **ret, size_t *ret_n, struct error *err)
{
	struct image_descriptor *v;
	struct json_object *a;
	char field[64];
	size_t n;
	int r;

	r = image_json_array(o, "", key, required, IMAGE_MANIFEST_MAX_ITEMS, &a, &n, err);
	if (r < 0)
		return r;
	v = calloc(n + 1, sizeof(*v));
	if (!v)
		return error_set(err, ENOMEM, "out of memory");
	*ret = v;
	for (size_t i = 0; i < n; i++) {
		snprintf(field, sizeof(field), "%s[%zu]", key, i);
		*ret_n = i + 1;
		r = parse_descriptor(json_object_array_get_idx(a, i), field, &v[i], err);
		if (r < 0)
			return r;
	}
	return 0;
}

static int check_schema(struct json_object *o, struct error *err)
{
	int64_t v = 2;
	int r;

	r = image_json_int64(o, "", "schemaVersion", true, 0, 100, &v, err);
	if (r < 0)
		return r;
	if (v != 2)
		return error_set(err, EOPNOTSUPP, "schemaVersion: %lld is not supported",
				 (long long)v);
	return 0;
}

static int check_media_type(const char *mt, enum image_media_kind want, struct error *err)
{
	if (mt && image_media_kind(mt) != want)
		return error_set(err, EINVAL, "mediaType: unexpected \"%.100s\"", mt);
	return 0;
}

static int parse_index(struct json_object *o, struct image_index *idx, struct error *err)
{
	int r;

	r = check_schema(o, err);
	if (r < 0)
		return r;
	r = image_json_string(o, "", "mediaType", false, &idx->media_type, err);
	if (r < 0)
		return r;
	r = check_media_type(idx->media_type, IMAGE_MEDIA_INDEX, err);
	if (r < 0)
		return r;
	return parse_descriptors(o, "manifests", true, &idx->manifests, &idx->n_manifests, err);
}

int image_index_parse(const char *buf, size_t len, struct image_index **ret, struct error *err)
{
	cleanup_json struct json_object *o = NULL;
	struct image_index *idx;
	int r;

	*ret = NULL;
	r = image_json_parse(buf, len, IMAGE_MANIFEST_MAX_BYTES, &o, err);
	if (r < 0)
		return error_wrap(err, "image index");
	idx = calloc(1, sizeof(*idx));
	if (!idx)
		return error_set(err, ENOMEM, "image index: out of memory");
	r = parse_index(o, idx, err);
	if (r < 0) {
		image_index_free(idx);
		return error_wrap(err, "image index");
	}
	*ret = idx;
	return 0;
}

struct image_index *image_index_free(struct image_index *index)
{
	if (!index)
		return NULL;
	for (size_t i = 0; i < index->n_manifests; i++)
		descriptor_clear(&index->manifests[i]);
	free(index->manifests);
	free(index->media_type);
	free(index);
	return NULL;
}

static int parse_layers(struct json_object *o, struct image_manifest *m, struct error *err)
{
	int r;

	r = parse_descriptors(o, "layers", true, &m->layers, &m->n_layers, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < m->n_layers; i++) {
		r = image_layer_compression(m->layers[i].media_type, &m->layers[i].compression,
					    err);
		if (r < 0)
			return error_wrap(err, "layers[%zu].mediaType", i);
	}
	return 0;
}

static int parse_manifest(struct json_object *o, struct image_manifest *m, struct error *err)
{
	struct json_object *c;
	int r;

	r = check_schema(o, err);
	if (r < 0)
		return r;
	r = image_json_string(o, "", "mediaType", false, &m->media_type, err);
	if (r < 0)
		return r;
	r = check_media_type(m->media_type, IMAGE_MEDIA_MANIFEST, err);
	if (r < 0)
		return r;
	r = image_json_object(o, "", "config", true, &c, err);
	if (r < 0)
		return r;
	r = parse_descriptor(c, "config", &m->config, err);
	if (r < 0)
		return r;
	if (image_media_kind(m->config.media_type) != IMAGE_MEDIA_CONFIG)
		return error_set(err, EOPNOTSUPP, "config.mediaType: unsupported \"%.100s\"",
				 m->config.media_type);
	return parse_layers(o, m, err);
}

int image_manifest_parse(const char *buf, size_t len, struct image_manifest **ret,
			 struct error *err)
{
	cleanup_json struct json_object *o = NULL;
	struct image_manifest *m;
	int r;

	*ret = NULL;
	r = image_json_parse(buf, len, IMAGE_MANIFEST_MAX_BYTES, &o, err);
	if (r < 0)
		return error_wrap(err, "image manifest");
	m = calloc(1, sizeof(*m));
	if (!m)
		return error_set(err, ENOMEM, "image manifest: out of memory");
	r = parse_manifest(o, m, err);
	if (r < 0) {
		image_manifest_free(m);
		return error_wrap(err, "image manifest");
	}
	*ret = m;
	return 0;
}

struct image_manifest *image_manifest_free(struct image_manifest *m)
{
	if (!m)
		return NULL;
	descriptor_clear(&m->config);
	for (size_t i = 0; i < m->n_layers; i++)
		descriptor_clear(&m->layers[i]);
	free(m->layers);
	free(m->media_type);
	free(m);
	return NULL;
}
