/* debug-exit: the test guests' way out. A one-byte write of V to port 0x501 ends the VM, and
 * `vessel vm run` exits with status V (0-255). Unlike QEMU's isa-debug-exit the value is not
 * shifted: V is the status. Reads return 0xff. Not part of any real machine: guests that do not
 * know about it never touch the port. */
#ifndef VESSEL_VMM_DEV_DEBUG_EXIT_H
#define VESSEL_VMM_DEV_DEBUG_EXIT_H

#include <stdbool.h>
#include <stdint.h>

#define DEBUG_EXIT_PORT 0x501

typedef void debug_exit_fn(void *opaque, int status);

struct debug_exit {
	debug_exit_fn *fn;
	void *opaque;
};

/* bus_handler_fn for the one port; opaque is the struct debug_exit. */
void debug_exit_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write);

#endif
