/* console: virtio-console on the MMIO transport; see console.h. */
#include "vmm/virtio/console.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/uio.h>
#include <unistd.h>

#include "util/log.h"

/* Writes the readable buffers of c to fd through short writes and EINTR, consuming c->iov. */
static int write_chain(int fd, struct virtq_chain *c)
{
	struct iovec *iov = c->iov;
	unsigned n = c->nread;

	while (n) {
		ssize_t r = writev(fd, iov, (int)n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -EIO;
		for (; n && (size_t)r >= iov->iov_len; iov++, n--)
			r -= (ssize_t)iov->iov_len;
		if (n) {
			iov->iov_base = (uint8_t *)iov->iov_base + r;
			iov->iov_len -= (size_t)r;
		}
	}
	return 0;
}

/* The host side going away loses the output, not the guest's ring. */
static uint32_t transmit(struct virtio_mmio *m, struct virtq_chain *chain)
{
	struct virtio_console *con = m->dev;

	if (con->out_fd >= 0 && write_chain(con->out_fd, chain) == 0)
		con->tx_bytes += chain->read_len;
	return 0;
}

/* Lock held. done: the input has ended, never watch it again. */
static void stop_watch(struct virtio_console *con, bool done)
{
	if (con->watching)
		iothread_remove(con->io, &con->watch);
	con->watching = false;
	con->in_done |= done;
}

/* What the input watch does after an event. */
enum watch_next { WATCH_KEEP, WATCH_PAUSE, WATCH_DONE };

/* One read of the input into one posted buffer; lock held, on the I/O thread. */
static enum watch_next receive(struct virtio_console *con, uint32_t events)
{
	struct virtio_mmio *m = &con->mmio;
	struct virtq *q = virtio_mmio_queue(m, VIRTIO_CONSOLE_RX);
	enum watch_next next = WATCH_KEEP;
	struct virtq_chain chain;
	struct error err;
	ssize_t n = 0;
	int r;

	if (!(events & EPOLLIN))
		return WATCH_DONE; /* hang-up or error with nothing left to read */
	if (!q->ready || !(m->status & VIRTIO_STATUS_DRIVER_OK) ||
	    (m->status & VIRTIO_STATUS_NEEDS_RESET))
		return WATCH_PAUSE;
	r = virtq_pop(q, m->mem, &chain, &err);
	if (r == 0)
		return WATCH_PAUSE; /* no buffer: the input waits in the fd */
	if (r > 0 && chain.nwrite) {
		do
			n = readv(con->in_fd, chain.iov + chain.nread, (int)chain.nwrite);
		while (n < 0 && errno == EINTR);
		if (n == 0 || (n < 0 && errno != EAGAIN))
			next = WATCH_DONE;
		n = n < 0 ? 0 : n;
		con->rx_bytes += (uint64_t)n;
	}
	if (r > 0)
		r = virtq_push(q, m->mem, chain.head, (uint32_t)n, &err);
	if (r < 0) {
		virtio_mmio_needs_reset(m, err.msg);
		return WATCH_PAUSE;
	}
	virtio_mmio_signal_used(m, VIRTIO_CONSOLE_RX);
	return next;
}

static void input_ready(void *opaque, uint32_t events)
{
	struct virtio_console *con = opaque;
	enum watch_next next;

	virtio_mmio_lock(&con->mmio);
	/* A watch removed while the I/O thread held its event ignores it. */
	if (con->watching) {
		next = receive(con, events);
		if (next != WATCH_KEEP)
			stop_watch(con, next == WATCH_DONE);
	}
	virtio_mmio_unlock(&con->mmio);
}

/* Lock held. */
static int start_watch(struct virtio_console *con, struct error *err)
{
	int r;

	if (con->watching || con->in_done)
		return 0;
	r = iothread_add(con->io, &con->watch, con->in_fd, EPOLLIN, input_ready, con, err);
	if (r == 0)
		con->watching = true;
	return r;
}

static void console_notify(struct virtio_mmio *m, unsigned queue)
{
	struct virtio_console *con = m->dev;
	struct error err;

	if (queue == VIRTIO_CONSOLE_TX)
		virtio_mmio_answer_all(m, queue, transmit);
	else if (start_watch(con, &err) < 0)
		log_debug("virtio-console: input: %s",
			  err.msg); /* tried again on the next notify */
}

static const struct virtio_device_ops console_ops = {
    .name = "virtio-console",
    .device_id = VIRTIO_ID_CONSOLE,
    .features = 0,
    .num_queues = 2,
    .queue_max = VIRTIO_CONSOLE_QUEUE_MAX,
    .config_size = 0,
    .notify = console_notify,
};

int virtio_console_init(struct virtio_console *con, const struct guest_memory *mem,
			virtio_mmio_irq_fn *irq, void *irq_opaque, struct iothread *io, int in_fd,
			int out_fd, struct error *err)
{
	int r;

	memset(con, 0, sizeof(*con));
	con->in_fd = in_fd;
	con->out_fd = out_fd;
	con->io = in_fd >= 0 ? io : NULL;
	con->in_done = !con->io;
	r = virtio_mmio_init(&con->mmio, &console_ops, con, mem, irq, irq_opaque, err);
	if (r < 0)
		return r;
	virtio_mmio_lock(&con->mmio); /* io may be running already */
	r = start_watch(con, err);
	virtio_mmio_unlock(&con->mmio);
	if (r < 0) {
		virtio_mmio_destroy(&con->mmio);
		return error_wrap(err, "virtio-console input");
	}
	return 0;
}

void virtio_console_destroy(struct virtio_console *con)
{
	if (con->watching)
		iothread_remove(con->io, &con->watch);
	con->watching = false;
	virtio_mmio_destroy(&con->mmio);
}
