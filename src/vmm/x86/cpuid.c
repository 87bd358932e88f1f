/* cpuid: see cpuid.h */
#include "vmm/x86/cpuid.h"

#include <stdbool.h>
#include <string.h>

static void add_kvm_signature(struct kvm_cpuid_entry2 *e)
{
	static const char sig[12] = "KVMKVMKVM\0\0";

	memset(e, 0, sizeof(*e));
	e->function = X86_CPUID_KVM_SIGNATURE;
	e->eax = X86_CPUID_KVM_SIGNATURE + 1;
	memcpy(&e->ebx, sig, 4);
	memcpy(&e->ecx, sig + 4, 4);
	memcpy(&e->edx, sig + 8, 4);
}

unsigned x86_cpuid_patch(struct kvm_cpuid_entry2 *e, unsigned n, unsigned cap, unsigned vcpu_id)
{
	bool has_kvm = false;

	for (unsigned i = 0; i < n; i++) {
		switch (e[i].function) {
		case 1:
			e[i].ecx |= X86_CPUID_HYPERVISOR_BIT;
			e[i].ebx = (e[i].ebx & 0x00ffffffu) | (vcpu_id << 24);
			break;
		case 0xb:
		case 0x1f:
			e[i].edx = vcpu_id;
			break;
		case X86_CPUID_KVM_SIGNATURE:
			has_kvm = true;
			break;
		default:
			break;
		}
	}
	if (!has_kvm && n < cap)
		add_kvm_signature(&e[n++]);
	return n;
}

void x86_cpuid_xstate_layout(const struct kvm_cpuid_entry2 *e, unsigned n, struct x86_xstate *xs)
{
	memset(xs->offset, 0, sizeof(xs->offset));
	memset(xs->size, 0, sizeof(xs->size));
	for (unsigned i = 0; i < n; i++) {
		if (e[i].function != 0xd || e[i].index < 2 || e[i].index >= X86_XSTATE_COMPONENTS)
			continue;
		xs->offset[e[i].index] = e[i].ebx;
		xs->size[e[i].index] = e[i].eax;
	}
}
