/* acpi: the firmware tables that let a stock Linux kernel find the machine without a BIOS.
 *
 * RSDP (revision 2) -> XSDT -> FADT (ACPI 6.0, hardware-reduced) -> DSDT, and the MADT (one
 * local APIC per vCPU, the I/O APIC, IRQ0 -> GSI2). The DSDT's AML is written by hand here:
 * _S5 (so Linux offers ACPI poweroff), COM1, the i8042 and one LNRO0005 device per virtio-mmio
 * slot (Linux's virtio_mmio driver finds its devices only there, or on the command line). The
 * FADT's sleep and reset registers are the ports of dev/acpi-pm.h.
 *
 * Everything lies in [ACPI_TABLES_START, ACPI_TABLES_END), inside the legacy hole that the
 * e820 map reserves (x86/e820.c), with the RSDP first on a 16-byte boundary so that the legacy
 * scan of 0xe0000-0xfffff finds it too. Nothing else is loaded there (x86/regs.h).
 */
#ifndef VESSEL_VMM_X86_ACPI_H
#define VESSEL_VMM_X86_ACPI_H

#include <stdbool.h>
#include <stdint.h>

#include "util/error.h"
#include "vmm/memory.h"

#define ACPI_TABLES_START 0xe0000
#define ACPI_TABLES_END	  0x100000

struct vm_virtio_slot;

struct acpi_config {
	unsigned ncpus;
	bool irqchip; /* in-kernel LAPIC + IOAPIC: without them there is no MADT */
	const struct vm_virtio_slot *virtio; /* borrowed, nvirtio entries (vm.h) */
	unsigned nvirtio;
};

/* Writes the tables into mem (which must hold the area): 0 and *ret_rsdp (the RSDP's
 * guest-physical address), -EFAULT when the area is not RAM, -EINVAL for a slot that
 * Memory32Fixed cannot describe, -ENOSPC when the devices do not fit in the area. */
int acpi_build(const struct guest_memory *mem, const struct acpi_config *cfg, uint64_t *ret_rsdp,
	       struct error *err);

#endif
