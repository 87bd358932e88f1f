/* boot: puts a kernel (and initrd) into guest memory and computes the boot vCPU's registers.
 *
 * Two entries: an ELF kernel with a XEN_ELFNOTE_PHYS32_ENTRY note boots by PVH (32-bit
 * protected mode, %ebx = hvm_start_info), a bzImage by the Linux 64-bit boot protocol (long
 * mode, %rsi = boot_params). Every file-supplied offset and size is checked against the file and
 * against guest RAM; errors name the file ("kernel /x: truncated ELF program headers").
 */
#ifndef VESSEL_VMM_BOOT_H
#define VESSEL_VMM_BOOT_H

#include <stddef.h>
#include <stdint.h>

#include "util/error.h"
#include "vmm/memory.h"
#include "vmm/x86/regs.h"

enum boot_protocol { BOOT_PVH, BOOT_LINUX64 };

struct boot_config {
	const char *kernel;
	const char *initrd;  /* NULL: none */
	const char *cmdline; /* never NULL */
};

struct boot_result {
	enum boot_protocol protocol;
	struct x86_boot_regs regs;
	uint64_t kernel_end;
	uint64_t initrd_gpa, initrd_size;
};

int boot_load(const struct guest_memory *mem, const struct boot_config *cfg,
	      struct boot_result *res, struct error *err);
/* Tells the kernel boot_load() placed where the ACPI RSDP is (x86/acpi.h): PVH's
 * hvm_start_info.rsdp_paddr or boot_params.acpi_rsdp_addr, by res->protocol. */
int boot_set_rsdp(const struct guest_memory *mem, const struct boot_result *res, uint64_t rsdp,
		  struct error *err);

/* The PVH entry point of an ELF64 image, checked but not loaded: 0 and *entry, or -ENOEXEC
 * ("no PVH note") / -ENOEXEC ("truncated ...") with err. Exposed for the unit tests. */
int boot_elf_pvh_entry(const uint8_t *img, size_t len, uint32_t *entry, struct error *err);
/* Copies the ELF64 image's PT_LOAD segments to their physical addresses; *end is the highest
 * byte loaded + 1. */
int boot_elf_load(const struct guest_memory *mem, const uint8_t *img, size_t len, uint64_t *end,
		  struct error *err);

#endif
