/* virtio_net: virtio-net (device id 1) over a tap: receiveq0 (queue 0) and transmitq0 (queue 1).
 *
 * Every frame starts with the 12-byte struct virtio_net_hdr_v1 in both directions; the tap
 * speaks the same header, so frames go between guest memory and the tap with one readv/writev
 * and no copy.
 * Transmit (a notify on queue 1: the vCPU thread, or the I/O thread with an ioeventfd): a chain
 * that fails virtio_net_tx_check() is returned with 0 written and counted in tx_errors. When the
 * tap would block, the chain stays in the ring and transmission resumes when the tap is writable.
 * Receive (the tap readable, on the I/O thread): one frame is read into up to
 * VIRTIO_NET_RX_CHAINS_MAX posted chains with VIRTIO_NET_F_MRG_RXBUF (num_buffers set in the
 * first header), into one chain without it; the chains it does not need go back to the ring. A
 * frame larger than what is posted is dropped (rx_dropped). With no buffer posted the device
 * stops watching the tap until the driver notifies a queue: frames wait in the tap's queue and
 * the monitor does not spin. A posted chain that cannot take a frame (a readable buffer, a first
 * chain shorter than the header) is returned with 0 written (rx_errors). A malformed ring sets
 * NEEDS_RESET. The tap's offloads follow what the driver accepted, once it is running.
 */
#ifndef VESSEL_VMM_VIRTIO_NET_H
#define VESSEL_VMM_VIRTIO_NET_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "util/error.h"
#include "vmm/iothread.h"
#include "vmm/memory.h"
#include "vmm/tap.h"
#include "vmm/virtio/mmio.h"
#include "vmm/virtio/virtq.h"

#define VIRTIO_ID_NET		 1
#define VIRTIO_NET_RXQ		 0
#define VIRTIO_NET_TXQ		 1
#define VIRTIO_NET_QUEUE_MAX	 256
#define VIRTIO_NET_HDR_LEN	 TAP_VNET_HDR_LEN
#define VIRTIO_NET_FRAME_MIN	 14    /* an Ethernet header */
#define VIRTIO_NET_FRAME_MAX	 65550 /* a 64 KiB GSO frame with its Ethernet and VLAN headers */
#define VIRTIO_NET_RX_CHAINS_MAX 256
#define VIRTIO_NET_RX_IOV_MAX	 1024 /* UIO_MAXIOV */
#define VIRTIO_NET_CONFIG_SIZE	 10   /* mac, status, max_virtqueue_pairs */

/* Feature bits (masks, like VIRTIO_F_VERSION_1). */
#define VIRTIO_NET_F_CSUM	(1ULL << 0)
#define VIRTIO_NET_F_GUEST_CSUM (1ULL << 1)
#define VIRTIO_NET_F_MAC	(1ULL << 5)
#define VIRTIO_NET_F_GUEST_TSO4 (1ULL << 7)
#define VIRTIO_NET_F_GUEST_TSO6 (1ULL << 8)
#define VIRTIO_NET_F_GUEST_ECN	(1ULL << 9)
#define VIRTIO_NET_F_HOST_TSO4	(1ULL << 11)
#define VIRTIO_NET_F_HOST_TSO6	(1ULL << 12)
#define VIRTIO_NET_F_HOST_ECN	(1ULL << 13)
#define VIRTIO_NET_F_MRG_RXBUF	(1ULL << 15)
#define VIRTIO_NET_F_STATUS	(1ULL << 16)

#define VIRTIO_NET_S_LINK_UP 1

/* struct virtio_net_hdr_v1 (little endian). */
#define VIRTIO_NET_HDR_F_NEEDS_CSUM 1
#define VIRTIO_NET_HDR_GSO_NONE	    0
#define VIRTIO_NET_HDR_GSO_TCPV4    1
#define VIRTIO_NET_HDR_GSO_TCPV6    4
#define VIRTIO_NET_HDR_GSO_ECN	    0x80

struct virtio_net_hdr {
	uint8_t flags;
	uint8_t gso_type;
	uint16_t hdr_len;
	uint16_t gso_size;
	uint16_t csum_start;
	uint16_t csum_offset;
	uint16_t num_buffers;
};

struct virtio_net_stats {
	uint64_t rx_frames, rx_bytes, rx_dropped, rx_errors;
	uint64_t tx_frames, tx_bytes, tx_dropped, tx_errors;
};

/* The posted chains one received frame is read into (scratch), then one host byte: a tap
 * truncates silently, so a frame that reaches it did not fit. */
struct virtio_net_rx {
	struct iovec iov[VIRTIO_NET_RX_IOV_MAX];
	unsigned niov, nchains; /* niov < VIRTIO_NET_RX_IOV_MAX: room for the spill byte */
	uint16_t head[VIRTIO_NET_RX_CHAINS_MAX];
	uint32_t cap[VIRTIO_NET_RX_CHAINS_MAX];
	uint64_t total;
	uint8_t spill;
};

/* Guarded by mmio.lock, like the queues. Large (about 21 KiB): allocate it. */
struct virtio_net {
	struct virtio_mmio mmio; /* register it on the MMIO bus with virtio_mmio_io, &net->mmio */
	const struct tap *tap;	 /* borrowed */
	struct iothread *io;	 /* borrowed */
	struct iothread_watch watch;
	uint32_t events;     /* watched on the tap now */
	bool rx_wanted;	     /* watch for frames: buffers may be posted */
	bool tx_blocked;     /* the tap would block: wait until it is writable */
	bool offload_synced; /* the tap's offloads match the negotiated features */
	bool tap_gone;	     /* the tap failed (EPOLLERR/EPOLLHUP): no longer watched */
	uint8_t mac[6];
	struct virtio_net_stats stats;
	struct virtq_chain chain; /* scratch */
	struct virtio_net_rx rx;  /* scratch */
};

/* Offers MAC, STATUS and MRG_RXBUF, and the checksum and TSO offloads both ways when
 * tap->offload. mac: 6 bytes, NULL for a random locally administered one. Watches tap->fd on io
 * (started or not). mem, irq_opaque, io, tap, mac: borrowed; io and tap must outlive net. */
int virtio_net_init(struct virtio_net *net, const struct guest_memory *mem, virtio_mmio_irq_fn *irq,
		    void *irq_opaque, struct iothread *io, const struct tap *tap,
		    const uint8_t *mac, struct error *err);
/* Removes the watch; call it once no handler can run (the I/O thread stopped). Safe after a
 * failed virtio_net_init(). */
void virtio_net_destroy(struct virtio_net *net);

/* Checks a transmit chain against the negotiated features: a whole header (possibly split
 * across buffers) in its readable part, a frame of VIRTIO_NET_FRAME_MIN..VIRTIO_NET_FRAME_MAX
 * bytes, and no checksum or GSO request the features do not allow. Returns the number of
 * iovecs to write (c->nread; writable buffers are ignored) or -EINVAL. c: borrowed. */
int virtio_net_tx_check(const struct virtq_chain *c, uint64_t features, struct error *err);

#endif
