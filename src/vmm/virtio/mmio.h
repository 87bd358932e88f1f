/* mmio: the virtio-mmio transport (version 2), the register file a guest driver programs.
 *
 * The transport owns every guest-facing register and checks each guest-written value before
 * it reaches a device: QueueSel is range-checked on every queue register access, QueueNum must
 * be a power of two up to the device's maximum, a queue becomes ready only when its rings are
 * guest RAM, FEATURES_OK is refused for features not offered, and a device's notify() sees a
 * queue index only when it is below num_queues and the queue is ready. Bad accesses are
 * ignored (reads see 0). The device model knows nothing of KVM: the interrupt line is a
 * callback, the registers are a bus handler (virtio_mmio_io).
 */
#ifndef VESSEL_VMM_VIRTIO_MMIO_H
#define VESSEL_VMM_VIRTIO_MMIO_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"
#include "vmm/memory.h"
#include "vmm/virtio/virtq.h"

#define VIRTIO_MMIO_MAGIC      0x74726976 /* "virt" */
#define VIRTIO_MMIO_VERSION    2
#define VIRTIO_MMIO_VENDOR     0x4c535356 /* "VSSL" */
#define VIRTIO_MMIO_SIZE       0x200
#define VIRTIO_MMIO_MAX_QUEUES 8
#define VIRTIO_MMIO_CONFIG_MAX (VIRTIO_MMIO_SIZE - VIRTIO_MMIO_CONFIG)

/* Register offsets. */
#define VIRTIO_MMIO_MAGIC_VALUE		0x000
#define VIRTIO_MMIO_VERSION_REG		0x004
#define VIRTIO_MMIO_DEVICE_ID		0x008
#define VIRTIO_MMIO_VENDOR_ID		0x00c
#define VIRTIO_MMIO_DEVICE_FEATURES	0x010
#define VIRTIO_MMIO_DEVICE_FEATURES_SEL 0x014
#define VIRTIO_MMIO_DRIVER_FEATURES	0x020
#define VIRTIO_MMIO_DRIVER_FEATURES_SEL 0x024
#define VIRTIO_MMIO_QUEUE_SEL		0x030
#define VIRTIO_MMIO_QUEUE_NUM_MAX	0x034
#define VIRTIO_MMIO_QUEUE_NUM		0x038
#define VIRTIO_MMIO_QUEUE_READY		0x044
#define VIRTIO_MMIO_QUEUE_NOTIFY	0x050
#define VIRTIO_MMIO_INTERRUPT_STATUS	0x060
#define VIRTIO_MMIO_INTERRUPT_ACK	0x064
#define VIRTIO_MMIO_STATUS		0x070
#define VIRTIO_MMIO_QUEUE_DESC_LOW	0x080
#define VIRTIO_MMIO_QUEUE_DESC_HIGH	0x084
#define VIRTIO_MMIO_QUEUE_DRIVER_LOW	0x090
#define VIRTIO_MMIO_QUEUE_DRIVER_HIGH	0x094
#define VIRTIO_MMIO_QUEUE_DEVICE_LOW	0x0a0
#define VIRTIO_MMIO_QUEUE_DEVICE_HIGH	0x0a4
#define VIRTIO_MMIO_CONFIG_GENERATION	0x0fc
#define VIRTIO_MMIO_CONFIG		0x100

/* Device status bits. */
#define VIRTIO_STATUS_ACKNOWLEDGE 0x01
#define VIRTIO_STATUS_DRIVER	  0x02
#define VIRTIO_STATUS_DRIVER_OK	  0x04
#define VIRTIO_STATUS_FEATURES_OK 0x08
#define VIRTIO_STATUS_NEEDS_RESET 0x40
#define VIRTIO_STATUS_FAILED	  0x80

/* InterruptStatus bits. */
#define VIRTIO_MMIO_INT_VRING  0x1
#define VIRTIO_MMIO_INT_CONFIG 0x2

#define VIRTIO_F_VERSION_1 (1ULL << 32) /* always offered by the transport */

struct virtio_mmio;

/* A device model; static const, never mutated. Callbacks run with the transport lock held
 * and may call virtio_mmio_queue(), virtio_mmio_signal_used() and virtio_mmio_needs_reset().
 * config_read/write get offset + len <= config_size, len 1, 2, 4 or 8. */
