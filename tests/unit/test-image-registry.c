/* Unit tests for image/registry-auth.c: WWW-Authenticate challenges, auth.json, loopback. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "image/registry.h"
#include "util/cleanup.h"

static void test_challenge_bearer(void **state)
{
	struct image_registry_challenge c;
	struct error err;

	assert_int_equal(image_registry_challenge_parse(
			     "Bearer realm=\"https://auth.docker.io/token\",service=\"registry."
			     "docker.io\",scope=\"repository:library/busybox:pull\"",
			     &c, &err),
			 0);
	assert_string_equal(c.scheme, "bearer");
	assert_string_equal(c.realm, "https://auth.docker.io/token");
	assert_string_equal(c.service, "registry.docker.io");
	assert_string_equal(c.scope, "repository:library/busybox:pull");
}

static void test_challenge_forms(void **state)
{
	struct image_registry_challenge c;
	struct error err;

	/* tokens unquoted, spaces around '=' and ',', names in any case, unknown params */
	assert_int_equal(image_registry_challenge_parse("  BEARER Realm = http://h/t ,  error="
							"\"insufficient_scope\", SERVICE=svc",
							&c, &err),
			 0);
	assert_string_equal(c.scheme, "bearer");
	assert_string_equal(c.realm, "http://h/t");
	assert_string_equal(c.service, "svc");
	assert_string_equal(c.scope, "");
	/* escapes in quoted strings; a comma inside quotes */
	assert_int_equal(image_registry_challenge_parse(
			     "Bearer realm=\"a\\\"b,c\",scope=\"x:y:pull,push\"", &c, &err),
			 0);
	assert_string_equal(c.realm, "a\"b,c");
	assert_string_equal(c.scope, "x:y:pull,push");
	/* a scheme alone; a second challenge after the first is ignored */
	assert_int_equal(image_registry_challenge_parse("Basic", &c, &err), 0);
	assert_string_equal(c.scheme, "basic");
	assert_int_equal(
	    image_registry_challenge_parse("Basic realm=\"r\", Bearer realm=\"x\"", &c, &err), 0);
	assert_string_equal(c.scheme, "basic");
	assert_string_equal(c.realm, "r");
}

static void test_challenge_bad(void **state)
{
	static const char *const bad[] = {
	    "",
	    "   ",
	    "=realm",
	    "Bearer realm=\"unterminated",
	    "Bearer realm=\"ctl\x01\"",
	    "Bearer realm=\"a\" junk\"",
	    "Bearer \"quoted\"",
	    "Bearer,",
	    "Bear(er realm=x",
	    "Bearerrrrrrrrrrrrrrrrrrrrr realm=x",
	};
	struct image_registry_challenge c;
	struct error err;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = image_registry_challenge_parse(bad[i], &c, &err);

		if (r != -EINVAL)
			fail_msg("\"%s\" parsed (%d)", bad[i], r);
		assert_non_null(strstr(err.msg, "challenge"));
	}
}

static void test_challenge_too_long(void **state)
{
	struct image_registry_challenge c;
	struct error err;
	char *h = malloc(20000);

	assert_non_null(h);
	strcpy(h, "Bearer realm=\"");
	memset(h + strlen(h), 'a', 5000);
	strcpy(h + 14 + 5000, "\"");
	assert_int_equal(image_registry_challenge_parse(h, &c, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "realm: longer than"));
	/* an unknown parameter is bounded too */
	strcpy(h, "Bearer other=");
	memset(h + 13, 'b', 10000);
	h[13 + 10000] = '\0';
	assert_int_equal(image_registry_challenge_parse(h, &c, &err), -EINVAL);
	free(h);
}

