/* pvh: the PVH test guest: prints a greeting and the hvm_start_info it was given, then ends
 * the VM as its command line says (see guest.h). */
#include "guest.h"

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

void pvh_main(const struct hvm_start_info *si);

void pvh_main(const struct hvm_start_info *si)
{
	const char *cmdline = (const char *)(uintptr_t)si->cmdline_paddr;

	guest_puts("hello from the guest\nboot: pvh\nmagic: ");
	guest_puthex(si->magic);
	guest_puts("\ncmdline: ");
	guest_puts(cmdline ? cmdline : "");
	guest_puts("\nmemmap entries: ");
	guest_putdec(si->memmap_entries);
	guest_puts("\nmodules: ");
	guest_putdec(si->nr_modules);
	guest_puts("\n");
	guest_finish(cmdline ? cmdline : "");
}
