/* vm: see vm.h */
#include "vmm/vm.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/log.h"
#include "vmm/sandbox.h"
#include "vmm/vcpu.h"
#include "vmm/x86/acpi.h"
#include "vmm/virtio/attach.h"

#define MIB (1ULL << 20)

static uint64_t host_memory(void)
{
	long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);

	return pages > 0 && size > 0 ? (uint64_t)pages * (uint64_t)size : 0;
}

static int check_config(const struct vm_config *cfg, struct error *err)
{
	uint64_t host = host_memory();

	if (!cfg->kernel || !*cfg->kernel)
		return error_set(err, EINVAL, "--kernel: no kernel given");
	if (cfg->memory < VM_MIN_MEMORY)
		return error_set(err, EINVAL, "--memory %llu: at least %llu MiB",
				 (unsigned long long)cfg->memory, VM_MIN_MEMORY / MIB);
	if (host && cfg->memory > host)
		return error_set(err, EINVAL, "--memory %llu MiB: more than the host's %llu MiB",
				 (unsigned long long)(cfg->memory / MIB),
				 (unsigned long long)(host / MIB));
	if (cfg->cpus == 0 || cfg->cpus > VM_MAX_CPUS)
		return error_set(err, EINVAL, "--cpus %u: must be 1 to %d", cfg->cpus, VM_MAX_CPUS);
	return 0;
}

void vm_request_stop(struct vm *vm, int status)
{
	pthread_mutex_lock(&vm->lock);
	if (!vm->done) {
		vm->done = true;
		vm->status = status;
		for (unsigned i = 0; i < vm->ncpus; i++)
			vcpu_kick(&vm->vcpus[i]);
		pthread_cond_broadcast(&vm->cond);
	}
	pthread_mutex_unlock(&vm->lock);
}

/* Ctrl-Alt-Del on the keyboard: Linux's atkbd turns it into ctrl_alt_del() (a reboot, or SIGINT
 * to init where init asked for it), which ends the VM. A guest without a keyboard driver never
 * reads the keys: the caller ends the VM itself after a grace period (vm stop kills). */
void vm_request_poweroff(struct vm *vm)
{
	if (!i8042_press_ctrl_alt_del(&vm->i8042))
		log_debug("vm: Ctrl-Alt-Del not sent: the guest turned the keyboard off");
}

void vm_fail(struct vm *vm, const struct error *cause)
{
	pthread_mutex_lock(&vm->lock);
	if (!vm->done) {
		vm->fail = *cause;
		if (!vm->fail.code)
			vm->fail.code = EIO;
	}
	pthread_mutex_unlock(&vm->lock);
	vm_request_stop(vm, 1);
}

bool vm_stopping(struct vm *vm)
{
	bool done;

	pthread_mutex_lock(&vm->lock);
	done = vm->done;
	pthread_mutex_unlock(&vm->lock);
	return done;
}

int vm_add_device(struct vm *vm, const char *name, void (*destroy)(void *), void *opaque,
		  struct error *err)
{
	if (vm->ndevices == VM_MAX_DEVICES)
		return error_set(err, ENOSPC, "device %s: registry full", name);
	vm->devices[vm->ndevices++] = (struct vm_device){name, destroy, opaque};
	return 0;
}

/* Device callbacks: the glue between device models and the VM. */
static void serial_irq(void *opaque, int level)
{
	struct vm *vm = opaque;

	vm->ops->set_irq(vm->accel, SERIAL8250_COM1_IRQ, level);
}

static void i8042_irq(void *opaque, int level)
{
	struct vm *vm = opaque;

	vm->ops->set_irq(vm->accel, I8042_KBD_IRQ, level);
}

static void i8042_reset(void *opaque)
{
	vm_request_stop(opaque, 0);
}

static void debug_exit(void *opaque, int status)
{
	vm_request_stop(opaque, status);
}

static void serial_destroy(void *opaque)
{
	serial8250_destroy(opaque);
}

static void i8042_destroy_dev(void *opaque)
{
	i8042_destroy(opaque);
}

static int attach_serial(struct vm *vm, int console_fd, struct error *err)
{
	serial8250_init(&vm->serial, console_fd, serial_irq, vm);
	int r = vm_add_device(vm, "serial8250", serial_destroy, &vm->serial, err);
	if (r < 0) {
		serial8250_destroy(&vm->serial);
		return r;
	}
	return bus_register(&vm->pio, SERIAL8250_COM1_BASE, SERIAL8250_NR_REGS, "serial8250",
			    serial8250_io, &vm->serial, err);
}

