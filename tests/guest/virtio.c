/* virtio: see virtio.h */
#include "virtio.h"

#include "guest.h"

#define MMIO_BASE   0xd0000000UL
#define MMIO_STRIDE 0x1000UL

#define R_MAGIC		  0x000
#define R_VERSION	  0x004
#define R_DEVICE_ID	  0x008
#define R_DEVICE_FEAT	  0x010
#define R_DEVICE_FEAT_SEL 0x014
#define R_DRIVER_FEAT	  0x020
#define R_DRIVER_FEAT_SEL 0x024
#define R_QUEUE_SEL	  0x030
#define R_QUEUE_NUM_MAX	  0x034
#define R_QUEUE_NUM	  0x038
#define R_QUEUE_READY	  0x044
#define R_QUEUE_NOTIFY	  0x050
#define R_STATUS	  0x070
#define R_QUEUE_DESC	  0x080
#define R_QUEUE_DRIVER	  0x090
#define R_QUEUE_DEVICE	  0x0a0
#define R_CONFIG	  0x100

#define S_ACKNOWLEDGE 1
#define S_DRIVER      2
#define S_DRIVER_OK   4
#define S_FEATURES_OK 8

#define DESC_F_NEXT  1
#define DESC_F_WRITE 2

#define AVAIL_OFF   1024 /* in a queue's page */
#define USED_OFF    2048
#define WAIT_ROUNDS 2000000

struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

static uint8_t queue_pages[VIO_MAX_QUEUES][4096] __attribute__((aligned(4096)));

static uint32_t rd(uintptr_t base, unsigned off)
{
	return *(volatile uint32_t *)(base + off);
}

static void wr(uintptr_t base, unsigned off, uint32_t v)
{
	*(volatile uint32_t *)(base + off) = v;
}

static int probe(unsigned slot, uint32_t *id)
{
	uintptr_t base = MMIO_BASE + slot * MMIO_STRIDE;

	if (rd(base, R_MAGIC) != 0x74726976 || rd(base, R_VERSION) != 2)
		return -1;
	*id = rd(base, R_DEVICE_ID);
	return *id ? 0 : -1;
}

void vio_list(void)
{
	uint32_t id;

	guest_puts("virtio:");
	for (unsigned i = 0; i < VIO_SLOTS; i++) {
		if (probe(i, &id) < 0)
			continue;
		guest_putc(' ');
		guest_putdec(i);
		guest_putc(':');
		guest_putdec(id);
	}
	guest_putc('\n');
}

int vio_find(uint32_t id, struct vio_dev *d)
{
	uint32_t got;

	for (unsigned i = 0; i < VIO_SLOTS; i++) {
		if (probe(i, &got) == 0 && got == id) {
			d->base = MMIO_BASE + i * MMIO_STRIDE;
			d->slot = i;
			d->device_id = id;
			return 0;
		}
	}
	return -1;
}

static void set_addr(uintptr_t base, unsigned off, uintptr_t addr)
{
	wr(base, off, (uint32_t)addr);
	wr(base, off + 4, (uint32_t)((uint64_t)addr >> 32));
}

static int setup_queue(struct vio_dev *d, unsigned i)
{
	struct vio_queue *q = &d->queues[i];
	uint8_t *mem = queue_pages[i];

	wr(d->base, R_QUEUE_SEL, i);
	if (rd(d->base, R_QUEUE_NUM_MAX) < VIO_QUEUE_SIZE)
		return -1;
	for (unsigned b = 0; b < 4096; b++)
		mem[b] = 0;
	*q = (struct vio_queue){.size = VIO_QUEUE_SIZE, .mem = mem};
	wr(d->base, R_QUEUE_NUM, VIO_QUEUE_SIZE);
	set_addr(d->base, R_QUEUE_DESC, (uintptr_t)mem);
	set_addr(d->base, R_QUEUE_DRIVER, (uintptr_t)(mem + AVAIL_OFF));
	set_addr(d->base, R_QUEUE_DEVICE, (uintptr_t)(mem + USED_OFF));
	wr(d->base, R_QUEUE_READY, 1);
	return rd(d->base, R_QUEUE_READY) == 1 ? 0 : -1;
}

