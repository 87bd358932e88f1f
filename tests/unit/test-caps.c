/* Unit tests for runtime/caps.c */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "runtime/caps.h"
#include "util/fd.h"

#define BIT(c) (UINT64_C(1) << (c))

/* Reads "Name:\t<hex>" from /proc/self/status. */
static int status_mask(const char *name, uint64_t *ret)
{
	char line[256];
	size_t n = strlen(name);
	FILE *f = fopen("/proc/self/status", "re");
	int r = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, name, n) == 0 && line[n] == ':') {
			unsigned long long v;
			if (sscanf(line + n + 1, "%llx", &v) == 1) {
				*ret = v;
				r = 0;
			}
			break;
		}
	fclose(f);
	return r;
}

/* Runs fn in a forked child; its struct error comes back in *ret_err. Returns the exit code. */
static int in_child(int (*fn)(const void *arg, struct error *err), const void *arg,
		    struct error *ret_err)
{
	int p[2], status;
	pid_t pid;

	memset(ret_err, 0, sizeof(*ret_err));
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct error e = {0};
		int r = fn(arg, &e);
		fd_write_all(p[1], &e, sizeof(e));
		_exit(r < 0 ? 1 : r);
	}
	close(p[1]);
	if (fd_read_exact(p[0], ret_err, sizeof(*ret_err)) < 0)
		snprintf(ret_err->msg, sizeof(ret_err->msg), "child sent no result");
	close(p[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static void test_names(void **state)
{
	int last = caps_last_cap();

	assert_int_equal(caps_from_name("CAP_CHOWN"), 0);
	assert_int_equal(caps_from_name("CAP_NET_BIND_SERVICE"), 10);
	assert_int_equal(caps_from_name("CAP_SYS_ADMIN"), 21);
	assert_int_equal(caps_from_name("CAP_CHECKPOINT_RESTORE"), 40);
	assert_string_equal(caps_name(21), "CAP_SYS_ADMIN");
	assert_string_equal(caps_name(0), "CAP_CHOWN");
	for (int c = 0; c <= 40 && c <= last; c++) {
		const char *name = caps_name(c);
		assert_non_null(name);
		assert_int_equal(caps_from_name(name), c);
	}
	assert_int_equal(caps_from_name("CAP_NOPE"), -1);
	assert_int_equal(caps_from_name("SYS_ADMIN"), -1);
	assert_int_equal(caps_from_name("cap_sys_admin"), -1);
	assert_int_equal(caps_from_name("21"), -1);
	assert_int_equal(caps_from_name(""), -1);
	assert_int_equal(caps_from_name(NULL), -1);
	assert_null(caps_name(-1));
	assert_null(caps_name(63));
	assert_null(caps_name(64));
}

static void test_last_cap(void **state)
{
	FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "re");
	int want = -1;

	if (!f)
		skip();
	assert_int_equal(fscanf(f, "%d", &want), 1);
	fclose(f);
	assert_int_equal(caps_last_cap(), want);
}

struct caps_case {
	struct spec_caps set;
	uint64_t bnd, eff, prm, inh, amb;
};

static int apply_and_check(const void *arg, struct error *err)
{
	const struct caps_case *c = arg;
	uint64_t v = 0;

	if (caps_apply(&c->set, err) < 0)
		return 1;
	if (status_mask("CapBnd", &v) < 0 || v != c->bnd)
		return error_set(err, EINVAL, "CapBnd %llx", (unsigned long long)v), 2;
	if (status_mask("CapEff", &v) < 0 || v != c->eff)
		return error_set(err, EINVAL, "CapEff %llx", (unsigned long long)v), 3;
	if (status_mask("CapPrm", &v) < 0 || v != c->prm)
		return error_set(err, EINVAL, "CapPrm %llx", (unsigned long long)v), 4;
	if (status_mask("CapInh", &v) < 0 || v != c->inh)
		return error_set(err, EINVAL, "CapInh %llx", (unsigned long long)v), 5;
	if (status_mask("CapAmb", &v) < 0 || v != c->amb)
		return error_set(err, EINVAL, "CapAmb %llx", (unsigned long long)v), 6;
	return 0;
}

static void skip_without_setpcap(void)
{
	uint64_t eff = 0;

	if (getuid() != 0 || status_mask("CapEff", &eff) < 0 || !(eff & BIT(8)))
		skip();
}

static void test_apply(void **state)
{
	const uint64_t chown = BIT(0), kill = BIT(5), setpcap = BIT(8), nbs = BIT(10);
	struct caps_case c = {
	    .set =
		{
		    /* bit 63 is above any kernel's last cap: ignored */
		    .bounding = chown | kill | setpcap | nbs | BIT(63),
		    .permitted = chown | kill | nbs,
		    .effective = chown | nbs,
		    .inheritable = kill | nbs,
		    /* chown is not inheritable: skipped, as runc does */
		    .ambient = chown | nbs,
		},
	    .bnd = chown | kill | setpcap | nbs,
	    .eff = chown | nbs,
	    .prm = chown | kill | nbs,
	    .inh = kill | nbs,
	    .amb = nbs,
	};
	struct error err;

	skip_without_setpcap();
	assert_int_equal(in_child(apply_and_check, &c, &err), 0);
}

static void test_apply_empty(void **state)
{
	struct caps_case c = {0};
	struct error err;

	skip_without_setpcap();
	assert_int_equal(in_child(apply_and_check, &c, &err), 0);
}

/* A permitted cap outside the current permitted set cannot be gained: the error says so. */
static int apply_twice(const void *arg, struct error *err)
{
	struct spec_caps narrow = {.bounding = BIT(0), .permitted = BIT(0), .effective = BIT(0)};
	struct spec_caps wide = {.bounding = BIT(0), .permitted = BIT(0) | BIT(21)};

	if (caps_apply(&narrow, err) < 0)
		return 2;
	return caps_apply(&wide, err) < 0 ? 1 : 0;
}

static void test_apply_error(void **state)
{
	struct error err;

	skip_without_setpcap();
	assert_int_equal(in_child(apply_twice, NULL, &err), 1);
	assert_int_equal(err.code, EPERM);
	assert_string_equal(err.msg, "set capabilities: Operation not permitted");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_names),	cmocka_unit_test(test_last_cap),
	    cmocka_unit_test(test_apply),	cmocka_unit_test(test_apply_empty),
	    cmocka_unit_test(test_apply_error),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
