/* Unit tests for runtime/cgroup-devices.c: the device rules, their v1 lines and the cgroup v2
 * eBPF program. The program is checked by running it in a small interpreter here (no kernel);
 * one test loads it into the kernel and one attaches it to a cgroup of this machine's (empty)
 * cgroup2 hierarchy at /sys/fs/cgroup/unified, both skipping where that is not possible.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "runtime/cgroup-devices.h"
#include "runtime/cgroup.h"
#include "util/cleanup.h"

#define C   BPF_DEVCG_DEV_CHAR
#define B   BPF_DEVCG_DEV_BLOCK
#define R   BPF_DEVCG_ACC_READ
#define W   BPF_DEVCG_ACC_WRITE
#define M   BPF_DEVCG_ACC_MKNOD
#define ANY (-1)

#define RULE(a, t, maj, min, acc)                                                                  \
	{                                                                                          \
		.allow = (a), .type = (t), .major = (maj), .minor = (min), .access = acc           \
	}

struct prog {
	struct bpf_insn *insns;
	size_t n;
};

static struct prog build(const struct spec_device_rule *rules, size_t n)
{
	struct error err = {0};
	struct prog p = {0};

	if (cgroup_devices_bpf_build(rules, n, &p.insns, &p.n, &err) < 0)
		fail_msg("%s", err.msg);
	return p;
}

/* Runs the program the way the kernel would for one access; only the opcodes build() emits. */
static int run(const struct prog *p, int type, int access, uint32_t major, uint32_t minor)
{
	struct bpf_cgroup_dev_ctx ctx = {
	    .access_type = (uint32_t)(access << 16 | type), .major = major, .minor = minor};
	uint64_t r[MAX_BPF_REG] = {[BPF_REG_1] = (uintptr_t)&ctx};

	for (size_t pc = 0; pc < p->n; pc++) {
		const struct bpf_insn *i = &p->insns[pc];
		uint32_t imm = (uint32_t)i->imm;

		assert_true(i->off >= 0); /* never backwards: no loops */
		switch (i->code) {
		case BPF_LDX | BPF_W | BPF_MEM:
			assert_int_equal(i->src_reg, BPF_REG_1);
			assert_true(i->off >= 0 && (size_t)i->off + 4 <= sizeof(ctx));
			memcpy(&imm, (char *)&ctx + i->off, 4);
			r[i->dst_reg] = imm;
			break;
		case BPF_ALU | BPF_AND | BPF_K:
			r[i->dst_reg] = (uint32_t)r[i->dst_reg] & imm;
			break;
		case BPF_ALU | BPF_RSH | BPF_K:
			r[i->dst_reg] = (uint32_t)r[i->dst_reg] >> imm;
			break;
		case BPF_ALU | BPF_MOV | BPF_X:
			r[i->dst_reg] = (uint32_t)r[i->src_reg];
			break;
		case BPF_ALU64 | BPF_MOV | BPF_K:
			r[i->dst_reg] = (uint64_t)(int64_t)i->imm;
			break;
		case BPF_JMP32 | BPF_JNE | BPF_K:
			pc += (uint32_t)r[i->dst_reg] != imm ? (size_t)i->off : 0;
			break;
		case BPF_JMP32 | BPF_JEQ | BPF_K:
			pc += (uint32_t)r[i->dst_reg] == imm ? (size_t)i->off : 0;
			break;
		case BPF_JMP | BPF_EXIT:
			return (int)r[BPF_REG_0];
		default:
			fail_msg("unexpected opcode 0x%02x at %zu", i->code, pc);
		}
		assert_true(pc < p->n);
	}
	fail_msg("ran off the end of the program");
	return -1;
}

static void test_v1_lines(void **state)
{
	static const struct spec_device_rule rules[] = {
	    RULE(false, 'a', ANY, ANY, "rwm"), RULE(true, 'c', 1, 3, "rwm"),
	    RULE(true, 'b', ANY, ANY, "m"),    RULE(true, 'c', 136, ANY, "rw"),
	    RULE(true, 'c', ANY, 7, "r"),      RULE(true, 'b', 4294967295, 0, "w"),
	};
	static const char *const want[] = {"a",		 "c 1:3 rwm", "b *:* m",
					   "c 136:* rw", "c *:7 r",   "b 4294967295:0 w"};
	char buf[64];

	for (size_t i = 0; i < ARRAY_SIZE(rules); i++) {
		cgroup_devices_v1_line(&rules[i], buf, sizeof(buf));
		assert_string_equal(buf, want[i]);
	}
}

