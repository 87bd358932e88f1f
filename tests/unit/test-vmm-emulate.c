/* test-vmm-emulate: the monitor's instruction emulation on hand-built page tables and
 * instruction bytes in a buffer as guest memory: int3, int n, cmpxchg8b/16b with each
 * ModRM/SIB/displacement form (equal and not equal), the faults it injects (#GP, #PF with CR2,
 * #UD), xsave/xsaveopt/xrstor/ldmxcsr/stmxcsr on an extended state that is a buffer too (what is
 * loaded, initialized, written and left alone; #GP, #PF, #UD, #NM), the compacted XSAVE forms and
 * unknown instructions refused with their bytes, and hostile state (rip unmapped,
 * non-canonical, in a table outside RAM, instruction running into an unmapped page). No KVM. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vmm/x86/emulate.h"

#define MEM_SIZE (8u << 20)
#define PML4	 0x1000ULL
#define PDPT	 0x2000ULL
#define PD	 0x3000ULL
#define PT	 0x4000ULL
#define KBASE	 0xffffffff80000000ULL /* 2 MiB pages: KBASE + x -> x for x < 8 MiB */
#define CODE	 0x100000ULL
#define DATA	 0x200000ULL
#define UNMAPPED 0xffffffff88000000ULL
#define ZF	 X86_RFLAGS_ZF

struct buf {
	uint8_t *mem;
	uint64_t size;
};

static void *map(void *opaque, uint64_t gpa, uint64_t len)
{
	struct buf *b = opaque;

	if (gpa >= b->size || len > b->size - gpa)
		return NULL;
	return b->mem + gpa;
}

struct fixture {
	struct buf buf;
	struct x86_phys_mem mem;
	struct x86_cpu cpu;
	struct x86_emu_action act;
	struct error err;
	struct x86_xstate state; /* the vCPU's, as the accelerator gives it */
	struct x86_xstate xs;	 /* the emulator's copy */
	struct x86_xstate_io xio;
	unsigned gets;
	bool get_fails;
};

static int get_xstate(void *opaque, struct x86_xstate *ret, struct error *err)
{
	struct fixture *f = opaque;

	f->gets++;
	if (f->get_fails)
		return error_set(err, EIO, "KVM_GET_XSAVE: test");
	*ret = f->state;
	return 0;
}

static void put64(struct fixture *f, uint64_t gpa, uint64_t v)
{
	memcpy(f->buf.mem + gpa, &v, 8);
}

static uint64_t get64(struct fixture *f, uint64_t gpa)
{
	uint64_t v;

	memcpy(&v, f->buf.mem + gpa, 8);
	return v;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f || !(f->buf.mem = calloc(1, MEM_SIZE)))
		return -1;
	f->buf.size = MEM_SIZE;
	f->mem = (struct x86_phys_mem){.opaque = &f->buf, .map = map};
	f->xio = (struct x86_xstate_io){.opaque = f, .get = get_xstate, .buf = &f->xs};
	put64(f, PML4 + 511 * 8, PDPT | 3);
	put64(f, PDPT + 510 * 8, PD | 3);
	for (uint64_t i = 0; i < 4; i++)
		put64(f, PD + i * 8, (i << 21) | 0x83);
	put64(f, PD + 0x80 * 8, 0x00000000fee00000ULL | 0x83); /* KBASE + 256 MiB: not RAM */
	f->cpu = (struct x86_cpu){.cr0 = 0x80050033,
				  .cr3 = PML4,
				  .cr4 = 0x20,
				  .efer = 0xd00,
				  .cs_l = true,
				  .rip = KBASE + CODE,
				  .rflags = 0x2};
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	free(f->buf.mem);
	free(f);
	return 0;
}

static int run(struct fixture *f, const void *code, size_t len)
{
	memcpy(f->buf.mem + CODE, code, len);
	memset(&f->err, 0, sizeof(f->err));
	return x86_emulate(&f->cpu, &f->mem, &f->xio, &f->act, &f->err);
}

static void test_int3(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(run(f, "\xcc", 1), 0);
	assert_int_equal(f->cpu.rip, KBASE + CODE + 1);
	assert_int_equal(f->act.event, X86_EVENT_EXCEPTION);
	assert_int_equal(f->act.vector, 3);
	assert_false(f->act.has_error_code);
	assert_string_equal(f->act.what, "int3");
	assert_int_equal(f->act.insn_len, 1);
	assert_int_equal(f->act.insn[0], 0xcc);
}

static void test_int_n(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(run(f, "\xcd\x80", 2), 0);
	assert_int_equal(f->cpu.rip, KBASE + CODE + 2);
	assert_int_equal(f->act.event, X86_EVENT_SOFT_INTERRUPT);
	assert_int_equal(f->act.vector, 0x80);
	f->cpu.rip = KBASE + CODE;
	assert_int_equal(run(f, "\xcd\x03", 2), 0); /* int 3 is #BP */
	assert_int_equal(f->act.event, X86_EVENT_EXCEPTION);
	assert_int_equal(f->act.vector, 3);
}

