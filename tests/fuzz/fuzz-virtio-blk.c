/* fuzz-virtio-blk: virtio-blk requests from a hostile guest, through the real notify path.
 *
 * Input: one flags byte (bit 0: a read-only disk), then the contents of a 64 KiB guest RAM in
 * which the driver has set up a queue of 16 entries: descriptor table at 0x0, available ring at
 * 0x100, used ring at 0x200. The device is brought up through its registers and notified twice
 * against a 64 KiB memfd disk (emptied for every input). Every request must be answered or the
 * device must need a reset; nothing may touch memory outside guest RAM.
 */
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vmm/memory.h"
#include "vmm/virtio/blk.h"
#include "vmm/virtio/mmio.h"

#define RAM_SIZE  (64 * 1024)
#define DISK_SIZE (64 * 1024)
#define QSIZE	  16
#define DESC_GPA  0x0
#define AVAIL_GPA 0x100
#define USED_GPA  0x200

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void wr(struct virtio_mmio *m, uint64_t off, uint32_t v)
{
	virtio_mmio_io(m, off, (uint8_t *)&v, 4, true);
}

static void bring_up(struct virtio_mmio *m)
{
	const uint32_t s = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER;

	wr(m, VIRTIO_MMIO_STATUS, s);
	wr(m, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(m, VIRTIO_MMIO_DRIVER_FEATURES, 1); /* VERSION_1 */
	wr(m, VIRTIO_MMIO_STATUS, s | VIRTIO_STATUS_FEATURES_OK);
	wr(m, VIRTIO_MMIO_QUEUE_SEL, 0);
	wr(m, VIRTIO_MMIO_QUEUE_NUM, QSIZE);
	wr(m, VIRTIO_MMIO_QUEUE_DESC_LOW, DESC_GPA);
	wr(m, VIRTIO_MMIO_QUEUE_DRIVER_LOW, AVAIL_GPA);
	wr(m, VIRTIO_MMIO_QUEUE_DEVICE_LOW, USED_GPA);
	wr(m, VIRTIO_MMIO_QUEUE_READY, 1);
	wr(m, VIRTIO_MMIO_STATUS, s | VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
}

/* The disk, made once: a memfd reopened by path for each input. */
static const char *disk_path(void)
{
	static char path[64];
	int fd;

	if (path[0])
		return path;
	fd = memfd_create("fuzz-virtio-blk", MFD_CLOEXEC);
	if (fd < 0)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	return path;
}

static void run(const uint8_t *ram_in, size_t len, bool readonly)
{
	static struct virtio_blk blk; /* 5 KiB: not on the fuzzer's stack */
	struct guest_memory mem;
	struct error err;
	uint8_t *ram;
	uint64_t answered;

	ram = aligned_alloc(4096, RAM_SIZE);
	if (!ram)
		return;
	memset(ram, 0, RAM_SIZE);
	memcpy(ram, ram_in, len < RAM_SIZE ? len : RAM_SIZE);
	guest_memory_init_buffer(&mem, ram, RAM_SIZE);
	if (virtio_blk_init(&blk, &mem, NULL, NULL, disk_path(), readonly, NULL, &err) < 0)
		abort();
	bring_up(&blk.mmio);
	for (int i = 0; i < 2; i++)
		wr(&blk.mmio, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	answered = blk.mmio.queues[0].used_idx;
	if (blk.requests > 2 * QSIZE || answered != blk.requests % 65536)
		abort(); /* every popped request is answered exactly once */
	virtio_blk_destroy(&blk);
	free(ram);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fd;

	if (size < 1)
		return 0;
	fd = open(disk_path(), O_RDWR | O_CLOEXEC);
	if (fd < 0 || ftruncate(fd, 0) < 0 || ftruncate(fd, DISK_SIZE) < 0)
		abort();
	close(fd);
	run(data + 1, size - 1, data[0] & 1);
	return 0;
}
