/* x86_insn_0fae: the 0f ae group for x86_emulate (see emulate-insn.h): ldmxcsr and stmxcsr
 * (kernel_fpu_begin), xsave, xsaveopt and xrstor (the FPU state of every task switch); the
 * state itself is done by xsave.c. 64-bit mode only, as Linux runs them. */
#include "vmm/x86/emulate-insn.h"

#include <string.h>

#define CR0_EM	    (1ULL << 2)
#define CR0_TS	    (1ULL << 3)
#define CR4_OSFXSR  (1ULL << 9)
#define XSAVE_ALIGN 64

/* Fetches the extended state into xio->buf. */
static int get_xstate(const struct x86_cpu *cpu, const struct x86_xstate_io *xio,
		      const struct x86_insn *in, const char *name, struct error *err)
{
	int r;

	if (!xio || !xio->buf || !xio->get)
		return x86_insn_refuse(cpu, in, name, "the accelerator gives no extended state",
				       err);
	r = xio->get(xio->opaque, xio->buf, err);
	if (r == 0)
		r = x86_xsave_check_layout(xio->buf, err);
	if (r < 0)
		return error_wrap(err, "%s at rip 0x%llx", name, (unsigned long long)cpu->rip);
	return 0;
}

/* A linear range of guest memory as host pieces, one per page. */
struct span {
	uint8_t *p[3]; /* X86_XSAVE_AREA_SIZE bytes reach at most 2 pages; one spare */
	uint32_t n[3];
};

/* Translates every page of [la, la + len) for access before any byte is touched, so that a
 * fault leaves memory as it was. 1: the fault is in act. */
static int map_range(struct x86_cpu *cpu, const struct x86_phys_mem *mem, const struct x86_insn *in,
		     uint64_t la, uint32_t len, unsigned access, struct x86_emu_action *act,
		     struct span *ret, struct error *err)
{
	uint64_t gpa = 0;
	uint32_t n;
	int r;

	memset(ret, 0, sizeof(*ret));
	for (unsigned k = 0; len > 0; k++, la += n, len -= n) {
		n = (uint32_t)(X86_PAGE_SIZE - (la & (X86_PAGE_SIZE - 1)));
		n = n < len ? n : len;
		if (k == 3)
			return x86_insn_refuse(cpu, in, act->what, "the operand is too large", err);
		r = x86_insn_operand_gpa(cpu, mem, la, access, act, &gpa, err);
		if (r != 0)
			return r;
		ret->p[k] = mem->map(mem->opaque, gpa, n);
		if (!ret->p[k])
			return x86_insn_refuse(cpu, in, act->what,
					       "the operand is not in guest RAM", err);
		ret->n[k] = n;
	}
	return 0;
}

static void span_copy(const struct span *s, uint8_t *buf, bool to_guest)
{
	for (unsigned k = 0; k < 3 && s->p[k]; buf += s->n[k], k++) {
		if (to_guest)
			memcpy(s->p[k], buf, s->n[k]);
		else
			memcpy(buf, s->p[k], s->n[k]);
	}
}

/* XRSTOR: the header first (it says which components are read), then those. */
static int xrstor(struct x86_cpu *cpu, const struct x86_phys_mem *mem, const struct x86_insn *in,
		  struct x86_xstate *xs, uint64_t rfbm, struct x86_emu_action *act,
		  struct error *err)
{
	uint8_t buf[X86_XSAVE_AREA_SIZE];
	struct span s;
	uint64_t bv;
	int r;

	r = map_range(cpu, mem, in, in->ea, X86_XSAVE_HEADER_END, X86_ACCESS_READ, act, &s, err);
	if (r != 0)
		return r;
	span_copy(&s, buf, false);
	memcpy(&bv, buf + X86_XSAVE_HEADER, sizeof(bv));
	r = map_range(cpu, mem, in, in->ea, x86_xsave_extent(xs, rfbm & bv), X86_ACCESS_READ, act,
		      &s, err);
	if (r != 0)
		return r;
	span_copy(&s, buf, false);
	if (x86_xsave_restore(xs, buf, rfbm, in->rex & X86_REX_W) < 0) {
		x86_insn_inject_error(act, X86_VEC_GP, 0);
		return 1;
	}
	act->xstate = xs;
	return 0;
}

/* XSAVE and XSAVEOPT (which may skip unmodified components: writing them is correct too). */
static int xsave(struct x86_cpu *cpu, const struct x86_phys_mem *mem, const struct x86_insn *in,
		 const struct x86_xstate *xs, uint64_t rfbm, struct x86_emu_action *act,
		 struct error *err)
{
	uint8_t buf[X86_XSAVE_AREA_SIZE];
	struct span s;
	int r;

	r = map_range(cpu, mem, in, in->ea, x86_xsave_extent(xs, rfbm), X86_ACCESS_WRITE, act, &s,
		      err);
	if (r != 0)
		return r;
	span_copy(&s, buf, false); /* the header's other bits and the gaps stay as they are */
	x86_xsave_save(xs, buf, rfbm, in->rex & X86_REX_W);
	span_copy(&s, buf, true);
	return 0;
}

