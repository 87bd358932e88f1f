/* x86_emulate: the instructions the accelerator could not emulate, finished in the monitor.
 *
 * kvm_pvm (KVM without VT-x/AMD-V) runs guest kernel code through KVM's instruction emulator,
 * which gives up on int3, int n, lock cmpxchg16b, clac/stac, popcnt, fwait, the XSAVE family
 * and ldmxcsr (KVM_EXIT_INTERNAL_ERROR). The monitor
 * then reads the vCPU state, calls x86_emulate() and applies the action it returns:
 *   int3 / int 3     rip += length, inject #BP (a trap: the handler returns after it);
 *   int n            rip += length, inject software interrupt n;
 *   clac / stac      RFLAGS.AC cleared / set (SMAP guests' entry code);
 *   popcnt           register or memory source (64-bit mode);
 *   fwait            a no-op (#NM with CR0.MP and CR0.TS);
 *   cmpxchg8b/16b    done atomically on guest RAM (64-bit mode), registers and ZF updated;
 *                    a fault on the operand is injected (#PF with CR2, #GP, #UD) as the CPU
 *                    would raise it;
 *   xsave, xsaveopt, xrstor (and their 64 forms), standard format, 64-bit mode: the vCPU's
 *                    extended state (struct x86_xstate, read only for them) to or from the
 *                    guest's XSAVE area (xsave.h), faults injected as the CPU raises them;
 *   ldmxcsr, stmxcsr MXCSR in that state (kernel_fpu_begin), 64-bit mode;
 *   xsavec, xsaves, xrstors (the compacted forms) refused: kvm_pvm offers no XSAVES, and
 *                    Linux uses the compacted format only with it;
 *   anything else    refused with the bytes, rip and reason.
 * No KVM here: the caller passes the registers and a guest-physical memory callback (the
 * instruction bytes are fetched through the guest's page tables). A guest cannot make it fail
 * other than with an error the monitor reports (-errno, err says why).
 */
#ifndef VESSEL_VMM_X86_EMULATE_H
#define VESSEL_VMM_X86_EMULATE_H

#include <stdbool.h>
#include <stdint.h>

#include "util/error.h"
#include "vmm/x86/pagewalk.h"
#include "vmm/x86/xsave.h"

#define X86_INSN_MAX 15

enum x86_gpr {
	X86_RAX,
	X86_RCX,
	X86_RDX,
	X86_RBX,
	X86_RSP,
	X86_RBP,
	X86_RSI,
	X86_RDI,
	X86_R8,
	X86_R15 = 15,
	X86_GPR_MAX,
};

#define X86_RFLAGS_ZF	(1ULL << 6)
#define X86_CR4_OSXSAVE (1ULL << 18)

/* The vCPU state the emulator reads and updates. */
struct x86_cpu {
	uint64_t gpr[X86_GPR_MAX]; /* in enum x86_gpr order (the encoding's) */
	uint64_t rip, rflags;
	uint64_t cr0, cr2, cr3, cr4, efer;
	uint64_t cs_base, fs_base, gs_base;
	bool cs_l, cs_db; /* CS.L (64-bit code), CS.D */
	unsigned cpl;
};

enum x86_event_type {
	X86_EVENT_NONE,
	X86_EVENT_EXCEPTION,	  /* vector < 32; error_code when has_error_code */
	X86_EVENT_SOFT_INTERRUPT, /* int n: rip already points after the instruction */
};

/* What to do after a successful x86_emulate(): write back the registers, then inject. */
struct x86_emu_action {
	enum x86_event_type event;
	uint8_t vector;
	bool has_error_code;
	uint32_t error_code;
	bool set_cr2;			 /* a #PF: cpu->cr2 holds the faulting address */
	const struct x86_xstate *xstate; /* XRSTOR: write this extended state back first */
	const char *what;		 /* "int3", "int n", "cmpxchg16b", ... (static) */
	uint8_t insn[X86_INSN_MAX];
	unsigned insn_len; /* bytes decoded */
};

/* Where x86_emulate gets the vCPU's extended state, only for the XSAVE family. */
struct x86_xstate_io {
	void *opaque; /* borrowed, passed to get() */
	/* Fills *ret: XCR0, the component layout and the state itself. */
	int (*get)(void *opaque, struct x86_xstate *ret, struct error *err);
	struct x86_xstate *buf; /* caller-owned; an XRSTOR's action points at it */
};

/* Emulates the instruction at cpu->rip. 0: cpu is updated (rip, registers, flags, cr2) and
 * *ret says what to write back and inject; -errno: the VM cannot go on, err names the
 * instruction (rip and bytes) and why (unsupported instruction, rip not mapped, page tables
 * outside RAM). xs may be NULL where the accelerator has no extended state to give (the XSAVE
 * family is then refused). */
int x86_emulate(struct x86_cpu *cpu, const struct x86_phys_mem *mem, const struct x86_xstate_io *xs,
		struct x86_emu_action *ret, struct error *err);

#endif