static int attach_i8042(struct vm *vm, struct error *err)
{
	i8042_init(&vm->i8042, i8042_reset, i8042_irq, vm);
	int r = vm_add_device(vm, "i8042", i8042_destroy_dev, &vm->i8042, err);
	if (r < 0) {
		i8042_destroy(&vm->i8042);
		return r;
	}
	/* 0x60 and 0x64 only: 0x61 (speaker, PIT gate) belongs to KVM's in-kernel PIT. */
	r = bus_register(&vm->pio, I8042_DATA_PORT, 1, "i8042", i8042_data_io, &vm->i8042, err);
	if (r == 0)
		r = bus_register(&vm->pio, I8042_COMMAND_PORT, 1, "i8042", i8042_command_io,
				 &vm->i8042, err);
	return r;
}

static int attach_debug_exit(struct vm *vm, struct error *err)
{
	vm->debug_exit = (struct debug_exit){debug_exit, vm};
	return bus_register(&vm->pio, DEBUG_EXIT_PORT, 1, "debug-exit", debug_exit_io,
			    &vm->debug_exit, err);
}

/* ACPI poweroff and reset both end the VM with status 0, as the i8042's reset line does. */
static void acpi_pm_event(void *opaque, enum acpi_pm_event event)
{
	vm_request_stop(opaque, 0);
}

static int attach_acpi_pm(struct vm *vm, struct error *err)
{
	vm->acpi_pm = (struct acpi_pm){acpi_pm_event, vm};
	return bus_register(&vm->pio, ACPI_PM_PORT, ACPI_PM_NR_PORTS, "acpi-pm", acpi_pm_io,
			    &vm->acpi_pm, err);
}

/* The firmware tables describe every device attached so far; the kernel learns where they are
 * from its boot parameters, which boot_load() has written. */
static int attach_acpi(struct vm *vm, unsigned cpus, struct error *err)
{
	struct acpi_config acpi = {cpus, vm->caps.irqchip, vm->virtio, vm->nvirtio};
	uint64_t rsdp;
	int r = acpi_build(&vm->mem, &acpi, &rsdp, err);

	if (r == 0)
		r = boot_set_rsdp(&vm->mem, &vm->boot, rsdp, err);
	return r;
}

static int setup_memory(struct vm *vm, uint64_t size, bool hugepages, struct error *err)
{
	int r = guest_memory_map(&vm->mem, (size + 4095) & ~4095ULL, hugepages, err);

	for (unsigned i = 0; r == 0 && i < vm->mem.nregions; i++) {
		const struct guest_region *g = &vm->mem.regions[i];
		r = vm->ops->set_memory_region(vm->accel, i, g->gpa, g->hva, g->size, err);
	}
	return r;
}

static int create_vcpus(struct vm *vm, unsigned n, struct error *err)
{
	vm->vcpus = calloc(n, sizeof(*vm->vcpus));
	if (!vm->vcpus)
		return error_set(err, ENOMEM, "vcpus: out of memory");
	for (unsigned i = 0; i < n; i++) {
		int r = vcpu_create(vm, i, &vm->vcpus[i], err);
		if (r < 0)
			return r;
		vm->ncpus = i + 1;
	}
	/* Only the boot CPU gets registers; the others wait for INIT/SIPI in the irqchip. */
	return vm->ops->set_boot_regs(vm->vcpus[0].accel, &vm->boot.regs, err);
}

static int check_cpus(const struct vm *vm, unsigned cpus, struct error *err)
{
	if (cpus > vm->caps.max_vcpus)
		return error_set(err, EINVAL, "--cpus %u: %s allows at most %u", cpus,
				 vm->ops->name, vm->caps.max_vcpus);
	if (cpus > 1 && !vm->caps.irqchip)
		return error_set(err, ENOTSUP, "--cpus %u: needs an interrupt controller (%s)",
				 cpus, vm->caps.missing);
	return 0;
}

