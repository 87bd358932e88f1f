/* test-virtio-vsock: the virtio-vsock device driven like a guest driver would (rings hand-built
 * in a guest-memory buffer, registers through virtio_mmio_io), with the I/O thread running and
 * real Unix sockets on the host side. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "vmm/iothread.h"
#include "vmm/memory.h"
#include "vmm/virtio/mmio.h"
#include "vmm/virtio/virtq.h"
#include "vmm/virtio/vsock.h"

#define MEM_SIZE   (4 << 20)
#define QSIZE	   64
#define RX_DESC	   0x1000
#define RX_AVAIL   0x2000
#define RX_USED	   0x3000
#define TX_DESC	   0x4000
#define TX_AVAIL   0x5000
#define TX_USED	   0x6000
#define TX_HDR	   0x8000  /* 44-byte headers, 64 bytes apart */
#define RX_DATA	   0x10000 /* QSIZE buffers of RX_BUF bytes */
#define RX_BUF	   4096
#define TX_PAYLOAD 0x100000 /* one 64 KiB payload area */
#define GUEST_CID  3
#define WAIT_MS	   5000
#define HDR	   VIRTIO_VSOCK_HDR_SIZE

struct guest {
	uint8_t *buf;
	struct guest_memory mem;
	struct iothread io;
	struct virtio_vsock vs;
	char dir[64];
	char path[128];
	uint16_t rx_avail, rx_seen, tx_avail;
	uint32_t buf_alloc, fwd_cnt; /* what the guest advertises */
	unsigned irqs;
	bool hold_rx; /* received buffers are not posted again */
};

struct pkt {
	struct virtio_vsock_hdr h;
	uint16_t id; /* the rx buffer it came in */
	uint8_t data[RX_BUF];
};

static void irq(void *opaque, int level)
{
	struct guest *g = opaque;

	g->irqs += level;
}

static uint32_t rd(struct guest *g, uint64_t off)
{
	uint32_t v = 0;

	virtio_mmio_io(&g->vs.mmio, off, (uint8_t *)&v, 4, false);
	return v;
}

static void wr(struct guest *g, uint64_t off, uint32_t v)
{
	virtio_mmio_io(&g->vs.mmio, off, (uint8_t *)&v, 4, true);
}

static uint16_t *ring16(struct guest *g, uint64_t gpa)
{
	return (uint16_t *)(void *)(g->buf + gpa);
}

static void put_desc(struct guest *g, uint64_t table, unsigned idx, uint64_t addr, uint32_t len,
		     uint16_t flags, uint16_t next)
{
	struct virtq_desc d = {.addr = addr, .len = len, .flags = flags, .next = next};

	memcpy(g->buf + table + 16 * idx, &d, sizeof(d));
}

static void setup_queue(struct guest *g, unsigned q, uint64_t desc, uint64_t avail, uint64_t used)
{
	wr(g, VIRTIO_MMIO_QUEUE_SEL, q);
	assert_int_equal(rd(g, VIRTIO_MMIO_QUEUE_NUM_MAX), VIRTIO_VSOCK_QUEUE_MAX);
	wr(g, VIRTIO_MMIO_QUEUE_NUM, QSIZE);
	wr(g, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)desc);
	wr(g, VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)avail);
	wr(g, VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)used);
	wr(g, VIRTIO_MMIO_QUEUE_READY, 1);
	assert_int_equal(rd(g, VIRTIO_MMIO_QUEUE_READY), 1);
}

/* Makes the rx buffer with descriptor id available again. */
static void post_rx(struct guest *g, uint16_t id)
{
	uint16_t *avail = ring16(g, RX_AVAIL);

	avail[2 + g->rx_avail % QSIZE] = id;
	g->rx_avail++;
	__atomic_store_n(&avail[1], g->rx_avail, __ATOMIC_RELEASE);
}

