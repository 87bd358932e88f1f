/* i8042: see i8042.h */
#include "vmm/dev/i8042.h"

#include <string.h>

/* What a BIOS leaves: translation on, system flag set, both interfaces disabled until the OS
 * enables them, no interrupts. */
#define CTR_POWER_ON	    (I8042_CTR_XLATE | I8042_CTR_AUXDIS | I8042_CTR_KBDDIS | I8042_CTR_SYSFLAG)
#define OUTPORT_RESET	    0x01
#define OUTPORT_A20	    0x02
#define AUX_TEST_CLOCK_HIGH 0x02 /* no device: nothing pulls the clock line low */
#define KBD_ID_0	    0xab
#define KBD_ID_1	    0x83
#define KBD_ID_1_XLATED	    0x41

void i8042_init(struct i8042 *k, i8042_reset_fn *reset, i8042_irq_fn *irq, void *opaque)
{
	memset(k, 0, sizeof(*k));
	pthread_mutex_init(&k->lock, NULL);
	k->reset = reset;
	k->irq = irq;
	k->opaque = opaque;
	k->ctr = CTR_POWER_ON;
	k->outport = OUTPORT_RESET | OUTPORT_A20;
	k->scanset = 2;
	k->scanning = true; /* a keyboard scans after its power-on self-test */
}

void i8042_destroy(struct i8042 *k)
{
	pthread_mutex_destroy(&k->lock);
}

static void set_irq_locked(struct i8042 *k, int level)
{
	if (level == k->irq_level)
		return;
	k->irq_level = level;
	if (k->irq)
		k->irq(k->opaque, level);
}

/* Moves the keyboard's next byte into an empty output buffer and sets the line to match. */
static void update_locked(struct i8042 *k)
{
	if (!k->out_full && k->len > 0 && !(k->ctr & I8042_CTR_KBDDIS)) {
		k->out = k->fifo[k->head];
		k->head = (k->head + 1) % I8042_KBD_FIFO;
		k->len--;
		k->out_full = true;
	}
	set_irq_locked(k, k->out_full && (k->ctr & I8042_CTR_KBDINT));
}

/* The controller's own answer: it takes the output buffer, as on the chip. */
static void answer(struct i8042 *k, uint8_t v)
{
	k->out = v;
	k->out_full = true;
}

/* The keyboard sends a byte; false (dropped) when its FIFO is full. */
static bool kbd_send(struct i8042 *k, uint8_t v)
{
	if (k->len == I8042_KBD_FIFO)
		return false;
	k->fifo[(k->head + k->len) % I8042_KBD_FIFO] = v;
	k->len++;
	return true;
}

static void kbd_defaults(struct i8042 *k)
{
	k->scanset = 2;
	k->leds = 0;
	k->kbd_pending = 0;
}

static bool xlated(const struct i8042 *k)
{
	return k->ctr & I8042_CTR_XLATE;
}

/* The scan code set number as the guest reads it (the controller translates 1, 2, 3). */
static uint8_t scanset_reply(const struct i8042 *k)
{
	static const uint8_t xlate[] = {0, 0x43, 0x41, 0x3f};

	return xlated(k) ? xlate[k->scanset] : k->scanset;
}

static void kbd_argument(struct i8042 *k, uint8_t cmd, uint8_t v)
{
	if (cmd == I8042_KBD_SCANSET && v > 3) {
		kbd_send(k, I8042_KBD_REPLY_NAK);
		return;
	}
	kbd_send(k, I8042_KBD_REPLY_ACK);
	if (cmd == I8042_KBD_SET_LEDS)
		k->leds = v & 0x07;
	else if (cmd == I8042_KBD_SCANSET && v == 0)
		kbd_send(k, scanset_reply(k));
	else if (cmd == I8042_KBD_SCANSET)
		k->scanset = v;
	/* I8042_KBD_SET_REP: the typematic rate means nothing here */
}

static void kbd_command(struct i8042 *k, uint8_t v)
{
	switch (v) {
	case I8042_KBD_SET_LEDS:
	case I8042_KBD_SCANSET:
	case I8042_KBD_SET_REP:
		k->kbd_pending = v;
		kbd_send(k, I8042_KBD_REPLY_ACK);
		break;
	case I8042_KBD_GET_ID:
		kbd_send(k, I8042_KBD_REPLY_ACK);
		kbd_send(k, KBD_ID_0);
		kbd_send(k, xlated(k) ? KBD_ID_1_XLATED : KBD_ID_1);
		break;
	case I8042_KBD_ECHO:
		kbd_send(k, I8042_KBD_ECHO);
		break;
	case I8042_KBD_ENABLE:
	case I8042_KBD_DISABLE:
	case I8042_KBD_DEFAULTS:
		if (v != I8042_KBD_ENABLE)
			kbd_defaults(k);
		k->scanning = v != I8042_KBD_DISABLE;
		kbd_send(k, I8042_KBD_REPLY_ACK);
		break;
	case I8042_KBD_RESET:
		kbd_defaults(k);
		k->len = 0; /* the reset drops what the keyboard had not sent */
		k->scanning = true;
		kbd_send(k, I8042_KBD_REPLY_ACK);
		kbd_send(k, I8042_KBD_REPLY_BAT);
		break;
	default:
		kbd_send(k, I8042_KBD_REPLY_NAK);
		break;
	}
}

/* A data byte for the keyboard: an argument its last command waits for, or a command (a
 * byte >= 0xed in place of an argument starts a new command, as on a real keyboard). */
static void kbd_write(struct i8042 *k, uint8_t v)
{
	uint8_t cmd = k->kbd_pending;

	k->kbd_pending = 0;
	if (cmd && v < I8042_KBD_SET_LEDS)
		kbd_argument(k, cmd, v);
	else
		kbd_command(k, v);
}

