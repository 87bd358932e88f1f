/* cgroup_devices: see cgroup-devices.h; also cgroup_default_device_rules/cgroup_device_rules. */
#include "runtime/cgroup-devices.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "runtime/cgroup.h"
#include "util/cleanup.h"

#define RULE_INSNS   8	/* the longest block emit_rule writes */
#define PROLOGUE     6	/* instructions before the first rule */
#define MAX_ATTACHED 64 /* programs we expect to find on one cgroup */
#define BPF_LOG_SIZE 65536

static const struct spec_device_rule default_rules[] = {
    {.allow = true, .type = 'c', .major = -1, .minor = -1, .access = "m"},
    {.allow = true, .type = 'b', .major = -1, .minor = -1, .access = "m"},
    {.allow = true, .type = 'c', .major = 1, .minor = 3, .access = "rwm"},    /* null */
    {.allow = true, .type = 'c', .major = 1, .minor = 8, .access = "rwm"},    /* random */
    {.allow = true, .type = 'c', .major = 1, .minor = 7, .access = "rwm"},    /* full */
    {.allow = true, .type = 'c', .major = 5, .minor = 0, .access = "rwm"},    /* tty */
    {.allow = true, .type = 'c', .major = 1, .minor = 5, .access = "rwm"},    /* zero */
    {.allow = true, .type = 'c', .major = 1, .minor = 9, .access = "rwm"},    /* urandom */
    {.allow = true, .type = 'c', .major = 136, .minor = -1, .access = "rwm"}, /* pts/N */
    {.allow = true, .type = 'c', .major = 5, .minor = 2, .access = "rwm"},    /* ptmx */
    {.allow = true, .type = 'c', .major = 10, .minor = 200, .access = "rwm"}, /* net/tun */
};

const struct spec_device_rule *cgroup_default_device_rules(size_t *ret_n)
{
	*ret_n = ARRAY_SIZE(default_rules);
	return default_rules;
}

int cgroup_device_rules(const struct spec *spec, struct spec_device_rule **ret, size_t *ret_n,
			struct error *err)
{
	const struct spec_resources *res = &spec->resources;
	struct spec_device_rule *v;
	size_t n = 0;

	v = calloc(1 + res->n_devices + spec->n_devices + ARRAY_SIZE(default_rules), sizeof(*v));
	if (!v)
		return error_set(err, ENOMEM, "device rules: out of memory");
	v[n++] = (struct spec_device_rule){.type = 'a', .major = -1, .minor = -1, .access = "rwm"};
	for (size_t i = 0; i < res->n_devices; i++)
		v[n++] = res->devices[i];
	for (size_t i = 0; i < spec->n_devices; i++) {
		const struct spec_device *d = &spec->devices[i];

		if (d->type != 'c' && d->type != 'u' && d->type != 'b')
			continue;
		v[n++] = (struct spec_device_rule){.allow = true,
						   .type = d->type == 'b' ? 'b' : 'c',
						   .major = d->major,
						   .minor = d->minor,
						   .access = "rwm"};
	}
	memcpy(v + n, default_rules, sizeof(default_rules));
	*ret = v;
	*ret_n = n + ARRAY_SIZE(default_rules);
	return 0;
}

void cgroup_devices_v1_line(const struct spec_device_rule *rule, char *buf, size_t size)
{
	char maj[24] = "*", min[24] = "*";

	if (rule->type == 'a') {
		snprintf(buf, size, "a");
		return;
	}
	if (rule->major >= 0)
		snprintf(maj, sizeof(maj), "%" PRId64, rule->major);
	if (rule->minor >= 0)
		snprintf(min, sizeof(min), "%" PRId64, rule->minor);
	snprintf(buf, size, "%c %s:%s %s", rule->type, maj, min, rule->access);
}

/* ---- what the v1 controller would hold after the rules: a default and exceptions ---- */

