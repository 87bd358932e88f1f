/* test-virtio-net: the tap backend and virtio-net driven through its registers, with guest memory
 * a buffer and rings built by hand. Everything that touches the network runs in a fresh network
 * namespace per test, inside a child process (never the host's namespace): a tap made there
 * carries guest frames to an AF_PACKET socket, and the kernel's ARP reply and injected frames
 * come back into posted receive buffers. Skips when namespaces or /dev/net/tun are missing. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/ethtool.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <linux/sockios.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "vmm/iothread.h"
#include "vmm/memory.h"
#include "vmm/tap.h"
#include "vmm/virtio/mmio.h"
#include "vmm/virtio/net.h"
#include "vmm/virtio/virtq.h"

#define MEM_SIZE (1 << 20)
#define TAP_NAME "vtap0"
#define QSIZE	 16
#define RX_DATA	 0x10000
#define TX_DATA	 0x80000
#define BUF_LEN	 1536

static const uint64_t ring_gpa[2][3] = {{0x1000, 0x2000, 0x3000}, {0x4000, 0x5000, 0x6000}};
static const uint8_t guest_mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};

struct fx {
	uint8_t *buf;
	struct guest_memory mem;
	struct iothread io;
	struct tap tap;
	struct virtio_net *net;
	int pkt; /* AF_PACKET socket on the tap */
	uint16_t avail_idx[2];
};

static uint32_t rd(struct virtio_mmio *m, uint64_t off)
{
	uint32_t v = 0;

	virtio_mmio_io(m, off, (uint8_t *)&v, 4, false);
	return v;
}

static void wr(struct virtio_mmio *m, uint64_t off, uint32_t v)
{
	virtio_mmio_io(m, off, (uint8_t *)&v, 4, true);
}

/* --- the namespace and its tap --- */

static int ifreq_ioctl(unsigned long req, struct ifreq *ifr)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), r;

	if (s < 0)
		return -1;
	r = ioctl(s, req, ifr);
	close(s);
	return r;
}

static void set_addr(struct ifreq *ifr, unsigned long req, const char *ip)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)(void *)&ifr->ifr_addr;

	sin->sin_family = AF_INET;
	inet_pton(AF_INET, ip, &sin->sin_addr);
	assert_int_equal(ifreq_ioctl(req, ifr), 0);
}

/* A persistent interface (it goes with the namespace), up, 10.0.0.1/24. */
static void make_if(const char *name, short kind, int mtu)
{
	struct ifreq ifr = {.ifr_flags = (short)(kind | IFF_NO_PI)};
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);

	assert_true(fd >= 0);
	strcpy(ifr.ifr_name, name);
	assert_int_equal(ioctl(fd, TUNSETIFF, &ifr), 0);
	assert_int_equal(ioctl(fd, TUNSETPERSIST, 1), 0);
	close(fd);
	ifr.ifr_mtu = mtu;
	assert_int_equal(ifreq_ioctl(SIOCSIFMTU, &ifr), 0);
	set_addr(&ifr, SIOCSIFADDR, "10.0.0.1");
	set_addr(&ifr, SIOCSIFNETMASK, "255.255.255.0");
	assert_int_equal(ifreq_ioctl(SIOCGIFFLAGS, &ifr), 0);
	ifr.ifr_flags |= IFF_UP;
	assert_int_equal(ifreq_ioctl(SIOCSIFFLAGS, &ifr), 0);
}

/* A fresh namespace for this test, quiet (no IPv6 chatter on the tap); false: skip. */
static bool enter_netns(void)
{
	int fd;

	if (access("/dev/net/tun", R_OK | W_OK) < 0 || unshare(CLONE_NEWNET) < 0)
		return false;
	fd = open("/proc/sys/net/ipv6/conf/default/disable_ipv6", O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		assert_int_equal(write(fd, "1", 1), 1);
		close(fd);
	}
	return true;
}

static int packet_socket(const char *ifname)
{
	struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL)};
	int s = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));

	assert_true(s >= 0);
	sll.sll_ifindex = (int)if_nametoindex(ifname);
	assert_int_equal(bind(s, (struct sockaddr *)&sll, sizeof(sll)), 0);
	return s;
}

