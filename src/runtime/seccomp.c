/* seccomp: see seccomp.h. The profile is checked and turned into libseccomp rules in one pass;
 * every rejection names its JSON path ("linux.seccomp.syscalls[3].args[0].op").
 *
 * Conventions (as in spec.c): get_*() look a key up and return 1 (present, stored), 0 (absent
 * or null) or -errno.
 */
#include "runtime/seccomp.h"

#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <seccomp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/json-read.h"
#include "util/log.h"

#define DOC		  "linux.seccomp"
#define SECCOMP_MAX_BYTES (4u << 20)
#define SECCOMP_MAX_DEPTH 16
#define SECCOMP_MAX_NAMES 4096 /* syscall names over all entries */
#define SECCOMP_MAX_ARCH  32
#define BPF_MAX_INSNS	  4096 /* the kernel's BPF_MAXINSNS */

struct seccomp_prog {
	scmp_filter_ctx ctx;
	char *listener_path;
	char *listener_metadata;
	uint32_t default_action;
	bool notify;
};

struct ctx {
	struct jreader r; /* paths name the profile's fields: no document prefix */
	struct seccomp_prog *p;
	size_t n_names;
};

#define ACT(n, v, r, api) "SCMP_ACT_" #n, v, r, api
static const struct {
	const char *name;
	uint32_t act;
	bool has_ret; /* takes errnoRet (default EPERM) */
	unsigned api; /* the libseccomp API level (kernel support) it needs */
} actions[] = {
    {ACT(KILL, SCMP_ACT_KILL_THREAD, false, 1)},
    {ACT(KILL_THREAD, SCMP_ACT_KILL_THREAD, false, 1)},
    {ACT(KILL_PROCESS, SCMP_ACT_KILL_PROCESS, false, 3)},
    {ACT(TRAP, SCMP_ACT_TRAP, false, 1)},
    {ACT(ERRNO, SCMP_ACT_ERRNO(0), true, 1)},
    {ACT(TRACE, SCMP_ACT_TRACE(0), true, 1)},
    {ACT(ALLOW, SCMP_ACT_ALLOW, false, 1)},
    {ACT(LOG, SCMP_ACT_LOG, false, 3)},
    {ACT(NOTIFY, SCMP_ACT_NOTIFY, false, 5)},
};

#define ARCH(n) "SCMP_ARCH_" #n, SCMP_ARCH_##n
static const struct {
	const char *name;
	uint32_t arch;
} arches[] = {
    {ARCH(X86)},	 {ARCH(X86_64)}, {ARCH(X32)},	    {ARCH(ARM)},     {ARCH(AARCH64)},
    {ARCH(MIPS)},	 {ARCH(MIPS64)}, {ARCH(MIPS64N32)}, {ARCH(MIPSEL)},  {ARCH(MIPSEL64)},
    {ARCH(MIPSEL64N32)}, {ARCH(PPC)},	 {ARCH(PPC64)},	    {ARCH(PPC64LE)}, {ARCH(S390)},
    {ARCH(S390X)},	 {ARCH(PARISC)}, {ARCH(PARISC64)},  {ARCH(RISCV64)},
};

/* attr 0: known to the spec, not supported by libseccomp 2.5 */
static const struct {
	const char *name;
	enum scmp_filter_attr attr;
} flags[] = {
    {"SECCOMP_FILTER_FLAG_TSYNC", SCMP_FLTATR_CTL_TSYNC},
    {"SECCOMP_FILTER_FLAG_LOG", SCMP_FLTATR_CTL_LOG},
    {"SECCOMP_FILTER_FLAG_SPEC_ALLOW", SCMP_FLTATR_CTL_SSB},
    {"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", 0},
};

#define CMP(n) "SCMP_CMP_" #n, SCMP_CMP_##n
static const struct {
	const char *name;
	enum scmp_compare op;
} ops[] = {
    {CMP(NE)}, {CMP(LT)}, {CMP(LE)}, {CMP(EQ)}, {CMP(GE)}, {CMP(GT)}, {CMP(MASKED_EQ)},
};

