/* e820: the guest's physical memory map, shared by both boot entries (boot_params' e820 table
 * and PVH's hvm_memmap_table). */
#ifndef VESSEL_VMM_X86_E820_H
#define VESSEL_VMM_X86_E820_H

#include <stddef.h>
#include <stdint.h>

#include "vmm/memory.h"

#define X86_E820_RAM	  1
#define X86_E820_RESERVED 2
#define X86_E820_MAX	  8

struct x86_e820_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
};

/* Fills out[] (room for max entries) from mem's regions: low RAM up to the EBDA, the legacy
 * hole reserved (it holds the ACPI tables, x86/acpi.h), RAM from 1 MiB, and RAM above 4 GiB.
 * Returns the number of entries. */
size_t x86_e820_build(const struct guest_memory *mem, struct x86_e820_entry *out, size_t max);

#endif
