/* Unit tests for image/manifest.c, image/config.c, image/platform.c */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "image/manifest.h"
#include "util/cleanup.h"

#define D1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define D2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"
#define D3 "sha256:3333333333333333333333333333333333333333333333333333333333333333"

static const char docker_list[] =
    "{\"schemaVersion\":2,\"mediaType\":\"" IMAGE_MT_DOCKER_LIST "\",\"manifests\":["
    "{\"mediaType\":\"" IMAGE_MT_DOCKER_MANIFEST "\",\"digest\":\"" D1 "\",\"size\":527,"
    "\"platform\":{\"architecture\":\"arm\",\"os\":\"linux\",\"variant\":\"v7\"}},"
    "{\"mediaType\":\"" IMAGE_MT_DOCKER_MANIFEST "\",\"digest\":\"" D2 "\",\"size\":528,"
    "\"platform\":{\"architecture\":\"amd64\",\"os\":\"linux\"}},"
    "{\"mediaType\":\"" IMAGE_MT_OCI_MANIFEST "\",\"digest\":\"" D3 "\",\"size\":1,"
    "\"platform\":{\"architecture\":\"unknown\",\"os\":\"unknown\"}}]}";

static const char oci_manifest[] =
    "{\"schemaVersion\":2,\"mediaType\":\"" IMAGE_MT_OCI_MANIFEST "\","
    "\"config\":{\"mediaType\":\"" IMAGE_MT_OCI_CONFIG "\",\"digest\":\"" D1 "\",\"size\":7},"
    "\"layers\":[{\"mediaType\":\"" IMAGE_MT_OCI_LAYER_GZIP "\",\"digest\":\"" D2 "\",\"size\":10},"
    "{\"mediaType\":\"" IMAGE_MT_OCI_LAYER_ZSTD "\",\"digest\":\"" D3 "\",\"size\":0},"
    "{\"mediaType\":\"" IMAGE_MT_DOCKER_LAYER "\",\"digest\":\"" D3 "\",\"size\":3},"
    "{\"mediaType\":\"" IMAGE_MT_OCI_LAYER "\",\"digest\":\"" D3 "\",\"size\":4}],"
    "\"annotations\":{\"a\":\"b\"}}";

static const char config[] =
    "{\"architecture\":\"amd64\",\"os\":\"linux\",\"created\":\"2024-01-01T00:00:00Z\","
    "\"config\":{\"Entrypoint\":null,\"Cmd\":[\"sh\",\"-c\",\"echo hi\"],"
    "\"Env\":[\"PATH=/bin\",\"A=b\"],\"WorkingDir\":\"/w\",\"User\":\"1:2\","
    "\"Labels\":{\"k\":\"v\"},\"ExposedPorts\":{\"80/tcp\":{}}},"
    "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"" D1 "\",\"" D2 "\"]},"
    "\"history\":[{\"created_by\":\"x\"}]}";

static void test_index(void **state)
{
	struct image_index *idx = NULL;
	const struct image_descriptor *d;
	struct error err = {0};

	assert_int_equal(image_index_parse(docker_list, strlen(docker_list), &idx, &err), 0);
	assert_int_equal(idx->n_manifests, 3);
	assert_string_equal(idx->manifests[0].platform.variant, "v7");
	assert_int_equal(idx->manifests[1].size, 528);
	assert_int_equal(image_index_select(idx, NULL, &d, &err), 0);
	assert_string_equal(d->digest, D2);
	assert_int_equal(image_index_select(idx, "linux/arm/v7", &d, &err), 0);
	assert_string_equal(d->digest, D1);
	assert_int_equal(image_index_select(idx, "linux/arm", &d, &err), 0);
	assert_string_equal(d->digest, D1);
	assert_int_equal(image_index_select(idx, "linux/arm64", &d, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "linux/arm/v7, linux/amd64"));
	assert_int_equal(image_index_select(idx, "linux/arm/v6", &d, &err), -ENOENT);
	assert_int_equal(image_index_select(idx, "linux", &d, &err), -EINVAL);
	assert_int_equal(image_index_select(idx, "linux/amd64/x/y", &d, &err), -EINVAL);
	image_index_free(idx);
	/* an OCI index without mediaType, with a ref.name annotation */
	const char *oci =
	    "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"" IMAGE_MT_OCI_MANIFEST
	    "\",\"digest\":\"" D1 "\",\"size\":1,\"annotations\":{\"" IMAGE_ANNOTATION_REF_NAME
	    "\":\"v1\"}}]}";
	assert_int_equal(image_index_parse(oci, strlen(oci), &idx, &err), 0);
	assert_null(idx->media_type);
	assert_string_equal(idx->manifests[0].ref_name, "v1");
	image_index_free(idx);
}

