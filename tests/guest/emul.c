/* emul: the test guest for instructions that kvm_pvm cannot emulate in kernel mode (the
 * monitor does: vmm/x86/emulate.c). Booted by PVH (pvh-entry.S, long mode, CS 0x08), it loads
 * an IDT with handlers for #BP (3) and vector 0x40, executes int3, int $0x40 and
 * lock cmpxchg16b (equal, then not equal); then enables XSAVE (XCR0 x87|SSE, |AVX where CPUID
 * has it) and runs ldmxcsr, xsave64, xrstor64 (after clobbering), xsaveopt64, stmxcsr and an
 * xrstor64 that initializes SSE; prints what happened and ends as the command line says (see
 * guest.h). With VT-x/AMD-V the same instructions run on the CPU: same output. */
#include "guest.h"

struct hvm_start_info {
	uint32_t magic, version, flags, nr_modules;
	uint64_t modlist_paddr, cmdline_paddr;
};

struct idt_gate {
	uint16_t off_lo, sel;
	uint8_t ist, type;
	uint16_t off_mid;
	uint32_t off_hi, zero;
};

static struct idt_gate idt[256] __attribute__((aligned(16)));
static struct __attribute__((packed)) {
	uint16_t limit;
	uint64_t base;
} idtr;

/* Set by the handlers: how often each ran and the rip its frame returns to. */
volatile uint64_t bp_count, bp_rip, soft_count, soft_rip;

void bp_handler(void);
void soft_handler(void);
void pvh_main(const struct hvm_start_info *si);

__asm__(".text\n"
	"bp_handler:\n"
	"	push %rax\n"
	"	incq bp_count(%rip)\n"
	"	mov 8(%rsp), %rax\n"
	"	mov %rax, bp_rip(%rip)\n"
	"	pop %rax\n"
	"	iretq\n"
	"soft_handler:\n"
	"	push %rax\n"
	"	incq soft_count(%rip)\n"
	"	mov 8(%rsp), %rax\n"
	"	mov %rax, soft_rip(%rip)\n"
	"	pop %rax\n"
	"	iretq\n");

static void set_gate(unsigned vector, void (*handler)(void))
{
	uint64_t a = (uint64_t)(uintptr_t)handler;

	idt[vector] = (struct idt_gate){.off_lo = (uint16_t)a,
					.sel = 0x08,
					.type = 0x8e,
					.off_mid = (uint16_t)(a >> 16),
					.off_hi = (uint32_t)(a >> 32)};
}

static void report(const char *what, uint64_t count, uint64_t rip, uint64_t expected)
{
	guest_puts(what);
	guest_puts(": handled ");
	guest_putdec(count);
	guest_puts(rip == expected ? ", return rip ok\n" : ", return rip WRONG\n");
}

static void test_traps(void)
{
	uint64_t after;

	set_gate(3, bp_handler);
	set_gate(0x40, soft_handler);
	idtr.limit = sizeof(idt) - 1;
	idtr.base = (uint64_t)(uintptr_t)idt;
	__asm__ volatile("lidt %0" : : "m"(idtr));
	__asm__ volatile("int3\n1: lea 1b(%%rip), %0" : "=r"(after) : : "memory");
	report("int3", bp_count, bp_rip, after);
	__asm__ volatile("int $0x40\n1: lea 1b(%%rip), %0" : "=r"(after) : : "memory");
	report("int 0x40", soft_count, soft_rip, after);
}

static struct {
	uint64_t lo, hi;
} m128 __attribute__((aligned(16))) = {0x1111, 0x2222};

static void cmpxchg16b(uint64_t *lo, uint64_t *hi, uint64_t nlo, uint64_t nhi, uint8_t *zf)
{
	__asm__ volatile("lock cmpxchg16b %[m]; sete %[zf]"
			 : [m] "+m"(m128), "+a"(*lo), "+d"(*hi), [zf] "=q"(*zf)
			 : "b"(nlo), "c"(nhi)
			 : "memory", "cc");
}

static void test_cmpxchg16b(void)
{
	uint64_t lo = 0x1111, hi = 0x2222;
	uint8_t zf;

	cmpxchg16b(&lo, &hi, 0x3333, 0x4444, &zf);
	guest_puts("cmpxchg16b equal: zf=");
	guest_putdec(zf);
	guest_puts(" mem=");
	guest_puthex(m128.lo);
	guest_puts(":");
	guest_puthex(m128.hi);
	lo = 0x1111;
	hi = 0x2222;
	cmpxchg16b(&lo, &hi, 0x5555, 0x6666, &zf);
	guest_puts("\ncmpxchg16b differ: zf=");
	guest_putdec(zf);
	guest_puts(" rdx:rax=");
	guest_puthex(lo);
	guest_puts(":");
	guest_puthex(hi);
	guest_puts(" mem=");
	guest_puthex(m128.lo);
	guest_puts("\n");
}

