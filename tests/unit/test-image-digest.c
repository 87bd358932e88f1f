/* Unit tests for image/digest.c */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "image/digest.h"

#define ABC   "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define EMPTY "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static void test_vectors(void **state)
{
	struct error err = {0};
	char d[IMAGE_DIGEST_SIZE];

	assert_int_equal(image_digest_buf("abc", 3, d, &err), 0);
	assert_string_equal(d, ABC);
	assert_int_equal(image_digest_buf("", 0, d, &err), 0);
	assert_string_equal(d, EMPTY);
	assert_string_equal(image_digest_hex(d), EMPTY + 7);
}

static void test_streaming(void **state)
{
	struct image_digest_ctx ctx = {0};
	struct error err = {0};
	char d[IMAGE_DIGEST_SIZE];

	assert_int_equal(image_digest_init(&ctx, &err), 0);
	assert_int_equal(image_digest_update(&ctx, "a", 1, &err), 0);
	assert_int_equal(image_digest_update(&ctx, "", 0, &err), 0);
	assert_int_equal(image_digest_update(&ctx, "bc", 2, &err), 0);
	assert_int_equal(image_digest_final(&ctx, d, &err), 0);
	assert_string_equal(d, ABC);
	assert_null(ctx.md);
	/* released twice, and used after final: an error, not a crash */
	image_digest_ctx_free(&ctx);
	assert_int_equal(image_digest_update(&ctx, "x", 1, &err), -EINVAL);
}

static void test_validate(void **state)
{
	struct error err = {0};

	assert_int_equal(image_digest_validate(ABC, &err), 0);
	assert_true(image_digest_is_valid(EMPTY));
	assert_int_equal(image_digest_validate("sha512:"
					       "abcd",
					       &err),
			 -EOPNOTSUPP);
	assert_non_null(strstr(err.msg, "unsupported algorithm sha512"));
	assert_int_equal(
	    image_digest_validate(
		"sha256:BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD", &err),
	    -EINVAL);
	assert_non_null(strstr(err.msg, "lowercase"));
	assert_int_equal(image_digest_validate("sha256:ba7816bf", &err), -EINVAL);
	assert_non_null(strstr(err.msg, "64 hex"));
	assert_int_equal(image_digest_validate(ABC "0", &err), -EINVAL);
	assert_int_equal(
	    image_digest_validate(
		"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", &err),
	    -EINVAL);
	assert_non_null(strstr(err.msg, "missing algorithm"));
	assert_int_equal(image_digest_validate("", &err), -EINVAL);
	assert_int_equal(image_digest_validate(NULL, &err), -EINVAL);
	assert_int_equal(image_digest_validate("SHA256:"
					       "x",
					       &err),
			 -EINVAL);
	assert_int_equal(
	    image_digest_validate(
		"sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ag", &err),
	    -EINVAL);
	assert_false(image_digest_is_valid("sha256:"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_vectors),
	    cmocka_unit_test(test_streaming),
	    cmocka_unit_test(test_validate),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
