/* smp: interrupts and application processors. Command line:
 *   timer  program the PIT (channel 0, ~1 kHz) behind the 8259 PIC, take three timer
 *          interrupts through the IDT, print "timer: 3 ticks"
 *   smp    start every other vCPU with INIT-SIPI-SIPI through the local APIC; each runs a
 *          real-mode trampoline up to long mode and checks in; print "cpus up: N"
 * then ends the VM as guest_finish() says. The number of vCPUs comes from "cpus=N".
 */
#include "guest.h"

#define LAPIC_BASE     0xfee00000UL
#define LAPIC_ICR_LOW  0x300
#define LAPIC_ICR_HIGH 0x310
#define ICR_INIT       0x00004500
#define ICR_STARTUP    0x00004600
#define TRAMPOLINE     0x10000 /* SIPI vector 0x10; free RAM below 1 MiB */
#define TIMER_VECTOR   0x20
#define KERNEL_CODE    0x08
#define POLL_LIMIT     2000000

struct pvh_info {
	uint32_t magic, version, flags, nr_modules;
	uint64_t modlist_paddr, cmdline_paddr;
};

struct idt_gate {
	uint16_t off_lo, sel;
	uint8_t ist, type;
	uint16_t off_mid;
	uint32_t off_hi, zero;
};

static struct idt_gate idt[256];
volatile uint64_t ticks;
volatile uint32_t cpus_up = 1;
volatile uint64_t ap_stack_top;
static uint8_t ap_stacks[8][4096] __attribute__((aligned(16)));

void pvh_main(const struct pvh_info *si);
void timer_isr(void);
void ap_main(void);
extern const uint8_t ap_trampoline[], ap_trampoline_end[], ap_cr3[];

/* The timer ISR counts and acknowledges the PIC. The AP trampoline runs from TRAMPOLINE with
 * CS = TRAMPOLINE >> 4: real mode -> 32-bit protected mode on its own GDT -> long mode on the
 * BSP's page tables (ap_cr3, patched in), then ap_main on the stack in ap_stack_top. */
__asm__(".text\n"
	"timer_isr:\n"
	"	push %rax\n"
	"	lock incq ticks(%rip)\n"
	"	mov $0x20, %al\n"
	"	out %al, $0x20\n"
	"	pop %rax\n"
	"	iretq\n"
	".data\n"
	".code16\n"
	"ap_trampoline:\n"
	"	cli\n"
	"	mov %cs, %ax\n"
	"	mov %ax, %ds\n"
	"	lgdtl (tgdt_ptr - ap_trampoline)\n"
	"	mov %cr0, %eax\n"
	"	or $1, %eax\n"
	"	mov %eax, %cr0\n"
	"	.byte 0x66, 0xea\n"
	"	.long 0x10000 + (ap_pm32 - ap_trampoline)\n"
	"	.word 0x08\n"
	".code32\n"
	"ap_pm32:\n"
	"	mov $0x10, %ax\n"
	"	mov %ax, %ds\n"
	"	mov %ax, %es\n"
	"	mov %ax, %ss\n"
	"	mov 0x10000 + (ap_cr3 - ap_trampoline), %eax\n"
	"	mov %eax, %cr3\n"
	"	mov %cr4, %eax\n"
	"	or $0x20, %eax\n"
	"	mov %eax, %cr4\n"
	"	mov $0xc0000080, %ecx\n"
	"	rdmsr\n"
	"	or $0x100, %eax\n"
	"	wrmsr\n"
	"	mov %cr0, %eax\n"
	"	or $0x80000001, %eax\n"
	"	mov %eax, %cr0\n"
	"	.byte 0xea\n"
	"	.long ap_long\n"
	"	.word 0x18\n"
	"	.balign 8\n"
	"tgdt:\n"
	"	.quad 0\n"
	"	.quad 0x00cf9a000000ffff\n" /* 0x08: 32-bit code */
	"	.quad 0x00cf92000000ffff\n" /* 0x10: data */
	"	.quad 0x00af9a000000ffff\n" /* 0x18: 64-bit code */
	"tgdt_ptr:\n"
	"	.word tgdt_ptr - tgdt - 1\n"
	"	.long 0x10000 + (tgdt - ap_trampoline)\n"
	"ap_cr3:\n"
	"	.long 0\n"
	"ap_trampoline_end:\n"
	".text\n"
	".code64\n"
	"ap_long:\n"
	"	mov ap_stack_top(%rip), %rsp\n"
	"	call ap_main\n"
	"1:	cli\n"
	"	hlt\n"
	"	jmp 1b\n");

