/* test-vmm-boot: the boot-parameter builders on a buffer as guest memory: PVH start_info and
 * memory map, boot_params from a constructed setup header, the GDT and page tables, the boot
 * registers, ELF PVH-note parsing with hostile images, and CPUID patching. No KVM. */
#include <asm/bootparam.h>
#include <elf.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vmm/boot.h"
#include "vmm/memory.h"
#include "vmm/x86/bzimage.h"
#include "vmm/x86/cpuid.h"
#include "vmm/x86/e820.h"
#include "vmm/x86/pvh.h"
#include "vmm/x86/regs.h"

#define MEM_SIZE (16u << 20)

static int setup_mem(void **state)
{
	struct guest_memory *m = calloc(1, sizeof(*m));
	void *buf = calloc(1, MEM_SIZE);

	if (!m || !buf)
		return -1;
	guest_memory_init_buffer(m, buf, MEM_SIZE);
	*state = m;
	return 0;
}

static int teardown_mem(void **state)
{
	struct guest_memory *m = *state;

	free(m->base);
	free(m);
	return 0;
}

static void test_e820(void **state)
{
	struct x86_e820_entry e[X86_E820_MAX];
	struct guest_memory big;
	size_t n;

	n = x86_e820_build(*state, e, X86_E820_MAX);
	assert_int_equal(n, 3);
	assert_int_equal(e[0].addr, 0);
	assert_int_equal(e[0].size, X86_EBDA_START);
	assert_int_equal(e[0].type, X86_E820_RAM);
	assert_int_equal(e[1].type, X86_E820_RESERVED);
	assert_int_equal(e[1].addr + e[1].size, X86_HIMEM_START);
	assert_int_equal(e[2].addr, X86_HIMEM_START);
	assert_int_equal(e[2].addr + e[2].size, MEM_SIZE);
	/* Past the 32-bit hole: RAM resumes at 4 GiB (layout only, never touched). */
	guest_memory_init_buffer(&big, (void *)0x1000, 6ULL << 30);
	n = x86_e820_build(&big, e, X86_E820_MAX);
	assert_int_equal(n, 4);
	assert_int_equal(e[2].addr + e[2].size, GUEST_MMIO_HOLE_START);
	assert_int_equal(e[3].addr, GUEST_HIGH_RAM_START);
	assert_int_equal(e[3].size, (6ULL << 30) - GUEST_MMIO_HOLE_START);
	assert_int_equal(x86_e820_build(&big, e, 2), 2); /* never past max */
}

static void test_pvh_start_info(void **state)
{
	const struct guest_memory *m = *state;
	struct hvm_start_info si;
	struct hvm_memmap_table_entry mm[3];
	struct hvm_modlist_entry mod;
	struct error err;

	assert_int_equal(pvh_setup_start_info(m, "console=ttyS0 quiet", 0x800000, 1234, &err), 0);
	assert_int_equal(guest_memory_read(m, X86_START_INFO_ADDR, &si, sizeof(si)), 0);
	assert_int_equal(si.magic, HVM_START_MAGIC);
	assert_int_equal(si.version, 1);
	assert_int_equal(si.cmdline_paddr, X86_CMDLINE_ADDR);
	assert_string_equal((char *)guest_memory_hva(m, si.cmdline_paddr, 1),
			    "console=ttyS0 quiet");
	assert_int_equal(si.memmap_entries, 3);
	assert_int_equal(guest_memory_read(m, si.memmap_paddr, mm, sizeof(mm)), 0);
	assert_int_equal(mm[2].addr, X86_HIMEM_START);
	assert_int_equal(mm[2].type, HVM_MEMMAP_TYPE_RAM);
	assert_int_equal(si.nr_modules, 1);
	assert_int_equal(guest_memory_read(m, si.modlist_paddr, &mod, sizeof(mod)), 0);
	assert_int_equal(mod.paddr, 0x800000);
	assert_int_equal(mod.size, 1234);
	/* Too long for the command-line area. */
	char *huge = malloc(X86_CMDLINE_MAX + 1);
	memset(huge, 'a', X86_CMDLINE_MAX);
	huge[X86_CMDLINE_MAX] = 0;
	assert_int_equal(pvh_setup_start_info(m, huge, 0, 0, &err), -E2BIG);
	free(huge);
}

