/* Unit tests for image/registry-credhelper.c and the "credHelpers"/"credsStore" lookup in
 * registry-auth.c, with fake docker-credential-* scripts on $PATH. */
#include <errno.h>
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

#include "image/registry.h"
#include "util/cleanup.h"
#include "util/str.h"

#define HOST "127.0.0.1:5000"
/* base64("alice:s3cret") and base64("bob:inline") */
#define ALICE  "YWxpY2U6czNjcmV0"
#define INLINE "Ym9iOmlubGluZQ=="

struct fixture {
	char dir[64];
	char *old_path;
};

static const struct {
	const char *name, *body;
} helpers[] = {
    /* answers for HOST only, as a real helper does */
    {"good", "read s\n[ \"$s\" = \"" HOST "\" ] || { echo \"credentials not found\"; exit 1; }\n"
	     "[ \"$1\" = get ] || exit 9\n"
	     "echo '{\"ServerURL\":\"'$s'\",\"Username\":\"alice\",\"Secret\":\"s3cret\"}'\n"},
    {"none", "echo 'credentials not found in native keychain'\nexit 1\n"},
    {"fail", "echo 'boom: the keyring is locked'\nexit 2\n"},
    {"garbage", "echo 'this is not json'\n"},
    {"token", "echo '{\"Username\":\"<token>\",\"Secret\":\"refresh\"}'\n"},
    {"killed", "kill -9 $$\n"},
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const char *path = getenv("PATH");
	cleanup_free char *new_path = NULL;

	strcpy(f->dir, "/tmp/test-credhelper-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	for (size_t i = 0; i < sizeof(helpers) / sizeof(helpers[0]); i++) {
		cleanup_free char *file =
		    str_printf("%s/docker-credential-%s", f->dir, helpers[i].name);
		FILE *out = fopen(file, "we");

		assert_non_null(out);
		fprintf(out, "#!/bin/sh\n%s", helpers[i].body);
		fclose(out);
		assert_int_equal(chmod(file, 0755), 0);
	}
	f->old_path = strdup(path ? path : "/usr/bin:/bin");
	new_path = str_printf("%s:%s", f->dir, f->old_path);
	setenv("PATH", new_path, 1);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	cleanup_free char *cmd = str_printf("rm -rf '%s'", f->dir);

	setenv("PATH", f->old_path, 1);
	free(f->old_path);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static void test_helper_answers(void **state)
{
	struct error err = {0};
	char *auth = NULL;

	(void)state;
	assert_int_equal(image_registry_credhelper_get("good", HOST, &auth, &err), 0);
	assert_non_null(auth);
	assert_string_equal(auth, ALICE);
	free(auth);
}

static void test_helper_without_credentials(void **state)
{
	struct error err = {0};
	char *auth = (char *)"x";

	(void)state;
	assert_int_equal(image_registry_credhelper_get("none", HOST, &auth, &err), 0);
	assert_null(auth);
	assert_int_equal(image_registry_credhelper_get("good", "other:1", &auth, &err), 0);
	assert_null(auth);
}

/* Each failure is an error that names the helper program. */
static void expect_error(const char *helper, const char *words)
{
	cleanup_free char *prog = str_printf("docker-credential-%s", helper);
	struct error err = {0};
	char *auth = NULL;

	assert_true(image_registry_credhelper_get(helper, HOST, &auth, &err) < 0);
	assert_null(auth);
	if (!strstr(err.msg, prog) || !strstr(err.msg, words))
		fail_msg("%s: \"%s\" lacks \"%s\"", helper, err.msg, words);
}

static void test_helper_failures(void **state)
{
	(void)state;
	expect_error("fail", "boom: the keyring is locked");
	expect_error("fail", "exit status 2");
	expect_error("garbage", "JSON");
	expect_error("token", "identity token");
	expect_error("killed", "signal 9");
	expect_error("missing", "not found in $PATH");
}

static void test_helper_name_is_checked(void **state)
{
	struct error err = {0};
	char *auth = NULL;

	(void)state;
	assert_int_equal(image_registry_credhelper_get("../good", HOST, &auth, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "not a valid name"));
	assert_int_equal(image_registry_credhelper_get("", HOST, &auth, &err), -EINVAL);
}

static void test_parse(void **state)
{
	static const char *const bad[] = {
	    "{}",
	    "{\"Username\":\"a\"}",
	    "{\"Username\":\"a:b\",\"Secret\":\"s\"}",
	    "{\"Username\":\"\",\"Secret\":\"s\"}",
	    "{\"Username\":\"a\",\"Secret\":\"\"}",
	    "[1]",
	    "{\"Username\":1,\"Secret\":\"s\"}",
	};
	const char *good = "{\"ServerURL\":\"x\",\"Username\":\"alice\",\"Secret\":\"s3cret\"}\n";
	struct error err = {0};
	char *auth = NULL;

	(void)state;
	assert_int_equal(image_registry_credhelper_parse(good, strlen(good), &auth, &err), 0);
	assert_string_equal(auth, ALICE);
	free(auth);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (image_registry_credhelper_parse(bad[i], strlen(bad[i]), &auth, &err) == 0)
			fail_msg("accepted %s", bad[i]);
		assert_null(auth);
	}
}