/* Receives frames on the packet socket until one of len bytes equal to want (2 s). */
static bool packet_seen(int s, const uint8_t *want, size_t len)
{
	uint8_t frame[2048];
	struct pollfd p = {.fd = s, .events = POLLIN};

	while (poll(&p, 1, 2000) == 1) {
		ssize_t n = recv(s, frame, sizeof(frame), 0);

		if (n == (ssize_t)len && !memcmp(frame, want, len))
			return true;
	}
	return false;
}

static void packet_send(int s, const uint8_t *frame, size_t len)
{
	assert_int_equal(send(s, frame, len, 0), (ssize_t)len);
}

/* --- the device and the guest driver --- */

static int setup_common(void **state, bool with_tap, int mtu)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct error err;

	assert_non_null(f);
	f->pkt = -1;
	f->tap.fd = -1;
	f->buf = aligned_alloc(4096, MEM_SIZE);
	assert_non_null(f->buf);
	memset(f->buf, 0, MEM_SIZE);
	guest_memory_init_buffer(&f->mem, f->buf, MEM_SIZE);
	assert_int_equal(iothread_init(&f->io, &err), 0);
	*state = f;
	if (!with_tap)
		return 0;
	if (!enter_netns())
		return 0; /* the test skips: f->net stays NULL */
	make_if(TAP_NAME, IFF_TAP, mtu);
	if (tap_open(&f->tap, TAP_NAME, &err) < 0)
		fail_msg("%s", err.msg);
	f->net = calloc(1, sizeof(*f->net));
	assert_non_null(f->net);
	assert_int_equal(
	    virtio_net_init(f->net, &f->mem, NULL, NULL, &f->io, &f->tap, guest_mac, &err), 0);
	f->pkt = packet_socket(TAP_NAME);
	assert_int_equal(iothread_start(&f->io, &err), 0);
	return 0;
}

static int setup(void **state)
{
	return setup_common(state, true, 1500);
}

static int setup_jumbo(void **state)
{
	return setup_common(state, true, 9000);
}

static int setup_plain(void **state)
{
	return setup_common(state, false, 0);
}

static int teardown(void **state)
{
	struct fx *f = *state;

	iothread_stop(&f->io);
	if (f->net)
		virtio_net_destroy(f->net);
	free(f->net);
	tap_close(&f->tap);
	iothread_destroy(&f->io);
	if (f->pkt >= 0)
		close(f->pkt);
	free(f->buf);
	free(f);
	return 0;
}

#define NEED_TAP(f)                                                                                \
	do {                                                                                       \
		if (!(f)->net)                                                                     \
			skip(); /* no network namespace or /dev/net/tun here */                    \
	} while (0)

static void bring_up(struct virtio_mmio *m, uint64_t features)
{
	const uint32_t s = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER;

	features |= VIRTIO_F_VERSION_1;
	wr(m, VIRTIO_MMIO_STATUS, s);
	wr(m, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(m, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)features);
	wr(m, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(m, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(features >> 32));
	wr(m, VIRTIO_MMIO_STATUS, s | VIRTIO_STATUS_FEATURES_OK);
	assert_true(rd(m, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK);
	for (unsigned q = 0; q < 2; q++) {
		wr(m, VIRTIO_MMIO_QUEUE_SEL, q);
		wr(m, VIRTIO_MMIO_QUEUE_NUM, QSIZE);
		wr(m, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)ring_gpa[q][0]);
		wr(m, VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)ring_gpa[q][1]);
		wr(m, VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)ring_gpa[q][2]);
		wr(m, VIRTIO_MMIO_QUEUE_READY, 1);
		assert_int_equal(rd(m, VIRTIO_MMIO_QUEUE_READY), 1);
	}
	wr(m, VIRTIO_MMIO_STATUS, s | VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
}

static void put_desc(struct fx *f, unsigned q, unsigned idx, uint64_t addr, uint32_t len,
		     uint16_t flags, uint16_t next)
{
	struct virtq_desc d = {.addr = addr, .len = len, .flags = flags, .next = next};

	memcpy(f->buf + ring_gpa[q][0] + 16 * idx, &d, sizeof(d));
}

