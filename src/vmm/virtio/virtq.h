/* virtq: the virtio 1.x split virtqueue, read by a device from hostile guest memory.
 *
 * The guest writes the descriptor table and the available ring; everything read from them is
 * copied once and checked before use: each descriptor index is below the queue size, a chain
 * walk is bounded by the size of the table it walks (so a loop is an error, not a hang),
 * every buffer goes through guest_memory_hva(), readable buffers come before writable ones,
 * an indirect table is one whole chain and holds no further indirect descriptor, and a chain
 * is at most VIRTQ_CHAIN_MAX_SEGS buffers and VIRTQ_CHAIN_MAX_BYTES bytes each way. Nothing
 * here allocates. A malformed ring is an error for the caller (the device then sets
 * NEEDS_RESET); it never aborts.
 */
#ifndef VESSEL_VMM_VIRTIO_VIRTQ_H
#define VESSEL_VMM_VIRTIO_VIRTQ_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "util/error.h"
#include "vmm/memory.h"

#define VIRTQ_MAX_SIZE	      32768 /* the largest queue the spec allows */
#define VIRTQ_CHAIN_MAX_SEGS  256   /* buffers in one chain */
#define VIRTQ_CHAIN_MAX_BYTES (1U << 30)

#define VIRTQ_DESC_F_NEXT	   1
#define VIRTQ_DESC_F_WRITE	   2
#define VIRTQ_DESC_F_INDIRECT	   4
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1

#define VIRTQ_DESC_SIZE 16

/* Guest layout (little endian). */
struct virtq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct virtq_used_elem {
	uint32_t id;
	uint32_t len;
};

/* Device-side state of one queue. The transport fills size and the three addresses from
 * guest registers; virtq_check() validates them. */
struct virtq {
	uint16_t size; /* entries; a power of two, 0 when not configured */
	bool ready;
	uint64_t desc;	/* gpa of the descriptor table (16-byte aligned) */
	uint64_t avail; /* gpa of the available ring ("driver area", 2-byte aligned) */
	uint64_t used;	/* gpa of the used ring ("device area", 4-byte aligned) */
	uint16_t last_avail_idx;
	uint16_t used_idx;
};

/* One popped chain: iov[0, nread) are readable (driver -> device), iov[nread, nread + nwrite)
 * writable. The iov_base pointers point into guest memory (borrowed). */
struct virtq_chain {
	uint16_t head;
	unsigned nread, nwrite;
	uint64_t read_len, write_len;
	struct iovec iov[VIRTQ_CHAIN_MAX_SEGS];
};

/* Resets q to an unconfigured queue. */
void virtq_reset(struct virtq *q);
/* Checks size (power of two, 1..VIRTQ_MAX_SIZE), alignment and that the three ring areas are
 * guest RAM; -EINVAL or -EFAULT otherwise. mem: borrowed. */
int virtq_check(const struct virtq *q, const struct guest_memory *mem, struct error *err);
/* Pops the next available chain into *chain: 1 when one was popped, 0 when the ring is empty,
 * -EINVAL/-EFAULT when the ring or the chain is malformed: a malformed chain is consumed
 * (last_avail_idx moves on), a broken ring (bad layout, available index ahead by more than
 * size) is not. mem, chain: borrowed. */
int virtq_pop(struct virtq *q, const struct guest_memory *mem, struct virtq_chain *chain,
	      struct error *err);
/* Returns chain head to the driver with written bytes in the used ring, then publishes the
 * used index (release ordering). -EINVAL/-EFAULT when the ring is unusable or head >= size. */
int virtq_push(struct virtq *q, const struct guest_memory *mem, uint16_t head, uint32_t written,
	       struct error *err);
/* Whether the driver wants an interrupt now (VIRTQ_AVAIL_F_NO_INTERRUPT clear; no
 * VIRTIO_F_EVENT_IDX). False when the ring is unusable. */
bool virtq_need_notify(const struct virtq *q, const struct guest_memory *mem);

#endif