/* auth.json text into the fixture's dir; returns its path (owned). */
static char *write_auth(struct fixture *f, const char *text)
{
	char *path = str_printf("%s/auth.json", f->dir);
	FILE *out = fopen(path, "we");

	assert_non_null(out);
	fputs(text, out);
	fclose(out);
	return path;
}

static void lookup(struct fixture *f, const char *text, const char *expect)
{
	cleanup_free char *path = write_auth(f, text);
	struct error err = {0};
	char *auth = NULL;

	if (image_registry_auth_lookup(path, HOST, &auth, &err) < 0)
		fail_msg("%s: %s", text, err.msg);
	if (!expect)
		assert_null(auth);
	else if (!auth || strcmp(auth, expect) != 0)
		fail_msg("%s: got %s, expected %s", text, auth ? auth : "(none)", expect);
	free(auth);
}

static void test_auth_json(void **state)
{
	struct fixture *f = *state;

	lookup(f, "{\"credHelpers\":{\"" HOST "\":\"good\"}}", ALICE);
	lookup(f, "{\"credHelpers\":{\"http://" HOST "/v2/\":\"good\"}}", ALICE);
	lookup(f, "{\"credsStore\":\"good\"}", ALICE);
	/* credHelpers for the host wins over credsStore and the inline entry */
	lookup(f,
	       "{\"credsStore\":\"fail\",\"credHelpers\":{\"" HOST "\":\"good\"},"
	       "\"auths\":{\"" HOST "\":{\"auth\":\"" INLINE "\"}}}",
	       ALICE);
	/* a helper for another registry is not asked */
	lookup(f,
	       "{\"credHelpers\":{\"other:5000\":\"fail\"},"
	       "\"auths\":{\"" HOST "\":{\"auth\":\"" INLINE "\"}}}",
	       INLINE);
	/* a helper without credentials: the inline entry, else anonymous */
	lookup(f, "{\"credsStore\":\"none\",\"auths\":{\"" HOST "\":{\"auth\":\"" INLINE "\"}}}",
	       INLINE);
	lookup(f, "{\"credsStore\":\"none\",\"auths\":{\"" HOST "\":{}}}", NULL);
	lookup(f, "{\"credsStore\":\"\"}", NULL);
}

static void test_auth_json_helper_errors(void **state)
{
	struct fixture *f = *state;
	static const char *const cases[][2] = {
	    {"{\"credHelpers\":{\"" HOST "\":\"fail\"}}", "docker-credential-fail"},
	    {"{\"credsStore\":\"garbage\"}", "docker-credential-garbage"},
	    {"{\"credsStore\":\"missing\"}", "docker-credential-missing"},
	    {"{\"credHelpers\":{\"" HOST "\":7}}", "credHelpers." HOST},
	    {"{\"credsStore\":[]}", "credsStore"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cleanup_free char *path = write_auth(f, cases[i][0]);
		struct error err = {0};
		char *auth = NULL;

		if (image_registry_auth_lookup(path, HOST, &auth, &err) == 0)
			fail_msg("%s: accepted", cases[i][0]);
		assert_null(auth);
		if (!strstr(err.msg, cases[i][1]) || !strstr(err.msg, path))
			fail_msg("%s: \"%s\" lacks \"%s\"", cases[i][0], err.msg, cases[i][1]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_helper_answers, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_helper_without_credentials, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_helper_failures, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_helper_name_is_checked, setup, teardown),
	    cmocka_unit_test(test_parse),
	    cmocka_unit_test_setup_teardown(test_auth_json, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_auth_json_helper_errors, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
