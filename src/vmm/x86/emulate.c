/* x86_emulate: see emulate.h */
#include "vmm/x86/emulate.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "vmm/x86/emulate-insn.h"

#define CR0_PE	  1ULL
#define EFER_LMA  (1ULL << 10)
#define CR0_MP_TS 0xaULL
#define SEG_NONE  0
#define SEG_FS	  1
#define SEG_GS	  2
#define RFLAGS_AC (1ULL << 18)

bool x86_insn_long_mode(const struct x86_cpu *cpu)
{
	return (cpu->efer & EFER_LMA) && cpu->cs_l;
}

static void paging_of(const struct x86_cpu *cpu, struct x86_paging *pg)
{
	*pg = (struct x86_paging){
	    .cr0 = cpu->cr0, .cr3 = cpu->cr3, .cr4 = cpu->cr4, .efer = cpu->efer, .cpl = cpu->cpl};
}

/* "f0 48 0f c7 4d 20" into buf. */
static const char *hex_bytes(const uint8_t *b, unsigned n, char *buf, size_t size)
{
	size_t off = 0;

	buf[0] = 0;
	for (unsigned i = 0; i < n && off + 4 < size; i++)
		off += (size_t)snprintf(buf + off, size - off, "%s%02x", i ? " " : "", b[i]);
	return n ? buf : "none readable";
}

/* Ends emulation: "cannot emulate WHAT at rip 0x...: WHY (bytes ...)". */
int x86_insn_refuse(const struct x86_cpu *cpu, const struct x86_insn *in, const char *what,
		    const char *why, struct error *err)
{
	char hex[3 * X86_INSN_MAX + 1];

	return error_set(err, ENOTSUP, "cannot emulate %s at rip 0x%llx: %s (bytes %s)", what,
			 (unsigned long long)cpu->rip, why,
			 hex_bytes(in->bytes, in->avail, hex, sizeof(hex)));
}

/* Fetches up to X86_INSN_MAX bytes at cs:rip through the guest's page tables. */
static int fetch(const struct x86_cpu *cpu, const struct x86_phys_mem *mem, struct x86_insn *in,
		 struct error *err)
{
	uint64_t linear =
	    x86_insn_long_mode(cpu) ? cpu->rip : (cpu->cs_base + cpu->rip) & 0xffffffffULL;
	struct x86_paging pg;
	uint64_t gpa = 0;
	const uint8_t *p;
	int r;

	paging_of(cpu, &pg);
	for (unsigned i = 0; i < X86_INSN_MAX; i++, linear++) {
		if (i == 0 || (linear & (X86_PAGE_SIZE - 1)) == 0) {
			r = x86_pagewalk(mem, &pg, linear, X86_ACCESS_FETCH, &gpa, NULL, err);
			if (r < 0 && i == 0)
				return error_wrap(err, "fetch the instruction at rip 0x%llx",
						  (unsigned long long)cpu->rip);
			if (r < 0)
				break;
		} else {
			gpa++;
		}
		p = mem->map(mem->opaque, gpa, 1);
		if (!p && i == 0)
			return error_set(err, EFAULT,
					 "fetch the instruction at rip 0x%llx: "
					 "physical address 0x%llx is not RAM",
					 (unsigned long long)cpu->rip, (unsigned long long)gpa);
		if (!p)
			break;
		in->bytes[i] = *p;
		in->avail = i + 1;
	}
	return 0;
}

static bool next(struct x86_insn *in, uint8_t *ret)
{
	if (in->len >= in->avail)
		return false;
	*ret = in->bytes[in->len++];
	return true;
}

