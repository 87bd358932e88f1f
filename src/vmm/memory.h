/* memory: guest RAM and the one bounds-checked gpa -> hva translation.
 *
 * RAM is one host mapping split into at most two guest-physical regions: [0, low) and, when
 * the guest has more than fits below the 32-bit MMIO hole, [4 GiB, 4 GiB + rest). Everything
 * that touches guest memory (boot builders, devices) goes through guest_memory_hva().
 */
#ifndef VESSEL_VMM_MEMORY_H
#define VESSEL_VMM_MEMORY_H

#include <stdbool.h>
#include <stdint.h>

#include "util/error.h"

#define GUEST_MMIO_HOLE_START 0xc0000000ULL /* RAM below this; LAPIC/IOAPIC live above */
#define GUEST_HIGH_RAM_START  0x100000000ULL
#define GUEST_MEMORY_REGIONS  2
#define GUEST_HUGE_PAGE	      (2ULL << 20)

struct guest_region {
	uint64_t gpa;
	uint64_t size;
	uint8_t *hva;
};

struct guest_memory {
	struct guest_region regions[GUEST_MEMORY_REGIONS];
	unsigned nregions;
	uint8_t *base; /* the whole host mapping */
	uint64_t size; /* total bytes of RAM */
	bool owned;    /* base was mmap'd by guest_memory_map() */
};

/* Maps size bytes of anonymous, private, MAP_NORESERVE memory and lays it out; hugepages: 2 MiB
 * pages from the hugetlb pool instead, reserved up front (size rounded up to 2 MiB). */
int guest_memory_map(struct guest_memory *mem, uint64_t size, bool hugepages, struct error *err);
/* Lays out a caller-owned buffer (unit tests: guest memory is a buffer). */
void guest_memory_init_buffer(struct guest_memory *mem, void *buf, uint64_t size);
/* Unmaps what guest_memory_map() mapped; safe on a zeroed or buffer-backed struct. */
void guest_memory_release(struct guest_memory *mem);
/* The host address of [gpa, gpa + len) when the whole range is inside one RAM region, else
 * NULL (out of range, overflowing, or straddling a hole). len 0 is treated as 1. */
void *guest_memory_hva(const struct guest_memory *mem, uint64_t gpa, uint64_t len);
/* Copies into / out of guest memory; -EFAULT when the range is not RAM. */
int guest_memory_write(const struct guest_memory *mem, uint64_t gpa, const void *src, uint64_t len);
int guest_memory_read(const struct guest_memory *mem, uint64_t gpa, void *dst, uint64_t len);
/* End of the RAM region that starts at 0 (the "low memory" limit). */
uint64_t guest_memory_low_end(const struct guest_memory *mem);

#endif
