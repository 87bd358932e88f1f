/* vsock: virtio-vsock (device id 19), guest stream sockets relayed to Unix sockets on the host
 * by the monitor itself (as Firecracker does; no vhost).
 *
 * Host -> guest: a host program connects to the Unix socket at path and writes
 * "CONNECT <port>\n"; the guest gets an OP_REQUEST from a host port (>= 2^30) to <port>. When
 * the guest answers OP_RESPONSE the program reads "OK <host port>\n" and then talks to the guest
 * socket; when it answers OP_RST the program's connection is closed.
 * Guest -> host: an OP_REQUEST to host port P (CID 2) connects to the Unix socket "<path>_P"
 * and is answered OP_RESPONSE, or OP_RST when nothing listens there.
 *
 * Every tx packet goes through virtio_vsock_parse() first. A packet that cannot be answered
 * (short header, spoofed CIDs) is dropped; one for no connection, of another type, with an
 * unknown op or a bad length is answered OP_RST and creates no state. Connections are capped at
 * VIRTIO_VSOCK_MAX_CONNS. Flow control is the spec's credit scheme both ways: the guest is never
 * sent more than its buf_alloc - (tx_cnt - fwd_cnt); a host socket is read only while the guest
 * has credit and an rx buffer posted; data a host socket cannot take yet waits in a
 * per-connection buffer of VIRTIO_VSOCK_CONN_BUF bytes, which is all the credit the guest gets,
 * so a guest that overruns it is reset rather than buffered for.
 *
 * Threads: guest notifies run with the transport lock held (on a vCPU or the I/O thread); host
 * socket events run on the I/O thread and take the lock. A connection is freed only by its
 * own watch handler, so other threads close one by shutting its socket down.
 */
#ifndef VESSEL_VMM_VIRTIO_VSOCK_H
#define VESSEL_VMM_VIRTIO_VSOCK_H

#include <stdint.h>
#include <sys/queue.h>
#include <sys/uio.h>
#include <sys/un.h>

#include "util/error.h"
#include "vmm/iothread.h"
#include "vmm/memory.h"
#include "vmm/virtio/mmio.h"

#define VIRTIO_ID_VSOCK		     19
#define VIRTIO_VSOCK_QUEUE_MAX	     256
#define VIRTIO_VSOCK_HOST_CID	     2
#define VIRTIO_VSOCK_HDR_SIZE	     44
#define VIRTIO_VSOCK_MAX_PAYLOAD     (64 * 1024) /* one packet's len */
#define VIRTIO_VSOCK_MAX_CONNS	     1024
#define VIRTIO_VSOCK_CONN_BUF	     (64 * 1024) /* our buf_alloc: guest data not yet taken */
#define VIRTIO_VSOCK_HOST_PORT_FIRST (1U << 30)	 /* host ports of host-initiated connections */
#define VIRTIO_VSOCK_RST_QUEUE	     64		 /* RSTs waiting for an rx buffer */
#define VIRTIO_VSOCK_TYPE_STREAM     1
#define VIRTIO_VSOCK_SHUTDOWN_RCV    1
#define VIRTIO_VSOCK_SHUTDOWN_SEND   2
#define VIRTIO_VSOCK_PORT_SUFFIX_MAX 11 /* "_4294967295" after the path */

enum virtio_vsock_queue { VIRTIO_VSOCK_RX, VIRTIO_VSOCK_TX, VIRTIO_VSOCK_EVENT, VIRTIO_VSOCK_QMAX };

enum virtio_vsock_op {
	VIRTIO_VSOCK_OP_INVALID,
	VIRTIO_VSOCK_OP_REQUEST,
	VIRTIO_VSOCK_OP_RESPONSE,
	VIRTIO_VSOCK_OP_RST,
	VIRTIO_VSOCK_OP_SHUTDOWN,
	VIRTIO_VSOCK_OP_RW,
	VIRTIO_VSOCK_OP_CREDIT_UPDATE,
	VIRTIO_VSOCK_OP_CREDIT_REQUEST,
	VIRTIO_VSOCK_OP_MAX,
};

/* The packet header in host byte order (44 bytes, little endian, on the ring). */
struct virtio_vsock_hdr {
	uint64_t src_cid, dst_cid;
	uint32_t src_port, dst_port;
	uint32_t len;
	uint16_t type, op;
	uint32_t flags, buf_alloc, fwd_cnt;
};

enum virtio_vsock_verdict {
	VIRTIO_VSOCK_PKT_OK,
	VIRTIO_VSOCK_PKT_DROP, /* nobody to answer: ignore it */
	VIRTIO_VSOCK_PKT_RST,  /* answer OP_RST to its source */
	VIRTIO_VSOCK_PKT_MAX,
};

struct vsock_conn;
TAILQ_HEAD(vsock_conn_list, vsock_conn);

/* Where an OP_RST goes (our port, the guest's port). */
struct vsock_rst {
	uint32_t local_port, peer_port;
};

struct virtio_vsock {
	struct virtio_mmio mmio; /* register it on the MMIO bus with virtio_mmio_io, &vs->mmio */
	struct iothread *io;	 /* borrowed */
	uint64_t guest_cid;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int listen_fd;
	struct iothread_watch listen_watch;
	/* Below: guarded by the transport lock. */
	struct vsock_conn_list conns;	/* every connection */
	struct vsock_conn_list pending; /* connections with control packets for the guest */
	unsigned nconns;
	uint32_t next_port;
	bool rx_starved; /* the guest posted no usable rx buffer; waiting for its notify */
	struct vsock_rst rst[VIRTIO_VSOCK_RST_QUEUE];
	unsigned rst_head, rst_len;
	uint64_t rx_bytes, tx_bytes; /* payload to / from the guest */
};

/* Sets up the device with the host side listening on path (at most
 * sizeof(sun_path) - 1 - VIRTIO_VSOCK_PORT_SUFFIX_MAX bytes). An existing socket file nobody
 * listens on is replaced; anything else at path is an error naming it. guest_cid: 3 or more,
 * not (uint32_t)-1. mem, irq_opaque, io, path: borrowed (path is copied). io may be running. */
int virtio_vsock_init(struct virtio_vsock *vs, const struct guest_memory *mem,
		      virtio_mmio_irq_fn *irq, void *irq_opaque, struct iothread *io,
		      uint32_t guest_cid, const char *path, struct error *err);
/* Closes every connection and the listening socket, and removes the socket file. Call with the
 * I/O thread stopped (iothread_stop) and before iothread_destroy, with no vCPU running. */
void virtio_vsock_destroy(struct virtio_vsock *vs);

/* Parses the packet in the readable buffers iov[0, niov) that the guest with CID guest_cid put
 * on the tx queue. *ret_hdr is filled whenever the verdict is not DROP. iov: borrowed. */
enum virtio_vsock_verdict virtio_vsock_parse(const struct iovec *iov, unsigned niov,
					     uint64_t guest_cid, struct virtio_vsock_hdr *ret_hdr);
/* Encodes h into VIRTIO_VSOCK_HDR_SIZE bytes at out. */
void virtio_vsock_hdr_pack(const struct virtio_vsock_hdr *h, uint8_t *out);

#endif
