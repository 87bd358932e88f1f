/* x86_pagewalk: guest-virtual to guest-physical translation through the guest's own page
 * tables, for the monitor's instruction emulation (emulate.h). No KVM here: guest memory is
 * reached through a callback, so the walker is unit-tested on a buffer.
 *
 * Modes: paging off (linear = physical), 4-level and 5-level (CR4.LA57) long-mode paging with
 * 1 GiB and 2 MiB pages. 32-bit paging and PAE without long mode are refused (-ENOTSUP). Every
 * table entry is read through the callback, so a table outside RAM ends the walk (-ENXIO); the
 * walk has at most five steps, so self-referencing tables cannot make it loop.
 */
#ifndef VESSEL_VMM_X86_PAGEWALK_H
#define VESSEL_VMM_X86_PAGEWALK_H

#include <stdbool.h>
#include <stdint.h>

#include "util/error.h"

/* Guest-physical memory as the emulator sees it. */
struct x86_phys_mem {
	void *opaque; /* borrowed, passed to map() */
	/* The host address of [gpa, gpa + len) when all of it is guest RAM, else NULL. */
	void *(*map)(void *opaque, uint64_t gpa, uint64_t len);
};

/* The control registers that decide how a linear address is translated. */
struct x86_paging {
	uint64_t cr0, cr3, cr4, efer;
	unsigned cpl; /* 0..3: user-mode accesses (3) need U in every level */
};

/* What the access is; the values are the #PF error-code bits. */
enum x86_access {
	X86_ACCESS_READ = 0,
	X86_ACCESS_WRITE = 1 << 1,
	X86_ACCESS_USER = 1 << 2, /* set by the walker from cpl */
	X86_ACCESS_FETCH = 1 << 4,
};

/* #PF error-code bits the walker reports beyond the access ones. */
#define X86_PF_PRESENT 0x1u
#define X86_PF_RSVD    0x8u

#define X86_PAGE_SIZE 4096ULL

/* Translates gva for access (enum x86_access bits). On success *ret_gpa is the physical
 * address; the walk sets the Accessed bits, and Dirty in the leaf for a write, as the CPU
 * does. Errors (err names the address and level):
 *   -EFAULT  a page fault the guest should see: *ret_pf_code is its error code;
 *   -EINVAL  gva is not canonical (a #GP for the guest);
 *   -ENXIO   a page table lies outside guest RAM (the monitor cannot go on);
 *   -ENOTSUP a paging mode the walker does not handle.
 * ret_pf_code may be NULL. */
int x86_pagewalk(const struct x86_phys_mem *mem, const struct x86_paging *pg, uint64_t gva,
		 unsigned access, uint64_t *ret_gpa, uint32_t *ret_pf_code, struct error *err);

/* Whether gva is canonical for pg's paging mode (48 or, with LA57, 57 bits). */
bool x86_is_canonical(const struct x86_paging *pg, uint64_t gva);

#endif