static int build(struct vm *vm, const struct vm_config *cfg, struct error *err)
{
	struct boot_config boot = {cfg->kernel, cfg->initrd, cfg->cmdline ? cfg->cmdline : ""};
	int r = vm->ops->create_vm(&vm->accel, &vm->caps, err);

	if (r == 0)
		r = check_cpus(vm, cfg->cpus, err);
	if (r == 0)
		r = setup_memory(vm, cfg->memory, cfg->hugepages, err);
	/* Devices, in this order; teardown walks the registry backwards. */
	if (r == 0)
		r = attach_serial(vm, cfg->console_fd, err);
	if (r == 0)
		r = attach_i8042(vm, err);
	if (r == 0)
		r = attach_debug_exit(vm, err);
	if (r == 0)
		r = attach_acpi_pm(vm, err);
	if (r == 0)
		r = virtio_attach_devices(vm, cfg, err);
	if (r == 0)
		r = boot_load(&vm->mem, &boot, &vm->boot, err);
	if (r == 0)
		r = attach_acpi(vm, cfg->cpus, err);
	if (r == 0)
		r = create_vcpus(vm, cfg->cpus, err);
	return r;
}

int vm_create(const struct vm_config *cfg, const struct accel_ops *ops, struct vm **ret,
	      struct error *err)
{
	pthread_condattr_t attr;
	struct vm *vm;
	int r = check_config(cfg, err);

	if (r < 0)
		return r;
	vm = calloc(1, sizeof(*vm));
	if (!vm)
		return error_set(err, ENOMEM, "vm: out of memory");
	vm->ops = ops ? ops : &accel_kvm_ops;
	vm->timeout_ms = cfg->timeout_ms;
	vm->sandbox = !cfg->no_seccomp;
	pthread_mutex_init(&vm->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&vm->cond, &attr);
	pthread_condattr_destroy(&attr);
	bus_init(&vm->pio, "pio");
	bus_init(&vm->mmio, "mmio");
	r = iothread_init(&vm->io, err);
	if (r == 0)
		r = build(vm, cfg, err);
	if (r < 0) {
		vm_destroy(vm);
		return r;
	}
	*ret = vm;
	return 0;
}

static void deadline_after(struct timespec *ts, int64_t ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (ms % 1000) * 1000000;
	if (ts->tv_nsec >= 1000000000) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000;
	}
}

/* Waits for the end; returns false on timeout (with vm->lock held either way). */
static bool wait_locked(struct vm *vm)
{
	struct timespec deadline;

	if (vm->timeout_ms > 0)
		deadline_after(&deadline, vm->timeout_ms);
	while (!vm->done) {
		if (vm->timeout_ms <= 0)
			pthread_cond_wait(&vm->cond, &vm->lock);
		else if (pthread_cond_timedwait(&vm->cond, &vm->lock, &deadline) == ETIMEDOUT)
			return vm->done;
	}
	return true;
}

int vm_run(struct vm *vm, int *status, struct error *err)
{
	struct error timeout;
	bool ended;
	int r = vcpu_install_kick(err);

	if (r == 0 && vm->sandbox)
		r = sandbox_install_report(err);
	vm->io.confine = vm->sandbox;
	if (r == 0)
		r = iothread_start(&vm->io, err);
	if (r < 0)
		return r;
	pthread_mutex_lock(&vm->lock);
	for (unsigned i = 0; i < vm->ncpus && !vm->done && r == 0; i++)
		r = vcpu_start(&vm->vcpus[i], err);
	if (r < 0) {
		pthread_mutex_unlock(&vm->lock);
		vm_fail(vm, err);
	} else {
		ended = wait_locked(vm);
		pthread_mutex_unlock(&vm->lock);
		if (!ended) {
			error_set(&timeout, ETIMEDOUT, "timed out after %lld ms",
				  (long long)vm->timeout_ms);
			vm_fail(vm, &timeout);
		}
	}
	for (unsigned i = 0; i < vm->ncpus; i++)
		vcpu_join(&vm->vcpus[i]);
	if (vm->fail.code) {
		*err = vm->fail;
		return -vm->fail.code;
	}
	*status = vm->status;
	return 0;
}

void vm_destroy(struct vm *vm)
{
	if (!vm)
		return;
	iothread_stop(&vm->io); /* no device handler runs from here on */
	for (unsigned i = 0; i < vm->ncpus; i++)
		vcpu_destroy(&vm->vcpus[i]);
	free(vm->vcpus);
	if (vm->accel)
		vm->ops->destroy_vm(vm->accel);
	while (vm->ndevices > 0) {
		struct vm_device *d = &vm->devices[--vm->ndevices];
		if (d->destroy)
			d->destroy(d->opaque);
	}
	iothread_destroy(&vm->io);
	bus_release(&vm->pio);
	bus_release(&vm->mmio);
	guest_memory_release(&vm->mem);
	pthread_cond_destroy(&vm->cond);
	pthread_mutex_destroy(&vm->lock);
	free(vm);
}
