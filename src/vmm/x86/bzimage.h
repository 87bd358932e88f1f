/* bzimage: the Linux x86 boot protocol, 64-bit entry. The setup header is checked (boot flag,
 * "HdrS", version >= 2.12, LOADED_HIGH, XLF_KERNEL_64), the protected-mode payload is copied
 * to 1 MiB and boot_params (the zero page) is filled: the header, e820, command line, initrd.
 * The vCPU then starts in long mode at code32_start + 0x200 with rsi = boot_params.
 */
#ifndef VESSEL_VMM_X86_BZIMAGE_H
#define VESSEL_VMM_X86_BZIMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "util/error.h"
#include "vmm/memory.h"

#define BZIMAGE_MIN_VERSION 0x020c
#define BZIMAGE_LOAD_ADDR   0x100000
#define BZIMAGE_ENTRY64_OFF 0x200

struct bzimage_info {
	uint16_t version;
	size_t setup_size; /* bytes before the protected-mode payload */
	size_t payload_len;
	uint32_t cmdline_size; /* longest command line, without the NUL */
	uint32_t initrd_addr_max;
	uint64_t load_addr;
	uint64_t kernel_end; /* load_addr + max(payload, init_size) */
};

/* True when img starts like a bzImage (boot flag and "HdrS"): worth a full check. */
int bzimage_probe(const uint8_t *img, size_t len);
/* Checks the setup header; errors say what is wrong ("setup header version 2.11, need 2.12"). */
int bzimage_parse(const uint8_t *img, size_t len, struct bzimage_info *info, struct error *err);
/* Copies the payload to info->load_addr and writes boot_params at X86_BOOT_PARAMS_ADDR and the
 * command line at X86_CMDLINE_ADDR. Returns -E2BIG when cmdline exceeds cmdline_size. */
int bzimage_load(const struct guest_memory *mem, const uint8_t *img, size_t len,
		 const struct bzimage_info *info, const char *cmdline, uint64_t initrd_gpa,
		 uint64_t initrd_size, struct error *err);
/* Sets acpi_rsdp_addr (boot protocol 2.14) in the boot_params bzimage_load() wrote. */
int bzimage_set_rsdp(const struct guest_memory *mem, uint64_t rsdp, struct error *err);

#endif
