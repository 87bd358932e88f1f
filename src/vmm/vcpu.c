/* vcpu: see vcpu.h */
#include "vmm/vcpu.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "util/log.h"
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