static void test_manifest(void **state)
{
	struct image_manifest *m = NULL;
	struct error err = {0};
	enum image_media_kind k;

	assert_int_equal(image_manifest_parse(oci_manifest, strlen(oci_manifest), &m, &err), 0);
	assert_string_equal(m->config.digest, D1);
	assert_int_equal(m->n_layers, 4);
	assert_int_equal(m->layers[0].compression, IMAGE_COMPRESSION_GZIP);
	assert_int_equal(m->layers[1].compression, IMAGE_COMPRESSION_ZSTD);
	assert_int_equal(m->layers[2].compression, IMAGE_COMPRESSION_GZIP);
	assert_int_equal(m->layers[3].compression, IMAGE_COMPRESSION_NONE);
	image_manifest_free(m);
	assert_int_equal(image_manifest_detect(oci_manifest, strlen(oci_manifest), NULL, &k, &err),
			 0);
	assert_int_equal(k, IMAGE_MEDIA_MANIFEST);
	assert_int_equal(image_manifest_detect(docker_list, strlen(docker_list), NULL, &k, &err),
			 0);
	assert_int_equal(k, IMAGE_MEDIA_INDEX);
	assert_int_equal(image_manifest_detect("{\"manifests\":[]}", 16, NULL, &k, &err), 0);
	assert_int_equal(k, IMAGE_MEDIA_INDEX);
	assert_int_equal(image_manifest_detect("{\"schemaVersion\":1}", 19, NULL, &k, &err),
			 -EOPNOTSUPP);
	assert_int_equal(image_media_kind(IMAGE_MT_DOCKER_CONFIG), IMAGE_MEDIA_CONFIG);
}

static void test_config(void **state)
{
	struct image_config *c = NULL;
	struct error err = {0};

	assert_int_equal(image_config_parse(config, strlen(config), &c, &err), 0);
	assert_string_equal(c->architecture, "amd64");
	assert_null(c->entrypoint);
	assert_string_equal(c->cmd[2], "echo hi");
	assert_null(c->cmd[3]);
	assert_string_equal(c->env[1], "A=b");
	assert_string_equal(c->working_dir, "/w");
	assert_string_equal(c->user, "1:2");
	assert_int_equal(c->n_labels, 1);
	assert_string_equal(c->labels[0].value, "v");
	assert_int_equal(c->n_diff_ids, 2);
	assert_string_equal(c->diff_ids[1], D2);
	image_config_free(c);
}

struct bad {
	const char *doc, *msg;
};

#define M_HEAD                                                                                     \
	"{\"schemaVersion\":2,\"config\":{\"mediaType\":\"" IMAGE_MT_OCI_CONFIG                    \
	"\",\"digest\":\"" D1 "\",\"size\":7},"

