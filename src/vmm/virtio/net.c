/* virtio_net: virtio-net over a tap; see net.h. */
#include "vmm/virtio/net.h"

#include <endian.h>
#include <errno.h>
#include <linux/if_tun.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <unistd.h>

#include "util/log.h"

#define OFFLOAD_FEATURES                                                                           \
	(VIRTIO_NET_F_CSUM | VIRTIO_NET_F_GUEST_CSUM | VIRTIO_NET_F_GUEST_TSO4 |                   \
	 VIRTIO_NET_F_GUEST_TSO6 | VIRTIO_NET_F_GUEST_ECN | VIRTIO_NET_F_HOST_TSO4 |               \
	 VIRTIO_NET_F_HOST_TSO6 | VIRTIO_NET_F_HOST_ECN)
#define BASE_FEATURES (VIRTIO_NET_F_MAC | VIRTIO_NET_F_STATUS | VIRTIO_NET_F_MRG_RXBUF)
#define RX_BUDGET     64 /* frames per wakeup, so one busy tap cannot hold the lock for long */

/* Copies the first len bytes of an iovec array out / in; the caller checked they are there. */
static void iov_out(const struct iovec *iov, void *buf, size_t len)
{
	uint8_t *p = buf;

	for (size_t n; len; iov++, p += n, len -= n) {
		n = iov->iov_len < len ? iov->iov_len : len;
		memcpy(p, iov->iov_base, n);
	}
}

static void iov_in(const struct iovec *iov, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	for (size_t n; len; iov++, p += n, len -= n) {
		n = iov->iov_len < len ? iov->iov_len : len;
		memcpy(iov->iov_base, p, n);
	}
}

static bool has(const struct virtio_net *net, uint64_t feature)
{
	return net->mmio.driver_features & feature;
}

static bool running(const struct virtio_mmio *m)
{
	return (m->status & VIRTIO_STATUS_DRIVER_OK) && !(m->status & VIRTIO_STATUS_NEEDS_RESET);
}

/* Gives the last n popped chains back to the ring: they are popped again, checked again. */
static void unpop(struct virtq *q, unsigned n)
{
	q->last_avail_idx = (uint16_t)(q->last_avail_idx - n);
}

static int check_gso(const struct virtio_net_hdr *h, uint64_t f, struct error *err)
{
	uint8_t gso = h->gso_type & ~VIRTIO_NET_HDR_GSO_ECN;

	if ((h->gso_type & VIRTIO_NET_HDR_GSO_ECN) && !(f & VIRTIO_NET_F_HOST_ECN))
		return error_set(err, EINVAL, "ECN segmentation not negotiated");
	if (gso == VIRTIO_NET_HDR_GSO_NONE ||
	    (gso == VIRTIO_NET_HDR_GSO_TCPV4 && (f & VIRTIO_NET_F_HOST_TSO4)) ||
	    (gso == VIRTIO_NET_HDR_GSO_TCPV6 && (f & VIRTIO_NET_F_HOST_TSO6)))
		return 0;
	return error_set(err, EINVAL, "segmentation type %u not negotiated", h->gso_type);
}

int virtio_net_tx_check(const struct virtq_chain *c, uint64_t features, struct error *err)
{
	struct virtio_net_hdr h;

	if (c->read_len < VIRTIO_NET_HDR_LEN)
		return error_set(err, EINVAL, "transmit chain of %llu bytes has no header",
				 (unsigned long long)c->read_len);
	if (c->read_len - VIRTIO_NET_HDR_LEN < VIRTIO_NET_FRAME_MIN ||
	    c->read_len - VIRTIO_NET_HDR_LEN > VIRTIO_NET_FRAME_MAX)
		return error_set(err, EINVAL, "transmit frame of %llu bytes",
				 (unsigned long long)(c->read_len - VIRTIO_NET_HDR_LEN));
	iov_out(c->iov, &h, VIRTIO_NET_HDR_LEN);
	if (h.flags & ~VIRTIO_NET_HDR_F_NEEDS_CSUM)
		return error_set(err, EINVAL, "header flags %#x", h.flags);
	if ((h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) && !(features & VIRTIO_NET_F_CSUM))
		return error_set(err, EINVAL, "checksum offload not negotiated");
	if (check_gso(&h, features, err) < 0)
		return -EINVAL;
	return (int)c->nread;
}

