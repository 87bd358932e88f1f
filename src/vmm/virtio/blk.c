/* blk: virtio-blk on the MMIO transport; see blk.h. */
#include "vmm/virtio/blk.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SECTOR VIRTIO_BLK_SECTOR_SIZE

/* struct virtio_blk_config up to write_zeroes_may_unmap (guest layout, little endian). */
struct blk_config {
	uint64_t capacity;
	uint32_t size_max;
	uint32_t seg_max;
	uint8_t geometry[4];
	uint32_t blk_size;
	uint8_t topology[8];
	uint8_t writeback;
	uint8_t unused0;
	uint16_t num_queues;
	uint32_t max_discard_sectors;
	uint32_t max_discard_seg;
	uint32_t discard_sector_alignment;
	uint32_t max_write_zeroes_sectors;
	uint32_t max_write_zeroes_seg;
	uint8_t write_zeroes_may_unmap;
	uint8_t unused1[3];
} __attribute__((packed)); /* the fields are naturally aligned; no tail padding */

_Static_assert(sizeof(struct blk_config) == VIRTIO_BLK_CONFIG_SIZE, "virtio_blk_config layout");
_Static_assert(offsetof(struct blk_config, max_discard_sectors) == 36, "virtio_blk_config layout");
_Static_assert(sizeof(struct virtio_blk_header) == 16, "request header layout");
_Static_assert(sizeof(struct virtio_blk_range) == 16, "discard range layout");

/* Copies the first len bytes of iov[0, n) to dst; false when they hold fewer. */
static bool gather(const struct iovec *iov, unsigned n, void *dst, size_t len)
{
	uint8_t *p = dst;

	for (unsigned i = 0; i < n && len; i++) {
		size_t k = iov[i].iov_len < len ? iov[i].iov_len : len;

		memcpy(p, iov[i].iov_base, k);
		p += k;
		len -= k;
	}
	return len == 0;
}

/* Copies len bytes of src to the start of iov[0, n); returns how many fitted. */
static size_t scatter(const struct iovec *iov, unsigned n, const void *src, size_t len)
{
	const uint8_t *p = src;

	for (unsigned i = 0; i < n && len; i++) {
		size_t k = iov[i].iov_len < len ? iov[i].iov_len : len;

		memcpy(iov[i].iov_base, p, k);
		p += k;
		len -= k;
	}
	return (size_t)(p - (const uint8_t *)src);
}

/* dst = the bytes [skip, skip + len) of iov[0, n) as a view; returns its number of entries. */
static unsigned view(const struct iovec *iov, unsigned n, uint64_t skip, uint64_t len,
		     struct iovec *dst)
{
	unsigned k = 0;

	for (unsigned i = 0; i < n && len; i++) {
		uint64_t l = iov[i].iov_len;

		if (skip >= l) {
			skip -= l;
			continue;
		}
		l -= skip;
		if (l > len)
			l = len;
		dst[k++] = (struct iovec){(uint8_t *)iov[i].iov_base + skip, l};
		len -= l;
		skip = 0;
	}
	return k;
}

/* The data sits after the header in the readable part when it goes to the device, else before
 * the status in the writable part; the other part must then hold nothing more. */
static bool data_view(const struct virtq_chain *c, bool to_device, struct virtio_blk_req *req)
{
	const uint64_t hdr = sizeof(struct virtio_blk_header);

	if (to_device) {
		if (c->write_len != 1)
			return false;
		req->len = c->read_len - hdr;
		req->niov = view(c->iov, c->nread, hdr, req->len, req->iov);
	} else {
		if (c->read_len != hdr)
			return false;
		req->len = c->write_len - 1;
		req->niov = view(c->iov + c->nread, c->nwrite, 0, req->len, req->iov);
	}
	return true;
}

static bool in_disk(uint64_t sector, uint64_t sectors, uint64_t capacity)
{
	return sector <= capacity && sectors <= capacity - sector;
}