int vio_setup(struct vio_dev *d, uint64_t wanted, uint64_t *got, unsigned nqueues)
{
	uint64_t offered;

	wr(d->base, R_STATUS, 0);
	wr(d->base, R_STATUS, S_ACKNOWLEDGE | S_DRIVER);
	wr(d->base, R_DEVICE_FEAT_SEL, 0);
	offered = rd(d->base, R_DEVICE_FEAT);
	wr(d->base, R_DEVICE_FEAT_SEL, 1);
	offered |= (uint64_t)rd(d->base, R_DEVICE_FEAT) << 32;
	*got = (wanted & offered) | (1ULL << 32);
	wr(d->base, R_DRIVER_FEAT_SEL, 0);
	wr(d->base, R_DRIVER_FEAT, (uint32_t)*got);
	wr(d->base, R_DRIVER_FEAT_SEL, 1);
	wr(d->base, R_DRIVER_FEAT, (uint32_t)(*got >> 32));
	wr(d->base, R_STATUS, S_ACKNOWLEDGE | S_DRIVER | S_FEATURES_OK);
	if (!(rd(d->base, R_STATUS) & S_FEATURES_OK) || nqueues > VIO_MAX_QUEUES)
		return -1;
	for (unsigned i = 0; i < nqueues; i++)
		if (setup_queue(d, i) < 0)
			return -1;
	return 0;
}

void vio_ready(struct vio_dev *d)
{
	wr(d->base, R_STATUS, S_ACKNOWLEDGE | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
}

void vio_submit(struct vio_dev *d, unsigned qi, const struct vio_buf *bufs, unsigned n)
{
	struct vio_queue *q = &d->queues[qi];
	struct desc *desc = (struct desc *)q->mem;
	volatile uint16_t *avail = (volatile uint16_t *)(q->mem + AVAIL_OFF);
	uint16_t head = (uint16_t)(q->next_avail % q->size);

	/* One chain in flight per queue: it always starts at descriptor 0. */
	for (unsigned i = 0; i < n; i++)
		desc[i] = (struct desc){
		    .addr = (uintptr_t)bufs[i].addr,
		    .len = bufs[i].len,
		    .flags = (uint16_t)((i + 1 < n ? DESC_F_NEXT : 0) |
					(bufs[i].flags & VIO_BUF_WRITE ? DESC_F_WRITE : 0)),
		    .next = (uint16_t)(i + 1),
		};
	avail[2 + head] = 0;
	__asm__ volatile("" ::: "memory"); /* x86 keeps stores in order; the compiler must too */
	q->next_avail++;
	avail[1] = q->next_avail;
}

void vio_kick(struct vio_dev *d, unsigned q)
{
	__asm__ volatile("" ::: "memory");
	wr(d->base, R_QUEUE_NOTIFY, q);
}

int vio_wait(struct vio_dev *d, unsigned qi, uint32_t *len)
{
	struct vio_queue *q = &d->queues[qi];
	volatile uint16_t *used = (volatile uint16_t *)(q->mem + USED_OFF);
	volatile uint32_t *elems = (volatile uint32_t *)(q->mem + USED_OFF + 4);

	for (unsigned i = 0; i < WAIT_ROUNDS; i++) {
		if (used[1] != q->last_used) {
			*len = elems[2 * (q->last_used % q->size) + 1];
			q->last_used++;
			return 0;
		}
	}
	return -1;
}

int vio_transfer(struct vio_dev *d, unsigned q, const struct vio_buf *bufs, unsigned n,
		 uint32_t *len)
{
	vio_submit(d, q, bufs, n);
	vio_kick(d, q);
	return vio_wait(d, q, len);
}

uint32_t vio_config32(const struct vio_dev *d, unsigned offset)
{
	return rd(d->base, R_CONFIG + offset);
}

uint32_t vio_status(const struct vio_dev *d)
{
	return rd(d->base, R_STATUS);
}