#define CR0_MP	    (1ULL << 1)
#define CR0_EM	    (1ULL << 2)
#define CR0_TS	    (1ULL << 3)
#define CR4_OSFXSR  (1ULL << 9)
#define CR4_OSXSAVE (1ULL << 18)

/* XSAVE areas: 4 KiB covers every component up to AVX-512's. */
static uint8_t area[4096] __attribute__((aligned(64)));
static uint8_t init_area[4096] __attribute__((aligned(64)));
static const uint64_t xmm_in[4] __attribute__((aligned(16))) = {
    0x1122334455667788, 0x99aabbccddeeff00, 0x0123456789abcdef, 0xfedcba9876543210};
static const uint64_t zero[4] __attribute__((aligned(16)));
static uint64_t xmm_out[4] __attribute__((aligned(16)));

static uint64_t load64(const uint8_t *p)
{
	return *(const uint64_t *)(const void *)p;
}

/* Enables XSAVE with XCR0 = x87 | SSE (| AVX where CPUID leaf 0xd offers it). */
static void enable_xsave(void)
{
	uint64_t cr0, cr4;
	uint32_t a, b, c, d, xcr0 = 3;

	__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0xd), "c"(0));
	if (a & 4)
		xcr0 |= 4;
	__asm__ volatile("mov %%cr0, %0" : "=r"(cr0));
	__asm__ volatile("mov %0, %%cr0" : : "r"((cr0 | CR0_MP) & ~(CR0_EM | CR0_TS)));
	__asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
	__asm__ volatile("mov %0, %%cr4" : : "r"(cr4 | CR4_OSFXSR | CR4_OSXSAVE));
	__asm__ volatile("xsetbv" : : "a"(xcr0), "d"(0), "c"(0));
}

static void xrstor(uint8_t *p, uint32_t mask)
{
	__asm__ volatile("xrstor64 %0" : : "m"(*p), "a"(mask), "d"(0) : "memory");
}

/* xmm0 = v[0..1], xmm1 = v[2..3], MXCSR = mxcsr. */
static void set_xmm(const uint64_t *v, uint32_t mxcsr)
{
	__asm__ volatile("movdqu %0, %%xmm0; movdqu %1, %%xmm1; ldmxcsr %2"
			 :
			 : "m"(v[0]), "m"(v[2]), "m"(mxcsr)
			 : "memory");
}

/* xmm0 and xmm1 into xmm_out; returns MXCSR. */
static uint32_t get_xmm(void)
{
	uint32_t mxcsr;

	__asm__ volatile("movdqu %%xmm0, %0; movdqu %%xmm1, %1; stmxcsr %2"
			 : "=m"(xmm_out[0]), "=m"(xmm_out[2]), "=m"(mxcsr)
			 :
			 : "memory");
	return mxcsr;
}

static void test_xsave(void)
{
	uint32_t mxcsr;

	enable_xsave();
	set_xmm(xmm_in, 0x1fa0);
	__asm__ volatile("xsave64 %0" : "=m"(area) : "a"(-1), "d"(-1) : "memory");
	guest_puts("xsave: sse in use=");
	guest_puthex((load64(area + 512) >> 1) & 1);
	guest_puts(" xmm0=");
	guest_puthex(load64(area + 160));
	guest_puts(" mxcsr=");
	guest_puthex(load64(area + 24) & 0xffffffff);
	set_xmm(zero, 0x1f80); /* clobber */
	xrstor(area, 3);
	mxcsr = get_xmm();
	guest_puts("\nxrstor: xmm0=");
	guest_puthex(xmm_out[0]);
	guest_puts(":");
	guest_puthex(xmm_out[1]);
	guest_puts(" xmm1=");
	guest_puthex(xmm_out[2]);
	guest_puts(" mxcsr=");
	guest_puthex(mxcsr);
	__asm__ volatile("xsaveopt64 %0" : "=m"(init_area) : "a"(2), "d"(0) : "memory");
	guest_puts("\nxsaveopt: xmm1=");
	guest_puthex(load64(init_area + 176));
	for (unsigned i = 0; i < sizeof(init_area); i++)
		init_area[i] = 0;
	*(uint32_t *)(void *)(init_area + 24) = 0x1f80;
	xrstor(init_area, 2); /* XSTATE_BV 0: SSE gets its initial state */
	get_xmm();
	guest_puts("\nxrstor init: xmm0=");
	guest_puthex(xmm_out[0] | xmm_out[1]);
	guest_puts("\n");
}

void pvh_main(const struct hvm_start_info *si)
{
	const char *cmdline = (const char *)(uintptr_t)si->cmdline_paddr;

	guest_puts("hello from the guest\nboot: emul\n");
	test_traps();
	test_cmpxchg16b();
	test_xsave();
	guest_finish(cmdline ? cmdline : "");
}