static void test_gdt_and_segments(void **state)
{
	struct x86_seg s;

	assert_int_equal(x86_gdt_entry(0xa09b, 0, 0xfffff), 0x00af9b000000ffffULL);
	assert_int_equal(x86_gdt_entry(0xc093, 0, 0xfffff), 0x00cf93000000ffffULL);
	assert_int_equal(x86_gdt_entry(0x008b, 0x12345678, 0x67), 0x12008b3456780067ULL);
	x86_seg_from_gdt(0x00af9b000000ffffULL, 0x10, &s);
	assert_int_equal(s.l, 1);
	assert_int_equal(s.db, 0);
	assert_int_equal(s.g, 1);
	assert_int_equal(s.limit, 0xffffffffu);
	assert_int_equal(s.type, 0xb);
	assert_int_equal(s.present, 1);
	assert_int_equal(s.s, 1);
	x86_seg_from_gdt(x86_gdt_entry(0x008b, 0x12345678, 0x67), 0x20, &s);
	assert_int_equal(s.base, 0x12345678);
	assert_int_equal(s.limit, 0x67);
	assert_int_equal(s.s, 0);
}

static void test_long_mode_regs(void **state)
{
	const struct guest_memory *m = *state;
	struct x86_boot_regs r;
	struct error err;
	uint64_t gdt[X86_GDT_ENTRIES], *pml4, *pdpt, *pd;

	assert_int_equal(
	    x86_setup_boot_regs(m, X86_BOOT_LONG64, 0x100200, X86_BOOT_PARAMS_ADDR, &r, &err), 0);
	assert_int_equal(r.rip, 0x100200);
	assert_int_equal(r.rsi, X86_BOOT_PARAMS_ADDR);
	assert_int_equal(r.cr0 & (X86_CR0_PE | X86_CR0_PG), X86_CR0_PE | X86_CR0_PG);
	assert_int_equal(r.cr4 & X86_CR4_PAE, X86_CR4_PAE);
	assert_int_equal(r.efer, X86_EFER_LME | X86_EFER_LMA);
	assert_int_equal(r.cr3, X86_PML4_ADDR);
	assert_int_equal(r.cs.selector, X86_SEL_CODE);
	assert_int_equal(r.cs.l, 1);
	assert_int_equal(r.ds.selector, X86_SEL_DATA);
	assert_int_equal(r.gdt_base, X86_GDT_ADDR);
	assert_int_equal(r.gdt_limit, sizeof(gdt) - 1);
	assert_int_equal(guest_memory_read(m, X86_GDT_ADDR, gdt, sizeof(gdt)), 0);
	assert_int_equal(gdt[X86_SEL_CODE / 8], 0x00af9b000000ffffULL);
	assert_int_equal(gdt[X86_SEL_DATA / 8], 0x00cf93000000ffffULL);
	/* Identity map of the first GiB in 2 MiB pages. */
	pml4 = guest_memory_hva(m, X86_PML4_ADDR, 4096);
	pdpt = guest_memory_hva(m, X86_PDPT_ADDR, 4096);
	pd = guest_memory_hva(m, X86_PD_ADDR, 4096);
	assert_int_equal(pml4[0], X86_PDPT_ADDR | 3);
	assert_int_equal(pml4[1], 0);
	assert_int_equal(pdpt[0], X86_PD_ADDR | 3);
	assert_int_equal(pdpt[1], 0);
	assert_int_equal(pd[0], 0x83);
	assert_int_equal(pd[1], (1 << 21) | 0x83);
	assert_int_equal(pd[511], (511ULL << 21) | 0x83);
}

static void test_protected_mode_regs(void **state)
{
	struct x86_boot_regs r;
	struct error err;

	assert_int_equal(x86_setup_boot_regs(*state, X86_BOOT_PROTECTED32, 0x1000000,
					     X86_START_INFO_ADDR, &r, &err),
			 0);
	assert_int_equal(r.rbx, X86_START_INFO_ADDR);
	assert_int_equal(r.cr0, X86_CR0_PE | X86_CR0_ET); /* PVH: PE (and ET), no paging */
	assert_int_equal(r.cr4, 0);
	assert_int_equal(r.efer, 0);
	assert_int_equal(r.cs.db, 1);
	assert_int_equal(r.cs.l, 0);
	assert_int_equal(r.cs.base, 0);
	assert_int_equal(r.cs.limit, 0xffffffffu);
	assert_int_equal(r.ds.limit, 0xffffffffu);
	assert_int_equal(r.tr.limit, 0x67);
	assert_int_equal(r.rflags & (1 << 9), 0); /* IF clear */
	/* Guest memory too small for the boot structures. */
	struct guest_memory tiny;
	static uint8_t small[0x400];
	guest_memory_init_buffer(&tiny, small, sizeof(small));
	assert_int_equal(x86_setup_boot_regs(&tiny, X86_BOOT_LONG64, 0, 0, &r, &err), -EFAULT);
}

