/* rng: virtio-rng on the MMIO transport. */
#include "vmm/virtio/rng.h"

#include <errno.h>
#include <sys/random.h>

/* Fills len bytes at p; false when the kernel fails us (not the guest's doing). */
static bool fill(uint8_t *p, size_t len)
{
	while (len) {
		ssize_t n = getrandom(p, len, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		p += n;
		len -= (size_t)n;
	}
	return true;
}

static uint32_t fill_chain(const struct virtq_chain *c)
{
	uint32_t written = 0;

	for (unsigned i = c->nread; i < c->nread + c->nwrite; i++) {
		if (!fill(c->iov[i].iov_base, c->iov[i].iov_len))
			break;
		written += (uint32_t)c->iov[i].iov_len; /* chain total <= VIRTQ_CHAIN_MAX_BYTES */
	}
	return written;
}

static uint32_t rng_answer(struct virtio_mmio *m, struct virtq_chain *chain)
{
	struct virtio_rng *rng = m->dev;
	uint32_t written = fill_chain(chain);

	rng->bytes += written;
	return written;
}

static void rng_notify(struct virtio_mmio *m, unsigned queue)
{
	virtio_mmio_answer_all(m, queue, rng_answer);
}

static const struct virtio_device_ops rng_ops = {
    .name = "virtio-rng",
    .device_id = VIRTIO_ID_RNG,
    .features = 0,
    .num_queues = 1,
    .queue_max = VIRTIO_RNG_QUEUE_MAX,
    .config_size = 0,
    .notify = rng_notify,
};

int virtio_rng_init(struct virtio_rng *rng, const struct guest_memory *mem, virtio_mmio_irq_fn *irq,
		    void *irq_opaque, struct error *err)
{
	rng->bytes = 0;
	return virtio_mmio_init(&rng->mmio, &rng_ops, rng, mem, irq, irq_opaque, err);
}

void virtio_rng_destroy(struct virtio_rng *rng)
{
	virtio_mmio_destroy(&rng->mmio);
}