/* xsave, xrstor, xsaveopt (0f ae /4 /5 /6, memory operand). */
static int emulate_xsave(struct x86_cpu *cpu, const struct x86_phys_mem *mem,
			 const struct x86_xstate_io *xio, struct x86_insn *in, const char *name,
			 struct x86_emu_action *act, struct error *err)
{
	struct x86_xstate *xs;
	uint64_t rfbm;
	int r;

	act->what = name;
	if (!x86_insn_long_mode(cpu))
		return x86_insn_refuse(cpu, in, name, "only 64-bit mode is supported", err);
	if (in->lock || !(cpu->cr4 & X86_CR4_OSXSAVE)) {
		x86_insn_inject(act, X86_EVENT_EXCEPTION, X86_VEC_UD);
		return 0;
	}
	if (cpu->cr0 & CR0_TS) {
		x86_insn_inject(act, X86_EVENT_EXCEPTION, X86_VEC_NM);
		return 0;
	}
	if (in->ea & (XSAVE_ALIGN - 1)) {
		x86_insn_inject_error(act, X86_VEC_GP, 0);
		return 0;
	}
	r = get_xstate(cpu, xio, in, name, err);
	if (r < 0)
		return r;
	xs = xio->buf;
	rfbm = (cpu->gpr[X86_RDX] << 32 | (cpu->gpr[X86_RAX] & 0xffffffffULL)) & xs->xcr0;
	if ((in->reg & 7) == 5)
		r = xrstor(cpu, mem, in, xs, rfbm, act, err);
	else
		r = xsave(cpu, mem, in, xs, rfbm, act, err);
	if (r == 0)
		x86_insn_advance(cpu, in);
	return r < 0 ? r : 0;
}

/* stmxcsr m32: the store, one page. */
static int store32(struct x86_cpu *cpu, const struct x86_phys_mem *mem, const struct x86_insn *in,
		   uint32_t v, struct x86_emu_action *act, struct error *err)
{
	uint64_t gpa = 0;
	void *p;
	int r;

	if ((in->ea & (X86_PAGE_SIZE - 1)) + 4 > X86_PAGE_SIZE)
		return x86_insn_refuse(cpu, in, act->what, "the operand crosses a page", err);
	r = x86_insn_operand_gpa(cpu, mem, in->ea, X86_ACCESS_WRITE, act, &gpa, err);
	if (r != 0)
		return r;
	p = mem->map(mem->opaque, gpa, 4);
	if (!p)
		return x86_insn_refuse(cpu, in, act->what, "the operand is not in guest RAM", err);
	memcpy(p, &v, 4);
	return 0;
}

/* ldmxcsr m32 (0f ae /2) and stmxcsr m32 (0f ae /3). */
static int emulate_mxcsr(struct x86_cpu *cpu, const struct x86_phys_mem *mem,
			 const struct x86_xstate_io *xio, struct x86_insn *in, const char *name,
			 struct x86_emu_action *act, struct error *err)
{
	uint64_t v = 0;
	int r;

	act->what = name;
	if (!x86_insn_long_mode(cpu))
		return x86_insn_refuse(cpu, in, name, "only 64-bit mode is supported", err);
	if (in->lock || (cpu->cr0 & CR0_EM) || !(cpu->cr4 & CR4_OSFXSR)) {
		x86_insn_inject(act, X86_EVENT_EXCEPTION, X86_VEC_UD);
		return 0;
	}
	if (cpu->cr0 & CR0_TS) {
		x86_insn_inject(act, X86_EVENT_EXCEPTION, X86_VEC_NM);
		return 0;
	}
	r = get_xstate(cpu, xio, in, name, err);
	if (r == 0 && (in->reg & 7) == 2)
		r = x86_insn_read(cpu, mem, in, 4, act, &v, err);
	else if (r == 0)
		r = store32(cpu, mem, in, x86_xsave_mxcsr(xio->buf), act, err);
	if (r != 0)
		return r < 0 ? r : 0;
	if ((in->reg & 7) == 2 && x86_xsave_set_mxcsr(xio->buf, (uint32_t)v) < 0) {
		x86_insn_inject_error(act, X86_VEC_GP, 0);
		return 0;
	}
	act->xstate = (in->reg & 7) == 2 ? xio->buf : NULL;
	x86_insn_advance(cpu, in);
	return 0;
}

int x86_insn_0fae(struct x86_cpu *cpu, const struct x86_phys_mem *mem,
		  const struct x86_xstate_io *xs, struct x86_insn *in, struct x86_emu_action *act,
		  struct error *err)
{
	static const char *const names[8] = {
	    [2] = "ldmxcsr", [3] = "stmxcsr", [4] = "xsave", [5] = "xrstor", [6] = "xsaveopt"};
	const char *name = names[in->reg & 7];

	/* mod 3 is lfence/mfence/sfence or the fs/gs base instructions; 66/f3 select
	 * others (clwb, ptwrite, ...): none reaches here from Linux. */
	if (!name || in->mod == 3 || in->opsize || in->rep || in->repne)
		return x86_insn_refuse(cpu, in, "instruction", "not one the monitor emulates", err);
	if ((in->reg & 7) <= 3)
		return emulate_mxcsr(cpu, mem, xs, in, name, act, err);
	return emulate_xsave(cpu, mem, xs, in, name, act, err);
}
