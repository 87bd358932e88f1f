/* vsock-conn: the connections of the virtio-vsock device and the device's rx queue as they
 * use it (prefix vsock_). Internal to vsock.c and vsock-conn.c; every function here runs with
 * the transport lock held.
 *
 * A connection is freed only by its own watch handler on the I/O thread (or by
 * virtio_vsock_destroy with that thread stopped): another thread ends one with
 * vsock_conn_kill(), which shuts its socket down so that the handler runs and frees it.
 */
#ifndef VESSEL_VMM_VIRTIO_VSOCK_CONN_H
#define VESSEL_VMM_VIRTIO_VSOCK_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/uio.h>

#include "vmm/virtio/virtq.h"
#include "vmm/virtio/vsock.h"

enum vsock_conn_state {
	VSOCK_CONN_HANDSHAKE,	/* a host program connected; reading "CONNECT <port>\n" */
	VSOCK_CONN_REQUEST,	/* OP_REQUEST queued for the guest; waiting for its answer */
	VSOCK_CONN_ESTABLISHED, /* relaying both ways */
	VSOCK_CONN_DRAINING,	/* the guest closed; writing what is buffered to the host */
	VSOCK_CONN_DEAD,	/* socket shut down; the handler frees it */
	VSOCK_CONN_STATE_MAX,
};

/* Control packets a connection owes the guest, sent in this order. */
enum vsock_conn_pending {
	VSOCK_PEND_REQUEST = 1 << 0,
	VSOCK_PEND_RESPONSE = 1 << 1,
	VSOCK_PEND_CREDIT = 1 << 2,
	VSOCK_PEND_SHUTDOWN = 1 << 3,
};

struct vsock_conn {
	struct virtio_vsock *vs;
	TAILQ_ENTRY(vsock_conn) link;	   /* vs->conns */
	TAILQ_ENTRY(vsock_conn) pend_link; /* vs->pending while pending != 0 */
	struct iothread_watch watch;
	int fd;		 /* the host socket, non-blocking */
	bool registered; /* watch is in the I/O thread's epoll set */
	uint32_t events; /* what it watches for */
	enum vsock_conn_state state;
	uint32_t local_port, peer_port; /* host side, guest side */
	unsigned pending;		/* enum vsock_conn_pending bits */
	uint32_t shutdown_flags;	/* what the pending OP_SHUTDOWN says */
	bool host_eof, host_hup, guest_shut_rcv, guest_shut_send;
	/* Host -> guest: the guest's credit. */
	uint32_t peer_buf_alloc, peer_fwd_cnt, tx_cnt;
	/* Guest -> host: bytes handed to the host socket, and as last told to the guest. */
	uint32_t fwd_cnt, fwd_cnt_sent;
	uint8_t
	    *out; /* VIRTIO_VSOCK_CONN_BUF bytes once needed: guest data the host has not taken */
	size_t out_off, out_len;
	char line[32]; /* the handshake line read so far */
	size_t line_len;
};

/* vsock-conn.c */
/* A host program connected to the device socket (fd: takes ownership). */
void vsock_conn_accept(struct virtio_vsock *vs, int fd);
/* The guest's OP_REQUEST for no existing connection: connect to "<path>_<port>". */
void vsock_conn_connect(struct virtio_vsock *vs, const struct virtio_vsock_hdr *h);
/* The live connection (REQUEST or ESTABLISHED) with these ports, or NULL. */
struct vsock_conn *vsock_conn_find(struct virtio_vsock *vs, uint32_t local_port,
				   uint32_t peer_port);
/* A parsed guest packet for c; payload: the chain's readable buffers (header included). */
void vsock_conn_recv(struct vsock_conn *c, const struct virtio_vsock_hdr *h,
		     const struct iovec *iov, unsigned niov);
/* Fills *h with c's next control packet and clears it from c's pending set. */
void vsock_conn_take_control(struct vsock_conn *c, struct virtio_vsock_hdr *h);
/* Ends c without telling the guest (any thread). */
void vsock_conn_kill(struct vsock_conn *c);
/* Watches c's socket for what it can do now (after credit or rx buffers arrived). */
void vsock_conn_update_watch(struct vsock_conn *c);
/* Unlinks, closes and frees c (its handler, or destroy with the I/O thread stopped). */
void vsock_conn_free(struct vsock_conn *c);

/* vsock.c */
/* Queues an OP_RST from local_port to the guest's peer_port (dropped when the queue is full). */
void vsock_queue_rst(struct virtio_vsock *vs, uint32_t local_port, uint32_t peer_port);
/* Sends queued control packets while the guest has rx buffers. */
void vsock_rx_flush(struct virtio_vsock *vs);
/* Pops an rx chain with room for a header: true, or false (vs->rx_starved set) when the guest
 * has posted none. */
bool vsock_rx_pop(struct virtio_vsock *vs, struct virtq_chain *chain);
/* Writes h at the start of chain's writable buffers (the payload, h->len bytes, is already
 * after it) and returns the chain to the guest. */
void vsock_rx_push(struct virtio_vsock *vs, const struct virtq_chain *chain,
		   const struct virtio_vsock_hdr *h);
/* Points out[] (room for n entries) at len bytes from offset off of iov[0, n); returns how
 * many entries it used. */
unsigned vsock_iov_slice(const struct iovec *iov, unsigned n, size_t off, size_t len,
			 struct iovec *out);

#endif