/* The driver's steps to DRIVER_OK; posts nrx rx buffers. */
static void bring_up(struct guest *g, unsigned nrx)
{
	const uint32_t s = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER;
	uint64_t cid = 0;

	assert_int_equal(rd(g, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_VSOCK);
	virtio_mmio_io(&g->vs.mmio, VIRTIO_MMIO_CONFIG, (uint8_t *)&cid, 8, false);
	assert_int_equal(cid, GUEST_CID);
	wr(g, VIRTIO_MMIO_STATUS, s);
	wr(g, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(g, VIRTIO_MMIO_DRIVER_FEATURES, 1); /* VERSION_1 */
	wr(g, VIRTIO_MMIO_STATUS, s | VIRTIO_STATUS_FEATURES_OK);
	setup_queue(g, VIRTIO_VSOCK_RX, RX_DESC, RX_AVAIL, RX_USED);
	setup_queue(g, VIRTIO_VSOCK_TX, TX_DESC, TX_AVAIL, TX_USED);
	wr(g, VIRTIO_MMIO_STATUS, s | VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
	for (unsigned i = 0; i < QSIZE; i++)
		put_desc(g, RX_DESC, i, RX_DATA + i * RX_BUF, RX_BUF, VIRTQ_DESC_F_WRITE, 0);
	for (uint16_t i = 0; i < nrx; i++)
		post_rx(g, i);
	wr(g, VIRTIO_MMIO_QUEUE_NOTIFY, VIRTIO_VSOCK_RX);
}

static int setup(void **state)
{
	struct guest *g = calloc(1, sizeof(*g));
	struct error err;

	if (!g)
		return -1;
	g->buf = aligned_alloc(4096, MEM_SIZE);
	if (!g->buf)
		return -1;
	memset(g->buf, 0, MEM_SIZE);
	guest_memory_init_buffer(&g->mem, g->buf, MEM_SIZE);
	strcpy(g->dir, "/tmp/test-vsock-XXXXXX");
	if (!mkdtemp(g->dir))
		return -1;
	snprintf(g->path, sizeof(g->path), "%s/v.sock", g->dir);
	if (iothread_init(&g->io, &err) < 0 ||
	    virtio_vsock_init(&g->vs, &g->mem, irq, g, &g->io, GUEST_CID, g->path, &err) < 0 ||
	    iothread_start(&g->io, &err) < 0) {
		fprintf(stderr, "setup: %s\n", err.msg);
		return -1;
	}
	g->buf_alloc = 64 * 1024;
	bring_up(g, QSIZE);
	*state = g;
	return 0;
}

static int teardown(void **state)
{
	struct guest *g = *state;
	char p[160];

	iothread_stop(&g->io);
	virtio_vsock_destroy(&g->vs);
	iothread_destroy(&g->io);
	assert_int_equal(access(g->path, F_OK), -1); /* the socket file is gone */
	snprintf(p, sizeof(p), "%s_5000", g->path);
	unlink(p);
	rmdir(g->dir);
	free(g->buf);
	free(g);
	return 0;
}

static struct virtio_vsock_hdr ghdr(struct guest *g, uint16_t op, uint32_t src_port,
				    uint32_t dst_port, uint32_t len)
{
	return (struct virtio_vsock_hdr){
	    .src_cid = GUEST_CID,
	    .dst_cid = VIRTIO_VSOCK_HOST_CID,
	    .src_port = src_port,
	    .dst_port = dst_port,
	    .len = len,
	    .type = VIRTIO_VSOCK_TYPE_STREAM,
	    .op = op,
	    .buf_alloc = g->buf_alloc,
	    .fwd_cnt = g->fwd_cnt,
	};
}

/* Puts raw (hlen bytes) and then payload (plen bytes, in a second buffer) on the tx queue. */
static void send_raw(struct guest *g, const void *raw, size_t hlen, const void *payload,
		     size_t plen)
{
	unsigned slot = g->tx_avail % (QSIZE / 2);
	uint64_t hgpa = TX_HDR + slot * 64;
	uint16_t *avail = ring16(g, TX_AVAIL);
	uint16_t used_before = ring16(g, TX_USED)[1];

	memcpy(g->buf + hgpa, raw, hlen);
	put_desc(g, TX_DESC, 2 * slot, hgpa, (uint32_t)hlen, plen ? VIRTQ_DESC_F_NEXT : 0,
		 (uint16_t)(2 * slot + 1));
	if (plen) {
		memcpy(g->buf + TX_PAYLOAD, payload, plen);
		put_desc(g, TX_DESC, 2 * slot + 1, TX_PAYLOAD, (uint32_t)plen, 0, 0);
	}
	avail[2 + g->tx_avail % QSIZE] = (uint16_t)(2 * slot);
	g->tx_avail++;
	avail[1] = g->tx_avail;
	wr(g, VIRTIO_MMIO_QUEUE_NOTIFY, VIRTIO_VSOCK_TX);
	assert_int_equal(ring16(g, TX_USED)[1], (uint16_t)(used_before + 1)); /* consumed now */
}

static void send_pkt(struct guest *g, const struct virtio_vsock_hdr *h, const void *payload)
{
	uint8_t raw[HDR];

	virtio_vsock_hdr_pack(h, raw);
	send_raw(g, raw, sizeof(raw), payload, h->len);
}

static void send_op(struct guest *g, uint16_t op, uint32_t src_port, uint32_t dst_port)
{
	struct virtio_vsock_hdr h = ghdr(g, op, src_port, dst_port, 0);

	send_pkt(g, &h, NULL);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t le(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	while (n--)
		v = v << 8 | p[n];
	return v;
}

static void unpack(const uint8_t *b, struct virtio_vsock_hdr *h)
{
	*h = (struct virtio_vsock_hdr){
	    .src_cid = le(b, 8),
	    .dst_cid = le(b + 8, 8),
	    .src_port = (uint32_t)le(b + 16, 4),
	    .dst_port = (uint32_t)le(b + 20, 4),
	    .len = (uint32_t)le(b + 24, 4),
	    .type = (uint16_t)le(b + 28, 2),
	    .op = (uint16_t)le(b + 30, 2),
	    .flags = (uint32_t)le(b + 32, 4),
	    .buf_alloc = (uint32_t)le(b + 36, 4),
	    .fwd_cnt = (uint32_t)le(b + 40, 4),
	};
}

/* Waits up to ms for the next packet on rx; re-posts its buffer. */
static bool recv_pkt_wait(struct guest *g, struct pkt *p, int ms)
{
	const uint16_t *used = ring16(g, RX_USED);
	const struct virtq_used_elem *elem = (const void *)(g->buf + RX_USED + 4);
	int64_t end = now_ms() + ms;
	uint32_t id, len;

	while (__atomic_load_n(&used[1], __ATOMIC_ACQUIRE) == g->rx_seen) {
		if (now_ms() > end)
			return false;
		usleep(500);
	}
	id = elem[g->rx_seen % QSIZE].id;
	len = elem[g->rx_seen % QSIZE].len;
	g->rx_seen++;
	assert_true(id < QSIZE);
	assert_true(len >= HDR && len <= RX_BUF);
	unpack(g->buf + RX_DATA + id * RX_BUF, &p->h);
	assert_int_equal(p->h.len, len - HDR);
	memcpy(p->data, g->buf + RX_DATA + id * RX_BUF + HDR, len - HDR);
	assert_int_equal(p->h.src_cid, VIRTIO_VSOCK_HOST_CID);
	assert_int_equal(p->h.dst_cid, GUEST_CID);
	assert_int_equal(p->h.type, VIRTIO_VSOCK_TYPE_STREAM);
	p->id = (uint16_t)id;
	if (!g->hold_rx) {
		post_rx(g, (uint16_t)id);
		wr(g, VIRTIO_MMIO_QUEUE_NOTIFY, VIRTIO_VSOCK_RX);
	}
	return true;
}

static void recv_pkt(struct guest *g, struct pkt *p)
{
	assert_true(recv_pkt_wait(g, p, WAIT_MS));
}

static void expect_op(struct guest *g, struct pkt *p, uint16_t op, uint32_t src, uint32_t dst)
{
	recv_pkt(g, p);
	assert_int_equal(p->h.op, op);
	assert_int_equal(p->h.src_port, src);
	assert_int_equal(p->h.dst_port, dst);
}

static unsigned nconns(struct guest *g)
{
	unsigned n;

	virtio_mmio_lock(&g->vs.mmio);
	n = g->vs.nconns;
	virtio_mmio_unlock(&g->vs.mmio);
	return n;
}

static void wait_nconns(struct guest *g, unsigned want)
{
	int64_t end = now_ms() + WAIT_MS;

	while (nconns(g) != want && now_ms() < end)
		usleep(1000);
	assert_int_equal(nconns(g), want);
}

static int host_socket(void)
{
	struct timeval tv = {.tv_sec = WAIT_MS / 1000};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

static int host_connect(const char *path)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int fd = host_socket();

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

static int host_listen(const char *path)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int fd = host_socket();

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fd, 4096), 0);
	return fd;
}

static void host_write(int fd, const void *p, size_t n)
{
	assert_int_equal(write(fd, p, n), (ssize_t)n);
}

/* Reads exactly n bytes (or fails on timeout/EOF). */
static void host_read(int fd, void *p, size_t n)
{
	size_t done = 0;

	while (done < n) {
		ssize_t r = read(fd, (uint8_t *)p + done, n - done);

		assert_true(r > 0);
		done += (size_t)r;
	}
}

static void host_expect_eof(int fd)
{
	char c;

	assert_int_equal(read(fd, &c, 1), 0);
}

/* EOF, or ECONNRESET when the device closed with our bytes unread. */
static void host_expect_closed(int fd)
{
	char c;
	ssize_t r = read(fd, &c, 1);

	assert_true(r == 0 || (r < 0 && errno == ECONNRESET));
}

/* Host program connects with "CONNECT port"; the guest accepts. Returns the host fd. */
static int host_initiated(struct guest *g, uint32_t port, uint32_t *ret_host_port)
{
	int fd = host_connect(g->path);
	char line[32], want[32];
	struct pkt p;

	snprintf(line, sizeof(line), "CONNECT %u\n", port);
	host_write(fd, line, strlen(line));
	recv_pkt(g, &p);
	assert_int_equal(p.h.op, VIRTIO_VSOCK_OP_REQUEST);
	assert_int_equal(p.h.dst_port, port);
	assert_true(p.h.src_port >= VIRTIO_VSOCK_HOST_PORT_FIRST);
	assert_int_equal(p.h.buf_alloc, VIRTIO_VSOCK_CONN_BUF);
	send_op(g, VIRTIO_VSOCK_OP_RESPONSE, port, p.h.src_port);
	snprintf(want, sizeof(want), "OK %u\n", p.h.src_port);
	memset(line, 0, sizeof(line));
	host_read(fd, line, strlen(want));
	assert_string_equal(line, want);
	*ret_host_port = p.h.src_port;
	return fd;
}

static void test_host_to_guest(void **state)
{
	struct guest *g = *state;
	struct virtio_vsock_hdr h;
	uint32_t hp;
	int fd = host_initiated(g, 1234, &hp);
	struct pkt p;
	char buf[8] = {0};

	host_write(fd, "hello", 5);
	expect_op(g, &p, VIRTIO_VSOCK_OP_RW, hp, 1234);
	assert_int_equal(p.h.len, 5);
	assert_memory_equal(p.data, "hello", 5);

	h = ghdr(g, VIRTIO_VSOCK_OP_RW, 1234, hp, 5);
	send_pkt(g, &h, "world");
	host_read(fd, buf, 5);
	assert_string_equal(buf, "world");

	/* The host program closes: SHUTDOWN (no more sending or receiving); the guest's RST
	 * ends the connection. */
	close(fd);
	expect_op(g, &p, VIRTIO_VSOCK_OP_SHUTDOWN, hp, 1234);
	assert_int_equal(p.h.flags, VIRTIO_VSOCK_SHUTDOWN_RCV | VIRTIO_VSOCK_SHUTDOWN_SEND);
	assert_int_equal(nconns(g), 1);
	send_op(g, VIRTIO_VSOCK_OP_RST, 1234, hp);
	wait_nconns(g, 0);
	assert_true(g->irqs > 0);
	assert_false(recv_pkt_wait(g, &p, 50));
}

static void test_host_refused(void **state)
{
	struct guest *g = *state;
	int fd = host_connect(g->path);
	struct pkt p;
	int fd2;

	host_write(fd, "CONNECT 99\n", 11);
	recv_pkt(g, &p);
	assert_int_equal(p.h.op, VIRTIO_VSOCK_OP_REQUEST);
	send_op(g, VIRTIO_VSOCK_OP_RST, 99, p.h.src_port); /* nobody listens in the guest */
	host_expect_eof(fd);
	close(fd);
	wait_nconns(g, 0);

	/* Not a CONNECT line: closed without bothering the guest. */
	fd2 = host_connect(g->path);
	host_write(fd2, "HELLO 1\n", 8);
	host_expect_closed(fd2);
	close(fd2);
	fd2 = host_connect(g->path);
	host_write(fd2, "CONNECT 123456789012345678901234567890", 38);
	host_expect_closed(fd2);
	close(fd2);
	assert_false(recv_pkt_wait(g, &p, 50));
	wait_nconns(g, 0);
}

static void test_guest_to_host(void **state)
{
	struct guest *g = *state;
	char path[160], buf[8] = {0};
	struct virtio_vsock_hdr h;
	struct pkt p;
	int lfd, fd;

	snprintf(path, sizeof(path), "%s_5000", g->path);
	lfd = host_listen(path);
	send_op(g, VIRTIO_VSOCK_OP_REQUEST, 7000, 5000);
	expect_op(g, &p, VIRTIO_VSOCK_OP_RESPONSE, 5000, 7000);
	assert_int_equal(p.h.buf_alloc, VIRTIO_VSOCK_CONN_BUF);
	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	assert_true(fd >= 0);

	h = ghdr(g, VIRTIO_VSOCK_OP_RW, 7000, 5000, 4);
	send_pkt(g, &h, "ping");
	host_read(fd, buf, 4);
	assert_string_equal(buf, "ping");
	host_write(fd, "pong", 4);
	expect_op(g, &p, VIRTIO_VSOCK_OP_RW, 5000, 7000);
	assert_memory_equal(p.data, "pong", 4);

	/* Nothing listens on port 5001. */
	send_op(g, VIRTIO_VSOCK_OP_REQUEST, 7001, 5001);
	expect_op(g, &p, VIRTIO_VSOCK_OP_RST, 5001, 7001);

	/* The guest closes: its RST answer, and EOF for the host. */
	h = ghdr(g, VIRTIO_VSOCK_OP_SHUTDOWN, 7000, 5000, 0);
	h.flags = VIRTIO_VSOCK_SHUTDOWN_RCV | VIRTIO_VSOCK_SHUTDOWN_SEND;
	send_pkt(g, &h, NULL);
	expect_op(g, &p, VIRTIO_VSOCK_OP_RST, 5000, 7000);
	host_expect_eof(fd);
	close(fd);
	wait_nconns(g, 0);

	/* A guest RST closes the host side too. */
	send_op(g, VIRTIO_VSOCK_OP_REQUEST, 7002, 5000);
	expect_op(g, &p, VIRTIO_VSOCK_OP_RESPONSE, 5000, 7002);
	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	send_op(g, VIRTIO_VSOCK_OP_RST, 7002, 5000);
	host_expect_eof(fd);
	close(fd);
	close(lfd);
	wait_nconns(g, 0);
}

/* Receives RW packets for the connection until none comes for 100 ms; returns the bytes. */
static size_t drain_rw(struct guest *g, uint32_t hp, uint8_t *out)
{
	size_t total = 0;
	struct pkt p;

	while (recv_pkt_wait(g, &p, 100)) {
		assert_int_equal(p.h.op, VIRTIO_VSOCK_OP_RW);
		assert_int_equal(p.h.src_port, hp);
		memcpy(out + total, p.data, p.h.len);
		total += p.h.len;
	}
	return total;
}

static void test_credit(void **state)
{
	struct guest *g = *state;
	static uint8_t data[3000], got[3000];
	struct pkt p;
	uint32_t hp;
	int fd;

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7);
	g->buf_alloc = 100;
	fd = host_initiated(g, 80, &hp);
	host_write(fd, data, sizeof(data));
	assert_int_equal(drain_rw(g, hp, got), 100); /* never more than buf_alloc */

	/* The guest consumed 100: 100 more. */
	g->fwd_cnt = 100;
	send_op(g, VIRTIO_VSOCK_OP_CREDIT_UPDATE, 80, hp);
	assert_int_equal(drain_rw(g, hp, got + 100), 100);

	/* A hostile fwd_cnt ahead of what was sent gives no extra credit. */
	g->fwd_cnt = 100000;
	g->buf_alloc = 0;
	send_op(g, VIRTIO_VSOCK_OP_CREDIT_UPDATE, 80, hp);
	assert_false(recv_pkt_wait(g, &p, 100));

	/* A bigger window: the rest, in order. */
	g->fwd_cnt = 200;
	g->buf_alloc = 1 << 20;
	send_op(g, VIRTIO_VSOCK_OP_CREDIT_UPDATE, 80, hp);
	assert_int_equal(drain_rw(g, hp, got + 200), sizeof(data) - 200);
	assert_memory_equal(got, data, sizeof(data));

	/* CREDIT_REQUEST: our buf_alloc and what we forwarded (nothing yet). */
	send_op(g, VIRTIO_VSOCK_OP_CREDIT_REQUEST, 80, hp);
	expect_op(g, &p, VIRTIO_VSOCK_OP_CREDIT_UPDATE, hp, 80);
	assert_int_equal(p.h.buf_alloc, VIRTIO_VSOCK_CONN_BUF);
	assert_int_equal(p.h.fwd_cnt, 0);
	close(fd);
}

/* Resets the device and brings it up again with only nrx rx buffers. */
static void restart(struct guest *g, unsigned nrx)
{
	wr(g, VIRTIO_MMIO_STATUS, 0);
	assert_int_equal(rd(g, VIRTIO_MMIO_STATUS), 0);
	memset(g->buf, 0, 0x10000); /* the rings */
	g->rx_avail = g->rx_seen = g->tx_avail = 0;
	bring_up(g, nrx);
}

/* With no rx buffer posted, socket data and control packets wait; posting buffers resumes. */
static void test_rx_starved(void **state)
{
	struct guest *g = *state;
	static uint8_t data[10000], got[10000];
	struct pkt p, a, b;
	uint32_t hp;
	size_t n;
	int fd;

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 13);
	restart(g, 2);
	g->buf_alloc = 1 << 20;
	fd = host_initiated(g, 82, &hp);
	g->hold_rx = true;
	host_write(fd, data, sizeof(data));
	recv_pkt(g, &a);
	recv_pkt(g, &b);
	assert_int_equal(a.h.op, VIRTIO_VSOCK_OP_RW);
	assert_int_equal(b.h.op, VIRTIO_VSOCK_OP_RW);
	n = a.h.len + b.h.len;
	assert_int_equal(n, 2 * (RX_BUF - HDR));
	memcpy(got, a.data, a.h.len);
	memcpy(got + a.h.len, b.data, b.h.len);
	assert_false(recv_pkt_wait(g, &p, 100));
	/* A RST owed meanwhile waits too. */
	send_op(g, VIRTIO_VSOCK_OP_RW, 9, 9);
	assert_false(recv_pkt_wait(g, &p, 20));

	g->hold_rx = false;
	post_rx(g, a.id);
	post_rx(g, b.id);
	wr(g, VIRTIO_MMIO_QUEUE_NOTIFY, VIRTIO_VSOCK_RX);
	expect_op(g, &p, VIRTIO_VSOCK_OP_RST, 9, 9);
	n += drain_rw(g, hp, got + n);
	assert_int_equal(n, sizeof(data));
	assert_memory_equal(got, data, sizeof(data));

	/* A device reset ends the connection for the host too. */
	wr(g, VIRTIO_MMIO_STATUS, 0);
	host_expect_eof(fd);
	close(fd);
	wait_nconns(g, 0);
}

