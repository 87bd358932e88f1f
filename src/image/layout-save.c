/* image_layout: image_layout_save(), an image as an OCI layout tar (see layout.h). */
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
#include "util/str.h"

struct saver {
	struct image_store *store;
	struct archive *a;
	char **written;
	size_t n_written;
};

static int add_blob(struct saver *s, const char *digest, struct error *err)
{
	cleanup_free char *path = NULL;
	cleanup_fd int fd = -1;
	struct stat st;

	for (size_t i = 0; i < s->n_written; i++)
		if (strcmp(s->written[i], digest) == 0)
			return 0;
	fd = image_store_open_blob(s->store, digest, err);
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0)
		return error_errno(err, "blob %s", digest);
	path = str_printf("blobs/sha256/%s", image_digest_hex(digest));
	if (!path)
		return error_set(err, ENOMEM, "out of memory");
	if (image_tar_add_fd(s->a, path, 0644, fd, st.st_size, err) < 0)
		return -err->code;
	return image_layout_strv_add(&s->written, &s->n_written, digest, err);
}

static int save_manifest(struct saver *s, const char *digest, const char *buf, size_t len,
			 char **ret_type, struct error *err)
{
	struct image_manifest *m = NULL;
	int r;

	r = image_manifest_parse(buf, len, &m, err);
	if (r == 0)
		r = add_blob(s, m->config.digest, err);
	for (size_t i = 0; r == 0 && i < m->n_layers; i++)
		r = add_blob(s, m->layers[i].digest, err);
	if (r == 0)
		r = add_blob(s, digest, err);
	if (r == 0 && ret_type)
		*ret_type = strdup(m->media_type ? m->media_type : IMAGE_MT_OCI_MANIFEST);
	image_manifest_free(m);
	return r < 0 ? error_wrap(err, "manifest %s", digest) : 0;
}

/* The platforms of an index that are in the store, then the index itself. */
static int save_index(struct saver *s, const char *digest, const char *buf, size_t len,
		      char **ret_type, struct error *err)
{
	struct image_index *idx = NULL;
	size_t saved = 0;
	int r;

	r = image_index_parse(buf, len, &idx, err);
	for (size_t i = 0; r == 0 && i < idx->n_manifests; i++) {
		const struct image_descriptor *d = &idx->manifests[i];
		cleanup_free char *m = NULL;
		size_t n;

		if (image_media_kind(d->media_type) != IMAGE_MEDIA_MANIFEST ||
		    !image_store_has_blob(s->store, d->digest))
			continue;
		r = image_store_read_blob(s->store, d->digest, IMAGE_MANIFEST_MAX_BYTES, &m, &n,
					  err);
		if (r == 0)
			r = save_manifest(s, d->digest, m, n, NULL, err);
		saved++;
	}
	if (r == 0 && saved == 0)
		r = error_set(err, ENOENT, "index %s: no platform in the store", digest);
	if (r == 0)
		r = add_blob(s, digest, err);
	if (r == 0)
		*ret_type = strdup(idx->media_type ? idx->media_type : IMAGE_MT_OCI_INDEX);
	image_index_free(idx);
	return r;
}

static char *index_json(const char *media_type, const char *digest, int64_t size, const char *name)
{
	return str_printf("{\"schemaVersion\":2,\"mediaType\":\"%s\",\"manifests\":[{"
			  "\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":%lld,"
			  "\"annotations\":{\"%s\":\"%s\"}}]}\n",
			  IMAGE_MT_OCI_INDEX, media_type, digest, (long long)size,
			  IMAGE_ANNOTATION_REF_NAME, name);
}

static int write_layout(struct saver *s, const char *name, const char *digest, struct error *err)
{
	static const char layout[] = "{\"imageLayoutVersion\":\"1.0.0\"}\n";
	cleanup_free char *buf = NULL, *type = NULL, *index = NULL;
	enum image_media_kind kind;
	size_t len;
	int r;

	r = image_store_read_blob(s->store, digest, IMAGE_MANIFEST_MAX_BYTES, &buf, &len, err);
	if (r == 0)
		r = image_manifest_detect(buf, len, NULL, &kind, err);
	if (r == 0)
		r = image_tar_add_buf(s->a, "oci-layout", 0644, layout, strlen(layout), err);
	if (r == 0)
		r = image_tar_add_dir(s->a, "blobs", 0755, err);
	if (r == 0)
		r = image_tar_add_dir(s->a, "blobs/sha256", 0755, err);
	if (r == 0)
		r = kind == IMAGE_MEDIA_INDEX ? save_index(s, digest, buf, len, &type, err)
					      : save_manifest(s, digest, buf, len, &type, err);
	if (r == 0 && !type)
		r = error_set(err, ENOMEM, "out of memory");
	if (r == 0 && !(index = index_json(type, digest, (int64_t)len, name)))
		r = error_set(err, ENOMEM, "out of memory");
	if (r == 0)
		r = image_tar_add_buf(s->a, "index.json", 0644, index, strlen(index), err);
	return r;
}

static int save_to(struct image_store *store, const char *name, const char *digest, int fd,
		   struct error *err)
{
	struct saver s = {store, NULL, NULL, 0};
	int r;

	r = image_tar_open_write(fd, &s.a, err);
	if (r < 0)
		return r;
	r = write_layout(&s, name, digest, err);
	if (r == 0)
		r = image_tar_close(TAKE_PTR(s.a), err);
	if (s.a)
		archive_write_free(s.a);
	strv_free(s.written);
	return r;
}

int image_layout_save(struct image_store *store, const char *ref, const char *output,
		      struct error *err)
{
	cleanup_free char *name = image_ref_normalize(ref, err);
	cleanup_free char *tmp = str_printf("%s.tmp.%d", output, (int)getpid());
	char digest[IMAGE_DIGEST_SIZE];
	int fd, r;

	if (!name)
		return -err->code;
	if (!tmp)
		return error_set(err, ENOMEM, "out of memory");
	r = image_store_resolve(store, ref, digest, err);
	if (r < 0)
		return error_wrap(err, "save %s", ref);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return error_errno(err, "save %s: create %s", ref, tmp);
	r = save_to(store, name, digest, fd, err);
	if (close(fd) < 0 && r == 0)
		r = error_errno(err, "close %s", tmp);
	if (r == 0 && rename(tmp, output) < 0)
		r = error_errno(err, "rename %s to %s", tmp, output);
	if (r < 0) {
		unlink(tmp);
		return error_wrap(err, "save %s", ref);
	}
	return 0;
}