static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static void lapic_write(uint32_t reg, uint32_t v)
{
	*(volatile uint32_t *)(LAPIC_BASE + reg) = v;
}

static void set_gate(unsigned vec, void (*fn)(void))
{
	uint64_t a = (uint64_t)fn;

	idt[vec] = (struct idt_gate){(uint16_t)a,	  KERNEL_CODE,	       0, 0x8e,
				     (uint16_t)(a >> 16), (uint32_t)(a >> 32), 0};
}

static void timer_test(void)
{
	struct __attribute__((packed)) {
		uint16_t limit;
		uint64_t base;
	} idtr = {sizeof(idt) - 1, (uint64_t)idt};
	unsigned divisor = 1193; /* 1.193182 MHz / 1193: ~1 kHz */

	set_gate(TIMER_VECTOR, timer_isr);
	__asm__ volatile("lidt %0" : : "m"(idtr));
	/* 8259: ICW1..ICW4, IRQ 0-7 at vector 0x20, 8-15 at 0x28; only IRQ 0 unmasked */
	outb(0x20, 0x11), outb(0xa0, 0x11);
	outb(0x21, TIMER_VECTOR), outb(0xa1, TIMER_VECTOR + 8);
	outb(0x21, 4), outb(0xa1, 2);
	outb(0x21, 1), outb(0xa1, 1);
	outb(0x21, 0xfe), outb(0xa1, 0xff);
	outb(0x43, 0x34); /* channel 0, lobyte/hibyte, mode 2 (rate generator) */
	outb(0x40, (uint8_t)divisor), outb(0x40, (uint8_t)(divisor >> 8));
	while (ticks < 3)
		__asm__ volatile("sti; hlt; cli");
	guest_puts("timer: 3 ticks\n");
}

void ap_main(void)
{
	__atomic_fetch_add(&cpus_up, 1, __ATOMIC_SEQ_CST);
}

static void start_ap(unsigned id)
{
	uint32_t want = cpus_up + 1;

	ap_stack_top = (uint64_t)(ap_stacks[id % 8] + sizeof(ap_stacks[0]));
	lapic_write(LAPIC_ICR_HIGH, id << 24);
	lapic_write(LAPIC_ICR_LOW, ICR_INIT);
	for (int i = 0; i < 2; i++) {
		lapic_write(LAPIC_ICR_HIGH, id << 24);
		lapic_write(LAPIC_ICR_LOW, ICR_STARTUP | (TRAMPOLINE >> 12));
	}
	for (long n = 0; cpus_up < want && n < POLL_LIMIT; n++)
		__asm__ volatile("pause");
}

static void smp_test(unsigned cpus)
{
	uint8_t *dst = (uint8_t *)TRAMPOLINE;
	uint64_t cr3;

	__asm__ volatile("mov %%cr3, %0" : "=r"(cr3));
	for (const uint8_t *p = ap_trampoline; p < ap_trampoline_end; p++)
		*dst++ = *p;
	*(volatile uint32_t *)(TRAMPOLINE + (ap_cr3 - ap_trampoline)) = (uint32_t)cr3;
	for (unsigned id = 1; id < cpus && id < 9; id++)
		start_ap(id);
	guest_puts("cpus up: ");
	guest_putdec(cpus_up);
	guest_puts("\n");
}

void pvh_main(const struct pvh_info *si)
{
	const char *cmdline = (const char *)(uintptr_t)si->cmdline_paddr;
	const char *n = guest_arg(cmdline, "cpus=");
	unsigned cpus = 0;

	for (; n && *n >= '0' && *n <= '9'; n++)
		cpus = cpus * 10 + (unsigned)(*n - '0');
	if (guest_arg(cmdline, "timer"))
		timer_test();
	if (guest_arg(cmdline, "smp"))
		smp_test(cpus ? cpus : 2);
	guest_finish(cmdline);
}