static void test_guest_overrun(void **state)
{
	struct guest *g = *state;
	static uint8_t big[VIRTIO_VSOCK_MAX_PAYLOAD];
	struct virtio_vsock_hdr h;
	bool rst = false;
	char path[160];
	struct pkt p;
	int lfd, fd;

	snprintf(path, sizeof(path), "%s_5000", g->path);
	lfd = host_listen(path);
	send_op(g, VIRTIO_VSOCK_OP_REQUEST, 7100, 5000);
	expect_op(g, &p, VIRTIO_VSOCK_OP_RESPONSE, 5000, 7100);
	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	assert_true(fd >= 0);
	/* The host never reads and the guest ignores its credit: the device holds at most
	 * VIRTIO_VSOCK_CONN_BUF, then resets the connection. */
	h = ghdr(g, VIRTIO_VSOCK_OP_RW, 7100, 5000, sizeof(big));
	for (unsigned i = 0; i < 200 && !rst; i++) {
		send_pkt(g, &h, big);
		while (!rst && recv_pkt_wait(g, &p, 0)) {
			rst = p.h.op == VIRTIO_VSOCK_OP_RST;
			if (!rst)
				assert_int_equal(p.h.op, VIRTIO_VSOCK_OP_CREDIT_UPDATE);
		}
	}
	assert_true(rst);
	assert_int_equal(p.h.src_port, 5000);
	assert_int_equal(p.h.dst_port, 7100);
	close(fd);
	close(lfd);
	wait_nconns(g, 0);
}