/* ---- profile parts ---- */

/* The action at base.<akey>, with its errno/trace value from base.<rkey> where it takes one. */
static int get_action(const struct ctx *c, json_object *o, const char *base, const char *akey,
		      const char *rkey, uint32_t *ret)
{
	struct jpath p;
	const char *name = NULL;
	uint64_t ret_val = EPERM;
	int r = jr_need(&c->r, jr_opt_cstr(&c->r, o, base, akey, &name), base, akey);

	if (r < 0)
		return r;
	for (size_t i = 0; i < ARRAY_SIZE(actions); i++) {
		if (strcmp(name, actions[i].name) != 0)
			continue;
		/* errnoRet next to an action that takes none is ignored, as runc does */
		if (actions[i].has_ret &&
		    (r = jr_opt_u64(&c->r, o, base, rkey, 0xffff, &ret_val)) < 0)
			return r;
		*ret = actions[i].act | (actions[i].has_ret ? (uint32_t)ret_val : 0);
		if (seccomp_api_get() < actions[i].api)
			return jr_fail(&c->r, jkey(&p, base, akey),
				       "%s is not supported by this kernel", name);
		return 0;
	}
	return jr_fail(&c->r, jkey(&p, base, akey), "unknown action \"%s\"", name);
}

static int add_arches(const struct ctx *c, json_object *o)
{
	struct jpath p;
	json_object *a = NULL;
	size_t n;
	int r = jr_opt_array(&c->r, o, DOC, "architectures", SECCOMP_MAX_ARCH, &a, &n);

	for (size_t i = 0; r > 0 && i < n; i++) {
		const char *name = NULL, *path = jidx(&p, DOC ".architectures", i);
		size_t k = 0;

		if ((r = jr_cstr(&c->r, json_object_array_get_idx(a, i), path, &name)) < 0)
			return r;
		while (k < ARRAY_SIZE(arches) && strcmp(name, arches[k].name) != 0)
			k++;
		if (k == ARRAY_SIZE(arches))
			return jr_fail(&c->r, path, "unknown architecture \"%s\"", name);
		r = seccomp_arch_add(c->p->ctx, arches[k].arch);
		if (r == -EDOM)
			return jr_fail(&c->r, path,
				       "%s cannot be mixed with the native architecture", name);
		if (r < 0 && r != -EEXIST)
			return error_set(c->r.err, -r, "%s: %s: %s", path, name, strerror(-r));
		r = 1;
	}
	return r < 0 ? r : 0;
}

static int set_flags(const struct ctx *c, json_object *o)
{
	struct jpath p;
	json_object *a = NULL;
	size_t n;
	int r = jr_opt_array(&c->r, o, DOC, "flags", ARRAY_SIZE(flags) * 4, &a, &n);

	for (size_t i = 0; r > 0 && i < n; i++) {
		const char *name = NULL, *path = jidx(&p, DOC ".flags", i);
		size_t k = 0;

		if ((r = jr_cstr(&c->r, json_object_array_get_idx(a, i), path, &name)) < 0)
			return r;
		while (k < ARRAY_SIZE(flags) && strcmp(name, flags[k].name) != 0)
			k++;
		if (k == ARRAY_SIZE(flags))
			return jr_fail(&c->r, path, "unknown flag \"%s\"", name);
		if (flags[k].attr == 0)
			return jr_fail(&c->r, path, "%s is not supported by libseccomp %u.%u", name,
				       SCMP_VER_MAJOR, SCMP_VER_MINOR);
		r = seccomp_attr_set(c->p->ctx, flags[k].attr, 1);
		if (r < 0)
			return error_set(c->r.err, -r, "%s: %s: %s", path, name, strerror(-r));
		r = 1;
	}
	return r < 0 ? r : 0;
}