struct devex {
	int type; /* BPF_DEVCG_DEV_CHAR or BPF_DEVCG_DEV_BLOCK */
	int64_t major, minor;
	unsigned int access; /* BPF_DEVCG_ACC_* bits */
};

static unsigned int access_bits(const char *access)
{
	unsigned int bits = 0;

	for (const char *a = access; *a; a++)
		bits |= *a == 'r'   ? BPF_DEVCG_ACC_READ
			: *a == 'w' ? BPF_DEVCG_ACC_WRITE
			: *a == 'm' ? BPF_DEVCG_ACC_MKNOD
				    : 0;
	return bits;
}

static bool same_dev(const struct devex *a, const struct devex *b)
{
	return a->type == b->type && a->major == b->major && a->minor == b->minor;
}

static void add_exception(struct devex *v, size_t *n, const struct devex *ex)
{
	for (size_t i = 0; i < *n; i++) {
		if (same_dev(&v[i], ex)) {
			v[i].access |= ex->access;
			return;
		}
	}
	v[(*n)++] = *ex;
}

static void remove_exception(struct devex *v, size_t *n, const struct devex *ex)
{
	for (size_t i = 0; i < *n; i++) {
		if (!same_dev(&v[i], ex))
			continue;
		v[i].access &= ~ex->access;
		if (v[i].access == 0) {
			memmove(&v[i], &v[i + 1], (*n - i - 1) * sizeof(*v));
			(*n)--;
		}
		return;
	}
}

/* v[] has room for n entries; a new cgroup starts as allow-all. */
static void emulate(const struct spec_device_rule *rules, size_t n, bool *ret_allow,
		    struct devex *v, size_t *ret_n)
{
	bool allow = true;
	size_t nv = 0;

	for (size_t i = 0; i < n; i++) {
		const struct spec_device_rule *r = &rules[i];
		struct devex ex = {.type =
				       r->type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR,
				   .major = r->major,
				   .minor = r->minor,
				   .access = access_bits(r->access)};

		if (r->type == 'a') {
			allow = r->allow;
			nv = 0;
		} else if (r->allow == allow) {
			remove_exception(v, &nv, &ex);
		} else if (ex.access) {
			add_exception(v, &nv, &ex);
		}
	}
	*ret_allow = allow;
	*ret_n = nv;
}

/* ---- the eBPF program ---- */

static struct bpf_insn insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm)
{
	return (struct bpf_insn){
	    .code = code, .dst_reg = dst, .src_reg = src, .off = off, .imm = imm};
}

#define LDX_W(dst, off)	      insn(BPF_LDX | BPF_W | BPF_MEM, dst, BPF_REG_1, off, 0)
#define ALU32_K(op, dst, imm) insn(BPF_ALU | (op) | BPF_K, dst, 0, 0, imm)
#define MOV32_X(dst, src)     insn(BPF_ALU | BPF_MOV | BPF_X, dst, src, 0, 0)
#define JMP32_K(op, dst, imm) insn(BPF_JMP32 | (op) | BPF_K, dst, 0, 0, imm)
#define MOV64_K(dst, imm)     insn(BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm)
#define EXIT()		      insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)

/* R2 = device type, R3 = requested access, R4 = major, R5 = minor (struct bpf_cgroup_dev_ctx). */
static size_t emit_prologue(struct bpf_insn *p)
{
	p[0] = LDX_W(BPF_REG_2, offsetof(struct bpf_cgroup_dev_ctx, access_type));
	p[1] = ALU32_K(BPF_AND, BPF_REG_2, 0xffff);
	p[2] = LDX_W(BPF_REG_3, offsetof(struct bpf_cgroup_dev_ctx, access_type));
	p[3] = ALU32_K(BPF_RSH, BPF_REG_3, 16);
	p[4] = LDX_W(BPF_REG_4, offsetof(struct bpf_cgroup_dev_ctx, major));
	p[5] = LDX_W(BPF_REG_5, offsetof(struct bpf_cgroup_dev_ctx, minor));
	return PROLOGUE;
}

