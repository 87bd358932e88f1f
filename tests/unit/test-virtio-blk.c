/* test-virtio-blk: virtio-blk driven through its registers as a guest driver would, on a temp
 * file: read/write round trips checked against the file, flush, GET_ID, discard and write
 * zeroes, a read-only disk, out-of-range and overflowing sectors, malformed chains (short
 * header, no status byte, data the wrong way, unknown type), the pure request parser, and the
 * init errors that name the path. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "vmm/memory.h"
#include "vmm/virtio/blk.h"
#include "vmm/virtio/mmio.h"
#include "vmm/virtio/virtq.h"

#define MEM_SIZE   (1 << 20)
#define QSIZE	   16
#define DESC_GPA   0x1000
#define AVAIL_GPA  0x2000
#define USED_GPA   0x3000
#define HDR_GPA	   0x4000
#define STATUS_GPA 0x4100
#define DATA_GPA   0x10000
#define SECTORS	   64 /* the test disk: 32 KiB */

struct fx {
	uint8_t *buf;
	struct guest_memory mem;
	struct virtio_blk blk;
	char path[64];
	int fd; /* the test's own view of the disk */
	uint16_t avail_idx;
	uint32_t used_len;
};

struct seg {
	uint64_t gpa;
	uint32_t len;
	bool write;
};

static uint32_t rd(struct virtio_mmio *m, uint64_t off)
{
	uint32_t v = 0xdeadbeef;

	virtio_mmio_io(m, off, (uint8_t *)&v, 4, false);
	return v;
}

static void wr(struct virtio_mmio *m, uint64_t off, uint32_t v)
{
	virtio_mmio_io(m, off, (uint8_t *)&v, 4, true);
}