static void test_clac_stac(void **state)
{
	struct fixture *f = *state;

	f->cpu.rflags = 0x40202;
	assert_int_equal(run(f, "\x0f\x01\xca", 3), 0);
	assert_string_equal(f->act.what, "clac");
	assert_int_equal(f->cpu.rflags, 0x202);
	assert_int_equal(f->cpu.rip, KBASE + CODE + 3);
	assert_int_equal(f->act.event, X86_EVENT_NONE);
	f->cpu.rip = KBASE + CODE;
	assert_int_equal(run(f, "\x0f\x01\xcb", 3), 0);
	assert_int_equal(f->cpu.rflags, 0x40202);
	f->cpu.rip = KBASE + CODE;
	f->cpu.cpl = 3; /* user mode (on user pages): #UD, rip stays */
	put64(f, PML4 + 511 * 8, PDPT | 7);
	put64(f, PDPT + 510 * 8, PD | 7);
	put64(f, PD, 0x87);
	assert_int_equal(run(f, "\x0f\x01\xca", 3), 0);
	assert_int_equal(f->act.vector, 6);
	assert_int_equal(f->cpu.rip, KBASE + CODE);
	assert_int_equal(run(f, "\x0f\x01\xc8", 3), -ENOTSUP); /* monitor */
}

static void test_popcnt(void **state)
{
	struct fixture *f = *state;

	f->cpu.gpr[X86_RDI] = 0xf0f0000000000003ULL;
	f->cpu.rflags = 0x2 | 0x1 | X86_RFLAGS_ZF;
	assert_int_equal(run(f, "\xf3\x48\x0f\xb8\xc7", 5), 0); /* popcnt %rdi,%rax */
	assert_string_equal(f->act.what, "popcnt");
	assert_int_equal(f->cpu.gpr[X86_RAX], 10);
	assert_int_equal(f->cpu.rflags, 0x2);
	assert_int_equal(f->cpu.rip, KBASE + CODE + 5);
	f->cpu.rip = KBASE + CODE;
	f->cpu.gpr[X86_RAX] = 0xffffffffffffffffULL;
	assert_int_equal(run(f, "\xf3\x0f\xb8\xc7", 4), 0); /* 32 bits, zero-extended */
	assert_int_equal(f->cpu.gpr[X86_RAX], 2);
	f->cpu.rip = KBASE + CODE;
	put64(f, DATA, 0);
	f->cpu.gpr[X86_RSI] = KBASE + DATA; /* popcnt (%rsi),%r9: 0 sets ZF */
	assert_int_equal(run(f, "\xf3\x4c\x0f\xb8\x0e", 5), 0);
	assert_int_equal(f->cpu.gpr[9], 0);
	assert_true(f->cpu.rflags & X86_RFLAGS_ZF);
	f->cpu.rip = KBASE + CODE;
	f->cpu.gpr[X86_RSI] = UNMAPPED; /* a read fault */
	assert_int_equal(run(f, "\xf3\x4c\x0f\xb8\x0e", 5), 0);
	assert_int_equal(f->act.vector, 14);
	assert_int_equal(f->act.error_code, 0);
	assert_int_equal(f->cpu.rip, KBASE + CODE);
}

static void test_fwait(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(run(f, "\x9b\x65\x48", 3), 0);
	assert_string_equal(f->act.what, "fwait");
	assert_int_equal(f->act.event, X86_EVENT_NONE);
	assert_int_equal(f->cpu.rip, KBASE + CODE + 1);
	f->cpu.rip = KBASE + CODE;
	f->cpu.cr0 |= 0xa; /* MP | TS: #NM, rip stays */
	assert_int_equal(run(f, "\x9b", 1), 0);
	assert_int_equal(f->act.vector, 7);
	assert_int_equal(f->cpu.rip, KBASE + CODE);
}

static void test_int3_32bit_no_paging(void **state)
{
	struct fixture *f = *state;

	f->cpu =
	    (struct x86_cpu){.cr0 = 0x11, .cs_db = true, .cs_base = 0x1000, .rip = CODE - 0x1000};
	assert_int_equal(run(f, "\xcc", 1), 0);
	assert_int_equal(f->cpu.rip, CODE - 0x1000 + 1);
	f->cpu.rip = 0xffffffffULL; /* eip wraps */
	f->cpu.cs_base = CODE + 1;
	assert_int_equal(run(f, "\xcd\x20", 2), 0);
	assert_int_equal(f->cpu.rip, 1);
}

