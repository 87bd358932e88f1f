/* vsock: virtio-vsock on the MMIO transport: packets, queues and the listening socket; the
 * connections are in vsock-conn.c. See vsock.h. */
#include "vmm/virtio/vsock.h"

#include <endian.h>
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/log.h"
#include "vmm/virtio/vsock-conn.h"

#define ACCEPT_BATCH 16 /* connections accepted per listening-socket event */

unsigned vsock_iov_slice(const struct iovec *iov, unsigned n, size_t off, size_t len,
			 struct iovec *out)
{
	unsigned k = 0;

	for (unsigned i = 0; i < n && len; i++) {
		size_t take;

		if (off >= iov[i].iov_len) {
			off -= iov[i].iov_len;
			continue;
		}
		take = iov[i].iov_len - off < len ? iov[i].iov_len - off : len;
		out[k++] = (struct iovec){(uint8_t *)iov[i].iov_base + off, take};
		len -= take;
		off = 0;
	}
	return k;
}

/* Copies the first len bytes of iov[0, n) (fewer when shorter) to dst; returns the count. */
static size_t iov_read(const struct iovec *iov, unsigned n, uint8_t *dst, size_t len)
{
	size_t done = 0;

	for (unsigned i = 0; i < n && done < len; i++) {
		size_t take = iov[i].iov_len < len - done ? iov[i].iov_len : len - done;

		memcpy(dst + done, iov[i].iov_base, take);
		done += take;
	}
	return done;
}

static uint16_t get16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return le16toh(v);
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return le32toh(v);
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return le64toh(v);
}

