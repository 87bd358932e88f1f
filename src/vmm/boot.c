/* boot: see boot.h */
#include "vmm/boot.h"

#include <elf.h>
#include <errno.h>
#include <string.h>

#include "util/cleanup.h"
#include "util/fd.h"
#include "vmm/x86/bzimage.h"
#include "vmm/x86/pvh.h"

#define PAGE_SIZE 4096ULL

static int elf_header(const uint8_t *img, size_t len, Elf64_Ehdr *eh, struct error *err)
{
	if (len < sizeof(*eh))
		return error_set(err, ENOEXEC, "truncated ELF header");
	memcpy(eh, img, sizeof(*eh));
	if (eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_machine != EM_X86_64)
		return error_set(err, ENOEXEC, "not an x86-64 ELF file");
	if (eh->e_phentsize != sizeof(Elf64_Phdr) || eh->e_phnum == 0)
		return error_set(err, ENOEXEC, "ELF file without program headers");
	if (eh->e_phoff > len || (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr) > len - eh->e_phoff)
		return error_set(err, ENOEXEC, "truncated ELF program headers");
	return 0;
}

static void elf_phdr(const uint8_t *img, const Elf64_Ehdr *eh, unsigned i, Elf64_Phdr *ph)
{
	memcpy(ph, img + eh->e_phoff + (uint64_t)i * sizeof(*ph), sizeof(*ph));
}

/* Looks through one PT_NOTE segment for Xen's PHYS32_ENTRY; 1 when found. */
static int find_pvh_note(const uint8_t *p, uint64_t len, uint32_t *entry)
{
	uint64_t off = 0;

	while (len - off >= sizeof(Elf64_Nhdr)) {
		Elf64_Nhdr nh;
		memcpy(&nh, p + off, sizeof(nh));
		off += sizeof(nh);
		uint64_t name_len = ((uint64_t)nh.n_namesz + 3) & ~3ULL;
		uint64_t desc_len = ((uint64_t)nh.n_descsz + 3) & ~3ULL;
		if (name_len > len - off || desc_len > len - off - name_len)
			return 0;
		if (nh.n_type == XEN_ELFNOTE_PHYS32_ENTRY && nh.n_namesz == 4 &&
		    !memcmp(p + off, "Xen", 4) && nh.n_descsz >= 4) {
			memcpy(entry, p + off + name_len, 4);
			return 1;
		}
		off += name_len + desc_len;
	}
	return 0;
}

int boot_elf_pvh_entry(const uint8_t *img, size_t len, uint32_t *entry, struct error *err)
{
	Elf64_Ehdr eh;
	int r = elf_header(img, len, &eh, err);

	if (r < 0)
		return r;
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		elf_phdr(img, &eh, i, &ph);
		if (ph.p_type != PT_NOTE)
			continue;
		if (ph.p_offset > len || ph.p_filesz > len - ph.p_offset)
			return error_set(err, ENOEXEC, "truncated ELF note segment");
		if (find_pvh_note(img + ph.p_offset, ph.p_filesz, entry))
			return 0;
	}
	return error_set(err, ENOEXEC,
			 "ELF kernel without a PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY)");
}

static int load_segment(const struct guest_memory *mem, const uint8_t *img, size_t len,
			const Elf64_Phdr *ph, struct error *err)
{
	uint8_t *dst;

	if (ph->p_offset > len || ph->p_filesz > len - ph->p_offset)
		return error_set(err, ENOEXEC, "truncated ELF segment at offset 0x%llx",
				 (unsigned long long)ph->p_offset);
	if (ph->p_filesz > ph->p_memsz)
		return error_set(err, ENOEXEC, "ELF segment larger in the file than in memory");
	if (ph->p_paddr < X86_HIMEM_START)
		return error_set(err, ENOEXEC, "ELF segment at 0x%llx: below 1 MiB",
				 (unsigned long long)ph->p_paddr);
	dst = guest_memory_hva(mem, ph->p_paddr, ph->p_memsz);
	if (!dst)
		return error_set(err, ENOMEM,
				 "ELF segment at 0x%llx (%llu bytes) does not fit in guest memory",
				 (unsigned long long)ph->p_paddr, (unsigned long long)ph->p_memsz);
	memcpy(dst, img + ph->p_offset, ph->p_filesz);
	memset(dst + ph->p_filesz, 0, ph->p_memsz - ph->p_filesz);
	return 0;
}

int boot_elf_load(const struct guest_memory *mem, const uint8_t *img, size_t len, uint64_t *end,
		  struct error *err)
{
	Elf64_Ehdr eh;
	int r = elf_header(img, len, &eh, err);

	*end = 0;
	for (unsigned i = 0; r == 0 && i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		elf_phdr(img, &eh, i, &ph);
		if (ph.p_type != PT_LOAD || ph.p_memsz == 0)
			continue;
		r = load_segment(mem, img, len, &ph, err);
		if (r == 0 && ph.p_paddr + ph.p_memsz > *end)
			*end = ph.p_paddr + ph.p_memsz;
	}
	if (r == 0 && *end == 0)
		return error_set(err, ENOEXEC, "ELF file without loadable segments");
	return r;
}

