/* vcpu: see vcpu.h */
#include "vmm/vcpu.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "util/log.h"
#include "vmm/sandbox.h"
#include "vmm/vm.h"

#define VCPU_KICK_SIGNAL (SIGRTMIN + 1)

static void kick_handler(int sig)
{
	(void)sig; /* only there to make KVM_RUN return EINTR */
}

int vcpu_install_kick(struct error *err)
{
	struct sigaction sa = {.sa_handler = kick_handler}; /* no SA_RESTART */

	sigemptyset(&sa.sa_mask);
	if (sigaction(VCPU_KICK_SIGNAL, &sa, NULL) < 0)
		return error_errno(err, "sigaction vcpu kick signal");
	return 0;
}

int vcpu_create(struct vm *vm, unsigned id, struct vcpu *v, struct error *err)
{
	memset(v, 0, sizeof(*v));
	v->vm = vm;
	v->id = id;
	return vm->ops->create_vcpu(vm->accel, id, &v->accel, err);
}

void vcpu_handle_io(struct vm *vm, const struct accel_exit *e)
{
	const struct bus *bus = e->reason == ACCEL_EXIT_IO ? &vm->pio : &vm->mmio;
	uint32_t count = e->count ? e->count : 1;

	if (!e->data || e->size == 0 || e->size > 8)
		return;
	for (uint32_t i = 0; i < count; i++) {
		if (!bus_access(bus, e->addr, e->data + (size_t)i * e->size, e->size, e->is_write))
			log_debug("vm: unclaimed %s %s at 0x%llx size %u", bus->name,
				  e->is_write ? "write" : "read", (unsigned long long)e->addr,
				  e->size);
	}
}

/* Ends the VM with what: "vcpu N: what; rip=... ". */
static void fail_with_regs(struct vcpu *v, int code, const char *what)
{
	struct error e;
	char regs[512];

	v->vm->ops->format_regs(v->accel, regs, sizeof(regs));
	error_set(&e, code, "vcpu %u: %s; %s", v->id, what, regs);
	vm_fail(v->vm, &e);
}

static void *map_guest(void *opaque, uint64_t gpa, uint64_t len)
{
	return guest_memory_hva(opaque, gpa, len);
}

static int get_xstate(void *opaque, struct x86_xstate *ret, struct error *err)
{
	struct vcpu *v = opaque;

	return v->vm->ops->get_xstate(v->accel, ret, err);
}

/* The accelerator gave up on an instruction: emulate it here (x86_emulate) and resume, or end
 * the VM with what KVM said and why the monitor cannot do it either. */
static bool emulate(struct vcpu *v, const struct accel_exit *e)
{
	const struct accel_ops *ops = v->vm->ops;
	struct x86_phys_mem mem = {.opaque = &v->vm->mem, .map = map_guest};
	struct x86_xstate xstate; /* filled only for the XSAVE family */
	struct x86_xstate_io xs = {
	    .opaque = v, .get = ops->get_xstate ? get_xstate : NULL, .buf = &xstate};
	struct x86_emu_action act;
	struct x86_cpu cpu;
	struct error err;
	uint64_t rip;
	char what[sizeof(err.msg)];

	if (!ops->get_cpu || !ops->apply_emulation) {
		fail_with_regs(v, EIO, e->detail);
		return false;
	}
	if (ops->get_cpu(v->accel, &cpu, &err) < 0) {
		vm_fail(v->vm, &err);
		return false;
	}
	rip = cpu.rip;
	if (x86_emulate(&cpu, &mem, &xs, &act, &err) < 0) {
		snprintf(what, sizeof(what), "%.250s; %.700s", e->detail, err.msg);
		fail_with_regs(v, EIO, what);
		return false;
	}
	if (ops->apply_emulation(v->accel, &cpu, &act, &err) < 0) {
		vm_fail(v->vm, &err);
		return false;
	}
	v->emulated++;
	if (act.event == X86_EVENT_NONE)
		log_debug("vcpu %u: emulated %s at rip 0x%llx", v->id, act.what,
			  (unsigned long long)rip);
	else
		log_debug("vcpu %u: emulated %s at rip 0x%llx: injected %s %u", v->id, act.what,
			  (unsigned long long)rip,
			  act.event == X86_EVENT_EXCEPTION ? "exception" : "software interrupt",
			  act.vector);
	return true;
}

/* Returns false when the vCPU must stop. */
static bool handle_exit(struct vcpu *v, const struct accel_exit *e)
{
	switch (e->reason) {
	case ACCEL_EXIT_IO:
	case ACCEL_EXIT_MMIO:
		vcpu_handle_io(v->vm, e);
		return true;
	case ACCEL_EXIT_INTERRUPTED:
		return true;
	case ACCEL_EXIT_RESET:
	case ACCEL_EXIT_POWEROFF:
		vm_request_stop(v->vm, 0);
		return false;
	case ACCEL_EXIT_HLT:
		fail_with_regs(v, EIO, "halted with no interrupt controller to wake it");
		return false;
	case ACCEL_EXIT_SHUTDOWN:
		fail_with_regs(v, EIO, "triple fault (the guest reset itself on an exception)");
		return false;
	case ACCEL_EXIT_EMULATION:
		return emulate(v, e);
	case ACCEL_EXIT_INTERNAL_ERROR:
	case ACCEL_EXIT_FAIL_ENTRY:
	case ACCEL_EXIT_UNKNOWN:
		fail_with_regs(v, EIO, e->detail);
		return false;
	}
	return false;
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;
	struct accel_exit e;
	struct error err;

	if (v->vm->sandbox && sandbox_enter(SANDBOX_VCPU, &err) < 0) {
		vm_fail(v->vm, &err);
		return NULL;
	}
	while (!vm_stopping(v->vm)) {
		if (v->vm->ops->run(v->accel, &e, &err) < 0) {
			vm_fail(v->vm, &err);
			break;
		}
		v->exits++;
		if (!handle_exit(v, &e))
			break;
	}
	return NULL;
}

int vcpu_start(struct vcpu *v, struct error *err)
{
	sigset_t set, old;
	int r;

	/* The thread starts with the kick signal unblocked, everything else blocked. */
	sigfillset(&set);
	sigdelset(&set, VCPU_KICK_SIGNAL);
	pthread_sigmask(SIG_SETMASK, &set, &old);
	r = pthread_create(&v->thread, NULL, vcpu_thread, v);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r)
		return error_set(err, r, "vcpu %u: start thread: %s", v->id, strerror(r));
	v->started = true;
	return 0;
}

void vcpu_kick(struct vcpu *v)
{
	if (!v->accel)
		return;
	v->vm->ops->kick(v->accel);
	if (v->started)
		pthread_kill(v->thread, VCPU_KICK_SIGNAL);
}

void vcpu_join(struct vcpu *v)
{
	if (v->started)
		pthread_join(v->thread, NULL);
	v->started = false;
}

void vcpu_destroy(struct vcpu *v)
{
	vcpu_join(v);
	if (v->accel)
		v->vm->ops->destroy_vcpu(v->accel);
	v->accel = NULL;
}
