/* emul: the test guest for instructions that kvm_pvm cannot emulate in kernel mode (the
 * monitor does: vmm/x86/emulate.c). Booted by PVH (pvh-entry.S, long mode, CS 0x08), it loads
 * an IDT with handlers for #BP (3) and vector 0x40, executes int3, int $0x40 and
 * lock cmpxchg16b (equal, then not equal), prints what happened and ends as the command line
 * says (see guest.h). With VT-x/AMD-V the same instructions run on the CPU: same output. */
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

void pvh_main(const struct hvm_start_info *si)
{
	const char *cmdline = (const char *)(uintptr_t)si->cmdline_paddr;

	guest_puts("hello from the guest\nboot: emul\n");
	test_traps();
	test_cmpxchg16b();
	guest_finish(cmdline ? cmdline : "");
}
