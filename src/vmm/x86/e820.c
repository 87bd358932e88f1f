/* e820: see e820.h */
#include "vmm/x86/e820.h"

#include "vmm/x86/regs.h"

static size_t add(struct x86_e820_entry *out, size_t n, size_t max, uint64_t addr, uint64_t end,
		  uint32_t type)
{
	if (n >= max || end <= addr)
		return n;
	out[n] = (struct x86_e820_entry){.addr = addr, .size = end - addr, .type = type};
	return n + 1;
}

size_t x86_e820_build(const struct guest_memory *mem, struct x86_e820_entry *out, size_t max)
{
	uint64_t low = guest_memory_low_end(mem);
	size_t n = 0;

	n = add(out, n, max, 0, low < X86_EBDA_START ? low : X86_EBDA_START, X86_E820_RAM);
	if (low > X86_EBDA_START)
		n = add(out, n, max, X86_EBDA_START, X86_HIMEM_START, X86_E820_RESERVED);
	n = add(out, n, max, X86_HIMEM_START, low, X86_E820_RAM);
	for (unsigned i = 1; i < mem->nregions; i++)
		n = add(out, n, max, mem->regions[i].gpa,
			mem->regions[i].gpa + mem->regions[i].size, X86_E820_RAM);
	return n;
}
