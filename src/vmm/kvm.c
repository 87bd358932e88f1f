/* kvm: the accel_ops backend on Linux KVM (see accel.h).
 *
 * One VM fd with an in-kernel irqchip and PIT where KVM_CHECK_EXTENSION says so (kvm_pvm has
 * both, and ioeventfd and irqfd too), vCPUs with CPUID from KVM_GET_SUPPORTED_CPUID, exits decoded
 * from the shared kvm_run.
 */
#include "vmm/accel.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "vmm/x86/cpuid.h"

#define KVM_TSS_ADDR	      0xfffbd000ULL
#define KVM_IDENTITY_MAP_ADDR 0xfffbc000ULL
#define KVM_CPUID_MAX	      256
#define KVM_DEFAULT_MAX_VCPUS 4

struct kvm_vm {
	struct accel_vm base; /* first */
	int kvm_fd;
	int vm_fd;
	bool irqchip;
	long run_size;
	struct kvm_cpuid2 *cpuid; /* the supported CPUID, patched per vCPU */
	int xsave_size;		  /* KVM_CAP_XSAVE2: what KVM_SET_XSAVE reads (0: 4 KiB) */
};

struct kvm_vcpu {
	struct accel_vcpu base; /* first */
	struct kvm_vm *vm;
	int fd;
	struct kvm_run *run;
};

static int kvm_ioctl(int fd, unsigned long req, void *arg)
{
	int r;

	do
		r = ioctl(fd, req, arg);
	while (r < 0 && errno == EINTR && req != KVM_RUN);
	return r;
}

static int check_ext(int fd, long cap)
{
	int r = ioctl(fd, KVM_CHECK_EXTENSION, cap);

	return r < 0 ? 0 : r;
}

static void note_missing(struct accel_caps *caps, const char *what)
{
	size_t len = strlen(caps->missing);

	snprintf(caps->missing + len, sizeof(caps->missing) - len, "%s%s", len ? ", " : "", what);
}

static int get_cpuid(struct kvm_vm *vm, struct error *err)
{
	vm->cpuid = calloc(1, sizeof(*vm->cpuid) + KVM_CPUID_MAX * sizeof(vm->cpuid->entries[0]));
	if (!vm->cpuid)
		return error_set(err, ENOMEM, "KVM_GET_SUPPORTED_CPUID: out of memory");
	vm->cpuid->nent = KVM_CPUID_MAX - 1; /* room for the KVM signature leaf */
	if (kvm_ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, vm->cpuid) < 0)
		return error_errno(err, "KVM_GET_SUPPORTED_CPUID");
	return 0;
}

/* The in-kernel devices and the Intel-only TSS/identity-map pages, each where supported. */
static int setup_platform(struct kvm_vm *vm, struct accel_caps *caps, struct error *err)
{
	if (check_ext(vm->kvm_fd, KVM_CAP_SET_TSS_ADDR) &&
	    ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)KVM_TSS_ADDR) < 0)
		return error_errno(err, "KVM_SET_TSS_ADDR");
	if (check_ext(vm->kvm_fd, KVM_CAP_SET_IDENTITY_MAP_ADDR)) {
		uint64_t a = KVM_IDENTITY_MAP_ADDR;
		if (kvm_ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &a) < 0)
			return error_errno(err, "KVM_SET_IDENTITY_MAP_ADDR");
	}
	if (!check_ext(vm->kvm_fd, KVM_CAP_IRQCHIP))
		note_missing(caps, "KVM_CAP_IRQCHIP (no interrupt controller)");
	else if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
		note_missing(caps, "KVM_CREATE_IRQCHIP failed (no interrupt controller)");
	else
		caps->irqchip = vm->irqchip = true;
	if (caps->irqchip && check_ext(vm->kvm_fd, KVM_CAP_PIT2)) {
		struct kvm_pit_config pit = {.flags = KVM_PIT_SPEAKER_DUMMY};
		if (kvm_ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit) == 0)
			caps->pit = true;
	}
	if (!caps->pit)
		note_missing(caps, "KVM_CAP_PIT2 (no timer)");
	caps->ioeventfd = check_ext(vm->kvm_fd, KVM_CAP_IOEVENTFD) > 0;
	if (!caps->ioeventfd)
		note_missing(caps, "KVM_CAP_IOEVENTFD (queue kicks exit to the monitor)");
	caps->irqfd = caps->irqchip && check_ext(vm->kvm_fd, KVM_CAP_IRQFD) > 0;
	if (!caps->irqfd)
		note_missing(caps, "KVM_CAP_IRQFD (interrupts by KVM_IRQ_LINE)");
	return 0;
}

