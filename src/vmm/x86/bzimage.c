/* bzimage: see bzimage.h */
#include "vmm/x86/bzimage.h"

#include <asm/bootparam.h>
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "vmm/x86/e820.h"
#include "vmm/x86/regs.h"

#define HDR_OFFSET   0x1f1
#define HDR_MAGIC    0x53726448 /* "HdrS" */
#define BOOT_FLAG    0xaa55
#define LOADER_UNDEF 0xff
#define HEAP_END     0xfe00

int bzimage_probe(const uint8_t *img, size_t len)
{
	const struct setup_header *h = (const void *)(img + HDR_OFFSET);

	if (len < HDR_OFFSET + offsetof(struct setup_header, version))
		return 0;
	return h->boot_flag == BOOT_FLAG && h->header == HDR_MAGIC;
}

static int check_header(const struct setup_header *h, struct error *err)
{
	if (h->boot_flag != BOOT_FLAG || h->header != HDR_MAGIC)
		return error_set(err, ENOEXEC, "not a bzImage (no \"HdrS\" setup header)");
	if (h->version < BZIMAGE_MIN_VERSION)
		return error_set(err, ENOEXEC, "boot protocol %u.%02u, need 2.12 or later",
				 h->version >> 8, h->version & 0xff);
	if (!(h->loadflags & LOADED_HIGH))
		return error_set(err, ENOEXEC, "not a bzImage (zImage loads low)");
	if (!(h->xloadflags & XLF_KERNEL_64))
		return error_set(err, ENOEXEC, "no 64-bit entry point (XLF_KERNEL_64 unset)");
	if (h->cmdline_size == 0)
		return error_set(err, ENOEXEC, "setup header: cmdline_size is 0");
	return 0;
}

int bzimage_parse(const uint8_t *img, size_t len, struct bzimage_info *info, struct error *err)
{
	struct setup_header h;
	size_t sects;
	int r;

	memset(info, 0, sizeof(*info));
	if (len < HDR_OFFSET + sizeof(h))
		return error_set(err, ENOEXEC, "truncated (%zu bytes, no setup header)", len);
	memcpy(&h, img + HDR_OFFSET, sizeof(h));
	r = check_header(&h, err);
	if (r < 0)
		return r;
	sects = h.setup_sects ? h.setup_sects : 4;
	info->setup_size = (sects + 1) * 512;
	if (len <= info->setup_size + BZIMAGE_ENTRY64_OFF)
		return error_set(err, ENOEXEC, "truncated (%zu bytes, setup alone is %zu)", len,
				 info->setup_size);
	if ((uint64_t)h.syssize * 16 > len - info->setup_size)
		return error_set(err, ENOEXEC, "truncated (%zu bytes, header says %llu)", len,
				 (unsigned long long)(info->setup_size + (uint64_t)h.syssize * 16));
	info->version = h.version;
	info->payload_len = len - info->setup_size;
	info->cmdline_size = h.cmdline_size;
	info->initrd_addr_max = h.initrd_addr_max;
	info->load_addr = BZIMAGE_LOAD_ADDR;
	info->kernel_end =
	    info->load_addr + (h.init_size > info->payload_len ? h.init_size : info->payload_len);
	return 0;
}

static void fill_e820(const struct guest_memory *mem, struct boot_params *bp)
{
	struct x86_e820_entry e[X86_E820_MAX];
	size_t n = x86_e820_build(mem, e, X86_E820_MAX);

	for (size_t i = 0; i < n; i++) {
		bp->e820_table[i].addr = e[i].addr;
		bp->e820_table[i].size = e[i].size;
		bp->e820_table[i].type = e[i].type;
	}
	bp->e820_entries = (uint8_t)n;
}

static int fill_boot_params(const struct guest_memory *mem, const uint8_t *img,
			    const struct bzimage_info *info, uint64_t initrd_gpa,
			    uint64_t initrd_size, struct boot_params *bp)
{
	/* The header runs from 0x1f1 to 0x202 + the byte at 0x201 (its own length). */
	size_t hdr_end = 0x202 + img[0x201];

	memset(bp, 0, sizeof(*bp));
	if (hdr_end > HDR_OFFSET + sizeof(bp->hdr))
		hdr_end = HDR_OFFSET + sizeof(bp->hdr);
	memcpy((uint8_t *)bp + HDR_OFFSET, img + HDR_OFFSET, hdr_end - HDR_OFFSET);
	bp->hdr.type_of_loader = LOADER_UNDEF;
	bp->hdr.vid_mode = 0xffff;
	bp->hdr.code32_start = (uint32_t)info->load_addr;
	bp->hdr.loadflags |= CAN_USE_HEAP;
	bp->hdr.loadflags &= (uint8_t)~KEEP_SEGMENTS;
	bp->hdr.heap_end_ptr = HEAP_END - 0x200;
	bp->hdr.cmd_line_ptr = X86_CMDLINE_ADDR;
	bp->hdr.ramdisk_image = (uint32_t)initrd_gpa;
	bp->hdr.ramdisk_size = (uint32_t)initrd_size;
	bp->ext_ramdisk_image = (uint32_t)(initrd_gpa >> 32);
	bp->ext_ramdisk_size = (uint32_t)(initrd_size >> 32);
	fill_e820(mem, bp);
	return 0;
}

int bzimage_load(const struct guest_memory *mem, const uint8_t *img, size_t len,
		 const struct bzimage_info *info, const char *cmdline, uint64_t initrd_gpa,
		 uint64_t initrd_size, struct error *err)
{
	struct boot_params bp;
	size_t clen = strlen(cmdline);

	if (clen > info->cmdline_size || clen + 1 > X86_CMDLINE_MAX)
		return error_set(err, E2BIG, "command line: %zu bytes, the kernel accepts %u", clen,
				 info->cmdline_size);
	if (info->kernel_end > guest_memory_low_end(mem))
		return error_set(err, ENOMEM,
				 "kernel needs memory up to 0x%llx, the guest has 0x%llx",
				 (unsigned long long)info->kernel_end,
				 (unsigned long long)guest_memory_low_end(mem));
	if (guest_memory_write(mem, info->load_addr, img + info->setup_size, info->payload_len) < 0)
		return error_set(err, EFAULT, "kernel payload: not in guest RAM");
	if (guest_memory_write(mem, X86_CMDLINE_ADDR, cmdline, clen + 1) < 0)
		return error_set(err, EFAULT, "command line: not in guest RAM");
	fill_boot_params(mem, img, info, initrd_gpa, initrd_size, &bp);
	if (guest_memory_write(mem, X86_BOOT_PARAMS_ADDR, &bp, sizeof(bp)) < 0)
		return error_set(err, EFAULT, "boot_params: not in guest RAM");
	return 0;
}

int bzimage_set_rsdp(const struct guest_memory *mem, uint64_t rsdp, struct error *err)
{
	uint64_t gpa = X86_BOOT_PARAMS_ADDR + offsetof(struct boot_params, acpi_rsdp_addr);

	if (guest_memory_write(mem, gpa, &rsdp, sizeof(rsdp)) < 0)
		return error_set(err, EFAULT, "boot_params: not in guest RAM");
	return 0;
}
