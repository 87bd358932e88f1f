/* virtio_attach: see attach.h */
#include "vmm/virtio/attach.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "util/log.h"
#include "vmm/tap.h"
#include "vmm/virtio/blk.h"
#include "vmm/virtio/console.h"
#include "vmm/virtio/net.h"
#include "vmm/virtio/rng.h"
#include "vmm/virtio/vsock.h"

struct attached;

/* One queue's kick: the eventfd KVM signals on QueueNotify == queue. */
struct kick {
	struct attached *a;
	unsigned queue;
	int fd;
	struct iothread_watch watch;
};

/* The glue's state for one attached device (the registry entry's opaque). */
struct attached {
	struct vm *vm;
	struct virtio_mmio *m; /* inside dev */
	unsigned gsi;
	int irqfd; /* -1: interrupts by set_irq */
	struct kick kicks[VIRTIO_MMIO_MAX_QUEUES];
	unsigned nkicks;
	void (*destroy)(void *dev);
	void *dev;
};

/* The transport's EDGE callback, with its lock held: one edge on the device's GSI. */
static void raise_edge(void *opaque, int level)
{
	struct attached *a = opaque;
	const struct accel_ops *ops = a->vm->ops;
	uint64_t one = 1;

	(void)level; /* always 1 in EDGE mode */
	if (a->irqfd >= 0) {
		/* EAGAIN: the counter is saturated, an edge is pending anyway. */
		if (write(a->irqfd, &one, sizeof(one)) < 0 && errno != EAGAIN)
			log_debug("virtio %s: irqfd: %m", a->m->ops->name);
		return;
	}
	ops->set_irq(a->vm->accel, a->gsi, 1);
	ops->set_irq(a->vm->accel, a->gsi, 0);
}

/* On the I/O thread: the guest kicked k->queue (maybe several times: one notify serves all). */
static void on_kick(void *opaque, uint32_t events)
{
	struct kick *k = opaque;
	uint64_t n;

	(void)events;
	if (read(k->fd, &n, sizeof(n)) == (ssize_t)sizeof(n))
		virtio_mmio_notify(k->a->m, k->queue);
}

static void attached_free(void *opaque)
{
	struct attached *a = opaque;

	for (unsigned i = 0; i < a->nkicks; i++) {
		iothread_remove(&a->vm->io, &a->kicks[i].watch);
		close(a->kicks[i].fd);
	}
	if (a->irqfd >= 0)
		close(a->irqfd);
	a->destroy(a->dev);
	free(a);
}

static int setup_irqfd(struct attached *a, struct error *err)
{
	struct vm *vm = a->vm;

	if (!vm->caps.irqfd || !vm->ops->add_irqfd)
		return 0;
	a->irqfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (a->irqfd < 0)
		return error_errno(err, "eventfd");
	return vm->ops->add_irqfd(vm->accel, a->gsi, a->irqfd, err);
}

static int setup_kick(struct attached *a, uint64_t base, unsigned queue, struct error *err)
{
	struct vm *vm = a->vm;
	struct kick *k = &a->kicks[a->nkicks];
	int r;

	*k = (struct kick){.a = a, .queue = queue};
	k->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (k->fd < 0)
		return error_errno(err, "eventfd");
	r = iothread_add(&vm->io, &k->watch, k->fd, EPOLLIN, on_kick, k, err);
	if (r < 0) {
		close(k->fd);
		return r;
	}
	a->nkicks++; /* from here attached_free() undoes it */
	return vm->ops->add_ioeventfd(vm->accel, base + VIRTIO_MMIO_QUEUE_NOTIFY, 4, queue, k->fd,
				      err);
}

static int setup_kicks(struct attached *a, uint64_t base, struct error *err)
{
	struct vm *vm = a->vm;
	int r = 0;

	if (!vm->caps.ioeventfd || !vm->ops->add_ioeventfd)
		return 0;
	for (unsigned q = 0; q < a->m->ops->num_queues && r == 0; q++)
		r = setup_kick(a, base, q, err);
	return r;
}

/* The window, interrupt and kicks of a, which the registry already owns. */
static int wire(struct attached *a, unsigned slot, struct error *err)
{
	struct vm *vm = a->vm;
	const char *name = a->m->ops->name;
	uint64_t base = VM_VIRTIO_MMIO_BASE + slot * VM_VIRTIO_MMIO_STRIDE;
	int r = bus_register(&vm->mmio, base, VIRTIO_MMIO_SIZE, name, virtio_mmio_io, a->m, err);

	if (r == 0)
		r = setup_irqfd(a, err);
	if (r == 0)
		r = setup_kicks(a, base, err);
	if (r < 0)
		return error_wrap(err, "%s", name);
	virtio_mmio_set_irq(a->m, VIRTIO_MMIO_IRQ_EDGE, raise_edge, a);
	vm->virtio[slot] = (struct vm_virtio_slot){name, base, VIRTIO_MMIO_SIZE, a->gsi};
	vm->nvirtio = slot + 1;
	return 0;
}

int virtio_attach(struct vm *vm, struct virtio_mmio *m, void (*destroy)(void *dev), void *dev,
		  struct error *err)
{
	unsigned slot = vm->nvirtio;
	struct attached *a;
	int r;