/* Runs a cmpxchg16b whose operand ends up at DATA + 0x40, once equal, once not. */
static void check_cmpxchg16b(struct fixture *f, const char *code, size_t len)
{
	uint64_t rip = f->cpu.rip;

	put64(f, DATA + 0x40, 0x1111);
	put64(f, DATA + 0x48, 0x2222);
	f->cpu.gpr[X86_RAX] = 0x1111;
	f->cpu.gpr[X86_RDX] = 0x2222;
	f->cpu.gpr[X86_RBX] = 0x3333;
	f->cpu.gpr[X86_RCX] = 0x4444;
	assert_int_equal(run(f, code, len), 0);
	assert_int_equal(f->act.event, X86_EVENT_NONE);
	assert_string_equal(f->act.what, "cmpxchg16b");
	assert_int_equal(f->cpu.rip, rip + len);
	assert_true(f->cpu.rflags & ZF);
	assert_int_equal(get64(f, DATA + 0x40), 0x3333);
	assert_int_equal(get64(f, DATA + 0x48), 0x4444);
	/* Not equal now: RDX:RAX gets the memory, which stays. */
	f->cpu.rip = rip;
	assert_int_equal(run(f, code, len), 0);
	assert_false(f->cpu.rflags & ZF);
	assert_int_equal(f->cpu.gpr[X86_RAX], 0x3333);
	assert_int_equal(f->cpu.gpr[X86_RDX], 0x4444);
	assert_int_equal(get64(f, DATA + 0x40), 0x3333);
	assert_int_equal(f->cpu.rflags & 0x2, 0x2);
	f->cpu.rip = rip;
}

static void test_cmpxchg16b_forms(void **state)
{
	struct fixture *f = *state;

	f->cpu.gpr[X86_RBP] = KBASE + DATA + 0x20; /* [rbp+0x20], as Linux's SLUB does */
	check_cmpxchg16b(f, "\xf0\x48\x0f\xc7\x4d\x20", 6);
	f->cpu.gpr[X86_RSI] = KBASE + DATA + 0x40; /* [rsi] */
	check_cmpxchg16b(f, "\xf0\x48\x0f\xc7\x0e", 5);
	f->cpu.gpr[X86_RSP] = KBASE + DATA + 0x40; /* [rsp]: SIB, no index */
	check_cmpxchg16b(f, "\xf0\x48\x0f\xc7\x0c\x24", 6);
	f->cpu.gpr[X86_RSI] = KBASE + DATA - 0x1000; /* [rsi + r9*2 + disp32] */
	f->cpu.gpr[9] = 0x800;
	check_cmpxchg16b(f, "\xf0\x4a\x0f\xc7\x8c\x4e\x40\x00\x00\x00", 10);
	/* [disp32] with no base (SIB base 5, mod 0): sign-extended. */
	f->cpu.gpr[X86_RAX] = 0;
	check_cmpxchg16b(f, "\xf0\x48\x0f\xc7\x0c\x25\x40\x00\x20\x80", 10);
	/* rip-relative: next rip (CODE + 9) + disp. */
	check_cmpxchg16b(f, "\xf0\x48\x0f\xc7\x0d\x37\x00\x10\x00", 9);
	/* gs: prefix, no lock, REX right before the opcode. */
	f->cpu.gs_base = KBASE + DATA;
	f->cpu.gpr[X86_RDI] = 0x40;
	check_cmpxchg16b(f, "\x65\x48\x0f\xc7\x0f", 5);
}

static void test_cmpxchg16b_sib_index(void **state)
{
	struct fixture *f = *state;
	uint64_t rip = f->cpu.rip;

	f->cpu.gpr[13] = KBASE + DATA; /* [r13 + rax*8 + 0x10], rax = 6: DATA + 0x40 */
	f->cpu.gpr[X86_RAX] = 6;
	f->cpu.gpr[X86_RDX] = 0;
	put64(f, DATA + 0x40, 6);
	put64(f, DATA + 0x48, 0);
	f->cpu.gpr[X86_RBX] = 0xaa;
	f->cpu.gpr[X86_RCX] = 0xbb;
	assert_int_equal(run(f, "\xf0\x49\x0f\xc7\x4c\xc5\x10", 7), 0);
	assert_true(f->cpu.rflags & ZF);
	assert_int_equal(get64(f, DATA + 0x40), 0xaa);
	assert_int_equal(get64(f, DATA + 0x48), 0xbb);
	assert_int_equal(f->cpu.rip, rip + 7);
}

static void test_cmpxchg8b(void **state)
{
	struct fixture *f = *state;

	f->cpu.gpr[X86_RSI] = KBASE + DATA;
	put64(f, DATA, 0x0000000200000001ULL);
	f->cpu.gpr[X86_RAX] = 0xffffffff00000001ULL; /* upper halves are ignored */
	f->cpu.gpr[X86_RDX] = 2;
	f->cpu.gpr[X86_RBX] = 5;
	f->cpu.gpr[X86_RCX] = 6;
	assert_int_equal(run(f, "\xf0\x0f\xc7\x0e", 4), 0);
	assert_string_equal(f->act.what, "cmpxchg8b");
	assert_true(f->cpu.rflags & ZF);
	assert_int_equal(get64(f, DATA), 0x0000000600000005ULL);
	f->cpu.rip = KBASE + CODE;
	assert_int_equal(run(f, "\xf0\x0f\xc7\x0e", 4), 0);
	assert_false(f->cpu.rflags & ZF);
	assert_int_equal(f->cpu.gpr[X86_RAX], 5);
	assert_int_equal(f->cpu.gpr[X86_RDX], 6);
}

