/* vsock-conn: one virtio-vsock connection and its host Unix socket; see vsock-conn.h. */
#include "vmm/virtio/vsock-conn.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "util/log.h"
#include "util/str.h"

#define SEND_BATCH 16 /* packets sent to the guest per socket event, so others get a turn */
#define OUT_CAP	   VIRTIO_VSOCK_CONN_BUF

static void on_host(void *opaque, uint32_t events);

/* What the guest can take now: its buf_alloc less what it has not consumed yet. */
static uint32_t credit(const struct vsock_conn *c)
{
	uint32_t inflight = c->tx_cnt - c->peer_fwd_cnt;

	return inflight >= c->peer_buf_alloc ? 0 : c->peer_buf_alloc - inflight;
}

static uint32_t wanted(const struct vsock_conn *c)
{
	uint32_t ev = c->out_len ? EPOLLOUT : 0;

	switch (c->state) {
	case VSOCK_CONN_HANDSHAKE:
		return EPOLLIN;
	case VSOCK_CONN_ESTABLISHED:
		/* Data follows the control packets; a socket is read only into guest buffers. */
		if (!c->host_eof && !c->guest_shut_rcv && !c->pending && !c->vs->rx_starved &&
		    credit(c))
			ev |= EPOLLIN;
		return ev;
	case VSOCK_CONN_DRAINING:
		return ev;
	case VSOCK_CONN_REQUEST:
	case VSOCK_CONN_DEAD:
	case VSOCK_CONN_STATE_MAX:
		break;
	}
	return 0;
}

void vsock_conn_update_watch(struct vsock_conn *c)
{
	struct iothread *io = c->vs->io;
	uint32_t ev = wanted(c);
	struct error err;
	int r = 0;

	if (c->state != VSOCK_CONN_DEAD && !ev && c->host_hup) {
		/* A hung-up socket reports EPOLLHUP whatever is asked: leave it until there is
		 * something to do. */
		if (c->registered)
			iothread_remove(io, &c->watch);
		c->registered = false;
		return;
	}
	if (!c->registered)
		r = iothread_add(io, &c->watch, c->fd, ev, on_host, c, &err);
	else if (ev != c->events)
		r = iothread_modify(io, &c->watch, ev, &err);
	if (r < 0) {
		log_debug("vsock port %u: %s", c->local_port, err.msg);
		return;
	}
	c->registered = true;
	c->events = ev;
}

static void set_pending(struct vsock_conn *c, unsigned bits)
{
	if (!c->pending)
		TAILQ_INSERT_TAIL(&c->vs->pending, c, pend_link);
	c->pending |= bits;
}

static void clear_pending(struct vsock_conn *c)
{
	if (c->pending)
		TAILQ_REMOVE(&c->vs->pending, c, pend_link);
	c->pending = 0;
}

void vsock_conn_kill(struct vsock_conn *c)
{
	if (c->state == VSOCK_CONN_DEAD)
		return;
	clear_pending(c);
	c->state = VSOCK_CONN_DEAD;
	/* The host program sees EOF, and our handler EPOLLHUP: it frees c. */
	shutdown(c->fd, SHUT_RDWR);
	vsock_conn_update_watch(c);
}

/* Ends c, and tells the guest when it knows c. */
static void reset(struct vsock_conn *c)
{
	bool known = c->state == VSOCK_CONN_ESTABLISHED ||
		     (c->state == VSOCK_CONN_REQUEST && !(c->pending & VSOCK_PEND_REQUEST));

	if (known)
		vsock_queue_rst(c->vs, c->local_port, c->peer_port);
	vsock_conn_kill(c);
}

void vsock_conn_free(struct vsock_conn *c)
{
	struct virtio_vsock *vs = c->vs;

	clear_pending(c);
	TAILQ_REMOVE(&vs->conns, c, link);
	vs->nconns--;
	if (c->registered)
		iothread_remove(vs->io, &c->watch);
	close(c->fd);
	free(c->out);
	free(c);
}