static int open_vm(struct kvm_vm *vm, struct accel_caps *caps, struct error *err)
{
	int r;

	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0)
		return error_errno(err, "open /dev/kvm");
	r = ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0);
	if (r != KVM_API_VERSION)
		return error_set(err, ENOTSUP, "/dev/kvm: API version %d, need %d", r,
				 KVM_API_VERSION);
	if (!check_ext(vm->kvm_fd, KVM_CAP_USER_MEMORY) ||
	    !check_ext(vm->kvm_fd, KVM_CAP_IMMEDIATE_EXIT))
		return error_set(err, ENOTSUP, "/dev/kvm: no KVM_CAP_USER_MEMORY/IMMEDIATE_EXIT");
	vm->run_size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (vm->run_size < (long)sizeof(struct kvm_run))
		return error_errno(err, "KVM_GET_VCPU_MMAP_SIZE");
	caps->max_vcpus = (unsigned)check_ext(vm->kvm_fd, KVM_CAP_MAX_VCPUS);
	if (!caps->max_vcpus)
		caps->max_vcpus = (unsigned)check_ext(vm->kvm_fd, KVM_CAP_NR_VCPUS);
	if (!caps->max_vcpus)
		caps->max_vcpus = KVM_DEFAULT_MAX_VCPUS;
	do
		vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	while (vm->vm_fd < 0 && errno == EINTR);
	if (vm->vm_fd < 0)
		return error_errno(err, "KVM_CREATE_VM");
	r = setup_platform(vm, caps, err);
	vm->xsave_size = check_ext(vm->vm_fd, KVM_CAP_XSAVE2); /* before the seccomp sandbox */
	return r < 0 ? r : get_cpuid(vm, err);
}

static void kvm_destroy_vm(struct accel_vm *avm)
{
	struct kvm_vm *vm = (struct kvm_vm *)avm;

	if (!vm)
		return;
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	free(vm->cpuid);
	free(vm);
}

static int kvm_create_vm(struct accel_vm **ret, struct accel_caps *caps, struct error *err)
{
	struct kvm_vm *vm = calloc(1, sizeof(*vm));
	int r;

	memset(caps, 0, sizeof(*caps));
	if (!vm)
		return error_set(err, ENOMEM, "KVM VM: out of memory");
	vm->base.ops = &accel_kvm_ops;
	vm->kvm_fd = vm->vm_fd = -1;
	r = open_vm(vm, caps, err);
	if (r < 0) {
		kvm_destroy_vm(&vm->base);
		return r;
	}
	*ret = &vm->base;
	return 0;
}

