/* Unit tests for image/ref.c: a table after Docker's distribution/reference tests. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "image/ref.h"
#include "util/cleanup.h"

#define F64 "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
#define DG  "sha256:" F64

static const struct {
	const char *in, *canonical, *familiar;
} good[] = {
    {"busybox", "docker.io/library/busybox:latest", "busybox:latest"},
    {"busybox:1.36", "docker.io/library/busybox:1.36", "busybox:1.36"},
    {"user/x:tag", "docker.io/user/x:tag", "user/x:tag"},
    {"docker.io/library/busybox", "docker.io/library/busybox:latest", "busybox:latest"},
    {"index.docker.io/foo/bar", "docker.io/foo/bar:latest", "foo/bar:latest"},
    {"127.0.0.1:5000/x", "127.0.0.1:5000/x:latest", "127.0.0.1:5000/x:latest"},
    {"localhost/x", "localhost/x:latest", "localhost/x:latest"},
    {"localhost:5000/a/b:v1", "localhost:5000/a/b:v1", "localhost:5000/a/b:v1"},
    {"x@" DG, "docker.io/library/x@" DG, "x@" DG},
    {"x:tag@" DG, "docker.io/library/x:tag@" DG, "x:tag@" DG},
    {"test_com", "docker.io/library/test_com:latest", "test_com:latest"},
    {"test.com:tag", "docker.io/library/test.com:tag", "test.com:tag"},
    {"test.com:5000", "docker.io/library/test.com:5000", "test.com:5000"},
    {"test.com/repo:tag", "test.com/repo:tag", "test.com/repo:tag"},
    {"test:5000/repo", "test:5000/repo:latest", "test:5000/repo:latest"},
    {"test:5000/repo:tag@" DG, "test:5000/repo:tag@" DG, "test:5000/repo:tag@" DG},
    {"lowercase:Uppercase", "docker.io/library/lowercase:Uppercase", "lowercase:Uppercase"},
    {"sub-dom1.foo.com/bar/baz/quux:some-long-tag", "sub-dom1.foo.com/bar/baz/quux:some-long-tag",
     NULL},
    {"b.gcr.io/test.example.com/my-app:test.example.com", NULL, NULL},
    {"xn--n3h.com/myimage:xn--n3h.com", NULL, NULL},
    {"foo_bar.com:8080", "docker.io/library/foo_bar.com:8080", NULL},
    {"foo/foo_bar.com:8080", "docker.io/foo/foo_bar.com:8080", NULL},
    {"192.168.1.1:5000/repo:5050", "192.168.1.1:5000/repo:5050", NULL},
    {"[2001:db8::1]:5000/repo", "[2001:db8::1]:5000/repo:latest", NULL},
    {"[2001:db8::1]/repo", NULL, NULL},
    {"a__b/c--d/e.f_g", "docker.io/a__b/c--d/e.f_g:latest", "a__b/c--d/e.f_g:latest"},
    {"library/foo/bar", "docker.io/library/foo/bar:latest", "library/foo/bar:latest"},
    {"docker.io/a.b/c", "docker.io/a.b/c:latest", "docker.io/a.b/c:latest"},
};

static const struct {
	const char *in, *msg;
} bad[] = {
    {"", "at least one component"},
    {":justtag", "invalid reference format"},
    {"@" DG, "invalid reference format"},
    {"repo@sha256:"
     "fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
     "64 hex"},
    {"validname@invaliddigest:" F64, "unsupported algorithm"},
    {"x@sha512:" F64 F64, "unsupported algorithm"},
    {"Uppercase:tag", "repository name must be lowercase"},
    {"test:5000/Uppercase/lowercase:tag", "repository name must be lowercase"},
    {"aa/asdf$$^/aa", "invalid reference format"},
    {"-foo", "invalid reference format"},
    {"foo-", "invalid reference format"},
    {"foo..bar", "invalid reference format"},
    {"foo___bar", "invalid reference format"},
    {"foo//bar", "invalid reference format"},
    {"foo/", "invalid reference format"},
    {"foo:", "invalid tag"},
    {"foo:.bad", "invalid tag"},
    {"foo:-bad", "invalid tag"},
    {"[2001:db8::1]", "invalid"},
    {"[2001:db8::1]:tag", "invalid"},
    {"[fe80::1%eth0]:5000/repo", "invalid"},
    {"-host.com/x", "invalid reference format"},
    {"host-.com/x", "invalid reference format"},
    {"host.com:/x", "invalid reference format"},
    {"host.com:50a/x", "invalid reference format"},
    {F64, "64-byte hexadecimal"},
    {"a b", "invalid reference format"},
    {"x@", "empty"},
};

static void test_good(void **state)
{
	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		struct error err = {0};
		struct image_ref ref;

		if (image_ref_parse(good[i].in, &ref, &err) != 0)
			fail_msg("%s: %s", good[i].in, err.msg);
		cleanup_free char *c = image_ref_format(&ref);
		cleanup_free char *f = image_ref_familiar(&ref);

		if (good[i].canonical)
			assert_string_equal(c, good[i].canonical);
		if (good[i].familiar)
			assert_string_equal(f, good[i].familiar);
		/* the canonical form parses to itself */
		cleanup_free char *again = image_ref_normalize(c, &err);
		assert_non_null(again);
		assert_string_equal(again, c);
		image_ref_clear(&ref);
	}
}

