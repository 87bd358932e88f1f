/* cpuid: what each vCPU's CPUID says, derived from KVM_GET_SUPPORTED_CPUID. */
#ifndef VESSEL_VMM_X86_CPUID_H
#define VESSEL_VMM_X86_CPUID_H

#include <linux/kvm.h>

#include "vmm/x86/xsave.h"

#define X86_CPUID_HYPERVISOR_BIT (1u << 31) /* leaf 1 ecx */
#define X86_CPUID_KVM_SIGNATURE	 0x40000000u

/* Patches n entries (room for cap) for vCPU vcpu_id: the hypervisor bit, the initial APIC id
 * in leaf 1 and the x2APIC id in leaves 0xb/0x1f, and KVM's signature leaf when missing.
 * Returns the new number of entries. */
unsigned x86_cpuid_patch(struct kvm_cpuid_entry2 *e, unsigned n, unsigned cap, unsigned vcpu_id);

/* Fills xs->offset[] and xs->size[] from leaf 0xd's subleaves 2 and up (EBX and EAX: where each
 * component lies in the standard XSAVE format); components with no subleaf get 0. */
void x86_cpuid_xstate_layout(const struct kvm_cpuid_entry2 *e, unsigned n, struct x86_xstate *xs);

#endif
