/* x86_insn: what the instruction emulator (emulate.c) shares with its per-group files
 * (emulate-fpu.c): the decoded instruction and the helpers that fault, refuse and advance.
 * Internal to vmm/x86: the monitor calls x86_emulate() (emulate.h).
 */
#ifndef VESSEL_VMM_X86_EMULATE_INSN_H
#define VESSEL_VMM_X86_EMULATE_INSN_H

#include <stdbool.h>
#include <stdint.h>

#include "util/error.h"
#include "vmm/x86/emulate.h"

#define X86_VEC_BP 3
#define X86_VEC_UD 6
#define X86_VEC_NM 7
#define X86_VEC_GP 13
#define X86_VEC_PF 14
#define X86_REX_B  0x1
#define X86_REX_X  0x2
#define X86_REX_R  0x4
#define X86_REX_W  0x8

/* One instruction being decoded. */
struct x86_insn {
	uint8_t bytes[X86_INSN_MAX];
	unsigned avail; /* bytes fetched (fewer at the end of mapped memory) */
	unsigned len;	/* bytes consumed */
	bool lock, rep, repne, opsize, addrsize;
	unsigned seg;
	uint8_t rex;
	uint8_t mod, reg, rm;
	uint64_t ea; /* effective address of a memory operand (segment base included) */
};

bool x86_insn_long_mode(const struct x86_cpu *cpu);

/* Ends emulation: "cannot emulate WHAT at rip 0x...: WHY (bytes ...)"; returns -ENOTSUP. */
int x86_insn_refuse(const struct x86_cpu *cpu, const struct x86_insn *in, const char *what,
		    const char *why, struct error *err);

/* rip past the instruction (wrapped outside 64-bit mode). */
void x86_insn_advance(struct x86_cpu *cpu, const struct x86_insn *in);

void x86_insn_inject(struct x86_emu_action *act, enum x86_event_type type, uint8_t vector);
void x86_insn_inject_error(struct x86_emu_action *act, uint8_t vector, uint32_t code);

/* The guest-physical address of linear address ea for access (enum x86_access): 0; 1 when the
 * guest gets a fault instead (#PF with CR2 in cpu, #GP for a non-canonical address), in act;
 * -errno when the VM cannot go on. */
int x86_insn_operand_gpa(struct x86_cpu *cpu, const struct x86_phys_mem *mem, uint64_t ea,
			 unsigned access, struct x86_emu_action *act, uint64_t *ret_gpa,
			 struct error *err);

/* The r/m source operand of size (<= 8) bytes, zero-extended; returns as operand_gpa. */
int x86_insn_read(struct x86_cpu *cpu, const struct x86_phys_mem *mem, struct x86_insn *in,
		  unsigned size, struct x86_emu_action *act, uint64_t *ret, struct error *err);

/* The 0f ae group after its ModRM (emulate-fpu.c): ldmxcsr, stmxcsr, xsave, xrstor, xsaveopt;
 * the others are refused. */
int x86_insn_0fae(struct x86_cpu *cpu, const struct x86_phys_mem *mem,
		  const struct x86_xstate_io *xs, struct x86_insn *in, struct x86_emu_action *act,
		  struct error *err);

#endif
