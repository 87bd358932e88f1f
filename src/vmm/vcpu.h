/* vcpu: one thread per virtual CPU, running the accelerator and dispatching its exits to the
 * VM's buses. A vCPU that hits an error the guest cannot recover from (triple fault, KVM
 * internal error) ends the VM with the cause and its registers. */
#ifndef VESSEL_VMM_VCPU_H
#define VESSEL_VMM_VCPU_H

#include <pthread.h>
#include <stdbool.h>

#include "util/error.h"
#include "vmm/accel.h"

struct vm;

struct vcpu {
	struct vm *vm;
	unsigned id;
	struct accel_vcpu *accel;
	pthread_t thread;
	bool started;
	unsigned long exits;
	unsigned long emulated; /* instructions the monitor emulated for the accelerator */
};

/* Creates the accelerator's vCPU id. */
int vcpu_create(struct vm *vm, unsigned id, struct vcpu *v, struct error *err);
/* Starts the thread (the kick signal's handler must be installed: vcpu_install_kick()). */
int vcpu_start(struct vcpu *v, struct error *err);
/* Makes the vCPU leave the accelerator and look at the VM's state. Any thread. */
void vcpu_kick(struct vcpu *v);
void vcpu_join(struct vcpu *v);
void vcpu_destroy(struct vcpu *v);
/* Installs the no-op handler of the signal vcpu_kick() sends (once per process is enough). */
int vcpu_install_kick(struct error *err);

/* Dispatches one port or MMIO exit to the VM's buses (exposed for the unit tests). */
void vcpu_handle_io(struct vm *vm, const struct accel_exit *e);

#endif
