/* pvh: see pvh.h */
#include "vmm/x86/pvh.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "vmm/x86/e820.h"
#include "vmm/x86/regs.h"

static int write_memmap(const struct guest_memory *mem, struct hvm_start_info *si,
			struct error *err)
{
	struct x86_e820_entry e820[X86_E820_MAX];
	size_t n = x86_e820_build(mem, e820, X86_E820_MAX);

	for (size_t i = 0; i < n; i++) {
		struct hvm_memmap_table_entry e = {
		    .addr = e820[i].addr, .size = e820[i].size, .type = e820[i].type};
		if (guest_memory_write(mem, X86_PVH_MEMMAP_ADDR + i * sizeof(e), &e, sizeof(e)) < 0)
			return error_set(err, EFAULT, "PVH memory map: not in guest RAM");
	}
	si->memmap_paddr = X86_PVH_MEMMAP_ADDR;
	si->memmap_entries = (uint32_t)n;
	return 0;
}

int pvh_set_rsdp(const struct guest_memory *mem, uint64_t rsdp, struct error *err)
{
	uint64_t gpa = X86_START_INFO_ADDR + offsetof(struct hvm_start_info, rsdp_paddr);

	if (guest_memory_write(mem, gpa, &rsdp, sizeof(rsdp)) < 0)
		return error_set(err, EFAULT, "PVH start_info: not in guest RAM");
	return 0;
}

int pvh_setup_start_info(const struct guest_memory *mem, const char *cmdline, uint64_t initrd_gpa,
			 uint64_t initrd_size, struct error *err)
{
	struct hvm_start_info si = {.magic = HVM_START_MAGIC, .version = 1};
	size_t len = strlen(cmdline) + 1;
	int r;

	if (len > X86_CMDLINE_MAX)
		return error_set(err, E2BIG, "command line: %zu bytes, the PVH limit is %d",
				 len - 1, X86_CMDLINE_MAX - 1);
	if (guest_memory_write(mem, X86_CMDLINE_ADDR, cmdline, len) < 0)
		return error_set(err, EFAULT, "command line: not in guest RAM");
	si.cmdline_paddr = X86_CMDLINE_ADDR;
	r = write_memmap(mem, &si, err);
	if (r < 0)
		return r;
	if (initrd_size) {
		struct hvm_modlist_entry m = {.paddr = initrd_gpa, .size = initrd_size};
		if (guest_memory_write(mem, X86_PVH_MODLIST_ADDR, &m, sizeof(m)) < 0)
			return error_set(err, EFAULT, "PVH module list: not in guest RAM");
		si.nr_modules = 1;
		si.modlist_paddr = X86_PVH_MODLIST_ADDR;
	}
	if (guest_memory_write(mem, X86_START_INFO_ADDR, &si, sizeof(si)) < 0)
		return error_set(err, EFAULT, "PVH start_info: not in guest RAM");
	return 0;
}