static int kvm_set_memory_region(struct accel_vm *avm, uint32_t slot, uint64_t gpa, void *hva,
				 uint64_t size, struct error *err)
{
	struct kvm_vm *vm = (struct kvm_vm *)avm;
	struct kvm_userspace_memory_region region = {
	    .slot = slot,
	    .guest_phys_addr = gpa,
	    .memory_size = size,
	    .userspace_addr = (uintptr_t)hva,
	};

	if (kvm_ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		return error_errno(err, "KVM_SET_USER_MEMORY_REGION slot %u at 0x%llx", slot,
				   (unsigned long long)gpa);
	return 0;
}

static int set_vcpu_cpuid(struct kvm_vcpu *v, struct error *err)
{
	const struct kvm_cpuid2 *sup = v->vm->cpuid;
	size_t bytes = sizeof(*sup) + KVM_CPUID_MAX * sizeof(sup->entries[0]);
	cleanup_free struct kvm_cpuid2 *c = malloc(bytes);

	if (!c)
		return error_set(err, ENOMEM, "vcpu %u CPUID: out of memory", v->base.id);
	memcpy(c, sup, bytes);
	c->nent = x86_cpuid_patch(c->entries, sup->nent, KVM_CPUID_MAX, v->base.id);
	if (kvm_ioctl(v->fd, KVM_SET_CPUID2, c) < 0)
		return error_errno(err, "vcpu %u: KVM_SET_CPUID2", v->base.id);
	return 0;
}

static void kvm_destroy_vcpu(struct accel_vcpu *av)
{
	struct kvm_vcpu *v = (struct kvm_vcpu *)av;

	if (!v)
		return;
	if (v->run && v->run != MAP_FAILED)
		munmap(v->run, (size_t)v->vm->run_size);
	if (v->fd >= 0)
		close(v->fd);
	free(v);
}

/* Writes the vCPU's local APIC state back unchanged. Measured on kvm_pvm (Linux 6.18): with
 * exactly two vCPUs, an INIT or SIPI sent to APIC id 1 by physical destination never arrived
 * (broadcasts did) until the APIC was set once, which rebuilds KVM's map of APIC ids. */
static int refresh_lapic(struct kvm_vcpu *v, struct error *err)
{
	struct kvm_lapic_state s;

	if (!v->vm->irqchip)
		return 0;
	if (kvm_ioctl(v->fd, KVM_GET_LAPIC, &s) < 0 || kvm_ioctl(v->fd, KVM_SET_LAPIC, &s) < 0)
		return error_errno(err, "vcpu %u: local APIC state", v->base.id);
	return 0;
}

static int kvm_create_vcpu(struct accel_vm *avm, unsigned id, struct accel_vcpu **ret,
			   struct error *err)
{
	struct kvm_vm *vm = (struct kvm_vm *)avm;
	struct kvm_vcpu *v = calloc(1, sizeof(*v));
	int r;

	if (!v)
		return error_set(err, ENOMEM, "vcpu %u: out of memory", id);
	*v = (struct kvm_vcpu){.base = {&accel_kvm_ops, id}, .vm = vm, .fd = -1};
	v->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)id);
	if (v->fd < 0) {
		r = error_errno(err, "vcpu %u: KVM_CREATE_VCPU", id);
		goto fail;
	}
	fcntl(v->fd, F_SETFD, FD_CLOEXEC);
	v->run = mmap(NULL, (size_t)vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	if (v->run == MAP_FAILED) {
		r = error_errno(err, "vcpu %u: mmap kvm_run", id);
		goto fail;
	}
	r = set_vcpu_cpuid(v, err);
	if (r == 0)
		r = refresh_lapic(v, err);
	if (r < 0)
		goto fail;
	*ret = &v->base;
	return 0;
fail:
	kvm_destroy_vcpu(&v->base);
	return r;
}

static void to_kvm_seg(const struct x86_seg *s, struct kvm_segment *k)
{
	*k = (struct kvm_segment){
	    .base = s->base,
	    .limit = s->limit,
	    .selector = s->selector,
	    .type = s->type,
	    .present = s->present,
	    .dpl = s->dpl,
	    .db = s->db,
	    .s = s->s,
	    .l = s->l,
	    .g = s->g,
	    .avl = s->avl,
	};
}

static int kvm_set_boot_regs(struct accel_vcpu *av, const struct x86_boot_regs *b,
			     struct error *err)
{
	struct kvm_vcpu *v = (struct kvm_vcpu *)av;
	struct kvm_sregs sregs;
	struct kvm_regs regs = {
	    .rip = b->rip, .rsp = b->rsp, .rflags = b->rflags, .rsi = b->rsi, .rbx = b->rbx};

