/* image_layout: OCI image layout import, from a directory or a tar (see layout.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/json-read.h"
#include "image/layout-internal.h"
#include "image/manifest.h"
#include "image/ref.h"
#include "image/tar.h"
#include "util/cleanup.h"
#include "util/fd.h"
#include "util/path.h"
#include "util/str.h"

#define MAX_DEPTH 4
#define MAX_BLOBS 20000

struct source {
	struct image_store *store;
	int blobs_fd; /* <dir>/blobs/sha256; -1: the blobs are already in the store (tar) */
	unsigned budget;
};

int image_layout_strv_add(char ***v, size_t *n, const char *s, struct error *err)
{
	char **nv = realloc(*v, (*n + 2) * sizeof(char *));

	if (!nv)
		return error_set(err, ENOMEM, "out of memory");
	*v = nv;
	nv[*n] = strdup(s);
	if (!nv[*n])
		return error_set(err, ENOMEM, "out of memory");
	nv[++*n] = NULL;
	return 0;
}

void image_layout_result_clear(struct image_layout_result *ret)
{
	strv_free(ret->digests);
	strv_free(ret->names);
	*ret = (struct image_layout_result){0};
}

int image_layout_tag(struct image_store *store, const char *name, const char *digest,
		     struct image_layout_result *ret, struct error *err)
{
	cleanup_free char *canon = image_ref_normalize(name, err);
	int r;

	if (!canon)
		return -err->code;
	r = image_store_tag(store, canon, digest, err);
	if (r < 0)
		return r;
	return image_layout_strv_add(&ret->names, &ret->n_names, canon, err);
}

static int check_size(struct source *src, const char *digest, int64_t size, struct error *err)
{
	int64_t have;
	int r;

	r = image_store_blob_size(src->store, digest, &have, err);
	if (r < 0)
		return r;
	if (have != size)
		return error_set(err, EBADMSG, "blob %s: %lld bytes, expected %lld", digest,
				 (long long)have, (long long)size);
	return 0;
}