static void test_device_rules(void **state)
{
	struct spec_device_rule res_rules[] = {RULE(true, 'b', 8, 0, "r")};
	struct spec_device devs[] = {
	    {.path = (char *)"/dev/fuse", .type = 'c', .major = 10, .minor = 229},
	    {.path = (char *)"/dev/fifo", .type = 'p'},
	    {.path = (char *)"/dev/sda", .type = 'b', .major = 8, .minor = 0},
	    {.path = (char *)"/dev/ttyX", .type = 'u', .major = 4, .minor = 7},
	};
	struct spec spec = {.devices = devs, .n_devices = ARRAY_SIZE(devs)};
	cleanup_free struct spec_device_rule *v = NULL;
	const struct spec_device_rule *defs;
	struct error err = {0};
	size_t n = 0, n_defs = 0;
	struct prog p;

	spec.resources.devices = res_rules;
	spec.resources.n_devices = 1;
	defs = cgroup_default_device_rules(&n_defs);
	assert_true(n_defs >= 10);
	assert_int_equal(cgroup_device_rules(&spec, &v, &n, &err), 0);
	assert_int_equal(n, 1 + 1 + 3 + n_defs);
	assert_int_equal(v[0].type, 'a');
	assert_false(v[0].allow);
	assert_int_equal(v[1].major, 8);
	assert_true(v[2].allow && v[2].type == 'c' && v[2].major == 10 && v[2].minor == 229);
	assert_true(v[3].type == 'b' && v[3].major == 8);
	assert_true(v[4].type == 'c' && v[4].major == 4 && v[4].minor == 7);
	assert_string_equal(v[4].access, "rwm");
	assert_memory_equal(v + 5, defs, n_defs * sizeof(*defs));

	/* what the defaults let through */
	p = build(v, n);
	assert_int_equal(run(&p, C, R | W, 1, 3), 1);	 /* null */
	assert_int_equal(run(&p, C, R, 1, 5), 1);	 /* zero */
	assert_int_equal(run(&p, C, R | W, 136, 9), 1);	 /* pts/9 */
	assert_int_equal(run(&p, C, R | W, 5, 2), 1);	 /* ptmx */
	assert_int_equal(run(&p, C, R | W, 10, 229), 1); /* fuse, from linux.devices */
	assert_int_equal(run(&p, C, M, 4, 1), 1);	 /* mknod of any char device */
	assert_int_equal(run(&p, C, R, 4, 1), 0);	 /* but not tty1 itself */
	assert_int_equal(run(&p, C, R, 1, 1), 0);	 /* /dev/mem */
	assert_int_equal(run(&p, C, R, 10, 237), 0);	 /* loop-control */
	assert_int_equal(run(&p, B, R, 8, 0), 1);
	assert_int_equal(run(&p, B, R, 8, 16), 0);
	free(p.insns);
}

static void test_bpf_deny_all_allow_one(void **state)
{
	static const struct spec_device_rule rules[] = {
	    RULE(false, 'a', ANY, ANY, "rwm"),
	    RULE(true, 'c', 1, 3, "rwm"),
	};
	struct prog p = build(rules, ARRAY_SIZE(rules));

	assert_int_equal(run(&p, C, R, 1, 3), 1);
	assert_int_equal(run(&p, C, R | W | M, 1, 3), 1);
	assert_int_equal(run(&p, C, R, 1, 5), 0);
	assert_int_equal(run(&p, C, R, 2, 3), 0);
	assert_int_equal(run(&p, B, R, 1, 3), 0);
	/* the shape: prologue, one block of 8, default deny */
	assert_int_equal(p.n, 6 + 8 + 2);
	assert_int_equal(p.insns[0].code, BPF_LDX | BPF_W | BPF_MEM);
	assert_int_equal(p.insns[p.n - 2].imm, 0);
	assert_int_equal(p.insns[p.n - 1].code, BPF_JMP | BPF_EXIT);
	free(p.insns);

	/* no rules at all: allow everything, as a cgroup without a program */
	p = build(NULL, 0);
	assert_int_equal(p.n, 6 + 2);
	assert_int_equal(run(&p, B, R | W, 8, 0), 1);
	free(p.insns);
}