static void test_bad(void **state)
{
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct error err = {0};
		struct image_ref ref;

		if (image_ref_parse(bad[i].in, &ref, &err) == 0)
			fail_msg("%s: accepted", bad[i].in);
		if (!strstr(err.msg, bad[i].msg))
			fail_msg("%s: \"%s\" lacks \"%s\"", bad[i].in, err.msg, bad[i].msg);
		assert_null(ref.domain);
		assert_null(ref.path);
	}
}

static void test_fields_and_message(void **state)
{
	struct error err = {0};
	struct image_ref ref;

	assert_int_equal(image_ref_parse("127.0.0.1:5000/a/b:v1@" DG, &ref, &err), 0);
	assert_string_equal(ref.domain, "127.0.0.1:5000");
	assert_string_equal(ref.path, "a/b");
	assert_string_equal(ref.tag, "v1");
	assert_string_equal(ref.digest, DG);
	image_ref_clear(&ref);
	image_ref_clear(&ref);
	assert_int_equal(image_ref_parse("x@" DG, &ref, &err), 0);
	assert_null(ref.tag);
	image_ref_clear(&ref);
	assert_int_equal(image_ref_parse("Foo", &ref, &err), -EINVAL);
	assert_string_equal(err.msg, "reference \"Foo\": repository name must be lowercase");
}

static void test_length(void **state)
{
	char name[600] = "";
	struct error err = {0};
	struct image_ref ref;

	/* "example.com/" + 121 x "a/" + "a" = 255 characters: the limit */
	strcpy(name, "example.com/");
	for (int i = 0; i < 121; i++)
		strcat(name, "a/");
	strcat(name, "a:tag-puts-this-over-max");
	assert_int_equal(image_ref_parse(name, &ref, &err), 0);
	image_ref_clear(&ref);
	strcpy(name, "example.com/");
	for (int i = 0; i < 121; i++)
		strcat(name, "a/");
	strcat(name, "ab:tag");
	assert_int_equal(image_ref_parse(name, &ref, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "255"));
	/* the limit applies to the normalised name: docker.io/ counts */
	memset(name, 0, sizeof(name));
	memset(name, 'a', 250);
	assert_int_equal(image_ref_parse(name, &ref, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "255"));
	/* tags: 128 characters at most */
	memset(name, 0, sizeof(name));
	strcpy(name, "x:");
	memset(name + 2, 'a', 128);
	assert_int_equal(image_ref_parse(name, &ref, &err), 0);
	image_ref_clear(&ref);
	name[130] = 'a';
	assert_int_equal(image_ref_parse(name, &ref, &err), -EINVAL);
	memset(name, 'a', sizeof(name) - 1);
	assert_int_equal(image_ref_parse(name, &ref, &err), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_good),
	    cmocka_unit_test(test_bad),
	    cmocka_unit_test(test_fields_and_message),
	    cmocka_unit_test(test_length),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