/* Makes chain head available on queue q (without a notify). */
static void offer(struct fx *f, unsigned q, uint16_t head)
{
	uint16_t *avail = (uint16_t *)(void *)(f->buf + ring_gpa[q][1]);

	virtio_mmio_lock(&f->net->mmio);
	avail[2 + f->avail_idx[q] % QSIZE] = head;
	avail[1] = ++f->avail_idx[q];
	virtio_mmio_unlock(&f->net->mmio);
}

static uint16_t used_idx(struct fx *f, unsigned q)
{
	uint16_t v;

	virtio_mmio_lock(&f->net->mmio);
	memcpy(&v, f->buf + ring_gpa[q][2] + 2, 2);
	virtio_mmio_unlock(&f->net->mmio);
	return v;
}

static struct virtq_used_elem used_elem(struct fx *f, unsigned q, unsigned i)
{
	struct virtq_used_elem e;

	memcpy(&e, f->buf + ring_gpa[q][2] + 4 + 8 * (i % QSIZE), sizeof(e));
	return e;
}

/* Waits up to 2 s for the used index of q to reach want. */
static bool wait_used(struct fx *f, unsigned q, uint16_t want)
{
	for (int i = 0; i < 2000; i++) {
		if (used_idx(f, q) == want)
			return true;
		nanosleep(&(struct timespec){.tv_nsec = 1000000}, NULL);
	}
	return false;
}

static struct virtio_net_stats stats(struct fx *f)
{
	struct virtio_net_stats s;

	virtio_mmio_lock(&f->net->mmio);
	s = f->net->stats;
	virtio_mmio_unlock(&f->net->mmio);
	return s;
}

/* An ARP request from the guest (10.0.0.2, guest_mac) for 10.0.0.1, or the reply to it. */
static size_t arp(uint8_t *p, bool reply, const uint8_t *host_mac)
{
	static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	static const uint8_t guest_ip[4] = {10, 0, 0, 2}, host_ip[4] = {10, 0, 0, 1};
	static const uint8_t hdr[8] = {0, 1, 8, 0, 6, 4, 0, 1};

	memcpy(p, reply ? guest_mac : bcast, 6);
	memcpy(p + 6, reply ? host_mac : guest_mac, 6);
	p[12] = 0x08;
	p[13] = 0x06;
	memcpy(p + 14, hdr, 8);
	p[21] = reply ? 2 : 1;
	memcpy(p + 22, reply ? host_mac : guest_mac, 6);
	memcpy(p + 28, reply ? host_ip : guest_ip, 4);
	memset(p + 32, 0, 6);
	if (reply)
		memcpy(p + 32, guest_mac, 6);
	memcpy(p + 38, reply ? guest_ip : host_ip, 4);
	return 42;
}

static void host_mac(uint8_t mac[6])
{
	struct ifreq ifr = {0};

	strcpy(ifr.ifr_name, TAP_NAME);
	assert_int_equal(ifreq_ioctl(SIOCGIFHWADDR, &ifr), 0);
	memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
}

/* Transmits one frame with a zero header in chain head (one descriptor). */
static void guest_tx(struct fx *f, uint16_t head, const uint8_t *frame, size_t len)
{
	uint64_t gpa = TX_DATA + head * 0x1000ULL;

	memset(f->buf + gpa, 0, VIRTIO_NET_HDR_LEN);
	memcpy(f->buf + gpa + VIRTIO_NET_HDR_LEN, frame, len);
	put_desc(f, 1, head, gpa, (uint32_t)(VIRTIO_NET_HDR_LEN + len), 0, 0);
	offer(f, 1, head);
	wr(&f->net->mmio, VIRTIO_MMIO_QUEUE_NOTIFY, 1);
}

/* Posts n one-descriptor receive buffers of len bytes, descriptors first.., without notify. */
static void post_rx(struct fx *f, uint16_t first, unsigned n, uint32_t len)
{
	for (uint16_t i = first; i < first + n; i++) {
		put_desc(f, 0, i, RX_DATA + i * 0x2000ULL, len, VIRTQ_DESC_F_WRITE, 0);
		offer(f, 0, i);
	}
}