	if (slot == VM_MAX_VIRTIO)
		r = error_set(err, ENOSPC, "%s: all %d virtio slots are taken", m->ops->name,
			      VM_MAX_VIRTIO);
	else if (!(a = calloc(1, sizeof(*a))))
		r = error_set(err, ENOMEM, "%s: out of memory", m->ops->name);
	else
		r = 0;
	if (r < 0) {
		destroy(dev);
		return r;
	}
	*a = (struct attached){.vm = vm,
			       .m = m,
			       .gsi = VM_VIRTIO_GSI_BASE + slot,
			       .irqfd = -1,
			       .destroy = destroy,
			       .dev = dev};
	r = vm_add_device(vm, m->ops->name, attached_free, a, err);
	if (r < 0) {
		free(a);
		destroy(dev);
		return r;
	}
	return wire(a, slot, err);
}

static void rng_free(void *dev)
{
	virtio_rng_destroy(dev);
	free(dev);
}

static int attach_rng(struct vm *vm, struct error *err)
{
	struct virtio_rng *rng = calloc(1, sizeof(*rng));
	int r;

	if (!rng)
		return error_set(err, ENOMEM, "virtio-rng: out of memory");
	r = virtio_rng_init(rng, &vm->mem, NULL, NULL, err);
	if (r < 0) {
		free(rng);
		return r;
	}
	return virtio_attach(vm, &rng->mmio, rng_free, rng, err);
}

static void blk_free(void *dev)
{
	virtio_blk_destroy(dev);
	free(dev);
}

static int attach_disk(struct vm *vm, const struct vm_disk *disk, struct error *err)
{
	struct virtio_blk *blk = calloc(1, sizeof(*blk));
	int r;

	if (!blk)
		return error_set(err, ENOMEM, "--disk %s: out of memory", disk->path);
	r = virtio_blk_init(blk, &vm->mem, NULL, NULL, disk->path, disk->readonly, NULL, err);
	if (r < 0) {
		blk_free(blk);
		return r;
	}
	return virtio_attach(vm, &blk->mmio, blk_free, blk, err);
}

/* The tap outlives the device that borrows it: both in one allocation. */
struct net_dev {
	struct tap tap;
	struct virtio_net net;
};

static void net_free(void *dev)
{
	struct net_dev *n = dev;

	virtio_net_destroy(&n->net);
	tap_close(&n->tap);
	free(n);
}

static int attach_net(struct vm *vm, const char *tap, struct error *err)
{
	struct net_dev *n = calloc(1, sizeof(*n));
	int r;

	if (!n)
		return error_set(err, ENOMEM, "--net tap=%s: out of memory", tap);
	r = tap_open(&n->tap, tap, err);
	if (r == 0)
		r = virtio_net_init(&n->net, &vm->mem, NULL, NULL, &vm->io, &n->tap, NULL, err);
	if (r < 0) {
		net_free(n);
		return r;
	}
	return virtio_attach(vm, &n->net.mmio, net_free, n, err);
}

static void vsock_free(void *dev)
{
	virtio_vsock_destroy(dev);
	free(dev);
}

static int attach_vsock(struct vm *vm, uint32_t cid, const char *path, struct error *err)
{
	struct virtio_vsock *vs = calloc(1, sizeof(*vs));
	int r;

	if (!vs)
		return error_set(err, ENOMEM, "--vsock %u,%s: out of memory", cid, path);
	r = virtio_vsock_init(vs, &vm->mem, NULL, NULL, &vm->io, cid, path, err);
	if (r < 0) {
		free(vs);
		return error_wrap(err, "--vsock %u,%s", cid, path);
	}
	return virtio_attach(vm, &vs->mmio, vsock_free, vs, err);
}

static void console_free(void *dev)
{
	virtio_console_destroy(dev);
	free(dev);
}

/* The second console port (hvc0) writes where the UART does; input stays with the UART, so the
 * two never compete for the user's keystrokes. */
static int attach_console(struct vm *vm, int out_fd, struct error *err)
{
	struct virtio_console *con = calloc(1, sizeof(*con));
	int r;

	if (!con)
		return error_set(err, ENOMEM, "virtio-console: out of memory");
	r = virtio_console_init(con, &vm->mem, NULL, NULL, NULL, -1, out_fd, err);
	if (r < 0) {
		free(con);
		return r;
	}
	return virtio_attach(vm, &con->mmio, console_free, con, err);
}

int virtio_attach_devices(struct vm *vm, const struct vm_config *cfg, struct error *err)
{
	int r = attach_rng(vm, err);

	for (unsigned i = 0; r == 0 && i < cfg->ndisks && i < VM_MAX_DISKS; i++)
		r = attach_disk(vm, &cfg->disks[i], err);
	if (r == 0 && cfg->tap)
		r = attach_net(vm, cfg->tap, err);
	if (r == 0 && cfg->vsock_cid)
		r = attach_vsock(vm, cfg->vsock_cid, cfg->vsock_socket, err);
	if (r == 0 && cfg->console_fd >= 0)
		r = attach_console(vm, cfg->console_fd, err);
	return r;
}
