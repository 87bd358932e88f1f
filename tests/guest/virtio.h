/* virtio: a tiny polled virtio-mmio (version 2) driver for the test guests.
 *
 * Finds a device among the monitor's slots (0xd0000000 + i * 0x1000), negotiates
 * VIRTIO_F_VERSION_1, sets up split queues in static guest memory, submits one chain at a
 * time and polls the used ring (no interrupts) for a bounded number of rounds. Kernel-mode code
 * may be emulated instruction by instruction: every loop here is short.
 */
#ifndef VESSEL_TEST_GUEST_VIRTIO_H
#define VESSEL_TEST_GUEST_VIRTIO_H

#include <stdint.h>

#define VIO_SLOTS      8
#define VIO_QUEUE_SIZE 8
#define VIO_MAX_QUEUES 3

#define VIO_ID_NET     1
#define VIO_ID_BLOCK   2
#define VIO_ID_CONSOLE 3
#define VIO_ID_RNG     4
#define VIO_ID_VSOCK   19

#define VIO_BUF_WRITE 1 /* the device writes this buffer */

struct vio_buf {
	void *addr;
	uint32_t len;
	uint32_t flags; /* VIO_BUF_WRITE */
};

struct vio_queue {
	uint16_t size;
	uint16_t next_avail;
	uint16_t last_used;
	uint8_t *mem; /* one 4 KiB page: descriptors, available ring, used ring */
};

struct vio_dev {
	uintptr_t base;
	unsigned slot;
	uint32_t device_id;
	struct vio_queue queues[VIO_MAX_QUEUES];
};

/* Prints "virtio: SLOT:ID ..." for every slot that answers. */
void vio_list(void);
/* The first device with id in the slots: 0, or -1 when there is none. */
int vio_find(uint32_t id, struct vio_dev *d);
/* Resets the device and negotiates VERSION_1 plus the wanted bits it offers (*got: what was
 * accepted), then sets up nqueues queues: 0, or -1 when the device refuses. */
int vio_setup(struct vio_dev *d, uint64_t wanted, uint64_t *got, unsigned nqueues);
/* Sets DRIVER_OK. */
void vio_ready(struct vio_dev *d);
/* Submits one chain (readable buffers first) on queue q without waiting; no kick. */
void vio_submit(struct vio_dev *d, unsigned q, const struct vio_buf *bufs, unsigned n);
void vio_kick(struct vio_dev *d, unsigned q);
/* Polls queue q's used ring for the next used chain: 0 and *len (bytes written), or -1 when
 * none came within the bound. */
int vio_wait(struct vio_dev *d, unsigned q, uint32_t *len);
/* Submits, kicks and waits: 0 and *len, or -1. */
int vio_transfer(struct vio_dev *d, unsigned q, const struct vio_buf *bufs, unsigned n,
		 uint32_t *len);
uint32_t vio_config32(const struct vio_dev *d, unsigned offset);
uint32_t vio_status(const struct vio_dev *d);

#endif