/* A bzImage-shaped image: 2 setup sectors (setup_sects = 1) and a payload of 0x400 bytes. */
static uint8_t *make_bzimage(size_t *len)
{
	size_t setup = 1024, payload = 0x400;
	uint8_t *img = calloc(1, setup + payload);
	struct setup_header *h = (void *)(img + 0x1f1);

	h->setup_sects = 1;
	h->syssize = payload / 16;
	h->boot_flag = 0xaa55;
	img[0x200] = 0xeb;
	img[0x201] = 0x66;
	h->header = 0x53726448;
	h->version = 0x020f;
	h->loadflags = LOADED_HIGH;
	h->code32_start = 0x100000;
	h->initrd_addr_max = 0x7fffffff;
	h->xloadflags = XLF_KERNEL_64;
	h->cmdline_size = 16;
	h->init_size = 0x2000;
	for (size_t i = 0; i < payload; i++)
		img[setup + i] = (uint8_t)i;
	*len = setup + payload;
	return img;
}

static struct setup_header *hdr(uint8_t *img)
{
	return (void *)(img + 0x1f1);
}

static void test_bzimage_header_checks(void **state)
{
	struct bzimage_info info;
	struct error err;
	size_t len;
	uint8_t *img = make_bzimage(&len);

	assert_true(bzimage_probe(img, len));
	assert_int_equal(bzimage_parse(img, len, &info, &err), 0);
	assert_int_equal(info.setup_size, 1024);
	assert_int_equal(info.payload_len, 0x400);
	assert_int_equal(info.cmdline_size, 16);
	assert_int_equal(info.kernel_end, 0x100000 + 0x2000);
	/* Each requirement in turn. */
	hdr(img)->version = 0x020b;
	assert_int_equal(bzimage_parse(img, len, &info, &err), -ENOEXEC);
	assert_non_null(strstr(err.msg, "2.11"));
	hdr(img)->version = 0x020f;
	hdr(img)->xloadflags = 0;
	assert_int_equal(bzimage_parse(img, len, &info, &err), -ENOEXEC);
	assert_non_null(strstr(err.msg, "XLF_KERNEL_64"));
	hdr(img)->xloadflags = XLF_KERNEL_64;
	hdr(img)->loadflags = 0;
	assert_int_equal(bzimage_parse(img, len, &info, &err), -ENOEXEC);
	hdr(img)->loadflags = LOADED_HIGH;
	hdr(img)->header = 0x12345678;
	assert_false(bzimage_probe(img, len));
	assert_int_equal(bzimage_parse(img, len, &info, &err), -ENOEXEC);
	hdr(img)->header = 0x53726448;
	/* Truncated: inside the setup, or shorter than syssize says. */
	assert_int_equal(bzimage_parse(img, 700, &info, &err), -ENOEXEC);
	assert_int_equal(bzimage_parse(img, 0x100, &info, &err), -ENOEXEC);
	assert_false(bzimage_probe(img, 0x100));
	assert_int_equal(bzimage_parse(img, len - 16, &info, &err), -ENOEXEC);
	assert_non_null(strstr(err.msg, "truncated"));
	hdr(img)->setup_sects = 200; /* setup larger than the file */
	assert_int_equal(bzimage_parse(img, len, &info, &err), -ENOEXEC);
	free(img);
}