/* Takes ownership of fd; NULL (fd closed) at the cap or out of memory. */
static struct vsock_conn *conn_new(struct virtio_vsock *vs, int fd, enum vsock_conn_state state,
				   uint32_t local_port, uint32_t peer_port)
{
	struct vsock_conn *c = NULL;

	if (vs->nconns < VIRTIO_VSOCK_MAX_CONNS)
		c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return NULL;
	}
	*c = (struct vsock_conn){.vs = vs, .fd = fd, .state = state};
	c->local_port = local_port;
	c->peer_port = peer_port;
	TAILQ_INSERT_TAIL(&vs->conns, c, link);
	vs->nconns++;
	vsock_conn_update_watch(c);
	if (!c->registered) {
		vsock_conn_free(c);
		return NULL;
	}
	return c;
}

void vsock_conn_accept(struct virtio_vsock *vs, int fd)
{
	conn_new(vs, fd, VSOCK_CONN_HANDSHAKE, 0, 0);
}

struct vsock_conn *vsock_conn_find(struct virtio_vsock *vs, uint32_t local_port, uint32_t peer_port)
{
	struct vsock_conn *c;

	for (c = TAILQ_FIRST(&vs->conns); c; c = TAILQ_NEXT(c, link)) {
		if ((c->state == VSOCK_CONN_REQUEST || c->state == VSOCK_CONN_ESTABLISHED) &&
		    c->local_port == local_port && c->peer_port == peer_port)
			return c;
	}
	return NULL;
}

static void conn_hdr(struct vsock_conn *c, uint16_t op, uint32_t len, struct virtio_vsock_hdr *h)
{
	*h = (struct virtio_vsock_hdr){
	    .src_cid = VIRTIO_VSOCK_HOST_CID,
	    .dst_cid = c->vs->guest_cid,
	    .src_port = c->local_port,
	    .dst_port = c->peer_port,
	    .len = len,
	    .type = VIRTIO_VSOCK_TYPE_STREAM,
	    .op = op,
	    .buf_alloc = OUT_CAP,
	    .fwd_cnt = c->fwd_cnt,
	};
	c->fwd_cnt_sent = c->fwd_cnt;
}

void vsock_conn_take_control(struct vsock_conn *c, struct virtio_vsock_hdr *h)
{
	static const struct {
		unsigned bit;
		uint16_t op;
	} order[] = {
	    {VSOCK_PEND_REQUEST, VIRTIO_VSOCK_OP_REQUEST},
	    {VSOCK_PEND_RESPONSE, VIRTIO_VSOCK_OP_RESPONSE},
	    {VSOCK_PEND_CREDIT, VIRTIO_VSOCK_OP_CREDIT_UPDATE},
	    {VSOCK_PEND_SHUTDOWN, VIRTIO_VSOCK_OP_SHUTDOWN},
	};

	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		if (!(c->pending & order[i].bit))
			continue;
		c->pending &= ~order[i].bit;
		conn_hdr(c, order[i].op, 0, h);
		if (order[i].op == VIRTIO_VSOCK_OP_SHUTDOWN)
			h->flags = c->shutdown_flags;
		break;
	}
	if (!c->pending) {
		TAILQ_REMOVE(&c->vs->pending, c, pend_link);
		vsock_conn_update_watch(c); /* data may follow now */
	}
}

/* Guest -> host */

/* The guest's view of our free space lags by what we forwarded since we last told it; tell it
 * before the lag could starve it. */
static void maybe_credit(struct vsock_conn *c)
{
	if (c->fwd_cnt - c->fwd_cnt_sent >= OUT_CAP / 4)
		set_pending(c, VSOCK_PEND_CREDIT);
}

static void forwarded(struct vsock_conn *c, size_t n)
{
	c->fwd_cnt += (uint32_t)n;
	maybe_credit(c);
}