static void test_cmpxchg_faults(void **state)
{
	struct fixture *f = *state;

	f->cpu.gpr[X86_RSI] = KBASE + DATA + 8; /* misaligned m128: #GP(0) */
	assert_int_equal(run(f, "\xf0\x48\x0f\xc7\x0e", 5), 0);
	assert_int_equal(f->act.event, X86_EVENT_EXCEPTION);
	assert_int_equal(f->act.vector, 13);
	assert_true(f->act.has_error_code);
	assert_int_equal(f->act.error_code, 0);
	assert_int_equal(f->cpu.rip, KBASE + CODE); /* a fault: rip stays */
	f->cpu.gpr[X86_RSI] = UNMAPPED;		    /* #PF with CR2 and a write error code */
	assert_int_equal(run(f, "\xf0\x48\x0f\xc7\x0e", 5), 0);
	assert_int_equal(f->act.vector, 14);
	assert_int_equal(f->act.error_code, X86_ACCESS_WRITE);
	assert_true(f->act.set_cr2);
	assert_int_equal(f->cpu.cr2, UNMAPPED);
	assert_int_equal(f->cpu.rip, KBASE + CODE);
	f->cpu.gpr[X86_RSI] = 0x8000000000000000ULL; /* non-canonical: #GP(0) */
	assert_int_equal(run(f, "\xf0\x48\x0f\xc7\x0e", 5), 0);
	assert_int_equal(f->act.vector, 13);
	assert_int_equal(run(f, "\xf0\x48\x0f\xc7\xce", 5), 0); /* register operand: #UD */
	assert_int_equal(f->act.vector, 6);
	assert_false(f->act.has_error_code);
}

static void test_cmpxchg_on_non_ram(void **state)
{
	struct fixture *f = *state;

	f->cpu.gpr[X86_RSI] = KBASE + (0x80ULL << 21); /* mapped to the LAPIC page */
	assert_int_equal(run(f, "\xf0\x48\x0f\xc7\x0e", 5), -ENOTSUP);
	assert_non_null(strstr(f->err.msg, "not in guest RAM"));
	assert_non_null(strstr(f->err.msg, "cmpxchg16b"));
}

static void test_compacted_forms_refused(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(run(f, "\x48\x0f\xc7\x1f", 4), -ENOTSUP);
	assert_non_null(strstr(f->err.msg, "xrstors at rip 0xffffffff80100000"));
	assert_non_null(strstr(f->err.msg, "bytes 48 0f c7 1f"));
	assert_int_equal(run(f, "\x0f\xc7\x27", 3), -ENOTSUP);
	assert_non_null(strstr(f->err.msg, "xsavec"));
	assert_int_equal(run(f, "\x0f\xae\xe8", 3), -ENOTSUP);	   /* lfence */
	assert_int_equal(run(f, "\x66\x0f\xae\x36", 4), -ENOTSUP); /* clwb, not xsaveopt */
	assert_int_equal(run(f, "\x0f\xae\x06", 3), -ENOTSUP);	   /* fxsave: KVM does it */
	assert_int_equal(f->gets, 0);
	assert_int_equal(f->cpu.rip, KBASE + CODE);
}

static void test_unknown_instructions_refused(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(run(f, "\x90\x90", 2), -ENOTSUP);
	assert_non_null(strstr(f->err.msg, "rip 0xffffffff80100000"));
	assert_non_null(strstr(f->err.msg, "bytes 90 90"));
	assert_int_equal(run(f, "\x0f\x0b", 2), -ENOTSUP);
	assert_int_equal(run(f, "\x0f\xc7\x36", 3), -ENOTSUP); /* 0f c7 /6 (rdrand's space) */
	/* 15 prefixes and nothing else. */
	assert_int_equal(run(f, "\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66", 15),
			 -ENOTSUP);
	assert_non_null(strstr(f->err.msg, "only prefixes"));
	assert_int_equal(f->cpu.rip, KBASE + CODE);
}

static void test_hostile_rip(void **state)
{
	struct fixture *f = *state;

	f->cpu.rip = UNMAPPED;
	assert_int_equal(run(f, "", 0), -EFAULT);
	assert_non_null(strstr(f->err.msg, "fetch the instruction at rip 0xffffffff88000000"));
	f->cpu.rip = 0x0000900000000000ULL;
	assert_int_equal(run(f, "", 0), -EINVAL);
	assert_non_null(strstr(f->err.msg, "not canonical"));
	f->cpu.rip = KBASE + CODE;
	f->cpu.cr3 = 0x7fff0000000ULL; /* page tables outside RAM */
	assert_int_equal(run(f, "\xcc", 1), -ENXIO);
	assert_non_null(strstr(f->err.msg, "outside RAM"));
	f->cpu.cr3 = PML4;
	f->cpu.cr0 = 0x10; /* real mode */
	assert_int_equal(run(f, "\xcc", 1), -ENOTSUP);
	assert_int_equal(f->cpu.rip, KBASE + CODE);
}