static int dup_str(const struct ctx *c, const char *s, char **ret)
{
	if (!s)
		return 0;
	*ret = strdup(s);
	return *ret ? 0 : jr_oom(&c->r);
}

static int get_listener(const struct ctx *c, json_object *o)
{
	const char *path = NULL, *meta = NULL;
	struct jpath p;
	int r;

	if ((r = jr_opt_cstr(&c->r, o, DOC, "listenerPath", &path)) < 0)
		return r;
	if (path && !*path)
		return jr_fail(&c->r, jkey(&p, DOC, "listenerPath"), "must not be empty");
	if ((r = jr_opt_cstr(&c->r, o, DOC, "listenerMetadata", &meta)) < 0)
		return r;
	if ((r = dup_str(c, path, &c->p->listener_path)) < 0)
		return r;
	return dup_str(c, meta, &c->p->listener_metadata);
}

/* ---- syscall rules ---- */

static int parse_arg(const struct ctx *c, json_object *o, const char *base,
		     struct scmp_arg_cmp *ret)
{
	struct jpath p;
	uint64_t index = 0;
	const char *op = NULL;
	size_t k = 0;
	int r;

	if (!json_object_is_type(o, json_type_object))
		return jr_fail(&c->r, base, "must be an object");
	if ((r = jr_need(&c->r, jr_opt_u64(&c->r, o, base, "index", SECCOMP_MAX_ARGS - 1, &index),
			 base, "index")) < 0)
		return r;
	ret->arg = (unsigned)index;
	if ((r = jr_need(&c->r, jr_opt_u64(&c->r, o, base, "value", UINT64_MAX, &ret->datum_a),
			 base, "value")) < 0)
		return r;
	ret->datum_b = 0;
	if ((r = jr_opt_u64(&c->r, o, base, "valueTwo", UINT64_MAX, &ret->datum_b)) < 0)
		return r;
	if ((r = jr_need(&c->r, jr_opt_cstr(&c->r, o, base, "op", &op), base, "op")) < 0)
		return r;
	while (k < ARRAY_SIZE(ops) && strcmp(op, ops[k].name) != 0)
		k++;
	if (k == ARRAY_SIZE(ops))
		return jr_fail(&c->r, jkey(&p, base, "op"), "unknown operator \"%s\"", op);
	ret->op = ops[k].op;
	return 0;
}

/* Fills conds; *ret_split: an index repeats, so each condition becomes its own rule (OR). */
static int parse_args(const struct ctx *c, json_object *o, const char *base,
		      struct scmp_arg_cmp *conds, unsigned *ret_n, bool *ret_split)
{
	struct jpath p, e;
	json_object *a = NULL;
	unsigned seen = 0;
	size_t n;
	int r = jr_opt_array(&c->r, o, base, "args", SECCOMP_MAX_ARGS, &a, &n);

	*ret_split = false;
	*ret_n = (unsigned)n;
	jkey(&p, base, "args");
	for (size_t i = 0; r > 0 && i < n; i++) {
		r = parse_arg(c, json_object_array_get_idx(a, i), jidx(&e, p.s, i), &conds[i]);
		if (r < 0)
			return r;
		if (seen & (1u << conds[i].arg))
			*ret_split = true;
		seen |= 1u << conds[i].arg;
		r = 1;
	}
	return r < 0 ? r : 0;
}

static int add_rule(struct ctx *c, const char *path, const char *name, uint32_t act,
		    const struct scmp_arg_cmp *conds, unsigned n, bool split)
{
	int nr = seccomp_syscall_resolve_name(name);
	int r = 0;

	if (nr == __NR_SCMP_ERROR) {
		log_debug("seccomp: skipping unknown syscall \"%s\"", name);
		return 0;
	}
	if (act == SCMP_ACT_NOTIFY)
		c->p->notify = true; /* seccomp_load() asks for a listener only now */
	if (!split)
		r = seccomp_rule_add_array(c->p->ctx, act, nr, n, conds);
	for (unsigned i = 0; split && r >= 0 && i < n; i++)
		r = seccomp_rule_add_array(c->p->ctx, act, nr, 1, &conds[i]);
	if (r < 0)
		return error_set(c->r.err, -r, "%s: add rule for \"%s\": %s", path, name,
				 strerror(-r));
	return 0;
}