/* Writes buffered guest data to the host socket; resets c when the host side is gone. */
static void flush_out(struct vsock_conn *c)
{
	while (c->out_len) {
		ssize_t n =
		    send(c->fd, c->out + c->out_off, c->out_len, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			reset(c);
			return;
		}
		c->out_off += (size_t)n;
		c->out_len -= (size_t)n;
		forwarded(c, (size_t)n);
	}
	c->out_off = 0;
	if (c->guest_shut_send)
		shutdown(c->fd, SHUT_WR);
}

/* Keeps what the host socket did not take; false when the guest sent beyond its credit. */
static bool buffer_out(struct vsock_conn *c, const struct iovec *iov, unsigned n, size_t len)
{
	if (!len)
		return true;
	if (len > OUT_CAP - c->out_len)
		return false;
	if (!c->out) {
		c->out = malloc(OUT_CAP);
		if (!c->out)
			return false;
	}
	if (c->out_off + c->out_len + len > OUT_CAP) {
		memmove(c->out, c->out + c->out_off, c->out_len);
		c->out_off = 0;
	}
	for (unsigned i = 0; i < n; i++) {
		memcpy(c->out + c->out_off + c->out_len, iov[i].iov_base, iov[i].iov_len);
		c->out_len += iov[i].iov_len;
	}
	return true;
}

static void to_host(struct vsock_conn *c, const struct iovec *iov, unsigned niov, uint32_t len)
{
	struct iovec rest[VIRTQ_CHAIN_MAX_SEGS];
	struct msghdr msg = {.msg_iov = (struct iovec *)iov, .msg_iovlen = niov};
	ssize_t sent = 0;

	if (c->guest_shut_send) {
		reset(c); /* data after its own SHUTDOWN(SEND) */
		return;
	}
	if (!c->out_len && len) {
		sent = sendmsg(c->fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (sent < 0 && errno != EAGAIN && errno != EINTR) {
			reset(c);
			return;
		}
		if (sent < 0)
			sent = 0;
		forwarded(c, (size_t)sent);
	}
	niov = vsock_iov_slice(iov, niov, (size_t)sent, len - (size_t)sent, rest);
	if (!buffer_out(c, rest, niov, len - (size_t)sent))
		reset(c);
}

static void guest_shutdown(struct vsock_conn *c, uint32_t flags)
{
	c->guest_shut_rcv |= !!(flags & VIRTIO_VSOCK_SHUTDOWN_RCV);
	c->guest_shut_send |= !!(flags & VIRTIO_VSOCK_SHUTDOWN_SEND);
	if (c->guest_shut_rcv && c->guest_shut_send) {
		/* The guest closes: it waits for our RST; the host gets what is buffered. */
		vsock_queue_rst(c->vs, c->local_port, c->peer_port);
		clear_pending(c);
		if (c->out_len)
			c->state = VSOCK_CONN_DRAINING;
		else
			vsock_conn_kill(c);
		return;
	}
	if (c->guest_shut_send && !c->out_len)
		shutdown(c->fd, SHUT_WR);
}

/* The guest's answer to our OP_REQUEST. */
static void answered(struct vsock_conn *c, uint16_t op)
{
	char line[24];
	int n;

	if (op == VIRTIO_VSOCK_OP_RST) {
		vsock_conn_kill(c);
		return;
	}
	if (op != VIRTIO_VSOCK_OP_RESPONSE) {
		reset(c);
		return;
	}
	c->state = VSOCK_CONN_ESTABLISHED;
	/* Nothing was written to this socket yet, so the short line fits whole. */
	n = snprintf(line, sizeof(line), "OK %u\n", c->local_port);
	if (send(c->fd, line, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL) != n)
		reset(c);
}

void vsock_conn_recv(struct vsock_conn *c, const struct virtio_vsock_hdr *h,
		     const struct iovec *iov, unsigned niov)
{
	struct iovec payload[VIRTQ_CHAIN_MAX_SEGS];

	c->peer_buf_alloc = h->buf_alloc;
	c->peer_fwd_cnt = h->fwd_cnt;
	if (c->state == VSOCK_CONN_REQUEST) {
		answered(c, h->op);
	} else if (h->op == VIRTIO_VSOCK_OP_RW) {
		niov = vsock_iov_slice(iov, niov, VIRTIO_VSOCK_HDR_SIZE, h->len, payload);
		to_host(c, payload, niov, h->len);
	} else if (h->op == VIRTIO_VSOCK_OP_CREDIT_REQUEST) {
		set_pending(c, VSOCK_PEND_CREDIT);
	} else if (h->op == VIRTIO_VSOCK_OP_SHUTDOWN) {
		guest_shutdown(c, h->flags);
	} else if (h->op == VIRTIO_VSOCK_OP_RST) {
		vsock_conn_kill(c);
	} else if (h->op != VIRTIO_VSOCK_OP_CREDIT_UPDATE) {
		reset(c); /* REQUEST or RESPONSE on a live connection */
	}
	vsock_conn_update_watch(c);
}

void vsock_conn_connect(struct virtio_vsock *vs, const struct virtio_vsock_hdr *h)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	struct vsock_conn *c;
	int fd;

	if (vs->nconns >= VIRTIO_VSOCK_MAX_CONNS)
		goto rst;
	/* init checked that the path leaves room for the suffix. */
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s_%u", vs->path, h->dst_port);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto rst;
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		close(fd);
		goto rst;
	}
	c = conn_new(vs, fd, VSOCK_CONN_ESTABLISHED, h->dst_port, h->src_port);
	if (!c)
		goto rst;
	c->peer_buf_alloc = h->buf_alloc;
	c->peer_fwd_cnt = h->fwd_cnt;
	set_pending(c, VSOCK_PEND_RESPONSE);
	return;