/* DISCARD and WRITE_ZEROES: 1..VIRTIO_BLK_DISCARD_SEGS ranges, each inside the disk. */
static uint8_t parse_ranges(struct virtio_blk_req *req, uint64_t capacity)
{
	struct virtio_blk_range raw[VIRTIO_BLK_DISCARD_SEGS];
	uint32_t allowed =
	    req->type == VIRTIO_BLK_T_WRITE_ZEROES ? VIRTIO_BLK_WRITE_ZEROES_F_UNMAP : 0;

	if (req->len == 0 || req->len % sizeof(raw[0]) || req->len > sizeof(raw))
		return VIRTIO_BLK_S_IOERR;
	gather(req->iov, req->niov, raw, req->len); /* read once */
	req->nranges = (unsigned)(req->len / sizeof(raw[0]));
	for (unsigned i = 0; i < req->nranges; i++) {
		struct virtio_blk_range *r = &req->ranges[i];

		r->sector = le64toh(raw[i].sector);
		r->num_sectors = le32toh(raw[i].num_sectors);
		r->flags = le32toh(raw[i].flags);
		if (r->flags & ~allowed)
			return VIRTIO_BLK_S_UNSUPP;
		if (!in_disk(r->sector, r->num_sectors, capacity))
			return VIRTIO_BLK_S_IOERR;
	}
	return VIRTIO_BLK_S_OK;
}

static uint8_t check(const struct virtq_chain *c, uint64_t capacity, struct virtio_blk_req *req)
{
	switch (req->type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		if (!data_view(c, req->type == VIRTIO_BLK_T_OUT, req) || req->len % SECTOR ||
		    !in_disk(req->sector, req->len / SECTOR, capacity))
			return VIRTIO_BLK_S_IOERR;
		return VIRTIO_BLK_S_OK;
	case VIRTIO_BLK_T_FLUSH:
		return VIRTIO_BLK_S_OK;
	case VIRTIO_BLK_T_GET_ID:
		return data_view(c, false, req) && req->len ? VIRTIO_BLK_S_OK : VIRTIO_BLK_S_IOERR;
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		if (!data_view(c, true, req))
			return VIRTIO_BLK_S_IOERR;
		return parse_ranges(req, capacity);
	default:
		return VIRTIO_BLK_S_UNSUPP;
	}
}

int virtio_blk_parse(const struct virtq_chain *chain, uint64_t capacity, struct virtio_blk_req *ret)
{
	const struct iovec *last;
	struct virtio_blk_header h;

	if (chain->nwrite == 0)
		return -EINVAL;
	last = &chain->iov[chain->nread + chain->nwrite - 1];
	if (last->iov_len == 0)
		return -EINVAL;
	ret->status_byte = (uint8_t *)last->iov_base + last->iov_len - 1;
	ret->type = 0;
	ret->sector = ret->len = 0;
	ret->niov = ret->nranges = 0;
	ret->status = VIRTIO_BLK_S_IOERR;
	if (!gather(chain->iov, chain->nread, &h, sizeof(h)))
		return 0; /* header too short */
	ret->type = le32toh(h.type);
	ret->sector = le64toh(h.sector);
	ret->status = check(chain, capacity, ret);
	return 0;
}

/* Moves all of iov at byte off through short transfers and EINTR, consuming iov; *done counts
 * the bytes moved. */