static void update_events(struct virtio_net *net)
{
	uint32_t want = (net->rx_wanted ? EPOLLIN : 0) | (net->tx_blocked ? EPOLLOUT : 0);
	struct error err;

	if (net->tap_gone || want == net->events)
		return;
	if (iothread_modify(net->io, &net->watch, want, &err) < 0)
		log_debug("virtio-net %s: %s", net->tap->name, err.msg);
	else
		net->events = want;
}

/* The guest's offloads take effect on the tap once it runs (not while it negotiates). */
static void sync_offload(struct virtio_net *net)
{
	uint64_t f = net->mmio.driver_features;
	unsigned tun = 0;
	struct error err;

	if (net->offload_synced || !net->tap->offload || !running(&net->mmio))
		return;
	net->offload_synced = true;
	if (f & VIRTIO_NET_F_GUEST_CSUM) {
		tun = TUN_F_CSUM;
		tun |= (f & VIRTIO_NET_F_GUEST_TSO4) ? TUN_F_TSO4 : 0;
		tun |= (f & VIRTIO_NET_F_GUEST_TSO6) ? TUN_F_TSO6 : 0;
		tun |= (f & VIRTIO_NET_F_GUEST_ECN) ? TUN_F_TSO_ECN : 0;
	}
	if (tap_set_offload(net->tap, tun, &err) < 0)
		log_debug("virtio-net: %s", err.msg);
}

/* 0: sent or dropped (the chain goes back), -EAGAIN: the tap would block. */
static int tx_one(struct virtio_net *net, const struct virtq_chain *c)
{
	struct error err;
	ssize_t n;
	int niov = virtio_net_tx_check(c, net->mmio.driver_features, &err);

	if (niov < 0) {
		net->stats.tx_errors++;
		return 0;
	}
	do
		n = writev(net->tap->fd, c->iov, niov);
	while (n < 0 && errno == EINTR);
	if (n < 0 && errno == EAGAIN)
		return -EAGAIN;
	if (n < 0) {
		net->stats.tx_dropped++; /* the tap refused it: down, or a header it rejects */
		return 0;
	}
	net->stats.tx_frames++;
	net->stats.tx_bytes += c->read_len - VIRTIO_NET_HDR_LEN;
	return 0;
}

static void tx_process(struct virtio_net *net)
{
	struct virtio_mmio *m = &net->mmio;
	struct virtq *q = virtio_mmio_queue(m, VIRTIO_NET_TXQ);
	bool pushed = false;
	struct error err;

	if (!running(m) || !q->ready)
		return;
	for (unsigned i = 0; i < q->size && !net->tx_blocked; i++) {
		int r = virtq_pop(q, m->mem, &net->chain, &err);

		if (r == 0)
			break;
		if (r > 0 && tx_one(net, &net->chain) == -EAGAIN) {
			unpop(q, 1);
			net->tx_blocked = true;
			break;
		}
		if (r > 0)
			r = virtq_push(q, m->mem, net->chain.head, 0, &err);
		if (r < 0) {
			virtio_mmio_needs_reset(m, err.msg);
			break;
		}
		pushed = true;
	}
	if (pushed)
		virtio_mmio_signal_used(m, VIRTIO_NET_TXQ);
}

/* Whether a popped chain can take (the first part of) a frame. */
static bool rx_usable(const struct virtq_chain *c, bool first)
{
	return c->nread == 0 && (!first || c->write_len >= VIRTIO_NET_HDR_LEN);
}

static void rx_add(struct virtio_net_rx *rx, const struct virtq_chain *c)
{
	memcpy(rx->iov + rx->niov, c->iov, c->nwrite * sizeof(c->iov[0]));
	rx->niov += c->nwrite;
	rx->head[rx->nchains] = c->head;
	rx->cap[rx->nchains] = (uint32_t)c->write_len; /* <= VIRTQ_CHAIN_MAX_BYTES */
	rx->nchains++;
	rx->total += c->write_len;
}

/* Pops posted chains into net->rx until they hold the largest frame (one chain without
 * MRG_RXBUF). Returns the number gathered (0: none posted) or -errno for a malformed ring. */
