/* test-virtio-console: virtio-console driven through its registers, with pipes for the host
 * side and a running I/O thread: output reaches the output pipe, input reaches a posted
 * receive buffer, input with no buffer posted stays in the pipe while the watch is paused and
 * arrives after the guest's next notify, and the end of input stops the watch for good. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cmocka.h>

#include "vmm/iothread.h"
#include "vmm/memory.h"
#include "vmm/virtio/console.h"
#include "vmm/virtio/mmio.h"
#include "vmm/virtio/virtq.h"

#define MEM_SIZE (1 << 20)
#define QSIZE	 8
#define DATA_GPA 0x10000

/* Ring addresses of queue q. */
#define DESC_GPA(q)  (0x1000 + (q)*0x3000)
#define AVAIL_GPA(q) (0x2000 + (q)*0x3000)
#define USED_GPA(q)  (0x3000 + (q)*0x3000)

struct fx {
	uint8_t *buf;
	struct guest_memory mem;
	struct iothread io;
	struct virtio_console con;
	int in[2], out[2]; /* in: host -> device; out: device -> host */
	uint16_t avail_idx[2];
	unsigned irqs;
};

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

static void irq(void *opaque, int level)
{
	struct fx *f = opaque;

	if (level)
		__atomic_fetch_add(&f->irqs, 1, __ATOMIC_RELAXED);
}