static const struct virtio_net_hdr *rx_hdr(struct fx *f, uint16_t desc)
{
	return (const void *)(f->buf + RX_DATA + desc * 0x2000ULL);
}

/* --- tests --- */

static void expect_open_error(const char *name, int code, const char *msg)
{
	struct tap tap;
	struct error err = {0};

	assert_int_equal(tap_open(&tap, name, &err), -code);
	assert_int_equal(tap.fd, -1);
	if (!strstr(err.msg, msg))
		fail_msg("tap_open(%s): \"%s\" lacks \"%s\"", name, err.msg, msg);
	tap_close(&tap);
}

static void test_tap_open_errors(void **state)
{
	struct fx *f = *state;
	struct tap again;
	struct error err;

	NEED_TAP(f);
	assert_int_equal(f->tap.fd >= 0, 1);
	assert_true(f->tap.offload);
	assert_string_equal(f->tap.name, TAP_NAME);
	expect_open_error("", EINVAL, "--net tap=: missing interface name");
	expect_open_error("a-name-longer-than-ifnamsiz", EINVAL, "longer than 15 bytes");
	expect_open_error("bad/name", EINVAL, "invalid character");
	expect_open_error("bad name", EINVAL, "invalid character");
	expect_open_error("..", EINVAL, "invalid interface name");
	expect_open_error("nosuch0", ENODEV, "--net tap=nosuch0: no such interface");
	expect_open_error("lo", EINVAL, "--net tap=lo: not a tap interface");
	make_if("vtun0", IFF_TUN, 1500);
	expect_open_error("vtun0", EINVAL, "not a tap interface");
	/* A single-queue tap takes one reader: ours. */
	expect_open_error(TAP_NAME, EBUSY, "already in use");
	/* Nothing was created on the way. */
	assert_int_equal(if_nametoindex("nosuch0"), 0);
	tap_close(&f->tap);
	assert_int_equal(tap_open(&again, TAP_NAME, &err), 0);
	tap_close(&again);
	tap_close(&again);
}

