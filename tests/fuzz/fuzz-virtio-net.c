/* fuzz-virtio-net: virtio-net's transmit checks and receive buffer gathering on guest-written
 * rings, with a datagram socketpair in place of the tap.
 *
 * Input: a 16-byte header, then the contents of a 64 KiB guest RAM. Header: [0] driver feature
 * choices (bit 0 MRG_RXBUF, 1 CSUM, 2 HOST_TSO4, 3 HOST_TSO6, 4 HOST_ECN, 5 GUEST_CSUM, 6 the
 * backend claims offloads), [1] queue sizes (log2, receive in the low nibble, transmit in the
 * high), [2..13] the six ring offsets (le16: rx desc, avail, used, then tx), [14] frames to
 * inject (low 3 bits), [15] their length scale. Every transmit chain virtio_net_tx_check()
 * accepts must satisfy its contract, every frame that reaches the socket must carry a header the
 * features allow, and nothing may crash, hang or touch memory outside guest RAM.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vmm/iothread.h"
#include "vmm/memory.h"
#include "vmm/tap.h"
#include "vmm/virtio/mmio.h"
#include "vmm/virtio/net.h"
#include "vmm/virtio/virtq.h"

#define RAM_SIZE (64 * 1024)
#define HDR	 16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint64_t features(uint8_t b)
{
	static const uint64_t bits[] = {VIRTIO_NET_F_MRG_RXBUF, VIRTIO_NET_F_CSUM,
					VIRTIO_NET_F_HOST_TSO4, VIRTIO_NET_F_HOST_TSO6,
					VIRTIO_NET_F_HOST_ECN,	VIRTIO_NET_F_GUEST_CSUM};
	uint64_t f = VIRTIO_F_VERSION_1;

	for (unsigned i = 0; i < sizeof(bits) / sizeof(bits[0]); i++)
		if (b & (1u << i))
			f |= bits[i];
	return f;
}

/* The header of an accepted frame obeys the negotiated features. */
static void check_hdr(const uint8_t *h, uint64_t f)
{
	uint8_t gso = h[1] & ~VIRTIO_NET_HDR_GSO_ECN;

	if ((h[0] & ~VIRTIO_NET_HDR_F_NEEDS_CSUM) || (h[0] && !(f & VIRTIO_NET_F_CSUM)))
		abort();
	if ((h[1] & VIRTIO_NET_HDR_GSO_ECN) && !(f & VIRTIO_NET_F_HOST_ECN))
		abort();
	if (gso != VIRTIO_NET_HDR_GSO_NONE &&
	    !(gso == VIRTIO_NET_HDR_GSO_TCPV4 && (f & VIRTIO_NET_F_HOST_TSO4)) &&
	    !(gso == VIRTIO_NET_HDR_GSO_TCPV6 && (f & VIRTIO_NET_F_HOST_TSO6)))
		abort();
}

/* The pure check on every chain of a private copy of the transmit queue. */
static void check_tx_chains(struct virtq q, const struct guest_memory *mem, uint64_t f)
{
	static struct virtq_chain c;
	struct error err;
	uint8_t h[VIRTIO_NET_HDR_LEN];

	for (unsigned i = 0; i < q.size; i++) {
		int r = virtq_pop(&q, mem, &c, &err);

		if (r <= 0)
			return;
		r = virtio_net_tx_check(&c, f, &err);
		if (r < 0)
			continue;
		if ((unsigned)r != c.nread ||
		    c.read_len < VIRTIO_NET_HDR_LEN + VIRTIO_NET_FRAME_MIN ||
		    c.read_len > VIRTIO_NET_HDR_LEN + VIRTIO_NET_FRAME_MAX)
			abort();
		for (size_t got = 0, k = 0; got < sizeof(h); k++) {
			size_t n =
			    c.iov[k].iov_len < sizeof(h) - got ? c.iov[k].iov_len : sizeof(h) - got;
			memcpy(h + got, c.iov[k].iov_base, n);
			got += n;
		}
		check_hdr(h, f);
	}
}

static void wr(struct virtio_mmio *m, uint64_t off, uint32_t v)
{
	virtio_mmio_io(m, off, (uint8_t *)&v, 4, true);
}