static void send_hdr(struct guest *g, struct virtio_vsock_hdr h, size_t plen)
{
	static const uint8_t payload[64];
	uint8_t raw[HDR];

	virtio_vsock_hdr_pack(&h, raw);
	send_raw(g, raw, sizeof(raw), payload, plen);
}

static void test_hostile(void **state)
{
	struct guest *g = *state;
	struct virtio_vsock_hdr h = ghdr(g, VIRTIO_VSOCK_OP_RW, 100, 200, 0);
	static const uint32_t rst_from[] = {1, 2, 3, 4, 5, 6, 7, 8, 1u << 30, 9};
	uint16_t *avail = ring16(g, TX_AVAIL);
	uint8_t raw[HDR];
	struct pkt p;

	virtio_vsock_hdr_pack(&h, raw);
	/* Dropped: short header, spoofed source, another destination, RST for nothing. */
	send_raw(g, raw, 20, NULL, 0);
	h.src_cid = 4;
	send_hdr(g, h, 0);
	h.src_cid = GUEST_CID;
	h.dst_cid = GUEST_CID;
	send_hdr(g, h, 0);
	h.dst_cid = (uint64_t)1 << 32 | VIRTIO_VSOCK_HOST_CID;
	send_hdr(g, h, 0);
	send_hdr(g, ghdr(g, VIRTIO_VSOCK_OP_RST, 100, 201, 0), 0);
	h = ghdr(g, VIRTIO_VSOCK_OP_RST, 100, 201, 1 << 30);
	send_hdr(g, h, 0);
	assert_false(recv_pkt_wait(g, &p, 20));

	/* Answered RST, and no state: huge len, len beyond the buffers, unknown ops, another
	 * type, packets for no connection. */
	send_hdr(g, ghdr(g, VIRTIO_VSOCK_OP_RW, 100, 1, 0xffffffff), 0);
	send_hdr(g, ghdr(g, VIRTIO_VSOCK_OP_RW, 100, 2, 64), 10);
	send_hdr(g, ghdr(g, 99, 100, 3, 0), 0);
	send_hdr(g, ghdr(g, VIRTIO_VSOCK_OP_INVALID, 100, 4, 0), 0);
	h = ghdr(g, VIRTIO_VSOCK_OP_REQUEST, 100, 5, 0);
	h.type = 2; /* SEQPACKET */
	send_hdr(g, h, 0);
	send_hdr(g, ghdr(g, VIRTIO_VSOCK_OP_RW, 100, 6, 64), 64);
	send_hdr(g, ghdr(g, VIRTIO_VSOCK_OP_CREDIT_UPDATE, 100, 7, 0), 0);
	send_hdr(g, ghdr(g, VIRTIO_VSOCK_OP_SHUTDOWN, 100, 8, 0), 0);
	send_hdr(g, ghdr(g, VIRTIO_VSOCK_OP_RESPONSE, 100, 1u << 30, 0), 0);
	/* A header split across two buffers still parses. */
	h = ghdr(g, VIRTIO_VSOCK_OP_RW, 100, 9, 0);
	virtio_vsock_hdr_pack(&h, raw);
	send_raw(g, raw, 20, raw + 20, HDR - 20);
	for (size_t i = 0; i < sizeof(rst_from) / sizeof(rst_from[0]); i++)
		expect_op(g, &p, VIRTIO_VSOCK_OP_RST, rst_from[i], 100);
	assert_false(recv_pkt_wait(g, &p, 20));
	assert_int_equal(nconns(g), 0);

	/* A looping tx chain: NEEDS_RESET, and the device keeps working after a reset. */
	put_desc(g, TX_DESC, 0, TX_HDR, HDR, VIRTQ_DESC_F_NEXT, 0);
	avail[2 + g->tx_avail % QSIZE] = 0;
	avail[1] = ++g->tx_avail;
	wr(g, VIRTIO_MMIO_QUEUE_NOTIFY, VIRTIO_VSOCK_TX);
	assert_true(rd(g, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
	restart(g, QSIZE);
	send_hdr(g, ghdr(g, VIRTIO_VSOCK_OP_RW, 100, 11, 0), 0);
	expect_op(g, &p, VIRTIO_VSOCK_OP_RST, 11, 100);
}

static void test_conn_cap(void **state)
{
	struct guest *g = *state;
	struct rlimit rl;
	char path[160];
	struct pkt p;
	int lfd;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_max < 2 * VIRTIO_VSOCK_MAX_CONNS + 64)
		skip();
	rl.rlim_cur = rl.rlim_max;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
	snprintf(path, sizeof(path), "%s_5000", g->path);
	lfd = host_listen(path);
	for (uint32_t i = 0; i <= VIRTIO_VSOCK_MAX_CONNS; i++) {
		send_op(g, VIRTIO_VSOCK_OP_REQUEST, 10000 + i, 5000);
		expect_op(g, &p,
			  i < VIRTIO_VSOCK_MAX_CONNS ? VIRTIO_VSOCK_OP_RESPONSE
						     : VIRTIO_VSOCK_OP_RST,
			  5000, 10000 + i);
	}
	assert_int_equal(nconns(g), VIRTIO_VSOCK_MAX_CONNS);
	/* A second REQUEST for a live connection resets it. */
	send_op(g, VIRTIO_VSOCK_OP_REQUEST, 10000, 5000);
	expect_op(g, &p, VIRTIO_VSOCK_OP_RST, 5000, 10000);
	wait_nconns(g, VIRTIO_VSOCK_MAX_CONNS - 1);
	close(lfd);
}

static void test_parse(void **state)
{
	struct virtio_vsock_hdr h = {
	    .src_cid = GUEST_CID,
	    .dst_cid = VIRTIO_VSOCK_HOST_CID,
	    .src_port = 0x01020304,
	    .dst_port = 0x05060708,
	    .len = 4,
	    .type = VIRTIO_VSOCK_TYPE_STREAM,
	    .op = VIRTIO_VSOCK_OP_RW,
	    .flags = 0x11,
	    .buf_alloc = 0x22,
	    .fwd_cnt = 0x33,
	};
	uint8_t raw[HDR + 4], again[HDR];
	struct virtio_vsock_hdr out;
	struct iovec iov[3] = {{raw, 1}, {raw + 1, 30}, {raw + 31, HDR + 4 - 31}};

	virtio_vsock_hdr_pack(&h, raw);
	assert_int_equal(raw[16], 0x04); /* little endian */
	assert_int_equal(virtio_vsock_parse(iov, 3, GUEST_CID, &out), VIRTIO_VSOCK_PKT_OK);
	virtio_vsock_hdr_pack(&out, again);
	assert_memory_equal(again, raw, HDR);
	assert_int_equal(out.fwd_cnt, 0x33);
	assert_int_equal(virtio_vsock_parse(iov, 0, GUEST_CID, &out), VIRTIO_VSOCK_PKT_DROP);
	iov[2].iov_len = HDR - 31; /* the payload is missing */
	assert_int_equal(virtio_vsock_parse(iov, 3, GUEST_CID, &out), VIRTIO_VSOCK_PKT_RST);
	assert_int_equal(virtio_vsock_parse(iov, 3, GUEST_CID + 1, &out), VIRTIO_VSOCK_PKT_DROP);
}

static void test_init_errors(void **state)
{
	char dir[] = "/tmp/test-vsock-XXXXXX", path[128], longp[200];
	struct guest_memory mem = {0};
	struct virtio_vsock vs;
	struct iothread io;
	struct error err;
	int fd;

	assert_non_null(mkdtemp(dir));
	assert_int_equal(iothread_init(&io, &err), 0);
	snprintf(path, sizeof(path), "%s/s", dir);
	assert_int_equal(virtio_vsock_init(&vs, &mem, NULL, NULL, &io, 2, path, &err), -EINVAL);
	assert_int_equal(virtio_vsock_init(&vs, &mem, NULL, NULL, &io, UINT32_MAX, path, &err),
			 -EINVAL);
	memset(longp, 'a', sizeof(longp) - 1);
	longp[sizeof(longp) - 1] = '\0';
	assert_int_equal(virtio_vsock_init(&vs, &mem, NULL, NULL, &io, 3, longp, &err),
			 -ENAMETOOLONG);

	/* A regular file is in the way: an error naming it, and the file stays. */
	fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	close(fd);
	assert_int_equal(virtio_vsock_init(&vs, &mem, NULL, NULL, &io, 3, path, &err), -EEXIST);
	assert_non_null(strstr(err.msg, path));
	assert_int_equal(access(path, F_OK), 0);
	unlink(path);

	/* A live listener: refused. */
	fd = host_listen(path);
	assert_int_equal(virtio_vsock_init(&vs, &mem, NULL, NULL, &io, 3, path, &err), -EADDRINUSE);
	assert_non_null(strstr(err.msg, path));
	close(fd);
	/* Now a stale socket file: replaced; removed at destroy. */
	assert_int_equal(virtio_vsock_init(&vs, &mem, NULL, NULL, &io, 3, path, &err), 0);
	fd = host_connect(path);
	close(fd);
	virtio_vsock_destroy(&vs);
	assert_int_equal(access(path, F_OK), -1);
	iothread_destroy(&io);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse),
	    cmocka_unit_test(test_init_errors),
	    cmocka_unit_test_setup_teardown(test_host_to_guest, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_host_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_guest_to_host, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_credit, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rx_starved, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_guest_overrun, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_hostile, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_conn_cap, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