/* A data byte for the controller command in ctl_pending; returns true to reset. */
static bool ctl_data(struct i8042 *k, uint8_t cmd, uint8_t v)
{
	switch (cmd) {
	case I8042_CMD_WRITE_CTR:
		k->ctr = v;
		break;
	case I8042_CMD_WRITE_OUTPORT:
		k->outport = v;
		return !(v & OUTPORT_RESET);
	case I8042_CMD_KBD_LOOP:
	case I8042_CMD_AUX_LOOP: /* no aux port: the byte comes back without AUXDATA */
		answer(k, v);
		break;
	default:
		break; /* I8042_CMD_AUX_SEND to the missing mouse, writes to controller RAM */
	}
	return false;
}

static bool takes_data(uint8_t cmd)
{
	return (cmd >= I8042_CMD_WRITE_CTR && cmd < 0x80) ||
	       (cmd >= I8042_CMD_WRITE_OUTPORT && cmd <= I8042_CMD_AUX_SEND);
}

/* A controller command; returns true to reset. */
static bool ctl_command(struct i8042 *k, uint8_t cmd)
{
	if (takes_data(cmd)) {
		k->ctl_pending = cmd;
		return false;
	}
	switch (cmd) {
	case I8042_CMD_READ_CTR:
		answer(k, k->ctr);
		break;
	case I8042_CMD_AUX_DISABLE:
		k->ctr |= I8042_CTR_AUXDIS;
		break;
	case I8042_CMD_AUX_ENABLE:
		k->ctr &= (uint8_t)~I8042_CTR_AUXDIS;
		break;
	case I8042_CMD_AUX_TEST:
		answer(k, AUX_TEST_CLOCK_HIGH);
		break;
	case I8042_CMD_SELF_TEST:
		k->ctr |= I8042_CTR_SYSFLAG;
		answer(k, 0x55);
		break;
	case I8042_CMD_KBD_TEST:
		answer(k, 0x00);
		break;
	case I8042_CMD_KBD_DISABLE:
		k->ctr |= I8042_CTR_KBDDIS;
		break;
	case I8042_CMD_KBD_ENABLE:
		k->ctr &= (uint8_t)~I8042_CTR_KBDDIS;
		break;
	case I8042_CMD_READ_OUTPORT:
		answer(k, k->outport);
		break;
	default:
		/* 0xf0-0xff pulse the output port lines whose bit is clear: bit 0 is reset. */
		return cmd >= 0xf0 && !(cmd & OUTPORT_RESET);
	}
	return false;
}

static uint8_t status_locked(const struct i8042 *k)
{
	uint8_t s = I8042_STR_KEYLOCK;

	if (k->out_full)
		s |= I8042_STR_OBF;
	if (k->ctr & I8042_CTR_SYSFLAG)
		s |= I8042_STR_SYSFLAG;
	if (k->last_was_cmd)
		s |= I8042_STR_CMDDAT;
	return s;
}

static uint8_t read_data_locked(struct i8042 *k)
{
	uint8_t v = k->out; /* an empty buffer reads as its last byte */

	k->out_full = false;
	set_irq_locked(k, 0); /* the next byte, if any, is a new edge */
	return v;
}

static bool write_data_locked(struct i8042 *k, uint8_t v)
{
	uint8_t cmd = k->ctl_pending;

	k->last_was_cmd = false;
	k->ctl_pending = 0;
	if (cmd)
		return ctl_data(k, cmd, v);
	kbd_write(k, v);
	return false;
}

void i8042_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct i8042 *k = opaque;
	bool reset = false;

	pthread_mutex_lock(&k->lock);
	if (offset == 0 && is_write) {
		reset = write_data_locked(k, data[0]);
	} else if (offset == 0) {
		data[0] = read_data_locked(k);
	} else if (offset == 4 && is_write) {
		k->last_was_cmd = true;
		k->ctl_pending = 0;
		reset = ctl_command(k, data[0]);
	} else if (offset == 4) {
		data[0] = status_locked(k);
	} else if (!is_write) {
		data[0] = 0xff;
	}
	update_locked(k);
	k->resets += reset;
	pthread_mutex_unlock(&k->lock);
	if (!is_write && len > 1)
		memset(data + 1, 0xff, len - 1);
	if (reset && k->reset)
		k->reset(k->opaque);
}

void i8042_data_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	if (offset == 0)
		i8042_io(opaque, 0, data, len, is_write);
}

void i8042_command_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	if (offset == 0)
		i8042_io(opaque, 4, data, len, is_write);
}

bool i8042_press_ctrl_alt_del(struct i8042 *k)
{
	/* Make Ctrl, Alt, Delete; break Ctrl, Alt, Delete. */
	static const uint8_t set1[] = {0x1d, 0x38, 0xe0, 0x53, 0x9d, 0xb8, 0xe0, 0xd3};
	static const uint8_t set2[] = {0x14, 0x11, 0xe0, 0x71, 0xf0, 0x14,
				       0xf0, 0x11, 0xe0, 0xf0, 0x71};
	const uint8_t *codes = NULL;
	size_t n = 0;

	pthread_mutex_lock(&k->lock);
	/* Translation turns the keyboard's set 2 into set 1; any other mix is not decoded. */
	if (xlated(k) ? k->scanset == 2 : k->scanset == 1)
		codes = set1, n = sizeof(set1);
	else if (!xlated(k) && k->scanset == 2)
		codes = set2, n = sizeof(set2);
	if (!k->scanning || k->len + n > I8042_KBD_FIFO)
		codes = NULL;
	for (size_t i = 0; codes && i < n; i++)
		kbd_send(k, codes[i]);
	update_locked(k);
	pthread_mutex_unlock(&k->lock);
	return codes != NULL;
}
