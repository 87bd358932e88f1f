/* test-vmm-emulate: the monitor's instruction emulation on hand-built page tables and
 * instruction bytes in a buffer as guest memory: int3, int n, cmpxchg8b/16b with each
 * ModRM/SIB/displacement form (equal and not equal), the faults it injects (#GP, #PF with CR2,
 * #UD), the XSAVE family and unknown instructions refused with their bytes, and hostile state
 * (rip unmapped, non-canonical, in a table outside RAM, instruction running into an unmapped
 * page). No KVM. */
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
};

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
	return x86_emulate(&f->cpu, &f->mem, &f->act, &f->err);
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

static void test_xsave_family_refused(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(run(f, "\x48\x0f\xae\x2f", 4), -ENOTSUP);
	assert_non_null(strstr(f->err.msg, "xrstor at rip 0xffffffff80100000"));
	assert_non_null(strstr(f->err.msg, "bytes 48 0f ae 2f"));
	assert_int_equal(run(f, "\x48\x0f\xc7\x1f", 4), -ENOTSUP);
	assert_non_null(strstr(f->err.msg, "xrstors"));
	assert_int_equal(run(f, "\x0f\xae\x27", 3), -ENOTSUP);
	assert_non_null(strstr(f->err.msg, "xsave "));
	assert_int_equal(run(f, "\x0f\xae\xe8", 3), -ENOTSUP); /* lfence: not xrstor */
	assert_null(strstr(f->err.msg, "xrstor"));
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
	assert_int_equal(x86_emulate(&f->cpu, &f->mem, &f->act, &f->err), 0);
	assert_int_equal(f->cpu.rip, KBASE + MEM_SIZE);
	f->cpu.rip = KBASE + MEM_SIZE - 3;
	memcpy(f->buf.mem + MEM_SIZE - 3, "\xf0\x48\x0f", 3);
	assert_int_equal(x86_emulate(&f->cpu, &f->mem, &f->act, &f->err), -ENOTSUP);
	assert_non_null(strstr(f->err.msg, "bytes f0 48 0f)"));
	/* A page-table loop under rip: resolves to the table itself, no hang. */
	for (unsigned i = 0; i < 512; i++)
		put64(f, 0x6000 + i * 8, 0x6000 | 3);
	f->cpu.cr3 = 0x6000;
	f->cpu.rip = 0x10;
	f->buf.mem[0x6010] = 0xcc;
	assert_int_equal(x86_emulate(&f->cpu, &f->mem, &f->act, &f->err), 0);
	assert_int_equal(f->cpu.rip, 0x11);
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
	    T(test_xsave_family_refused),
	    T(test_unknown_instructions_refused),
	    T(test_hostile_rip),
	    T(test_instruction_into_unmapped_page),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
