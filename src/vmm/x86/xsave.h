/* x86_xsave: what XSAVE, XSAVEOPT and XRSTOR do in the standard (non-compacted) format, between
 * a copy of the guest's XSAVE area and the vCPU's extended state (struct x86_xstate, which is
 * KVM's kvm_xsave image: the same format). No guest memory and no KVM here: the emulator
 * (emulate.c) checks the mode-dependent faults (#UD, #NM, alignment), copies the area in and out
 * through the guest's page tables, and the accelerator reads and writes the state.
 *
 * Offsets: bytes 0-511 the legacy (FXSAVE) area, 512-575 the header (XSTATE_BV, XCOMP_BV,
 * reserved), component i >= 2 at offset[i] (CPUID 0xd subleaf i EBX) for size[i] bytes (EAX).
 * The compacted format (XCOMP_BV != 0) is refused with #GP: Linux uses it only with XSAVES,
 * which kvm_pvm does not offer.
 */
#ifndef VESSEL_VMM_X86_XSAVE_H
#define VESSEL_VMM_X86_XSAVE_H

#include <stdbool.h>
#include <stdint.h>

#include "util/error.h"

#define X86_XSAVE_AREA_SIZE   4096 /* struct kvm_xsave without AMX */
#define X86_XSAVE_HEADER      512  /* offset of XSTATE_BV */
#define X86_XSAVE_HEADER_END  576  /* the first component (2, AVX) starts here or later */
#define X86_XSTATE_COMPONENTS 32   /* XCR0 bits the layout can describe */

/* The vCPU's extended state. */
struct x86_xstate {
	uint64_t xcr0;
	uint32_t offset[X86_XSTATE_COMPONENTS], size[X86_XSTATE_COMPONENTS]; /* i >= 2 */
	uint8_t area[X86_XSAVE_AREA_SIZE]; /* header's XSTATE_BV: components not in init state */
};

/* Checks that every component XCR0 enables lies inside area (the layout comes from CPUID, the
 * area from the accelerator). -ENOTSUP, naming the component, otherwise. */
int x86_xsave_check_layout(const struct x86_xstate *xs, struct error *err);

/* Bytes of the XSAVE area, from its start, that the components in mask reach (at least the
 * legacy area and header). Only after x86_xsave_check_layout(). */
uint32_t x86_xsave_extent(const struct x86_xstate *xs, uint64_t mask);

/* XRSTOR of the area (x86_xsave_extent(xs, rfbm & XSTATE_BV) bytes, at least the header) for
 * rfbm (EDX:EAX & XCR0): components in rfbm & XSTATE_BV are loaded from it, the rest of rfbm
 * get their initial state, and xs's XSTATE_BV is updated. wide: XRSTOR64 (REX.W), else the x87
 * instruction and data pointers are 32 bits. Returns -EINVAL, xs unchanged, where the CPU
 * raises #GP: XSTATE_BV not within XCR0, XCOMP_BV or header bytes 16-23 not 0, reserved
 * MXCSR bits set. Where MXCSR is loaded, xs's XSTATE_BV counts SSE as in use (the CPU may; Linux's
 * KVM_SET_XSAVE takes MXCSR only with FP, SSE or AVX in it). */
int x86_xsave_restore(struct x86_xstate *xs, const uint8_t *area, uint64_t rfbm, bool wide);

/* MXCSR, as STMXCSR stores it. */
uint32_t x86_xsave_mxcsr(const struct x86_xstate *xs);

/* LDMXCSR: -EINVAL (#GP) where mxcsr sets a bit MXCSR_MASK reserves. */
int x86_xsave_set_mxcsr(struct x86_xstate *xs, uint32_t mxcsr);

/* XSAVE (and XSAVEOPT, which may write less) into area (x86_xsave_extent(xs, rfbm) bytes,
 * holding the guest's current contents): the components in rfbm, and XSTATE_BV's rfbm bits;
 * the rest of the area is left as it was. */
void x86_xsave_save(const struct x86_xstate *xs, uint8_t *area, uint64_t rfbm, bool wide);

#endif