static const struct bad bad_manifests[] = {
    {"", "not JSON"},
    {"[]", "not a JSON object"},
    {"{\"schemaVersion\":2", "truncated"},
    {"{\"schemaVersion\":2} x", "data after"},
    {M_HEAD "\"layers\":[]}", NULL}, /* valid: no layers */
    {"{\"schemaVersion\":\"2\"}", "schemaVersion: not an integer"},
    {"{\"schemaVersion\":1}", "schemaVersion: 1 is not supported"},
    {"{\"schemaVersion\":2,\"layers\":[]}", "config: missing"},
    {M_HEAD "\"layers\":{}}", "layers: not an array"},
    {M_HEAD "\"layers\":[5]}", "layers[0]: not an object"},
    {M_HEAD "\"layers\":[{\"mediaType\":\"" IMAGE_MT_OCI_LAYER "\",\"size\":1}]}",
     "layers[0].digest: missing"},
    {M_HEAD "\"layers\":[{\"mediaType\":\"" IMAGE_MT_OCI_LAYER
	    "\",\"digest\":\"sha256:abc\",\"size\":1}]}",
     "layers[0].digest: digest \"sha256:abc\": sha256 needs 64 hex"},
    {M_HEAD "\"layers\":[{\"mediaType\":\"" IMAGE_MT_OCI_LAYER "\",\"digest\":\"" D1
	    "\",\"size\":-1}]}",
     "layers[0].size: out of range"},
    {M_HEAD "\"layers\":[{\"mediaType\":\"" IMAGE_MT_OCI_LAYER "\",\"digest\":\"" D1
	    "\",\"size\":1.5}]}",
     "layers[0].size: not an integer"},
    {M_HEAD "\"layers\":[{\"mediaType\":\"text/plain\",\"digest\":\"" D1 "\",\"size\":1}]}",
     "layers[0].mediaType: unsupported layer media type"},
    {M_HEAD "\"layers\":[{\"mediaType\":7,\"digest\":\"" D1 "\",\"size\":1}]}",
     "layers[0].mediaType: not a string"},
    {"{\"schemaVersion\":2,\"mediaType\":\"" IMAGE_MT_OCI_INDEX "\",\"config\":{}}",
     "mediaType: unexpected"},
    {"{\"schemaVersion\":2,\"config\":{\"mediaType\":\"application/x-helm\",\"digest\":\"" D1
     "\",\"size\":7},\"layers\":[]}",
     "config.mediaType: unsupported"},
    {M_HEAD "\"layers\":[{\"mediaType\":\"" IMAGE_MT_OCI_LAYER
	    "\",\"digest\":\"x\\u0000y\",\"size\":1}]}",
     "contains a NUL"},
};

static void test_hostile_manifests(void **state)
{
	for (size_t i = 0; i < ARRAY_SIZE(bad_manifests); i++) {
		struct image_manifest *m = NULL;
		struct error err = {0};
		int r = image_manifest_parse(bad_manifests[i].doc, strlen(bad_manifests[i].doc), &m,
					     &err);

		if (!bad_manifests[i].msg) {
			assert_int_equal(r, 0);
			image_manifest_free(m);
			continue;
		}
		if (r == 0)
			fail_msg("%zu accepted", i);
		assert_null(m);
		if (!strstr(err.msg, bad_manifests[i].msg))
			fail_msg("%zu: \"%s\" lacks \"%s\"", i, err.msg, bad_manifests[i].msg);
	}
}

static const struct bad bad_indexes[] = {
    {"{\"schemaVersion\":2}", "manifests: missing"},
    {"{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"x\",\"digest\":\"" D1
     "\",\"size\":1,\"platform\":{\"os\":\"linux\"}}]}",
     "manifests[0].platform.architecture: missing"},
    {"{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"x\",\"digest\":\"" D1
     "\",\"size\":1,\"platform\":[]}]}",
     "manifests[0].platform: not an object"},
    {"{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"x\",\"digest\":\"" D1
     "\",\"size\":1,\"annotations\":{\"" IMAGE_ANNOTATION_REF_NAME "\":1}}]}",
     "manifests[0].annotations." IMAGE_ANNOTATION_REF_NAME ": not a string"},
    {"{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"x\",\"digest\":\"md5:00\",\"size\":1}]}",
     "unsupported algorithm md5"},
    {"{\"schemaVersion\":2,\"mediaType\":\"" IMAGE_MT_OCI_MANIFEST "\",\"manifests\":[]}",
     "mediaType: unexpected"},
};

