/* Unit tests for runtime/hooks.c */
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

#include "runtime/hooks.h"
#include "util/cleanup.h"

#define STATE "{\"ociVersion\":\"1.0.2\",\"id\":\"c1\",\"status\":\"creating\",\"pid\":42}"

struct fixture {
	char dir[64];
	char file[128];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/vessel-hooks-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->file, sizeof(f->file), "%s/out", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	unlink(f->file);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* A /bin/sh -c hook; script is borrowed and must outlive the hook. */
static struct spec_hook sh_hook(char **argv, const char *script, int timeout)
{
	argv[0] = (char *)"sh";
	argv[1] = (char *)"-c";
	argv[2] = (char *)script;
	argv[3] = NULL;
	return (struct spec_hook){.path = (char *)"/bin/sh", .args = argv, .timeout = timeout};
}

static char *slurp(const char *path)
{
	static char buf[1 << 21];
	FILE *f = fopen(path, "re");
	size_t n;

	if (!f)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_state_on_stdin(void **state)
{
	struct fixture *f = *state;
	struct error err = {0};
	char script[256], *argv[4];
	struct spec_hook h;
	struct spec_hook_list list = {.v = &h, .n = 1};

	snprintf(script, sizeof(script), "cat > %s", f->file);
	h = sh_hook(argv, script, 5);
	assert_int_equal(hooks_run(&list, "prestart", STATE, &err), 0);
	assert_string_equal(slurp(f->file), STATE);
}

static void test_large_state(void **state)
{
	struct fixture *f = *state;
	struct error err = {0};
	char script[256], *argv[4];
	struct spec_hook h;
	struct spec_hook_list list = {.v = &h, .n = 1};
	size_t len = 1 << 20;
	cleanup_free char *big = malloc(len + 1);

	assert_non_null(big);
	for (size_t i = 0; i < len; i++)
		big[i] = (char)('a' + i % 26);
	big[len] = '\0';
	snprintf(script, sizeof(script), "cat > %s", f->file);
	h = sh_hook(argv, script, 10);
	assert_int_equal(hooks_run(&list, "createRuntime", big, &err), 0);
	assert_string_equal(slurp(f->file), big);
	/* A hook that never reads its stdin neither blocks us nor kills us with SIGPIPE. */
	h = sh_hook(argv, "exit 0", 10);
	assert_int_equal(hooks_run(&list, "createRuntime", big, &err), 0);
}

static void test_exit_status(void **state)
{
	struct error err = {0};
	char *argv[4];
	struct spec_hook h = sh_hook(argv, "exit 3", 0);
	struct spec_hook_list list = {.v = &h, .n = 1};

	assert_true(hooks_run(&list, "poststart", STATE, &err) < 0);
	assert_string_equal(err.msg, "poststart hook /bin/sh: exited with status 3");

	h = sh_hook(argv, "kill -9 $$", 0);
	assert_true(hooks_run(&list, "poststop", STATE, &err) < 0);
	assert_string_equal(err.msg, "poststop hook /bin/sh: killed by signal 9");
}

static void test_timeout(void **state)
{
	struct error err = {0};
	char *argv[4];
	struct spec_hook h = sh_hook(argv, "exec sleep 30", 1);
	struct spec_hook_list list = {.v = &h, .n = 1};
	double t0 = now_s(), dt;

	assert_int_equal(hooks_run(&list, "createContainer", STATE, &err), -ETIMEDOUT);
	dt = now_s() - t0;
	assert_true(dt >= 0.9);
	assert_true(dt < 2.5);
	assert_string_equal(err.msg, "createContainer hook /bin/sh: timed out after 1 s");
}

static void test_missing_and_bad_path(void **state)
{
	struct error err = {0};
	struct spec_hook h = {.path = (char *)"/nonexistent/vessel-hook"};
	struct spec_hook_list list = {.v = &h, .n = 1};

	assert_int_equal(hooks_run(&list, "prestart", STATE, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "prestart hook /nonexistent/vessel-hook"));
	assert_non_null(strstr(err.msg, "No such file or directory"));

	h.path = (char *)"relative/hook";
	assert_int_equal(hooks_run(&list, "prestart", STATE, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "must be absolute"));
}

static void test_empty_list_and_no_args(void **state)
{
	struct error err = {0};
	struct spec_hook_list empty = {0};
	struct spec_hook h = {.path = (char *)"/bin/true"};
	struct spec_hook_list list = {.v = &h, .n = 1};

	assert_int_equal(hooks_run(&empty, "prestart", STATE, &err), 0);
	assert_int_equal(hooks_run(NULL, "prestart", STATE, &err), 0);
	/* no args: argv = { path } */
	assert_int_equal(hooks_run(&list, "prestart", STATE, &err), 0);
}

static void test_env(void **state)
{
	struct fixture *f = *state;
	struct error err = {0};
	char script[256], *argv[4];
	char *env[] = {(char *)"FOO=bar", NULL};
	struct spec_hook h;
	struct spec_hook_list list = {.v = &h, .n = 1};

	snprintf(script, sizeof(script), "echo \"$FOO ${HOME-nohome}\" > %s", f->file);
	h = sh_hook(argv, script, 5);
	h.env = env;
	assert_int_equal(hooks_run(&list, "prestart", STATE, &err), 0);
	assert_string_equal(slurp(f->file), "bar nohome\n");
	/* no env: an empty environment, not ours */
	h.env = NULL;
	assert_int_equal(hooks_run(&list, "prestart", STATE, &err), 0);
	assert_string_equal(slurp(f->file), " nohome\n");
}

static void test_order_and_stop(void **state)
{
	struct fixture *f = *state;
	struct error err = {0};
	char scripts[3][256], *argv[3][4];
	struct spec_hook h[3];
	struct spec_hook_list list = {.v = h, .n = 3};

	for (int i = 0; i < 3; i++) {
		snprintf(scripts[i], sizeof(scripts[i]), "echo %d >> %s", i + 1, f->file);
		h[i] = sh_hook(argv[i], scripts[i], 5);
	}
	assert_int_equal(hooks_run(&list, "prestart", STATE, &err), 0);
	assert_string_equal(slurp(f->file), "1\n2\n3\n");

	/* the second fails: the third never runs */
	unlink(f->file);
	snprintf(scripts[1], sizeof(scripts[1]), "echo 2 >> %s; exit 1", f->file);
	assert_true(hooks_run(&list, "prestart", STATE, &err) < 0);
	assert_string_equal(err.msg, "prestart hook /bin/sh: exited with status 1");
	assert_string_equal(slurp(f->file), "1\n2\n");
}

static void test_stage_names(void **state)
{
	assert_string_equal(hooks_stage_name(SPEC_HOOK_PRESTART), "prestart");
	assert_string_equal(hooks_stage_name(SPEC_HOOK_CREATE_RUNTIME), "createRuntime");
	assert_string_equal(hooks_stage_name(SPEC_HOOK_CREATE_CONTAINER), "createContainer");
	assert_string_equal(hooks_stage_name(SPEC_HOOK_START_CONTAINER), "startContainer");
	assert_string_equal(hooks_stage_name(SPEC_HOOK_POSTSTART), "poststart");
	assert_string_equal(hooks_stage_name(SPEC_HOOK_POSTSTOP), "poststop");
	assert_string_equal(hooks_stage_name(SPEC_HOOK_MAX), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_state_on_stdin, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_large_state, setup, teardown),
	    cmocka_unit_test(test_exit_status),
	    cmocka_unit_test(test_timeout),
	    cmocka_unit_test(test_missing_and_bad_path),
	    cmocka_unit_test(test_empty_list_and_no_args),
	    cmocka_unit_test_setup_teardown(test_env, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_order_and_stop, setup, teardown),
	    cmocka_unit_test(test_stage_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