static void test_instruction_into_unmapped_page(void **state)
{
	struct fixture *f = *state;

	/* The last mapped byte of RAM's mapping (KBASE + 8 MiB - 1): one byte is enough for
	 * int3, a cmpxchg16b is cut short. */
	f->cpu.rip = KBASE + MEM_SIZE - 1;
	f->buf.mem[MEM_SIZE - 1] = 0xcc;
	memset(&f->err, 0, sizeof(f->err));
	assert_int_equal(x86_emulate(&f->cpu, &f->mem, &f->xio, &f->act, &f->err), 0);
	assert_int_equal(f->cpu.rip, KBASE + MEM_SIZE);
	f->cpu.rip = KBASE + MEM_SIZE - 3;
	memcpy(f->buf.mem + MEM_SIZE - 3, "\xf0\x48\x0f", 3);
	assert_int_equal(x86_emulate(&f->cpu, &f->mem, &f->xio, &f->act, &f->err), -ENOTSUP);
	assert_non_null(strstr(f->err.msg, "bytes f0 48 0f)"));
	/* A page-table loop under rip: resolves to the table itself, no hang. */
	for (unsigned i = 0; i < 512; i++)
		put64(f, 0x6000 + i * 8, 0x6000 | 3);
	f->cpu.cr3 = 0x6000;
	f->cpu.rip = 0x10;
	f->buf.mem[0x6010] = 0xcc;
	assert_int_equal(x86_emulate(&f->cpu, &f->mem, &f->xio, &f->act, &f->err), 0);
	assert_int_equal(f->cpu.rip, 0x11);
}

#define AREA	 (DATA + 0x1000) /* a guest XSAVE area (64-byte aligned) */
#define XCR0	 0x27ULL	 /* x87, SSE, AVX, opmask */
#define AVX	 576
#define OPMASK	 1088
#define BV	 512
#define FX_XMM	 160
#define FX_MXCSR 24

/* A vCPU with CR4.OSXSAVE/OSFXSR whose state bytes are all 0x5a, XSTATE_BV = XCR0; the guest
 * area holds 0xa5 with XSTATE_BV = bv; rsi points at it. */
static void xsave_setup(struct fixture *f, uint64_t bv)
{
	uint8_t *a = f->state.area;

	f->cpu.cr4 |= X86_CR4_OSXSAVE | 0x200;
	f->state.xcr0 = XCR0;
	f->state.offset[2] = AVX;
	f->state.size[2] = 256;
	f->state.offset[5] = OPMASK;
	f->state.size[5] = 64;
	memset(a, 0x5a, sizeof(f->state.area));
	memset(a + BV, 0, 64);
	memcpy(a + BV, &(uint64_t){XCR0}, 8);
	memcpy(a + FX_MXCSR, &(uint32_t){0x1f80}, 4);
	memcpy(a + FX_MXCSR + 4, &(uint32_t){0xffff}, 4);
	memset(f->buf.mem + AREA, 0xa5, 4096);
	memset(f->buf.mem + AREA + BV, 0, 64);
	put64(f, AREA + BV, bv);
	memcpy(f->buf.mem + AREA + FX_MXCSR, &(uint32_t){0x1f80}, 4);
	f->cpu.gpr[X86_RSI] = KBASE + AREA;
}

static bool all(const uint8_t *p, uint8_t v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != v)
			return false;
	return true;
}

static uint64_t state_bv(struct fixture *f)
{
	uint64_t v;

	memcpy(&v, f->xs.area + BV, 8);
	return v;
}

static void test_xrstor_loads_rfbm(void **state)
{
	struct fixture *f = *state;

	xsave_setup(f, 0x27);
	f->cpu.gpr[X86_RAX] = 0xffffffff00000005ULL; /* x87 | AVX; the upper half is ignored */
	f->cpu.gpr[X86_RDX] = 0x80000000;	     /* bit 63: not in XCR0 */
	assert_int_equal(run(f, "\x48\x0f\xae\x2e", 4), 0); /* xrstor64 (%rsi) */
	assert_string_equal(f->act.what, "xrstor");
	assert_int_equal(f->act.event, X86_EVENT_NONE);
	assert_ptr_equal(f->act.xstate, &f->xs);
	assert_int_equal(f->cpu.rip, KBASE + CODE + 4);
	assert_true(all(f->xs.area, 0xa5, FX_MXCSR));	      /* x87 loaded */
	assert_true(all(f->xs.area + 32, 0xa5, FX_XMM - 32)); /* ST0-7 */
	assert_true(all(f->xs.area + FX_XMM, 0x5a, 256));     /* SSE: not in RFBM */
	assert_true(all(f->xs.area + AVX, 0xa5, 256));	      /* AVX loaded */
	assert_true(all(f->xs.area + OPMASK, 0x5a, 64));      /* opmask: not in RFBM */
	assert_int_equal(state_bv(f), XCR0 | 2);	      /* MXCSR loaded: SSE in use */
	f->cpu.rip = KBASE + CODE;
	f->cpu.gpr[X86_RDI] = KBASE + AREA - 0x40; /* xrstor 0x40(%rdi), 32-bit form */
	put64(f, AREA + 8, 0x1122334455667788ULL); /* FIP: FCS and upper half ignored */
	assert_int_equal(run(f, "\x0f\xae\x6f\x40", 4), 0);
	assert_int_equal(*(uint64_t *)(f->xs.area + 8), 0x55667788ULL);
}

