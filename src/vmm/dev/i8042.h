/* i8042: the PC keyboard controller with a PS/2 keyboard behind it (no mouse).
 *
 * Enough of both for Linux's i8042 and atkbd drivers, for a guest that polls, for the reset
 * line, and for Ctrl-Alt-Del, which is how `vessel vm stop` asks a guest to power off (as
 * Firecracker's SendCtrlAltDel does): atkbd turns it into ctrl_alt_del(), a clean reboot or a
 * SIGINT to init, either of which ends the VM.
 *
 * Ports 0x60 (data) and 0x64 (status/command); IRQ 1 through a level callback, high while the
 * output buffer is full and the command byte enables keyboard interrupts (the guest sees an
 * edge per byte). The controller answers its commands in the one-byte output buffer, replacing
 * an unread byte there, as the chip does; the keyboard's bytes wait in a bounded FIFO and move
 * into the output buffer while the keyboard interface is enabled. Reset (commands 0xf0-0xfe with
 * bit 0 clear, or output port bit 0 cleared through 0xd1) calls the reset callback.
 *
 * There is no aux (mouse) port: the aux loop (0xd3) answers on the keyboard side and the aux
 * interface test (0xa9) says the clock line is stuck, so Linux decides at once that there is
 * no AUX port; bytes sent to the mouse (0xd4) go nowhere. A guest can do nothing worse than
 * reset its VM: every guest-written byte is a bounded state change.
 *
 * Thread safety: vCPU threads (port I/O) and a host thread (i8042_press_ctrl_alt_del) share the
 * device; a mutex guards it. The irq callback is called with the mutex held, so level changes
 * reach it in order; the reset callback is called without it.
 */
#ifndef VESSEL_VMM_DEV_I8042_H
#define VESSEL_VMM_DEV_I8042_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define I8042_DATA_PORT	   0x60
#define I8042_COMMAND_PORT 0x64
#define I8042_KBD_IRQ	   1
#define I8042_KBD_FIFO	   16

/* Controller commands (port 0x64). */
#define I8042_CMD_READ_CTR	0x20
#define I8042_CMD_WRITE_CTR	0x60
#define I8042_CMD_AUX_DISABLE	0xa7
#define I8042_CMD_AUX_ENABLE	0xa8
#define I8042_CMD_AUX_TEST	0xa9
#define I8042_CMD_SELF_TEST	0xaa
#define I8042_CMD_KBD_TEST	0xab
#define I8042_CMD_KBD_DISABLE	0xad
#define I8042_CMD_KBD_ENABLE	0xae
#define I8042_CMD_READ_OUTPORT	0xd0
#define I8042_CMD_WRITE_OUTPORT 0xd1
#define I8042_CMD_KBD_LOOP	0xd2
#define I8042_CMD_AUX_LOOP	0xd3
#define I8042_CMD_AUX_SEND	0xd4
#define I8042_CMD_RESET		0xfe

/* Status register (port 0x64, read). */
#define I8042_STR_OBF	  0x01
#define I8042_STR_IBF	  0x02
#define I8042_STR_SYSFLAG 0x04
#define I8042_STR_CMDDAT  0x08 /* the last write was to the command port */
#define I8042_STR_KEYLOCK 0x10 /* set: the keyboard is not inhibited */
#define I8042_STR_AUXDATA 0x20

/* Controller command byte. */
#define I8042_CTR_KBDINT  0x01
#define I8042_CTR_AUXINT  0x02
#define I8042_CTR_SYSFLAG 0x04
#define I8042_CTR_KBDDIS  0x10
#define I8042_CTR_AUXDIS  0x20
#define I8042_CTR_XLATE	  0x40

/* Keyboard commands (port 0x60) and replies. */
#define I8042_KBD_SET_LEDS  0xed
#define I8042_KBD_ECHO	    0xee
#define I8042_KBD_SCANSET   0xf0
#define I8042_KBD_GET_ID    0xf2
#define I8042_KBD_SET_REP   0xf3
#define I8042_KBD_ENABLE    0xf4
#define I8042_KBD_DISABLE   0xf5
#define I8042_KBD_DEFAULTS  0xf6
#define I8042_KBD_RESET	    0xff
#define I8042_KBD_REPLY_ACK 0xfa
#define I8042_KBD_REPLY_BAT 0xaa
#define I8042_KBD_REPLY_NAK 0xfe

typedef void i8042_reset_fn(void *opaque);
typedef void i8042_irq_fn(void *opaque, int level);

struct i8042 {
	pthread_mutex_t lock;
	i8042_reset_fn *reset;
	i8042_irq_fn *irq; /* NULL: no interrupt line */
	void *opaque;
	int irq_level;
	uint8_t ctr;	 /* controller command byte */
	uint8_t outport; /* bit 0: reset line (active low), bit 1: A20 */
	uint8_t out;	 /* the output buffer (port 0x60) */
	bool out_full;
	bool last_was_cmd;
	uint8_t ctl_pending; /* controller command waiting for its data byte; 0: none */
	/* The keyboard. */
	uint8_t fifo[I8042_KBD_FIFO];
	unsigned head, len;
	uint8_t kbd_pending; /* keyboard command waiting for its argument; 0: none */
	uint8_t scanset;     /* 1-3 */
	uint8_t leds;
	bool scanning;
	unsigned resets;
};

void i8042_init(struct i8042 *k, i8042_reset_fn *reset, i8042_irq_fn *irq, void *opaque);
void i8042_destroy(struct i8042 *k);
/* bus_handler_fn for port 0x60 (offset 0) and 0x64 (offset 4) as one range. */
void i8042_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write);
/* The same for two one-port ranges (port 0x61 in between belongs to the PIT). */
void i8042_data_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write);
void i8042_command_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write);
/* Presses and releases Left Ctrl, Left Alt and Delete, in the scan codes the guest reads (set 1,
 * or set 2 when the guest turned translation off); any thread. False, and nothing is queued,
 * when the guest has not left the keyboard scanning in set 1 or 2 or the FIFO lacks room. */
bool i8042_press_ctrl_alt_del(struct i8042 *k);

#endif
