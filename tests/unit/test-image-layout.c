/* Unit tests for image/layout.c, image/docker-archive.c, image/layout-save.c */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "image/digest.h"
#include "image/layout.h"
#include "image/manifest.h"
#include "image/store.h"
#include "util/cleanup.h"
#include "util/str.h"

struct member {
	const char *name;
	const char *data;
	size_t len;
};

struct fixture {
	char dir[64];
	struct image_store *store;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct error err = {0};
	cleanup_free char *root = NULL;

	strcpy(f->dir, "/tmp/test-image-layout-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	root = str_printf("%s/store", f->dir);
	assert_int_equal(image_store_open(root, &f->store, &err), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	cleanup_free char *cmd = str_printf("rm -rf '%s'", f->dir);

	image_store_free(f->store);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* Writes a tar (gzip-compressed when gz) of members to path, or to memory when out != NULL. */
static size_t write_tar(const char *path, const struct member *m, size_t n, int gz, char *out,
			size_t cap)
{
	struct archive *a = archive_write_new();
	size_t used = 0;

	archive_write_set_format_pax_restricted(a);
	if (gz)
		archive_write_add_filter_gzip(a);
	if (out)
		assert_int_equal(archive_write_open_memory(a, out, cap, &used), ARCHIVE_OK);
	else
		assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
	for (size_t i = 0; i < n; i++) {
		struct archive_entry *e = archive_entry_new();

		archive_entry_set_pathname(e, m[i].name);
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_perm(e, 0644);
		archive_entry_set_size(e, (la_int64_t)m[i].len);
		assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
		assert_int_equal(archive_write_data(a, m[i].data, m[i].len), (la_ssize_t)m[i].len);
		archive_entry_free(e);
	}
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
	return used;
}

static void digest_of(const void *buf, size_t len, char d[IMAGE_DIGEST_SIZE])
{
	struct error err = {0};

	assert_int_equal(image_digest_buf(buf, len, d, &err), 0);
}

struct image {
	char layer[4096];
	size_t layer_len;
	char layer_d[IMAGE_DIGEST_SIZE], config_d[IMAGE_DIGEST_SIZE], manifest_d[IMAGE_DIGEST_SIZE];
	char *config, *manifest;
};

static void make_image(struct image *im)
{
	const struct member files[] = {{"bin/hello", "hello\n", 6}};

	im->layer_len = write_tar(NULL, files, 1, 0, im->layer, sizeof(im->layer));
	digest_of(im->layer, im->layer_len, im->layer_d);
	im->config =
	    str_printf("{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Cmd\":"
		       "[\"/bin/hello\"]},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"%s\"]}}",
		       im->layer_d);
	digest_of(im->config, strlen(im->config), im->config_d);
	im->manifest =
	    str_printf("{\"schemaVersion\":2,\"mediaType\":\"%s\",\"config\":{\"mediaType\":"
		       "\"%s\",\"digest\":\"%s\",\"size\":%zu},\"layers\":[{\"mediaType\":"
		       "\"%s\",\"digest\":\"%s\",\"size\":%zu}]}",
		       IMAGE_MT_OCI_MANIFEST, IMAGE_MT_OCI_CONFIG, im->config_d, strlen(im->config),
		       IMAGE_MT_OCI_LAYER, im->layer_d, im->layer_len);
	digest_of(im->manifest, strlen(im->manifest), im->manifest_d);
}

static void free_image(struct image *im)
{
	free(im->config);
	free(im->manifest);
}

static void put_file(const char *dir, const char *name, const char *data, size_t len)
{
	cleanup_free char *p = str_printf("%s/%s", dir, name);
	FILE *fp = fopen(p, "w");

	assert_non_null(fp);
	assert_int_equal(fwrite(data, 1, len, fp), len);
	fclose(fp);
}

static char *index_json(const struct image *im, const char *ref_name)
{
	return str_printf("{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"%s\",\"digest\":"
			  "\"%s\",\"size\":%zu,\"annotations\":{\"%s\":\"%s\"}}]}",
			  IMAGE_MT_OCI_MANIFEST, im->manifest_d, strlen(im->manifest),
			  IMAGE_ANNOTATION_REF_NAME, ref_name);
}

static void make_layout_dir(const char *dir, const struct image *im, const char *ref_name)
{
	cleanup_free char *blobs = str_printf("%s/blobs/sha256", dir);
	cleanup_free char *b1 = str_printf("%s/blobs", dir);
	cleanup_free char *index = index_json(im, ref_name);

	assert_int_equal(mkdir(dir, 0755), 0);
	assert_int_equal(mkdir(b1, 0755), 0);
	assert_int_equal(mkdir(blobs, 0755), 0);
	put_file(dir, "oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}", 30);
	put_file(dir, "index.json", index, strlen(index));
	put_file(blobs, image_digest_hex(im->layer_d), im->layer, im->layer_len);
	put_file(blobs, image_digest_hex(im->config_d), im->config, strlen(im->config));
	put_file(blobs, image_digest_hex(im->manifest_d), im->manifest, strlen(im->manifest));
}

static void test_oci_dir(void **state)
{
	struct fixture *f = *state;
	struct image_layout_result res = {0};
	struct error err = {0};
	cleanup_free char *dir = str_printf("%s/layout", f->dir);
	char d[IMAGE_DIGEST_SIZE];
	struct image im;

	make_image(&im);
	make_layout_dir(dir, &im, "v1");
	assert_int_equal(image_layout_import(f->store, dir, "localhost/hello", &res, &err), 0);
	assert_int_equal(res.n_digests, 1);
	assert_string_equal(res.digests[0], im.manifest_d);
	assert_int_equal(res.n_names, 1);
	assert_string_equal(res.names[0], "localhost/hello:v1");
	assert_int_equal(image_store_resolve(f->store, "localhost/hello:v1", d, &err), 0);
	assert_string_equal(d, im.manifest_d);
	assert_true(image_store_has_blob(f->store, im.layer_d));
	assert_true(image_store_has_blob(f->store, im.config_d));
	image_layout_result_clear(&res);

	/* a corrupted blob is refused and nothing new is tagged */
	cleanup_free char *blobs = str_printf("%s/blobs/sha256", dir);
	struct image_store *s2 = NULL;
	cleanup_free char *root2 = str_printf("%s/store2", f->dir);
	assert_int_equal(image_store_open(root2, &s2, &err), 0);
	put_file(blobs, image_digest_hex(im.layer_d), "garbage", 7);
	assert_int_equal(image_layout_import(s2, dir, "localhost/hello", &res, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, im.layer_d));
	assert_int_equal(image_store_resolve(s2, "localhost/hello:v1", d, &err), -ENOENT);
	assert_false(image_store_has_blob(s2, im.layer_d));
	image_layout_result_clear(&res);
	image_store_free(s2);
	free_image(&im);
}

static void test_oci_tar_and_save(void **state)
{
	struct fixture *f = *state;
	struct image_layout_result res = {0};
	struct error err = {0};
	cleanup_free char *tar = str_printf("%s/layout.tar", f->dir);
	cleanup_free char *saved = str_printf("%s/saved.tar", f->dir);
	cleanup_free char *root2 = str_printf("%s/store2", f->dir);
	cleanup_free char *bl = NULL, *bc = NULL, *bm = NULL, *index = NULL;
	struct image_store *s2 = NULL;
	char d[IMAGE_DIGEST_SIZE];
	struct image im;

	make_image(&im);
	index = index_json(&im, "example.com/a/b:2.0");
	bl = str_printf("blobs/sha256/%s", image_digest_hex(im.layer_d));
	bc = str_printf("./blobs/sha256/%s", image_digest_hex(im.config_d));
	bm = str_printf("blobs/sha256/%s", image_digest_hex(im.manifest_d));
	const struct member m[] = {
	    {"index.json", index, strlen(index)},
	    {bl, im.layer, im.layer_len},
	    {bc, im.config, strlen(im.config)},
	    {bm, im.manifest, strlen(im.manifest)},
	    {"oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}", 30},
	};
	write_tar(tar, m, ARRAY_SIZE(m), 1, NULL, 0);
	assert_int_equal(image_layout_import(f->store, tar, NULL, &res, &err), 0);
	assert_int_equal(res.n_names, 1);
	assert_string_equal(res.names[0], "example.com/a/b:2.0");
	image_layout_result_clear(&res);

	/* save, then import what was saved into another store */
	assert_int_equal(image_layout_save(f->store, "example.com/a/b:2.0", saved, &err), 0);
	assert_int_equal(image_store_open(root2, &s2, &err), 0);
	assert_int_equal(image_layout_import(s2, saved, NULL, &res, &err), 0);
	assert_int_equal(image_store_resolve(s2, "example.com/a/b:2.0", d, &err), 0);
	assert_string_equal(d, im.manifest_d);
	assert_true(image_store_has_blob(s2, im.layer_d));
	image_layout_result_clear(&res);
	assert_int_equal(image_layout_save(f->store, "nothere", saved, &err), -ENOENT);
	image_store_free(s2);

	/* hostile: the manifest's declared size disagrees with the member */
	struct member m2[ARRAY_SIZE(m)];
	memcpy(m2, m, sizeof(m));
	m2[1].len = im.layer_len - 512;
	m2[1].data = im.layer; /* a different blob under the layer's name */
	write_tar(tar, m2, ARRAY_SIZE(m2), 0, NULL, 0);
	assert_int_equal(image_store_open(root2, &s2, &err), 0);
	char root3[128];
	snprintf(root3, sizeof(root3), "%s/store3", f->dir);
	image_store_free(s2);
	assert_int_equal(image_store_open(root3, &s2, &err), 0);
	assert_int_not_equal(image_layout_import(s2, tar, NULL, &res, &err), 0);
	assert_non_null(strstr(err.msg, bl));
	assert_non_null(strstr(err.msg, "digest mismatch"));
	image_layout_result_clear(&res);
	/* hostile: a blob missing */
	write_tar(tar, m, 1, 0, NULL, 0);
	assert_int_not_equal(image_layout_import_tar(s2, tar, NULL, &res, &err), 0);
	assert_non_null(strstr(err.msg, "oci-layout: missing"));
	image_layout_result_clear(&res);
	const struct member m3[] = {m[0], m[2], m[3], m[4]};
	write_tar(tar, m3, ARRAY_SIZE(m3), 0, NULL, 0);
	assert_int_not_equal(image_layout_import_tar(s2, tar, NULL, &res, &err), 0);
	assert_non_null(strstr(err.msg, "missing from the layout"));
	assert_int_equal(image_store_resolve(s2, "example.com/a/b:2.0", d, &err), -ENOENT);
	image_layout_result_clear(&res);
	image_store_free(s2);
	free_image(&im);
}

static void docker_archive(const char *path, const struct image *im, const char *layer_path,
			   const char *layer, size_t layer_len, int gz_outer)
{
	cleanup_free char *manifest =
	    str_printf("[{\"Config\":\"abc.json\",\"RepoTags\":"
		       "[\"hello:latest\",\"example.com/hi:1\"],\"Layers\":[\"%s\"]}]",
		       layer_path);
	const struct member m[] = {
	    {"manifest.json", manifest, strlen(manifest)},
	    {"abc.json", im->config, strlen(im->config)},
	    {"l1/layer.tar", layer, layer_len},
	    {"repositories", "{}", 2},
	};

	write_tar(path, m, ARRAY_SIZE(m), gz_outer, NULL, 0);
}

static void test_docker_archive(void **state)
{
	struct fixture *f = *state;
	struct image_layout_result res = {0};
	struct error err = {0};
	cleanup_free char *tar = str_printf("%s/docker.tar", f->dir);
	cleanup_free char *buf = NULL;
	struct image_manifest *man = NULL;
	char d[IMAGE_DIGEST_SIZE], gz[8192];
	size_t len, gz_len;
	struct image im;

	make_image(&im);
	docker_archive(tar, &im, "l1/layer.tar", im.layer, im.layer_len, 0);
	assert_int_equal(image_layout_import(f->store, tar, NULL, &res, &err), 0);
	assert_int_equal(res.n_names, 2);
	assert_string_equal(res.names[0], "docker.io/library/hello:latest");
	assert_int_equal(image_store_resolve(f->store, "example.com/hi:1", d, &err), 0);
	assert_int_equal(image_store_read_blob(f->store, d, 1 << 20, &buf, &len, &err), 0);
	assert_int_equal(image_manifest_parse(buf, len, &man, &err), 0);
	assert_string_equal(man->config.digest, im.config_d);
	assert_string_equal(man->layers[0].digest, im.layer_d);
	assert_int_equal(man->layers[0].compression, IMAGE_COMPRESSION_NONE);
	image_manifest_free(man);
	image_layout_result_clear(&res);

	/* a gzip layer: its diff_id is checked after decompression */
	const struct member files[] = {{"bin/hello", "hello\n", 6}};
	gz_len = write_tar(NULL, files, 1, 1, gz, sizeof(gz));
	docker_archive(tar, &im, "./l1/layer.tar", gz, gz_len, 1);
	assert_int_equal(image_layout_import(f->store, tar, NULL, &res, &err), 0);
	assert_int_equal(image_store_resolve(f->store, "hello", d, &err), 0);
	free(buf);
	assert_int_equal(image_store_read_blob(f->store, d, 1 << 20, &buf, &len, &err), 0);
	assert_non_null(strstr(buf, IMAGE_MT_OCI_LAYER_GZIP));
	image_layout_result_clear(&res);

	/* hostile paths and content */
	docker_archive(tar, &im, "../l1/layer.tar", im.layer, im.layer_len, 0);
	assert_int_equal(image_layout_import(f->store, tar, NULL, &res, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "Layers[0]"));
	assert_non_null(strstr(err.msg, "\"..\""));
	image_layout_result_clear(&res);
	docker_archive(tar, &im, "/l1/layer.tar", im.layer, im.layer_len, 0);
	assert_int_equal(image_layout_import(f->store, tar, NULL, &res, &err), -EINVAL);
	image_layout_result_clear(&res);
	docker_archive(tar, &im, "l2/layer.tar", im.layer, im.layer_len, 0);
	assert_int_equal(image_layout_import(f->store, tar, NULL, &res, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "member l2/layer.tar: missing from the archive"));
	image_layout_result_clear(&res);
	docker_archive(tar, &im, "l1/layer.tar", "not a tar", 9, 0);
	assert_int_equal(image_layout_import(f->store, tar, NULL, &res, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "diff_id mismatch"));
	image_layout_result_clear(&res);
	free_image(&im);
}

static void test_truncated(void **state)
{
	struct fixture *f = *state;
	struct image_layout_result res = {0};
	struct error err = {0};
	cleanup_free char *tar = str_printf("%s/docker.tar", f->dir);
	struct image im;
	struct stat st;

	make_image(&im);
	docker_archive(tar, &im, "l1/layer.tar", im.layer, im.layer_len, 0);
	assert_int_equal(stat(tar, &st), 0);
	/* cut into l1/layer.tar's data (after manifest.json and abc.json): the member is named */
	assert_int_equal(truncate(tar, 512 + 512 + 512 + 512 + 512 + 700), 0);
	assert_int_not_equal(image_layout_import_docker_archive(f->store, tar, &res, &err), 0);
	assert_non_null(strstr(err.msg, "member l1/layer.tar"));
	assert_false(image_store_has_blob(f->store, im.layer_d));
	image_layout_result_clear(&res);
	free_image(&im);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_oci_dir, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_oci_tar_and_save, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_docker_archive, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_truncated, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