/* The program decides as the v1 controller would after the same writes. */
static void test_bpf_v1_semantics(void **state)
{
	static const struct spec_device_rule partial[] = {
	    RULE(false, 'a', ANY, ANY, "rwm"), RULE(true, 'c', 1, 3, "rw"),
	    RULE(true, 'c', ANY, ANY, "m"),
	    RULE(false, 'c', 1, 3, "w"), /* takes w away from the equal exception */
	};
	static const struct spec_device_rule denylist[] = {
	    RULE(false, 'c', 1, 5, "w"), /* allow-all by default: a deny exception */
	    RULE(false, 'b', ANY, ANY, "rwm"),
	    RULE(true, 'b', ANY, ANY, "r"), /* gives r back to the equal exception */
	};
	static const struct spec_device_rule reset[] = {
	    RULE(false, 'a', ANY, ANY, "rwm"),
	    RULE(true, 'c', 1, 3, "rwm"),
	    RULE(true, 'a', ANY, ANY, "rwm"), /* allow all, exceptions dropped */
	    RULE(false, 'c', 4, ANY, "rwm"),
	};
	static const struct spec_device_rule big[] = {
	    RULE(false, 'a', ANY, ANY, "rwm"),
	    RULE(true, 'c', 4294967295, 4294967295, "r"),
	};
	struct prog p = build(partial, ARRAY_SIZE(partial));

	assert_int_equal(run(&p, C, R, 1, 3), 1);
	assert_int_equal(run(&p, C, W, 1, 3), 0);
	assert_int_equal(run(&p, C, R | W, 1, 3), 0);
	assert_int_equal(run(&p, C, M, 1, 3), 1);
	assert_int_equal(run(&p, C, R | M, 1, 3), 0); /* one exception must cover all of it */
	assert_int_equal(run(&p, C, M, 7, 7), 1);
	free(p.insns);

	p = build(denylist, ARRAY_SIZE(denylist));
	assert_int_equal(run(&p, C, R, 1, 5), 1);
	assert_int_equal(run(&p, C, W, 1, 5), 0);
	assert_int_equal(run(&p, C, R | W, 1, 5), 0); /* any denied bit denies */
	assert_int_equal(run(&p, C, W, 1, 3), 1);
	assert_int_equal(run(&p, B, R, 8, 0), 1);
	assert_int_equal(run(&p, B, W, 8, 0), 0);
	free(p.insns);

	p = build(reset, ARRAY_SIZE(reset));
	assert_int_equal(run(&p, C, R, 1, 3), 1);
	assert_int_equal(run(&p, C, R, 1, 1), 1);
	assert_int_equal(run(&p, C, R, 4, 2), 0);
	free(p.insns);

	p = build(big, ARRAY_SIZE(big));
	assert_int_equal(run(&p, C, R, 4294967295u, 4294967295u), 1);
	assert_int_equal(run(&p, C, R, 4294967295u, 0), 0);
	free(p.insns);
}

static void test_bpf_too_many_rules(void **state)
{
	cleanup_free struct spec_device_rule *v = calloc(CGROUP_DEVICES_MAX_RULES + 1, sizeof(*v));
	struct bpf_insn *insns = NULL;
	struct error err = {0};
	size_t n = 0;

	assert_non_null(v);
	for (size_t i = 0; i <= CGROUP_DEVICES_MAX_RULES; i++)
		v[i] = (struct spec_device_rule)RULE(true, 'c', 1, (int64_t)i, "r");
	assert_int_equal(
	    cgroup_devices_bpf_build(v, CGROUP_DEVICES_MAX_RULES + 1, &insns, &n, &err), -E2BIG);
	assert_null(insns);
	assert_int_equal(cgroup_devices_bpf_build(v, CGROUP_DEVICES_MAX_RULES, &insns, &n, &err),
			 0);
	free(insns);
}

/* The kernel's verifier accepts what build() makes (root, bpf() available). */
static void test_bpf_load(void **state)
{
	cleanup_free struct spec_device_rule *v = NULL;
	struct spec spec = {0};
	struct error err = {0};
	size_t n = 0;
	struct prog p;
	int fd;

	assert_int_equal(cgroup_device_rules(&spec, &v, &n, &err), 0);
	p = build(v, n);
	fd = cgroup_devices_bpf_load(p.insns, p.n, &err);
	free(p.insns);
	if (fd == -EPERM || fd == -ENOSYS || fd == -EACCES)
		skip(); /* bpf() not allowed or not built in */
	if (fd < 0)
		fail_msg("%s", err.msg);
	close(fd);
}

/* ---- for real: a v2 cgroup in the hybrid layout's cgroup2 at /sys/fs/cgroup/unified ---- */

#define UNIFIED "/sys/fs/cgroup/unified"

struct real {
	char top[64]; /* "/vessel-test-<pid>" */
	pid_t child;
};

