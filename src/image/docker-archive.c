/* image_layout: docker-archive import (`docker save` / `podman save`), see layout.h.
 *
 * manifest.json: [{"Config": "x.json", "RepoTags": ["busybox:latest"], "Layers": ["y/layer.tar"]}].
 * Two passes over the tar: the first reads manifest.json, the second copies the members it
 * names into the store. Each image then gets an OCI manifest written for it.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "image/json-read.h"
#include "image/layout-internal.h"
#include "image/manifest.h"
#include "image/tar.h"
#include "util/cleanup.h"
#include "util/str.h"

#define MAX_IMAGES  100
#define MAX_TAGS    100
#define MAX_MEMBERS 2000

struct member {
	char *path;
	char digest[IMAGE_DIGEST_SIZE];
	int64_t size;
	bool found;
};

struct image {
	size_t config;	/* index into members */
	size_t *layers; /* indexes into members */
	size_t n_layers;
	char **tags;
};

struct plan {
	struct member members[MAX_MEMBERS];
	size_t n_members;
	struct image images[MAX_IMAGES];
	size_t n_images;
};

static void plan_free(struct plan *p)
{
	for (size_t i = 0; i < p->n_members; i++)
		free(p->members[i].path);
	for (size_t i = 0; i < p->n_images; i++) {
		free(p->images[i].layers);
		strv_free(p->images[i].tags);
	}
	free(p);
}

static struct member *find_member(struct plan *p, const char *path)
{
	for (size_t i = 0; i < p->n_members; i++)
		if (strcmp(p->members[i].path, path) == 0)
			return &p->members[i];
	return NULL;
}

/* Adds the path named by a document; *ret: its index. */
static int add_member(struct plan *p, const char *path, const char *field, size_t *ret,
		      struct error *err)
{
	char clean[IMAGE_TAR_PATH_MAX + 1];
	struct member *m;
	int r;

	r = image_tar_clean_path(path, clean, sizeof(clean), err);
	if (r < 0)
		return error_wrap(err, "manifest.json: %s", field);
	m = find_member(p, clean);
	if (!m) {
		if (p->n_members == MAX_MEMBERS)
			return error_set(err, E2BIG, "manifest.json: more than %d files",
					 MAX_MEMBERS);
		m = &p->members[p->n_members++];
		m->path = strdup(clean);
		if (!m->path)
			return error_set(err, ENOMEM, "out of memory");
	}
	*ret = (size_t)(m - p->members);
	return 0;
}

static int parse_image(struct plan *p, struct json_object *o, const char *field, struct image *img,
		       struct error *err)
{
	cleanup_free char *config = NULL;
	cleanup_strv char **layers = NULL;
	char name[96];
	int r;

	if (!json_object_is_type(o, json_type_object))
		return error_set(err, EINVAL, "manifest.json: %s: not an object", field);
	r = image_json_string(o, field, "Config", true, &config, err);
	if (r == 0)
		r = image_json_strv(o, field, "RepoTags", MAX_TAGS, &img->tags, err);
	if (r == 0)
		r = image_json_strv(o, field, "Layers", IMAGE_MANIFEST_MAX_ITEMS, &layers, err);
	if (r == 0 && !layers)
		r = error_set(err, EINVAL, "%s.Layers: missing", field);
	if (r < 0)
		return error_wrap(err, "manifest.json");
	snprintf(name, sizeof(name), "%s.Config", field);
	r = add_member(p, config, name, &img->config, err);
	img->n_layers = strv_len(layers);
	img->layers = calloc(img->n_layers + 1, sizeof(size_t));
	if (r == 0 && !img->layers)
		r = error_set(err, ENOMEM, "out of memory");
	for (size_t i = 0; r == 0 && i < img->n_layers; i++) {
		snprintf(name, sizeof(name), "%s.Layers[%zu]", field, i);
		r = add_member(p, layers[i], name, &img->layers[i], err);
	}
	return r;
}