rst:
	vsock_queue_rst(vs, h->dst_port, h->src_port);
}

/* Host -> guest */

static bool port_in_use(struct virtio_vsock *vs, uint32_t port)
{
	struct vsock_conn *c;

	for (c = TAILQ_FIRST(&vs->conns); c; c = TAILQ_NEXT(c, link))
		if (c->local_port == port)
			return true;
	return false;
}

/* A free host port >= VIRTIO_VSOCK_HOST_PORT_FIRST; at most nconns + 1 tries. */
static uint32_t alloc_port(struct virtio_vsock *vs)
{
	for (;;) {
		uint32_t p = vs->next_port++;

		if (vs->next_port == 0)
			vs->next_port = VIRTIO_VSOCK_HOST_PORT_FIRST;
		if (!port_in_use(vs, p))
			return p;
	}
}

static int parse_connect(const char *line, uint32_t *ret_port)
{
	const char *num = line + strlen("CONNECT ");
	long v;

	if (!str_has_prefix(line, "CONNECT ") || !isdigit((unsigned char)*num) ||
	    str_to_long(num, 0, UINT32_MAX, &v) < 0)
		return -EINVAL;
	*ret_port = (uint32_t)v;
	return 0;
}

/* Reads the "CONNECT <port>\n" line, and nothing after it. */
static void read_handshake(struct vsock_conn *c)
{
	char peek[sizeof(c->line)];
	size_t room = sizeof(c->line) - c->line_len;
	ssize_t n = recv(c->fd, peek, room, MSG_PEEK | MSG_DONTWAIT);
	const char *nl;
	uint32_t port;

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	nl = n > 0 ? memchr(peek, '\n', (size_t)n) : NULL;
	if (nl)
		n = nl - peek + 1;
	if (n <= 0 || recv(c->fd, c->line + c->line_len, (size_t)n, MSG_DONTWAIT) != n) {
		vsock_conn_kill(c);
		return;
	}
	c->line_len += (size_t)n;
	if (!nl) {
		if (c->line_len == sizeof(c->line))
			vsock_conn_kill(c); /* no line ends this soon */
		return;
	}
	c->line[c->line_len - 1] = '\0';
	if (parse_connect(c->line, &port) < 0) {
		vsock_conn_kill(c);
		return;
	}
	c->peer_port = port;
	c->local_port = alloc_port(c->vs);
	c->state = VSOCK_CONN_REQUEST;
	set_pending(c, VSOCK_PEND_REQUEST);
}