static void bring_up(struct virtio_mmio *m)
{
	const uint32_t s = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER;

	wr(m, VIRTIO_MMIO_STATUS, s);
	wr(m, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(m, VIRTIO_MMIO_DRIVER_FEATURES, 1); /* VERSION_1 */
	wr(m, VIRTIO_MMIO_STATUS, s | VIRTIO_STATUS_FEATURES_OK);
	for (unsigned q = 0; q < 2; q++) {
		wr(m, VIRTIO_MMIO_QUEUE_SEL, q);
		wr(m, VIRTIO_MMIO_QUEUE_NUM, QSIZE);
		wr(m, VIRTIO_MMIO_QUEUE_DESC_LOW, DESC_GPA(q));
		wr(m, VIRTIO_MMIO_QUEUE_DRIVER_LOW, AVAIL_GPA(q));
		wr(m, VIRTIO_MMIO_QUEUE_DEVICE_LOW, USED_GPA(q));
		wr(m, VIRTIO_MMIO_QUEUE_READY, 1);
		assert_int_equal(rd(m, VIRTIO_MMIO_QUEUE_READY), 1);
	}
	wr(m, VIRTIO_MMIO_STATUS, s | VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
}

static int setup_with(void **state, bool with_io)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct error err;

	if (!f || pipe2(f->in, O_CLOEXEC) < 0 || pipe2(f->out, O_CLOEXEC) < 0)
		return -1;
	f->buf = aligned_alloc(4096, MEM_SIZE);
	if (!f->buf || iothread_init(&f->io, &err) < 0)
		return -1;
	memset(f->buf, 0, MEM_SIZE);
	guest_memory_init_buffer(&f->mem, f->buf, MEM_SIZE);
	if (virtio_console_init(&f->con, &f->mem, irq, f, with_io ? &f->io : NULL, f->in[0],
				f->out[1], &err) < 0) {
		print_error("init: %s\n", err.msg);
		return -1;
	}
	bring_up(&f->con.mmio);
	*state = f;
	return 0;
}

static int setup(void **state)
{
	return setup_with(state, true);
}

static int setup_no_io(void **state)
{
	return setup_with(state, false);
}

static int teardown(void **state)
{
	struct fx *f = *state;

	iothread_stop(&f->io);
	virtio_console_destroy(&f->con);
	iothread_destroy(&f->io);
	for (unsigned i = 0; i < 2; i++) {
		if (f->in[i] >= 0)
			close(f->in[i]);
		close(f->out[i]);
	}
	free(f->buf);
	free(f);
	return 0;
}

static uint16_t used_idx(struct fx *f, unsigned q)
{
	const uint16_t *used = (const uint16_t *)(const void *)(f->buf + USED_GPA(q));

	return __atomic_load_n(&used[1], __ATOMIC_ACQUIRE);
}

static const struct virtq_used_elem *used_elem(struct fx *f, unsigned q, uint16_t idx)
{
	return (const void *)(f->buf + USED_GPA(q) + 4 + 8 * (idx % QSIZE));
}

/* Posts a chain of n buffers starting at descriptor first of queue q (no notify). */
static void post(struct fx *f, unsigned q, unsigned first, const uint64_t *gpa, const uint32_t *len,
		 const bool *write, unsigned n)
{
	uint16_t *avail = (uint16_t *)(void *)(f->buf + AVAIL_GPA(q));

	for (unsigned i = 0; i < n; i++) {
		struct virtq_desc d = {
		    .addr = gpa[i],
		    .len = len[i],
		    .flags = (uint16_t)((write[i] ? VIRTQ_DESC_F_WRITE : 0) |
					(i + 1 < n ? VIRTQ_DESC_F_NEXT : 0)),
		    .next = (uint16_t)(first + i + 1),
		};

		memcpy(f->buf + DESC_GPA(q) + 16 * (first + i), &d, sizeof(d));
	}
	avail[2 + f->avail_idx[q] % QSIZE] = (uint16_t)first;
	__atomic_store_n(&avail[1], ++f->avail_idx[q], __ATOMIC_RELEASE);
}

static void post_rx(struct fx *f, unsigned first, uint64_t gpa, uint32_t len)
{
	const bool w = true;

	post(f, VIRTIO_CONSOLE_RX, first, &gpa, &len, &w, 1);
}

/* One readable buffer on queue q. */
static void post_tx(struct fx *f, unsigned q, unsigned first, uint64_t gpa, uint32_t len)
{
	const bool w = false;

	post(f, q, first, &gpa, &len, &w, 1);
}

static bool watching(struct fx *f)
{
	bool w;

	virtio_mmio_lock(&f->con.mmio);
	w = f->con.watching;
	virtio_mmio_unlock(&f->con.mmio);
	return w;
}

static bool in_done(struct fx *f)
{
	bool d;

	virtio_mmio_lock(&f->con.mmio);
	d = f->con.in_done;
	virtio_mmio_unlock(&f->con.mmio);
	return d;
}

/* Waits up to 5 s for the used index of the receive queue to reach idx. */
static bool wait_used(struct fx *f, uint16_t idx)
{
	for (unsigned i = 0; i < 5000; i++) {
		if (used_idx(f, VIRTIO_CONSOLE_RX) == idx)
			return true;
		usleep(1000);
	}
	return false;
}

static bool wait_paused(struct fx *f)
{
	for (unsigned i = 0; i < 5000 && watching(f); i++)
		usleep(1000);
	return !watching(f);
}

static int pending(int fd)
{
	int n = -1;

	assert_int_equal(ioctl(fd, FIONREAD, &n), 0);
	return n;
}

static void test_identity(void **state)
{
	struct fx *f = *state;
	struct virtio_mmio *m = &f->con.mmio;

	assert_int_equal(rd(m, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_CONSOLE);
	wr(m, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	assert_int_equal(rd(m, VIRTIO_MMIO_DEVICE_FEATURES), 0); /* no MULTIPORT, no SIZE */
	wr(m, VIRTIO_MMIO_QUEUE_SEL, 1);
	assert_int_equal(rd(m, VIRTIO_MMIO_QUEUE_NUM_MAX), VIRTIO_CONSOLE_QUEUE_MAX);
	wr(m, VIRTIO_MMIO_QUEUE_SEL, 2);
	assert_int_equal(rd(m, VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
}

static void test_transmit(void **state)
{
	struct fx *f = *state;
	const uint64_t gpa[] = {DATA_GPA, DATA_GPA + 0x100, DATA_GPA + 0x200};
	const uint32_t len[] = {7, 6, 16};
	const bool write[] = {false, false, true}; /* a writable buffer is ignored */
	char got[32] = {0};

	memcpy(f->buf + DATA_GPA, "hello, ", 7);
	memcpy(f->buf + DATA_GPA + 0x100, "world\n", 6);
	post(f, VIRTIO_CONSOLE_TX, 0, gpa, len, write, 3);
	wr(&f->con.mmio, VIRTIO_MMIO_QUEUE_NOTIFY, VIRTIO_CONSOLE_TX);
	assert_int_equal(used_idx(f, VIRTIO_CONSOLE_TX), 1);
	assert_int_equal(used_elem(f, VIRTIO_CONSOLE_TX, 0)->len, 0);
	assert_int_equal(read(f->out[0], got, sizeof(got)), 13);
	assert_string_equal(got, "hello, world\n");
	assert_int_equal(f->con.tx_bytes, 13);
	assert_true(f->irqs >= 1);
}

static void test_receive(void **state)
{
	struct fx *f = *state;
	struct error err;

	assert_int_equal(iothread_start(&f->io, &err), 0);
	post_rx(f, 0, DATA_GPA, 64);
	wr(&f->con.mmio, VIRTIO_MMIO_QUEUE_NOTIFY, VIRTIO_CONSOLE_RX);
	assert_int_equal(write(f->in[1], "ping", 4), 4);
	assert_true(wait_used(f, 1));
	assert_int_equal(used_elem(f, VIRTIO_CONSOLE_RX, 0)->len, 4);
	assert_memory_equal(f->buf + DATA_GPA, "ping", 4);
	assert_true(__atomic_load_n(&f->irqs, __ATOMIC_RELAXED) >= 1);

	/* The one buffer is used: more input waits in the pipe, the watch pauses. */
	assert_int_equal(write(f->in[1], "pong", 4), 4);
	assert_true(wait_paused(f));
	assert_int_equal(pending(f->in[0]), 4);
	post_rx(f, 1, DATA_GPA + 0x100, 2); /* smaller than the input: two reads */
	post_rx(f, 2, DATA_GPA + 0x200, 64);
	wr(&f->con.mmio, VIRTIO_MMIO_QUEUE_NOTIFY, VIRTIO_CONSOLE_RX);
	assert_true(wait_used(f, 3));
	assert_memory_equal(f->buf + DATA_GPA + 0x100, "po", 2);
	assert_memory_equal(f->buf + DATA_GPA + 0x200, "ng", 2);
	assert_int_equal(f->con.rx_bytes, 8);
}

static void test_no_buffer(void **state)
{
	struct fx *f = *state;
	struct error err;

	/* Input before any buffer: not consumed, the watch pauses instead of spinning. */
	assert_int_equal(write(f->in[1], "early", 5), 5);
	assert_int_equal(iothread_start(&f->io, &err), 0);
	assert_true(wait_paused(f));
	usleep(20000);
	assert_int_equal(pending(f->in[0]), 5);
	assert_int_equal(used_idx(f, VIRTIO_CONSOLE_RX), 0);

	/* A chain with no writable buffer is returned empty and does not stop the input. */
	post_tx(f, VIRTIO_CONSOLE_RX, 0, DATA_GPA + 0x300, 8);
	post_rx(f, 1, DATA_GPA, 64);
	wr(&f->con.mmio, VIRTIO_MMIO_QUEUE_NOTIFY, VIRTIO_CONSOLE_RX);
	assert_true(wait_used(f, 2));
	assert_int_equal(used_elem(f, VIRTIO_CONSOLE_RX, 0)->len, 0);
	assert_int_equal(used_elem(f, VIRTIO_CONSOLE_RX, 1)->len, 5);
	assert_memory_equal(f->buf + DATA_GPA, "early", 5);
	assert_int_equal(pending(f->in[0]), 0);
}

static void test_end_of_input(void **state)
{
	struct fx *f = *state;
	struct error err;

	post_rx(f, 0, DATA_GPA, 64);
	wr(&f->con.mmio, VIRTIO_MMIO_QUEUE_NOTIFY, VIRTIO_CONSOLE_RX);
	assert_int_equal(iothread_start(&f->io, &err), 0);
	close(f->in[1]);
	f->in[1] = -1;
	for (unsigned i = 0; i < 5000 && !in_done(f); i++)
		usleep(1000);
	assert_true(in_done(f));
	assert_false(watching(f));
	/* A later notify does not bring the watch back. */
	wr(&f->con.mmio, VIRTIO_MMIO_QUEUE_NOTIFY, VIRTIO_CONSOLE_RX);
	assert_false(watching(f));
	assert_int_equal(f->con.rx_bytes, 0);
}

static void test_no_input(void **state)
{
	struct fx *f = *state;
	char got[4] = {0};

	assert_false(watching(f));
	post_rx(f, 0, DATA_GPA + 0x100, 64);
	wr(&f->con.mmio, VIRTIO_MMIO_QUEUE_NOTIFY, VIRTIO_CONSOLE_RX);
	assert_false(watching(f));
	assert_int_equal(used_idx(f, VIRTIO_CONSOLE_RX), 0);
	memcpy(f->buf + DATA_GPA, "abc", 3); /* output still works */
	post_tx(f, VIRTIO_CONSOLE_TX, 0, DATA_GPA, 3);
	wr(&f->con.mmio, VIRTIO_MMIO_QUEUE_NOTIFY, VIRTIO_CONSOLE_TX);
	assert_int_equal(read(f->out[0], got, 3), 3);
	assert_string_equal(got, "abc");
}

static void test_bad_input_fd(void **state)
{
	struct virtio_console con;
	struct iothread io;
	struct error err;
	int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);

	/* epoll cannot watch a regular file: an init error, not a silent console. */
	assert_int_equal(iothread_init(&io, &err), 0);
	assert_true(fd >= 0);
	assert_true(virtio_console_init(&con, NULL, NULL, NULL, &io, fd, -1, &err) < 0);
	assert_non_null(strstr(err.msg, "virtio-console input"));
	virtio_console_destroy(&con);
	close(fd);
	iothread_destroy(&io);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_identity, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_transmit, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_receive, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_no_buffer, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_end_of_input, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_no_input, setup_no_io, teardown),
	    cmocka_unit_test(test_bad_input_fd),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