static int setup_real(void **state)
{
	struct real *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->top, sizeof(f->top), "/vessel-test-%d", (int)getpid());
	*state = f;
	return 0;
}

static int teardown_real(void **state)
{
	struct real *f = *state;
	char dir[128];

	if (f->child > 0) {
		kill(f->child, SIGKILL);
		waitpid(f->child, NULL, 0);
	}
	snprintf(dir, sizeof(dir), UNIFIED "%s/c1", f->top);
	for (int i = 0; i < 100 && rmdir(dir) < 0 && errno == EBUSY; i++)
		usleep(10000);
	snprintf(dir, sizeof(dir), UNIFIED "%s", f->top);
	rmdir(dir);
	free(f);
	return 0;
}

/* exit status: bit 0 /dev/null was refused, bit 1 /dev/zero was refused (EPERM) */
static int probe_child(void)
{
	int ret = 0;

	for (int i = 0; i < 2; i++) {
		int fd = open(i ? "/dev/zero" : "/dev/null", O_RDONLY | O_CLOEXEC);

		if (fd >= 0)
			close(fd);
		else if (errno == EPERM)
			ret |= 1 << i;
		else
			return 100 + errno;
	}
	return ret;
}

static int probe_in(struct real *f, struct cgroup *cg)
{
	struct error err = {0};
	int p[2], status;
	char c = 'x';

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	f->child = fork();
	assert_true(f->child >= 0);
	if (f->child == 0) {
		close(p[1]);
		_exit(read(p[0], &c, 1) == 1 ? probe_child() : 99);
	}
	close(p[0]);
	if (cgroup_enter(cg, f->child, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(write(p[1], &c, 1), 1);
	close(p[1]);
	assert_int_equal(waitpid(f->child, &status, 0), f->child);
	f->child = 0;
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static void test_real_v2_devices(void **state)
{
	struct real *f = *state;
	struct spec_device_rule only_null[] = {RULE(false, 'a', ANY, ANY, "rwm"),
					       RULE(true, 'c', 1, 3, "rwm")};
	struct spec_device_rule only_zero[] = {RULE(false, 'a', ANY, ANY, "rwm"),
					       RULE(true, 'c', 1, 5, "r")};
	struct spec_resources res = {.memory_limit = -1,
				     .memory_reservation = -1,
				     .memory_swap = -1,
				     .cpu_shares = -1,
				     .cpu_quota = -1,
				     .cpu_period = -1,
				     .cpu_realtime_runtime = -1,
				     .cpu_realtime_period = -1,
				     .pids_limit = -1,
				     .blkio_weight = -1};
	struct error err = {0};
	char path[96], dir[160];
	struct statfs sfs;
	struct cgroup *cg;
	int r;

	if (geteuid() != 0 || statfs(UNIFIED, &sfs) < 0 || sfs.f_type != CGROUP2_SUPER_MAGIC)
		skip(); /* needs root and a cgroup2 mount at /sys/fs/cgroup/unified */
	snprintf(path, sizeof(path), "%s/c1", f->top);
	snprintf(dir, sizeof(dir), UNIFIED "%s", path);
	cg = cgroup_create(UNIFIED, path, &err);
	if (!cg)
		fail_msg("%s", err.msg);
	res.devices = only_null;
	res.n_devices = ARRAY_SIZE(only_null);
	r = cgroup_apply(cg, &res, &err);
	if (r == -EPERM || r == -ENOSYS) {
		cgroup_free(cg);
		skip(); /* bpf() not allowed or not built in */
	}
	if (r < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(cgroup_devices_bpf_count(dir, &err), 1);
	assert_int_equal(probe_in(f, cg), 2); /* null opens, zero is refused */

	/* an update replaces the program: one attached, the new rules hold */
	res.devices = only_zero;
	if (cgroup_apply(cg, &res, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(cgroup_devices_bpf_count(dir, &err), 1);
	assert_int_equal(probe_in(f, cg), 1);
	assert_int_equal(cgroup_destroy(cg, &err), 0);
	cgroup_free(cg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_v1_lines),
	    cmocka_unit_test(test_device_rules),
	    cmocka_unit_test(test_bpf_deny_all_allow_one),
	    cmocka_unit_test(test_bpf_v1_semantics),
	    cmocka_unit_test(test_bpf_too_many_rules),
	    cmocka_unit_test(test_bpf_load),
	    cmocka_unit_test_setup_teardown(test_real_v2_devices, setup_real, teardown_real),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