static int add_names(struct ctx *c, json_object *o, const char *base, uint32_t act,
		     const struct scmp_arg_cmp *conds, unsigned n_conds, bool split)
{
	struct jpath p, e;
	json_object *a = NULL;
	size_t n;
	int r = jr_need(&c->r, jr_opt_array(&c->r, o, base, "names", SECCOMP_MAX_NAMES, &a, &n),
			base, "names");

	if (r < 0)
		return r;
	jkey(&p, base, "names");
	if (n > SECCOMP_MAX_NAMES - c->n_names)
		return jr_fail(&c->r, p.s, "too many syscall names in the profile (at most %d)",
			       SECCOMP_MAX_NAMES);
	c->n_names += n;
	for (size_t i = 0; i < n; i++) {
		const char *name = NULL, *path = jidx(&e, p.s, i);

		if ((r = jr_cstr(&c->r, json_object_array_get_idx(a, i), path, &name)) < 0)
			return r;
		if (act == SCMP_ACT_NOTIFY && (!strcmp(name, "write") || !strcmp(name, "sendmsg")))
			return jr_fail(&c->r, path, "SCMP_ACT_NOTIFY cannot be used for \"%s\"",
				       name);
		/* libseccomp refuses rules with the default action; they change nothing */
		if (act == c->p->default_action)
			continue;
		if ((r = add_rule(c, path, name, act, conds, n_conds, split)) < 0)
			return r;
	}
	return 0;
}

static int add_syscall(struct ctx *c, json_object *o, const char *base)
{
	struct scmp_arg_cmp conds[SECCOMP_MAX_ARGS];
	struct jpath p;
	unsigned n_conds = 0;
	bool split = false;
	uint32_t act = 0;
	int r;

	if (!json_object_is_type(o, json_type_object))
		return jr_fail(&c->r, base, "must be an object");
	if ((r = get_action(c, o, base, "action", "errnoRet", &act)) < 0)
		return r;
	if (act == SCMP_ACT_NOTIFY && !c->p->listener_path)
		return jr_fail(&c->r, jkey(&p, base, "action"),
			       "SCMP_ACT_NOTIFY requires linux.seccomp.listenerPath");
	if ((r = parse_args(c, o, base, conds, &n_conds, &split)) < 0)
		return r;
	return add_names(c, o, base, act, conds, n_conds, split);
}

static int add_syscalls(struct ctx *c, json_object *o)
{
	struct jpath p;
	json_object *a = NULL;
	size_t n;
	int r = jr_opt_array(&c->r, o, DOC, "syscalls", SECCOMP_MAX_SYSCALLS, &a, &n);

	for (size_t i = 0; r > 0 && i < n; i++)
		if ((r = add_syscall(c, json_object_array_get_idx(a, i),
				     jidx(&p, DOC ".syscalls", i))) >= 0)
			r = 1;
	return r < 0 ? r : 0;
}

/* Generates the BPF program now, so that one the kernel would refuse fails here. */
static int check_program(const struct ctx *c)
{
	cleanup_fd int fd = memfd_create("vessel-seccomp", MFD_CLOEXEC);
	struct stat st;
	int r;

	if (fd < 0)
		return 0; /* only a pre-check: seccomp_install() reports the same errors */
	r = seccomp_export_bpf(c->p->ctx, fd);
	if (r < 0)
		return error_set(c->r.err, -r, DOC ": generate the filter: %s", strerror(-r));
	if (fstat(fd, &st) < 0)
		return error_errno(c->r.err, DOC ": generate the filter");
	if ((size_t)st.st_size / 8 > BPF_MAX_INSNS)
		return error_set(c->r.err, E2BIG,
				 DOC ": the filter has %zu instructions, the kernel takes %d",
				 (size_t)st.st_size / 8, BPF_MAX_INSNS);
	return 0;
}

