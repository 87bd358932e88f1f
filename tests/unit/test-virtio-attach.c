/* test-virtio-attach: the glue between virtio-mmio devices and a VM, on a fake accelerator:
 * slot layout, the ioeventfd and irqfd handed to the accelerator (a kick written to the eventfd
 * runs the device on the I/O thread; its interrupt is an edge on the irqfd), the fallback
 * without them (the kick as an MMIO exit, the interrupt as a set_irq pulse), a full slot table
 * and teardown through vm_destroy(). */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "vmm/virtio/attach.h"
#include "vmm/virtio/rng.h"
#include "vmm/vm.h"

#define MEM_SIZE  (1 << 20)
#define DESC_GPA  0x1000
#define AVAIL_GPA 0x2000
#define USED_GPA  0x3000
#define DATA_GPA  0x10000
#define SLOT0	  VM_VIRTIO_MMIO_BASE

struct fake_accel {
	struct accel_vm base;
	unsigned ioeventfds, irqfds;
	uint64_t io_gpa[VM_MAX_VIRTIO];
	uint64_t io_match[VM_MAX_VIRTIO];
	int io_fd[VM_MAX_VIRTIO];
	unsigned irq_gsi;
	int irq_fd;
	unsigned raises, lowers, last_irq;
};

static int fake_set_irq(struct accel_vm *avm, unsigned irq, int level)
{
	struct fake_accel *a = (struct fake_accel *)avm;

	a->last_irq = irq;
	if (level)
		a->raises++;
	else
		a->lowers++;
	return 0;
}

static int fake_add_ioeventfd(struct accel_vm *avm, uint64_t gpa, uint32_t len, uint64_t match,
			      int fd, struct error *err)
{
	struct fake_accel *a = (struct fake_accel *)avm;

	assert_int_equal(len, 4);
	if (a->ioeventfds == VM_MAX_VIRTIO)
		return error_set(err, ENOSPC, "fake: too many ioeventfds");
	a->io_gpa[a->ioeventfds] = gpa;
	a->io_match[a->ioeventfds] = match;
	a->io_fd[a->ioeventfds++] = fd;
	return 0;
}

static int fake_add_irqfd(struct accel_vm *avm, unsigned gsi, int fd, struct error *err)
{
	struct fake_accel *a = (struct fake_accel *)avm;

	a->irqfds++;
	a->irq_gsi = gsi;
	a->irq_fd = fd;
	return 0;
}

static void fake_destroy_vm(struct accel_vm *avm)
{
	(void)avm; /* the test owns it */
}

static const struct accel_ops fake_ops = {
    .name = "fake",
    .set_irq = fake_set_irq,
    .add_ioeventfd = fake_add_ioeventfd,
    .add_irqfd = fake_add_irqfd,
    .destroy_vm = fake_destroy_vm,
};

struct fx {
	struct fake_accel accel;
	struct vm *vm;
	uint8_t *buf;
};

/* A VM as vm_create() leaves it before the devices, on the fake accelerator. */
static int setup_with(void **state, bool eventfds)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct error err;

	if (!f || !(f->vm = calloc(1, sizeof(*f->vm))) || !(f->buf = aligned_alloc(4096, MEM_SIZE)))
		return -1;
	memset(f->buf, 0, MEM_SIZE);
	f->accel.base.ops = &fake_ops;
	f->vm->ops = &fake_ops;
	f->vm->accel = &f->accel.base;
	f->vm->caps =
	    (struct accel_caps){.irqchip = true, .ioeventfd = eventfds, .irqfd = eventfds};
	pthread_mutex_init(&f->vm->lock, NULL);
	pthread_cond_init(&f->vm->cond, NULL);
	guest_memory_init_buffer(&f->vm->mem, f->buf, MEM_SIZE);
	bus_init(&f->vm->pio, "pio");
	bus_init(&f->vm->mmio, "mmio");
	if (iothread_init(&f->vm->io, &err) < 0)
		return -1;
	*state = f;
	return 0;
}

static int setup_eventfds(void **state)
{
	return setup_with(state, true);
}

static int setup_fallback(void **state)
{
	return setup_with(state, false);
}

static int teardown(void **state)
{
	struct fx *f = *state;

	vm_destroy(f->vm);
	free(f->buf);
	free(f);
	return 0;
}

static uint32_t rd(struct vm *vm, uint64_t off)
{
	uint32_t v = 0;

	assert_true(bus_access(&vm->mmio, SLOT0 + off, (uint8_t *)&v, 4, false));
	return v;
}

static void wr(struct vm *vm, uint64_t off, uint32_t v)
{
	assert_true(bus_access(&vm->mmio, SLOT0 + off, (uint8_t *)&v, 4, true));
}

/* What a guest driver does (through the MMIO bus, as a vCPU would): queue 0 with 8 entries, one
 * 64-byte writable buffer on it. */
