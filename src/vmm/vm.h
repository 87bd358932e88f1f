/* vm: one virtual machine: accelerator, guest RAM, buses, devices, vCPU threads.
 *
 * vm_create() validates the config, builds the machine in a visible order (memory, serial,
 * i8042, debug exit, ACPI PM, the virtio devices, kernel, ACPI tables, vCPUs) and returns it
 * ready to run. vm_run() starts the I/O thread and one thread per vCPU and waits until the
 * guest resets, powers off or writes the debug-exit port, a vCPU fails, or the timeout passes.
 * Guest actions never abort the monitor: the worst a guest can do is end its own VM.
 */
#ifndef VESSEL_VMM_VM_H
#define VESSEL_VMM_VM_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "util/error.h"
#include "vmm/accel.h"
#include "vmm/boot.h"
#include "vmm/bus.h"
#include "vmm/dev/acpi-pm.h"
#include "vmm/dev/debug-exit.h"
#include "vmm/dev/i8042.h"
#include "vmm/dev/serial8250.h"
#include "vmm/iothread.h"
#include "vmm/memory.h"

#define VM_MIN_MEMORY	  (4ULL << 20)
#define VM_DEFAULT_MEMORY (256ULL << 20)
#define VM_MAX_CPUS	  255 /* xAPIC ids 0..254 */
#define VM_MAX_DEVICES	  16
#define VM_MAX_DISKS	  4

/* virtio-mmio slots: slot i is the window at VM_VIRTIO_MMIO_BASE + i * VM_VIRTIO_MMIO_STRIDE,
 * interrupting on IOAPIC pin VM_VIRTIO_GSI_BASE + i (edge, active high). */
#define VM_VIRTIO_MMIO_BASE   0xd0000000ULL
#define VM_VIRTIO_MMIO_STRIDE 0x1000ULL
#define VM_VIRTIO_GSI_BASE    16
#define VM_MAX_VIRTIO	      8

struct vm_disk {
	const char *path;
	bool readonly;
};

struct vm_config {
	const char *kernel;
	const char *initrd;  /* NULL: none */
	const char *cmdline; /* NULL: "" */
	unsigned cpus;
	uint64_t memory;    /* bytes */
	int console_fd;	    /* borrowed; -1 discards the guest's serial output */
	int64_t timeout_ms; /* 0: none */
	struct vm_disk disks[VM_MAX_DISKS];
	unsigned ndisks;
	const char *tap;    /* --net tap=NAME; NULL: no network device */
	uint32_t vsock_cid; /* --vsock CID,SOCKET; 0: no vsock device */
	const char *vsock_socket;
	bool no_seccomp; /* --no-seccomp: monitor threads run unfiltered (debugging) */
	bool hugepages;	 /* --hugepages: guest RAM from the host's 2 MiB hugetlb pool */
};

/* One attached virtio-mmio device, as the firmware tables describe it. */
struct vm_virtio_slot {
	const char *name; /* static: "virtio-blk" */
	uint64_t base;
	uint64_t size;
	unsigned gsi;
};

/* The device registry: every attached device, torn down in reverse order. */
struct vm_device {
	const char *name;
	void (*destroy)(void *opaque);
	void *opaque;
};

struct vcpu;

struct vm {
	const struct accel_ops *ops;
	struct accel_vm *accel;
	struct accel_caps caps;
	struct guest_memory mem;
	struct bus pio;
	struct bus mmio;
	struct iothread io; /* the devices' host side and queue kicks; started by vm_run() */
	struct vm_device devices[VM_MAX_DEVICES];
	unsigned ndevices;
	struct serial8250 serial;
	struct i8042 i8042;
	struct debug_exit debug_exit;
	struct acpi_pm acpi_pm;
	struct vm_virtio_slot virtio[VM_MAX_VIRTIO];
	unsigned nvirtio;
	struct boot_result boot;
	struct vcpu *vcpus;
	unsigned ncpus;
	int64_t timeout_ms;
	bool sandbox; /* vCPU and I/O threads confine themselves (vmm/sandbox.h) */

	pthread_mutex_t lock; /* guards the fields below */
	pthread_cond_t cond;
	bool done;
	int status;	   /* the guest's exit status once done */
	struct error fail; /* code != 0: the VM failed (triple fault, KVM error, timeout) */
};

/* Checks cfg (memory, cpus, files) and builds the VM on ops (NULL: KVM). */
int vm_create(const struct vm_config *cfg, const struct accel_ops *ops, struct vm **ret,
	      struct error *err);
/* Runs the VM to its end: 0 and *status (the debug-exit value, or 0 after a reset or
 * poweroff), or -errno with err naming the cause (and the vCPU's registers). */
int vm_run(struct vm *vm, int *status, struct error *err);
void vm_destroy(struct vm *vm);

/* Ends the VM with status (the first end wins); any thread, any device. */
void vm_request_stop(struct vm *vm, int status);
/* Asks the guest to power off (Ctrl-Alt-Del on the keyboard); the VM ends when the guest does. A
 * guest without a keyboard driver ignores it: the caller ends such a VM after a grace period. */
void vm_request_poweroff(struct vm *vm);
/* Ends the VM with an error (the first end wins). */
void vm_fail(struct vm *vm, const struct error *cause);
bool vm_stopping(struct vm *vm);
/* Adds a device to the registry; -ENOSPC when full. */
int vm_add_device(struct vm *vm, const char *name, void (*destroy)(void *), void *opaque,
		  struct error *err);

#endif