static int transfer(int fd, bool write, struct iovec *iov, unsigned n, uint64_t off, uint64_t *done)
{
	while (n) {
		ssize_t r = write ? pwritev(fd, iov, (int)n, (off_t)off)
				  : preadv(fd, iov, (int)n, (off_t)off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -EIO; /* the file shrank under us */
		*done += (uint64_t)r;
		off += (uint64_t)r;
		for (; n && (size_t)r >= iov->iov_len; iov++, n--)
			r -= (ssize_t)iov->iov_len;
		if (n) {
			iov->iov_base = (uint8_t *)iov->iov_base + r;
			iov->iov_len -= (size_t)r;
		}
	}
	return 0;
}

static int falloc(int fd, int mode, const struct virtio_blk_range *r)
{
	while (fallocate(fd, mode, (off_t)(r->sector * SECTOR), (off_t)r->num_sectors * SECTOR) < 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}

static int zero_range(int fd, const struct virtio_blk_range *r)
{
	const int keep = FALLOC_FL_KEEP_SIZE;
	int ret;

	if (r->flags & VIRTIO_BLK_WRITE_ZEROES_F_UNMAP) {
		ret = falloc(fd, keep | FALLOC_FL_PUNCH_HOLE, r);
		if (ret != -EOPNOTSUPP)
			return ret;
	}
	ret = falloc(fd, keep | FALLOC_FL_ZERO_RANGE, r);
	if (ret != -EOPNOTSUPP)
		return ret;
	/* tmpfs has no ZERO_RANGE: punch the range out, then allocate it again. */
	ret = falloc(fd, keep | FALLOC_FL_PUNCH_HOLE, r);
	return ret < 0 ? ret : falloc(fd, keep, r);
}

static int run_ranges(int fd, const struct virtio_blk_req *req)
{
	for (unsigned i = 0; i < req->nranges; i++) {
		const struct virtio_blk_range *r = &req->ranges[i];
		int ret;

		if (r->num_sectors == 0)
			continue;
		if (req->type == VIRTIO_BLK_T_WRITE_ZEROES)
			ret = zero_range(fd, r);
		else
			ret = falloc(fd, FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE, r);
		/* A discard is a hint: a file system that cannot punch holes keeps the data. */
		if (ret < 0 && !(ret == -EOPNOTSUPP && req->type == VIRTIO_BLK_T_DISCARD))
			return ret;
	}
	return 0;
}

/* Runs a parsed request; *written: data bytes put into guest memory. */
static uint8_t run(struct virtio_blk *blk, struct virtio_blk_req *req, uint64_t *written)
{
	bool writes = req->type == VIRTIO_BLK_T_OUT || req->type == VIRTIO_BLK_T_DISCARD ||
		      req->type == VIRTIO_BLK_T_WRITE_ZEROES;
	uint64_t moved = 0;
	int r;

	if (writes && blk->readonly)
		return VIRTIO_BLK_S_IOERR;
	switch (req->type) {
	case VIRTIO_BLK_T_IN:
		r = transfer(blk->fd, false, req->iov, req->niov, req->sector * SECTOR, written);
		break;
	case VIRTIO_BLK_T_OUT:
		r = transfer(blk->fd, true, req->iov, req->niov, req->sector * SECTOR, &moved);
		break;
	case VIRTIO_BLK_T_FLUSH:
		r = fdatasync(blk->fd) < 0 ? -errno : 0;
		break;
	case VIRTIO_BLK_T_GET_ID:
		*written = scatter(req->iov, req->niov, blk->serial,
				   req->len < VIRTIO_BLK_ID_BYTES ? req->len : VIRTIO_BLK_ID_BYTES);
		r = 0;
		break;
	default: /* DISCARD, WRITE_ZEROES: check() let nothing else through */
		r = run_ranges(blk->fd, req);
		break;
	}
	return r < 0 ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
}

/* Answers one request: the status byte, and the bytes written before it. */
static uint32_t answer(struct virtio_mmio *m, struct virtq_chain *chain)
{
	struct virtio_blk *blk = m->dev;
	struct virtio_blk_req req;
	uint64_t written = 0;

	blk->requests++;
	if (virtio_blk_parse(chain, blk->capacity, &req) < 0) {
		blk->errors++; /* nowhere to put a status: returned untouched */
		return 0;
	}
	if (req.status == VIRTIO_BLK_S_OK)
		req.status = run(blk, &req, &written);
	if (req.status != VIRTIO_BLK_S_OK)
		blk->errors++;
	*req.status_byte = req.status;
	/* written <= the chain's writable bytes - 1 <= VIRTQ_CHAIN_MAX_BYTES */
	return (uint32_t)written + 1;
}

static void blk_notify(struct virtio_mmio *m, unsigned queue)
{
	virtio_mmio_answer_all(m, queue, answer);
}

static void blk_config_read(struct virtio_mmio *m, uint32_t offset, uint8_t *data, uint32_t len)
{
	const struct virtio_blk *blk = m->dev;

	memcpy(data, blk->config + offset, len);
}

#define BLK_FEATURES (VIRTIO_BLK_F_SEG_MAX | VIRTIO_BLK_F_BLK_SIZE | VIRTIO_BLK_F_FLUSH)

/* A read-only disk offers RO instead of DISCARD and WRITE_ZEROES; nothing else differs. */
static const struct virtio_device_ops blk_ops_rw = {
    .name = "virtio-blk",
    .device_id = VIRTIO_ID_BLOCK,
    .features = BLK_FEATURES | VIRTIO_BLK_F_DISCARD | VIRTIO_BLK_F_WRITE_ZEROES,
    .num_queues = 1,
    .queue_max = VIRTIO_BLK_QUEUE_MAX,
    .config_size = VIRTIO_BLK_CONFIG_SIZE,
    .config_read = blk_config_read,
    .notify = blk_notify,
};

static const struct virtio_device_ops blk_ops_ro = {
    .name = "virtio-blk",
    .device_id = VIRTIO_ID_BLOCK,
    .features = BLK_FEATURES | VIRTIO_BLK_F_RO,
    .num_queues = 1,
    .queue_max = VIRTIO_BLK_QUEUE_MAX,
    .config_size = VIRTIO_BLK_CONFIG_SIZE,
    .config_read = blk_config_read,
    .notify = blk_notify,
};

static void fill_config(struct virtio_blk *blk)
{
	struct blk_config c = {
	    .capacity = htole64(blk->capacity),
	    .seg_max = htole32(VIRTIO_BLK_SEG_MAX),
	    .blk_size = htole32(SECTOR),
	    .num_queues = htole16(1),
	    .max_discard_sectors = htole32(UINT32_MAX),
	    .max_discard_seg = htole32(VIRTIO_BLK_DISCARD_SEGS),
	    .discard_sector_alignment = htole32(VIRTIO_BLK_DISCARD_ALIGN),
	    .max_write_zeroes_sectors = htole32(UINT32_MAX),
	    .max_write_zeroes_seg = htole32(VIRTIO_BLK_DISCARD_SEGS),
	    .write_zeroes_may_unmap = 1,
	};

	memcpy(blk->config, &c, sizeof(c));
}

static void set_serial(struct virtio_blk *blk, const char *path, const char *serial)
{
	const char *base = strrchr(path, '/');
	const char *s = serial ? serial : base ? base + 1 : path;

	memset(blk->serial, 0, sizeof(blk->serial));
	memcpy(blk->serial, s, strnlen(s, sizeof(blk->serial)));
}

/* O_NONBLOCK: opening a FIFO by mistake must not hang; it is dropped once the file is known to
 * be regular. */
static int open_disk(struct virtio_blk *blk, const char *path, bool readonly, struct error *err)
{
	int flags = (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NOCTTY;
	struct stat st;

	blk->fd = open(path, flags | O_NONBLOCK);
	if (blk->fd < 0 || fstat(blk->fd, &st) < 0)
		return error_errno(err, "--disk %s", path);
	if (S_ISDIR(st.st_mode))
		return error_set(err, EISDIR, "--disk %s: Is a directory", path);
	if (!S_ISREG(st.st_mode))
		return error_set(err, EINVAL, "--disk %s: not a regular file", path);
	if (st.st_size == 0 || st.st_size % SECTOR)
		return error_set(err, EINVAL,
				 "--disk %s: size %lld is not a positive multiple of %d bytes",
				 path, (long long)st.st_size, SECTOR);
	if (fcntl(blk->fd, F_SETFL, 0) < 0)
		return error_errno(err, "--disk %s: fcntl", path);
	blk->capacity = (uint64_t)st.st_size / SECTOR;
	return 0;
}

int virtio_blk_init(struct virtio_blk *blk, const struct guest_memory *mem, virtio_mmio_irq_fn *irq,
		    void *irq_opaque, const char *path, bool readonly, const char *serial,
		    struct error *err)
{
	int r;

	memset(blk, 0, sizeof(*blk));
	blk->fd = -1;
	blk->readonly = readonly;
	r = open_disk(blk, path, readonly, err);
	if (r == 0)
		r = virtio_mmio_init(&blk->mmio, readonly ? &blk_ops_ro : &blk_ops_rw, blk, mem,
				     irq, irq_opaque, err);
	if (r < 0) {
		virtio_blk_destroy(blk);
		return r;
	}
	set_serial(blk, path, serial);
	fill_config(blk);
	return 0;
}

void virtio_blk_destroy(struct virtio_blk *blk)
{
	virtio_mmio_destroy(&blk->mmio);
	if (blk->fd >= 0)
		close(blk->fd);
	blk->fd = -1;
}
