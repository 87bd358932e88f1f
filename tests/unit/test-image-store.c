/* Unit tests for image/store.c and image/store-index.c */
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
#include <unistd.h>

#include <cmocka.h>

#include "image/store.h"
#include "util/cleanup.h"

#define ABC "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define D1  "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define D2  "sha256:2222222222222222222222222222222222222222222222222222222222222222"

struct fixture {
	char dir[64];
	struct image_store *store;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct error err = {0};
	char root[128];

	strcpy(f->dir, "/tmp/test-image-store-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(root, sizeof(root), "%s/root", f->dir);
	assert_int_equal(image_store_open(root, &f->store, &err), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	image_store_free(f->store);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static int count_entries(const char *path)
{
	cleanup_dir DIR *d = opendir(path);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	return n;
}

static int tmp_count(struct fixture *f)
{
	char p[128];

	snprintf(p, sizeof(p), "%s/root/tmp", f->dir);
	return count_entries(p);
}

static void test_blob_round_trip(void **state)
{
	struct fixture *f = *state;
	struct error err = {0};
	char d[IMAGE_DIGEST_SIZE], buf[8] = "";
	cleanup_free char *path = NULL, *text = NULL;
	size_t len;
	int64_t size;

	assert_false(image_store_has_blob(f->store, ABC));
	assert_int_equal(image_store_put_blob_buf(f->store, NULL, "abc", 3, d, &err), 0);
	assert_string_equal(d, ABC);
	assert_true(image_store_has_blob(f->store, ABC));
	/* again with the digest: already there */
	assert_int_equal(image_store_put_blob_buf(f->store, ABC, "abc", 3, d, &err), 0);
	int fd = image_store_open_blob(f->store, ABC, &err);
	assert_true(fd >= 0);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(read(fd, buf, sizeof(buf)), 3);
	assert_string_equal(buf, "abc");
	close(fd);
	path = image_store_blob_path(f->store, ABC);
	assert_non_null(strstr(path, "/root/blobs/sha256/ba7816bf"));
	assert_int_equal(access(path, R_OK), 0);
	assert_int_equal(image_store_blob_size(f->store, ABC, &size, &err), 0);
	assert_int_equal(size, 3);
	assert_int_equal(image_store_read_blob(f->store, ABC, 100, &text, &len, &err), 0);
	assert_int_equal(len, 3);
	assert_string_equal(text, "abc");
	assert_int_equal(image_store_open_blob(f->store, D1, &err), -ENOENT);
	assert_int_equal(image_store_open_blob(f->store, "sha256:../../etc", &err), -EINVAL);
	assert_null(image_store_blob_path(f->store, "md5:x"));
	assert_int_equal(tmp_count(f), 0);
}

static void test_put_from_fd(void **state)
{
	struct fixture *f = *state;
	struct error err = {0};
	char d[IMAGE_DIGEST_SIZE];
	int p[2];

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_int_equal(write(p[1], "ab", 2), 2);
	assert_int_equal(write(p[1], "c", 1), 1);
	close(p[1]);
	assert_int_equal(image_store_put_blob_fd(f->store, ABC, 3, p[0], d, &err), 0);
	close(p[0]);
	assert_string_equal(d, ABC);
}

static void test_mismatch_refused(void **state)
{
	struct fixture *f = *state;
	struct error err = {0};
	char d[IMAGE_DIGEST_SIZE];
	char blobs[128];

	snprintf(blobs, sizeof(blobs), "%s/root/blobs/sha256", f->dir);
	assert_int_equal(image_store_put_blob_buf(f->store, D1, "abc", 3, d, &err), -EBADMSG);
	assert_string_equal(err.msg, "blob " D1 ": digest mismatch (got " ABC ")");
	assert_false(image_store_has_blob(f->store, D1));
	assert_false(image_store_has_blob(f->store, ABC));
	/* size: too long, too short */
	int fd = open("/dev/zero", O_RDONLY | O_CLOEXEC);
	assert_int_equal(image_store_put_blob_fd(f->store, NULL, 2, fd, d, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "more than the expected 2 bytes"));
	close(fd);
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	assert_int_equal(image_store_put_blob_fd(f->store, NULL, 5, fd, d, &err), -EBADMSG);
	close(fd);
	assert_non_null(strstr(err.msg, "size mismatch"));
	assert_int_equal(image_store_put_blob_buf(f->store, "sha512:abc", "abc", 3, d, &err),
			 -EOPNOTSUPP);
	assert_int_equal(count_entries(blobs), 0);
	assert_int_equal(tmp_count(f), 0);
}

static void test_tags(void **state)
{
	struct fixture *f = *state;
	struct error err = {0};
	struct image_store_entry *v = NULL;
	char d[IMAGE_DIGEST_SIZE];
	size_t n;

	assert_int_equal(image_store_resolve(f->store, "busybox", d, &err), -ENOENT);
	assert_string_equal(err.msg, "image busybox: not found");
	assert_int_equal(image_store_tag(f->store, "busybox", D1, &err), 0);
	assert_int_equal(image_store_tag(f->store, "localhost:5000/x:v1", D2, &err), 0);
	assert_int_equal(image_store_resolve(f->store, "docker.io/library/busybox:latest", d, &err),
			 0);
	assert_string_equal(d, D1);
	/* retag */
	assert_int_equal(image_store_tag(f->store, "busybox:latest", D2, &err), 0);
	assert_int_equal(image_store_resolve(f->store, "busybox", d, &err), 0);
	assert_string_equal(d, D2);
	assert_int_equal(image_store_list(f->store, &v, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_string_equal(v[0].name, "docker.io/library/busybox:latest");
	assert_string_equal(v[1].name, "localhost:5000/x:v1");
	assert_string_equal(v[1].digest, D2);
	assert_true(v[0].created > 1600000000);
	image_store_entries_free(v, n);
	assert_int_equal(image_store_untag(f->store, "busybox", &err), 0);
	assert_int_equal(image_store_untag(f->store, "busybox", &err), -ENOENT);
	assert_int_equal(image_store_resolve(f->store, "busybox", d, &err), -ENOENT);
	/* bad input */
	assert_int_equal(image_store_tag(f->store, "Bad", D1, &err), -EINVAL);
	assert_int_equal(image_store_tag(f->store, "x", "sha256:00", &err), -EINVAL);
	/* by digest: only when the blob is there */
	assert_int_equal(image_store_resolve(f->store, "x@" D1, d, &err), -ENOENT);
	assert_int_equal(image_store_put_blob_buf(f->store, NULL, "abc", 3, NULL, &err), 0);
	assert_int_equal(image_store_resolve(f->store, "x@" ABC, d, &err), 0);
	assert_string_equal(d, ABC);
}

static void test_corrupt_index(void **state)
{
	struct fixture *f = *state;
	struct error err = {0};
	char p[128], d[IMAGE_DIGEST_SIZE];
	FILE *fp;

	snprintf(p, sizeof(p), "%s/root/images.json", f->dir);
	fp = fopen(p, "w");
	fputs("{\"images\": {\"docker.io/library/x:latest\": {\"digest\": 5}}}", fp);
	fclose(fp);
	assert_int_equal(image_store_resolve(f->store, "x", d, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "images.json"));
	assert_int_equal(image_store_tag(f->store, "y", D1, &err), -EBADMSG);
}

static void tag_many(struct image_store *store, char who)
{
	struct error err = {0};
	char name[64];

	for (int i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "localhost/%c:t%d", who, i);
		if (image_store_tag(store, name, who == 'a' ? D1 : D2, &err) < 0)
			_exit(1);
	}
	_exit(0);
}

static void test_concurrent_tagging(void **state)
{
	struct fixture *f = *state;
	struct error err = {0};
	struct image_store_entry *v = NULL;
	pid_t pids[2];
	size_t n;
	int status;

	for (int i = 0; i < 2; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0)
			tag_many(f->store, i ? 'b' : 'a');
	}
	for (int i = 0; i < 2; i++) {
		assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	assert_int_equal(image_store_list(f->store, &v, &n, &err), 0);
	assert_int_equal(n, 200);
	image_store_entries_free(v, n);
	char d[IMAGE_DIGEST_SIZE];
	assert_int_equal(image_store_resolve(f->store, "localhost/a:t99", d, &err), 0);
	assert_string_equal(d, D1);
	assert_int_equal(image_store_resolve(f->store, "localhost/b:t0", d, &err), 0);
	assert_string_equal(d, D2);
	/* no temporary index files left in the root */
	char root[128];
	snprintf(root, sizeof(root), "%s/root", f->dir);
	assert_int_equal(count_entries(root), 5); /* blobs tmp layers images.json lock */
}

static void test_layer_dir(void **state)
{
	struct fixture *f = *state;
	cleanup_free char *p = image_store_layer_dir(f->store, ABC);

	assert_non_null(p);
	assert_non_null(strstr(p, "/root/layers/ba7816bf"));
	assert_null(image_store_layer_dir(f->store, "sha256:xyz"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_blob_round_trip, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_put_from_fd, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_mismatch_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tags, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_corrupt_index, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_concurrent_tagging, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_layer_dir, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