/* Reads the initrd to the top of low memory below limit, above the kernel. */
static int load_initrd(const struct guest_memory *mem, const char *path, uint64_t limit,
		       struct boot_result *res, struct error *err)
{
	cleanup_free char *buf = NULL;
	uint64_t low = guest_memory_low_end(mem), top, gpa;
	size_t len;
	int r;

	if (!path)
		return 0;
	top = limit < low ? limit : low;
	r = fd_read_file(path, (size_t)low, &buf, &len, err);
	if (r < 0)
		return error_wrap(err, "initrd");
	if (len == 0)
		return error_set(err, EINVAL, "initrd %s: empty file", path);
	gpa = len <= top ? (top - len) & ~(PAGE_SIZE - 1) : 0;
	if (len > top || gpa < ((res->kernel_end + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1)))
		return error_set(err, ENOMEM, "initrd %s: %zu bytes do not fit in guest memory",
				 path, len);
	if (guest_memory_write(mem, gpa, buf, len) < 0)
		return error_set(err, EFAULT, "initrd %s: not in guest RAM", path);
	res->initrd_gpa = gpa;
	res->initrd_size = len;
	return 0;
}

static int boot_pvh(const struct guest_memory *mem, const struct boot_config *cfg,
		    const uint8_t *img, size_t len, struct boot_result *res, struct error *err)
{
	uint32_t entry;
	int r = boot_elf_pvh_entry(img, len, &entry, err);

	if (r == 0)
		r = boot_elf_load(mem, img, len, &res->kernel_end, err);
	if (r < 0)
		return error_wrap(err, "kernel %s", cfg->kernel);
	r = load_initrd(mem, cfg->initrd, UINT32_MAX, res, err);
	if (r == 0)
		r = pvh_setup_start_info(mem, cfg->cmdline, res->initrd_gpa, res->initrd_size, err);
	if (r == 0)
		r = x86_setup_boot_regs(mem, X86_BOOT_PROTECTED32, entry, X86_START_INFO_ADDR,
					&res->regs, err);
	res->protocol = BOOT_PVH;
	return r;
}

static int boot_bzimage(const struct guest_memory *mem, const struct boot_config *cfg,
			const uint8_t *img, size_t len, struct boot_result *res, struct error *err)
{
	struct bzimage_info info;
	size_t clen = strlen(cfg->cmdline);
	int r = bzimage_parse(img, len, &info, err);

	if (r < 0)
		return error_wrap(err, "kernel %s", cfg->kernel);
	if (clen > info.cmdline_size)
		return error_set(err, E2BIG, "--cmdline: %zu bytes, kernel %s accepts at most %u",
				 clen, cfg->kernel, info.cmdline_size);
	res->kernel_end = info.kernel_end;
	r = load_initrd(mem, cfg->initrd, (uint64_t)info.initrd_addr_max + 1, res, err);
	if (r < 0)
		return r;
	r = bzimage_load(mem, img, len, &info, cfg->cmdline, res->initrd_gpa, res->initrd_size,
			 err);
	if (r < 0)
		return error_wrap(err, "kernel %s", cfg->kernel);
	res->protocol = BOOT_LINUX64;
	return x86_setup_boot_regs(mem, X86_BOOT_LONG64, info.load_addr + BZIMAGE_ENTRY64_OFF,
				   X86_BOOT_PARAMS_ADDR, &res->regs, err);
}

int boot_set_rsdp(const struct guest_memory *mem, const struct boot_result *res, uint64_t rsdp,
		  struct error *err)
{
	switch (res->protocol) {
	case BOOT_PVH:
		return pvh_set_rsdp(mem, rsdp, err);
	case BOOT_LINUX64:
		return bzimage_set_rsdp(mem, rsdp, err);
	}
	return error_set(err, EINVAL, "boot protocol %d: unknown", (int)res->protocol);
}

int boot_load(const struct guest_memory *mem, const struct boot_config *cfg,
	      struct boot_result *res, struct error *err)
{
	cleanup_free char *img = NULL;
	size_t len;
	int r;

	memset(res, 0, sizeof(*res));
	r = fd_read_file(cfg->kernel, (size_t)mem->size, &img, &len, err);
	if (r < 0)
		return error_wrap(err, "kernel");
	if (len >= SELFMAG && !memcmp(img, ELFMAG, SELFMAG))
		return boot_pvh(mem, cfg, (const uint8_t *)img, len, res, err);
	if (bzimage_probe((const uint8_t *)img, len))
		return boot_bzimage(mem, cfg, (const uint8_t *)img, len, res, err);
	return error_set(err, ENOEXEC, "kernel %s: not a kernel (%s)", cfg->kernel,
			 len ? "neither an ELF file nor a bzImage" : "empty file");
}