static int compile(struct ctx *c, json_object *o)
{
	struct seccomp_prog *p = c->p;
	int r;

	if ((r = get_action(c, o, DOC, "defaultAction", "defaultErrnoRet", &p->default_action)) < 0)
		return r;
	if (p->default_action == SCMP_ACT_NOTIFY)
		return jr_fail(&c->r, DOC ".defaultAction",
			       "SCMP_ACT_NOTIFY cannot be the default action");
	p->ctx = seccomp_init(p->default_action);
	if (!p->ctx)
		return error_set(c->r.err, EINVAL,
				 DOC ".defaultAction: not supported by the kernel");
	/* no_new_privs is the spec's business (process.noNewPrivileges), not the filter's;
	 * raw return codes keep EACCES from seccomp_load() instead of ECANCELED */
	if ((r = seccomp_attr_set(p->ctx, SCMP_FLTATR_CTL_NNP, 0)) < 0 ||
	    (r = seccomp_attr_set(p->ctx, SCMP_FLTATR_API_SYSRAWRC, 1)) < 0)
		return error_set(c->r.err, -r, DOC ": set filter attributes: %s", strerror(-r));
	/* a binary tree of syscall numbers: fewer instructions run per syscall (best effort) */
	seccomp_attr_set(p->ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
	if ((r = add_arches(c, o)) < 0 || (r = set_flags(c, o)) < 0 || (r = get_listener(c, o)) < 0)
		return r;
	if ((r = add_syscalls(c, o)) < 0)
		return r;
	return check_program(c);
}

struct seccomp_prog *seccomp_compile(const char *json, struct error *err)
{
	const struct jreader doc = {DOC, err};
	struct ctx c = {.r = {NULL, err}};
	json_object *o;
	int r;

	if (!json) {
		error_set(err, EINVAL, DOC ": no profile");
		return NULL;
	}
	if (jr_parse(&doc, json, strlen(json), SECCOMP_MAX_BYTES, SECCOMP_MAX_DEPTH, &o) < 0)
		return NULL;
	c.p = calloc(1, sizeof(*c.p));
	if (!c.p) {
		json_object_put(o);
		jr_oom(&c.r);
		return NULL;
	}
	r = compile(&c, o);
	json_object_put(o);
	if (r < 0) {
		seccomp_prog_free(c.p);
		return NULL;
	}
	return c.p;
}

int seccomp_install(struct seccomp_prog *p, int *ret_listener, struct error *err)
{
	int r, fd;

	if (ret_listener)
		*ret_listener = -1;
	if (p->notify && !ret_listener)
		return error_set(err, EINVAL, "seccomp: the profile needs a listener");
	r = seccomp_load(p->ctx);
	if (r == -EACCES)
		return error_set(
		    err, EACCES,
		    "seccomp: load filter: %s (needs noNewPrivileges or CAP_SYS_ADMIN)",
		    strerror(-r));
	if (r < 0)
		return error_set(err, -r, "seccomp: load filter: %s", strerror(-r));
	if (!p->notify)
		return 0;
	fd = seccomp_notify_fd(p->ctx);
	if (fd < 0)
		return error_set(err, fd == -1 ? EBADF : -fd, "seccomp: no notification fd");
	*ret_listener = fd;
	return 0;
}

bool seccomp_has_notify(const struct seccomp_prog *p)
{
	return p->notify;
}

const char *seccomp_listener_path(const struct seccomp_prog *p)
{
	return p->listener_path;
}

const char *seccomp_listener_metadata(const struct seccomp_prog *p)
{
	return p->listener_metadata;
}

void seccomp_prog_free(struct seccomp_prog *p)
{
	if (!p)
		return;
	if (p->ctx)
		seccomp_release(p->ctx);
	free(p->listener_path);
	free(p->listener_metadata);
	free(p);
}