static void host_eof(struct vsock_conn *c)
{
	c->host_eof = true;
	c->shutdown_flags =
	    VIRTIO_VSOCK_SHUTDOWN_SEND | (c->host_hup ? VIRTIO_VSOCK_SHUTDOWN_RCV : 0);
	set_pending(c, VSOCK_PEND_SHUTDOWN);
}

/* Moves one packet of socket data into a guest rx buffer; false when there is nothing more to
 * do now. */
static bool send_one(struct vsock_conn *c)
{
	struct iovec iov[VIRTQ_CHAIN_MAX_SEGS];
	struct virtq_chain chain;
	struct virtio_vsock_hdr h;
	size_t max;
	ssize_t n;
	uint8_t b;

	/* Peeked first: a buffer once popped cannot be given back unused. */
	n = recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return false;
	if (n < 0)
		reset(c);
	else if (n == 0)
		host_eof(c);
	if (n <= 0 || !vsock_rx_pop(c->vs, &chain))
		return false;
	max = chain.write_len - VIRTIO_VSOCK_HDR_SIZE;
	max = max < credit(c) ? max : credit(c);
	max = max < VIRTIO_VSOCK_MAX_PAYLOAD ? max : VIRTIO_VSOCK_MAX_PAYLOAD;
	n = readv(c->fd, iov,
		  (int)vsock_iov_slice(chain.iov + chain.nread, chain.nwrite, VIRTIO_VSOCK_HDR_SIZE,
				       max, iov));
	if (n > 0) {
		conn_hdr(c, VIRTIO_VSOCK_OP_RW, (uint32_t)n, &h);
		c->tx_cnt += (uint32_t)n;
	} else {
		conn_hdr(c, VIRTIO_VSOCK_OP_CREDIT_UPDATE, 0, &h); /* the buffer still goes back */
	}
	vsock_rx_push(c->vs, &chain, &h);
	return n > 0;
}

static void host_event(struct vsock_conn *c, uint32_t events)
{
	switch (c->state) {
	case VSOCK_CONN_HANDSHAKE:
		read_handshake(c);
		break;
	case VSOCK_CONN_REQUEST:
		if (c->host_hup)
			reset(c); /* gave up before the guest answered */
		break;
	case VSOCK_CONN_ESTABLISHED:
		if (events & (EPOLLOUT | EPOLLHUP | EPOLLERR))
			flush_out(c);
		for (unsigned i = 0; i < SEND_BATCH && (wanted(c) & EPOLLIN); i++)
			if (!send_one(c))
				break;
		break;
	case VSOCK_CONN_DRAINING:
		flush_out(c);
		if (c->state == VSOCK_CONN_DRAINING && !c->out_len)
			vsock_conn_kill(c);
		break;
	case VSOCK_CONN_DEAD:
	case VSOCK_CONN_STATE_MAX:
		break;
	}
}

static void on_host(void *opaque, uint32_t events)
{
	struct vsock_conn *c = opaque;
	struct virtio_vsock *vs = c->vs;

	virtio_mmio_lock(&vs->mmio);
	if (events & (EPOLLHUP | EPOLLERR))
		c->host_hup = true;
	host_event(c, events);
	if (c->state == VSOCK_CONN_DEAD)
		vsock_conn_free(c);
	else
		vsock_conn_update_watch(c);
	vsock_rx_flush(vs);
	virtio_mmio_unlock(&vs->mmio);
}
