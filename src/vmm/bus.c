/* bus: see bus.h */
#include "vmm/bus.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void bus_init(struct bus *bus, const char *name)
{
	memset(bus, 0, sizeof(*bus));
	bus->name = name;
}

void bus_release(struct bus *bus)
{
	free(bus->ranges);
	bus->ranges = NULL;
	bus->n = bus->cap = 0;
}

/* Index of the first range whose end is above addr. */
static size_t lower_bound(const struct bus *bus, uint64_t addr)
{
	size_t lo = 0, hi = bus->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct bus_range *r = &bus->ranges[mid];
		if (r->base + r->len <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int bus_register(struct bus *bus, uint64_t base, uint64_t len, const char *name, bus_handler_fn *fn,
		 void *opaque, struct error *err)
{
	size_t i;

	if (len == 0 || base + len < base || !fn)
		return error_set(err, EINVAL, "%s bus: %s: invalid range 0x%llx+0x%llx", bus->name,
				 name, (unsigned long long)base, (unsigned long long)len);
	i = lower_bound(bus, base);
	if (i < bus->n && bus->ranges[i].base < base + len)
		return error_set(err, EEXIST, "%s bus: %s at 0x%llx overlaps %s", bus->name, name,
				 (unsigned long long)base, bus->ranges[i].name);
	if (bus->n == bus->cap) {
		size_t cap = bus->cap ? bus->cap * 2 : 8;
		struct bus_range *r = reallocarray(bus->ranges, cap, sizeof(*r));
		if (!r)
			return error_set(err, ENOMEM, "%s bus: %s: out of memory", bus->name, name);
		bus->ranges = r;
		bus->cap = cap;
	}
	memmove(&bus->ranges[i + 1], &bus->ranges[i], (bus->n - i) * sizeof(bus->ranges[0]));
	bus->ranges[i] = (struct bus_range){base, len, name, fn, opaque};
	bus->n++;
	return 0;
}

const struct bus_range *bus_find(const struct bus *bus, uint64_t addr, uint32_t len)
{
	size_t i = lower_bound(bus, addr);
	const struct bus_range *r;

	if (i >= bus->n || len == 0)
		return NULL;
	r = &bus->ranges[i];
	if (addr < r->base || addr + len < addr || addr + len > r->base + r->len)
		return NULL;
	return r;
}

bool bus_access(const struct bus *bus, uint64_t addr, uint8_t *data, uint32_t len, bool is_write)
{
	const struct bus_range *r = len <= 8 ? bus_find(bus, addr, len) : NULL;

	if (!r) {
		if (!is_write)
			memset(data, 0xff, len);
		return false;
	}
	r->fn(r->opaque, addr - r->base, data, len, is_write);
	return true;
}
