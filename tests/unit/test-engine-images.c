/* Unit tests for engine/images-gc.c: what the store's garbage collection keeps and removes. */
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
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "engine/images.h"
#include "image/manifest.h"
#include "util/cleanup.h"
#include "util/str.h"

/* Diff IDs named by configs; the layer dirs are <root>/layers/<hex>. */
#define DIFF_A "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define DIFF_B "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

struct fixture {
	char dir[64];
	char root[96];
	struct image_store *store;
};

/* One image put in the store: its layer, config and manifest digests. */
struct img {
	char layer[IMAGE_DIGEST_SIZE], config[IMAGE_DIGEST_SIZE], manifest[IMAGE_DIGEST_SIZE];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct error err = {0};

	strcpy(f->dir, "/tmp/test-engine-images-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->root, sizeof(f->root), "%s/root", f->dir);
	assert_int_equal(image_store_open(f->root, &f->store, &err), 0);
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

static void put(struct fixture *f, const char *text, char *ret)
{
	struct error err = {0};

	assert_int_equal(image_store_put_blob_buf(f->store, NULL, text, strlen(text), ret, &err),
			 0);
}

/* A layer blob with bytes seed, a config naming diff_id, and a manifest of both. */
static void put_image(struct fixture *f, const char *seed, const char *diff_id, struct img *ret)
{
	cleanup_free char *config = NULL, *manifest = NULL;

	put(f, seed, ret->layer);
	config = str_printf("{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":"
			    "\"layers\",\"diff_ids\":[\"%s\"]}}",
			    diff_id);
	put(f, config, ret->config);
	manifest = str_printf("{\"schemaVersion\":2,\"mediaType\":\"" IMAGE_MT_OCI_MANIFEST "\","
			      "\"config\":{\"mediaType\":\"" IMAGE_MT_OCI_CONFIG
			      "\",\"digest\":\"%s\",\"size\":%zu},"
			      "\"layers\":[{\"mediaType\":\"" IMAGE_MT_OCI_LAYER
			      "\",\"digest\":\"%s\",\"size\":%zu}]}",
			      ret->config, strlen(config), ret->layer, strlen(seed));
	put(f, manifest, ret->manifest);
}

static void tag(struct fixture *f, const char *ref, const char *digest)
{
	struct error err = {0};

	assert_int_equal(image_store_tag(f->store, ref, digest, &err), 0);
}

static bool has_blob(struct fixture *f, const char *digest)
{
	return image_store_has_blob(f->store, digest);
}

static char *layer_path(struct fixture *f, const char *name)
{
	return str_printf("%s/layers/%s", f->root, name);
}

/* <root>/layers/name/file, aged by age seconds. */
static void make_layer(struct fixture *f, const char *name, time_t age)
{
	cleanup_free char *dir = layer_path(f, "");
	cleanup_free char *path = layer_path(f, name);
	cleanup_free char *file = str_printf("%s/file", path);
	struct timespec ts[2] = {{time(NULL) - age, 0}, {time(NULL) - age, 0}};
	int fd;

	mkdir(dir, 0700);
	assert_int_equal(mkdir(path, 0755), 0);
	fd = open(file, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
}

static bool has_layer(struct fixture *f, const char *name)
{
	cleanup_free char *path = layer_path(f, name);

	return access(path, F_OK) == 0;
}

static void gc_ok(struct fixture *f, struct engine_images_gc_stats *st)
{
	struct error err = {0};

	assert_int_equal(engine_images_gc(f->store, st, &err), 0);
}

static void test_keeps_reachable_removes_rest(void **state)
{
	struct fixture *f = *state;
	struct engine_images_gc_stats st;
	struct img a, b;

	put_image(f, "layer a", DIFF_A, &a);
	put_image(f, "layer b", DIFF_B, &b);
	tag(f, "a:1", a.manifest);
	make_layer(f, DIFF_A + 7, 0);
	make_layer(f, DIFF_B + 7, 0);
	make_layer(f, "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc.tmp-new",
		   0);
	make_layer(f, "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd.tmp-old",
		   2 * 3600);
	make_layer(f, "not-a-layer", 0);
	gc_ok(f, &st);
	assert_true(has_blob(f, a.manifest) && has_blob(f, a.config) && has_blob(f, a.layer));
	assert_false(has_blob(f, b.manifest) || has_blob(f, b.config) || has_blob(f, b.layer));
	assert_int_equal(st.blobs, 3);
	assert_true(st.bytes > 0);
	assert_true(has_layer(f, DIFF_A + 7));
	assert_false(has_layer(f, DIFF_B + 7));
	/* an unpack in progress and foreign names stay; a crashed unpack goes */
	assert_true(has_layer(
	    f, "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc.tmp-new"));
	assert_false(has_layer(
	    f, "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd.tmp-old"));
	assert_true(has_layer(f, "not-a-layer"));
	assert_int_equal(st.layers, 2);

	/* a second run finds nothing more */
	gc_ok(f, &st);
	assert_int_equal(st.blobs + st.layers, 0);
}

static void test_index_reaches_its_manifests(void **state)
{
	struct fixture *f = *state;
	struct img a, b;
	char index[IMAGE_DIGEST_SIZE];
	cleanup_free char *text = NULL;

	put_image(f, "layer a", DIFF_A, &a);
	put_image(f, "layer b", DIFF_B, &b);
	text = str_printf("{\"schemaVersion\":2,\"mediaType\":\"" IMAGE_MT_OCI_INDEX "\","
			  "\"manifests\":[{\"mediaType\":\"" IMAGE_MT_OCI_MANIFEST "\","
			  "\"digest\":\"%s\",\"size\":1,"
			  "\"platform\":{\"os\":\"linux\",\"architecture\":\"arm64\"}}]}",
			  b.manifest);
	put(f, text, index);
	tag(f, "multi:1", index);
	make_layer(f, DIFF_A + 7, 0);
	make_layer(f, DIFF_B + 7, 0);
	gc_ok(f, NULL);
	assert_true(has_blob(f, index) && has_blob(f, b.manifest) && has_blob(f, b.config) &&
		    has_blob(f, b.layer));
	assert_false(has_blob(f, a.manifest));
	assert_true(has_layer(f, DIFF_B + 7));
	assert_false(has_layer(f, DIFF_A + 7));
}

static void test_missing_blobs_are_tolerated(void **state)
{
	struct fixture *f = *state;
	struct img a, orphan;
	cleanup_free char *path = NULL;

	put_image(f, "layer a", DIFF_A, &a);
	put_image(f, "orphan", DIFF_B, &orphan);
	tag(f, "a:1", a.manifest);
	path = image_store_blob_path(f->store, a.config);
	assert_int_equal(unlink(path), 0); /* a config lost: its layer blob is still reached */
	gc_ok(f, NULL);
	assert_true(has_blob(f, a.manifest) && has_blob(f, a.layer));
	assert_false(has_blob(f, orphan.manifest));
}

static void test_unreadable_image_removes_nothing(void **state)
{
	struct fixture *f = *state;
	struct engine_images_gc_stats st = {.blobs = 99};
	struct error err = {0};
	char bad[IMAGE_DIGEST_SIZE];
	struct img orphan;

	put_image(f, "orphan", DIFF_B, &orphan);
	put(f, "{\"schemaVersion\":2,\"config\":42}", bad);
	tag(f, "bad:1", bad);
	assert_true(engine_images_gc(f->store, &st, &err) < 0);
	assert_non_null(strstr(err.msg, "bad:1"));
	assert_int_equal(st.blobs, 0);
	assert_true(has_blob(f, orphan.manifest) && has_blob(f, orphan.layer));
}

static void test_untag_then_gc_empties_the_store(void **state)
{
	struct fixture *f = *state;
	struct engine_images_gc_stats st;
	struct error err = {0};
	struct img a;

	put_image(f, "layer a", DIFF_A, &a);
	tag(f, "a:1", a.manifest);
	tag(f, "a:2", a.manifest);
	make_layer(f, DIFF_A + 7, 0);
	assert_int_equal(image_store_untag(f->store, "a:1", &err), 0);
	gc_ok(f, &st);
	assert_int_equal(st.blobs + st.layers, 0); /* a:2 still holds it */
	assert_int_equal(image_store_untag(f->store, "a:2", &err), 0);
	gc_ok(f, &st);
	assert_int_equal(st.blobs, 3);
	assert_int_equal(st.layers, 1);
	assert_false(has_layer(f, DIFF_A + 7));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_keeps_reachable_removes_rest, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_index_reaches_its_manifests, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_missing_blobs_are_tolerated, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unreadable_image_removes_nothing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_untag_then_gc_empties_the_store, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
