/* rng: virtio-rng (device id 4): one queue whose writable buffers are filled with getrandom().
 *
 * A chain with no writable buffer is returned with 0 bytes written; a malformed chain sets
 * NEEDS_RESET. One notify handles at most one queue's worth of chains.
 */
#ifndef VESSEL_VMM_VIRTIO_RNG_H
#define VESSEL_VMM_VIRTIO_RNG_H

#include <stdint.h>

#include "util/error.h"
#include "vmm/memory.h"
#include "vmm/virtio/mmio.h"

#define VIRTIO_ID_RNG	     4
#define VIRTIO_RNG_QUEUE_MAX 256

struct virtio_rng {
	struct virtio_mmio mmio; /* register it on the MMIO bus with virtio_mmio_io, &rng->mmio */
	uint64_t bytes;		 /* handed to the guest so far */
};

/* mem, irq_opaque: borrowed. */
int virtio_rng_init(struct virtio_rng *rng, const struct guest_memory *mem, virtio_mmio_irq_fn *irq,
		    void *irq_opaque, struct error *err);
void virtio_rng_destroy(struct virtio_rng *rng);

#endif
