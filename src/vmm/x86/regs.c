/* regs: see regs.h */
#include "vmm/x86/regs.h"

#include <errno.h>
#include <string.h>

#define PTE_PRESENT 0x1ULL
#define PTE_WRITE   0x2ULL
#define PTE_HUGE    0x80ULL

uint64_t x86_gdt_entry(uint16_t flags, uint32_t base, uint32_t limit)
{
	return ((uint64_t)(base & 0xff000000u) << 32) | ((uint64_t)(flags & 0xf0ffu) << 40) |
	       ((uint64_t)(limit & 0x000f0000u) << 32) | ((uint64_t)(base & 0x00ffffffu) << 16) |
	       (uint64_t)(limit & 0x0000ffffu);
}

void x86_seg_from_gdt(uint64_t e, uint16_t selector, struct x86_seg *seg)
{
	uint32_t limit = (uint32_t)((e & 0xffff) | ((e >> 32) & 0xf0000));

	seg->base = ((e >> 16) & 0xffffff) | (((e >> 56) & 0xff) << 24);
	seg->g = (e >> 55) & 1;
	seg->limit = seg->g ? (limit << 12) | 0xfff : limit;
	seg->selector = selector;
	seg->type = (e >> 40) & 0xf;
	seg->s = (e >> 44) & 1;
	seg->dpl = (e >> 45) & 3;
	seg->present = (e >> 47) & 1;
	seg->avl = (e >> 52) & 1;
	seg->l = (e >> 53) & 1;
	seg->db = (e >> 54) & 1;
}

int x86_setup_gdt(const struct guest_memory *mem, enum x86_boot_mode mode,
		  struct x86_boot_regs *regs, struct error *err)
{
	uint64_t gdt[X86_GDT_ENTRIES] = {
	    0,
	    0,
	    x86_gdt_entry(mode == X86_BOOT_LONG64 ? 0xa09b : 0xc09b, 0, 0xfffff),
	    x86_gdt_entry(0xc093, 0, 0xfffff),
	    x86_gdt_entry(0x008b, 0, 0x67), /* 32-bit busy TSS */
	};

	if (guest_memory_write(mem, X86_GDT_ADDR, gdt, sizeof(gdt)) < 0)
		return error_set(err, EFAULT, "GDT at 0x%x: not in guest RAM", X86_GDT_ADDR);
	x86_seg_from_gdt(gdt[2], X86_SEL_CODE, &regs->cs);
	x86_seg_from_gdt(gdt[3], X86_SEL_DATA, &regs->ds);
	x86_seg_from_gdt(gdt[4], X86_SEL_TSS, &regs->tr);
	regs->gdt_base = X86_GDT_ADDR;
	regs->gdt_limit = sizeof(gdt) - 1;
	return 0;
}

int x86_setup_page_tables(const struct guest_memory *mem, struct error *err)
{
	uint64_t *pml4 = guest_memory_hva(mem, X86_PML4_ADDR, 4096);
	uint64_t *pdpt = guest_memory_hva(mem, X86_PDPT_ADDR, 4096);
	uint64_t *pd = guest_memory_hva(mem, X86_PD_ADDR, 4096);

	if (!pml4 || !pdpt || !pd)
		return error_set(err, EFAULT, "page tables at 0x%x: not in guest RAM",
				 X86_PML4_ADDR);
	memset(pml4, 0, 4096);
	memset(pdpt, 0, 4096);
	pml4[0] = X86_PDPT_ADDR | PTE_PRESENT | PTE_WRITE;
	pdpt[0] = X86_PD_ADDR | PTE_PRESENT | PTE_WRITE;
	for (uint64_t i = 0; i < 512; i++)
		pd[i] = (i << 21) | PTE_PRESENT | PTE_WRITE | PTE_HUGE;
	return 0;
}

int x86_setup_boot_regs(const struct guest_memory *mem, enum x86_boot_mode mode, uint64_t entry,
			uint64_t boot_arg, struct x86_boot_regs *regs, struct error *err)
{
	int r;

	memset(regs, 0, sizeof(*regs));
	r = x86_setup_gdt(mem, mode, regs, err);
	if (r < 0)
		return r;
	regs->rip = entry;
	regs->rflags = 0x2;
	regs->rsp = X86_BOOT_STACK_TOP;
	regs->cr0 = X86_CR0_PE | X86_CR0_ET;
	if (mode == X86_BOOT_PROTECTED32) {
		regs->rbx = boot_arg;
		return 0;
	}
	r = x86_setup_page_tables(mem, err);
	if (r < 0)
		return r;
	regs->rsi = boot_arg;
	regs->cr0 |= X86_CR0_PG;
	regs->cr3 = X86_PML4_ADDR;
	regs->cr4 = X86_CR4_PAE;
	regs->efer = X86_EFER_LME | X86_EFER_LMA;
	return 0;
}