static void bring_up(struct virtio_mmio *m, uint64_t f, const uint8_t *hdr)
{
	const uint32_t s = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER;

	wr(m, VIRTIO_MMIO_STATUS, s);
	wr(m, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)f);
	wr(m, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(m, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(f >> 32));
	wr(m, VIRTIO_MMIO_STATUS, s | VIRTIO_STATUS_FEATURES_OK);
	for (unsigned q = 0; q < 2; q++) {
		wr(m, VIRTIO_MMIO_QUEUE_SEL, q);
		wr(m, VIRTIO_MMIO_QUEUE_NUM, 1u << ((q ? hdr[1] >> 4 : hdr[1] & 15) % 9));
		wr(m, VIRTIO_MMIO_QUEUE_DESC_LOW, le16(hdr + 2 + 6 * q));
		wr(m, VIRTIO_MMIO_QUEUE_DRIVER_LOW, le16(hdr + 4 + 6 * q));
		wr(m, VIRTIO_MMIO_QUEUE_DEVICE_LOW, le16(hdr + 6 + 6 * q));
		wr(m, VIRTIO_MMIO_QUEUE_READY, 1);
	}
	wr(m, VIRTIO_MMIO_STATUS, s | VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
}

/* Runs what the I/O thread would: the handlers of the fds that are ready now. */
static void pump(struct iothread *io)
{
	struct epoll_event evs[4];

	for (int round = 0; round < 8; round++) {
		int n = epoll_wait(io->epfd, evs, 4, 0);

		if (n <= 0)
			return;
		for (int i = 0; i < n; i++) {
			struct iothread_watch *w = evs[i].data.ptr;

			if (w)
				w->fn(w->opaque, evs[i].events);
		}
	}
}

/* Reads what the device transmitted; each frame passed the checks. */
static void drain(int fd, uint64_t f)
{
	static uint8_t buf[VIRTIO_NET_HDR_LEN + VIRTIO_NET_FRAME_MAX + 1];
	ssize_t n;

	while ((n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) >= 0) {
		if (n < VIRTIO_NET_HDR_LEN + VIRTIO_NET_FRAME_MIN ||
		    n > VIRTIO_NET_HDR_LEN + VIRTIO_NET_FRAME_MAX)
			abort();
		check_hdr(buf, f);
	}
}

static void inject(int fd, const uint8_t *hdr, const uint8_t *ram)
{
	for (unsigned i = 0; i < (hdr[14] & 7u); i++) {
		size_t len = ((size_t)hdr[15] * (i + 1) * 97) % (RAM_SIZE - 1) + 1;

		(void)send(fd, ram, len, MSG_DONTWAIT);
	}
}

static void run(const struct guest_memory *mem, const uint8_t *hdr, int sv[2])
{
	static struct virtio_net net;
	struct tap tap = {.fd = sv[0], .offload = hdr[0] & 0x40, .name = "fuzz"};
	uint64_t f = features(hdr[0]);
	struct iothread io;
	struct error err;

	if (iothread_init(&io, &err) < 0 ||
	    virtio_net_init(&net, mem, NULL, NULL, &io, &tap, NULL, &err) < 0) {
		iothread_destroy(&io);
		return;
	}
	bring_up(&net.mmio, f, hdr);
	f = net.mmio.driver_features;
	if (net.mmio.queues[VIRTIO_NET_TXQ].ready)
		check_tx_chains(net.mmio.queues[VIRTIO_NET_TXQ], mem, f);
	inject(sv[1], hdr, mem->base);
	wr(&net.mmio, VIRTIO_MMIO_QUEUE_NOTIFY, VIRTIO_NET_RXQ);
	wr(&net.mmio, VIRTIO_MMIO_QUEUE_NOTIFY, VIRTIO_NET_TXQ);
	for (int i = 0; i < 4; i++) {
		drain(sv[1], f);
		pump(&io);
	}
	drain(sv[1], f);
	virtio_net_destroy(&net);
	iothread_destroy(&io);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct guest_memory mem;
	uint8_t *ram;
	int sv[2];

	if (size < HDR)
		return 0;
	ram = aligned_alloc(4096, RAM_SIZE);
	if (!ram)
		return 0;
	memset(ram, 0, RAM_SIZE);
	memcpy(ram, data + HDR, size - HDR < RAM_SIZE ? size - HDR : RAM_SIZE);
	guest_memory_init_buffer(&mem, ram, RAM_SIZE);
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0) {
		run(&mem, data, sv);
		close(sv[0]);
		close(sv[1]);
	}
	free(ram);
	return 0;
}
