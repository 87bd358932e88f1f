/* virtq: the split virtqueue; see virtq.h for what is checked. */
#include "vmm/virtio/virtq.h"

#include <endian.h>
#include <errno.h>
#include <string.h>

/* Host addresses of the three ring areas, valid for one call. */
struct rings {
	uint8_t *desc;
	uint16_t *avail; /* flags, idx, ring[size], used_event */
	uint16_t *used;	 /* flags, idx, then struct virtq_used_elem[size], avail_event */
};

static uint64_t avail_bytes(uint16_t size)
{
	return 6 + 2 * (uint64_t)size;
}

static uint64_t used_bytes(uint16_t size)
{
	return 6 + 8 * (uint64_t)size;
}

void virtq_reset(struct virtq *q)
{
	memset(q, 0, sizeof(*q));
}

static int map_rings(const struct virtq *q, const struct guest_memory *mem, struct rings *r,
		     struct error *err)
{
	uint16_t n = q->size;

	if (n == 0 || n > VIRTQ_MAX_SIZE || (n & (n - 1)))
		return error_set(err, EINVAL, "queue size %u is not a power of two up to %u", n,
				 VIRTQ_MAX_SIZE);
	if (q->desc % 16 || q->avail % 2 || q->used % 4)
		return error_set(err, EINVAL, "queue rings are misaligned");
	r->desc = guest_memory_hva(mem, q->desc, (uint64_t)n * VIRTQ_DESC_SIZE);
	r->avail = guest_memory_hva(mem, q->avail, avail_bytes(n));
	r->used = guest_memory_hva(mem, q->used, used_bytes(n));
	if (!r->desc || !r->avail || !r->used)
		return error_set(err, EFAULT, "queue rings are not guest RAM");
	return 0;
}

int virtq_check(const struct virtq *q, const struct guest_memory *mem, struct error *err)
{
	struct rings r;

	return map_rings(q, mem, &r, err);
}

static int add_segment(const struct guest_memory *mem, struct virtq_chain *c,
		       const struct virtq_desc *d, uint16_t idx, struct error *err)
{
	uint64_t addr = le64toh(d->addr);
	uint32_t len = le32toh(d->len);
	bool writable = le16toh(d->flags) & VIRTQ_DESC_F_WRITE;
	uint64_t *total = writable ? &c->write_len : &c->read_len;
	void *hva;

	if (len == 0)
		return error_set(err, EINVAL, "descriptor %u: zero length", idx);
	if (!writable && c->nwrite)
		return error_set(err, EINVAL, "descriptor %u: readable after writable", idx);
	if (c->nread + c->nwrite >= VIRTQ_CHAIN_MAX_SEGS)
		return error_set(err, EINVAL, "chain longer than %u buffers", VIRTQ_CHAIN_MAX_SEGS);
	if (*total + len > VIRTQ_CHAIN_MAX_BYTES)
		return error_set(err, EINVAL, "chain longer than %u bytes", VIRTQ_CHAIN_MAX_BYTES);
	hva = guest_memory_hva(mem, addr, len);
	if (!hva)
		return error_set(err, EFAULT, "descriptor %u: %#llx+%u is not guest RAM", idx,
				 (unsigned long long)addr, len);
	c->iov[c->nread + c->nwrite] = (struct iovec){.iov_base = hva, .iov_len = len};
	*total += len;
	if (writable)
		c->nwrite++;
	else
		c->nread++;
	return 0;
}

static int walk(const struct guest_memory *mem, const uint8_t *table, uint32_t count, uint16_t idx,
		bool direct, struct virtq_chain *c, struct error *err);

static int walk_indirect(const struct guest_memory *mem, const struct virtq_desc *d,
			 struct virtq_chain *c, struct error *err)
{
	uint64_t addr = le64toh(d->addr);
	uint32_t len = le32toh(d->len);
	const uint8_t *table;