struct virtio_device_ops {
	const char *name;
	uint32_t device_id;
	uint64_t features;    /* device-specific bits; VIRTIO_F_VERSION_1 is added */
	unsigned num_queues;  /* 1..VIRTIO_MMIO_MAX_QUEUES */
	uint16_t queue_max;   /* power of two, <= VIRTQ_MAX_SIZE */
	uint32_t config_size; /* <= VIRTIO_MMIO_CONFIG_MAX */
	void (*config_read)(struct virtio_mmio *m, uint32_t offset, uint8_t *data, uint32_t len);
	void (*config_write)(struct virtio_mmio *m, uint32_t offset, const uint8_t *data,
			     uint32_t len); /* NULL: read-only config */
	void (*notify)(struct virtio_mmio *m, unsigned queue);
	void (*reset)(struct virtio_mmio *m); /* NULL: nothing to reset */
};

typedef void virtio_mmio_irq_fn(void *opaque, int level);

/* LEVEL: irq(opaque, 0 or 1) as InterruptStatus becomes zero or non-zero (the default).
 * EDGE: irq(opaque, 1) once per edge: when InterruptStatus goes from 0 to non-zero, and when an
 * InterruptACK leaves bits set (bits the driver had not seen yet would otherwise never
 * interrupt again); for an irqfd or an edge-triggered IOAPIC pin. */
enum virtio_mmio_irq_mode {
	VIRTIO_MMIO_IRQ_LEVEL,
	VIRTIO_MMIO_IRQ_EDGE,
	VIRTIO_MMIO_IRQ_MAX,
};

struct virtio_mmio {
	pthread_mutex_t lock;
	const struct virtio_device_ops *ops;
	void *dev;			/* borrowed: the device model's state */
	const struct guest_memory *mem; /* borrowed */
	virtio_mmio_irq_fn *irq;	/* may be NULL */
	void *irq_opaque;
	enum virtio_mmio_irq_mode irq_mode;
	int irq_level;
	uint32_t status;
	uint32_t device_features_sel, driver_features_sel;
	uint32_t queue_sel; /* as written; checked on every use */
	uint32_t interrupt_status;
	uint32_t config_generation;
	uint64_t driver_features;
	bool needs_reset_logged;
	struct virtq queues[VIRTIO_MMIO_MAX_QUEUES];
};

/* Sets up the transport for a device; -EINVAL when ops are out of the limits above.
 * ops, dev, mem, irq_opaque: borrowed. */
int virtio_mmio_init(struct virtio_mmio *m, const struct virtio_device_ops *ops, void *dev,
		     const struct guest_memory *mem, virtio_mmio_irq_fn *irq, void *irq_opaque,
		     struct error *err);
void virtio_mmio_destroy(struct virtio_mmio *m);
/* Replaces the interrupt callback and its mode (virtio_mmio_init() sets LEVEL); for the code
 * that attaches the device, before the guest runs. irq_opaque: borrowed. */
void virtio_mmio_set_irq(struct virtio_mmio *m, enum virtio_mmio_irq_mode mode,
			 virtio_mmio_irq_fn *irq, void *irq_opaque);
/* bus_handler_fn for the VIRTIO_MMIO_SIZE window; opaque is the struct virtio_mmio. */
void virtio_mmio_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write);
/* A QueueNotify that arrived another way (an ioeventfd, read on the I/O thread): takes the
 * lock and checks queue as a write of the register would before the device sees it. */
void virtio_mmio_notify(struct virtio_mmio *m, unsigned queue);

/* For device callbacks (lock held). Queue i (< ops->num_queues) or NULL. */
struct virtq *virtio_mmio_queue(struct virtio_mmio *m, unsigned i);
/* Raises the used-buffer interrupt when the driver wants one for queue i. */
void virtio_mmio_signal_used(struct virtio_mmio *m, unsigned i);
/* A guest fault: sets NEEDS_RESET, raises the config interrupt, logs why once (debug). */
void virtio_mmio_needs_reset(struct virtio_mmio *m, const char *why);
/* A device's answer to one request: consumes chain (its iov may be advanced), returns the bytes
 * it wrote into the chain's writable buffers. */
typedef uint32_t virtio_answer_fn(struct virtio_mmio *m, struct virtq_chain *chain);
/* For notify callbacks: answers every chain available on queue (one queue's worth at most),
 * returns each to the driver and signals it once; a broken ring sets NEEDS_RESET. */
void virtio_mmio_answer_all(struct virtio_mmio *m, unsigned queue, virtio_answer_fn *answer);
/* For host-side callbacks (the I/O thread): hold the transport lock while touching queues. */
void virtio_mmio_lock(struct virtio_mmio *m);
void virtio_mmio_unlock(struct virtio_mmio *m);

#endif
