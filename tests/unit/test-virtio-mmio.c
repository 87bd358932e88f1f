/* test-virtio-mmio: the virtio-mmio register file as a guest driver programs it (identity,
 * feature negotiation, queue setup, status reset, notify) with hostile values ignored, the
 * config window bounds, edge-triggered interrupts, kicks that arrive by eventfd, and virtio-rng
 * filling a buffer through a real ring. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vmm/memory.h"
#include "vmm/virtio/mmio.h"
#include "vmm/virtio/rng.h"
#include "vmm/virtio/virtq.h"

#define MEM_SIZE  (1 << 20)
#define DESC_GPA  0x1000
#define AVAIL_GPA 0x2000
#define USED_GPA  0x3000
#define DATA_GPA  0x10000

struct fake {
	unsigned notifies, last_queue, resets;
	uint8_t config[8];
};

static void fake_config_read(struct virtio_mmio *m, uint32_t off, uint8_t *data, uint32_t len)
{
	struct fake *f = m->dev;

	memcpy(data, f->config + off, len);
}

static void fake_notify(struct virtio_mmio *m, unsigned queue)
{
	struct fake *f = m->dev;

	f->notifies++;
	f->last_queue = queue;
}

static void fake_reset(struct virtio_mmio *m)
{
	struct fake *f = m->dev;

	f->resets++;
}

static const struct virtio_device_ops fake_ops = {
    .name = "fake",
    .device_id = 42,
    .features = (1ULL << 0) | (1ULL << 33),
    .num_queues = 2,
    .queue_max = 64,
    .config_size = 8,
    .config_read = fake_config_read,
    .notify = fake_notify,
    .reset = fake_reset,
};

struct irq_log {
	int level;
	unsigned changes;
};

static void irq(void *opaque, int level)
{
	struct irq_log *l = opaque;

	l->level = level;
	l->changes++;
}

static uint32_t rd(struct virtio_mmio *m, uint64_t off)
{
	uint32_t v = 0xdeadbeef;

	virtio_mmio_io(m, off, (uint8_t *)&v, 4, false);
	return v;
}

static void wr(struct virtio_mmio *m, uint64_t off, uint32_t v)
{
	virtio_mmio_io(m, off, (uint8_t *)&v, 4, true);
}

struct fx {
	uint8_t *buf;
	struct guest_memory mem;
	struct fake fake;
	struct irq_log irq;
	struct virtio_mmio m;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct error err;

	if (!f)
		return -1;
	f->buf = aligned_alloc(4096, MEM_SIZE);
	if (!f->buf) {
		free(f);
		return -1;
	}
	memset(f->buf, 0, MEM_SIZE);
	guest_memory_init_buffer(&f->mem, f->buf, MEM_SIZE);
	memcpy(f->fake.config, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
	if (virtio_mmio_init(&f->m, &fake_ops, &f->fake, &f->mem, irq, &f->irq, &err) < 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	virtio_mmio_destroy(&f->m);
	free(f->buf);
	free(f);
	return 0;
}

/* The driver's steps up to DRIVER_OK with queue q set up at the test addresses. */
static void bring_up(struct virtio_mmio *m, unsigned q, uint32_t num)
{
	wr(m, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	wr(m, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(m, VIRTIO_MMIO_DRIVER_FEATURES, 1); /* VERSION_1 */
	wr(m, VIRTIO_MMIO_STATUS,
	   VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	assert_true(rd(m, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK);
	wr(m, VIRTIO_MMIO_QUEUE_SEL, q);
	wr(m, VIRTIO_MMIO_QUEUE_NUM, num);
	wr(m, VIRTIO_MMIO_QUEUE_DESC_LOW, DESC_GPA);
	wr(m, VIRTIO_MMIO_QUEUE_DESC_HIGH, 0);
	wr(m, VIRTIO_MMIO_QUEUE_DRIVER_LOW, AVAIL_GPA);
	wr(m, VIRTIO_MMIO_QUEUE_DEVICE_LOW, USED_GPA);
	wr(m, VIRTIO_MMIO_QUEUE_READY, 1);
	assert_int_equal(rd(m, VIRTIO_MMIO_QUEUE_READY), 1);
	wr(m, VIRTIO_MMIO_STATUS,
	   VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
	       VIRTIO_STATUS_DRIVER_OK);
}

static void test_identity(void **state)
{
	struct fx *f = *state;
	uint16_t half = 0x1234;
	uint64_t q = 0;

	assert_int_equal(rd(&f->m, VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
	assert_int_equal(rd(&f->m, VIRTIO_MMIO_VERSION_REG), 2);
	assert_int_equal(rd(&f->m, VIRTIO_MMIO_DEVICE_ID), 42);
	assert_int_equal(rd(&f->m, VIRTIO_MMIO_VENDOR_ID), VIRTIO_MMIO_VENDOR);
	assert_int_equal(rd(&f->m, VIRTIO_MMIO_QUEUE_NUM_MAX), 64);
	assert_int_equal(rd(&f->m, 0x0f0), 0); /* unknown register */
	virtio_mmio_io(&f->m, VIRTIO_MMIO_MAGIC_VALUE, (uint8_t *)&half, 2, false); /* not 32-bit */
	assert_int_equal(half, 0);
	/* Config window: in bounds, 8 bytes at once, then out of bounds reads as 0. */
	assert_int_equal(rd(&f->m, VIRTIO_MMIO_CONFIG + 4), 0x08070605);
	virtio_mmio_io(&f->m, VIRTIO_MMIO_CONFIG, (uint8_t *)&q, 8, false);
	assert_int_equal(q, 0x0807060504030201ULL);
	assert_int_equal(rd(&f->m, VIRTIO_MMIO_CONFIG + 6), 0); /* straddles the end */
	assert_int_equal(rd(&f->m, VIRTIO_MMIO_CONFIG + 0x80), 0);
	q = 0;
	virtio_mmio_io(&f->m, VIRTIO_MMIO_CONFIG + 1, (uint8_t *)&q, 3, false); /* odd size */
	assert_int_equal(q, 0);
	wr(&f->m, VIRTIO_MMIO_CONFIG, 0); /* read-only config: ignored */
	assert_int_equal(f->fake.config[0], 1);
}

static void test_features(void **state)
{
	struct fx *f = *state;
	const uint32_t s = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER;

	assert_int_equal(rd(&f->m, VIRTIO_MMIO_DEVICE_FEATURES), 1);
	wr(&f->m, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	assert_int_equal(rd(&f->m, VIRTIO_MMIO_DEVICE_FEATURES), 3); /* VERSION_1 | bit 33 */
	wr(&f->m, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 7);
	assert_int_equal(rd(&f->m, VIRTIO_MMIO_DEVICE_FEATURES), 0);

	wr(&f->m, VIRTIO_MMIO_STATUS, s);
	/* An unoffered feature (bit 5): FEATURES_OK does not stick. */
	wr(&f->m, VIRTIO_MMIO_DRIVER_FEATURES, (1 << 5) | 1);
	wr(&f->m, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(&f->m, VIRTIO_MMIO_DRIVER_FEATURES, 1);
	wr(&f->m, VIRTIO_MMIO_STATUS, s | VIRTIO_STATUS_FEATURES_OK);
	assert_int_equal(rd(&f->m, VIRTIO_MMIO_STATUS), s);
	/* Without VERSION_1 (a legacy driver): refused too. */
	wr(&f->m, VIRTIO_MMIO_DRIVER_FEATURES, 0);
	wr(&f->m, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(&f->m, VIRTIO_MMIO_DRIVER_FEATURES, 1);
	wr(&f->m, VIRTIO_MMIO_STATUS, s | VIRTIO_STATUS_FEATURES_OK);
	assert_int_equal(rd(&f->m, VIRTIO_MMIO_STATUS), s);
	/* A subset with VERSION_1: accepted, and then frozen. */
	wr(&f->m, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(&f->m, VIRTIO_MMIO_DRIVER_FEATURES, 3);
	wr(&f->m, VIRTIO_MMIO_STATUS, s | VIRTIO_STATUS_FEATURES_OK);
	assert_int_equal(rd(&f->m, VIRTIO_MMIO_STATUS), s | VIRTIO_STATUS_FEATURES_OK);
	assert_int_equal(f->m.driver_features, (1ULL << 0) | (1ULL << 32) | (1ULL << 33));
	wr(&f->m, VIRTIO_MMIO_DRIVER_FEATURES, 0);
	assert_int_equal(f->m.driver_features, (1ULL << 0) | (1ULL << 32) | (1ULL << 33));
}

static void test_queue_registers(void **state)
{
	struct fx *f = *state;

	wr(&f->m, VIRTIO_MMIO_QUEUE_SEL, 1);
	wr(&f->m, VIRTIO_MMIO_QUEUE_NUM, 48); /* not a power of two */
	assert_int_equal(f->m.queues[1].size, 0);
	wr(&f->m, VIRTIO_MMIO_QUEUE_NUM, 128); /* above the max */
	assert_int_equal(f->m.queues[1].size, 0);
	wr(&f->m, VIRTIO_MMIO_QUEUE_NUM, 0);
	assert_int_equal(f->m.queues[1].size, 0);
	wr(&f->m, VIRTIO_MMIO_QUEUE_NUM, 32);
	assert_int_equal(f->m.queues[1].size, 32);
	wr(&f->m, VIRTIO_MMIO_QUEUE_DESC_LOW, 0x5000);
	wr(&f->m, VIRTIO_MMIO_QUEUE_DESC_HIGH, 0x1);
	assert_int_equal(f->m.queues[1].desc, 0x100005000ULL);
	/* Rings outside RAM: the queue does not become ready. */
	wr(&f->m, VIRTIO_MMIO_QUEUE_READY, 1);
	assert_int_equal(rd(&f->m, VIRTIO_MMIO_QUEUE_READY), 0);
	assert_true(rd(&f->m, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);

	/* QueueSel out of range: reads see 0, writes touch nothing. */
	wr(&f->m, VIRTIO_MMIO_QUEUE_SEL, 2);
	assert_int_equal(rd(&f->m, VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
	wr(&f->m, VIRTIO_MMIO_QUEUE_NUM, 16);
	wr(&f->m, VIRTIO_MMIO_QUEUE_READY, 1);
	wr(&f->m, VIRTIO_MMIO_QUEUE_SEL, 0xffffffff);
	wr(&f->m, VIRTIO_MMIO_QUEUE_DESC_LOW, 0x1000);
	assert_int_equal(rd(&f->m, VIRTIO_MMIO_QUEUE_READY), 0);
	for (unsigned i = 0; i < VIRTIO_MMIO_MAX_QUEUES; i++)
		if (i != 1)
			assert_int_equal(f->m.queues[i].size, 0);
}

static void test_notify_and_reset(void **state)
{
	struct fx *f = *state;

	wr(&f->m, VIRTIO_MMIO_QUEUE_NOTIFY, 0); /* before DRIVER_OK: ignored */
	assert_int_equal(f->fake.notifies, 0);
	bring_up(&f->m, 1, 16);
	wr(&f->m, VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	assert_int_equal(f->fake.notifies, 1);
	assert_int_equal(f->fake.last_queue, 1);
	wr(&f->m, VIRTIO_MMIO_QUEUE_NOTIFY, 0); /* not ready */
	wr(&f->m, VIRTIO_MMIO_QUEUE_NOTIFY, 2); /* out of range */
	wr(&f->m, VIRTIO_MMIO_QUEUE_NOTIFY, 0xffffffff);
	assert_int_equal(f->fake.notifies, 1);
	/* A live queue's layout cannot change. */
	wr(&f->m, VIRTIO_MMIO_QUEUE_NUM, 64);
	assert_int_equal(f->m.queues[1].size, 16);

	/* Device-set NEEDS_RESET: config interrupt, the driver cannot clear it, notify stops. */
	virtio_mmio_needs_reset(&f->m, "test");
	assert_int_equal(rd(&f->m, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_CONFIG);
	assert_int_equal(f->irq.level, 1);
	wr(&f->m, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_CONFIG);
	assert_int_equal(f->irq.level, 0);
	wr(&f->m, VIRTIO_MMIO_STATUS, 0x0f);
	assert_true(rd(&f->m, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
	wr(&f->m, VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	assert_int_equal(f->fake.notifies, 1);

	wr(&f->m, VIRTIO_MMIO_STATUS, 0);
	assert_int_equal(f->fake.resets, 1);
	assert_int_equal(rd(&f->m, VIRTIO_MMIO_STATUS), 0);
	assert_int_equal(f->m.driver_features, 0);
	assert_int_equal(f->m.queues[1].size, 0);
	assert_false(f->m.queues[1].ready);
	wr(&f->m, VIRTIO_MMIO_QUEUE_SEL, 1);
	assert_int_equal(rd(&f->m, VIRTIO_MMIO_QUEUE_READY), 0);
}

static void test_bad_ops(void **state)
{
	struct virtio_device_ops ops = fake_ops;
	struct virtio_mmio m;
	struct error err;

	ops.queue_max = 100;
	assert_int_equal(virtio_mmio_init(&m, &ops, NULL, NULL, NULL, NULL, &err), -EINVAL);
	ops = fake_ops;
	ops.num_queues = VIRTIO_MMIO_MAX_QUEUES + 1;
	assert_int_equal(virtio_mmio_init(&m, &ops, NULL, NULL, NULL, NULL, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "fake"));
}

struct edge_log {
	unsigned edges, lows;
};

static void edge(void *opaque, int level)
{
	struct edge_log *l = opaque;

	if (level)
		l->edges++;
	else
		l->lows++;
}

/* EDGE mode: one edge when InterruptStatus leaves 0, none while it stays set, one more when an
 * ACK leaves bits the driver had not seen, never a "low". */
static void test_edge_interrupts(void **state)
{
	struct fx *f = *state;
	struct edge_log log = {0};

	virtio_mmio_set_irq(&f->m, VIRTIO_MMIO_IRQ_EDGE, edge, &log);
	bring_up(&f->m, 1, 16);
	virtio_mmio_signal_used(&f->m, 1);
	assert_int_equal(log.edges, 1);
	virtio_mmio_signal_used(&f->m, 1); /* still pending: no new edge */
	assert_int_equal(log.edges, 1);
	virtio_mmio_needs_reset(&f->m, "test"); /* CONFIG joins VRING: still no new edge */
	assert_int_equal(rd(&f->m, VIRTIO_MMIO_INTERRUPT_STATUS),
			 VIRTIO_MMIO_INT_VRING | VIRTIO_MMIO_INT_CONFIG);
	assert_int_equal(log.edges, 1);
	wr(&f->m, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING); /* CONFIG left: edge again */
	assert_int_equal(log.edges, 2);
	wr(&f->m, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_CONFIG);
	assert_int_equal(rd(&f->m, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	assert_int_equal(log.edges, 2);
	wr(&f->m, VIRTIO_MMIO_STATUS, 0);
	bring_up(&f->m, 1, 16);
	virtio_mmio_signal_used(&f->m, 1); /* from 0 again: an edge */
	assert_int_equal(log.edges, 3);
	/* The driver asked for no interrupts: none. */
	wr(&f->m, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
	f->buf[AVAIL_GPA] = VIRTQ_AVAIL_F_NO_INTERRUPT;
	virtio_mmio_signal_used(&f->m, 1);
	assert_int_equal(log.edges, 3);
	assert_int_equal(log.lows, 0);
	assert_int_equal(f->irq.changes, 0); /* the LEVEL callback was replaced */
}

/* A kick that came by eventfd gets the register's checks. */
static void test_notify_from_outside(void **state)
{
	struct fx *f = *state;

	virtio_mmio_notify(&f->m, 1); /* before DRIVER_OK */
	assert_int_equal(f->fake.notifies, 0);
	bring_up(&f->m, 1, 16);
	virtio_mmio_notify(&f->m, 0); /* not ready */
	virtio_mmio_notify(&f->m, 2); /* out of range */
	virtio_mmio_notify(&f->m, VIRTIO_MMIO_MAX_QUEUES + 7);
	assert_int_equal(f->fake.notifies, 0);
	virtio_mmio_notify(&f->m, 1);
	assert_int_equal(f->fake.notifies, 1);
	assert_int_equal(f->fake.last_queue, 1);
}

static void put_desc(uint8_t *buf, unsigned idx, uint64_t addr, uint32_t len, uint16_t flags,
		     uint16_t next)
{
	struct virtq_desc d = {.addr = addr, .len = len, .flags = flags, .next = next};

	memcpy(buf + DESC_GPA + 16 * idx, &d, sizeof(d));
}

static void test_rng(void **state)
{
	struct fx *f = *state;
	uint16_t *avail = (uint16_t *)(void *)(f->buf + AVAIL_GPA);
	const uint16_t *used = (const uint16_t *)(const void *)(f->buf + USED_GPA);
	const struct virtq_used_elem *elem = (const void *)(f->buf + USED_GPA + 4);
	static const uint8_t zero[256];
	struct virtio_rng rng;
	struct irq_log log = {0};
	struct error err;

	assert_int_equal(virtio_rng_init(&rng, &f->mem, irq, &log, &err), 0);
	assert_int_equal(rd(&rng.mmio, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_RNG);
	bring_up(&rng.mmio, 0, 8);
	/* Two writable buffers in one chain, then a readable-only chain. */
	put_desc(f->buf, 0, DATA_GPA, 256, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	put_desc(f->buf, 1, DATA_GPA + 256, 256, VIRTQ_DESC_F_WRITE, 0);
	put_desc(f->buf, 2, DATA_GPA + 1024, 16, 0, 0);
	avail[2] = 0;
	avail[3] = 2;
	avail[1] = 2;
	wr(&rng.mmio, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_int_equal(used[1], 2);
	assert_int_equal(elem[0].id, 0);
	assert_int_equal(elem[0].len, 512);
	assert_int_equal(elem[1].id, 2);
	assert_int_equal(elem[1].len, 0);
	assert_memory_not_equal(f->buf + DATA_GPA, zero, 256);
	assert_memory_not_equal(f->buf + DATA_GPA + 256, zero, 256);
	assert_memory_equal(f->buf + DATA_GPA + 1024, zero, 16);
	assert_int_equal(rng.bytes, 512);
	assert_int_equal(log.level, 1);
	assert_int_equal(rd(&rng.mmio, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_VRING);
	wr(&rng.mmio, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
	assert_int_equal(log.level, 0);

	/* A hostile chain (a loop): NEEDS_RESET, nothing used, no crash. */
	put_desc(f->buf, 3, DATA_GPA, 8, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 3);
	avail[4] = 3;
	avail[1] = 3;
	wr(&rng.mmio, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_int_equal(used[1], 2);
	assert_true(rd(&rng.mmio, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
	wr(&rng.mmio, VIRTIO_MMIO_STATUS, 0);
	assert_int_equal(rd(&rng.mmio, VIRTIO_MMIO_STATUS), 0);
	virtio_rng_destroy(&rng);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_identity, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_features, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_queue_registers, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_notify_and_reset, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_edge_interrupts, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_notify_from_outside, setup, teardown),
	    cmocka_unit_test(test_bad_ops),
	    cmocka_unit_test_setup_teardown(test_rng, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