static void test_xrstor_inits_absent_components(void **state)
{
	struct fixture *f = *state;

	xsave_setup(f, 0x20); /* only opmask in the area: the rest of RFBM is initialized */
	f->cpu.gpr[X86_RAX] = 0xff;
	assert_int_equal(run(f, "\x48\x0f\xae\x2e", 4), 0);
	assert_int_equal(f->xs.area[0], 0x7f); /* FCW 0x037f */
	assert_int_equal(f->xs.area[1], 0x03);
	assert_true(all(f->xs.area + 2, 0, FX_MXCSR - 2));
	assert_true(all(f->xs.area + FX_XMM, 0, 256));
	assert_true(all(f->xs.area + AVX, 0, 256));
	assert_true(all(f->xs.area + OPMASK, 0xa5, 64));
	assert_true(all(f->xs.area + 416, 0x5a, 96)); /* the legacy area's free bytes */
	assert_int_equal(state_bv(f), 0x22);
	assert_int_equal(*(uint32_t *)(f->xs.area + FX_MXCSR), 0x1f80);
}

/* The #GP cases: nothing loaded, rip stays. */
static void expect_gp(struct fixture *f, const char *code, size_t len)
{
	f->cpu.rip = KBASE + CODE;
	memset(&f->act, 0xff, sizeof(f->act));
	assert_int_equal(run(f, code, len), 0);
	assert_int_equal(f->act.event, X86_EVENT_EXCEPTION);
	assert_int_equal(f->act.vector, 13);
	assert_true(f->act.has_error_code);
	assert_int_equal(f->act.error_code, 0);
	assert_null(f->act.xstate);
	assert_int_equal(f->cpu.rip, KBASE + CODE);
}

static void test_xrstor_faults(void **state)
{
	struct fixture *f = *state;

	xsave_setup(f, 0x7);
	f->cpu.gpr[X86_RAX] = 0xff;
	f->cpu.gpr[X86_RSI] += 8; /* misaligned */
	expect_gp(f, "\x48\x0f\xae\x2e", 4);
	assert_int_equal(f->gets, 0);
	f->cpu.gpr[X86_RSI] -= 8;
	put64(f, AREA + BV + 8, 1ULL << 63); /* XCOMP_BV: the compacted form */
	expect_gp(f, "\x48\x0f\xae\x2e", 4);
	put64(f, AREA + BV + 8, 0);
	put64(f, AREA + BV + 16, 1); /* reserved header bytes */
	expect_gp(f, "\x48\x0f\xae\x2e", 4);
	put64(f, AREA + BV + 16, 0);
	put64(f, AREA + BV, 0x8 | 0x7); /* XSTATE_BV beyond XCR0 */
	expect_gp(f, "\x48\x0f\xae\x2e", 4);
	put64(f, AREA + BV, 0x7);
	memcpy(f->buf.mem + AREA + FX_MXCSR, &(uint32_t){0x10000}, 4); /* reserved MXCSR bit */
	expect_gp(f, "\x48\x0f\xae\x2e", 4);
	f->cpu.gpr[X86_RAX] = 0x21; /* without SSE and AVX, MXCSR is not loaded */
	assert_int_equal(run(f, "\x48\x0f\xae\x2e", 4), 0);
	assert_int_equal(*(uint32_t *)(f->xs.area + FX_MXCSR), 0x1f80);
	f->cpu.rip = KBASE + CODE;
	assert_int_equal(run(f, "\xf0\x48\x0f\xae\x2e", 5), 0); /* lock: #UD */
	assert_int_equal(f->act.vector, 6);
	f->cpu.cr0 |= 0x8; /* CR0.TS: #NM */
	assert_int_equal(run(f, "\x48\x0f\xae\x2e", 4), 0);
	assert_int_equal(f->act.vector, 7);
	f->cpu.cr0 &= ~0x8ULL;
	f->cpu.cr4 &= ~X86_CR4_OSXSAVE; /* #UD */
	assert_int_equal(run(f, "\x48\x0f\xae\x2e", 4), 0);
	assert_int_equal(f->act.vector, 6);
	assert_int_equal(f->cpu.rip, KBASE + CODE);
}

