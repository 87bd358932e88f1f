/* loop: a CPU-bound loop in guest user mode, for bench/vm. The PVH guest (pvh-entry.S, long
 * mode) marks its first 2 MiB user-accessible, loads a GDT with ring-3 segments and a TSS, an
 * IDT with a #GP handler, and drops to ring 3 with iretq. There it times LOOP_RUNS runs of the
 * loop with rdtsc, then executes hlt, which faults (#GP) back into ring 0, where the handler
 * prints "loop cpl: 3" and "loop ticks: T1 T2 ..." and exits with status 0.
 *
 * Built with -DLOOP_HOST the same file is the host's side of the comparison: the same loop
 * (inline assembly: the same instructions), timed the same way, printed the same way. */
#include <stdint.h>

#define LOOP_RUNS	5
#define LOOP_ITERATIONS 100000000ULL

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi) : : "memory");
	return ((uint64_t)hi << 32) | lo;
}

/* xorshift64: a chain of dependent register operations, nothing else. */
static uint64_t spin(uint64_t n)
{
	uint64_t x = 88172645463325252ULL;

	__asm__ volatile("1:	mov %0, %%rdx\n"
			 "	shl $13, %%rdx\n"
			 "	xor %%rdx, %0\n"
			 "	mov %0, %%rdx\n"
			 "	shr $7, %%rdx\n"
			 "	xor %%rdx, %0\n"
			 "	mov %0, %%rdx\n"
			 "	shl $17, %%rdx\n"
			 "	xor %%rdx, %0\n"
			 "	dec %1\n"
			 "	jnz 1b\n"
			 : "+r"(x), "+r"(n)
			 :
			 : "rdx", "cc");
	return x;
}

static void measure(volatile uint64_t *ticks)
{
	for (int i = 0; i < LOOP_RUNS; i++) {
		uint64_t t0 = rdtsc();
		spin(LOOP_ITERATIONS);
		ticks[i] = rdtsc() - t0;
	}
}

#ifdef LOOP_HOST
#include <stdio.h>

int main(void)
{
	uint64_t ticks[LOOP_RUNS];

	measure(ticks);
	printf("loop ticks:");
	for (int i = 0; i < LOOP_RUNS; i++)
		printf(" %llu", (unsigned long long)ticks[i]);
	printf("\n");
	return 0;
}
#else
#include "guest.h"

#define KERNEL_CS 0x08
#define USER_DS	  (0x18 | 3)
#define USER_CS	  (0x20 | 3)
#define TSS_SEL	  0x28
#define PTE_USER  0x04
#define PTE_ADDR  0x000ffffffffff000ULL
#define VEC_GP	  13

struct idt_gate {
	uint16_t off_lo, sel;
	uint8_t ist, type;
	uint16_t off_mid;
	uint32_t off_hi, zero;
};

static struct __attribute__((packed)) {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1, ist[7], reserved2;
	uint16_t reserved3, iopb;
} tss;

static uint64_t gdt[7] __attribute__((aligned(16))) = {
    0,
    0x00af9a000000ffff, /* 0x08: kernel code, 64-bit */
    0x00cf92000000ffff, /* 0x10: kernel data */
    0x00cff2000000ffff, /* 0x18: user data, DPL 3 */
    0x00affa000000ffff, /* 0x20: user code, 64-bit, DPL 3 */
			/* 0x28: the TSS (two slots), filled in at run time */
};
static struct idt_gate idt[VEC_GP + 1] __attribute__((aligned(16)));
static uint8_t kernel_stack[4096] __attribute__((aligned(16)));
static uint8_t user_stack[4096] __attribute__((aligned(16)));
static volatile uint64_t ticks[LOOP_RUNS];
static volatile int measured;

void gp_entry(void);
void gp_main(const uint64_t *frame) __attribute__((noreturn));
void pvh_main(const void *si);

