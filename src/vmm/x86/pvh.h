/* pvh: the Xen PVH boot ABI's hvm_start_info (version 1), which an ELF kernel with a
 * XEN_ELFNOTE_PHYS32_ENTRY note finds in %ebx when it is entered in 32-bit protected mode. */
#ifndef VESSEL_VMM_X86_PVH_H
#define VESSEL_VMM_X86_PVH_H

#include <stdint.h>

#include "util/error.h"
#include "vmm/memory.h"

#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define HVM_START_MAGIC		 0x336ec578
#define HVM_MEMMAP_TYPE_RAM	 1

struct hvm_start_info {
	uint32_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;
	uint64_t rsdp_paddr;
	uint64_t memmap_paddr;
	uint32_t memmap_entries;
	uint32_t reserved;
};

struct hvm_modlist_entry {
	uint64_t paddr;
	uint64_t size;
	uint64_t cmdline_paddr;
	uint64_t reserved;
};

struct hvm_memmap_table_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
	uint32_t reserved;
};

/* Writes start_info at X86_START_INFO_ADDR with the memory map, the command line (copied to
 * X86_CMDLINE_ADDR) and, when initrd_size > 0, one module for the initrd. */
int pvh_setup_start_info(const struct guest_memory *mem, const char *cmdline, uint64_t initrd_gpa,
			 uint64_t initrd_size, struct error *err);
/* Sets rsdp_paddr in the start_info pvh_setup_start_info() wrote. */
int pvh_set_rsdp(const struct guest_memory *mem, uint64_t rsdp, struct error *err);

#endif