static void put(uint8_t *p, uint64_t v, unsigned bytes)
{
	for (unsigned i = 0; i < bytes; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

void virtio_vsock_hdr_pack(const struct virtio_vsock_hdr *h, uint8_t *out)
{
	put(out, h->src_cid, 8);
	put(out + 8, h->dst_cid, 8);
	put(out + 16, h->src_port, 4);
	put(out + 20, h->dst_port, 4);
	put(out + 24, h->len, 4);
	put(out + 28, h->type, 2);
	put(out + 30, h->op, 2);
	put(out + 32, h->flags, 4);
	put(out + 36, h->buf_alloc, 4);
	put(out + 40, h->fwd_cnt, 4);
}

enum virtio_vsock_verdict virtio_vsock_parse(const struct iovec *iov, unsigned niov,
					     uint64_t guest_cid, struct virtio_vsock_hdr *ret_hdr)
{
	uint8_t b[VIRTIO_VSOCK_HDR_SIZE];
	struct virtio_vsock_hdr *h = ret_hdr;
	uint64_t total = 0;
	bool bad;

	for (unsigned i = 0; i < niov; i++)
		total += iov[i].iov_len;
	/* Copied once: the guest may rewrite the ring while we look. */
	if (iov_read(iov, niov, b, sizeof(b)) < sizeof(b))
		return VIRTIO_VSOCK_PKT_DROP;
	*h = (struct virtio_vsock_hdr){
	    .src_cid = get64(b),
	    .dst_cid = get64(b + 8),
	    .src_port = get32(b + 16),
	    .dst_port = get32(b + 20),
	    .len = get32(b + 24),
	    .type = get16(b + 28),
	    .op = get16(b + 30),
	    .flags = get32(b + 32),
	    .buf_alloc = get32(b + 36),
	    .fwd_cnt = get32(b + 40),
	};
	/* A spoofed source or a packet for another host has nobody we could answer. */
	if (h->src_cid != guest_cid || h->dst_cid != VIRTIO_VSOCK_HOST_CID)
		return VIRTIO_VSOCK_PKT_DROP;
	bad = h->type != VIRTIO_VSOCK_TYPE_STREAM || h->op == VIRTIO_VSOCK_OP_INVALID ||
	      h->op >= VIRTIO_VSOCK_OP_MAX || h->len > VIRTIO_VSOCK_MAX_PAYLOAD ||
	      h->len > total - VIRTIO_VSOCK_HDR_SIZE;
	if (!bad)
		return VIRTIO_VSOCK_PKT_OK;
	return h->op == VIRTIO_VSOCK_OP_RST ? VIRTIO_VSOCK_PKT_DROP : VIRTIO_VSOCK_PKT_RST;
}

/* rx queue */

void vsock_queue_rst(struct virtio_vsock *vs, uint32_t local_port, uint32_t peer_port)
{
	if (vs->rst_len == VIRTIO_VSOCK_RST_QUEUE)
		return; /* the guest is not reading; its side times out */
	vs->rst[(vs->rst_head + vs->rst_len++) % VIRTIO_VSOCK_RST_QUEUE] =
	    (struct vsock_rst){local_port, peer_port};
}

static void take_rst(struct virtio_vsock *vs, struct virtio_vsock_hdr *h)
{
	struct vsock_rst r = vs->rst[vs->rst_head];

	vs->rst_head = (vs->rst_head + 1) % VIRTIO_VSOCK_RST_QUEUE;
	vs->rst_len--;
	*h = (struct virtio_vsock_hdr){
	    .src_cid = VIRTIO_VSOCK_HOST_CID,
	    .dst_cid = vs->guest_cid,
	    .src_port = r.local_port,
	    .dst_port = r.peer_port,
	    .type = VIRTIO_VSOCK_TYPE_STREAM,
	    .op = VIRTIO_VSOCK_OP_RST,
	};
}

bool vsock_rx_pop(struct virtio_vsock *vs, struct virtq_chain *chain)
{
	struct virtio_mmio *m = &vs->mmio;
	struct virtq *q = virtio_mmio_queue(m, VIRTIO_VSOCK_RX);
	struct error err;

	vs->rx_starved = true;
	if (!q->ready || !(m->status & VIRTIO_STATUS_DRIVER_OK) ||
	    (m->status & VIRTIO_STATUS_NEEDS_RESET))
		return false;
	for (unsigned i = 0; i < q->size; i++) {
		int r = virtq_pop(q, m->mem, chain, &err);

		if (r == 0)
			return false;
		if (r > 0 && chain->write_len >= VIRTIO_VSOCK_HDR_SIZE) {
			vs->rx_starved = false;
			return true;
		}
		/* Too small for a header: handed back empty. */
		if (r > 0 && virtq_push(q, m->mem, chain->head, 0, &err) == 0)
			continue;
		virtio_mmio_needs_reset(m, err.msg);
		return false;
	}
	return false;
}

void vsock_rx_push(struct virtio_vsock *vs, const struct virtq_chain *chain,
		   const struct virtio_vsock_hdr *h)
{
	struct virtio_mmio *m = &vs->mmio;
	uint8_t b[VIRTIO_VSOCK_HDR_SIZE];
	struct iovec iov[VIRTQ_CHAIN_MAX_SEGS];
	unsigned n;
	size_t done = 0;
	struct error err;

	virtio_vsock_hdr_pack(h, b);
	n = vsock_iov_slice(chain->iov + chain->nread, chain->nwrite, 0, sizeof(b), iov);
	for (unsigned i = 0; i < n; i++) {
		memcpy(iov[i].iov_base, b + done, iov[i].iov_len);
		done += iov[i].iov_len;
	}
	if (virtq_push(virtio_mmio_queue(m, VIRTIO_VSOCK_RX), m->mem, chain->head,
		       VIRTIO_VSOCK_HDR_SIZE + h->len, &err) < 0) {
		virtio_mmio_needs_reset(m, err.msg);
		return;
	}
	vs->rx_bytes += h->len;
	virtio_mmio_signal_used(m, VIRTIO_VSOCK_RX);
}

void vsock_rx_flush(struct virtio_vsock *vs)
{
	struct virtq_chain chain;
	struct virtio_vsock_hdr h;

	while ((vs->rst_len || !TAILQ_EMPTY(&vs->pending)) && vsock_rx_pop(vs, &chain)) {
		if (vs->rst_len)
			take_rst(vs, &h);
		else
			vsock_conn_take_control(TAILQ_FIRST(&vs->pending), &h);
		vsock_rx_push(vs, &chain, &h);
	}
}

static void rx_notify(struct virtio_vsock *vs)
{
	struct vsock_conn *c;

	vs->rx_starved = false;
	vsock_rx_flush(vs);
	if (vs->rx_starved)
		return;
	/* Sockets left unread for want of buffers can be read again. */
	for (c = TAILQ_FIRST(&vs->conns); c; c = TAILQ_NEXT(c, link))
		vsock_conn_update_watch(c);
}

/* tx queue */

static void tx_packet(struct virtio_vsock *vs, const struct virtq_chain *chain)
{
	struct virtio_vsock_hdr h;
	struct vsock_conn *c;

	switch (virtio_vsock_parse(chain->iov, chain->nread, vs->guest_cid, &h)) {
	case VIRTIO_VSOCK_PKT_OK:
		break;
	case VIRTIO_VSOCK_PKT_RST:
		vsock_queue_rst(vs, h.dst_port, h.src_port);
		return;
	case VIRTIO_VSOCK_PKT_DROP:
	case VIRTIO_VSOCK_PKT_MAX:
		return;
	}
	if (h.op == VIRTIO_VSOCK_OP_RW)
		vs->tx_bytes += h.len;
	c = vsock_conn_find(vs, h.dst_port, h.src_port);
	if (c)
		vsock_conn_recv(c, &h, chain->iov, chain->nread);
	else if (h.op == VIRTIO_VSOCK_OP_REQUEST)
		vsock_conn_connect(vs, &h);
	else if (h.op != VIRTIO_VSOCK_OP_RST)
		vsock_queue_rst(vs, h.dst_port, h.src_port);
}

static uint32_t tx_answer(struct virtio_mmio *m, struct virtq_chain *chain)
{
	tx_packet(m->dev, chain);
	return 0;
}

static void tx_notify(struct virtio_vsock *vs)
{
	virtio_mmio_answer_all(&vs->mmio, VIRTIO_VSOCK_TX, tx_answer);
	vsock_rx_flush(vs);
}

static void vsock_notify(struct virtio_mmio *m, unsigned queue)
{
	struct virtio_vsock *vs = m->dev;

	if (queue == VIRTIO_VSOCK_RX)
		rx_notify(vs);
	else if (queue == VIRTIO_VSOCK_TX)
		tx_notify(vs);
	/* The event queue: its buffers stay posted; no event is ever sent. */
}

static void vsock_config_read(struct virtio_mmio *m, uint32_t off, uint8_t *data, uint32_t len)
{
	struct virtio_vsock *vs = m->dev;
	uint8_t cid[8];

	put(cid, vs->guest_cid, sizeof(cid));
	memcpy(data, cid + off, len);
}

/* The driver reset the device: every connection the guest knew is gone. A request not sent
 * yet (a host program that connected before the driver came up) still goes out. */
static void vsock_reset(struct virtio_mmio *m)
{
	struct virtio_vsock *vs = m->dev;
	struct vsock_conn *c;

	for (c = TAILQ_FIRST(&vs->conns); c; c = TAILQ_NEXT(c, link)) {
		if ((c->state == VSOCK_CONN_REQUEST && !(c->pending & VSOCK_PEND_REQUEST)) ||
		    c->state == VSOCK_CONN_ESTABLISHED)
			vsock_conn_kill(c);
	}
	vs->rst_head = vs->rst_len = 0;
	vs->rx_starved = false;
}

static const struct virtio_device_ops vsock_ops = {
    .name = "virtio-vsock",
    .device_id = VIRTIO_ID_VSOCK,
    .features = 0, /* stream only, which needs no feature bit */
    .num_queues = VIRTIO_VSOCK_QMAX,
    .queue_max = VIRTIO_VSOCK_QUEUE_MAX,
    .config_size = 8, /* le64 guest_cid */
    .config_read = vsock_config_read,
    .notify = vsock_notify,
    .reset = vsock_reset,
};

/* host side */

static void on_listen(void *opaque, uint32_t events)
{
	struct virtio_vsock *vs = opaque;

	for (unsigned i = 0; i < ACCEPT_BATCH; i++) {
		int fd = accept4(vs->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0)
			return;
		virtio_mmio_lock(&vs->mmio);
		vsock_conn_accept(vs, fd);
		virtio_mmio_unlock(&vs->mmio);
	}
}

/* Whether a process accepts connections on the socket file at path. */
static int in_use(const char *path, const struct sockaddr_un *addr, struct error *err)
{
	cleanup_fd int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return error_errno(err, "vsock socket %s: socket", path);
	if (connect(fd, (const struct sockaddr *)addr, sizeof(*addr)) == 0 || errno == EAGAIN)
		return 1;
	if (errno == ECONNREFUSED)
		return 0;
	return error_errno(err, "vsock socket %s", path);
}

/* Makes room for the socket: only a stale socket file may be in the way. */
static int clear_path(const char *path, const struct sockaddr_un *addr, struct error *err)
{
	struct stat st;
	int r;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : error_errno(err, "vsock socket %s", path);
	if (!S_ISSOCK(st.st_mode))
		return error_set(err, EEXIST, "vsock socket %s: exists and is not a socket", path);
	r = in_use(path, addr, err);
	if (r < 0)
		return r;
	if (r > 0)
		return error_set(err, EADDRINUSE, "vsock socket %s: another process listens on it",
				 path);
	if (unlink(path) < 0)
		return error_errno(err, "vsock socket %s: remove stale socket", path);
	return 0;
}

static int listen_on(struct virtio_vsock *vs, struct error *err)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	cleanup_fd int fd = -1;
	int r;

	memcpy(addr.sun_path, vs->path, sizeof(addr.sun_path));
	r = clear_path(vs->path, &addr, err);
	if (r < 0)
		return r;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return error_errno(err, "vsock socket %s: socket", vs->path);
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		return error_errno(err, "vsock socket %s: bind", vs->path);
	if (listen(fd, SOMAXCONN) < 0)
		r = error_errno(err, "vsock socket %s: listen", vs->path);
	else
		r = iothread_add(vs->io, &vs->listen_watch, fd, EPOLLIN, on_listen, vs, err);
	if (r < 0) {
		unlink(vs->path);
		return r;
	}
	vs->listen_fd = TAKE_FD(fd);
	return 0;
}

static int check_args(uint32_t guest_cid, const char *path, struct error *err)
{
	size_t max = sizeof(((struct sockaddr_un *)0)->sun_path) - 1 - VIRTIO_VSOCK_PORT_SUFFIX_MAX;

	if (guest_cid <= VIRTIO_VSOCK_HOST_CID || guest_cid == UINT32_MAX)
		return error_set(err, EINVAL, "vsock: guest CID %u is reserved (use 3 or more)",
				 guest_cid);
	if (!*path || strlen(path) > max)
		return error_set(err, ENAMETOOLONG,
				 "vsock socket %s: path empty or longer than %zu bytes", path, max);
	return 0;
}

int virtio_vsock_init(struct virtio_vsock *vs, const struct guest_memory *mem,
		      virtio_mmio_irq_fn *irq, void *irq_opaque, struct iothread *io,
		      uint32_t guest_cid, const char *path, struct error *err)
{
	int r = check_args(guest_cid, path, err);

	if (r < 0)
		return r;
	memset(vs, 0, sizeof(*vs));
	vs->io = io;
	vs->guest_cid = guest_cid;
	vs->listen_fd = -1;
	vs->next_port = VIRTIO_VSOCK_HOST_PORT_FIRST;
	TAILQ_INIT(&vs->conns);
	TAILQ_INIT(&vs->pending);
	memcpy(vs->path, path, strlen(path) + 1);
	r = virtio_mmio_init(&vs->mmio, &vsock_ops, vs, mem, irq, irq_opaque, err);
	if (r < 0)
		return r;
	r = listen_on(vs, err);
	if (r < 0)
		virtio_mmio_destroy(&vs->mmio);
	return r;
}

void virtio_vsock_destroy(struct virtio_vsock *vs)
{
	struct vsock_conn *c;

	while ((c = TAILQ_FIRST(&vs->conns)))
		vsock_conn_free(c);
	if (vs->listen_fd >= 0) {
		iothread_remove(vs->io, &vs->listen_watch);
		close(vs->listen_fd);
		unlink(vs->path);
		vs->listen_fd = -1;
	}
	virtio_mmio_destroy(&vs->mmio);
}