static void drive_rng(struct fx *f)
{
	struct virtq_desc d = {.addr = DATA_GPA, .len = 64, .flags = VIRTQ_DESC_F_WRITE};
	uint16_t *avail = (uint16_t *)(void *)(f->buf + AVAIL_GPA);

	wr(f->vm, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	wr(f->vm, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(f->vm, VIRTIO_MMIO_DRIVER_FEATURES, 1);
	wr(f->vm, VIRTIO_MMIO_STATUS, 0x0b);
	wr(f->vm, VIRTIO_MMIO_QUEUE_SEL, 0);
	wr(f->vm, VIRTIO_MMIO_QUEUE_NUM, 8);
	wr(f->vm, VIRTIO_MMIO_QUEUE_DESC_LOW, DESC_GPA);
	wr(f->vm, VIRTIO_MMIO_QUEUE_DRIVER_LOW, AVAIL_GPA);
	wr(f->vm, VIRTIO_MMIO_QUEUE_DEVICE_LOW, USED_GPA);
	wr(f->vm, VIRTIO_MMIO_QUEUE_READY, 1);
	wr(f->vm, VIRTIO_MMIO_STATUS, 0x0f);
	memcpy(f->buf + DESC_GPA, &d, sizeof(d));
	avail[2] = 0;
	avail[1] = 1;
}

static uint16_t used_idx(struct fx *f)
{
	return __atomic_load_n((uint16_t *)(void *)(f->buf + USED_GPA + 2), __ATOMIC_ACQUIRE);
}

static void test_slot_and_eventfds(void **state)
{
	struct fx *f = *state;
	struct vm_config cfg = {.console_fd = -1}; /* no console port */
	struct pollfd p;
	struct error err;
	uint64_t n = 1;

	assert_int_equal(virtio_attach_devices(f->vm, &cfg, &err), 0);
	assert_int_equal(f->vm->nvirtio, 1);
	assert_string_equal(f->vm->virtio[0].name, "virtio-rng");
	assert_int_equal(f->vm->virtio[0].base, VM_VIRTIO_MMIO_BASE);
	assert_int_equal(f->vm->virtio[0].size, VIRTIO_MMIO_SIZE);
	assert_int_equal(f->vm->virtio[0].gsi, VM_VIRTIO_GSI_BASE);
	assert_int_equal(rd(f->vm, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_RNG);
	assert_int_equal(f->accel.ioeventfds, 1);
	assert_int_equal(f->accel.io_gpa[0], VM_VIRTIO_MMIO_BASE + VIRTIO_MMIO_QUEUE_NOTIFY);
	assert_int_equal(f->accel.io_match[0], 0);
	assert_int_equal(f->accel.irqfds, 1);
	assert_int_equal(f->accel.irq_gsi, VM_VIRTIO_GSI_BASE);

	drive_rng(f);
	assert_int_equal(iothread_start(&f->vm->io, &err), 0);
	/* What KVM does on the guest's QueueNotify write of 0. */
	assert_int_equal(write(f->accel.io_fd[0], &n, sizeof(n)), sizeof(n));
	for (int i = 0; i < 2000 && used_idx(f) != 1; i++)
		usleep(1000);
	assert_int_equal(used_idx(f), 1);
	/* The used buffer raised one edge on the irqfd, and no set_irq. */
	p = (struct pollfd){.fd = f->accel.irq_fd, .events = POLLIN};
	assert_int_equal(poll(&p, 1, 2000), 1);
	assert_int_equal(read(f->accel.irq_fd, &n, sizeof(n)), sizeof(n));
	assert_int_equal(n, 1);
	assert_int_equal(f->accel.raises, 0);
	assert_int_equal(rd(f->vm, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_VRING);
}

static void test_fallback(void **state)
{
	struct fx *f = *state;
	struct vm_config cfg = {.console_fd = -1}; /* no console port */
	struct error err;

	assert_int_equal(virtio_attach_devices(f->vm, &cfg, &err), 0);
	assert_int_equal(f->accel.ioeventfds + f->accel.irqfds, 0);
	drive_rng(f);
	wr(f->vm, VIRTIO_MMIO_QUEUE_NOTIFY, 0); /* on the "vCPU thread" */
	assert_int_equal(used_idx(f), 1);
	/* The interrupt: one pulse on the slot's GSI. */
	assert_int_equal(f->accel.raises, 1);
	assert_int_equal(f->accel.lowers, 1);
	assert_int_equal(f->accel.last_irq, VM_VIRTIO_GSI_BASE);
	wr(f->vm, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
	assert_int_equal(f->accel.raises, 1);
}

static unsigned destroyed;

static void rng_free(void *dev)
{
	virtio_rng_destroy(dev);
	free(dev);
	destroyed++;
}

static void test_slots_full(void **state)
{
	struct fx *f = *state;
	struct virtio_rng *rng;
	struct error err;

	destroyed = 0;
	for (unsigned i = 0; i <= VM_MAX_VIRTIO; i++) {
		rng = calloc(1, sizeof(*rng));
		assert_non_null(rng);
		assert_int_equal(virtio_rng_init(rng, &f->vm->mem, NULL, NULL, &err), 0);
		if (i < VM_MAX_VIRTIO) {
			assert_int_equal(virtio_attach(f->vm, &rng->mmio, rng_free, rng, &err), 0);
			assert_int_equal(f->vm->virtio[i].base,
					 VM_VIRTIO_MMIO_BASE + i * VM_VIRTIO_MMIO_STRIDE);
			assert_int_equal(f->vm->virtio[i].gsi, VM_VIRTIO_GSI_BASE + i);
		} else {
			/* The ninth: refused, and destroyed at once. */
			assert_int_equal(virtio_attach(f->vm, &rng->mmio, rng_free, rng, &err),
					 -ENOSPC);
			assert_non_null(strstr(err.msg, "virtio-rng"));
		}
	}
	assert_int_equal(destroyed, 1);
	assert_int_equal(f->vm->nvirtio, VM_MAX_VIRTIO);
	assert_int_equal(f->accel.ioeventfds, VM_MAX_VIRTIO);
	vm_destroy(f->vm);
	f->vm = NULL;
	assert_int_equal(destroyed, 1 + VM_MAX_VIRTIO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_slot_and_eventfds, setup_eventfds, teardown),
	    cmocka_unit_test_setup_teardown(test_fallback, setup_fallback, teardown),
	    cmocka_unit_test_setup_teardown(test_slots_full, setup_eventfds, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
