/* lib: see guest.h */
#include "guest.h"

#define COM1	   0x3f8
#define LSR	   5
#define LSR_THRE   0x20
#define DEBUG_EXIT 0x501
#define I8042_CMD  0x64

static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;

	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

void guest_putc(char c)
{
	while (!(inb(COM1 + LSR) & LSR_THRE))
		;
	outb(COM1, (uint8_t)c);
}

void guest_puts(const char *s)
{
	while (*s)
		guest_putc(*s++);
}

void guest_puthex(uint64_t v)
{
	char buf[17];
	int i = 16;

	buf[16] = 0;
	do {
		buf[--i] = "0123456789abcdef"[v & 0xf];
		v >>= 4;
	} while (v && i > 0);
	guest_puts("0x");
	guest_puts(buf + i);
}

void guest_putdec(uint64_t v)
{
	char buf[21];
	int i = 20;

	buf[20] = 0;
	do {
		buf[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v && i > 0);
	guest_puts(buf + i);
}

const char *guest_arg(const char *s, const char *key)
{
	for (; *s; s++) {
		const char *a = s, *b = key;
		while (*b && *a == *b)
			a++, b++;
		if (!*b)
			return a;
	}
	return 0;
}

static const struct __attribute__((packed)) {
	uint16_t limit;
	uint64_t base;
} empty_idt;

void guest_finish(const char *cmdline)
{
	const char *v = guest_arg(cmdline, "exit=");
	unsigned status = 0;

	if (guest_arg(cmdline, "reset"))
		outb(I8042_CMD, 0xfe);
	if (guest_arg(cmdline, "triple")) /* #UD with an empty IDT: #GP, #DF, shutdown */
		__asm__ volatile("lidt %0; ud2" : : "m"(empty_idt));
	if (guest_arg(cmdline, "int3")) /* kvm_pvm cannot emulate int3 in kernel mode */
		__asm__ volatile("lidt %0; int3" : : "m"(empty_idt));
	if (guest_arg(cmdline, "hang")) /* for --timeout: halt with interrupts off, forever */
		for (;;)
			__asm__ volatile("cli; hlt");
	for (; v && *v >= '0' && *v <= '9'; v++)
		status = status * 10 + (unsigned)(*v - '0');
	outb(DEBUG_EXIT, (uint8_t)status);
	for (;;)
		__asm__ volatile("cli; hlt");
}