static int rx_gather(struct virtio_net *net, struct virtq *q, struct error *err)
{
	struct virtio_net_rx *rx = &net->rx;
	struct virtq_chain *c = &net->chain;
	bool mrg = has(net, VIRTIO_NET_F_MRG_RXBUF);
	unsigned max = mrg ? VIRTIO_NET_RX_CHAINS_MAX : 1;
	uint64_t want = VIRTIO_NET_HDR_LEN + VIRTIO_NET_FRAME_MAX;

	rx->niov = rx->nchains = 0;
	rx->total = 0;
	for (unsigned i = 0; i < q->size && rx->nchains < max && rx->total < want; i++) {
		int r = virtq_pop(q, net->mmio.mem, c, err);

		if (r <= 0)
			return r < 0 ? r : (int)rx->nchains;
		if (!rx_usable(c, rx->nchains == 0) && rx->nchains == 0) {
			net->stats.rx_errors++;
			r = virtq_push(q, net->mmio.mem, c->head, 0, err);
			if (r < 0)
				return r;
			continue;
		}
		if (!rx_usable(c, false) || rx->niov + c->nwrite >= VIRTIO_NET_RX_IOV_MAX) {
			unpop(q, 1); /* the first chain of the next frame */
			break;
		}
		rx_add(rx, c);
	}
	return (int)rx->nchains;
}

/* Hands the n bytes read (n <= rx->total) to the driver in as many chains as they fill. */
static int rx_complete(struct virtio_net *net, struct virtq *q, size_t n, struct error *err)
{
	struct virtio_net_rx *rx = &net->rx;
	struct virtio_net_hdr h;
	unsigned used = 0;
	size_t left = n;

	while (left && used < rx->nchains) {
		left -= left < rx->cap[used] ? left : rx->cap[used];
		used++;
	}
	unpop(q, rx->nchains - used);
	iov_out(rx->iov, &h, VIRTIO_NET_HDR_LEN);
	h.num_buffers = htole16((uint16_t)used);
	if (!has(net, VIRTIO_NET_F_GUEST_CSUM))
		h.flags = 0; /* the tap may say DATA_VALID; the driver did not ask */
	iov_in(rx->iov, &h, VIRTIO_NET_HDR_LEN);
	left = n;
	for (unsigned i = 0; i < used; i++) {
		uint32_t len = left < rx->cap[i] ? (uint32_t)left : rx->cap[i];
		int r = virtq_push(q, net->mmio.mem, rx->head[i], len, err);

		if (r < 0)
			return r;
		left -= len;
	}
	net->stats.rx_frames++;
	net->stats.rx_bytes += n - VIRTIO_NET_HDR_LEN;
	return 0;
}

/* 1: a frame was handled (delivered or dropped), 0: stop for now (the tap is empty, or no
 * buffer is posted), -errno: the ring is malformed. */
static int rx_one(struct virtio_net *net, struct virtq *q, struct error *err)
{
	struct virtio_net_rx *rx = &net->rx;
	ssize_t n;
	int r = rx_gather(net, q, err);

	if (r <= 0) {
		net->rx_wanted = false; /* none posted: wait for the driver's notify */
		return r;
	}
	rx->iov[rx->niov] = (struct iovec){.iov_base = &rx->spill, .iov_len = 1};
	do
		n = readv(net->tap->fd, rx->iov, (int)rx->niov + 1);
	while (n < 0 && errno == EINTR);
	if (n >= VIRTIO_NET_HDR_LEN + VIRTIO_NET_FRAME_MIN && (uint64_t)n <= rx->total) {
		r = rx_complete(net, q, (size_t)n, err);
		return r < 0 ? r : 1;
	}
	unpop(q, rx->nchains);
	if (n >= 0) {
		net->stats.rx_dropped++; /* it did not fit, or is not even an Ethernet header */
		return 1;
	}
	if (errno != EAGAIN) {
		net->stats.rx_errors++;
		net->rx_wanted = false; /* not the guest's doing; try again on its next notify */
	}
	return 0;
}

static void rx_process(struct virtio_net *net)
{
	struct virtio_mmio *m = &net->mmio;
	struct virtq *q = virtio_mmio_queue(m, VIRTIO_NET_RXQ);
	struct error err;
	uint16_t used;

	if (!running(m) || !q->ready) {
		net->rx_wanted = false;
		return;
	}
	sync_offload(net);
	used = q->used_idx;
	for (unsigned i = 0; i < RX_BUDGET; i++) {
		int r = rx_one(net, q, &err);

		if (r < 0)
			virtio_mmio_needs_reset(m, err.msg);
		if (r <= 0)
			break;
	}
	if (q->used_idx != used)
		virtio_mmio_signal_used(m, VIRTIO_NET_RXQ);
}