	if (kvm_ioctl(v->fd, KVM_GET_SREGS, &sregs) < 0)
		return error_errno(err, "vcpu %u: KVM_GET_SREGS", av->id);
	to_kvm_seg(&b->cs, &sregs.cs);
	to_kvm_seg(&b->ds, &sregs.ds);
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	to_kvm_seg(&b->tr, &sregs.tr);
	sregs.gdt.base = b->gdt_base;
	sregs.gdt.limit = b->gdt_limit;
	sregs.idt.base = 0;
	sregs.idt.limit = 0;
	sregs.cr0 = b->cr0;
	sregs.cr3 = b->cr3;
	sregs.cr4 = b->cr4;
	sregs.efer = b->efer;
	if (kvm_ioctl(v->fd, KVM_SET_SREGS, &sregs) < 0)
		return error_errno(err, "vcpu %u: KVM_SET_SREGS", av->id);
	if (kvm_ioctl(v->fd, KVM_SET_REGS, &regs) < 0)
		return error_errno(err, "vcpu %u: KVM_SET_REGS", av->id);
	return 0;
}

static const char *internal_error_name(uint32_t suberror)
{
	switch (suberror) {
	case KVM_INTERNAL_ERROR_EMULATION:
		return "instruction emulation failed";
	case KVM_INTERNAL_ERROR_SIMUL_EX:
		return "exception while delivering an exception";
	case KVM_INTERNAL_ERROR_DELIVERY_EV:
		return "event delivery failed";
	case KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON:
		return "unexpected exit reason";
	default:
		return "unknown suberror";
	}
}

/* Appends the failing instruction's bytes when KVM reports them. */
static size_t format_insn(const struct kvm_run *run, char *buf, size_t len)
{
	size_t off = 0;
	unsigned n = run->emulation_failure.insn_size;

	if (run->internal.suberror != KVM_INTERNAL_ERROR_EMULATION ||
	    run->emulation_failure.ndata < 3 ||
	    !(run->emulation_failure.flags & KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES))
		return 0;
	if (n > sizeof(run->emulation_failure.insn_bytes))
		n = sizeof(run->emulation_failure.insn_bytes);
	off = (size_t)snprintf(buf, len, ", instruction bytes");
	for (unsigned i = 0; i < n && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, " %02x",
					run->emulation_failure.insn_bytes[i]);
	return off;
}

static void decode_internal(const struct kvm_run *run, struct accel_exit *e)
{
	uint32_t n = run->internal.ndata;
	size_t off;

	e->code = run->internal.suberror;
	e->reason = e->code == KVM_INTERNAL_ERROR_EMULATION ? ACCEL_EXIT_EMULATION
							    : ACCEL_EXIT_INTERNAL_ERROR;
	off = (size_t)snprintf(e->detail, sizeof(e->detail), "KVM internal error %u (%s)", e->code,
			       internal_error_name(e->code));
	if (off < sizeof(e->detail) &&
	    format_insn(run, e->detail + off, sizeof(e->detail) - off) > 0)
		return;
	if (n > ARRAY_SIZE(run->internal.data))
		n = ARRAY_SIZE(run->internal.data);
	for (uint32_t i = 0; i < n && off < sizeof(e->detail); i++)
		off += (size_t)snprintf(e->detail + off, sizeof(e->detail) - off, "%s0x%llx",
					i ? " " : ", data ",
					(unsigned long long)run->internal.data[i]);
}

static void decode_system_event(const struct kvm_run *run, struct accel_exit *e)
{
	e->code = run->system_event.type;
	switch (run->system_event.type) {
	case KVM_SYSTEM_EVENT_SHUTDOWN:
		e->reason = ACCEL_EXIT_POWEROFF;
		break;
	case KVM_SYSTEM_EVENT_RESET:
		e->reason = ACCEL_EXIT_RESET;
		break;
	default:
		e->reason = ACCEL_EXIT_UNKNOWN;
		snprintf(e->detail, sizeof(e->detail), "KVM system event %u", e->code);
		break;
	}
}