/* One exception: if it matches, return the opposite of the default; else fall through.
 * Allow exceptions must cover every requested bit (as v1's match_exception); deny exceptions
 * match when they share any (as v1's match_exception_partial). */
static size_t emit_rule(struct bpf_insn *p, const struct devex *ex, bool default_allow)
{
	size_t k = 0;

	p[k++] = JMP32_K(BPF_JNE, BPF_REG_2, ex->type);
	if (ex->major >= 0)
		p[k++] = JMP32_K(BPF_JNE, BPF_REG_4, (int32_t)(uint32_t)ex->major);
	if (ex->minor >= 0)
		p[k++] = JMP32_K(BPF_JNE, BPF_REG_5, (int32_t)(uint32_t)ex->minor);
	p[k++] = MOV32_X(BPF_REG_1, BPF_REG_3);
	if (default_allow) {
		p[k++] = ALU32_K(BPF_AND, BPF_REG_1, (int32_t)ex->access);
		p[k++] = JMP32_K(BPF_JEQ, BPF_REG_1, 0);
	} else {
		p[k++] = ALU32_K(BPF_AND, BPF_REG_1, (int32_t)(~ex->access & 0xffff));
		p[k++] = JMP32_K(BPF_JNE, BPF_REG_1, 0);
	}
	p[k++] = MOV64_K(BPF_REG_0, default_allow ? 0 : 1);
	p[k++] = EXIT();
	/* every conditional jump leaves the block */
	for (size_t i = 0; i < k; i++) {
		if (BPF_CLASS(p[i].code) == BPF_JMP32)
			p[i].off = (int16_t)(k - i - 1);
	}
	return k;
}

int cgroup_devices_bpf_build(const struct spec_device_rule *rules, size_t n, struct bpf_insn **ret,
			     size_t *ret_n, struct error *err)
{
	cleanup_free struct devex *ex = NULL;
	cleanup_free struct bpf_insn *p = NULL;
	size_t n_ex = 0, len;
	bool allow;

	if (n > CGROUP_DEVICES_MAX_RULES)
		return error_set(err, E2BIG, "devices: %zu rules, at most %d", n,
				 CGROUP_DEVICES_MAX_RULES);
	ex = calloc(n ? n : 1, sizeof(*ex));
	if (!ex)
		return error_set(err, ENOMEM, "devices: out of memory");
	emulate(rules, n, &allow, ex, &n_ex);
	p = calloc(PROLOGUE + n_ex * RULE_INSNS + 2, sizeof(*p));
	if (!p)
		return error_set(err, ENOMEM, "devices: out of memory");
	len = emit_prologue(p);
	for (size_t i = 0; i < n_ex; i++)
		len += emit_rule(p + len, &ex[i], allow);
	p[len++] = MOV64_K(BPF_REG_0, allow ? 1 : 0);
	p[len++] = EXIT();
	*ret = TAKE_PTR(p);
	*ret_n = len;
	return 0;
}

static int sys_bpf(int cmd, union bpf_attr *attr)
{
	return (int)syscall(SYS_bpf, cmd, attr, sizeof(*attr));
}

/* The verifier's last complaint, for the error message. */
static void verifier_tail(const struct bpf_insn *insns, size_t n, char *out, size_t size)
{
	cleanup_free char *log = calloc(1, BPF_LOG_SIZE);
	union bpf_attr attr;
	char *end, *line;
	int fd;

	out[0] = '\0';
	if (!log)
		return;
	memset(&attr, 0, sizeof(attr));
	attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
	attr.insns = (uint64_t)(uintptr_t)insns;
	attr.insn_cnt = (uint32_t)n;
	attr.license = (uint64_t)(uintptr_t) "GPL";
	attr.log_level = 1;
	attr.log_buf = (uint64_t)(uintptr_t)log;
	attr.log_size = BPF_LOG_SIZE;
	fd = sys_bpf(BPF_PROG_LOAD, &attr);
	if (fd >= 0) {
		close(fd);
		return;
	}
	end = log + strnlen(log, BPF_LOG_SIZE - 1);
	while (end > log && end[-1] == '\n')
		*--end = '\0';
	line = strrchr(log, '\n');
	snprintf(out, size, " (%s)", line ? line + 1 : log);
}

