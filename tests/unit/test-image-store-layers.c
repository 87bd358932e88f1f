/* Unit tests for image/store-layers.c: layers unpacked atomically (one or several at once),
 * and image gc against a writer in progress (the store lock). */
#include <dirent.h>
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
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "engine/images.h"
#include "image/manifest.h"
#include "image/store.h"
#include "util/cleanup.h"
#include "util/fd.h"
#include "util/str.h"

#define N_LAYERS 5

struct fixture {
	char dir[64];
	char root[96];
	struct image_store *store;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct error err = {0};

	strcpy(f->dir, "/tmp/test-store-layers-XXXXXX");
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

/* An uncompressed tar of one file "f<i>" (its diff_id is its blob digest), stored. */
static void put_layer(struct fixture *f, int i, char digest[IMAGE_DIGEST_SIZE])
{
	cleanup_free char *src = str_printf("%s/src%d", f->dir, i);
	cleanup_free char *file = str_printf("%s/f%d", src, i);
	cleanup_free char *tar = str_printf("%s/layer%d.tar", f->dir, i);
	cleanup_free char *cmd = str_printf("tar -C '%s' -cf '%s' f%d", src, tar, i);
	cleanup_free char *text = str_printf("layer %d\n", i);
	cleanup_fd int fd = -1;
	struct error err = {0};

	assert_int_equal(mkdir(src, 0755), 0);
	assert_int_equal(fd_write_file_new(AT_FDCWD, file, text, strlen(text), &err), 0);
	assert_int_equal(system(cmd), 0);
	fd = open(tar, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(image_store_put_blob_fd(f->store, NULL, -1, fd, digest, &err), 0);
}

/* Names under <root>/layers that are not final layer directories (temporary ones). */
static size_t leftovers(struct fixture *f)
{
	cleanup_free char *path = str_printf("%s/layers", f->root);
	cleanup_dir DIR *d = opendir(path);
	size_t n = 0;

	assert_non_null(d);
	for (struct dirent *e; (e = readdir(d));)
		n += strstr(e->d_name, ".tmp-") != NULL;
	return n;
}

static bool layer_has(struct fixture *f, const char *diff_id, const char *name)
{
	cleanup_free char *dir = image_store_layer_dir(f->store, diff_id);
	cleanup_free char *path = str_printf("%s/%s", dir, name);
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static void test_unpack_layer(void **state)
{
	struct fixture *f = *state;
	char digest[IMAGE_DIGEST_SIZE];
	struct error err = {0};

	put_layer(f, 0, digest);
	assert_false(image_store_has_layer(f->store, digest));
	assert_int_equal(image_store_unpack_layer(f->store, digest, digest, &err), 0);
	assert_true(image_store_has_layer(f->store, digest));
	assert_true(layer_has(f, digest, "f0"));
	/* again: already there, nothing to do */
	assert_int_equal(image_store_unpack_layer(f->store, digest, digest, &err), 0);
	assert_int_equal(leftovers(f), 0);
}

/* A diff_id that does not match: an error naming the blob, and nothing visible or left. */
static void test_unpack_layer_bad_diff_id(void **state)
{
	struct fixture *f = *state;
	const char *wrong =
	    "sha256:1111111111111111111111111111111111111111111111111111111111111111";
	char digest[IMAGE_DIGEST_SIZE];
	struct error err = {0};

	put_layer(f, 0, digest);
	assert_int_equal(image_store_unpack_layer(f->store, digest, wrong, &err), -EINVAL);
	assert_non_null(strstr(err.msg, digest));
	assert_non_null(strstr(err.msg, "does not match"));
	assert_false(image_store_has_layer(f->store, wrong));
	assert_int_equal(leftovers(f), 0);
	assert_int_equal(image_store_unpack_layer(f->store, digest, "sha256:short", &err), -EINVAL);
}

static void test_unpack_layers_parallel(void **state)
{
	struct fixture *f = *state;
	struct image_store_layer layers[N_LAYERS];
	struct error err = {0};

	for (int i = 0; i < N_LAYERS; i++) {
		put_layer(f, i, layers[i].blob);
		memcpy(layers[i].diff_id, layers[i].blob, IMAGE_DIGEST_SIZE);
	}
	assert_int_equal(image_store_unpack_layers(f->store, layers, N_LAYERS, &err), 0);
	for (int i = 0; i < N_LAYERS; i++) {
		char name[16];

		snprintf(name, sizeof(name), "f%d", i);
		assert_true(layer_has(f, layers[i].diff_id, name));
	}
	assert_int_equal(image_store_unpack_layers(f->store, layers, 0, &err), 0);
	assert_int_equal(leftovers(f), 0);
}

static void test_unpack_layers_one_fails(void **state)
{
	struct fixture *f = *state;
	struct image_store_layer layers[N_LAYERS];
	struct error err = {0};

	for (int i = 0; i < N_LAYERS; i++) {
		put_layer(f, i, layers[i].blob);
		memcpy(layers[i].diff_id, layers[i].blob, IMAGE_DIGEST_SIZE);
	}
	/* layer 2 claims layer 3's diff_id */
	memcpy(layers[2].diff_id, layers[3].blob, IMAGE_DIGEST_SIZE);
	assert_int_equal(image_store_unpack_layers(f->store, layers, N_LAYERS, &err), -EINVAL);
	assert_non_null(strstr(err.msg, layers[2].blob));
	assert_false(layer_has(f, layers[3].blob, "f2"));
	assert_int_equal(leftovers(f), 0);
}

static void put_text(struct fixture *f, const char *text, char *ret)
{
	struct error err = {0};

	assert_int_equal(image_store_put_blob_buf(f->store, NULL, text, strlen(text), ret, &err),
			 0);
}

/* A manifest of layer (diff_id the same: uncompressed) with its config, stored, untagged. */
static void put_manifest(struct fixture *f, const char *layer, char ret[IMAGE_DIGEST_SIZE])
{
	char config[IMAGE_DIGEST_SIZE];
	cleanup_free char *ctext = str_printf(
	    "{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\","
	    "\"diff_ids\":[\"%s\"]}}",
	    layer);
	cleanup_free char *mtext = NULL;
	int64_t size;
	struct error err = {0};

	put_text(f, ctext, config);
	assert_int_equal(image_store_blob_size(f->store, layer, &size, &err), 0);
	mtext = str_printf("{\"schemaVersion\":2,\"mediaType\":\"" IMAGE_MT_OCI_MANIFEST "\","
			   "\"config\":{\"mediaType\":\"" IMAGE_MT_OCI_CONFIG
			   "\",\"digest\":\"%s\",\"size\":%zu},"
			   "\"layers\":[{\"mediaType\":\"" IMAGE_MT_OCI_LAYER
			   "\",\"digest\":\"%s\",\"size\":%lld}]}",
			   config, strlen(ctext), layer, (long long)size);
	put_text(f, mtext, ret);
}

/* A gc in a child process (its own store handle, as `vessel rmi` would be). The child does
 * not keep the writer's lock: a flock belongs to the open file, which fork shares. */
static pid_t start_gc(struct fixture *f, int writer_lock)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		struct image_store *s = NULL;
		struct error err = {0};
		int r;

		alarm(20); /* never hang a test run */
		close(writer_lock);
		r = image_store_open(f->root, &s, &err);

		if (r == 0)
			r = engine_images_gc(s, NULL, &err);
		image_store_free(s);
		_exit(r == 0 ? 0 : 1);
	}
	return pid;
}

/* A writer (a pull) holds the shared lock while it stores blobs and unpacks a layer that no
 * name reaches yet; a gc that starts meanwhile must wait, then keep all of it once the
 * writer tagged it, and still remove the garbage that was there before. */
static void test_gc_waits_for_writer(void **state)
{
	struct fixture *f = *state;
	char garbage[IMAGE_DIGEST_SIZE], layer[IMAGE_DIGEST_SIZE], manifest[IMAGE_DIGEST_SIZE];
	struct error err = {0};
	int lock, status;
	pid_t gc;

	put_text(f, "garbage nobody references", garbage);
	lock = image_store_lock(f->store, false, &err);
	assert_true(lock >= 0);
	put_layer(f, 0, layer);
	put_manifest(f, layer, manifest);
	assert_int_equal(image_store_unpack_layer(f->store, layer, layer, &err), 0);
	gc = start_gc(f, lock);
	usleep(300 * 1000);
	assert_int_equal(waitpid(gc, &status, WNOHANG), 0); /* still waiting for the lock */
	assert_true(image_store_has_blob(f->store, garbage));
	assert_true(image_store_has_blob(f->store, layer));
	assert_int_equal(image_store_tag(f->store, "example.com/x:1", manifest, &err), 0);
	close(lock);
	assert_int_equal(waitpid(gc, &status, 0), gc);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_false(image_store_has_blob(f->store, garbage));
	assert_true(image_store_has_blob(f->store, manifest));
	assert_true(image_store_has_blob(f->store, layer));
	assert_true(image_store_has_layer(f->store, layer));
}

/* The same writer's work, never tagged (the pull failed): gc removes it once the lock is free. */
static void test_gc_after_failed_writer(void **state)
{
	struct fixture *f = *state;
	char layer[IMAGE_DIGEST_SIZE];
	struct error err = {0};
	int lock = image_store_lock(f->store, false, &err), status;
	pid_t gc;

	assert_true(lock >= 0);
	put_layer(f, 0, layer);
	assert_int_equal(image_store_unpack_layer(f->store, layer, layer, &err), 0);
	gc = start_gc(f, lock);
	usleep(200 * 1000);
	assert_true(image_store_has_layer(f->store, layer));
	close(lock);
	assert_int_equal(waitpid(gc, &status, 0), gc);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_false(image_store_has_blob(f->store, layer));
	assert_false(image_store_has_layer(f->store, layer));
}

/* Writers share the lock: a second one does not wait for the first. */
static void test_writers_share(void **state)
{
	struct fixture *f = *state;
	struct error err = {0};
	int a = image_store_lock(f->store, false, &err);
	int b = a < 0 ? -1 : image_store_lock(f->store, false, &err);

	assert_true(a >= 0 && b >= 0);
	close(a);
	close(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_unpack_layer, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unpack_layer_bad_diff_id, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unpack_layers_parallel, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unpack_layers_one_fails, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_gc_waits_for_writer, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_gc_after_failed_writer, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_writers_share, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
