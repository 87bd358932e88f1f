/* console: virtio-console (device id 3): one port, no multiport, on two host fds.
 *
 * transmitq (queue 1): the readable buffers of each chain are written to the output fd
 * (blocking, with the transport lock held) and the chain is returned. receiveq (queue 0): the
 * input fd is watched on the I/O thread; when it is readable and the guest has posted a
 * buffer, one read goes straight into that buffer. When no buffer is posted the watch is
 * removed, so unread input stays in the fd and a guest that posts nothing cannot make the I/O
 * thread spin; the guest's next receiveq notify adds it back. End of input (EOF, hang-up, a read
 * error) removes the watch for good.
 */
#ifndef VESSEL_VMM_VIRTIO_CONSOLE_H
#define VESSEL_VMM_VIRTIO_CONSOLE_H

#include <stdbool.h>
#include <stdint.h>

#include "util/error.h"
#include "vmm/iothread.h"
#include "vmm/memory.h"
#include "vmm/virtio/mmio.h"

#define VIRTIO_ID_CONSOLE	 3
#define VIRTIO_CONSOLE_QUEUE_MAX 256
#define VIRTIO_CONSOLE_RX	 0 /* receiveq0: host -> guest */
#define VIRTIO_CONSOLE_TX	 1 /* transmitq0: guest -> host */

struct virtio_console {
	struct virtio_mmio mmio; /* register it on the MMIO bus with virtio_mmio_io, &con->mmio */
	struct iothread *io;	 /* borrowed; NULL: no input */
	struct iothread_watch watch;
	int in_fd, out_fd; /* borrowed; -1: none */
	bool watching;	   /* the input watch is registered (guarded by the transport lock) */
	bool in_done;	   /* input ended: never watched again */
	uint64_t rx_bytes, tx_bytes;
};

/* io: the I/O thread that watches in_fd (which epoll must accept: a pipe, tty or socket), or
 * NULL for no input; the watch is added here, so io may be started before or after. in_fd,
 * out_fd: borrowed, -1 for none; out_fd should be blocking. mem, io, irq_opaque: borrowed. */
int virtio_console_init(struct virtio_console *con, const struct guest_memory *mem,
			virtio_mmio_irq_fn *irq, void *irq_opaque, struct iothread *io, int in_fd,
			int out_fd, struct error *err);
/* Removes the input watch. Call it after iothread_stop() (or before the I/O thread can run the
 * watch): a watch is removed from another thread only when no handler can be running. Safe
 * after a failed virtio_console_init(). */
void virtio_console_destroy(struct virtio_console *con);

#endif