static int ensure_blob(struct source *src, const char *digest, int64_t size, struct error *err)
{
	cleanup_fd int fd = -1;
	struct stat st;

	if (++src->budget > MAX_BLOBS)
		return error_set(err, E2BIG, "more than %d blobs", MAX_BLOBS);
	if (image_store_has_blob(src->store, digest))
		return check_size(src, digest, size, err);
	if (src->blobs_fd < 0)
		return error_set(err, ENOENT, "blob %s: missing from the layout", digest);
	fd = openat(src->blobs_fd, image_digest_hex(digest), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return error_errno(err, "blob %s", digest);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return error_set(err, EINVAL, "blob %s: not a regular file", digest);
	return image_store_put_blob_fd(src->store, digest, size, fd, NULL, err);
}

static int ingest(struct source *src, const struct image_descriptor *d, int depth,
		  struct error *err);

static int ingest_index(struct source *src, const char *buf, size_t len, int depth,
			struct error *err)
{
	struct image_index *idx = NULL;
	int r;

	r = image_index_parse(buf, len, &idx, err);
	for (size_t i = 0; r == 0 && i < idx->n_manifests; i++)
		r = ingest(src, &idx->manifests[i], depth + 1, err);
	image_index_free(idx);
	return r;
}

static int check_config(struct source *src, const struct image_manifest *m, struct error *err)
{
	cleanup_free char *buf = NULL;
	struct image_config *c = NULL;
	size_t len;
	int r;

	r = image_store_read_blob(src->store, m->config.digest, IMAGE_CONFIG_MAX_BYTES, &buf, &len,
				  err);
	if (r < 0)
		return r;
	r = image_config_parse(buf, len, &c, err);
	if (r < 0)
		return r;
	if (c->n_diff_ids != m->n_layers)
		r = error_set(err, EBADMSG, "config %s: %zu diff_ids for %zu layers",
			      m->config.digest, c->n_diff_ids, m->n_layers);
	image_config_free(c);
	return r;
}

static int ingest_manifest(struct source *src, const char *buf, size_t len, struct error *err)
{
	struct image_manifest *m = NULL;
	int r;

	r = image_manifest_parse(buf, len, &m, err);
	if (r < 0)
		return r;
	r = ensure_blob(src, m->config.digest, m->config.size, err);
	if (r == 0)
		r = check_config(src, m, err);
	for (size_t i = 0; r == 0 && i < m->n_layers; i++)
		r = ensure_blob(src, m->layers[i].digest, m->layers[i].size, err);
	image_manifest_free(m);
	return r;
}

static int ingest(struct source *src, const struct image_descriptor *d, int depth,
		  struct error *err)
{
	enum image_media_kind kind = image_media_kind(d->media_type);
	cleanup_free char *buf = NULL;
	size_t len;
	int r;

	if (depth > MAX_DEPTH)
		return error_set(err, ELOOP, "manifest %s: indexes nested too deep", d->digest);
	if (kind != IMAGE_MEDIA_INDEX && kind != IMAGE_MEDIA_MANIFEST)
		return error_set(err, EOPNOTSUPP, "manifest %s: unsupported media type \"%.100s\"",
				 d->digest, d->media_type);
	r = ensure_blob(src, d->digest, d->size, err);
	if (r == 0)
		r = image_store_read_blob(src->store, d->digest, IMAGE_MANIFEST_MAX_BYTES, &buf,
					  &len, err);
	if (r == 0)
		r = kind == IMAGE_MEDIA_INDEX ? ingest_index(src, buf, len, depth, err)
					      : ingest_manifest(src, buf, len, err);
	if (r < 0)
		return error_wrap(err, "manifest %s", d->digest);
	return 0;
}

/* The name for index.json's entry d: its ref.name annotation (a full reference, or a tag for
 * name), else name when it is the only entry; NULL: untagged. */
static char *entry_name(const struct image_descriptor *d, const char *name, size_t n)
{
	if (d->ref_name && strpbrk(d->ref_name, "/:@"))
		return strdup(d->ref_name);
	if (d->ref_name && name)
		return str_printf("%s:%s", name, d->ref_name);
	if (!d->ref_name && name && n == 1)
		return strdup(name);
	return NULL;
}

static int tag_entries(struct image_store *store, const struct image_index *idx, const char *name,
		       struct image_layout_result *ret, struct error *err)
{
	for (size_t i = 0; i < idx->n_manifests; i++) {
		cleanup_free char *n = entry_name(&idx->manifests[i], name, idx->n_manifests);
		int r;

		if (!n)
			continue;
		r = image_layout_tag(store, n, idx->manifests[i].digest, ret, err);
		if (r < 0)
			return error_wrap(err, "index.json: manifests[%zu]", i);
	}
	return 0;
}

static int check_oci_layout(const char *buf, size_t len, struct error *err)
{
	cleanup_json struct json_object *o = NULL;
	cleanup_free char *v = NULL;
	int r;

	r = image_json_parse(buf, len, IMAGE_LAYOUT_DOC_MAX, &o, err);
	if (r == 0)
		r = image_json_string(o, "", "imageLayoutVersion", true, &v, err);
	if (r == 0 && !str_has_prefix(v, "1."))
		r = error_set(err, EOPNOTSUPP, "imageLayoutVersion %.32s is not supported", v);
	return r < 0 ? error_wrap(err, "oci-layout") : 0;
}

static int import_index(struct source *src, const char *buf, size_t len, const char *name,
			struct image_layout_result *ret, struct error *err)
{
	struct image_index *idx = NULL;
	int r;

	r = image_index_parse(buf, len, &idx, err);
	if (r < 0)
		return error_wrap(err, "index.json");
	for (size_t i = 0; r == 0 && i < idx->n_manifests; i++) {
		r = ingest(src, &idx->manifests[i], 1, err);
		if (r == 0)
			r = image_layout_strv_add(&ret->digests, &ret->n_digests,
						  idx->manifests[i].digest, err);
	}
	if (r == 0)
		r = tag_entries(src->store, idx, name, ret, err);
	image_index_free(idx);
	return r;
}

static int read_doc(const char *dir, const char *file, char **ret, size_t *ret_len,
		    struct error *err)
{
	cleanup_free char *p = path_join(dir, file);

	if (!p)
		return error_set(err, ENOMEM, "out of memory");
	return fd_read_file(p, IMAGE_LAYOUT_DOC_MAX, ret, ret_len, err);
}

int image_layout_import_dir(struct image_store *store, const char *dir, const char *name,
			    struct image_layout_result *ret, struct error *err)
{
	cleanup_free char *layout = NULL, *index = NULL, *blobs = path_join(dir, "blobs/sha256");
	struct source src = {store, -1, 0};
	size_t n1, n2;
	int r;

	*ret = (struct image_layout_result){0};
	if (!blobs)
		return error_set(err, ENOMEM, "out of memory");
	r = read_doc(dir, "oci-layout", &layout, &n1, err);
	if (r == 0)
		r = check_oci_layout(layout, n1, err);
	if (r == 0)
		r = read_doc(dir, "index.json", &index, &n2, err);
	if (r == 0) {
		src.blobs_fd = open(blobs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		r = src.blobs_fd < 0 ? error_errno(err, "open %s", blobs) : 0;
	}
	if (r == 0)
		r = import_index(&src, index, n2, name, ret, err);
	if (src.blobs_fd >= 0)
		close(src.blobs_fd);
	return r < 0 ? error_wrap(err, "import %s", dir) : 0;
}

struct tar_docs {
	char *layout, *index;
	size_t layout_len, index_len;
};

/* One member of an OCI layout tar: a blob goes to the store, the two documents to memory. */
static int tar_member(struct image_store *store, struct archive *a, struct archive_entry *e,
		      struct tar_docs *docs, struct error *err)
{
	char name[IMAGE_TAR_PATH_MAX + 1], digest[IMAGE_TAR_PATH_MAX + 16];
	int r;

	r = image_tar_member_name(e, name, sizeof(name), err);
	if (r < 0)
		return r;
	if ((strcmp(name, "oci-layout") == 0 && docs->layout) ||
	    (strcmp(name, "index.json") == 0 && docs->index))
		return error_set(err, EINVAL, "member %s: appears twice", name);
	if (strcmp(name, "oci-layout") == 0)
		return image_tar_read_member(a, e, name, IMAGE_LAYOUT_DOC_MAX, &docs->layout,
					     &docs->layout_len, err);
	if (strcmp(name, "index.json") == 0)
		return image_tar_read_member(a, e, name, IMAGE_LAYOUT_DOC_MAX, &docs->index,
					     &docs->index_len, err);
	if (!str_has_prefix(name, "blobs/sha256/") || archive_entry_filetype(e) == AE_IFDIR)
		return 0;
	snprintf(digest, sizeof(digest), "sha256:%s", name + 13);
	r = image_digest_validate(digest, err);
	if (r < 0)
		return error_wrap(err, "member %s", name);
	return image_tar_put_member(store, a, e, name, digest, NULL, err);
}

static int read_tar(struct image_store *store, const char *path, struct tar_docs *docs,
		    struct error *err)
{
	struct archive *a = NULL;
	struct archive_entry *e;
	int r, ar;

	r = image_tar_open_read(path, &a, err);
	if (r < 0)
		return r;
	while (r == 0 && (ar = archive_read_next_header(a, &e)) == ARCHIVE_OK)
		r = tar_member(store, a, e, docs, err);
	if (r == 0 && ar != ARCHIVE_EOF)
		r = error_set(err, EBADMSG, "%s", archive_error_string(a));
	archive_read_free(a);
	if (r == 0 && (!docs->layout || !docs->index))
		r = error_set(err, ENOENT, "member %s: missing",
			      docs->layout ? "index.json" : "oci-layout");
	return r;
}

int image_layout_import_tar(struct image_store *store, const char *path, const char *name,
			    struct image_layout_result *ret, struct error *err)
{
	struct tar_docs docs = {0};
	struct source src = {store, -1, 0};
	int r;

	*ret = (struct image_layout_result){0};
	r = read_tar(store, path, &docs, err);
	if (r == 0)
		r = check_oci_layout(docs.layout, docs.layout_len, err);
	if (r == 0)
		r = import_index(&src, docs.index, docs.index_len, name, ret, err);
	free(docs.layout);
	free(docs.index);
	return r < 0 ? error_wrap(err, "import %s", path) : 0;
}

/* 1: docker-archive (manifest.json), 0: OCI layout, -errno: neither. */
static int sniff_tar(const char *path, struct error *err)
{
	struct archive *a = NULL;
	struct archive_entry *e;
	char name[IMAGE_TAR_PATH_MAX + 1];
	int oci = 0, r;

	r = image_tar_open_read(path, &a, err);
	if (r < 0)
		return r;
	while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
		if (image_tar_member_name(e, name, sizeof(name), err) < 0)
			continue;
		if (strcmp(name, "manifest.json") == 0) {
			archive_read_free(a);
			return 1;
		}
		oci |= strcmp(name, "oci-layout") == 0;
	}
	archive_read_free(a);
	if (oci)
		return 0;
	return error_set(err, EINVAL, "%s: neither an OCI layout nor a docker-archive", path);
}

int image_layout_import(struct image_store *store, const char *path, const char *name,
			struct image_layout_result *ret, struct error *err)
{
	struct stat st;
	int kind;

	*ret = (struct image_layout_result){0};
	if (stat(path, &st) < 0)
		return error_errno(err, "import %s", path);
	if (S_ISDIR(st.st_mode))
		return image_layout_import_dir(store, path, name, ret, err);
	kind = sniff_tar(path, err);
	if (kind < 0)
		return error_wrap(err, "import");
	if (kind == 1)
		return image_layout_import_docker_archive(store, path, ret, err);
	return image_layout_import_tar(store, path, name, ret, err);
}