	if (len == 0 || len % VIRTQ_DESC_SIZE || len / VIRTQ_DESC_SIZE > VIRTQ_MAX_SIZE)
		return error_set(err, EINVAL, "indirect table of %u bytes", len);
	table = guest_memory_hva(mem, addr, len);
	if (!table)
		return error_set(err, EFAULT, "indirect table %#llx+%u is not guest RAM",
				 (unsigned long long)addr, len);
	return walk(mem, table, len / VIRTQ_DESC_SIZE, 0, false, c, err);
}

/* Walks a chain from idx through a table of count descriptors: at most count steps. */
static int walk(const struct guest_memory *mem, const uint8_t *table, uint32_t count, uint16_t idx,
		bool direct, struct virtq_chain *c, struct error *err)
{
	for (uint32_t step = 0;; step++) {
		struct virtq_desc d;
		uint16_t flags;
		int r;

		if (step >= count)
			return error_set(err, EINVAL, "descriptor chain loops");
		if (idx >= count)
			return error_set(err, EINVAL, "descriptor index %u out of range (%u)", idx,
					 count);
		memcpy(&d, table + (size_t)idx * VIRTQ_DESC_SIZE, sizeof(d)); /* read once */
		flags = le16toh(d.flags);
		if (flags & VIRTQ_DESC_F_INDIRECT) {
			if (!direct)
				return error_set(err, EINVAL, "nested indirect descriptor");
			if (step != 0 || (flags & VIRTQ_DESC_F_NEXT))
				return error_set(err, EINVAL, "indirect descriptor inside a chain");
			return walk_indirect(mem, &d, c, err);
		}
		r = add_segment(mem, c, &d, idx, err);
		if (r < 0)
			return r;
		if (!(flags & VIRTQ_DESC_F_NEXT))
			return 0;
		idx = le16toh(d.next);
	}
}

int virtq_pop(struct virtq *q, const struct guest_memory *mem, struct virtq_chain *chain,
	      struct error *err)
{
	struct rings r;
	uint16_t avail_idx, pending, head;
	int ret;

	ret = map_rings(q, mem, &r, err);
	if (ret < 0)
		return ret;
	avail_idx = le16toh(__atomic_load_n(&r.avail[1], __ATOMIC_ACQUIRE));
	pending = (uint16_t)(avail_idx - q->last_avail_idx);
	if (pending == 0)
		return 0;
	if (pending > q->size)
		return error_set(err, EINVAL, "available index moved by %u (queue size %u)",
				 pending, q->size);
	head =
	    le16toh(__atomic_load_n(&r.avail[2 + q->last_avail_idx % q->size], __ATOMIC_RELAXED));
	q->last_avail_idx++;
	chain->head = head;
	chain->nread = chain->nwrite = 0;
	chain->read_len = chain->write_len = 0;
	ret = walk(mem, r.desc, q->size, head, true, chain, err);
	return ret < 0 ? ret : 1;
}

int virtq_push(struct virtq *q, const struct guest_memory *mem, uint16_t head, uint32_t written,
	       struct error *err)
{
	struct virtq_used_elem *elem;
	struct rings r;
	int ret;

	ret = map_rings(q, mem, &r, err);
	if (ret < 0)
		return ret;
	if (head >= q->size)
		return error_set(err, EINVAL, "used head %u out of range (%u)", head, q->size);
	elem = (struct virtq_used_elem *)(void *)&r.used[2];
	elem += q->used_idx % q->size;
	elem->id = htole32(head);
	elem->len = htole32(written);
	q->used_idx++;
	__atomic_store_n(&r.used[1], htole16(q->used_idx), __ATOMIC_RELEASE);
	return 0;
}

bool virtq_need_notify(const struct virtq *q, const struct guest_memory *mem)
{
	struct error err;
	struct rings r;

	if (map_rings(q, mem, &r, &err) < 0)
		return false;
	__atomic_thread_fence(__ATOMIC_SEQ_CST); /* used idx visible before reading flags */
	return !(le16toh(__atomic_load_n(&r.avail[0], __ATOMIC_RELAXED)) &
		 VIRTQ_AVAIL_F_NO_INTERRUPT);
}
