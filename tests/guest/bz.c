/* bz: the bzImage-shaped test guest: prints a greeting and what it reads back from
 * boot_params (the zero page), then ends the VM as its command line says (see guest.h). */
#include "guest.h"

#define BP_E820_ENTRIES	  0x1e8
#define BP_HDR_MAGIC	  0x202
#define BP_TYPE_OF_LOADER 0x210
#define BP_RAMDISK_SIZE	  0x21c
#define BP_CMD_LINE_PTR	  0x228

void bz_main(const uint8_t *bp);

void bz_main(const uint8_t *bp)
{
	const char *cmdline = (const char *)(uintptr_t) * (const uint32_t *)(bp + BP_CMD_LINE_PTR);
	char magic[5] = {0};

	for (int i = 0; i < 4; i++)
		magic[i] = (char)bp[BP_HDR_MAGIC + i];
	guest_puts("hello from the guest\nboot: linux64\nheader: ");
	guest_puts(magic);
	guest_puts("\nloader: ");
	guest_puthex(bp[BP_TYPE_OF_LOADER]);
	guest_puts("\ncmdline: ");
	guest_puts(cmdline);
	guest_puts("\ne820 entries: ");
	guest_putdec(bp[BP_E820_ENTRIES]);
	guest_puts("\ninitrd size: ");
	guest_putdec(*(const uint32_t *)(bp + BP_RAMDISK_SIZE));
	guest_puts("\n");
	guest_finish(cmdline);
}