static void test_config(void **state)
{
	struct fx *f = *state;
	int sv[2];
	struct tap fake = {.offload = false, .name = "fake"};
	struct virtio_net *net = calloc(1, sizeof(*net));
	struct error err;
	uint64_t features;
	uint8_t cfg[12];

	assert_non_null(net);
	assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv), 0);
	fake.fd = sv[0];
	assert_int_equal(virtio_net_init(net, &f->mem, NULL, NULL, &f->io, &fake, NULL, &err), 0);
	assert_int_equal(rd(&net->mmio, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_NET);
	features = rd(&net->mmio, VIRTIO_MMIO_DEVICE_FEATURES);
	wr(&net->mmio, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	features |= (uint64_t)rd(&net->mmio, VIRTIO_MMIO_DEVICE_FEATURES) << 32;
	assert_int_equal(features, VIRTIO_F_VERSION_1 | VIRTIO_NET_F_MAC | VIRTIO_NET_F_STATUS |
				       VIRTIO_NET_F_MRG_RXBUF);
	for (unsigned i = 0; i < sizeof(cfg); i++)
		virtio_mmio_io(&net->mmio, VIRTIO_MMIO_CONFIG + i, cfg + i, 1, false);
	assert_memory_equal(cfg, net->mac, 6);
	assert_int_equal(cfg[0] & 3, 2); /* unicast, locally administered */
	assert_int_equal(cfg[6] | cfg[7] << 8, VIRTIO_NET_S_LINK_UP);
	assert_int_equal(cfg[8] | cfg[9] << 8, 1);
	assert_int_equal(cfg[10] | cfg[11], 0); /* past the end */
	virtio_net_destroy(net);

	/* With offloads: checksum and TSO both ways. */
	fake.offload = true;
	assert_int_equal(virtio_net_init(net, &f->mem, NULL, NULL, &f->io, &fake, guest_mac, &err),
			 0);
	assert_int_equal(rd(&net->mmio, VIRTIO_MMIO_DEVICE_FEATURES) &
			     (VIRTIO_NET_F_CSUM | VIRTIO_NET_F_GUEST_TSO4 | VIRTIO_NET_F_HOST_TSO6),
			 VIRTIO_NET_F_CSUM | VIRTIO_NET_F_GUEST_TSO4 | VIRTIO_NET_F_HOST_TSO6);
	assert_int_equal(rd(&net->mmio, VIRTIO_MMIO_CONFIG), 0x12005452);
	virtio_net_destroy(net);
	/* A backend fd the I/O thread cannot watch: an error, nothing left. */
	fake.fd = -1;
	assert_true(virtio_net_init(net, &f->mem, NULL, NULL, &f->io, &fake, NULL, &err) < 0);
	assert_non_null(strstr(err.msg, "virtio-net fake"));
	free(net);
	close(sv[0]);
	close(sv[1]);
}

/* Guest ARP request out through the tap; the kernel's reply back into a posted buffer. */
static void test_tx_then_rx_reply(void **state)
{
	struct fx *f = *state;
	uint8_t req[64], reply[64], hmac[6];
	const struct virtio_net_hdr *h;
	size_t len;

	NEED_TAP(f);
	bring_up(&f->net->mmio, VIRTIO_NET_F_MAC | VIRTIO_NET_F_MRG_RXBUF);
	post_rx(f, 0, 4, BUF_LEN);
	wr(&f->net->mmio, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	len = arp(req, false, NULL);
	guest_tx(f, 0, req, len);
	assert_int_equal(used_idx(f, 1), 1); /* transmitted synchronously */
	assert_int_equal(used_elem(f, 1, 0).id, 0);
	assert_true(packet_seen(f->pkt, req, len));
	assert_int_equal(stats(f).tx_frames, 1);
	assert_int_equal(stats(f).tx_bytes, len);

	assert_true(wait_used(f, 0, 1));
	host_mac(hmac);
	arp(reply, true, hmac);
	assert_int_equal(used_elem(f, 0, 0).id, 0);
	len = used_elem(f, 0, 0).len;
	assert_true(len >= VIRTIO_NET_HDR_LEN + 42);
	h = rx_hdr(f, 0);
	assert_int_equal(h->num_buffers, 1);
	assert_int_equal(h->flags, 0);
	assert_int_equal(h->gso_type, VIRTIO_NET_HDR_GSO_NONE);
	assert_memory_equal((const uint8_t *)h + VIRTIO_NET_HDR_LEN, reply, 42);
	assert_int_equal(stats(f).rx_frames, 1);
	assert_int_equal(stats(f).rx_errors + stats(f).rx_dropped, 0);
}

/* No buffer posted: nothing consumed, the tap no longer watched; a notify brings the frame. */
static void test_rx_waits_for_buffers(void **state)
{
	struct fx *f = *state;
	uint8_t frame[60], hmac[6];
	uint32_t events;

	NEED_TAP(f);
	bring_up(&f->net->mmio, VIRTIO_NET_F_MRG_RXBUF);
	host_mac(hmac);
	memcpy(frame, guest_mac, 6);
	memcpy(frame + 6, hmac, 6);
	frame[12] = 0x88;
	frame[13] = 0xb5; /* local experimental ethertype */
	for (unsigned i = 14; i < sizeof(frame); i++)
		frame[i] = (uint8_t)i;
	packet_send(f->pkt, frame, sizeof(frame));
	nanosleep(&(struct timespec){.tv_nsec = 100000000}, NULL);
	virtio_mmio_lock(&f->net->mmio);
	events = f->net->events;
	virtio_mmio_unlock(&f->net->mmio);
	assert_int_equal(events, 0);
	assert_int_equal(used_idx(f, 0), 0);
	assert_int_equal(stats(f).rx_frames, 0);

	post_rx(f, 0, 2, BUF_LEN);
	wr(&f->net->mmio, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_true(wait_used(f, 0, 1));
	assert_int_equal(used_elem(f, 0, 0).len, VIRTIO_NET_HDR_LEN + sizeof(frame));
	assert_memory_equal((const uint8_t *)rx_hdr(f, 0) + VIRTIO_NET_HDR_LEN, frame,
			    sizeof(frame));
	assert_int_equal(rx_hdr(f, 0)->num_buffers, 1);
}

/* A 9014-byte frame spans six 1536-byte buffers; the two left over stay posted. */
static void test_rx_mergeable(void **state)
{
	struct fx *f = *state;
	static uint8_t frame[9014], got[9014];
	size_t off = 0, total = 0;

	NEED_TAP(f);
	bring_up(&f->net->mmio, VIRTIO_NET_F_MRG_RXBUF);
	post_rx(f, 0, 8, BUF_LEN);
	wr(&f->net->mmio, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	memcpy(frame, guest_mac, 6);
	host_mac(frame + 6);
	frame[12] = 0x88;
	frame[13] = 0xb5;
	for (size_t i = 14; i < sizeof(frame); i++)
		frame[i] = (uint8_t)(i * 7);
	packet_send(f->pkt, frame, sizeof(frame));
	assert_true(wait_used(f, 0, 6));
	assert_int_equal(rx_hdr(f, 0)->num_buffers, 6);
	for (unsigned i = 0; i < 6; i++) {
		struct virtq_used_elem e = used_elem(f, 0, i);
		const uint8_t *p = (const uint8_t *)rx_hdr(f, (uint16_t)e.id);
		size_t skip = i == 0 ? VIRTIO_NET_HDR_LEN : 0;

		assert_int_equal(e.id, i);
		assert_true(e.len <= BUF_LEN);
		memcpy(got + off, p + skip, e.len - skip);
		off += e.len - skip;
		total += e.len;
	}
	assert_int_equal(total, VIRTIO_NET_HDR_LEN + sizeof(frame));
	assert_memory_equal(got, frame, sizeof(frame));
	/* The next frame starts in buffer 6. */
	packet_send(f->pkt, frame, 100);
	assert_true(wait_used(f, 0, 7));
	assert_int_equal(used_elem(f, 0, 6).id, 6);
	assert_int_equal(used_elem(f, 0, 6).len, VIRTIO_NET_HDR_LEN + 100);
}

/* Without MRG_RXBUF: one chain per frame (its header split across two buffers); a frame larger
 * than the chain is dropped and the chain stays posted for the next one. */
static void test_rx_single_chain(void **state)
{
	struct fx *f = *state;
	uint8_t frame[400];

	NEED_TAP(f);
	bring_up(&f->net->mmio, 0);
	put_desc(f, 0, 0, RX_DATA, 4, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	put_desc(f, 0, 1, RX_DATA + 4, 296, VIRTQ_DESC_F_WRITE, 0);
	offer(f, 0, 0);
	wr(&f->net->mmio, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	memset(frame, 0xab, sizeof(frame));
	memcpy(frame, guest_mac, 6);
	packet_send(f->pkt, frame, sizeof(frame)); /* 412 bytes with the header: too big */
	packet_send(f->pkt, frame, 100);
	assert_true(wait_used(f, 0, 1));
	assert_int_equal(stats(f).rx_dropped, 1);
	assert_int_equal(used_elem(f, 0, 0).len, VIRTIO_NET_HDR_LEN + 100);
	assert_int_equal(rx_hdr(f, 0)->num_buffers, 1);
	assert_memory_equal(f->buf + RX_DATA + VIRTIO_NET_HDR_LEN, frame, 100);
}

/* Hostile transmit chains are returned with nothing written; a split header is fine. */
static void test_tx_hostile(void **state)
{
	struct fx *f = *state;
	uint8_t frame[64];
	size_t len = arp(frame, false, NULL);
	uint8_t *p = f->buf + TX_DATA;

	NEED_TAP(f);
	bring_up(&f->net->mmio, VIRTIO_NET_F_MRG_RXBUF);
	put_desc(f, 1, 0, TX_DATA, 8, 0, 0); /* no whole header */
	/* Header split 4 + 8, then the frame: allowed. */
	memset(p + 0x100, 0, VIRTIO_NET_HDR_LEN);
	memcpy(p + 0x200, frame, len);
	put_desc(f, 1, 1, TX_DATA + 0x100, 4, VIRTQ_DESC_F_NEXT, 2);
	put_desc(f, 1, 2, TX_DATA + 0x104, 8, VIRTQ_DESC_F_NEXT, 3);
	put_desc(f, 1, 3, TX_DATA + 0x200, (uint32_t)len, 0, 0);
	put_desc(f, 1, 4, TX_DATA, 100, VIRTQ_DESC_F_WRITE, 0); /* write-only */
	put_desc(f, 1, 5, TX_DATA, 200000, 0, 0);		/* longer than any frame */
	p[0x1000] = VIRTIO_NET_HDR_F_NEEDS_CSUM;		/* CSUM not negotiated */
	put_desc(f, 1, 6, TX_DATA + 0x1000, 100, 0, 0);
	p[0x2001] = VIRTIO_NET_HDR_GSO_TCPV4; /* HOST_TSO4 not negotiated */
	put_desc(f, 1, 7, TX_DATA + 0x2000, 100, 0, 0);
	put_desc(f, 1, 8, TX_DATA + 0x3000, 12 + 13, 0, 0); /* shorter than an Ethernet header */
	for (uint16_t i = 0; i < 9; i++)
		if (i != 2 && i != 3)
			offer(f, 1, i);
	wr(&f->net->mmio, VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	assert_int_equal(used_idx(f, 1), 7);
	for (unsigned i = 0; i < 7; i++)
		assert_int_equal(used_elem(f, 1, i).len, 0);
	assert_int_equal(stats(f).tx_errors, 6);
	assert_int_equal(stats(f).tx_frames, 1);
	assert_true(packet_seen(f->pkt, frame, len));
	assert_false(rd(&f->net->mmio, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);

	/* A buffer outside guest RAM: a malformed ring, NEEDS_RESET, no crash. */
	put_desc(f, 1, 9, MEM_SIZE - 8, 0xffffffff, 0, 0);
	offer(f, 1, 9);
	wr(&f->net->mmio, VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	assert_int_equal(used_idx(f, 1), 7);
	assert_true(rd(&f->net->mmio, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
}

/* Hostile receive chains (readable, or a first one shorter than a header) come back empty; one
 * met in the middle of a frame is left for the next frame, which returns it. */
static void test_rx_hostile(void **state)
{
	struct fx *f = *state;
	uint8_t frame[60] = {0};

	NEED_TAP(f);
	bring_up(&f->net->mmio, VIRTIO_NET_F_MRG_RXBUF);
	memcpy(frame, guest_mac, 6);
	put_desc(f, 0, 0, RX_DATA, 100, 0, 0);
	put_desc(f, 0, 1, RX_DATA + 0x2000, 8, VIRTQ_DESC_F_WRITE, 0);
	offer(f, 0, 0);
	offer(f, 0, 1);
	post_rx(f, 2, 1, BUF_LEN);
	put_desc(f, 0, 3, RX_DATA + 0x6000, 100, 0, 0);
	offer(f, 0, 3);
	packet_send(f->pkt, frame, sizeof(frame));
	packet_send(f->pkt, frame, sizeof(frame));
	wr(&f->net->mmio, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_true(wait_used(f, 0, 4));
	assert_int_equal(used_elem(f, 0, 0).len, 0);
	assert_int_equal(used_elem(f, 0, 1).len, 0);
	assert_int_equal(used_elem(f, 0, 2).id, 2);
	assert_int_equal(used_elem(f, 0, 2).len, VIRTIO_NET_HDR_LEN + sizeof(frame));
	assert_int_equal(used_elem(f, 0, 3).id, 3);
	assert_int_equal(used_elem(f, 0, 3).len, 0);
	assert_int_equal(stats(f).rx_errors, 3);
	/* The second frame waited in the tap for a buffer. */
	post_rx(f, 4, 1, BUF_LEN);
	wr(&f->net->mmio, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_true(wait_used(f, 0, 5));
	assert_int_equal(used_elem(f, 0, 4).len, VIRTIO_NET_HDR_LEN + sizeof(frame));
	assert_false(rd(&f->net->mmio, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
}

/* A backend that would block (a datagram socketpair with its peer's queue full): the chain stays
 * in the ring and transmission resumes once the backend is writable. */
static void test_tx_resumes(void **state)
{
	struct fx *f = *state;
	struct tap fake = {.name = "fake"};
	uint8_t frame[64];
	size_t len = arp(frame, false, NULL);
	unsigned sent = 0;
	int sv[2];
	struct error err;

	assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv), 0);
	fake.fd = sv[0];
	assert_int_equal(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &(int){1}, sizeof(int)), 0);
	f->net = calloc(1, sizeof(*f->net));
	assert_non_null(f->net);
	assert_int_equal(
	    virtio_net_init(f->net, &f->mem, NULL, NULL, &f->io, &fake, guest_mac, &err), 0);
	assert_int_equal(iothread_start(&f->io, &err), 0);
	bring_up(&f->net->mmio, VIRTIO_NET_F_MRG_RXBUF);
	for (uint16_t i = 0; i < QSIZE; i++) {
		memset(f->buf + TX_DATA + i * 0x1000, 0, VIRTIO_NET_HDR_LEN);
		memcpy(f->buf + TX_DATA + i * 0x1000 + VIRTIO_NET_HDR_LEN, frame, len);
		put_desc(f, 1, i, TX_DATA + i * 0x1000, (uint32_t)(VIRTIO_NET_HDR_LEN + len), 0, 0);
		offer(f, 1, i);
	}
	wr(&f->net->mmio, VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	assert_true(used_idx(f, 1) < QSIZE);
	virtio_mmio_lock(&f->net->mmio);
	assert_true(f->net->tx_blocked);
	assert_true(f->net->events & EPOLLOUT);
	virtio_mmio_unlock(&f->net->mmio);
	for (int i = 0; i < 2000 && sent < QSIZE; i++) {
		uint8_t got[128];
		ssize_t n = recv(sv[1], got, sizeof(got), 0);

		if (n < 0) {
			nanosleep(&(struct timespec){.tv_nsec = 1000000}, NULL);
			continue;
		}
		assert_int_equal(n, VIRTIO_NET_HDR_LEN + len);
		assert_memory_equal(got + VIRTIO_NET_HDR_LEN, frame, len);
		sent++;
	}
	assert_int_equal(sent, QSIZE);
	assert_true(wait_used(f, 1, QSIZE));
	assert_int_equal(stats(f).tx_frames, QSIZE);
	iothread_stop(&f->io);
	virtio_net_destroy(f->net);
	free(f->net);
	f->net = NULL;
	close(sv[0]);
	close(sv[1]);
}

static int tso_enabled(void)
{
	struct ethtool_value v = {.cmd = ETHTOOL_GTSO};
	struct ifreq ifr = {.ifr_data = (void *)&v};

	strcpy(ifr.ifr_name, TAP_NAME);
	assert_int_equal(ifreq_ioctl(SIOCETHTOOL, &ifr), 0);
	return (int)v.data;
}

/* The tap's offloads follow the driver's choice once it runs, and a reset. */
static void test_offloads(void **state)
{
	struct fx *f = *state;

	NEED_TAP(f);
	assert_int_equal(tso_enabled(), 0);
	bring_up(&f->net->mmio, VIRTIO_NET_F_GUEST_CSUM | VIRTIO_NET_F_GUEST_TSO4);
	wr(&f->net->mmio, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_int_equal(tso_enabled(), 1);
	wr(&f->net->mmio, VIRTIO_MMIO_STATUS, 0);
	bring_up(&f->net->mmio, VIRTIO_NET_F_MRG_RXBUF);
	wr(&f->net->mmio, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_int_equal(tso_enabled(), 0);
}

static int run_all(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_tap_open_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_config, setup_plain, teardown),
	    cmocka_unit_test_setup_teardown(test_tx_then_rx_reply, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rx_waits_for_buffers, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rx_mergeable, setup_jumbo, teardown),
	    cmocka_unit_test_setup_teardown(test_rx_single_chain, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tx_hostile, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rx_hostile, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tx_resumes, setup_plain, teardown),
	    cmocka_unit_test_setup_teardown(test_offloads, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* The tests run in a child: each one leaves the namespace it started in for a new one. */
int main(void)
{
	pid_t pid = fork();
	int status;

	if (pid < 0)
		return 1;
	if (pid == 0)
		_exit(run_all() ? 1 : 0);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return 1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
