/* image_busybox: see busybox.h */
#include "image/busybox.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/manifest.h"
#include "image/tar.h"
#include "util/applets.h"
#include "util/cleanup.h"
#include "util/str.h"

#define PATH_ENV "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static const char passwd[] = "root:x:0:0:root:/root:/bin/sh\n"
			     "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n";
static const char group[] = "root:x:0:\nnobody:x:65534:\n";

struct applet_ctx {
	struct archive *archive;
	struct error *err;
};

static int add_applet(const char *name, void *opaque)
{
	struct applet_ctx *a = opaque;
	char path[96];

	snprintf(path, sizeof(path), "bin/%s", name);
	return image_tar_add_symlink(a->archive, path, "busybox", a->err);
}

static int add_skeleton(struct archive *a, struct error *err)
{
	static const struct {
		const char *path;
		mode_t mode;
	} dirs[] = {{"bin", 0755},  {"dev", 0755}, {"etc", 0755}, {"proc", 0555},
		    {"root", 0700}, {"sys", 0555}, {"tmp", 01777}};
	int r = 0;

	for (size_t i = 0; r == 0 && i < ARRAY_SIZE(dirs); i++)
		r = image_tar_add_dir(a, dirs[i].path, dirs[i].mode, err);
	if (r == 0)
		r = image_tar_add_buf(a, "etc/passwd", 0644, passwd, strlen(passwd), err);
	if (r == 0)
		r = image_tar_add_buf(a, "etc/group", 0644, group, strlen(group), err);
	return r;
}

/* Writes the layer tar to out. */
static int write_layer(const char *path, int out, struct error *err)
{
	cleanup_fd int bb = open(path, O_RDONLY | O_CLOEXEC);
	struct archive *a = NULL;
	struct applet_ctx ctx = {NULL, err};
	struct stat st;
	int r;

	if (bb < 0 || fstat(bb, &st) < 0)
		return error_errno(err, "open %s", path);
	if (!S_ISREG(st.st_mode))
		return error_set(err, EINVAL, "%s: not a regular file", path);
	r = image_tar_open_write(out, &a, err);
	if (r == 0)
		r = add_skeleton(a, err);
	if (r == 0)
		r = image_tar_add_fd(a, "bin/busybox", 0755, bb, st.st_size, err);
	ctx.archive = a;
	if (r == 0)
		r = applets_each(path, add_applet, &ctx, err);
	if (r == 0)
		r = image_tar_close(TAKE_PTR(a), err);
	if (a)
		archive_write_free(a);
	return r;
}

/* Builds the layer in an unlinked temp file and stores it; its digest is also its diff_id. */
static int put_layer(struct image_store *store, const char *path, char digest[IMAGE_DIGEST_SIZE],
		     int64_t *ret_size, struct error *err)
{
	cleanup_free char *tmp = str_printf("%s/tmp/busybox-XXXXXX", image_store_root(store));
	cleanup_fd int fd = -1;
	struct stat st;
	int r;

	if (!tmp)
		return error_set(err, ENOMEM, "out of memory");
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return error_errno(err, "create %s", tmp);
	unlink(tmp);
	r = write_layer(path, fd, err);
	if (r == 0 && (fstat(fd, &st) < 0 || lseek(fd, 0, SEEK_SET) < 0))
		r = error_errno(err, "busybox layer");
	if (r == 0)
		r = image_store_put_blob_fd(store, NULL, st.st_size, fd, digest, err);
	if (r == 0)
		*ret_size = st.st_size;
	return r;
}

static int put_json(struct image_store *store, char *text, char digest[IMAGE_DIGEST_SIZE],
		    int64_t *ret_size, struct error *err)
{
	int r;

	if (!text)
		return error_set(err, ENOMEM, "out of memory");
	r = image_store_put_blob_buf(store, NULL, text, strlen(text), digest, err);
	*ret_size = (int64_t)strlen(text);
	free(text);
	return r;
}

int image_busybox_build(struct image_store *store, const char *path, const char *ref,
			char *ret_digest, struct error *err)
{
	char layer[IMAGE_DIGEST_SIZE], config[IMAGE_DIGEST_SIZE], manifest[IMAGE_DIGEST_SIZE];
	int64_t layer_size = 0, config_size = 0, manifest_size = 0;
	int r;

	r = put_layer(store, path, layer, &layer_size, err);
	if (r == 0)
		r = put_json(store,
			     str_printf("{\"architecture\":\"amd64\",\"os\":\"linux\","
					"\"created\":\"1970-01-01T00:00:00Z\",\"config\":{\"Env\":"
					"[\"" PATH_ENV "\"],\"Cmd\":[\"sh\"]},\"rootfs\":{\"type\":"
					"\"layers\",\"diff_ids\":[\"%s\"]},\"history\":[{"
					"\"created_by\":\"vessel: busybox-static\"}]}",
					layer),
			     config, &config_size, err);
	if (r == 0)
		r = put_json(store,
			     str_printf("{\"schemaVersion\":2,\"mediaType\":\"%s\",\"config\":{"
					"\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":%lld},"
					"\"layers\":[{\"mediaType\":\"%s\",\"digest\":\"%s\","
					"\"size\":%lld}]}",
					IMAGE_MT_OCI_MANIFEST, IMAGE_MT_OCI_CONFIG, config,
					(long long)config_size, IMAGE_MT_OCI_LAYER, layer,
					(long long)layer_size),
			     manifest, &manifest_size, err);
	if (r == 0)
		r = image_store_tag(store, ref, manifest, err);
	if (r < 0)
		return error_wrap(err, "build busybox image from %s", path);
	if (ret_digest)
		memcpy(ret_digest, manifest, IMAGE_DIGEST_SIZE);
	return 0;
}

int image_busybox_ensure(struct image_store *store, struct error *err)
{
	char digest[IMAGE_DIGEST_SIZE];
	struct error ignored;
	cleanup_fd int lock = -1;

	if (image_store_resolve(store, IMAGE_BUSYBOX_REF, digest, &ignored) == 0 &&
	    image_store_has_blob(store, digest))
		return 0;
	/* Shared: image gc waits until the blobs built here are tagged. */
	lock = image_store_lock(store, false, err);
	if (lock < 0)
		return lock;
	return image_busybox_build(store, IMAGE_BUSYBOX_PATH, IMAGE_BUSYBOX_REF, NULL, err);
}