/* Consumes the legacy and REX prefixes. */
static void decode_prefixes(const struct x86_cpu *cpu, struct x86_insn *in)
{
	for (; in->len < in->avail; in->len++) {
		uint8_t b = in->bytes[in->len];

		if (x86_insn_long_mode(cpu) && (b & 0xf0) == 0x40) {
			in->rex = b;
			continue;
		}
		switch (b) {
		case 0xf0:
			in->lock = true;
			break;
		case 0xf2:
			in->repne = true;
			break;
		case 0xf3:
			in->rep = true;
			break;
		case 0x66:
			in->opsize = true;
			break;
		case 0x67:
			in->addrsize = true;
			break;
		case 0x64:
			in->seg = SEG_FS;
			break;
		case 0x65:
			in->seg = SEG_GS;
			break;
		case 0x26:
		case 0x2e:
		case 0x36:
		case 0x3e:
			break; /* no base in 64-bit mode */
		default:
			return;
		}
		in->rex = 0; /* a REX prefix counts only right before the opcode */
	}
}

static bool read_disp(struct x86_insn *in, unsigned size, int64_t *ret)
{
	uint8_t b[4] = {0};

	for (unsigned i = 0; i < size; i++)
		if (!next(in, &b[i]))
			return false;
	if (size == 0)
		*ret = 0;
	else if (size == 1)
		*ret = (int8_t)b[0];
	else
		*ret = (int32_t)((uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
				 (uint32_t)b[3] << 24);
	return true;
}

/* The base/index part of a SIB byte; *no_base when the encoding has disp32 instead. */
static bool decode_sib(const struct x86_cpu *cpu, struct x86_insn *in, uint64_t *ea, bool *no_base)
{
	uint8_t sib;
	unsigned index, base;

	if (!next(in, &sib))
		return false;
	index = ((sib >> 3) & 7) | ((in->rex & X86_REX_X) ? 8 : 0);
	base = (sib & 7) | ((in->rex & X86_REX_B) ? 8 : 0);
	if (index != X86_RSP)
		*ea += cpu->gpr[index] << (sib >> 6);
	*no_base = (sib & 7) == 5 && in->mod == 0;
	if (!*no_base)
		*ea += cpu->gpr[base];
	return true;
}

/* ModRM (64-bit addressing, or 32-bit with 0x67) for an instruction with no immediate. */
static bool decode_modrm(const struct x86_cpu *cpu, struct x86_insn *in)
{
	uint8_t m;
	uint64_t ea = 0;
	int64_t disp = 0;
	bool no_base = false, riprel = false;

	if (!next(in, &m))
		return false;
	in->mod = m >> 6;
	in->reg = ((m >> 3) & 7) | ((in->rex & X86_REX_R) ? 8 : 0);
	in->rm = (m & 7) | ((in->rex & X86_REX_B) ? 8 : 0);
	if (in->mod == 3)
		return true;
	if ((m & 7) == 4) {
		if (!decode_sib(cpu, in, &ea, &no_base))
			return false;
	} else if ((m & 7) == 5 && in->mod == 0) {
		riprel = no_base = true;
	} else {
		ea = cpu->gpr[in->rm];
	}
	if (!read_disp(in, in->mod == 1 ? 1 : (in->mod == 2 || no_base) ? 4 : 0, &disp))
		return false;
	ea += (uint64_t)disp;
	if (riprel)
		ea += cpu->rip + in->len;
	if (in->addrsize)
		ea &= 0xffffffffULL;
	ea += in->seg == SEG_FS ? cpu->fs_base : in->seg == SEG_GS ? cpu->gs_base : 0;
	in->ea = ea;
	return true;
}

void x86_insn_advance(struct x86_cpu *cpu, const struct x86_insn *in)
{
	cpu->rip += in->len;
	if (!x86_insn_long_mode(cpu))
		cpu->rip &= cpu->cs_db ? 0xffffffffULL : 0xffffULL;
}

void x86_insn_inject(struct x86_emu_action *act, enum x86_event_type type, uint8_t vector)
{
	act->event = type;
	act->vector = vector;
}

void x86_insn_inject_error(struct x86_emu_action *act, uint8_t vector, uint32_t code)
{
	x86_insn_inject(act, X86_EVENT_EXCEPTION, vector);
	act->has_error_code = true;
	act->error_code = code;
}

/* Compares *lo:*hi with the operand; stores nlo:nhi when equal, else loads it into *lo:*hi. */
__attribute__((target("cx16"))) static bool cas16(void *p, uint64_t *lo, uint64_t *hi, uint64_t nlo,
						  uint64_t nhi)
{
	unsigned __int128 expected = (unsigned __int128)*hi << 64 | *lo;
	unsigned __int128 desired = (unsigned __int128)nhi << 64 | nlo;
	unsigned __int128 old =
	    __sync_val_compare_and_swap((unsigned __int128 *)p, expected, desired);

	*lo = (uint64_t)old;
	*hi = (uint64_t)(old >> 64);
	return old == expected;
}

static bool cas8(void *p, uint64_t *lo, uint64_t *hi, uint64_t nlo, uint64_t nhi)
{
	uint64_t expected = (*hi & 0xffffffffULL) << 32 | (*lo & 0xffffffffULL);
	uint64_t desired = (nhi & 0xffffffffULL) << 32 | (nlo & 0xffffffffULL);
	bool ok = __atomic_compare_exchange_n((uint64_t *)p, &expected, desired, false,
					      __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);

	if (!ok) { /* 32-bit destinations: the upper halves are zeroed */
		*lo = expected & 0xffffffffULL;
		*hi = expected >> 32;
	}
	return ok;
}

/* The guest-physical address of the operand for access (enum x86_access), or an exception in
 * act (returns 1). */
int x86_insn_operand_gpa(struct x86_cpu *cpu, const struct x86_phys_mem *mem, uint64_t ea,
			 unsigned access, struct x86_emu_action *act, uint64_t *ret_gpa,
			 struct error *err)
{
	struct x86_paging pg;
	uint32_t code = 0;
	int r;

	paging_of(cpu, &pg);
	r = x86_pagewalk(mem, &pg, ea, access, ret_gpa, &code, err);
	if (r == -EFAULT) {
		x86_insn_inject_error(act, X86_VEC_PF, code);
		cpu->cr2 = ea;
		act->set_cr2 = true;
		return 1;
	}
	if (r == -EINVAL) {
		x86_insn_inject_error(act, X86_VEC_GP, 0);
		return 1;
	}
	return r;
}

/* cmpxchg8b m64 / cmpxchg16b m128 (0f c7 /1) in 64-bit mode. */
static int emulate_cmpxchg(struct x86_cpu *cpu, const struct x86_phys_mem *mem, struct x86_insn *in,
			   struct x86_emu_action *act, struct error *err)
{
	bool wide = in->rex & X86_REX_W;
	unsigned size = wide ? 16 : 8;
	uint64_t gpa = 0;
	void *p;
	bool equal;
	int r;

	act->what = wide ? "cmpxchg16b" : "cmpxchg8b";
	if (in->mod == 3 || in->rep || in->repne) {
		x86_insn_inject(act, X86_EVENT_EXCEPTION, X86_VEC_UD);
		return 0;
	}
	if (wide && (in->ea & 15)) {
		x86_insn_inject_error(act, X86_VEC_GP, 0);
		return 0;
	}
	if ((in->ea & (X86_PAGE_SIZE - 1)) + size > X86_PAGE_SIZE)
		return x86_insn_refuse(cpu, in, act->what, "the operand crosses a page", err);
	r = x86_insn_operand_gpa(cpu, mem, in->ea, X86_ACCESS_WRITE, act, &gpa, err);
	if (r != 0)
		return r < 0 ? error_wrap(err, "%s at rip 0x%llx", act->what,
					  (unsigned long long)cpu->rip)
			     : 0;
	p = mem->map(mem->opaque, gpa, size);
	if (!p)
		return x86_insn_refuse(cpu, in, act->what, "the operand is not in guest RAM", err);
	if (wide)
		equal = cas16(p, &cpu->gpr[X86_RAX], &cpu->gpr[X86_RDX], cpu->gpr[X86_RBX],
			      cpu->gpr[X86_RCX]);
	else
		equal = cas8(p, &cpu->gpr[X86_RAX], &cpu->gpr[X86_RDX], cpu->gpr[X86_RBX],
			     cpu->gpr[X86_RCX]);
	cpu->rflags = equal ? cpu->rflags | X86_RFLAGS_ZF : cpu->rflags & ~X86_RFLAGS_ZF;
	x86_insn_advance(cpu, in);
	return 0;
}

/* The compacted XSAVE forms (0f c7 /3 /4 /5 with a memory operand) by ModRM reg, or NULL. */
static const char *compacted_name(const struct x86_insn *in)
{
	static const char *const c7[8] = {[3] = "xrstors", [4] = "xsavec", [5] = "xsaves"};

	if (in->mod == 3 || in->opsize || in->rep || in->repne)
		return NULL;
	return c7[in->reg & 7];
}

/* clac (0f 01 ca) and stac (0f 01 cb): RFLAGS.AC, kernel mode only. */
static int emulate_0f01(struct x86_cpu *cpu, struct x86_insn *in, struct x86_emu_action *act,
			struct error *err)
{
	uint8_t m;

	if (!next(in, &m) || (m != 0xca && m != 0xcb))
		return x86_insn_refuse(cpu, in, "instruction", "not one the monitor emulates", err);
	act->what = m == 0xca ? "clac" : "stac";
	if (cpu->cpl != 0 || in->lock) {
		x86_insn_inject(act, X86_EVENT_EXCEPTION, X86_VEC_UD);
		return 0;
	}
	cpu->rflags = m == 0xca ? cpu->rflags & ~RFLAGS_AC : cpu->rflags | RFLAGS_AC;
	x86_insn_advance(cpu, in);
	return 0;
}

/* A source operand of size bytes: a register or memory (read through the page tables). */
int x86_insn_read(struct x86_cpu *cpu, const struct x86_phys_mem *mem, struct x86_insn *in,
		  unsigned size, struct x86_emu_action *act, uint64_t *ret, struct error *err)
{
	uint64_t gpa = 0;
	const uint8_t *p;
	int r;

	*ret = 0;
	if (in->mod == 3) {
		*ret = cpu->gpr[in->rm];
		return 0;
	}
	if ((in->ea & (X86_PAGE_SIZE - 1)) + size > X86_PAGE_SIZE)
		return x86_insn_refuse(cpu, in, act->what, "the operand crosses a page", err);
	r = x86_insn_operand_gpa(cpu, mem, in->ea, X86_ACCESS_READ, act, &gpa, err);
	if (r != 0)
		return r;
	p = mem->map(mem->opaque, gpa, size);
	if (!p)
		return x86_insn_refuse(cpu, in, act->what, "the operand is not in guest RAM", err);
	memcpy(ret, p, size);
	return 0;
}

/* popcnt r, r/m (f3 0f b8): 16, 32 or 64 bits; ZF when the source is 0, other flags 0. */
static int emulate_popcnt(struct x86_cpu *cpu, const struct x86_phys_mem *mem, struct x86_insn *in,
			  struct x86_emu_action *act, struct error *err)
{
	unsigned size = (in->rex & X86_REX_W) ? 8 : in->opsize ? 2 : 4;
	uint64_t src, *dst = &cpu->gpr[in->reg];
	int r;

	act->what = "popcnt";
	if (in->lock) {
		x86_insn_inject(act, X86_EVENT_EXCEPTION, X86_VEC_UD);
		return 0;
	}
	r = x86_insn_read(cpu, mem, in, size, act, &src, err);
	if (r != 0)
		return r < 0 ? r : 0;
	if (size < 8)
		src &= (1ULL << (size * 8)) - 1;
	if (size == 2)
		*dst = (*dst & ~0xffffULL) | (uint64_t)__builtin_popcountll(src);
	else
		*dst = (uint64_t)__builtin_popcountll(src);
	cpu->rflags &= ~0x8d5ULL; /* CF PF AF ZF SF OF */
	cpu->rflags |= src ? 0 : X86_RFLAGS_ZF;
	x86_insn_advance(cpu, in);
	return 0;
}

/* Two-byte opcodes: 0f 01 (clac/stac), 0f b8 (popcnt), 0f c7 and 0f ae (the XSAVE family). */
static int emulate_0f(struct x86_cpu *cpu, const struct x86_phys_mem *mem,
		      const struct x86_xstate_io *xs, struct x86_insn *in,
		      struct x86_emu_action *act, struct error *err)
{
	const char *name;
	uint8_t op;

	if (!next(in, &op) || (op != 0xc7 && op != 0xae && op != 0x01 && op != 0xb8))
		return x86_insn_refuse(cpu, in, "instruction", "not one the monitor emulates", err);
	if (op == 0x01)
		return emulate_0f01(cpu, in, act, err);
	if (!decode_modrm(cpu, in))
		return x86_insn_refuse(cpu, in, "instruction", "truncated", err);
	if (op == 0xb8 && in->rep && x86_insn_long_mode(cpu))
		return emulate_popcnt(cpu, mem, in, act, err);
	if (op == 0xae)
		return x86_insn_0fae(cpu, mem, xs, in, act, err);
	name = compacted_name(in);
	if (name)
		return x86_insn_refuse(cpu, in, name, "the compacted XSAVE forms are not emulated",
				       err);
	if (op != 0xc7 || (in->reg & 7) != 1)
		return x86_insn_refuse(cpu, in, "instruction", "not one the monitor emulates", err);
	if (!x86_insn_long_mode(cpu))
		return x86_insn_refuse(cpu, in, "cmpxchg8b", "only 64-bit mode is supported", err);
	return emulate_cmpxchg(cpu, mem, in, act, err);
}

static int dispatch(struct x86_cpu *cpu, const struct x86_phys_mem *mem,
		    const struct x86_xstate_io *xs, struct x86_insn *in, struct x86_emu_action *act,
		    struct error *err)
{
	uint8_t op, n;

	if (!next(in, &op))
		return x86_insn_refuse(cpu, in, "instruction", "only prefixes", err);
	switch (op) {
	case 0xcc:
		act->what = "int3";
		x86_insn_advance(cpu, in);
		x86_insn_inject(act, X86_EVENT_EXCEPTION, X86_VEC_BP);
		return 0;
	case 0xcd:
		act->what = "int n";
		if (!next(in, &n))
			return x86_insn_refuse(cpu, in, "int n", "truncated", err);
		x86_insn_advance(cpu, in);
		x86_insn_inject(
		    act, n == X86_VEC_BP ? X86_EVENT_EXCEPTION : X86_EVENT_SOFT_INTERRUPT, n);
		return 0;
	case 0x9b: /* fwait: #NM with CR0.MP and TS; no x87 exception is ever pending here */
		act->what = "fwait";
		if ((cpu->cr0 & CR0_MP_TS) == CR0_MP_TS)
			x86_insn_inject(act, X86_EVENT_EXCEPTION, X86_VEC_NM);
		else
			x86_insn_advance(cpu, in);
		return 0;
	case 0x0f:
		return emulate_0f(cpu, mem, xs, in, act, err);
	default:
		return x86_insn_refuse(cpu, in, "instruction", "not one the monitor emulates", err);
	}
}

int x86_emulate(struct x86_cpu *cpu, const struct x86_phys_mem *mem, const struct x86_xstate_io *xs,
		struct x86_emu_action *ret, struct error *err)
{
	struct x86_insn in = {0};
	int r;

	memset(ret, 0, sizeof(*ret));
	ret->what = "instruction";
	if (!(cpu->cr0 & CR0_PE))
		return error_set(err, ENOTSUP, "cannot emulate at rip 0x%llx: real mode",
				 (unsigned long long)cpu->rip);
	r = fetch(cpu, mem, &in, err);
	if (r < 0)
		return r;
	decode_prefixes(cpu, &in);
	r = dispatch(cpu, mem, xs, &in, ret, err);
	memcpy(ret->insn, in.bytes, in.len);
	ret->insn_len = in.len;
	return r;
}