static void test_xrstor_page_faults(void **state)
{
	struct fixture *f = *state;

	xsave_setup(f, 0x7);
	f->cpu.gpr[X86_RAX] = 0xff;
	f->cpu.gpr[X86_RSI] = UNMAPPED;
	assert_int_equal(run(f, "\x48\x0f\xae\x2e", 4), 0);
	assert_int_equal(f->act.vector, 14);
	assert_int_equal(f->act.error_code, 0); /* a read, not present */
	assert_true(f->act.set_cr2);
	assert_int_equal(f->cpu.cr2, UNMAPPED);
	assert_null(f->act.xstate);
	/* The header on the last mapped page, AVX on the next (unmapped) one. */
	put64(f, MEM_SIZE - 576 + BV, 0x7);
	memset(f->buf.mem + MEM_SIZE - 576 + BV + 8, 0, 56);
	memcpy(f->buf.mem + MEM_SIZE - 576 + FX_MXCSR, &(uint32_t){0x1f80}, 4);
	f->cpu.gpr[X86_RSI] = KBASE + MEM_SIZE - 576;
	assert_int_equal(run(f, "\x48\x0f\xae\x2e", 4), 0);
	assert_int_equal(f->act.vector, 14);
	assert_int_equal(f->cpu.cr2, KBASE + MEM_SIZE);
	put64(f, MEM_SIZE - 576 + BV, 0x3); /* without AVX the next page is not read */
	assert_int_equal(run(f, "\x48\x0f\xae\x2e", 4), 0);
	assert_int_equal(f->act.event, X86_EVENT_NONE);
	assert_int_equal(f->cpu.rip, KBASE + CODE + 4);
}

static void test_xsave_writes_rfbm_only(void **state)
{
	struct fixture *f = *state;
	const char *forms[] = {"\x48\x0f\xae\x26", "\x48\x0f\xae\x36"}; /* xsave64, xsaveopt64 */

	for (unsigned i = 0; i < 2; i++) {
		xsave_setup(f, 0x20);
		f->cpu.rip = KBASE + CODE;
		memcpy(f->state.area + BV, &(uint64_t){0x25}, 8); /* SSE in init state */
		f->cpu.gpr[X86_RAX] = 0x5;			  /* x87 | AVX */
		assert_int_equal(run(f, forms[i], 4), 0);
		assert_string_equal(f->act.what, i ? "xsaveopt" : "xsave");
		assert_null(f->act.xstate);
		assert_int_equal(f->cpu.rip, KBASE + CODE + 4);
		assert_true(all(f->buf.mem + AREA, 0x5a, FX_MXCSR));
		assert_int_equal(*(uint32_t *)(f->buf.mem + AREA + FX_MXCSR), 0x1f80);
		assert_int_equal(*(uint32_t *)(f->buf.mem + AREA + FX_MXCSR + 4), 0xffff);
		assert_true(all(f->buf.mem + AREA + 32, 0x5a, FX_XMM - 32));
		assert_true(all(f->buf.mem + AREA + FX_XMM, 0xa5, 256)); /* SSE not in RFBM */
		assert_true(all(f->buf.mem + AREA + 416, 0xa5, 96));
		assert_true(all(f->buf.mem + AREA + AVX, 0x5a, 256));
		assert_true(all(f->buf.mem + AREA + OPMASK, 0xa5, 64));
		assert_int_equal(get64(f, AREA + BV), 0x25); /* (0x20 & ~5) | (0x25 & 5) */
		assert_true(all(f->buf.mem + AREA + BV + 8, 0, 56));
	}
	f->cpu.rip = KBASE + CODE;
	memcpy(f->state.area + BV, &(uint64_t){0x21}, 8); /* AVX now in init state */
	assert_int_equal(run(f, forms[0], 4), 0);
	assert_int_equal(get64(f, AREA + BV), 0x21);
}

static void test_xsave_32bit_pointers(void **state)
{
	struct fixture *f = *state;

	xsave_setup(f, 0);
	f->cpu.gpr[X86_RAX] = 1;
	assert_int_equal(run(f, "\x0f\xae\x26", 3), 0); /* xsave (%rsi): FIP[31:0], FCS 0 */
	assert_int_equal(get64(f, AREA + 8), 0x5a5a5a5aULL);
	assert_int_equal(get64(f, AREA + 16), 0x5a5a5a5aULL);
	assert_int_equal(get64(f, AREA + BV), 1);
}