static char *write_tmp(const char *text)
{
	char *path = strdup("/tmp/vessel-test-auth-XXXXXX");
	int fd;

	assert_non_null(path);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

/* "alice:pw" and "bob:x" in base64 */
#define ALICE "YWxpY2U6cHc="
#define BOB   "Ym9iOng="

static void test_auth_lookup(void **state)
{
	cleanup_free char *path =
	    write_tmp("{\"auths\": {\"127.0.0.1:5000\": {\"auth\": \"" ALICE "\"},"
		      " \"https://index.docker.io/v1/\": {\"auth\": \"" BOB "\"},"
		      " \"https://quay.io\": {\"auth\": \"" ALICE "\"}, \"other\": 3}}");
	struct error err;
	char *auth = NULL;

	assert_int_equal(image_registry_auth_lookup(path, "127.0.0.1:5000", &auth, &err), 0);
	assert_string_equal(auth, ALICE);
	free(auth);
	assert_int_equal(image_registry_auth_lookup(path, "docker.io", &auth, &err), 0);
	assert_string_equal(auth, BOB);
	free(auth);
	assert_int_equal(image_registry_auth_lookup(path, "quay.io", &auth, &err), 0);
	assert_string_equal(auth, ALICE);
	free(auth);
	/* no entry, a different port, a prefix of a host: nothing */
	assert_int_equal(image_registry_auth_lookup(path, "127.0.0.1:5001", &auth, &err), 0);
	assert_null(auth);
	assert_int_equal(image_registry_auth_lookup(path, "quay.i", &auth, &err), 0);
	assert_null(auth);
	unlink(path);
	/* a missing file is no credentials */
	assert_int_equal(image_registry_auth_lookup(path, "quay.io", &auth, &err), 0);
	assert_null(auth);
}

static void test_auth_bad_files(void **state)
{
	static const char *const bad[] = {
	    "not json",
	    "[]",
	    "{\"auths\": []}",
	    "{\"auths\": {\"h\": {\"auth\": \"!!!!\"}}}",
	    "{\"auths\": {\"h\": {\"auth\": \"bm9jb2xvbg==\"}}}", /* "nocolon" */
	    "{\"auths\": {\"h\": {\"auth\": \"abc\"}}}",
	};
	struct error err;
	char *auth = NULL;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cleanup_free char *path = write_tmp(bad[i]);
		int r = image_registry_auth_lookup(path, "h", &auth, &err);

		unlink(path);
		if (r >= 0)
			fail_msg("auth.json %s accepted", bad[i]);
		assert_null(auth);
		assert_non_null(strstr(err.msg, path));
	}
}

static void test_auth_path(void **state)
{
	char *p;

	setenv("HOME", "/home/u", 1);
	unsetenv("REGISTRY_AUTH_FILE");
	p = image_registry_auth_path(NULL);
	assert_string_equal(p, "/home/u/.docker/config.json");
	free(p);
	setenv("REGISTRY_AUTH_FILE", "/etc/auth.json", 1);
	p = image_registry_auth_path(NULL);
	assert_string_equal(p, "/etc/auth.json");
	free(p);
	p = image_registry_auth_path("/x.json");
	assert_string_equal(p, "/x.json");
	free(p);
	unsetenv("REGISTRY_AUTH_FILE");
}

static void test_loopback(void **state)
{
	static const char *const yes[] = {"localhost",	  "localhost:5000", "127.0.0.1",
					  "127.1.2.3:80", "[::1]:5000",	    "[::1]"};
	static const char *const no[] = {"docker.io",	     "128.0.0.1:5000",
					 "10.0.0.1",	     "localhost.example.com",
					 "127.0.0.1.nip.io", "[::2]:1"};

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		if (!image_registry_is_loopback(yes[i]))
			fail_msg("%s is loopback", yes[i]);
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		if (image_registry_is_loopback(no[i]))
			fail_msg("%s is not loopback", no[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_challenge_bearer), cmocka_unit_test(test_challenge_forms),
	    cmocka_unit_test(test_challenge_bad),    cmocka_unit_test(test_challenge_too_long),
	    cmocka_unit_test(test_auth_lookup),	     cmocka_unit_test(test_auth_bad_files),
	    cmocka_unit_test(test_auth_path),	     cmocka_unit_test(test_loopback),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
