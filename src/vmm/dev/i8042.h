/* i8042: a stub of the PC keyboard controller, there so that a guest can reset the machine.
 *
 * Ports 0x60 (data) and 0x64 (status/command). Command 0xfe (pulse the reset line) calls the
 * reset callback, which ends the VM with status 0. The controller self-test, interface test and
 * command byte are answered so that probing drivers give up quietly; there is no keyboard.
 */
#ifndef VESSEL_VMM_DEV_I8042_H
#define VESSEL_VMM_DEV_I8042_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define I8042_DATA_PORT	   0x60
#define I8042_COMMAND_PORT 0x64

#define I8042_CMD_READ_CTR  0x20
#define I8042_CMD_WRITE_CTR 0x60
#define I8042_CMD_SELF_TEST 0xaa
#define I8042_CMD_KBD_TEST  0xab
#define I8042_CMD_RESET	    0xfe
#define I8042_STR_OBF	    0x01
#define I8042_STR_SYSFLAG   0x04

typedef void i8042_reset_fn(void *opaque);

struct i8042 {
	pthread_mutex_t lock;
	i8042_reset_fn *reset;
	void *opaque;
	uint8_t ctr; /* controller command byte */
	uint8_t out; /* pending output byte */
	bool out_full;
	bool write_ctr; /* the next data write is the command byte */
	unsigned resets;
};

void i8042_init(struct i8042 *k, i8042_reset_fn *reset, void *opaque);
void i8042_destroy(struct i8042 *k);
/* bus_handler_fn for port 0x60 (offset 0) and 0x64 (offset 4) as one range. */
void i8042_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write);
/* The same for two one-port ranges (port 0x61 in between belongs to the PIT). */
void i8042_data_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write);
void i8042_command_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write);

#endif
