/* x86_pagewalk: see pagewalk.h */
#include "vmm/x86/pagewalk.h"

#include <errno.h>

#define CR0_WP	   (1ULL << 16)
#define CR0_PG	   (1ULL << 31)
#define CR4_SMEP   (1ULL << 20)
#define CR4_LA57   (1ULL << 12)
#define EFER_LMA   (1ULL << 10)
#define EFER_NXE   (1ULL << 11)
#define PTE_P	   (1ULL << 0)
#define PTE_W	   (1ULL << 1)
#define PTE_U	   (1ULL << 2)
#define PTE_A	   (1ULL << 5)
#define PTE_D	   (1ULL << 6)
#define PTE_PS	   (1ULL << 7)
#define PTE_NX	   (1ULL << 63)
#define PTE_ADDR   0x000ffffffffff000ULL
#define PTE_LEVELS 5

static const char *const level_names[PTE_LEVELS] = {"PTE", "PDE", "PDPTE", "PML4E", "PML5E"};

/* What the levels walked so far allow. */
struct walk {
	const struct x86_paging *pg;
	uint64_t gva;
	unsigned access;
	uint64_t allow_w, allow_u, nx;
};

bool x86_is_canonical(const struct x86_paging *pg, uint64_t gva)
{
	unsigned bits = (pg->cr4 & CR4_LA57) ? 57 : 48;
	int64_t s = (int64_t)(gva << (64 - bits)) >> (64 - bits);

	return (uint64_t)s == gva;
}

static int fault(const struct walk *w, uint32_t code, uint32_t *ret_pf_code, const char *why,
		 unsigned level, struct error *err)
{
	if (ret_pf_code)
		*ret_pf_code = code;
	return error_set(err, EFAULT, "page fault at 0x%llx: %s %s", (unsigned long long)w->gva,
			 level_names[level], why);
}

/* The permission checks of a leaf entry; 0 or the fault. */
static int check_leaf(const struct walk *w, unsigned level, uint32_t *ret_pf_code,
		      struct error *err)
{
	const struct x86_paging *pg = w->pg;
	uint32_t code = X86_PF_PRESENT | w->access;
	bool user = w->access & X86_ACCESS_USER;

	if (user && !w->allow_u)
		return fault(w, code, ret_pf_code, "forbids user access", level, err);
	if ((w->access & X86_ACCESS_WRITE) && !w->allow_w && (user || (pg->cr0 & CR0_WP)))
		return fault(w, code, ret_pf_code, "is read-only", level, err);
	if ((w->access & X86_ACCESS_FETCH) && w->nx && (pg->efer & EFER_NXE))
		return fault(w, code, ret_pf_code, "is not executable", level, err);
	if ((w->access & X86_ACCESS_FETCH) && !user && w->allow_u && (pg->cr4 & CR4_SMEP))
		return fault(w, code, ret_pf_code, "is a user page (SMEP)", level, err);
	return 0;
}

/* Reads the entry of level for w->gva in table; sets its Accessed bit. */
static int read_entry(const struct x86_phys_mem *mem, const struct walk *w, uint64_t table,
		      unsigned level, uint64_t *ret_entry, struct error *err)
{
	uint64_t idx = (w->gva >> (12 + 9 * level)) & 511;
	uint64_t *p = mem->map(mem->opaque, table + idx * 8, 8);
	uint64_t e;

	if (!p)
		return error_set(err, ENXIO, "page walk for 0x%llx: %s at 0x%llx is outside RAM",
				 (unsigned long long)w->gva, level_names[level],
				 (unsigned long long)(table + idx * 8));
	e = __atomic_load_n(p, __ATOMIC_ACQUIRE);
	if ((e & PTE_P) && !(e & PTE_A))
		e = __atomic_or_fetch(p, PTE_A, __ATOMIC_ACQ_REL);
	*ret_entry = e;
	return 0;
}

static void set_dirty(const struct x86_phys_mem *mem, uint64_t table, const struct walk *w,
		      unsigned level)
{
	uint64_t idx = (w->gva >> (12 + 9 * level)) & 511;
	uint64_t *p = mem->map(mem->opaque, table + idx * 8, 8);

	if (p)
		__atomic_or_fetch(p, PTE_D, __ATOMIC_ACQ_REL);
}

static int walk_long(const struct x86_phys_mem *mem, struct walk *w, uint64_t *ret_gpa,
		     uint32_t *ret_pf_code, struct error *err)
{
	uint64_t table = w->pg->cr3 & PTE_ADDR, e = 0, size;
	unsigned level = (w->pg->cr4 & CR4_LA57) ? 4 : 3;
	int r;

	for (;; level--) {
		r = read_entry(mem, w, table, level, &e, err);
		if (r < 0)
			return r;
		if (!(e & PTE_P))
			return fault(w, w->access, ret_pf_code, "not present", level, err);
		if ((e & PTE_PS) && level >= 3)
			return fault(w, X86_PF_PRESENT | X86_PF_RSVD | w->access, ret_pf_code,
				     "has the reserved PS bit", level, err);
		w->allow_w &= e & PTE_W;
		w->allow_u &= e & PTE_U;
		w->nx |= e & PTE_NX;
		if (level == 0 || (e & PTE_PS))
			break;
		table = e & PTE_ADDR;
	}
	r = check_leaf(w, level, ret_pf_code, err);
	if (r < 0)
		return r;
	if (w->access & X86_ACCESS_WRITE)
		set_dirty(mem, table, w, level);
	size = 1ULL << (12 + 9 * level);
	*ret_gpa = ((e & PTE_ADDR) & ~(size - 1)) | (w->gva & (size - 1));
	return 0;
}

int x86_pagewalk(const struct x86_phys_mem *mem, const struct x86_paging *pg, uint64_t gva,
		 unsigned access, uint64_t *ret_gpa, uint32_t *ret_pf_code, struct error *err)
{
	struct walk w = {.pg = pg,
			 .gva = gva,
			 .access = access & ~(unsigned)X86_ACCESS_USER,
			 .allow_w = PTE_W,
			 .allow_u = PTE_U};

	if (pg->cpl == 3)
		w.access |= X86_ACCESS_USER;
	if (!(pg->cr0 & CR0_PG)) {
		*ret_gpa = gva & 0xffffffffULL; /* protected mode without paging */
		return 0;
	}
	if (!(pg->efer & EFER_LMA))
		return error_set(err, ENOTSUP,
				 "page walk for 0x%llx: 32-bit paging is not supported",
				 (unsigned long long)gva);
	if (!x86_is_canonical(pg, gva))
		return error_set(err, EINVAL, "address 0x%llx is not canonical",
				 (unsigned long long)gva);
	return walk_long(mem, &w, ret_gpa, ret_pf_code, err);
}