static void test_bzimage_boot_params(void **state)
{
	const struct guest_memory *m = *state;
	struct bzimage_info info;
	struct boot_params bp;
	struct error err;
	size_t len;
	uint8_t *img = make_bzimage(&len);

	assert_int_equal(bzimage_parse(img, len, &info, &err), 0);
	assert_int_equal(bzimage_load(m, img, len, &info, "ro quiet", 0x400000, 77, &err), 0);
	assert_int_equal(guest_memory_read(m, X86_BOOT_PARAMS_ADDR, &bp, sizeof(bp)), 0);
	assert_int_equal(bp.hdr.header, 0x53726448);
	assert_int_equal(bp.hdr.version, 0x020f);
	assert_int_equal(bp.hdr.type_of_loader, 0xff);
	assert_int_equal(bp.hdr.cmd_line_ptr, X86_CMDLINE_ADDR);
	assert_string_equal((char *)guest_memory_hva(m, X86_CMDLINE_ADDR, 1), "ro quiet");
	assert_int_equal(bp.hdr.ramdisk_image, 0x400000);
	assert_int_equal(bp.hdr.ramdisk_size, 77);
	assert_int_equal(bp.hdr.code32_start, 0x100000);
	assert_true(bp.hdr.loadflags & CAN_USE_HEAP);
	assert_int_equal(bp.e820_entries, 3);
	assert_int_equal(bp.e820_table[2].addr, 0x100000);
	assert_int_equal(bp.e820_table[2].addr + bp.e820_table[2].size, MEM_SIZE);
	/* The payload at 1 MiB, byte for byte. */
	assert_memory_equal(guest_memory_hva(m, 0x100000, 0x400), img + 1024, 0x400);
	/* cmdline_size is 16: 16 bytes fit, 17 do not. */
	assert_int_equal(bzimage_load(m, img, len, &info, "0123456789abcdef", 0, 0, &err), 0);
	assert_int_equal(bzimage_load(m, img, len, &info, "0123456789abcdefg", 0, 0, &err), -E2BIG);
	/* A kernel whose init_size does not fit in the guest. */
	info.kernel_end = MEM_SIZE + 1;
	assert_int_equal(bzimage_load(m, img, len, &info, "", 0, 0, &err), -ENOMEM);
	free(img);
}

/* A minimal ELF64: one PT_LOAD at paddr, one PT_NOTE holding notes[]. */
struct test_elf {
	Elf64_Ehdr eh;
	Elf64_Phdr ph[2];
	uint8_t notes[64];
	uint8_t code[32];
};

static void make_elf(struct test_elf *e, uint64_t paddr, uint32_t entry)
{
	Elf64_Nhdr other = {.n_namesz = 4, .n_descsz = 4, .n_type = 1};
	Elf64_Nhdr xen = {.n_namesz = 4, .n_descsz = 4, .n_type = XEN_ELFNOTE_PHYS32_ENTRY};

	memset(e, 0, sizeof(*e));
	memcpy(e->eh.e_ident, ELFMAG, SELFMAG);
	e->eh.e_ident[EI_CLASS] = ELFCLASS64;
	e->eh.e_machine = EM_X86_64;
	e->eh.e_phoff = offsetof(struct test_elf, ph);
	e->eh.e_phentsize = sizeof(Elf64_Phdr);
	e->eh.e_phnum = 2;
	e->ph[0] = (Elf64_Phdr){.p_type = PT_LOAD,
				.p_offset = offsetof(struct test_elf, code),
				.p_paddr = paddr,
				.p_filesz = 32,
				.p_memsz = 4096};
	e->ph[1] = (Elf64_Phdr){.p_type = PT_NOTE,
				.p_offset = offsetof(struct test_elf, notes),
				.p_filesz = 2 * (sizeof(Elf64_Nhdr) + 8)};
	/* A foreign "GNU" note first, then Xen's. */
	memcpy(e->notes, &other, sizeof(other));
	memcpy(e->notes + 12, "GNU", 4);
	memcpy(e->notes + 20, &xen, sizeof(xen));
	memcpy(e->notes + 32, "Xen", 4);
	memcpy(e->notes + 36, &entry, 4);
	memset(e->code, 0xf4, sizeof(e->code));
}

