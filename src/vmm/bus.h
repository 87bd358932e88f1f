/* bus: a per-VM map of port-I/O or MMIO ranges to device handlers.
 *
 * Ranges are registered while the VM is built (before any vCPU runs) and never change after,
 * so lookups need no lock; each device serialises its own state. An access no range claims
 * is ignored (reads see all ones), as on real hardware: a guest cannot fail the monitor.
 */
#ifndef VESSEL_VMM_BUS_H
#define VESSEL_VMM_BUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

/* offset: from the range's base; data: len bytes (1..8) to fill on a read or to consume on a
 * write. */
typedef void bus_handler_fn(void *opaque, uint64_t offset, uint8_t *data, uint32_t len,
			    bool is_write);

struct bus_range {
	uint64_t base;
	uint64_t len;
	const char *name; /* static */
	bus_handler_fn *fn;
	void *opaque;
};

struct bus {
	const char *name;	  /* "pio" or "mmio", static */
	struct bus_range *ranges; /* sorted by base, disjoint */
	size_t n;
	size_t cap;
};

void bus_init(struct bus *bus, const char *name);
void bus_release(struct bus *bus);
/* Adds [base, base + len); -EEXIST when it overlaps a registered range, -EINVAL when empty or
 * wrapping. */
int bus_register(struct bus *bus, uint64_t base, uint64_t len, const char *name, bus_handler_fn *fn,
		 void *opaque, struct error *err);
/* The range holding [addr, addr + len), or NULL. */
const struct bus_range *bus_find(const struct bus *bus, uint64_t addr, uint32_t len);
/* Dispatches one access; false when no range claims it (a read then sees 0xff bytes). */
bool bus_access(const struct bus *bus, uint64_t addr, uint8_t *data, uint32_t len, bool is_write);

#endif
