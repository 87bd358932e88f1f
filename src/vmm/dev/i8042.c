/* i8042: see i8042.h */
#include "vmm/dev/i8042.h"

#include <string.h>

void i8042_init(struct i8042 *k, i8042_reset_fn *reset, void *opaque)
{
	memset(k, 0, sizeof(*k));
	pthread_mutex_init(&k->lock, NULL);
	k->reset = reset;
	k->opaque = opaque;
	k->ctr = 0x30; /* both ports disabled, no interrupts */
}

void i8042_destroy(struct i8042 *k)
{
	pthread_mutex_destroy(&k->lock);
}

static void respond(struct i8042 *k, uint8_t v)
{
	k->out = v;
	k->out_full = true;
}

/* Returns true when the command asks for a reset. */
static bool command_locked(struct i8042 *k, uint8_t cmd)
{
	switch (cmd) {
	case I8042_CMD_READ_CTR:
		respond(k, k->ctr);
		break;
	case I8042_CMD_WRITE_CTR:
		k->write_ctr = true;
		break;
	case I8042_CMD_SELF_TEST:
		respond(k, 0x55);
		break;
	case I8042_CMD_KBD_TEST:
		respond(k, 0x00);
		break;
	case I8042_CMD_RESET:
		k->resets++;
		return true;
	default:
		break; /* port enables/disables and the rest: accepted, ignored */
	}
	return false;
}

void i8042_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct i8042 *k = opaque;
	bool reset = false;

	pthread_mutex_lock(&k->lock);
	if (offset == 0 && is_write) {
		if (k->write_ctr)
			k->ctr = data[0];
		k->write_ctr = false;
	} else if (offset == 0) {
		data[0] = k->out;
		k->out_full = false;
	} else if (offset == 4 && is_write) {
		reset = command_locked(k, data[0]);
	} else if (offset == 4) {
		data[0] = (uint8_t)(I8042_STR_SYSFLAG | (k->out_full ? I8042_STR_OBF : 0));
	} else if (!is_write) {
		data[0] = 0xff;
	}
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