static int parse_plan(const char *buf, size_t len, struct plan *p, struct error *err)
{
	cleanup_json struct json_object *o = NULL;
	char field[32];
	size_t n;
	int r;

	r = image_json_parse_any(buf, len, IMAGE_LAYOUT_DOC_MAX, &o, err);
	if (r < 0)
		return error_wrap(err, "manifest.json");
	if (!json_object_is_type(o, json_type_array))
		return error_set(err, EINVAL, "manifest.json: not an array");
	n = json_object_array_length(o);
	if (n == 0 || n > MAX_IMAGES)
		return error_set(err, EINVAL, "manifest.json: %zu images (1 to %d allowed)", n,
				 MAX_IMAGES);
	for (size_t i = 0; i < n; i++) {
		snprintf(field, sizeof(field), "[%zu]", i);
		p->n_images = i + 1;
		r = parse_image(p, json_object_array_get_idx(o, i), field, &p->images[i], err);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Pass 1: reads manifest.json. */
static int read_plan(const char *path, struct plan *p, struct error *err)
{
	char name[IMAGE_TAR_PATH_MAX + 1];
	cleanup_free char *buf = NULL;
	struct archive *a = NULL;
	struct archive_entry *e;
	size_t len = 0;
	int r, ar = ARCHIVE_OK;

	r = image_tar_open_read(path, &a, err);
	if (r < 0)
		return r;
	while (r == 0 && !buf && (ar = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		if (image_tar_member_name(e, name, sizeof(name), err) == 0 &&
		    strcmp(name, "manifest.json") == 0)
			r = image_tar_read_member(a, e, name, IMAGE_LAYOUT_DOC_MAX, &buf, &len,
						  err);
	}
	if (r == 0 && !buf && ar != ARCHIVE_EOF)
		r = error_set(err, EBADMSG, "%s", archive_error_string(a));
	archive_read_free(a);
	if (r == 0 && !buf)
		r = error_set(err, ENOENT, "member manifest.json: missing");
	return r < 0 ? r : parse_plan(buf, len, p, err);
}

static int copy_member(struct image_store *store, struct plan *p, struct archive *a,
		       struct archive_entry *e, struct error *err)
{
	char name[IMAGE_TAR_PATH_MAX + 1];
	struct error ignored;
	struct member *m;
	int r;

	if (image_tar_member_name(e, name, sizeof(name), &ignored) < 0)
		return 0; /* named by nothing we read */
	m = find_member(p, name);
	if (!m)
		return 0;
	if (m->found)
		return error_set(err, EINVAL, "member %s: appears twice", name);
	r = image_tar_put_member(store, a, e, name, NULL, m->digest, err);
	if (r < 0)
		return r;
	m->found = true;
	return image_store_blob_size(store, m->digest, &m->size, err);
}

/* Pass 2: copies every member the plan names into the store. */
static int copy_members(struct image_store *store, const char *path, struct plan *p,
			struct error *err)
{
	struct archive *a = NULL;
	struct archive_entry *e;
	int r, ar = ARCHIVE_OK;

	r = image_tar_open_read(path, &a, err);
	if (r < 0)
		return r;
	while (r == 0 && (ar = archive_read_next_header(a, &e)) == ARCHIVE_OK)
		r = copy_member(store, p, a, e, err);
	if (r == 0 && ar != ARCHIVE_EOF)
		r = error_set(err, EBADMSG, "%s", archive_error_string(a));
	archive_read_free(a);
	for (size_t i = 0; r == 0 && i < p->n_members; i++)
		if (!p->members[i].found)
			r = error_set(err, ENOENT, "member %s: missing from the archive",
				      p->members[i].path);
	return r;
}

static int sniff(struct image_store *store, const char *digest, enum image_compression *ret,
		 struct error *err)
{
	cleanup_fd int fd = image_store_open_blob(store, digest, err);
	unsigned char m[4] = {0};
	ssize_t n;

	if (fd < 0)
		return fd;
	n = read(fd, m, sizeof(m));
	if (n < 0)
		return error_errno(err, "read blob %s", digest);
	*ret = IMAGE_COMPRESSION_NONE;
	if (n >= 2 && m[0] == 0x1f && m[1] == 0x8b)
		*ret = IMAGE_COMPRESSION_GZIP;
	else if (n == 4 && m[0] == 0x28 && m[1] == 0xb5 && m[2] == 0x2f && m[3] == 0xfd)
		*ret = IMAGE_COMPRESSION_ZSTD;
	return 0;
}

static int hash_raw(struct archive *a, struct image_digest_ctx *md, struct error *err)
{
	cleanup_free char *buf = malloc(64 * 1024);
	struct archive_entry *e;

	if (!buf)
		return error_set(err, ENOMEM, "out of memory");
	if (archive_read_next_header(a, &e) != ARCHIVE_OK)
		return error_set(err, EBADMSG, "%s", archive_error_string(a));
	for (;;) {
		la_ssize_t n = archive_read_data(a, buf, 64 * 1024);
		int r;

		if (n < 0)
			return error_set(err, EBADMSG, "%s", archive_error_string(a));
		if (n == 0)
			return 0;
		r = image_digest_update(md, buf, (size_t)n, err);
		if (r < 0)
			return r;
	}
}

/* The digest of a compressed layer's uncompressed bytes: its diff_id. */
static int diff_digest(struct image_store *store, const char *digest, char ret[IMAGE_DIGEST_SIZE],
		       struct error *err)
{
	cleanup_fd int fd = image_store_open_blob(store, digest, err);
	struct image_digest_ctx md = {0};
	struct archive *a;
	int r;

	if (fd < 0)
		return fd;
	a = archive_read_new();
	if (!a)
		return error_set(err, ENOMEM, "out of memory");
	archive_read_support_filter_all(a);
	archive_read_support_format_raw(a);
	r = archive_read_open_fd(a, fd, 64 * 1024) == ARCHIVE_OK
		? image_digest_init(&md, err)
		: error_set(err, EBADMSG, "%s", archive_error_string(a));
	if (r == 0)
		r = hash_raw(a, &md, err);
	archive_read_free(a);
	if (r == 0)
		return image_digest_final(&md, ret, err);
	image_digest_ctx_free(&md);
	return r;
}

static const char *layer_type(enum image_compression c)
{
	switch (c) {
	case IMAGE_COMPRESSION_GZIP:
		return IMAGE_MT_OCI_LAYER_GZIP;
	case IMAGE_COMPRESSION_ZSTD:
		return IMAGE_MT_OCI_LAYER_ZSTD;
	case IMAGE_COMPRESSION_NONE:
	case IMAGE_COMPRESSION_MAX:
		break;
	}
	return IMAGE_MT_OCI_LAYER;
}

static struct json_object *descriptor(const char *media_type, const struct member *m)
{
	struct json_object *d = json_object_new_object();

	if (!d || json_object_object_add(d, "mediaType", json_object_new_string(media_type)) < 0 ||
	    json_object_object_add(d, "digest", json_object_new_string(m->digest)) < 0 ||
	    json_object_object_add(d, "size", json_object_new_int64(m->size)) < 0) {
		json_object_put(d);
		return NULL;
	}
	return d;
}

/* Checks layer i against the config's diff_id and adds its descriptor to layers. */
static int add_layer(struct image_store *store, const struct member *m, const char *diff_id,
		     struct json_object *layers, struct error *err)
{
	enum image_compression c = IMAGE_COMPRESSION_NONE;
	char got[IMAGE_DIGEST_SIZE];
	int r;

	r = sniff(store, m->digest, &c, err);
	if (r == 0 && c == IMAGE_COMPRESSION_NONE)
		memcpy(got, m->digest, sizeof(got));
	else if (r == 0)
		r = diff_digest(store, m->digest, got, err);
	if (r == 0 && strcmp(got, diff_id) != 0)
		r = error_set(err, EBADMSG, "diff_id mismatch (config says %s, content is %s)",
			      diff_id, got);
	if (r < 0)
		return error_wrap(err, "layer %s", m->path);
	if (json_object_array_add(layers, descriptor(layer_type(c), m)) < 0)
		return error_set(err, ENOMEM, "out of memory");
	return 0;
}

static int read_config(struct image_store *store, const struct member *m, struct image_config **ret,
		       struct error *err)
{
	cleanup_free char *buf = NULL;
	size_t len;
	int r;

	r = image_store_read_blob(store, m->digest, IMAGE_CONFIG_MAX_BYTES, &buf, &len, err);
	if (r == 0)
		r = image_config_parse(buf, len, ret, err);
	return r < 0 ? error_wrap(err, "config %s", m->path) : 0;
}

static int build_manifest(struct image_store *store, const struct plan *p, const struct image *img,
			  struct image_config *cfg, struct json_object *man, struct error *err)
{
	struct json_object *layers = json_object_new_array();
	int r = 0;

	if (!layers || json_object_object_add(man, "layers", layers) < 0) {
		json_object_put(layers);
		return error_set(err, ENOMEM, "out of memory");
	}
	if (json_object_object_add(man, "schemaVersion", json_object_new_int(2)) < 0 ||
	    json_object_object_add(man, "mediaType",
				   json_object_new_string(IMAGE_MT_OCI_MANIFEST)) < 0 ||
	    json_object_object_add(man, "config",
				   descriptor(IMAGE_MT_OCI_CONFIG, &p->members[img->config])) < 0)
		return error_set(err, ENOMEM, "out of memory");
	if (cfg->n_diff_ids != img->n_layers)
		return error_set(err, EBADMSG, "config %s: %zu diff_ids for %zu layers",
				 p->members[img->config].path, cfg->n_diff_ids, img->n_layers);
	for (size_t i = 0; r == 0 && i < img->n_layers; i++)
		r = add_layer(store, &p->members[img->layers[i]], cfg->diff_ids[i], layers, err);
	return r;
}

static int import_image(struct image_store *store, const struct plan *p, const struct image *img,
			struct image_layout_result *ret, struct error *err)
{
	cleanup_json struct json_object *man = json_object_new_object();
	struct image_config *cfg = NULL;
	char digest[IMAGE_DIGEST_SIZE];
	const char *text;
	int r;

	if (!man)
		return error_set(err, ENOMEM, "out of memory");
	r = read_config(store, &p->members[img->config], &cfg, err);
	if (r == 0)
		r = build_manifest(store, p, img, cfg, man, err);
	image_config_free(cfg);
	if (r < 0)
		return r;
	text = json_object_to_json_string_ext(man, JSON_C_TO_STRING_PLAIN |
						       JSON_C_TO_STRING_NOSLASHESCAPE);
	r = image_store_put_blob_buf(store, NULL, text, strlen(text), digest, err);
	if (r == 0)
		r = image_layout_strv_add(&ret->digests, &ret->n_digests, digest, err);
	for (size_t i = 0; r == 0 && img->tags && img->tags[i]; i++)
		r = image_layout_tag(store, img->tags[i], digest, ret, err);
	return r;
}

int image_layout_import_docker_archive(struct image_store *store, const char *path,
				       struct image_layout_result *ret, struct error *err)
{
	struct plan *p = calloc(1, sizeof(*p));
	int r;

	*ret = (struct image_layout_result){0};
	if (!p)
		return error_set(err, ENOMEM, "out of memory");
	r = read_plan(path, p, err);
	if (r == 0)
		r = copy_members(store, path, p, err);
	for (size_t i = 0; r == 0 && i < p->n_images; i++)
		r = import_image(store, p, &p->images[i], ret, err);
	plan_free(p);
	return r < 0 ? error_wrap(err, "import docker-archive %s", path) : 0;
}