static void test_xsave_faults(void **state)
{
	struct fixture *f = *state;

	xsave_setup(f, 0);
	f->cpu.gpr[X86_RAX] = 0xff;
	put64(f, PD + 5 * 8, DATA | 0x81); /* KBASE + 10 MiB: DATA, read-only */
	f->cpu.gpr[X86_RSI] = KBASE + (5ULL << 21) + (AREA - DATA);
	assert_int_equal(run(f, "\x48\x0f\xae\x26", 4), 0);
	assert_int_equal(f->act.vector, 14);
	assert_int_equal(f->act.error_code, 3); /* present, write */
	assert_int_equal(f->cpu.cr2, f->cpu.gpr[X86_RSI]);
	assert_true(all(f->buf.mem + AREA, 0xa5, FX_MXCSR)); /* nothing written */
	f->cpu.gpr[X86_RSI] = KBASE + MEM_SIZE - 576; /* the components on an unmapped page */
	assert_int_equal(run(f, "\x48\x0f\xae\x26", 4), 0);
	assert_int_equal(f->act.error_code, 2);
	assert_int_equal(f->cpu.cr2, KBASE + MEM_SIZE);
	assert_true(all(f->buf.mem + MEM_SIZE - 576, 0, 24));
	f->cpu.gpr[X86_RSI] = KBASE + AREA + 32;
	expect_gp(f, "\x48\x0f\xae\x26", 4);
	f->cpu.gpr[X86_RSI] = KBASE + (0x80ULL << 21); /* not RAM */
	assert_int_equal(run(f, "\x48\x0f\xae\x26", 4), -ENOTSUP);
	assert_non_null(strstr(f->err.msg, "xsave at rip"));
	assert_non_null(strstr(f->err.msg, "not in guest RAM"));
}

static void test_mxcsr(void **state)
{
	struct fixture *f = *state;

	xsave_setup(f, 0);
	memcpy(f->state.area + BV, &(uint64_t){0x1}, 8); /* SSE in init state */
	f->cpu.gpr[X86_RSP] = KBASE + DATA;
	memcpy(f->buf.mem + DATA + 4, &(uint32_t){0x9fc0}, 4);
	assert_int_equal(run(f, "\x0f\xae\x54\x24\x04", 5), 0); /* ldmxcsr 4(%rsp) */
	assert_string_equal(f->act.what, "ldmxcsr");
	assert_ptr_equal(f->act.xstate, &f->xs);
	assert_int_equal(*(uint32_t *)(f->xs.area + FX_MXCSR), 0x9fc0);
	assert_int_equal(state_bv(f), 0x3); /* KVM_SET_XSAVE takes MXCSR with SSE only */
	assert_int_equal(f->cpu.rip, KBASE + CODE + 5);
	memcpy(f->buf.mem + DATA + 4, &(uint32_t){0x10000}, 4);
	expect_gp(f, "\x0f\xae\x54\x24\x04", 5);
	f->cpu.rip = KBASE + CODE;
	assert_int_equal(run(f, "\x0f\xae\x1e", 3), 0); /* stmxcsr (%rsi) */
	assert_string_equal(f->act.what, "stmxcsr");
	assert_null(f->act.xstate);
	assert_int_equal(*(uint32_t *)(f->buf.mem + AREA), 0x1f80);
	assert_int_equal(f->buf.mem[AREA + 4], 0xa5);
	f->cpu.rip = KBASE + CODE;
	f->cpu.gpr[X86_RSI] = UNMAPPED;
	assert_int_equal(run(f, "\x0f\xae\x1e", 3), 0);
	assert_int_equal(f->act.vector, 14);
	assert_int_equal(f->act.error_code, 2);
	f->cpu.cr4 &= ~0x200ULL; /* CR4.OSFXSR clear: #UD */
	assert_int_equal(run(f, "\x0f\xae\x1e", 3), 0);
	assert_int_equal(f->act.vector, 6);
}

static void test_xsave_without_state(void **state)
{
	struct fixture *f = *state;

	xsave_setup(f, 0x7);
	f->get_fails = true;
	assert_int_equal(run(f, "\x48\x0f\xae\x2e", 4), -EIO);
	assert_non_null(strstr(f->err.msg, "xrstor at rip 0xffffffff80100000: KVM_GET_XSAVE"));
	f->get_fails = false;
	f->state.xcr0 = XCR0 | 0x80; /* a component the layout does not place */
	assert_int_equal(run(f, "\x48\x0f\xae\x2e", 4), -ENOTSUP);
	assert_non_null(strstr(f->err.msg, "component 7"));
	memset(&f->err, 0, sizeof(f->err));
	assert_int_equal(x86_emulate(&f->cpu, &f->mem, NULL, &f->act, &f->err), -ENOTSUP);
	assert_non_null(strstr(f->err.msg, "no extended state"));
	assert_int_equal(f->cpu.rip, KBASE + CODE);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(test_int3),
	    T(test_int_n),
	    T(test_clac_stac),
	    T(test_popcnt),
	    T(test_fwait),
	    T(test_int3_32bit_no_paging),
	    T(test_cmpxchg16b_forms),
	    T(test_cmpxchg16b_sib_index),
	    T(test_cmpxchg8b),
	    T(test_cmpxchg_faults),
	    T(test_cmpxchg_on_non_ram),
	    T(test_compacted_forms_refused),
	    T(test_xrstor_loads_rfbm),
	    T(test_xrstor_inits_absent_components),
	    T(test_xrstor_faults),
	    T(test_xrstor_page_faults),
	    T(test_xsave_writes_rfbm_only),
	    T(test_xsave_32bit_pointers),
	    T(test_xsave_faults),
	    T(test_mxcsr),
	    T(test_xsave_without_state),
	    T(test_unknown_instructions_refused),
	    T(test_hostile_rip),
	    T(test_instruction_into_unmapped_page),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
