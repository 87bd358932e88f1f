/* regs: the x86 boot-time machine state: low-memory layout, GDT, identity page tables, and
 * the vCPU registers for the two boot entries (PVH's 32-bit protected mode, Linux's 64-bit
 * long mode). Pure builders over guest memory: no KVM here, so they are unit-tested on a
 * buffer.
 */
#ifndef VESSEL_VMM_X86_REGS_H
#define VESSEL_VMM_X86_REGS_H

#include <stdbool.h>
#include <stdint.h>

#include "util/error.h"
#include "vmm/memory.h"

/* Guest-physical layout below 1 MiB (all of it inside the first 640 KiB of RAM). */
#define X86_GDT_ADDR	      0x500
#define X86_GDT_ENTRIES	      5
#define X86_START_INFO_ADDR   0x6000 /* PVH hvm_start_info */
#define X86_PVH_MEMMAP_ADDR   0x6040
#define X86_PVH_MODLIST_ADDR  0x6800
#define X86_BOOT_PARAMS_ADDR  0x7000 /* Linux zero page */
#define X86_BOOT_STACK_TOP    0x8ff0
#define X86_PML4_ADDR	      0x9000
#define X86_PDPT_ADDR	      0xa000
#define X86_PD_ADDR	      0xb000
#define X86_CMDLINE_ADDR      0x20000
#define X86_CMDLINE_MAX	      0x10000 /* bytes, with the NUL */
#define X86_EBDA_START	      0x9fc00
#define X86_HIMEM_START	      0x100000
#define X86_IDENTITY_MAP_SIZE (1ULL << 30)

/* GDT selectors: Linux's boot protocol wants __BOOT_CS 0x10 and __BOOT_DS 0x18. */
#define X86_SEL_CODE 0x10
#define X86_SEL_DATA 0x18
#define X86_SEL_TSS  0x20

#define X86_CR0_PE   0x1ULL
#define X86_CR0_ET   0x10ULL
#define X86_CR0_PG   0x80000000ULL
#define X86_CR4_PAE  0x20ULL
#define X86_EFER_LME 0x100ULL
#define X86_EFER_LMA 0x400ULL

struct x86_seg {
	uint64_t base;
	uint32_t limit;
	uint16_t selector;
	uint8_t type, present, dpl, db, s, l, g, avl;
};

struct x86_boot_regs {
	uint64_t rip, rsp, rflags, rsi, rbx;
	uint64_t cr0, cr3, cr4, efer;
	struct x86_seg cs, ds, tr; /* ds is also es, fs, gs and ss */
	uint64_t gdt_base;
	uint16_t gdt_limit;
};

enum x86_boot_mode { X86_BOOT_PROTECTED32, X86_BOOT_LONG64 };

/* A GDT descriptor from the access/flags word (e.g. 0xa09b: 64-bit code), base and limit. */
uint64_t x86_gdt_entry(uint16_t flags, uint32_t base, uint32_t limit);
/* The segment register contents a descriptor loads. */
void x86_seg_from_gdt(uint64_t entry, uint16_t selector, struct x86_seg *seg);
/* Writes the GDT for mode at X86_GDT_ADDR; fills regs' segments and GDTR from it. */
int x86_setup_gdt(const struct guest_memory *mem, enum x86_boot_mode mode,
		  struct x86_boot_regs *regs, struct error *err);
/* Identity-maps the first GiB with 2 MiB pages (PML4, PDPT, PD at X86_PML4_ADDR...). */
int x86_setup_page_tables(const struct guest_memory *mem, struct error *err);
/* Complete boot state for mode: GDT (and for long mode the page tables) written to memory,
 * control registers, rip = entry; boot_arg goes in rbx (PVH) or rsi (Linux). */
int x86_setup_boot_regs(const struct guest_memory *mem, enum x86_boot_mode mode, uint64_t entry,
			uint64_t boot_arg, struct x86_boot_regs *regs, struct error *err);

#endif
