/* fuzz-virtq: the split virtqueue walk on guest-written memory.
 *
 * Input: a 12-byte header (queue size exponent, flags, desc/avail/used offsets, the device's
 * last_avail_idx and used_idx, all little endian), then the contents of a 64 KiB guest RAM.
 * Pops and pushes until the ring is empty or broken; every returned segment must lie inside
 * guest RAM and the chain's totals must add up.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/memory.h"
#include "vmm/virtio/virtq.h"

#define RAM_SIZE (64 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static void check_chain(const struct virtq_chain *c, const uint8_t *ram)
{
	uint64_t r = 0, w = 0;

	if (c->nread + c->nwrite > VIRTQ_CHAIN_MAX_SEGS)
		abort();
	for (unsigned i = 0; i < c->nread + c->nwrite; i++) {
		uint8_t *p = c->iov[i].iov_base;
		size_t len = c->iov[i].iov_len;

		if (len == 0 || p < ram || p + len > ram + RAM_SIZE)
			abort();
		if (i < c->nread) {
			r += len;
			continue;
		}
		w += len;
		p[0] ^= 1; /* the device writes there */
		p[len - 1] ^= 1;
	}
	if (r != c->read_len || w != c->write_len || r > VIRTQ_CHAIN_MAX_BYTES ||
	    w > VIRTQ_CHAIN_MAX_BYTES)
		abort();
}

static void run(struct virtq *q, const struct guest_memory *mem, const uint8_t *ram)
{
	static struct virtq_chain chain; /* 4 KiB; scratch only, rewritten each pop */
	struct error err;

	for (unsigned i = 0; i < 2 * VIRTQ_MAX_SIZE; i++) {
		uint16_t before = q->last_avail_idx;
		int r = virtq_pop(q, mem, &chain, &err);

		if (r == 0)
			break;
		if (r < 0) {
			if (q->last_avail_idx == before)
				break; /* the ring itself is broken */
			continue;
		}
		check_chain(&chain, ram);
		if (virtq_push(q, mem, chain.head, (uint32_t)chain.write_len, &err) < 0)
			abort(); /* pop succeeded on the same rings */
	}
	(void)virtq_need_notify(q, mem);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct guest_memory mem;
	struct virtq q;
	uint8_t *ram;

	if (size < 12)
		return 0;
	ram = aligned_alloc(4096, RAM_SIZE);
	if (!ram)
		return 0;
	memset(ram, 0, RAM_SIZE);
	memcpy(ram, data + 12, size - 12 < RAM_SIZE ? size - 12 : RAM_SIZE);
	guest_memory_init_buffer(&mem, ram, RAM_SIZE);
	virtq_reset(&q);
	q.size = (uint16_t)(1u << (data[0] % 16)); /* 1..32768 */
	if (data[1] & 1)
		q.size = (uint16_t)(q.size + 1); /* not a power of two */
	q.desc = le16(data + 2);
	q.avail = le16(data + 4);
	q.used = le16(data + 6);
	q.last_avail_idx = le16(data + 8);
	q.used_idx = le16(data + 10);
	run(&q, &mem, ram);
	free(ram);
	return 0;
}
