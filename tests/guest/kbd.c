/* kbd: the keyboard test guest. Brings up the i8042 and the keyboard as Linux's i8042 and atkbd
 * drivers do (polling: no interrupts), prints "kbd ready", then waits for the Ctrl-Alt-Del that
 * `vessel vm stop` presses and exits with status 42. A wrong answer from the controller or the
 * keyboard prints what came and exits with status 1. */
#include "guest.h"

#define DATA		 0x60
#define STATUS		 0x64
#define STR_OBF		 0x01
#define STR_IBF		 0x02
#define CTR_KBDINT	 0x01
#define CTR_KBDDIS	 0x10
#define ACK		 0xfa
#define POLLS		 100000
#define CTRL_ALT_DEL_LEN 8

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

static void fail(const char *what, int got)
{
	guest_puts("kbd: ");
	guest_puts(what);
	guest_puts(": got ");
	if (got < 0)
		guest_puts("nothing");
	else
		guest_puthex((uint64_t)got);
	guest_puts("\n");
	guest_finish("exit=1");
}

/* The next output byte, or -1 when none comes (i8042_wait_read). */
static int read_byte(void)
{
	for (int i = 0; i < POLLS; i++)
		if (inb(STATUS) & STR_OBF)
			return inb(DATA);
	return -1;
}

static void write_port(uint16_t port, uint8_t v)
{
	for (int i = 0; i < POLLS && (inb(STATUS) & STR_IBF); i++)
		;
	outb(port, v);
}

static void expect(const char *what, uint8_t want)
{
	int got = read_byte();

	if (got != want)
		fail(what, got);
}

static void controller_init(void)
{
	uint8_t ctr;
	int v;

	for (int i = 0; i < 16 && (inb(STATUS) & STR_OBF); i++) /* i8042_flush */
		inb(DATA);
	write_port(STATUS, 0xaa);
	expect("controller self-test", 0x55);
	write_port(STATUS, 0x20);
	v = read_byte();
	if (v < 0)
		fail("read command byte", v);
	ctr = (uint8_t)((v | CTR_KBDDIS) & ~CTR_KBDINT);
	write_port(STATUS, 0x60);
	write_port(DATA, ctr);
	ctr &= (uint8_t)~CTR_KBDDIS; /* the keyboard port on, still without interrupts */
	write_port(STATUS, 0x60);
	write_port(DATA, ctr);
}

/* A keyboard command (and its argument when arg >= 0), each acknowledged. */
static void kbd_command(const char *what, uint8_t cmd, int arg)
{
	write_port(DATA, cmd);
	expect(what, ACK);
	if (arg >= 0) {
		write_port(DATA, (uint8_t)arg);
		expect(what, ACK);
	}
}

static void keyboard_init(void)
{
	int id;

	kbd_command("keyboard reset", 0xff, -1);
	expect("keyboard self-test", 0xaa);
	kbd_command("get id", 0xf2, -1);
	expect("keyboard id", 0xab);
	id = read_byte();
	if (id != 0x41 && id != 0x83)
		fail("keyboard id", id);
	kbd_command("disable", 0xf5, -1);
	kbd_command("set leds", 0xed, 0);
	kbd_command("set typematic", 0xf3, 0);
	kbd_command("enable", 0xf4, -1);
}

void pvh_main(const void *si);

void pvh_main(const void *si __attribute__((unused)))
{
	static const uint8_t keys[CTRL_ALT_DEL_LEN] = {0x1d, 0x38, 0xe0, 0x53,
						       0x9d, 0xb8, 0xe0, 0xd3};
	unsigned seen = 0;

	controller_init();
	keyboard_init();
	guest_puts("kbd ready\n");
	while (seen < CTRL_ALT_DEL_LEN) {
		if (!(inb(STATUS) & STR_OBF))
			continue;
		uint8_t v = inb(DATA);
		if (v == keys[seen])
			seen++;
		else
			fail("Ctrl-Alt-Del", v);
	}
	guest_puts("kbd: Ctrl-Alt-Del\n");
	guest_finish("exit=42");
}
