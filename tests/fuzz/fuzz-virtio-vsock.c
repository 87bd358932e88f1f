/* fuzz-virtio-vsock: the vsock packet parser and the device's tx/rx queue processing on
 * guest-written memory.
 *
 * Input: 4 bytes (tx and rx queue size exponents, an 8-step script whose bit i notifies rx
 * when set and tx when clear, and a byte whose bit i resets the device after step i and whose
 * low bits pick a config read), then the contents of a 64 KiB guest RAM holding the rings
 * at fixed addresses (tx: desc 0x0000, avail 0x1000, used 0x1400; rx: desc 0x2000, avail
 * 0x3000, used 0x3400) and whatever the descriptors point at. The input is also parsed as one
 * packet split in three. The device's host side is real: its socket lives in a directory under
 * /tmp, with a listener on port 5000 that never accepts, so guest connections get established.
 * The I/O thread is not started: nothing happens on the host side between notifies.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "vmm/iothread.h"
#include "vmm/memory.h"
#include "vmm/virtio/mmio.h"
#include "vmm/virtio/vsock-conn.h"
#include "vmm/virtio/vsock.h"

#define RAM_SIZE  (64 * 1024)
#define GUEST_CID 3

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Set up once: the harness's host side. */
struct host {
	struct iothread io;
	char dir[32];
	char path[64];
	char listen_path[80];
	int listen_fd; /* "<path>_5000" */
};

static struct host host;

static void host_cleanup(void)
{
	close(host.listen_fd);
	unlink(host.listen_path);
	unlink(host.path);
	rmdir(host.dir);
	iothread_destroy(&host.io);
}

static struct host *host_get(void)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	struct error err;

	if (host.path[0])
		return &host;
	strcpy(host.dir, "/tmp/fuzz-vsock-XXXXXX");
	if (!mkdtemp(host.dir) || iothread_init(&host.io, &err) < 0)
		abort();
	snprintf(host.path, sizeof(host.path), "%s/v", host.dir);
	snprintf(host.listen_path, sizeof(host.listen_path), "%s_5000", host.path);
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", host.listen_path);
	host.listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (host.listen_fd < 0 || bind(host.listen_fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    listen(host.listen_fd, 4096) < 0)
		abort();
	atexit(host_cleanup);
	return &host;
}

static void wr(struct virtio_mmio *m, uint64_t off, uint32_t v)
{
	virtio_mmio_io(m, off, (uint8_t *)&v, 4, true);
}

static void queue(struct virtio_mmio *m, unsigned q, uint32_t size, uint32_t base)
{
	wr(m, VIRTIO_MMIO_QUEUE_SEL, q);
	wr(m, VIRTIO_MMIO_QUEUE_NUM, size);
	wr(m, VIRTIO_MMIO_QUEUE_DESC_LOW, base);
	wr(m, VIRTIO_MMIO_QUEUE_DRIVER_LOW, base + 0x1000);
	wr(m, VIRTIO_MMIO_QUEUE_DEVICE_LOW, base + 0x1400);
	wr(m, VIRTIO_MMIO_QUEUE_READY, 1);
}

static void bring_up(struct virtio_mmio *m, const uint8_t *cfg)
{
	const uint32_t s = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER;
	uint8_t cid[8];

	wr(m, VIRTIO_MMIO_STATUS, s);
	wr(m, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(m, VIRTIO_MMIO_DRIVER_FEATURES, 1);
	wr(m, VIRTIO_MMIO_STATUS, s | VIRTIO_STATUS_FEATURES_OK);
	queue(m, VIRTIO_VSOCK_TX, 1u << (cfg[0] % 9), 0x0000);
	queue(m, VIRTIO_VSOCK_RX, 1u << (cfg[1] % 9), 0x2000);
	wr(m, VIRTIO_MMIO_STATUS, s | VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
	virtio_mmio_io(m, VIRTIO_MMIO_CONFIG + (cfg[3] & 7), cid, 1u << (cfg[3] >> 3 & 3), false);
}

static void check_parse(const uint8_t *data, size_t size)
{
	struct iovec iov[3];
	struct virtio_vsock_hdr h;
	size_t a = size ? data[0] % (size + 1) : 0, b = size > 1 ? data[1] % (size + 1) : 0;

	if (a > b) {
		size_t t = a;
		a = b;
		b = t;
	}
	iov[0] = (struct iovec){(void *)data, a};
	iov[1] = (struct iovec){(void *)(data + a), b - a};
	iov[2] = (struct iovec){(void *)(data + b), size - b};
	if (virtio_vsock_parse(iov, 3, GUEST_CID, &h) != VIRTIO_VSOCK_PKT_OK)
		return;
	if (size < VIRTIO_VSOCK_HDR_SIZE || h.len > size - VIRTIO_VSOCK_HDR_SIZE ||
	    h.len > VIRTIO_VSOCK_MAX_PAYLOAD || h.type != VIRTIO_VSOCK_TYPE_STREAM ||
	    h.op == VIRTIO_VSOCK_OP_INVALID || h.op >= VIRTIO_VSOCK_OP_MAX ||
	    h.src_cid != GUEST_CID || h.dst_cid != VIRTIO_VSOCK_HOST_CID)
		abort();
}

static void check_device(struct virtio_vsock *vs)
{
	struct vsock_conn *c;
	unsigned n = 0;

	for (c = TAILQ_FIRST(&vs->conns); c; c = TAILQ_NEXT(c, link)) {
		if (c->out_len > VIRTIO_VSOCK_CONN_BUF ||
		    c->out_off + c->out_len > VIRTIO_VSOCK_CONN_BUF)
			abort();
		n++;
	}
	if (n != vs->nconns || n > VIRTIO_VSOCK_MAX_CONNS || vs->rst_len > VIRTIO_VSOCK_RST_QUEUE)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct host *h = host_get();
	struct guest_memory mem;
	struct virtio_vsock vs;
	struct error err;
	uint8_t *ram;
	int fd;

	check_parse(data, size);
	if (size < 4)
		return 0;
	ram = aligned_alloc(4096, RAM_SIZE);
	if (!ram)
		return 0;
	memset(ram, 0, RAM_SIZE);
	memcpy(ram, data + 4, size - 4 < RAM_SIZE ? size - 4 : RAM_SIZE);
	guest_memory_init_buffer(&mem, ram, RAM_SIZE);
	if (virtio_vsock_init(&vs, &mem, NULL, NULL, &h->io, GUEST_CID, h->path, &err) < 0)
		abort();
	bring_up(&vs.mmio, data);
	for (unsigned i = 0; i < 8; i++) {
		wr(&vs.mmio, VIRTIO_MMIO_QUEUE_NOTIFY,
		   data[2] >> i & 1 ? VIRTIO_VSOCK_RX : VIRTIO_VSOCK_TX);
		check_device(&vs);
		if (data[3] >> i & 1) { /* a driver reset mid-stream, then up again */
			wr(&vs.mmio, VIRTIO_MMIO_STATUS, 0);
			bring_up(&vs.mmio, data);
		}
	}
	virtio_vsock_destroy(&vs);
	while ((fd = accept(h->listen_fd, NULL, NULL)) >= 0)
		close(fd);
	free(ram);
	return 0;
}