int cgroup_devices_bpf_load(const struct bpf_insn *insns, size_t n, struct error *err)
{
	union bpf_attr attr;
	char why[256];
	int fd, saved;

	memset(&attr, 0, sizeof(attr));
	attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
	attr.insns = (uint64_t)(uintptr_t)insns;
	attr.insn_cnt = (uint32_t)n;
	attr.license = (uint64_t)(uintptr_t) "GPL";
	fd = sys_bpf(BPF_PROG_LOAD, &attr);
	if (fd >= 0)
		return fd;
	if (errno != EINVAL && errno != EACCES)
		return error_errno(err, "devices: load eBPF program");
	saved = errno;
	verifier_tail(insns, n, why, sizeof(why));
	return error_set(err, saved, "devices: load eBPF program: rejected by the verifier%s", why);
}

static int query(int cgfd, uint32_t *ids, uint32_t *ret_n, const char *dir, struct error *err)
{
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.query.target_fd = (uint32_t)cgfd;
	attr.query.attach_type = BPF_CGROUP_DEVICE;
	attr.query.prog_ids = (uint64_t)(uintptr_t)ids;
	attr.query.prog_cnt = ids ? MAX_ATTACHED : 0;
	if (sys_bpf(BPF_PROG_QUERY, &attr) < 0)
		return error_errno(err, "devices: query eBPF programs of %s", dir);
	*ret_n = attr.query.prog_cnt;
	return 0;
}

static int detach_id(int cgfd, uint32_t id, const char *dir, struct error *err)
{
	cleanup_fd int pfd = -1;
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.prog_id = id;
	pfd = sys_bpf(BPF_PROG_GET_FD_BY_ID, &attr);
	if (pfd < 0)
		return errno == ENOENT ? 0 : error_errno(err, "devices: eBPF program %u", id);
	memset(&attr, 0, sizeof(attr));
	attr.target_fd = (uint32_t)cgfd;
	attr.attach_bpf_fd = (uint32_t)pfd;
	attr.attach_type = BPF_CGROUP_DEVICE;
	if (sys_bpf(BPF_PROG_DETACH, &attr) < 0 && errno != ENOENT)
		return error_errno(err, "devices: detach old eBPF program %u from %s", id, dir);
	return 0;
}

int cgroup_devices_bpf_attach(const char *dir, int prog_fd, struct error *err)
{
	uint32_t ids[MAX_ATTACHED], n_old = 0;
	cleanup_fd int cgfd = -1;
	union bpf_attr attr;
	int r;

	cgfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cgfd < 0)
		return error_errno(err, "open %s", dir);
	r = query(cgfd, ids, &n_old, dir, err);
	if (r < 0)
		return r;
	memset(&attr, 0, sizeof(attr));
	attr.target_fd = (uint32_t)cgfd;
	attr.attach_bpf_fd = (uint32_t)prog_fd;
	attr.attach_type = BPF_CGROUP_DEVICE;
	attr.attach_flags = BPF_F_ALLOW_MULTI;
	if (sys_bpf(BPF_PROG_ATTACH, &attr) < 0)
		return error_errno(err, "devices: attach eBPF program to %s", dir);
	for (uint32_t i = 0; i < n_old && i < MAX_ATTACHED; i++) {
		r = detach_id(cgfd, ids[i], dir, err);
		if (r < 0)
			return r;
	}
	return 0;
}

int cgroup_devices_bpf_count(const char *dir, struct error *err)
{
	cleanup_fd int cgfd = -1;
	uint32_t n = 0;
	int r;

	cgfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cgfd < 0)
		return error_errno(err, "open %s", dir);
	r = query(cgfd, NULL, &n, dir, err);
	return r < 0 ? r : (int)n;
}
