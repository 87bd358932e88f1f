/* accel: the interface between the monitor and whatever runs the vCPUs (KVM today; a software
 * CPU could be added without touching devices or boot code).
 *
 * A backend embeds struct accel_vm / struct accel_vcpu first in its own structs. run() returns
 * one decoded exit at a time; the monitor answers port and MMIO exits through its buses and
 * calls run() again. Everything here is per VM: no global state.
 */
#ifndef VESSEL_VMM_ACCEL_H
#define VESSEL_VMM_ACCEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"
#include "vmm/x86/emulate.h"
#include "vmm/x86/regs.h"

struct accel_ops;

struct accel_vm {
	const struct accel_ops *ops;
};

struct accel_vcpu {
	const struct accel_ops *ops;
	unsigned id;
};

/* What the backend could set up, and what it could not (for the user and the tests). */
struct accel_caps {
	bool irqchip;	/* in-kernel PIC + IOAPIC + LAPIC */
	bool pit;	/* in-kernel i8254 */
	bool ioeventfd; /* add_ioeventfd works: queue kicks skip the vCPU's exit to the monitor */
	bool irqfd;	/* add_irqfd works: devices interrupt without an ioctl per interrupt */
	unsigned max_vcpus;
	char missing[256]; /* "", or e.g. "KVM_CAP_PIT2 (no timer)" */
};

enum accel_exit_reason {
	ACCEL_EXIT_IO,		   /* port I/O: addr = port */
	ACCEL_EXIT_MMIO,	   /* addr = guest-physical address */
	ACCEL_EXIT_HLT,		   /* only without an in-kernel irqchip */
	ACCEL_EXIT_SHUTDOWN,	   /* triple fault */
	ACCEL_EXIT_RESET,	   /* the guest asked the platform to reset */
	ACCEL_EXIT_POWEROFF,	   /* the guest asked the platform to power off */
	ACCEL_EXIT_INTERRUPTED,	   /* kick() or a signal: check why, then run again */
	ACCEL_EXIT_EMULATION,	   /* the accelerator could not emulate an instruction: the
				      monitor may (x86_emulate), else detail says what failed */
	ACCEL_EXIT_INTERNAL_ERROR, /* the accelerator could not go on */
	ACCEL_EXIT_FAIL_ENTRY,	   /* the hardware refused the vCPU state */
	ACCEL_EXIT_UNKNOWN,
};

struct accel_exit {
	enum accel_exit_reason reason;
	uint64_t addr;
	uint32_t size;	/* bytes per access (1, 2, 4, 8) */
	uint32_t count; /* accesses (rep ins/outs), data holds size * count bytes */
	bool is_write;
	uint8_t *data;	  /* owned by the backend, valid until the next run() */
	uint32_t code;	  /* the backend's raw reason or suberror */
	char detail[256]; /* INTERNAL_ERROR / FAIL_ENTRY / UNKNOWN: what the backend knows */
};

struct accel_ops {
	const char *name;
	/* Opens the accelerator and creates an empty VM with its interrupt controller and timer
	 * where available; fills *caps. */
	int (*create_vm)(struct accel_vm **ret, struct accel_caps *caps, struct error *err);
	int (*set_memory_region)(struct accel_vm *vm, uint32_t slot, uint64_t gpa, void *hva,
				 uint64_t size, struct error *err);
	/* Creates vCPU id (0 is the boot CPU) with its CPUID. */
	int (*create_vcpu)(struct accel_vm *vm, unsigned id, struct accel_vcpu **ret,
			   struct error *err);
	int (*set_boot_regs)(struct accel_vcpu *vcpu, const struct x86_boot_regs *regs,
			     struct error *err);
	/* Runs until the next exit; called only from the vCPU's own thread. */
	int (*run)(struct accel_vcpu *vcpu, struct accel_exit *exit, struct error *err);
	/* Makes a run() in progress or about to start return ACCEL_EXIT_INTERRUPTED once; any
	 * thread may call it (the caller then signals the vCPU thread to break out of the
	 * kernel). */
	void (*kick)(struct accel_vcpu *vcpu);
	/* Drives an interrupt line (the IOAPIC/PIC pin) to level; a no-op without an irqchip. */
	int (*set_irq)(struct accel_vm *vm, unsigned irq, int level);
	/* Where caps->ioeventfd: a guest write of len bytes equal to datamatch at gpa signals fd
	 * (an eventfd, borrowed: the accelerator holds its own reference) instead of exiting;
	 * other values written there still exit as MMIO. */
	int (*add_ioeventfd)(struct accel_vm *vm, uint64_t gpa, uint32_t len, uint64_t datamatch,
			     int fd, struct error *err);
	/* Where caps->irqfd: each write to fd (an eventfd, borrowed) is an edge on gsi. */
	int (*add_irqfd)(struct accel_vm *vm, unsigned gsi, int fd, struct error *err);
	/* The state x86_emulate() works on, and writing its result back: registers, the
	 * extended state where action->xstate (XRSTOR), CR2 for a page fault, then the exception
	 * or software interrupt the action injects. NULL where the backend needs no help. */
	int (*get_cpu)(struct accel_vcpu *vcpu, struct x86_cpu *ret, struct error *err);
	int (*apply_emulation)(struct accel_vcpu *vcpu, const struct x86_cpu *cpu,
			       const struct x86_emu_action *action, struct error *err);
	/* XCR0, the XSAVE standard-format image and its layout, read only when x86_emulate()
	 * meets the XSAVE family. NULL where the backend has none. */
	int (*get_xstate)(struct accel_vcpu *vcpu, struct x86_xstate *ret, struct error *err);
	/* One line of registers for error messages: "rip=... rsp=... cr0=...". */
	void (*format_regs)(struct accel_vcpu *vcpu, char *buf, size_t len);
	void (*destroy_vcpu)(struct accel_vcpu *vcpu);
	void (*destroy_vm)(struct accel_vm *vm);
};

/* Linux KVM through /dev/kvm (vmm/kvm.c). */
extern const struct accel_ops accel_kvm_ops;

#endif
