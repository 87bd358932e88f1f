/* test-vmm-devices: the VMM's port bus and device models without KVM: the 8250 UART as Linux's
 * driver and a polling guest use it, the i8042 as Linux's i8042 and atkbd drivers probe it, its
 * IRQ line, FIFO bound, Ctrl-Alt-Del and reset, the debug-exit port, guest memory bounds
 * and the exit dispatcher. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "vmm/bus.h"
#include "vmm/dev/debug-exit.h"
#include "vmm/dev/i8042.h"
#include "vmm/dev/serial8250.h"
#include "vmm/memory.h"
#include "vmm/vcpu.h"
#include "vmm/vm.h"

struct recorder {
	uint64_t offset;
	uint8_t value;
	unsigned calls;
	int last;
};

static void record(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct recorder *r = opaque;

	r->calls++;
	r->offset = offset;
	if (is_write)
		r->value = data[0];
	else
		memset(data, 0x42, len);
}

static void test_bus_register_and_dispatch(void **state)
{
	struct recorder a = {0}, b = {0};
	struct error err;
	struct bus bus;
	uint8_t v = 0;

	bus_init(&bus, "pio");
	assert_int_equal(bus_register(&bus, 0x3f8, 8, "a", record, &a, &err), 0);
	assert_int_equal(bus_register(&bus, 0x60, 1, "b", record, &b, &err), 0);
	assert_int_equal(bus_register(&bus, 0x3fc, 8, "c", record, &a, &err), -EEXIST);
	assert_non_null(strstr(err.msg, "overlaps a"));
	assert_int_equal(bus_register(&bus, 0x3f0, 9, "d", record, &a, &err), -EEXIST);
	assert_int_equal(bus_register(&bus, UINT64_MAX, 2, "e", record, &a, &err), -EINVAL);
	assert_int_equal(bus_register(&bus, 0x10, 0, "f", record, &a, &err), -EINVAL);
	assert_int_equal(bus_register(&bus, 0x3f0, 8, "g", record, &b, &err), 0); /* adjacent */

	v = 0x55;
	assert_true(bus_access(&bus, 0x3fd, &v, 1, true));
	assert_int_equal(a.offset, 5);
	assert_int_equal(a.value, 0x55);
	assert_true(bus_access(&bus, 0x60, &v, 1, false));
	assert_int_equal(v, 0x42);
	assert_int_equal(b.calls, 1);
	/* Unclaimed: reads see all ones, nothing is called. */
	assert_false(bus_access(&bus, 0x61, &v, 1, false));
	assert_int_equal(v, 0xff);
	/* Straddling the end of a range is not claimed. */
	uint32_t w = 0;
	assert_false(bus_access(&bus, 0x3ff, (uint8_t *)&w, 2, false));
	assert_int_equal(w, 0xffff);
	assert_null(bus_find(&bus, 0x400, 1));
	assert_non_null(bus_find(&bus, 0x3f0, 8));
	bus_release(&bus);
}

struct irq_log {
	int level;
	unsigned changes;
};

static void irq_cb(void *opaque, int level)
{
	struct irq_log *l = opaque;

	l->level = level;
	l->changes++;
}

static uint8_t uart_in(struct serial8250 *s, unsigned reg)
{
	uint8_t v = 0;

	serial8250_io(s, reg, &v, 1, false);
	return v;
}

static void uart_out(struct serial8250 *s, unsigned reg, uint8_t v)
{
	serial8250_io(s, reg, &v, 1, true);
}