/* The tap is readable or writable (on the I/O thread). */
static void tap_ready(void *opaque, uint32_t events)
{
	struct virtio_net *net = opaque;

	virtio_mmio_lock(&net->mmio);
	if (events & (EPOLLERR | EPOLLHUP)) {
		iothread_remove(net->io, &net->watch); /* level-triggered: it would fire forever */
		net->tap_gone = true;
		log_debug("virtio-net %s: the tap failed; no longer watched", net->tap->name);
	} else {
		if (events & EPOLLOUT) {
			net->tx_blocked = false;
			tx_process(net);
		}
		if (events & EPOLLIN)
			rx_process(net);
		update_events(net);
	}
	virtio_mmio_unlock(&net->mmio);
}

static void net_notify(struct virtio_mmio *m, unsigned queue)
{
	struct virtio_net *net = m->dev;

	sync_offload(net);
	if (queue == VIRTIO_NET_TXQ)
		tx_process(net);
	net->rx_wanted = true; /* buffers may have been posted; if not, one wakeup says so */
	update_events(net);
}

static void net_config_read(struct virtio_mmio *m, uint32_t off, uint8_t *data, uint32_t len)
{
	const struct virtio_net *net = m->dev;
	uint8_t cfg[VIRTIO_NET_CONFIG_SIZE];
	uint16_t status = htole16(VIRTIO_NET_S_LINK_UP), pairs = htole16(1);

	memcpy(cfg, net->mac, 6);
	memcpy(cfg + 6, &status, 2);
	memcpy(cfg + 8, &pairs, 2);
	memcpy(data, cfg + off, len);
}

static void net_reset(struct virtio_mmio *m)
{
	struct virtio_net *net = m->dev;

	net->offload_synced = false;
	net->tx_blocked = false;
	net->rx_wanted = true;
	update_events(net);
}

#define NET_OPS(feat)                                                                              \
	{                                                                                          \
		.name = "virtio-net", .device_id = VIRTIO_ID_NET, .features = (feat),              \
		.num_queues = 2, .queue_max = VIRTIO_NET_QUEUE_MAX,                                \
		.config_size = VIRTIO_NET_CONFIG_SIZE, .config_read = net_config_read,             \
		.notify = net_notify, .reset = net_reset,                                          \
	}

static const struct virtio_device_ops net_ops = NET_OPS(BASE_FEATURES);
static const struct virtio_device_ops net_offload_ops = NET_OPS(BASE_FEATURES | OFFLOAD_FEATURES);

static int random_mac(uint8_t mac[6], struct error *err)
{
	if (getrandom(mac, 6, 0) != 6)
		return error_errno(err, "virtio-net: getrandom");
	mac[0] = (uint8_t)((mac[0] & ~0x01) | 0x02); /* unicast, locally administered */
	return 0;
}

int virtio_net_init(struct virtio_net *net, const struct guest_memory *mem, virtio_mmio_irq_fn *irq,
		    void *irq_opaque, struct iothread *io, const struct tap *tap,
		    const uint8_t *mac, struct error *err)
{
	const struct virtio_device_ops *ops = tap->offload ? &net_offload_ops : &net_ops;
	int r;

	memset(net, 0, sizeof(*net));
	net->tap = tap;
	net->io = io;
	net->rx_wanted = true;
	net->events = EPOLLIN;
	if (mac)
		memcpy(net->mac, mac, 6);
	else if ((r = random_mac(net->mac, err)) < 0)
		return r;
	r = virtio_mmio_init(&net->mmio, ops, net, mem, irq, irq_opaque, err);
	if (r < 0)
		return r;
	r = iothread_add(io, &net->watch, tap->fd, EPOLLIN, tap_ready, net, err);
	if (r < 0) {
		virtio_mmio_destroy(&net->mmio);
		return error_wrap(err, "virtio-net %s", tap->name);
	}
	return 0;
}

void virtio_net_destroy(struct virtio_net *net)
{
	if (!net->mmio.ops)
		return;
	if (!net->tap_gone)
		iothread_remove(net->io, &net->watch);
	virtio_mmio_destroy(&net->mmio);
}