static void bring_up(struct virtio_mmio *m)
{
	const uint32_t s = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER;

	wr(m, VIRTIO_MMIO_STATUS, s);
	wr(m, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(m, VIRTIO_MMIO_DRIVER_FEATURES, rd(m, VIRTIO_MMIO_DEVICE_FEATURES));
	wr(m, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(m, VIRTIO_MMIO_DRIVER_FEATURES, 1); /* VERSION_1 */
	wr(m, VIRTIO_MMIO_STATUS, s | VIRTIO_STATUS_FEATURES_OK);
	assert_true(rd(m, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK);
	wr(m, VIRTIO_MMIO_QUEUE_SEL, 0);
	assert_int_equal(rd(m, VIRTIO_MMIO_QUEUE_NUM_MAX), VIRTIO_BLK_QUEUE_MAX);
	wr(m, VIRTIO_MMIO_QUEUE_NUM, QSIZE);
	wr(m, VIRTIO_MMIO_QUEUE_DESC_LOW, DESC_GPA);
	wr(m, VIRTIO_MMIO_QUEUE_DRIVER_LOW, AVAIL_GPA);
	wr(m, VIRTIO_MMIO_QUEUE_DEVICE_LOW, USED_GPA);
	wr(m, VIRTIO_MMIO_QUEUE_READY, 1);
	wr(m, VIRTIO_MMIO_STATUS, s | VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
}

static void fill_pattern(uint8_t *p, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(i * 7 + seed + i / 512);
}

/* A fresh test disk of SECTORS sectors with a known pattern. */
static int make_disk(char *path, size_t size)
{
	uint8_t data[SECTORS * 512];
	int fd;

	strcpy(path, "/tmp/vessel-blk-XXXXXX");
	fd = mkstemp(path);
	if (fd < 0)
		return -1;
	fill_pattern(data, sizeof(data), 1);
	if (pwrite(fd, data, size < sizeof(data) ? size : sizeof(data), 0) < 0 ||
	    ftruncate(fd, (off_t)size) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int setup_mode(void **state, bool readonly)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct error err;

	if (!f)
		return -1;
	f->buf = aligned_alloc(4096, MEM_SIZE);
	f->fd = f->buf ? make_disk(f->path, SECTORS * 512) : -1;
	if (f->fd < 0)
		return -1;
	memset(f->buf, 0, MEM_SIZE);
	guest_memory_init_buffer(&f->mem, f->buf, MEM_SIZE);
	if (virtio_blk_init(&f->blk, &f->mem, NULL, NULL, f->path, readonly, NULL, &err) < 0) {
		print_error("init: %s\n", err.msg);
		return -1;
	}
	bring_up(&f->blk.mmio);
	*state = f;
	return 0;
}

static int setup(void **state)
{
	return setup_mode(state, false);
}

static int setup_ro(void **state)
{
	return setup_mode(state, true);
}

static int teardown(void **state)
{
	struct fx *f = *state;

	virtio_blk_destroy(&f->blk);
	close(f->fd);
	unlink(f->path);
	free(f->buf);
	free(f);
	return 0;
}

static void put_desc(uint8_t *buf, unsigned idx, uint64_t addr, uint32_t len, uint16_t flags,
		     uint16_t next)
{
	struct virtq_desc d = {.addr = addr, .len = len, .flags = flags, .next = next};

	memcpy(buf + DESC_GPA + 16 * idx, &d, sizeof(d));
}

/* Posts one chain of segs (descriptors 0..n-1), notifies, and returns the used length. */
static uint32_t submit(struct fx *f, const struct seg *segs, unsigned n)
{
	uint16_t *avail = (uint16_t *)(void *)(f->buf + AVAIL_GPA);
	const uint16_t *used = (const uint16_t *)(const void *)(f->buf + USED_GPA);
	const struct virtq_used_elem *elem = (const void *)(f->buf + USED_GPA + 4);

	for (unsigned i = 0; i < n; i++)
		put_desc(f->buf, i, segs[i].gpa, segs[i].len,
			 (uint16_t)((segs[i].write ? VIRTQ_DESC_F_WRITE : 0) |
				    (i + 1 < n ? VIRTQ_DESC_F_NEXT : 0)),
			 (uint16_t)(i + 1));
	avail[2 + f->avail_idx % QSIZE] = 0;
	avail[1] = ++f->avail_idx;
	wr(&f->blk.mmio, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_int_equal(used[1], f->avail_idx);
	assert_int_equal(elem[(f->avail_idx - 1) % QSIZE].id, 0);
	f->used_len = elem[(f->avail_idx - 1) % QSIZE].len;
	return f->used_len;
}

static void put_header(struct fx *f, uint32_t type, uint64_t sector)
{
	struct virtio_blk_header h = {.type = type, .sector = sector};

	memcpy(f->buf + HDR_GPA, &h, sizeof(h));
}

/* The usual three-part request: header, data (when len), status; returns the status byte. */
static uint8_t request(struct fx *f, uint32_t type, uint64_t sector, uint32_t len, bool write)
{
	struct seg segs[3] = {{HDR_GPA, 16, false}};
	unsigned n = 1;

	put_header(f, type, sector);
	if (len)
		segs[n++] = (struct seg){DATA_GPA, len, write};
	segs[n++] = (struct seg){STATUS_GPA, 1, true};
	f->buf[STATUS_GPA] = 0xee;
	submit(f, segs, n);
	return f->buf[STATUS_GPA];
}

static void file_read(struct fx *f, uint64_t off, void *p, size_t len)
{
	assert_int_equal(pread(f->fd, p, len, (off_t)off), (ssize_t)len);
}

static void test_identity(void **state)
{
	struct fx *f = *state;
	struct virtio_mmio *m = &f->blk.mmio;
	uint64_t cap = 0;
	uint32_t feat;

	assert_int_equal(rd(m, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_BLOCK);
	wr(m, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	feat = rd(m, VIRTIO_MMIO_DEVICE_FEATURES);
	assert_int_equal(feat, VIRTIO_BLK_F_SEG_MAX | VIRTIO_BLK_F_BLK_SIZE | VIRTIO_BLK_F_FLUSH |
				   VIRTIO_BLK_F_DISCARD | VIRTIO_BLK_F_WRITE_ZEROES);
	virtio_mmio_io(m, VIRTIO_MMIO_CONFIG, (uint8_t *)&cap, 8, false);
	assert_int_equal(cap, SECTORS);
	assert_int_equal(rd(m, VIRTIO_MMIO_CONFIG + 12), VIRTIO_BLK_SEG_MAX);
	assert_int_equal(rd(m, VIRTIO_MMIO_CONFIG + 20), 512);
	assert_int_equal(rd(m, VIRTIO_MMIO_CONFIG + 36), UINT32_MAX);
	assert_int_equal(rd(m, VIRTIO_MMIO_CONFIG + 40), VIRTIO_BLK_DISCARD_SEGS);
	assert_int_equal(rd(m, VIRTIO_MMIO_CONFIG + 56) & 0xff, 1);
	assert_int_equal(rd(m, VIRTIO_MMIO_CONFIG + VIRTIO_BLK_CONFIG_SIZE), 0); /* past the end */
}

static void test_read_write(void **state)
{
	struct fx *f = *state;
	static uint8_t disk[SECTORS * 512];
	uint8_t want[2048], got[2048];
	const struct seg split_in[] = {
	    {HDR_GPA, 16, false},
	    {DATA_GPA, 1000, true},
	    {DATA_GPA + 4096, 536, true},
	    {STATUS_GPA, 1, true},
	};
	const struct seg joined_out[] = {
	    {DATA_GPA - 16, 16 + 1024, false}, /* header and data in one buffer */
	    {STATUS_GPA, 1, true},
	};
	const struct seg joined_in[] = {
	    {HDR_GPA, 16, false}, {DATA_GPA, 512 + 1, true}, /* data and status in one buffer */
	};

	/* IN of sectors 2..4 into two buffers of odd sizes. */
	put_header(f, VIRTIO_BLK_T_IN, 2);
	assert_int_equal(submit(f, split_in, 4), 1536 + 1);
	assert_int_equal(f->buf[STATUS_GPA], VIRTIO_BLK_S_OK);
	file_read(f, 2 * 512, want, 1536);
	assert_memory_equal(f->buf + DATA_GPA, want, 1000);
	assert_memory_equal(f->buf + DATA_GPA + 4096, want + 1000, 536);

	/* OUT of 2 sectors at sector 10, header and data sharing a buffer. */
	fill_pattern(want, 1024, 99);
	memcpy(f->buf + DATA_GPA, want, 1024);
	put_header(f, VIRTIO_BLK_T_OUT, 10);
	memcpy(f->buf + DATA_GPA - 16, f->buf + HDR_GPA, 16);
	assert_int_equal(submit(f, joined_out, 2), 1);
	assert_int_equal(f->buf[STATUS_GPA], VIRTIO_BLK_S_OK);
	file_read(f, 10 * 512, got, 1024);
	assert_memory_equal(got, want, 1024);
	file_read(f, 9 * 512, got, 512); /* the neighbours are untouched */
	fill_pattern(disk, sizeof(disk), 1);
	assert_memory_equal(got, disk + 9 * 512, 512);

	/* IN of the last sector, the status at the end of the data buffer. */
	put_header(f, VIRTIO_BLK_T_IN, SECTORS - 1);
	assert_int_equal(submit(f, joined_in, 2), 513);
	assert_int_equal(f->buf[DATA_GPA + 512], VIRTIO_BLK_S_OK);
	file_read(f, (SECTORS - 1) * 512, want, 512);
	assert_memory_equal(f->buf + DATA_GPA, want, 512);
	assert_int_equal(f->blk.errors, 0);
}

static void test_flush_get_id(void **state)
{
	struct fx *f = *state;
	const char *name = strrchr(f->path, '/') + 1;
	struct virtio_blk other;
	struct error err;
	char id[VIRTIO_BLK_ID_BYTES] = {0};

	assert_int_equal(request(f, VIRTIO_BLK_T_FLUSH, 0, 0, false), VIRTIO_BLK_S_OK);
	assert_int_equal(f->used_len, 1);

	memset(f->buf + DATA_GPA, 0xaa, 32);
	assert_int_equal(request(f, VIRTIO_BLK_T_GET_ID, 0, 20, true), VIRTIO_BLK_S_OK);
	assert_int_equal(f->used_len, 21);
	memcpy(id, name, strlen(name)); /* the file's name, zero padded */
	assert_memory_equal(f->buf + DATA_GPA, id, 20);
	assert_int_equal(f->buf[DATA_GPA + 20], 0xaa);

	/* A short buffer gets what fits; no buffer is an error. */
	assert_int_equal(request(f, VIRTIO_BLK_T_GET_ID, 0, 8, true), VIRTIO_BLK_S_OK);
	assert_int_equal(f->used_len, 9);
	assert_int_equal(request(f, VIRTIO_BLK_T_GET_ID, 0, 0, true), VIRTIO_BLK_S_IOERR);

	/* A given serial, cut to 20 bytes. */
	assert_int_equal(virtio_blk_init(&other, &f->mem, NULL, NULL, f->path, true,
					 "serial-0123456789abcdefgh", &err),
			 0);
	assert_memory_equal(other.serial, "serial-0123456789abc", 20);
	virtio_blk_destroy(&other);
}

/* A discard range at sector, for num sectors. */
static void put_range(struct fx *f, unsigned i, uint64_t sector, uint32_t num, uint32_t flags)
{
	struct virtio_blk_range r = {.sector = sector, .num_sectors = num, .flags = flags};

	memcpy(f->buf + DATA_GPA + 16 * i, &r, sizeof(r));
}

static bool can_punch(int fd)
{
	return fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 512) == 0;
}

static void test_discard(void **state)
{
	struct fx *f = *state;
	uint8_t data[16 * 512], zero[16 * 512] = {0};
	struct stat before, after;

	if (!can_punch(f->fd))
		skip(); /* the temp file system cannot punch holes */
	fill_pattern(data, sizeof(data), 5);
	assert_int_equal(pwrite(f->fd, data, sizeof(data), 16 * 512), (ssize_t)sizeof(data));
	assert_int_equal(fsync(f->fd), 0);
	assert_int_equal(fstat(f->fd, &before), 0);

	put_range(f, 0, 16, 16, 0);
	assert_int_equal(request(f, VIRTIO_BLK_T_DISCARD, 0, 16, false), VIRTIO_BLK_S_OK);
	assert_int_equal(fstat(f->fd, &after), 0);
	assert_true(after.st_blocks < before.st_blocks);
	assert_int_equal(after.st_size, SECTORS * 512);
	assert_int_equal(lseek(f->fd, 16 * 512, SEEK_HOLE), 16 * 512);
	file_read(f, 16 * 512, data, sizeof(data));
	assert_memory_equal(data, zero, sizeof(data));

	/* Out of range, overflowing, flagged, too many or no ranges: refused. */
	put_range(f, 0, SECTORS - 1, 2, 0);
	assert_int_equal(request(f, VIRTIO_BLK_T_DISCARD, 0, 16, false), VIRTIO_BLK_S_IOERR);
	put_range(f, 0, UINT64_MAX, 2, 0);
	assert_int_equal(request(f, VIRTIO_BLK_T_DISCARD, 0, 16, false), VIRTIO_BLK_S_IOERR);
	put_range(f, 0, 0, 1, VIRTIO_BLK_WRITE_ZEROES_F_UNMAP);
	assert_int_equal(request(f, VIRTIO_BLK_T_DISCARD, 0, 16, false), VIRTIO_BLK_S_UNSUPP);
	assert_int_equal(
	    request(f, VIRTIO_BLK_T_DISCARD, 0, 16 * (VIRTIO_BLK_DISCARD_SEGS + 1), false),
	    VIRTIO_BLK_S_IOERR);
	assert_int_equal(request(f, VIRTIO_BLK_T_DISCARD, 0, 24, false), VIRTIO_BLK_S_IOERR);
	assert_int_equal(request(f, VIRTIO_BLK_T_DISCARD, 0, 0, false), VIRTIO_BLK_S_IOERR);
	/* Ranges written by the device side (writable): the wrong direction. */
	put_range(f, 0, 0, 1, 0);
	assert_int_equal(request(f, VIRTIO_BLK_T_DISCARD, 0, 16, true), VIRTIO_BLK_S_IOERR);
}

static void test_write_zeroes(void **state)
{
	struct fx *f = *state;
	uint8_t got[4 * 512], want[SECTORS * 512], zero[4 * 512] = {0};

	fill_pattern(want, sizeof(want), 1);
	put_range(f, 0, 4, 2, 0);
	put_range(f, 1, 8, 2, VIRTIO_BLK_WRITE_ZEROES_F_UNMAP);
	put_range(f, 2, 20, 0, 0); /* empty: nothing to do */
	assert_int_equal(request(f, VIRTIO_BLK_T_WRITE_ZEROES, 0, 48, false), VIRTIO_BLK_S_OK);
	file_read(f, 4 * 512, got, sizeof(got));
	assert_memory_equal(got, zero, 2 * 512);
	assert_memory_equal(got + 1024, want + 6 * 512, 2 * 512);
	file_read(f, 8 * 512, got, 2 * 512);
	assert_memory_equal(got, zero, 2 * 512);
	file_read(f, 3 * 512, got, 512);
	assert_memory_equal(got, want + 3 * 512, 512);
	put_range(f, 0, 0, 1, 2); /* an unknown flag */
	assert_int_equal(request(f, VIRTIO_BLK_T_WRITE_ZEROES, 0, 16, false), VIRTIO_BLK_S_UNSUPP);
}

static void test_readonly(void **state)
{
	struct fx *f = *state;
	struct virtio_mmio *m = &f->blk.mmio;
	uint8_t want[SECTORS * 512], got[SECTORS * 512];

	wr(m, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	assert_int_equal(rd(m, VIRTIO_MMIO_DEVICE_FEATURES),
			 VIRTIO_BLK_F_SEG_MAX | VIRTIO_BLK_F_BLK_SIZE | VIRTIO_BLK_F_FLUSH |
			     VIRTIO_BLK_F_RO);
	fill_pattern(want, sizeof(want), 1);
	memset(f->buf + DATA_GPA, 0x55, 1024);
	assert_int_equal(request(f, VIRTIO_BLK_T_OUT, 0, 1024, false), VIRTIO_BLK_S_IOERR);
	put_range(f, 0, 0, 4, 0);
	assert_int_equal(request(f, VIRTIO_BLK_T_DISCARD, 0, 16, false), VIRTIO_BLK_S_IOERR);
	assert_int_equal(request(f, VIRTIO_BLK_T_WRITE_ZEROES, 0, 16, false), VIRTIO_BLK_S_IOERR);
	file_read(f, 0, got, sizeof(got));
	assert_memory_equal(got, want, sizeof(got));
	assert_int_equal(request(f, VIRTIO_BLK_T_IN, 1, 512, true), VIRTIO_BLK_S_OK);
	assert_memory_equal(f->buf + DATA_GPA, want + 512, 512);
	assert_int_equal(request(f, VIRTIO_BLK_T_FLUSH, 0, 0, false), VIRTIO_BLK_S_OK);
	assert_int_equal(f->blk.errors, 3);
}

static void test_ranges(void **state)
{
	struct fx *f = *state;

	assert_int_equal(request(f, VIRTIO_BLK_T_IN, SECTORS, 512, true), VIRTIO_BLK_S_IOERR);
	assert_int_equal(request(f, VIRTIO_BLK_T_IN, SECTORS - 1, 1024, true), VIRTIO_BLK_S_IOERR);
	assert_int_equal(request(f, VIRTIO_BLK_T_OUT, SECTORS - 1, 1024, false),
			 VIRTIO_BLK_S_IOERR);
	/* sector + length overflows 64 bits, and sector * 512 does. */
	assert_int_equal(request(f, VIRTIO_BLK_T_IN, UINT64_MAX, 512, true), VIRTIO_BLK_S_IOERR);
	assert_int_equal(request(f, VIRTIO_BLK_T_IN, UINT64_MAX / 512 + 1, 512, true),
			 VIRTIO_BLK_S_IOERR);
	/* Not whole sectors; larger than the disk. */
	assert_int_equal(request(f, VIRTIO_BLK_T_IN, 0, 100, true), VIRTIO_BLK_S_IOERR);
	assert_int_equal(request(f, VIRTIO_BLK_T_OUT, 0, 513, false), VIRTIO_BLK_S_IOERR);
	assert_int_equal(request(f, VIRTIO_BLK_T_IN, 0, (SECTORS + 8) * 512, true),
			 VIRTIO_BLK_S_IOERR);
	/* Zero length at the very end: nothing to move, not out of range. */
	assert_int_equal(request(f, VIRTIO_BLK_T_IN, SECTORS, 0, true), VIRTIO_BLK_S_OK);
	assert_int_equal(f->used_len, 1);
	/* The whole disk at once. */
	assert_int_equal(request(f, VIRTIO_BLK_T_IN, 0, SECTORS * 512, true), VIRTIO_BLK_S_OK);
	assert_int_equal(f->used_len, SECTORS * 512 + 1);
	assert_int_equal(f->blk.errors, 8);
	/* The file shrank behind the device's back: an error, not a loop at end of file. */
	assert_int_equal(ftruncate(f->fd, 32 * 512), 0);
	assert_int_equal(request(f, VIRTIO_BLK_T_IN, 31, 1024, true), VIRTIO_BLK_S_IOERR);
	assert_int_equal(f->used_len, 512 + 1);
}

static void test_malformed(void **state)
{
	struct fx *f = *state;
	struct virtio_mmio *m = &f->blk.mmio;
	const struct seg short_hdr[] = {{HDR_GPA, 8, false}, {STATUS_GPA, 1, true}};
	const struct seg no_status[] = {{HDR_GPA, 16, false}, {DATA_GPA, 512, false}};
	const struct seg huge[] = {{HDR_GPA, 16, false}, {DATA_GPA, 0xffffffff, true}};
	uint8_t before[512], after[512];

	f->buf[STATUS_GPA] = 0xee;
	put_header(f, VIRTIO_BLK_T_IN, 0);
	assert_int_equal(submit(f, short_hdr, 2), 1);
	assert_int_equal(f->buf[STATUS_GPA], VIRTIO_BLK_S_IOERR);

	/* No writable byte for the status: returned untouched, the device goes on. */
	memset(f->buf + DATA_GPA, 0x11, 512);
	put_header(f, VIRTIO_BLK_T_OUT, 0);
	file_read(f, 0, before, 512);
	assert_int_equal(submit(f, no_status, 2), 0);
	file_read(f, 0, after, 512);
	assert_memory_equal(before, after, 512);
	assert_false(rd(m, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);

	/* Data the wrong way round: OUT from a writable buffer, IN into a readable one. */
	assert_int_equal(request(f, VIRTIO_BLK_T_OUT, 0, 512, true), VIRTIO_BLK_S_IOERR);
	file_read(f, 0, after, 512);
	assert_memory_equal(before, after, 512);
	assert_int_equal(request(f, VIRTIO_BLK_T_IN, 0, 512, false), VIRTIO_BLK_S_IOERR);
	assert_int_equal(request(f, 99, 0, 512, true), VIRTIO_BLK_S_UNSUPP);
	assert_int_equal(request(f, VIRTIO_BLK_T_IN, 0, 512, true), VIRTIO_BLK_S_OK);

	/* A buffer beyond guest RAM: the ring is broken, NEEDS_RESET, nothing used. */
	put_desc(f->buf, 0, huge[0].gpa, huge[0].len, VIRTQ_DESC_F_NEXT, 1);
	put_desc(f->buf, 1, huge[1].gpa, huge[1].len, VIRTQ_DESC_F_WRITE, 0);
	((uint16_t *)(void *)(f->buf + AVAIL_GPA))[1] = ++f->avail_idx;
	wr(m, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	assert_true(rd(m, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
	assert_int_equal(((uint16_t *)(void *)(f->buf + USED_GPA))[1], f->avail_idx - 1);

	/* After a reset the driver starts over and the device works. */
	wr(m, VIRTIO_MMIO_STATUS, 0);
	f->avail_idx = 0;
	memset(f->buf + AVAIL_GPA, 0, 0x2000);
	bring_up(m);
	assert_int_equal(request(f, VIRTIO_BLK_T_IN, 0, 512, true), VIRTIO_BLK_S_OK);
	assert_memory_equal(f->buf + DATA_GPA, before, 512);
}

/* The parser alone, on iovecs a test builds. */
static void test_parse(void **state)
{
	static uint8_t mem[2048];
	static struct virtq_chain c;
	static struct virtio_blk_req req;
	struct virtio_blk_header h = {.type = VIRTIO_BLK_T_OUT, .sector = 3};

	/* The header split 8 + 8, the data after it in the second buffer. */
	memcpy(mem, &h, 8);
	memcpy(mem + 100, (uint8_t *)&h + 8, 8);
	c.iov[0] = (struct iovec){mem, 8};
	c.iov[1] = (struct iovec){mem + 100, 8 + 512};
	c.iov[2] = (struct iovec){mem + 1000, 1};
	c.nread = 2;
	c.nwrite = 1;
	c.read_len = 528;
	c.write_len = 1;
	assert_int_equal(virtio_blk_parse(&c, 8, &req), 0);
	assert_int_equal(req.status, VIRTIO_BLK_S_OK);
	assert_int_equal(req.type, VIRTIO_BLK_T_OUT);
	assert_int_equal(req.sector, 3);
	assert_int_equal(req.niov, 1);
	assert_ptr_equal(req.iov[0].iov_base, mem + 108);
	assert_int_equal(req.iov[0].iov_len, 512);
	assert_ptr_equal(req.status_byte, mem + 1000);
	assert_int_equal(virtio_blk_parse(&c, 3, &req), 0); /* a disk of 3 sectors */
	assert_int_equal(req.status, VIRTIO_BLK_S_IOERR);

	/* sector + length wraps around 64 bits. */
	h = (struct virtio_blk_header){.type = VIRTIO_BLK_T_IN, .sector = UINT64_MAX};
	memcpy(mem, &h, 16);
	c.iov[0] = (struct iovec){mem, 16};
	c.iov[1] = (struct iovec){mem + 100, 512 + 1};
	c.nread = c.nwrite = 1;
	c.read_len = 16;
	c.write_len = 513;
	assert_int_equal(virtio_blk_parse(&c, 8, &req), 0);
	assert_int_equal(req.status, VIRTIO_BLK_S_IOERR);
	assert_ptr_equal(req.status_byte, mem + 100 + 512);

	/* No writable part: nothing to answer in. */
	c.nwrite = 0;
	c.write_len = 0;
	assert_int_equal(virtio_blk_parse(&c, 8, &req), -EINVAL);
}

/* Runs virtio_blk_init(path, rw) in a child (after prepare, which may drop privileges or
 * mount) and returns its error message in msg; "" when init worked, "SKIP" when prepare
 * could not run. */
static void init_in_child(const char *path, int (*prepare)(const char *), char *msg, size_t size)
{
	int p[2];
	pid_t pid;
	ssize_t n;

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct virtio_blk blk;
		struct error err = {0};

		if (prepare(path) < 0)
			strcpy(err.msg, "SKIP");
		else if (virtio_blk_init(&blk, NULL, NULL, NULL, path, false, NULL, &err) == 0)
			err.msg[0] = '\0';
		if (write(p[1], err.msg, strlen(err.msg)) < 0)
			_exit(1);
		_exit(0);
	}
	close(p[1]);
	n = read(p[0], msg, size - 1);
	msg[n > 0 ? n : 0] = '\0';
	close(p[0]);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
}

static int drop_privileges(const char *path)
{
	if (geteuid() != 0)
		return 0; /* the file's mode denies already */
	if (setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) < 0 ||
	    setresuid(65534, 65534, 65534) < 0)
		return -1;
	return 0;
}

/* A private mount namespace with a read-only tmpfs on the file's directory. */
static int read_only_mount(const char *path)
{
	char dir[64];
	int fd;

	snprintf(dir, sizeof(dir), "%.*s", (int)(strrchr(path, '/') - path), path);
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("tmpfs", dir, "tmpfs", 0, "size=64k") < 0)
		return -1;
	fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
	if (fd < 0 || ftruncate(fd, 4096) < 0 || close(fd) < 0)
		return -1;
	return mount(NULL, dir, NULL, MS_REMOUNT | MS_RDONLY, NULL);
}

static void test_init_errors(void **state)
{
	char dir[] = "/tmp/vessel-blk-dir-XXXXXX", path[128], msg[1024], want[1024];
	struct virtio_blk blk;
	struct error err;
	int fd;

	assert_int_equal(
	    virtio_blk_init(&blk, NULL, NULL, NULL, "/nonexistent/x", true, NULL, &err), -ENOENT);
	assert_string_equal(err.msg, "--disk /nonexistent/x: No such file or directory");
	virtio_blk_destroy(&blk); /* safe after a failed init */

	assert_non_null(mkdtemp(dir));
	assert_true(virtio_blk_init(&blk, NULL, NULL, NULL, dir, true, NULL, &err) < 0);
	assert_non_null(strstr(err.msg, "Is a directory"));
	assert_int_equal(strncmp(err.msg, "--disk /tmp/vessel-blk-dir-", 27), 0);
	assert_true(virtio_blk_init(&blk, NULL, NULL, NULL, "/dev/null", false, NULL, &err) < 0);
	assert_string_equal(err.msg, "--disk /dev/null: not a regular file");

	snprintf(path, sizeof(path), "%s/odd", dir);
	fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0444);
	assert_true(fd >= 0);
	close(fd);
	assert_true(virtio_blk_init(&blk, NULL, NULL, NULL, path, true, NULL, &err) < 0);
	assert_non_null(strstr(err.msg, "size 0 is not a positive multiple of 512"));
	assert_int_equal(truncate(path, 1000), 0);
	assert_true(virtio_blk_init(&blk, NULL, NULL, NULL, path, true, NULL, &err) < 0);
	assert_non_null(strstr(err.msg, "size 1000 is not"));

	/* Asked read-write: a file only readable by its owner, and a read-only file system. */
	assert_int_equal(truncate(path, 4096), 0);
	assert_int_equal(chmod(dir, 0755), 0);
	init_in_child(path, drop_privileges, msg, sizeof(msg));
	unlink(path);
	snprintf(want, sizeof(want), "--disk %s: Permission denied", path);
	assert_string_equal(msg, want);

	snprintf(path, sizeof(path), "%s/ro", dir);
	init_in_child(path, read_only_mount, msg, sizeof(msg));
	rmdir(dir);
	if (strcmp(msg, "SKIP") == 0)
		skip(); /* no mount namespace here */
	snprintf(want, sizeof(want), "--disk %s: Read-only file system", path);
	assert_string_equal(msg, want);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_identity, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_read_write, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_flush_get_id, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_discard, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_write_zeroes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_readonly, setup_ro, teardown),
	    cmocka_unit_test_setup_teardown(test_ranges, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
	    cmocka_unit_test(test_parse),
	    cmocka_unit_test(test_init_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