static void test_uart_polled_output(void **state)
{
	struct serial8250 s;
	int p[2];
	char buf[16] = {0};

	assert_int_equal(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
	serial8250_init(&s, p[1], NULL, NULL);
	assert_true(uart_in(&s, UART_LSR) & UART_LSR_THRE);
	assert_true(uart_in(&s, UART_LSR) & UART_LSR_TEMT);
	assert_false(uart_in(&s, UART_LSR) & UART_LSR_DR);
	for (const char *c = "hi\n"; *c; c++)
		uart_out(&s, UART_TX, (uint8_t)*c);
	assert_int_equal(read(p[0], buf, sizeof(buf)), 3);
	assert_string_equal(buf, "hi\n");
	assert_int_equal(s.tx_bytes, 3);
	serial8250_destroy(&s);
	close(p[0]);
	close(p[1]);
}

static void test_uart_registers(void **state)
{
	struct serial8250 s;

	serial8250_init(&s, -1, NULL, NULL);
	/* Divisor latch: DLAB switches offsets 0 and 1, THR writes are not output. */
	uart_out(&s, UART_LCR, UART_LCR_DLAB | 0x03);
	uart_out(&s, UART_DLL, 0x01);
	uart_out(&s, UART_DLM, 0x00);
	assert_int_equal(uart_in(&s, UART_DLL), 0x01);
	assert_int_equal(uart_in(&s, UART_DLM), 0x00);
	assert_int_equal(s.tx_bytes, 0);
	uart_out(&s, UART_LCR, 0x03);
	assert_int_equal(uart_in(&s, UART_LCR), 0x03);
	/* Scratch register (Linux's first probe). */
	uart_out(&s, UART_SCR, 0xa5);
	assert_int_equal(uart_in(&s, UART_SCR), 0xa5);
	/* Loopback: MSR mirrors MCR as Linux's autoconfig expects (0x90 for OUT2|RTS). */
	uart_out(&s, UART_MCR, UART_MCR_LOOP | UART_MCR_OUT2 | UART_MCR_RTS);
	assert_int_equal(uart_in(&s, UART_MSR) & 0xf0, UART_MSR_DCD | UART_MSR_CTS);
	uart_out(&s, UART_TX, 'x'); /* looped back, not output */
	assert_true(uart_in(&s, UART_LSR) & UART_LSR_DR);
	assert_int_equal(uart_in(&s, UART_RX), 'x');
	uart_out(&s, UART_MCR, UART_MCR_OUT2);
	assert_int_equal(uart_in(&s, UART_MSR), UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS);
	/* FIFO: IIR's top bits say 16550A. */
	assert_int_equal(uart_in(&s, UART_IIR), UART_IIR_NO_INT);
	uart_out(&s, UART_FCR, UART_FCR_ENABLE);
	assert_int_equal(uart_in(&s, UART_IIR), UART_IIR_FIFO | UART_IIR_NO_INT);
	/* Out-of-range offsets are ignored. */
	uint8_t v = 7;
	serial8250_io(&s, 9, &v, 1, false);
	assert_int_equal(v, 7);
	serial8250_destroy(&s);
}

static void test_uart_interrupts(void **state)
{
	struct irq_log irq = {0};
	struct serial8250 s;
	uint8_t in[80];

	serial8250_init(&s, -1, irq_cb, &irq);
	/* Enabling THRI with THR empty raises the line; reading IIR acknowledges it. */
	uart_out(&s, UART_IER, UART_IER_THRI);
	assert_int_equal(irq.level, 1);
	assert_int_equal(uart_in(&s, UART_IIR) & 0x0f, UART_IIR_THRI);
	assert_int_equal(irq.level, 0);
	assert_int_equal(uart_in(&s, UART_IIR) & 0x0f, UART_IIR_NO_INT);
	uart_out(&s, UART_TX, 'a'); /* the byte leaves: THRE again */
	assert_int_equal(irq.level, 1);
	uart_out(&s, UART_IER, 0);
	assert_int_equal(irq.level, 0);
	/* Received data: DR, RDI before THRI, the line drops when the FIFO is drained. */
	uart_out(&s, UART_IER, UART_IER_RDI);
	memset(in, 'z', sizeof(in));
	assert_int_equal(serial8250_receive(&s, in, sizeof(in)), SERIAL8250_RX_FIFO);
	assert_int_equal(irq.level, 1);
	assert_int_equal(uart_in(&s, UART_IIR) & 0x0f, UART_IIR_RDI);
	for (int i = 0; i < SERIAL8250_RX_FIFO; i++)
		assert_int_equal(uart_in(&s, UART_RX), 'z');
	assert_false(uart_in(&s, UART_LSR) & UART_LSR_DR);
	assert_int_equal(irq.level, 0);
	assert_int_equal(uart_in(&s, UART_RX), 0); /* empty FIFO reads 0 */
	serial8250_destroy(&s);
}

struct ends {
	unsigned resets;
	int status;
	unsigned exits;
};

static void on_reset(void *opaque)
{
	((struct ends *)opaque)->resets++;
}

static void on_exit_port(void *opaque, int status)
{
	struct ends *e = opaque;

	e->status = status;
	e->exits++;
}

static uint8_t kbc_status(struct i8042 *k)
{
	uint8_t v = 0;

	i8042_command_io(k, 0, &v, 1, false);
	return v;
}

static void kbc_command(struct i8042 *k, uint8_t v)
{
	i8042_command_io(k, 0, &v, 1, true);
}

static void kbc_write(struct i8042 *k, uint8_t v)
{
	i8042_data_io(k, 0, &v, 1, true);
}

/* Reads the output buffer, which must be full (as the guest waits for OBF). */
static uint8_t kbc_read(struct i8042 *k)
{
	uint8_t v = 0;

	assert_true(kbc_status(k) & I8042_STR_OBF);
	i8042_data_io(k, 0, &v, 1, false);
	return v;
}

static void kbc_expect(struct i8042 *k, const uint8_t *bytes, size_t n)
{
	for (size_t i = 0; i < n; i++)
		assert_int_equal(kbc_read(k), bytes[i]);
	assert_false(kbc_status(k) & I8042_STR_OBF);
}

#define EXPECT(k, ...)                                                                             \
	kbc_expect(k, (const uint8_t[]){__VA_ARGS__}, sizeof((const uint8_t[]){__VA_ARGS__}))

static uint8_t kbc_read_ctr(struct i8042 *k)
{
	kbc_command(k, I8042_CMD_READ_CTR);
	return kbc_read(k);
}

static void kbc_write_ctr(struct i8042 *k, uint8_t ctr)
{
	kbc_command(k, I8042_CMD_WRITE_CTR);
	kbc_write(k, ctr);
}

/* What Linux's i8042 driver does at probe, then what it does to enable the keyboard port. */
static void linux_i8042_probe(struct i8042 *k, bool direct)
{
	uint8_t ctr;

	assert_false(kbc_status(k) & I8042_STR_OBF); /* i8042_flush: nothing to drain */
	assert_true(kbc_status(k) & I8042_STR_KEYLOCK);
	kbc_command(k, I8042_CMD_SELF_TEST);
	EXPECT(k, 0x55);
	ctr = kbc_read_ctr(k);
	assert_int_equal(kbc_read_ctr(k), ctr); /* read twice until equal */
	assert_true(ctr & I8042_CTR_XLATE);
	ctr |= I8042_CTR_KBDDIS;
	ctr &= (uint8_t)~I8042_CTR_KBDINT;
	if (direct)
		ctr &= (uint8_t)~I8042_CTR_XLATE;
	kbc_write_ctr(k, ctr);
	assert_int_equal(kbc_read_ctr(k), ctr);
	/* i8042_check_aux: the loop comes back without AUXDATA, the aux test fails: no AUX. */
	kbc_command(k, I8042_CMD_AUX_LOOP);
	kbc_write(k, 0x5a);
	assert_int_equal(kbc_status(k) & (I8042_STR_OBF | I8042_STR_AUXDATA), I8042_STR_OBF);
	kbc_command(k, I8042_CMD_AUX_TEST);
	uint8_t aux = kbc_read(k);
	assert_true(aux != 0 && aux != 0xfa && aux != 0xff);
	assert_false(kbc_status(k) & I8042_STR_OBF); /* the answer replaced the loop's byte */
	/* i8042_enable_kbd_port */
	ctr &= (uint8_t)~I8042_CTR_KBDDIS;
	ctr |= I8042_CTR_KBDINT;
	kbc_write_ctr(k, ctr);
}

static void test_i8042_linux_probe(void **state)
{
	struct irq_log irq = {0};
	struct i8042 k;

	i8042_init(&k, NULL, irq_cb, &irq);
	linux_i8042_probe(&k, false);
	assert_int_equal(irq.level, 0);
	/* atkbd_probe: reset (atkbd.reset), GETID (translated: 0xab 0x41), deactivate. */
	kbc_write(&k, I8042_KBD_RESET);
	assert_int_equal(irq.level, 1); /* the ACK is in the output buffer */
	EXPECT(&k, I8042_KBD_REPLY_ACK, I8042_KBD_REPLY_BAT);
	assert_int_equal(irq.level, 0);
	kbc_write(&k, I8042_KBD_GET_ID);
	EXPECT(&k, I8042_KBD_REPLY_ACK, 0xab, 0x41);
	kbc_write(&k, I8042_KBD_DISABLE);
	EXPECT(&k, I8042_KBD_REPLY_ACK);
	/* atkbd_reset_state: LEDs off, typematic; atkbd_activate. */
	kbc_write(&k, I8042_KBD_SET_LEDS);
	EXPECT(&k, I8042_KBD_REPLY_ACK);
	kbc_write(&k, 0x07);
	EXPECT(&k, I8042_KBD_REPLY_ACK);
	assert_int_equal(k.leds, 0x07);
	kbc_write(&k, I8042_KBD_SET_REP);
	kbc_write(&k, 0x00);
	EXPECT(&k, I8042_KBD_REPLY_ACK, I8042_KBD_REPLY_ACK);
	kbc_write(&k, I8042_KBD_ENABLE);
	EXPECT(&k, I8042_KBD_REPLY_ACK);
	/* The scan code set, queried (translated: set 2 reads 0x41) and set. */
	kbc_write(&k, I8042_KBD_SCANSET);
	kbc_write(&k, 0);
	EXPECT(&k, I8042_KBD_REPLY_ACK, I8042_KBD_REPLY_ACK, 0x41);
	kbc_write(&k, I8042_KBD_SCANSET);
	kbc_write(&k, 4);
	EXPECT(&k, I8042_KBD_REPLY_ACK, I8042_KBD_REPLY_NAK);
	kbc_write(&k, I8042_KBD_ECHO);
	EXPECT(&k, I8042_KBD_ECHO);
	kbc_write(&k, 0x42); /* not a command */
	EXPECT(&k, I8042_KBD_REPLY_NAK);
	assert_int_equal(k.resets, 0);
	i8042_destroy(&k);
}

static void test_i8042_untranslated(void **state)
{
	struct i8042 k;

	i8042_init(&k, NULL, NULL, NULL);
	linux_i8042_probe(&k, true); /* i8042.direct */
	kbc_write(&k, I8042_KBD_GET_ID);
	EXPECT(&k, I8042_KBD_REPLY_ACK, 0xab, 0x83);
	kbc_write(&k, I8042_KBD_SCANSET);
	kbc_write(&k, 0);
	EXPECT(&k, I8042_KBD_REPLY_ACK, I8042_KBD_REPLY_ACK, 2);
	/* Ctrl-Alt-Del in set 2, then in set 1; set 3 is not decoded. */
	assert_true(i8042_press_ctrl_alt_del(&k));
	EXPECT(&k, 0x14, 0x11, 0xe0, 0x71, 0xf0, 0x14, 0xf0, 0x11, 0xe0, 0xf0, 0x71);
	kbc_write(&k, I8042_KBD_SCANSET);
	kbc_write(&k, 1);
	EXPECT(&k, I8042_KBD_REPLY_ACK, I8042_KBD_REPLY_ACK);
	assert_true(i8042_press_ctrl_alt_del(&k));
	EXPECT(&k, 0x1d, 0x38, 0xe0, 0x53, 0x9d, 0xb8, 0xe0, 0xd3);
	kbc_write(&k, I8042_KBD_SCANSET);
	kbc_write(&k, 3);
	EXPECT(&k, I8042_KBD_REPLY_ACK, I8042_KBD_REPLY_ACK);
	assert_false(i8042_press_ctrl_alt_del(&k));
	assert_false(kbc_status(&k) & I8042_STR_OBF);
	i8042_destroy(&k);
}

static void test_i8042_ctrl_alt_del(void **state)
{
	struct irq_log irq = {0};
	struct i8042 k;

	i8042_init(&k, NULL, irq_cb, &irq);
	/* Power-on: the keyboard interface is disabled; the keys wait in the keyboard. */
	assert_true(i8042_press_ctrl_alt_del(&k));
	assert_false(kbc_status(&k) & I8042_STR_OBF);
	assert_int_equal(irq.changes, 0);
	linux_i8042_probe(&k, false);
	/* Each byte is its own edge on IRQ 1: up while in the buffer, down when read. */
	const uint8_t keys[] = {0x1d, 0x38, 0xe0, 0x53, 0x9d, 0xb8, 0xe0, 0xd3};
	for (size_t i = 0; i < sizeof(keys); i++) {
		assert_int_equal(irq.level, 1);
		unsigned before = irq.changes;
		assert_int_equal(kbc_read(&k), keys[i]);
		assert_int_equal(irq.changes, before + (i + 1 < sizeof(keys) ? 2 : 1));
	}
	assert_int_equal(irq.level, 0);
	assert_false(kbc_status(&k) & I8042_STR_OBF);
	/* Once more, while the guest runs; then with scanning off (F5): nothing is sent. */
	assert_true(i8042_press_ctrl_alt_del(&k));
	EXPECT(&k, 0x1d, 0x38, 0xe0, 0x53, 0x9d, 0xb8, 0xe0, 0xd3);
	kbc_write(&k, I8042_KBD_DISABLE);
	EXPECT(&k, I8042_KBD_REPLY_ACK);
	assert_false(i8042_press_ctrl_alt_del(&k));
	assert_false(kbc_status(&k) & I8042_STR_OBF);
	assert_int_equal(irq.level, 0);
	i8042_destroy(&k);
}

static void test_i8042_irq_follows_ctr(void **state)
{
	struct irq_log irq = {0};
	struct i8042 k;

	i8042_init(&k, NULL, irq_cb, &irq);
	kbc_command(&k, I8042_CMD_KBD_ENABLE);
	assert_false(kbc_read_ctr(&k) & I8042_CTR_KBDDIS);
	assert_int_equal(irq.changes, 0); /* interrupts are off at power-on */
	kbc_write(&k, I8042_KBD_ECHO);
	assert_true(kbc_status(&k) & I8042_STR_OBF);
	assert_int_equal(irq.level, 0);
	kbc_write_ctr(&k, I8042_CTR_XLATE | I8042_CTR_KBDINT); /* pending byte: the line goes up */
	assert_int_equal(irq.level, 1);
	EXPECT(&k, I8042_KBD_ECHO);
	assert_int_equal(irq.level, 0);
	/* Controller answers interrupt too, as on the chip. */
	kbc_command(&k, I8042_CMD_KBD_TEST);
	assert_int_equal(irq.level, 1);
	EXPECT(&k, 0x00);
	/* Disabling the interface holds the keyboard's bytes back. */
	kbc_command(&k, I8042_CMD_KBD_DISABLE);
	assert_true(kbc_read_ctr(&k) & I8042_CTR_KBDDIS);
	kbc_write(&k, I8042_KBD_ECHO);
	assert_false(kbc_status(&k) & I8042_STR_OBF);
	assert_int_equal(irq.level, 0);
	kbc_command(&k, I8042_CMD_KBD_ENABLE);
	assert_int_equal(irq.level, 1);
	EXPECT(&k, I8042_KBD_ECHO);
	i8042_destroy(&k);
}

static void test_i8042_fifo_bound(void **state)
{
	struct i8042 k;

	i8042_init(&k, NULL, NULL, NULL);
	/* The interface is disabled: a flood of echoes fills the keyboard's FIFO and stops. */
	for (int i = 0; i < 1000; i++)
		kbc_write(&k, I8042_KBD_ECHO);
	assert_int_equal(k.len, I8042_KBD_FIFO);
	assert_false(i8042_press_ctrl_alt_del(&k)); /* no room: nothing half-sent */
	assert_int_equal(k.len, I8042_KBD_FIFO);
	kbc_command(&k, I8042_CMD_KBD_ENABLE);
	for (int i = 0; i < I8042_KBD_FIFO; i++)
		assert_int_equal(kbc_read(&k), I8042_KBD_ECHO);
	assert_false(kbc_status(&k) & I8042_STR_OBF);
	/* An empty buffer reads its last byte again. */
	uint8_t v = 0;
	i8042_data_io(&k, 0, &v, 1, false);
	assert_int_equal(v, I8042_KBD_ECHO);
	/* The keyboard's reset drops what it had not sent. */
	kbc_command(&k, I8042_CMD_KBD_DISABLE);
	for (int i = 0; i < 5; i++)
		kbc_write(&k, I8042_KBD_ECHO);
	kbc_write(&k, I8042_KBD_RESET);
	kbc_command(&k, I8042_CMD_KBD_ENABLE);
	EXPECT(&k, I8042_KBD_REPLY_ACK, I8042_KBD_REPLY_BAT);
	i8042_destroy(&k);
}

static void test_i8042_controller_commands(void **state)
{
	struct i8042 k;
	uint8_t wide[4];

	i8042_init(&k, NULL, NULL, NULL);
	assert_int_equal(kbc_read_ctr(&k),
			 I8042_CTR_XLATE | I8042_CTR_AUXDIS | I8042_CTR_KBDDIS | I8042_CTR_SYSFLAG);
	assert_true(kbc_status(&k) & I8042_STR_SYSFLAG);
	assert_true(kbc_status(&k) & I8042_STR_CMDDAT);
	kbc_write_ctr(&k, 0);
	assert_false(kbc_status(&k) & (I8042_STR_CMDDAT | I8042_STR_SYSFLAG | I8042_STR_IBF));
	kbc_command(&k, I8042_CMD_AUX_ENABLE);
	assert_false(kbc_read_ctr(&k) & I8042_CTR_AUXDIS);
	kbc_command(&k, I8042_CMD_AUX_DISABLE);
	assert_true(kbc_read_ctr(&k) & I8042_CTR_AUXDIS);
	kbc_command(&k, I8042_CMD_READ_OUTPORT);
	EXPECT(&k, 0x03);
	kbc_command(&k, I8042_CMD_KBD_LOOP);
	kbc_write(&k, 0x99);
	EXPECT(&k, 0x99);
	/* Bytes for the missing mouse go nowhere; the next data byte is the keyboard's again. */
	kbc_command(&k, I8042_CMD_AUX_SEND);
	kbc_write(&k, 0xff);
	assert_false(kbc_status(&k) & I8042_STR_OBF);
	assert_int_equal(k.len, 0);
	/* A new command cancels one waiting for its data byte. */
	kbc_command(&k, I8042_CMD_WRITE_CTR);
	kbc_command(&k, I8042_CMD_KBD_ENABLE);
	kbc_write(&k, I8042_KBD_ECHO);
	EXPECT(&k, I8042_KBD_ECHO);
	/* Wider accesses use the low byte, reads fill the rest with ones; other offsets: ones. */
	memset(wide, 0, sizeof(wide));
	i8042_command_io(&k, 0, wide, 4, false);
	assert_int_equal(wide[3], 0xff);
	i8042_io(&k, 2, wide, 1, false);
	assert_int_equal(wide[0], 0xff);
	i8042_data_io(&k, 1, wide, 1, true); /* outside the one-port range: ignored */
	assert_false(kbc_status(&k) & I8042_STR_OBF);
	i8042_destroy(&k);
}

static void test_i8042_reset_line(void **state)
{
	struct ends e = {0};
	struct i8042 k;

	i8042_init(&k, on_reset, NULL, &e);
	kbc_command(&k, 0xff); /* pulses no line */
	kbc_command(&k, 0xfd);
	assert_int_equal(e.resets, 0);
	kbc_command(&k, I8042_CMD_RESET);
	assert_int_equal(e.resets, 1);
	kbc_command(&k, 0xf0);
	assert_int_equal(e.resets, 2);
	kbc_command(&k, I8042_CMD_WRITE_OUTPORT);
	kbc_write(&k, 0x03); /* reset line kept high */
	assert_int_equal(e.resets, 2);
	kbc_command(&k, I8042_CMD_WRITE_OUTPORT);
	kbc_write(&k, 0x02);
	assert_int_equal(e.resets, 3);
	assert_int_equal(k.resets, 3);
	i8042_destroy(&k);
}

struct presser {
	struct i8042 *k;
	unsigned presses;
};

static void *press_thread(void *arg)
{
	struct presser *p = arg;

	for (unsigned done = 0; done < p->presses;)
		if (i8042_press_ctrl_alt_del(p->k))
			done++;
		else
			sched_yield();
	return NULL;
}

/* A host thread presses while a vCPU reads: every sequence arrives whole and in order. */
static void test_i8042_press_from_another_thread(void **state)
{
	static const uint8_t keys[] = {0x1d, 0x38, 0xe0, 0x53, 0x9d, 0xb8, 0xe0, 0xd3};
	struct i8042 k;
	struct presser p = {&k, 200};
	pthread_t t;

	i8042_init(&k, NULL, NULL, NULL);
	linux_i8042_probe(&k, false);
	assert_int_equal(pthread_create(&t, NULL, press_thread, &p), 0);
	for (size_t got = 0; got < p.presses * sizeof(keys);) {
		uint8_t v;
		if (!(kbc_status(&k) & I8042_STR_OBF))
			continue;
		i8042_data_io(&k, 0, &v, 1, false);
		assert_int_equal(v, keys[got % sizeof(keys)]);
		got++;
	}
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_false(kbc_status(&k) & I8042_STR_OBF);
	i8042_destroy(&k);
}

static void test_debug_exit(void **state)
{
	struct ends e = {0};
	struct debug_exit d = {on_exit_port, &e};
	uint8_t v = 0;

	debug_exit_io(&d, 0, &v, 1, false);
	assert_int_equal(v, 0xff);
	assert_int_equal(e.exits, 0);
	v = 42;
	debug_exit_io(&d, 0, &v, 1, true);
	assert_int_equal(e.exits, 1);
	assert_int_equal(e.status, 42);
}

static void test_memory_bounds(void **state)
{
	static uint8_t buf[1 << 16];
	struct guest_memory m;
	uint8_t x = 1;

	guest_memory_init_buffer(&m, buf, sizeof(buf));
	assert_ptr_equal(guest_memory_hva(&m, 0, sizeof(buf)), buf);
	assert_ptr_equal(guest_memory_hva(&m, 0x100, 4), buf + 0x100);
	assert_ptr_equal(guest_memory_hva(&m, sizeof(buf) - 1, 0), buf + sizeof(buf) - 1);
	assert_null(guest_memory_hva(&m, sizeof(buf), 1));
	assert_null(guest_memory_hva(&m, sizeof(buf) - 1, 2));
	assert_null(guest_memory_hva(&m, 1, UINT64_MAX));
	assert_null(guest_memory_hva(&m, UINT64_MAX, 2)); /* wraps */
	assert_null(guest_memory_hva(&m, UINT64_MAX - 1, 16));
	assert_int_equal(guest_memory_write(&m, sizeof(buf), &x, 1), -EFAULT);
	assert_int_equal(guest_memory_read(&m, 0x10, &x, 1), 0);
	assert_int_equal(x, 0);
	/* Above the 32-bit hole: two regions, the hole itself is not RAM. */
	guest_memory_init_buffer(&m, (void *)0x1000, 5ULL << 30);
	assert_int_equal(m.nregions, 2);
	assert_int_equal(guest_memory_low_end(&m), GUEST_MMIO_HOLE_START);
	assert_null(guest_memory_hva(&m, GUEST_MMIO_HOLE_START, 1));
	assert_null(guest_memory_hva(&m, GUEST_MMIO_HOLE_START - 1, 2));
	assert_ptr_equal(guest_memory_hva(&m, GUEST_HIGH_RAM_START, 1),
			 (uint8_t *)0x1000 + GUEST_MMIO_HOLE_START);
	assert_null(guest_memory_hva(&m, GUEST_HIGH_RAM_START + (2ULL << 30), 1));
}

static void test_exit_dispatch(void **state)
{
	struct recorder r = {0};
	struct error err;
	struct vm vm;
	uint8_t data[8] = {'a', 'b', 'c'};
	struct accel_exit e = {.reason = ACCEL_EXIT_IO,
			       .addr = 0x3f8,
			       .size = 1,
			       .count = 3,
			       .is_write = true,
			       .data = data};

	memset(&vm, 0, sizeof(vm));
	bus_init(&vm.pio, "pio");
	bus_init(&vm.mmio, "mmio");
	assert_int_equal(bus_register(&vm.pio, 0x3f8, 8, "r", record, &r, &err), 0);
	vcpu_handle_io(&vm, &e); /* rep outsb: three writes */
	assert_int_equal(r.calls, 3);
	assert_int_equal(r.value, 'c');
	e.size = 9; /* nonsense from the accelerator: ignored */
	vcpu_handle_io(&vm, &e);
	assert_int_equal(r.calls, 3);
	e = (struct accel_exit){
	    .reason = ACCEL_EXIT_MMIO, .addr = 0xd0000000, .size = 4, .count = 1, .data = data};
	vcpu_handle_io(&vm, &e); /* unclaimed MMIO read: all ones, no crash */
	assert_int_equal(data[0], 0xff);
	bus_release(&vm.pio);
	bus_release(&vm.mmio);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_bus_register_and_dispatch),
	    cmocka_unit_test(test_uart_polled_output),
	    cmocka_unit_test(test_uart_registers),
	    cmocka_unit_test(test_uart_interrupts),
	    cmocka_unit_test(test_i8042_linux_probe),
	    cmocka_unit_test(test_i8042_untranslated),
	    cmocka_unit_test(test_i8042_ctrl_alt_del),
	    cmocka_unit_test(test_i8042_irq_follows_ctr),
	    cmocka_unit_test(test_i8042_fifo_bound),
	    cmocka_unit_test(test_i8042_controller_commands),
	    cmocka_unit_test(test_i8042_reset_line),
	    cmocka_unit_test(test_i8042_press_from_another_thread),
	    cmocka_unit_test(test_debug_exit),
	    cmocka_unit_test(test_memory_bounds),
	    cmocka_unit_test(test_exit_dispatch),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
