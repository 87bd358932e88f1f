/* blk: virtio-blk (device id 2): one queue of requests on a raw disk image.
 *
 * The backend is a regular file whose size is a multiple of 512 bytes, opened read-write or
 * read-only (then VIRTIO_BLK_F_RO is offered and every write is answered IOERR). Requests are
 * IN, OUT, FLUSH (fdatasync), GET_ID (the serial), DISCARD (a punched hole) and WRITE_ZEROES.
 * Each chain is parsed by virtio_blk_parse(), a pure function: the 16-byte header is copied
 * once from the readable part, the status is the last writable byte, the data is a view of the
 * chain (no copy) whose direction, size and sector range are checked against the disk with
 * overflow checks. A bad request gets an error status; a chain without a writable byte cannot
 * be answered and is returned with nothing written. Data moves with preadv/pwritev straight
 * between the file and guest memory. I/O runs in notify(), with the transport lock held.
 */
#ifndef VESSEL_VMM_VIRTIO_BLK_H
#define VESSEL_VMM_VIRTIO_BLK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "util/error.h"
#include "vmm/memory.h"
#include "vmm/virtio/mmio.h"
#include "vmm/virtio/virtq.h"

#define VIRTIO_ID_BLOCK		 2
#define VIRTIO_BLK_QUEUE_MAX	 256
#define VIRTIO_BLK_SECTOR_SIZE	 512
#define VIRTIO_BLK_ID_BYTES	 20
#define VIRTIO_BLK_SEG_MAX	 (VIRTQ_CHAIN_MAX_SEGS - 2) /* data buffers: all but header, status */
#define VIRTIO_BLK_DISCARD_SEGS	 16 /* ranges in one DISCARD or WRITE_ZEROES */
#define VIRTIO_BLK_DISCARD_ALIGN 8  /* sectors: discard in whole 4 KiB pages */
#define VIRTIO_BLK_CONFIG_SIZE	 60 /* struct virtio_blk_config up to write_zeroes_may_unmap */

/* Feature bits. */
#define VIRTIO_BLK_F_SEG_MAX	  (1ULL << 2)
#define VIRTIO_BLK_F_RO		  (1ULL << 5)
#define VIRTIO_BLK_F_BLK_SIZE	  (1ULL << 6)
#define VIRTIO_BLK_F_FLUSH	  (1ULL << 9)
#define VIRTIO_BLK_F_DISCARD	  (1ULL << 13)
#define VIRTIO_BLK_F_WRITE_ZEROES (1ULL << 14)

/* Request types. */
#define VIRTIO_BLK_T_IN		  0
#define VIRTIO_BLK_T_OUT	  1
#define VIRTIO_BLK_T_FLUSH	  4
#define VIRTIO_BLK_T_GET_ID	  8
#define VIRTIO_BLK_T_DISCARD	  11
#define VIRTIO_BLK_T_WRITE_ZEROES 13

/* Status byte values. */
#define VIRTIO_BLK_S_OK	    0
#define VIRTIO_BLK_S_IOERR  1
#define VIRTIO_BLK_S_UNSUPP 2

#define VIRTIO_BLK_WRITE_ZEROES_F_UNMAP 1

/* Guest layout (little endian) of the request header and of one DISCARD/WRITE_ZEROES range. */
struct virtio_blk_header {
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;
};

struct virtio_blk_range {
	uint64_t sector;
	uint32_t num_sectors;
	uint32_t flags;
};

/* One parsed request. iov and status_byte point into guest memory (borrowed from the chain);
 * everything else is a checked host-order copy. */
struct virtio_blk_req {
	uint32_t type;
	uint64_t sector;
	uint8_t status;	      /* VIRTIO_BLK_S_OK: run it; else the answer, nothing to run */
	uint8_t *status_byte; /* the chain's last writable byte */
	uint64_t len;	      /* data bytes in iov */
	unsigned niov;
	struct iovec iov[VIRTQ_CHAIN_MAX_SEGS];
	unsigned nranges; /* DISCARD, WRITE_ZEROES: each range inside the disk */
	struct virtio_blk_range ranges[VIRTIO_BLK_DISCARD_SEGS];
};

struct virtio_blk {
	struct virtio_mmio mmio; /* register it on the MMIO bus with virtio_mmio_io, &blk->mmio */
	int fd;
	bool readonly;
	uint64_t capacity; /* sectors */
	char serial[VIRTIO_BLK_ID_BYTES];
	uint8_t config[VIRTIO_BLK_CONFIG_SIZE];
	uint64_t requests, errors; /* answered so far, and how many of them not OK */
};

/* Parses chain (borrowed, as virtq_pop() returned it) for a disk of capacity sectors into *ret:
 * 0 with ret->status saying whether to run it, or -EINVAL when the chain has no writable byte
 * for the status. Reads guest memory, touches nothing else. */
int virtio_blk_parse(const struct virtq_chain *chain, uint64_t capacity,
		     struct virtio_blk_req *ret);

/* Opens path (read-only when readonly) as the disk. serial: the GET_ID answer, at most
 * VIRTIO_BLK_ID_BYTES used; NULL: the file's name. Errors name the path: "--disk /x: No such
 * file or directory". mem, irq_opaque, path, serial: borrowed. */
int virtio_blk_init(struct virtio_blk *blk, const struct guest_memory *mem, virtio_mmio_irq_fn *irq,
		    void *irq_opaque, const char *path, bool readonly, const char *serial,
		    struct error *err);
/* Closes the disk; safe after a failed virtio_blk_init(). */
void virtio_blk_destroy(struct virtio_blk *blk);

#endif