static void decode_exit(struct kvm_run *run, struct accel_exit *e)
{
	e->code = run->exit_reason;
	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		e->reason = ACCEL_EXIT_IO;
		e->addr = run->io.port;
		e->size = run->io.size;
		e->count = run->io.count;
		e->is_write = run->io.direction == KVM_EXIT_IO_OUT;
		e->data = (uint8_t *)run + run->io.data_offset;
		break;
	case KVM_EXIT_MMIO:
		e->reason = ACCEL_EXIT_MMIO;
		e->addr = run->mmio.phys_addr;
		e->size = run->mmio.len;
		e->count = 1;
		e->is_write = run->mmio.is_write;
		e->data = run->mmio.data;
		break;
	case KVM_EXIT_HLT:
		e->reason = ACCEL_EXIT_HLT;
		break;
	case KVM_EXIT_SHUTDOWN:
		e->reason = ACCEL_EXIT_SHUTDOWN;
		break;
	case KVM_EXIT_INTR:
		e->reason = ACCEL_EXIT_INTERRUPTED;
		break;
	case KVM_EXIT_SYSTEM_EVENT:
		decode_system_event(run, e);
		break;
	case KVM_EXIT_INTERNAL_ERROR:
		decode_internal(run, e);
		break;
	case KVM_EXIT_FAIL_ENTRY:
		e->reason = ACCEL_EXIT_FAIL_ENTRY;
		snprintf(e->detail, sizeof(e->detail), "VM entry failed, hardware reason 0x%llx",
			 (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		break;
	default:
		e->reason = ACCEL_EXIT_UNKNOWN;
		snprintf(e->detail, sizeof(e->detail), "unhandled KVM exit reason %u",
			 run->exit_reason);
		break;
	}
}

static int kvm_run_vcpu(struct accel_vcpu *av, struct accel_exit *e, struct error *err)
{
	struct kvm_vcpu *v = (struct kvm_vcpu *)av;

	memset(e, 0, sizeof(*e));
	if (ioctl(v->fd, KVM_RUN, 0) < 0) {
		if (errno == EINTR || errno == EAGAIN) {
			__atomic_store_n(&v->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
			e->reason = ACCEL_EXIT_INTERRUPTED;
			return 0;
		}
		return error_errno(err, "vcpu %u: KVM_RUN", av->id);
	}
	decode_exit(v->run, e);
	return 0;
}

static void kvm_kick(struct accel_vcpu *av)
{
	struct kvm_vcpu *v = (struct kvm_vcpu *)av;

	__atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
}

static int kvm_set_irq(struct accel_vm *avm, unsigned irq, int level)
{
	struct kvm_vm *vm = (struct kvm_vm *)avm;
	struct kvm_irq_level l = {.irq = irq, .level = (uint32_t)level};

	if (!vm->irqchip)
		return 0;
	return kvm_ioctl(vm->vm_fd, KVM_IRQ_LINE, &l) < 0 ? -errno : 0;
}

static int kvm_add_ioeventfd(struct accel_vm *avm, uint64_t gpa, uint32_t len, uint64_t datamatch,
			     int fd, struct error *err)
{
	struct kvm_vm *vm = (struct kvm_vm *)avm;
	struct kvm_ioeventfd io = {
	    .datamatch = datamatch,
	    .addr = gpa,
	    .len = len,
	    .fd = fd,
	    .flags = KVM_IOEVENTFD_FLAG_DATAMATCH,
	};

	if (kvm_ioctl(vm->vm_fd, KVM_IOEVENTFD, &io) < 0)
		return error_errno(err, "KVM_IOEVENTFD at 0x%llx", (unsigned long long)gpa);
	return 0;
}

static int kvm_add_irqfd(struct accel_vm *avm, unsigned gsi, int fd, struct error *err)
{
	struct kvm_vm *vm = (struct kvm_vm *)avm;
	struct kvm_irqfd irqfd = {.fd = (uint32_t)fd, .gsi = gsi};

	if (kvm_ioctl(vm->vm_fd, KVM_IRQFD, &irqfd) < 0)
		return error_errno(err, "KVM_IRQFD gsi %u", gsi);
	return 0;
}

static int kvm_get_cpu(struct accel_vcpu *av, struct x86_cpu *c, struct error *err)
{
	struct kvm_vcpu *v = (struct kvm_vcpu *)av;
	struct kvm_regs r;
	struct kvm_sregs s;

	if (kvm_ioctl(v->fd, KVM_GET_REGS, &r) < 0 || kvm_ioctl(v->fd, KVM_GET_SREGS, &s) < 0)
		return error_errno(err, "vcpu %u: KVM_GET_REGS/SREGS", av->id);
	*c = (struct x86_cpu){
	    .gpr = {r.rax, r.rcx, r.rdx, r.rbx, r.rsp, r.rbp, r.rsi, r.rdi, r.r8, r.r9, r.r10,
		    r.r11, r.r12, r.r13, r.r14, r.r15},
	    .rip = r.rip,
	    .rflags = r.rflags,
	    .cr0 = s.cr0,
	    .cr2 = s.cr2,
	    .cr3 = s.cr3,
	    .cr4 = s.cr4,
	    .efer = s.efer,
	    .cs_base = s.cs.base,
	    .fs_base = s.fs.base,
	    .gs_base = s.gs.base,
	    .cs_l = s.cs.l,
	    .cs_db = s.cs.db,
	    .cpl = s.cs.selector & 3,
	};
	return 0;
}

static int set_cr2(struct kvm_vcpu *v, uint64_t cr2, struct error *err)
{
	struct kvm_sregs s;

	if (kvm_ioctl(v->fd, KVM_GET_SREGS, &s) < 0)
		return error_errno(err, "vcpu %u: KVM_GET_SREGS", v->base.id);
	s.cr2 = cr2;
	if (kvm_ioctl(v->fd, KVM_SET_SREGS, &s) < 0)
		return error_errno(err, "vcpu %u: KVM_SET_SREGS", v->base.id);
	return 0;
}

static int inject_event(struct kvm_vcpu *v, const struct x86_emu_action *a, struct error *err)
{
	struct kvm_vcpu_events ev;

	if (kvm_ioctl(v->fd, KVM_GET_VCPU_EVENTS, &ev) < 0)
		return error_errno(err, "vcpu %u: KVM_GET_VCPU_EVENTS", v->base.id);
	if (a->event == X86_EVENT_EXCEPTION) {
		ev.exception.injected = 1;
		ev.exception.nr = a->vector;
		ev.exception.has_error_code = a->has_error_code;
		ev.exception.error_code = a->error_code;
	} else {
		ev.interrupt.injected = 1;
		ev.interrupt.nr = a->vector;
		ev.interrupt.soft = 1;
	}
	if (kvm_ioctl(v->fd, KVM_SET_VCPU_EVENTS, &ev) < 0)
		return error_errno(err, "vcpu %u: KVM_SET_VCPU_EVENTS (vector %u)", v->base.id,
				   a->vector);
	return 0;
}

_Static_assert(sizeof(((struct kvm_xsave *)0)->region) == X86_XSAVE_AREA_SIZE,
	       "kvm_xsave is the 4 KiB XSAVE standard-format image");

/* KVM's kvm_xsave image is the XSAVE standard format; the layout is the CPUID's. */
static int kvm_get_xstate(struct accel_vcpu *av, struct x86_xstate *ret, struct error *err)
{
	struct kvm_vcpu *v = (struct kvm_vcpu *)av;
	struct kvm_xcrs xcrs = {0};
	struct kvm_xsave xsave;

	if (v->vm->xsave_size > X86_XSAVE_AREA_SIZE) /* KVM_SET_XSAVE would read that much */
		return error_set(err, ENOTSUP, "vcpu %u: extended state of %d bytes (over %d)",
				 av->id, v->vm->xsave_size, X86_XSAVE_AREA_SIZE);
	if (kvm_ioctl(v->fd, KVM_GET_XCRS, &xcrs) < 0)
		return error_errno(err, "vcpu %u: KVM_GET_XCRS", av->id);
	ret->xcr0 = 0;
	for (uint32_t i = 0; i < xcrs.nr_xcrs && i < KVM_MAX_XCRS; i++)
		if (xcrs.xcrs[i].xcr == 0)
			ret->xcr0 = xcrs.xcrs[i].value;
	if (!ret->xcr0)
		return error_set(err, ENOTSUP, "vcpu %u: KVM_GET_XCRS gave no XCR0", av->id);
	if (kvm_ioctl(v->fd, KVM_GET_XSAVE, &xsave) < 0)
		return error_errno(err, "vcpu %u: KVM_GET_XSAVE", av->id);
	memcpy(ret->area, xsave.region, sizeof(ret->area));
	x86_cpuid_xstate_layout(v->vm->cpuid->entries, v->vm->cpuid->nent, ret);
	return 0;
}

static int set_xstate(struct kvm_vcpu *v, const struct x86_xstate *xs, struct error *err)
{
	struct kvm_xsave xsave;

	memcpy(xsave.region, xs->area, sizeof(xsave.region));
	if (kvm_ioctl(v->fd, KVM_SET_XSAVE, &xsave) < 0)
		return error_errno(err, "vcpu %u: KVM_SET_XSAVE", v->base.id);
	return 0;
}

static int kvm_apply_emulation(struct accel_vcpu *av, const struct x86_cpu *c,
			       const struct x86_emu_action *a, struct error *err)
{
	struct kvm_vcpu *v = (struct kvm_vcpu *)av;
	const uint64_t *g = c->gpr;
	struct kvm_regs r = {
	    .rax = g[0],
	    .rcx = g[1],
	    .rdx = g[2],
	    .rbx = g[3],
	    .rsp = g[4],
	    .rbp = g[5],
	    .rsi = g[6],
	    .rdi = g[7],
	    .r8 = g[8],
	    .r9 = g[9],
	    .r10 = g[10],
	    .r11 = g[11],
	    .r12 = g[12],
	    .r13 = g[13],
	    .r14 = g[14],
	    .r15 = g[15],
	    .rip = c->rip,
	    .rflags = c->rflags,
	};
	int ret;

	if (kvm_ioctl(v->fd, KVM_SET_REGS, &r) < 0)
		return error_errno(err, "vcpu %u: KVM_SET_REGS", av->id);
	if (a->xstate) {
		ret = set_xstate(v, a->xstate, err);
		if (ret < 0)
			return ret;
	}
	if (a->set_cr2) {
		ret = set_cr2(v, c->cr2, err);
		if (ret < 0)
			return ret;
	}
	return a->event == X86_EVENT_NONE ? 0 : inject_event(v, a, err);
}

static void kvm_format_regs(struct accel_vcpu *av, char *buf, size_t len)
{
	struct kvm_vcpu *v = (struct kvm_vcpu *)av;
	struct kvm_regs r;
	struct kvm_sregs s;

	if (ioctl(v->fd, KVM_GET_REGS, &r) < 0 || ioctl(v->fd, KVM_GET_SREGS, &s) < 0) {
		snprintf(buf, len, "registers unavailable: %s", strerror(errno));
		return;
	}
	snprintf(buf, len,
		 "rip=0x%llx rsp=0x%llx rflags=0x%llx rax=0x%llx rbx=0x%llx rcx=0x%llx "
		 "rdx=0x%llx rsi=0x%llx rdi=0x%llx cr0=0x%llx cr2=0x%llx cr3=0x%llx cr4=0x%llx "
		 "efer=0x%llx cs=0x%x(l=%u db=%u)",
		 r.rip, r.rsp, r.rflags, r.rax, r.rbx, r.rcx, r.rdx, r.rsi, r.rdi, s.cr0, s.cr2,
		 s.cr3, s.cr4, s.efer, s.cs.selector, s.cs.l, s.cs.db);
}

const struct accel_ops accel_kvm_ops = {
    .name = "kvm",
    .create_vm = kvm_create_vm,
    .set_memory_region = kvm_set_memory_region,
    .create_vcpu = kvm_create_vcpu,
    .set_boot_regs = kvm_set_boot_regs,
    .run = kvm_run_vcpu,
    .kick = kvm_kick,
    .set_irq = kvm_set_irq,
    .add_ioeventfd = kvm_add_ioeventfd,
    .add_irqfd = kvm_add_irqfd,
    .get_cpu = kvm_get_cpu,
    .apply_emulation = kvm_apply_emulation,
    .get_xstate = kvm_get_xstate,
    .format_regs = kvm_format_regs,
    .destroy_vcpu = kvm_destroy_vcpu,
    .destroy_vm = kvm_destroy_vm,
};