/* #GP: the CPU pushed SS, RSP, RFLAGS, CS, RIP and the error code; frame points at the last. */
__asm__(".text\n"
	"gp_entry:\n"
	"	mov %rsp, %rdi\n"
	"	and $-16, %rsp\n"
	"	call gp_main\n");

void gp_main(const uint64_t *frame)
{
	if (!measured) {
		guest_puts("loop: unexpected #GP at ");
		guest_puthex(frame[1]);
		guest_puts(", error ");
		guest_puthex(frame[0]);
		guest_puts("\n");
		guest_finish("exit=1");
	}
	guest_puts("loop cpl: ");
	guest_putdec(frame[2] & 3);
	guest_puts("\nloop ticks:");
	for (int i = 0; i < LOOP_RUNS; i++) {
		guest_puts(" ");
		guest_putdec(ticks[i]);
	}
	guest_puts("\n");
	guest_finish("exit=0");
}

static void user_main(void)
{
	measure(ticks);
	measured = 1;
	__asm__ volatile("hlt"); /* privileged: #GP into ring 0 */
	for (;;)
		;
}

/* The first 2 MiB (code, data, stacks) become reachable from ring 3. */
static void open_to_user(void)
{
	uint64_t cr3, *pml4, *pdpt, *pd;

	__asm__ volatile("mov %%cr3, %0" : "=r"(cr3));
	pml4 = (uint64_t *)(uintptr_t)(cr3 & PTE_ADDR);
	pdpt = (uint64_t *)(uintptr_t)(pml4[0] & PTE_ADDR);
	pd = (uint64_t *)(uintptr_t)(pdpt[0] & PTE_ADDR);
	pml4[0] |= PTE_USER;
	pdpt[0] |= PTE_USER;
	pd[0] |= PTE_USER;
	__asm__ volatile("mov %0, %%cr3" : : "r"(cr3) : "memory");
}

static void load_tables(void)
{
	uint64_t base = (uint64_t)(uintptr_t)&tss, gp = (uint64_t)(uintptr_t)gp_entry;
	struct __attribute__((packed)) {
		uint16_t limit;
		uint64_t base;
	} gdtr = {sizeof(gdt) - 1, (uint64_t)(uintptr_t)gdt},
	  idtr = {sizeof(idt) - 1, (uint64_t)(uintptr_t)idt};

	tss.rsp[0] = (uint64_t)(uintptr_t)(kernel_stack + sizeof(kernel_stack));
	tss.iopb = sizeof(tss); /* no I/O bitmap */
	gdt[5] = (sizeof(tss) - 1) | (base & 0xffffff) << 16 | 0x89ULL << 40 |
		 (base >> 24 & 0xff) << 56; /* present, 64-bit TSS, available */
	gdt[6] = base >> 32;
	idt[VEC_GP] = (struct idt_gate){.off_lo = (uint16_t)gp,
					.sel = KERNEL_CS,
					.type = 0x8e,
					.off_mid = (uint16_t)(gp >> 16),
					.off_hi = (uint32_t)(gp >> 32)};
	__asm__ volatile("lgdt %0; lidt %1; ltr %w2" : : "m"(gdtr), "m"(idtr), "r"(TSS_SEL));
}

void pvh_main(const void *si __attribute__((unused)))
{
	uint64_t rsp = (uint64_t)(uintptr_t)(user_stack + sizeof(user_stack) - 8);

	guest_puts("loop: to ring 3\n");
	open_to_user();
	load_tables();
	/* Interrupts stay off (RFLAGS 0x2): nothing but the #GP comes back to ring 0. */
	__asm__ volatile("pushq %0; pushq %1; pushq $0x2; pushq %2; pushq %3; iretq"
			 :
			 : "i"(USER_DS), "r"(rsp), "i"(USER_CS), "r"((uint64_t)(uintptr_t)user_main)
			 : "memory");
	__builtin_unreachable();
}
#endif