static void test_elf_pvh_note(void **state)
{
	const struct guest_memory *m = *state;
	struct test_elf e;
	struct error err;
	uint32_t entry = 0;
	uint64_t end;

	make_elf(&e, 0x200000, 0x200010);
	assert_int_equal(boot_elf_pvh_entry((uint8_t *)&e, sizeof(e), &entry, &err), 0);
	assert_int_equal(entry, 0x200010);
	assert_int_equal(boot_elf_load(m, (uint8_t *)&e, sizeof(e), &end, &err), 0);
	assert_int_equal(end, 0x201000);
	assert_int_equal(*(uint8_t *)guest_memory_hva(m, 0x200000, 1), 0xf4);
	assert_int_equal(*(uint8_t *)guest_memory_hva(m, 0x200020, 1), 0); /* bss zeroed */

	/* No Xen note. */
	make_elf(&e, 0x200000, 0x200010);
	memcpy(e.notes + 32, "Xyz", 4);
	assert_int_equal(boot_elf_pvh_entry((uint8_t *)&e, sizeof(e), &entry, &err), -ENOEXEC);
	assert_non_null(strstr(err.msg, "PVH"));
	/* A note whose name size runs past its segment. */
	make_elf(&e, 0x200000, 0x200010);
	((Elf64_Nhdr *)e.notes)->n_namesz = 0xfffffff0;
	assert_int_equal(boot_elf_pvh_entry((uint8_t *)&e, sizeof(e), &entry, &err), -ENOEXEC);
	/* Program headers beyond the file. */
	make_elf(&e, 0x200000, 0x200010);
	e.eh.e_phnum = 0xffff;
	assert_int_equal(boot_elf_pvh_entry((uint8_t *)&e, sizeof(e), &entry, &err), -ENOEXEC);
	assert_non_null(strstr(err.msg, "truncated"));
	/* Truncated header, 32-bit ELF. */
	assert_int_equal(boot_elf_pvh_entry((uint8_t *)&e, 10, &entry, &err), -ENOEXEC);
	make_elf(&e, 0x200000, 0x200010);
	e.eh.e_ident[EI_CLASS] = ELFCLASS32;
	assert_int_equal(boot_elf_pvh_entry((uint8_t *)&e, sizeof(e), &entry, &err), -ENOEXEC);
	/* Segments outside guest RAM, below 1 MiB, or with offsets past the file. */
	make_elf(&e, MEM_SIZE - 100, 0);
	assert_int_equal(boot_elf_load(m, (uint8_t *)&e, sizeof(e), &end, &err), -ENOMEM);
	make_elf(&e, UINT64_MAX - 10, 0);
	assert_int_equal(boot_elf_load(m, (uint8_t *)&e, sizeof(e), &end, &err), -ENOMEM);
	make_elf(&e, 0x1000, 0);
	assert_int_equal(boot_elf_load(m, (uint8_t *)&e, sizeof(e), &end, &err), -ENOEXEC);
	make_elf(&e, 0x200000, 0);
	e.ph[0].p_offset = UINT64_MAX - 8;
	assert_int_equal(boot_elf_load(m, (uint8_t *)&e, sizeof(e), &end, &err), -ENOEXEC);
	make_elf(&e, 0x200000, 0);
	e.ph[0].p_filesz = 8192; /* more in the file than in memory */
	assert_int_equal(boot_elf_load(m, (uint8_t *)&e, sizeof(e), &end, &err), -ENOEXEC);
}

static void test_cpuid_patch(void **state)
{
	struct kvm_cpuid_entry2 e[4] = {
	    {.function = 0, .eax = 0xd},
	    {.function = 1, .ebx = 0x00010800, .ecx = 0x1},
	    {.function = 0xb, .index = 0, .edx = 0},
	};
	unsigned n = x86_cpuid_patch(e, 3, 4, 3);
	char sig[13] = {0};

	assert_int_equal(n, 4);
	assert_int_equal(e[1].ecx, 0x1 | X86_CPUID_HYPERVISOR_BIT);
	assert_int_equal(e[1].ebx >> 24, 3);
	assert_int_equal(e[1].ebx & 0xffffff, 0x010800);
	assert_int_equal(e[2].edx, 3);
	assert_int_equal(e[3].function, X86_CPUID_KVM_SIGNATURE);
	memcpy(sig, &e[3].ebx, 4);
	memcpy(sig + 4, &e[3].ecx, 4);
	memcpy(sig + 8, &e[3].edx, 4);
	assert_string_equal(sig, "KVMKVMKVM");
	/* Already there, or no room: nothing added. */
	assert_int_equal(x86_cpuid_patch(e, 4, 4, 0), 4);
	assert_int_equal(x86_cpuid_patch(e, 3, 3, 0), 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_e820, setup_mem, teardown_mem),
	    cmocka_unit_test_setup_teardown(test_pvh_start_info, setup_mem, teardown_mem),
	    cmocka_unit_test(test_gdt_and_segments),
	    cmocka_unit_test_setup_teardown(test_long_mode_regs, setup_mem, teardown_mem),
	    cmocka_unit_test_setup_teardown(test_protected_mode_regs, setup_mem, teardown_mem),
	    cmocka_unit_test(test_bzimage_header_checks),
	    cmocka_unit_test_setup_teardown(test_bzimage_boot_params, setup_mem, teardown_mem),
	    cmocka_unit_test_setup_teardown(test_elf_pvh_note, setup_mem, teardown_mem),
	    cmocka_unit_test(test_cpuid_patch),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