static const struct bad bad_configs[] = {
    {"{\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}",
     "architecture: missing"},
    {"{\"architecture\":\"amd64\",\"os\":\"linux\"}", "rootfs: missing"},
    {"{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":\"x\",\"diff_ids\":[]}}",
     "rootfs.type"},
    {"{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\"}}",
     "rootfs.diff_ids: missing"},
    {"{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":["
     "\"sha256:x\"]}}",
     "rootfs.diff_ids[0]"},
    {"{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[1]"
     "}}",
     "rootfs.diff_ids[0]: not a string"},
    {"{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Cmd\":\"sh\"},\"rootfs\":{"
     "\"type\":\"layers\",\"diff_ids\":[]}}",
     "config.Cmd: not an array"},
    {"{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Env\":[1]},\"rootfs\":{\"type\":"
     "\"layers\",\"diff_ids\":[]}}",
     "config.Env[0]: not a string"},
    {"{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Labels\":{\"a\":[]}},\"rootfs\":{"
     "\"type\":\"layers\",\"diff_ids\":[]}}",
     "config.Labels.a: not a string"},
    {"{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"User\":0},\"rootfs\":{\"type\":"
     "\"layers\",\"diff_ids\":[]}}",
     "config.User: not a string"},
};

static void test_hostile_indexes_and_configs(void **state)
{
	for (size_t i = 0; i < ARRAY_SIZE(bad_indexes); i++) {
		struct image_index *idx = NULL;
		struct error err = {0};

		assert_int_not_equal(
		    image_index_parse(bad_indexes[i].doc, strlen(bad_indexes[i].doc), &idx, &err),
		    0);
		assert_null(idx);
		if (!strstr(err.msg, bad_indexes[i].msg))
			fail_msg("index %zu: \"%s\" lacks \"%s\"", i, err.msg, bad_indexes[i].msg);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad_configs); i++) {
		struct image_config *c = NULL;
		struct error err = {0};

		assert_int_not_equal(
		    image_config_parse(bad_configs[i].doc, strlen(bad_configs[i].doc), &c, &err),
		    0);
		assert_null(c);
		if (!strstr(err.msg, bad_configs[i].msg))
			fail_msg("config %zu: \"%s\" lacks \"%s\"", i, err.msg, bad_configs[i].msg);
	}
}

static void test_huge_and_deep(void **state)
{
	struct image_index *idx = NULL;
	struct error err = {0};
	size_t cap = (4u << 20) + 1, n = 0;
	cleanup_free char *doc = malloc(cap);

	n += (size_t)sprintf(doc, "{\"schemaVersion\":2,\"manifests\":[");
	for (int i = 0; i < 1001; i++)
		n += (size_t)sprintf(doc + n,
				     "%s{\"mediaType\":\"x\",\"digest\":\"" D1 "\",\"size\":1}",
				     i ? "," : "");
	n += (size_t)sprintf(doc + n, "]}");
	assert_int_equal(image_index_parse(doc, n, &idx, &err), -E2BIG);
	assert_non_null(strstr(err.msg, "manifests: 1001 entries, more than 1000"));
	/* deep nesting */
	n = 0;
	for (int i = 0; i < 10000; i++)
		doc[n++] = '[';
	assert_int_not_equal(image_index_parse(doc, n, &idx, &err), 0);
	/* over the size limit */
	memset(doc, ' ', cap);
	doc[0] = '{';
	doc[cap - 1] = '}';
	assert_int_equal(image_index_parse(doc, cap, &idx, &err), -EFBIG);
	assert_non_null(strstr(err.msg, "more than the limit"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_index),
	    cmocka_unit_test(test_manifest),
	    cmocka_unit_test(test_config),
	    cmocka_unit_test(test_hostile_manifests),
	    cmocka_unit_test(test_hostile_indexes_and_configs),
	    cmocka_unit_test(test_huge_and_deep),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
