/* test-engine-spec: `vessel run` flags + image config -> config.json, read back with the
 * runtime's own parser; and users looked up in an image's (hostile) /etc/passwd. */
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

#include "engine/image-to-spec.h"
#include "engine/passwd.h"
#include "runtime/spec.h"

static char root[] = "/tmp/vessel-test-engine-XXXXXX";
static int root_fd = -1;

static void put(const char *name, const char *text)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", root, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int setup(void **state)
{
	char path[512];

	assert_non_null(mkdtemp(root));
	snprintf(path, sizeof(path), "%s/etc", root);
	mkdir(path, 0755);
	put("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"
			  "app:x:1000:1001:App:/home/app:/bin/sh\n"
			  "broken-line-without-fields\n"
			  "::::::\n");
	put("etc/group", "root:x:0:\nappgrp:x:1001:\nextra:x:2000:app,other\nwheel:x:10:other\n");
	root_fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	return root_fd < 0;
}

static int teardown(void **state)
{
	char cmd[600];

	close(root_fd);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return system(cmd);
}

static void test_users(void **state)
{
	struct engine_user u;
	struct error err;

	assert_int_equal(engine_user_resolve(root_fd, "app", &u, &err), 0);
	assert_int_equal(u.uid, 1000);
	assert_int_equal(u.gid, 1001);
	assert_int_equal(u.n_gids, 1);
	assert_int_equal(u.gids[0], 2000);
	assert_int_equal(engine_user_resolve(root_fd, "1000:extra", &u, &err), 0);
	assert_int_equal(u.uid, 1000);
	assert_int_equal(u.gid, 2000);
	assert_int_equal(engine_user_resolve(root_fd, "4242:4343", &u, &err), 0);
	assert_int_equal(u.uid, 4242);
	assert_int_equal(u.gid, 4343);
	assert_int_equal(engine_user_resolve(root_fd, "", &u, &err), 0);
	assert_int_equal(u.uid, 0);
	assert_true(engine_user_resolve(root_fd, "nobody-here", &u, &err) < 0);
	assert_non_null(strstr(err.msg, "nobody-here"));
	assert_true(engine_user_resolve(root_fd, "app:nogroup", &u, &err) < 0);
	assert_true(engine_user_resolve(-1, "app", &u, &err) < 0);
}

static struct spec *gen(const struct engine_image_config *img, const struct engine_run_flags *f)
{
	struct error err;
	char *json = engine_spec_json(img, f, root_fd, "/rootfs", "/vessel/c1", &err);

	if (!json)
		fail_msg("%s", err.msg);
	struct spec *s = spec_parse(json, strlen(json), &err);
	if (!s)
		fail_msg("%s: %s", err.msg, json);
	free(json);
	return s;
}

static void test_spec(void **state)
{
#define S(x) ((char *)(x))
	char *entry[] = {S("/bin/sh"), S("-c"), NULL}, *cmd[] = {S("echo image"), NULL};
	char *env[] = {S("A=1"), S("B=2"), NULL}, *flags_env[] = {S("B=3"), S("C=4"), NULL};
	char *args[] = {S("echo flags"), NULL}, *vols[] = {S("/tmp:/data:ro"), NULL};
	struct engine_image_config img = {
	    .entrypoint = entry, .cmd = cmd, .env = env, .workdir = "/srv", .user = "app"};
	struct engine_run_flags f = {.args = args,
				     .env = flags_env,
				     .volumes = vols,
				     .millicpus = 250,
				     .memory = 512 << 20,
				     .pids_limit = 100,
				     .read_only = true,
				     .network = ENGINE_NETWORK_HOST};
	struct spec *s = gen(&img, &f);

	assert_string_equal(s->process.args[0], "/bin/sh");
	assert_string_equal(s->process.args[2], "echo flags");
	assert_null(s->process.args[3]);
	assert_string_equal(s->process.env[1], "A=1");
	assert_string_equal(s->process.env[2], "B=3");
	assert_string_equal(s->process.env[3], "C=4");
	assert_string_equal(s->process.cwd, "/srv");
	assert_int_equal(s->process.user.uid, 1000);
	assert_int_equal(s->process.user.gid, 1001);
	assert_int_equal(s->resources.cpu_quota, 25000);
	assert_int_equal(s->resources.cpu_period, 100000);
	assert_int_equal(s->resources.memory_limit, 512 << 20);
	assert_int_equal(s->resources.pids_limit, 100);
	assert_true(s->root_readonly);
	assert_string_equal(s->root_path, "/rootfs");
	assert_string_equal(s->cgroups_path, "/vessel/c1");
	assert_false(s->namespaces[SPEC_NS_NETWORK].present);
	assert_true(s->namespaces[SPEC_NS_PID].present);
	assert_non_null(s->seccomp_json);
	assert_string_equal(s->mounts[s->n_mounts - 1].destination, "/data");
	spec_free(s);

	/* --entrypoint "" and no CMD: nothing to run */
	struct engine_run_flags none = {.entrypoint = ""};
	struct error err;
	assert_null(engine_spec_json(&img, &none, root_fd, "/r", "/c", &err));
	assert_non_null(strstr(err.msg, "no command"));
}

static void test_bad_flags(void **state)
{
	static const char *const bad_vols[] = {"rel:/data", "/tmp:rel", "/tmp", "/tmp:/d:rx"};
	struct engine_image_config img = {.cmd = (char *[]){(char *)"true", NULL}};
	struct error err;

	for (size_t i = 0; i < sizeof(bad_vols) / sizeof(bad_vols[0]); i++) {
		char *vols[] = {(char *)bad_vols[i], NULL};
		struct engine_run_flags f = {.volumes = vols};
		assert_null(engine_spec_json(&img, &f, root_fd, "/r", "/c", &err));
		assert_non_null(strstr(err.msg, "-v"));
	}
	struct engine_run_flags u = {.user = "ghost"};
	assert_null(engine_spec_json(&img, &u, root_fd, "/r", "/c", &err));
	assert_non_null(strstr(err.msg, "--user"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_users),
	    cmocka_unit_test(test_spec),
	    cmocka_unit_test(test_bad_flags),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
