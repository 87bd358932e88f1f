/* mmio: the virtio-mmio transport; see mmio.h for what is checked. */
#include "vmm/virtio/mmio.h"

#include <endian.h>
#include <errno.h>
#include <string.h>

#include "util/log.h"

static uint64_t offered(const struct virtio_mmio *m)
{
	return m->ops->features | VIRTIO_F_VERSION_1;
}

static void update_irq(struct virtio_mmio *m)
{
	int level = m->interrupt_status != 0;

	if (level == m->irq_level)
		return;
	m->irq_level = level;
	if (m->irq && (level || m->irq_mode == VIRTIO_MMIO_IRQ_LEVEL))
		m->irq(m->irq_opaque, level);
}

static void ack_irq(struct virtio_mmio *m, uint32_t val)
{
	m->interrupt_status &= ~val;
	update_irq(m);
	if (m->interrupt_status && m->irq && m->irq_mode == VIRTIO_MMIO_IRQ_EDGE)
		m->irq(m->irq_opaque, 1);
}

static bool valid_ops(const struct virtio_device_ops *ops)
{
	uint16_t n = ops->queue_max;

	return ops->num_queues >= 1 && ops->num_queues <= VIRTIO_MMIO_MAX_QUEUES && n >= 1 &&
	       n <= VIRTQ_MAX_SIZE && !(n & (n - 1)) &&
	       ops->config_size <= VIRTIO_MMIO_CONFIG_MAX && ops->notify &&
	       (ops->config_size == 0 || ops->config_read);
}

int virtio_mmio_init(struct virtio_mmio *m, const struct virtio_device_ops *ops, void *dev,
		     const struct guest_memory *mem, virtio_mmio_irq_fn *irq, void *irq_opaque,
		     struct error *err)
{
	int r;

	if (!valid_ops(ops))
		return error_set(err, EINVAL, "virtio device %s: invalid queue or config limits",
				 ops->name);
	memset(m, 0, sizeof(*m));
	r = pthread_mutex_init(&m->lock, NULL);
	if (r)
		return error_set(err, r, "virtio device %s: mutex: %s", ops->name, strerror(r));
	m->ops = ops;
	m->dev = dev;
	m->mem = mem;
	m->irq = irq;
	m->irq_opaque = irq_opaque;
	return 0;
}

void virtio_mmio_set_irq(struct virtio_mmio *m, enum virtio_mmio_irq_mode mode,
			 virtio_mmio_irq_fn *irq, void *irq_opaque)
{
	pthread_mutex_lock(&m->lock);
	m->irq_mode = mode;
	m->irq = irq;
	m->irq_opaque = irq_opaque;
	pthread_mutex_unlock(&m->lock);
}

void virtio_mmio_destroy(struct virtio_mmio *m)
{
	if (m->ops)
		pthread_mutex_destroy(&m->lock);
	m->ops = NULL;
}

void virtio_mmio_answer_all(struct virtio_mmio *m, unsigned queue, virtio_answer_fn *answer)
{
	struct virtq *q = virtio_mmio_queue(m, queue);
	struct virtq_chain chain;
	struct error err;
	bool pushed = false;

	for (unsigned i = 0; q && i < q->size; i++) {
		int r = virtq_pop(q, m->mem, &chain, &err);

		if (r == 0)
			break;
		if (r > 0) {
			r = virtq_push(q, m->mem, chain.head, answer(m, &chain), &err);
			pushed = true;
		}
		if (r < 0) {
			virtio_mmio_needs_reset(m, err.msg);
			break;
		}
	}
	if (pushed)
		virtio_mmio_signal_used(m, queue);
}

void virtio_mmio_lock(struct virtio_mmio *m)
{
	pthread_mutex_lock(&m->lock);
}

void virtio_mmio_unlock(struct virtio_mmio *m)
{
	pthread_mutex_unlock(&m->lock);
}

struct virtq *virtio_mmio_queue(struct virtio_mmio *m, unsigned i)
{
	return i < m->ops->num_queues ? &m->queues[i] : NULL;
}

void virtio_mmio_signal_used(struct virtio_mmio *m, unsigned i)
{
	struct virtq *q = virtio_mmio_queue(m, i);

	if (!q || !virtq_need_notify(q, m->mem))
		return;
	m->interrupt_status |= VIRTIO_MMIO_INT_VRING;
	update_irq(m);
}

void virtio_mmio_needs_reset(struct virtio_mmio *m, const char *why)
{
	if (!m->needs_reset_logged)
		log_debug("virtio %s: guest fault, device needs reset: %s", m->ops->name, why);
	m->needs_reset_logged = true;
	if (m->status & VIRTIO_STATUS_NEEDS_RESET)
		return;
	m->status |= VIRTIO_STATUS_NEEDS_RESET;
	if (m->status & VIRTIO_STATUS_DRIVER_OK) {
		m->interrupt_status |= VIRTIO_MMIO_INT_CONFIG;
		update_irq(m);
	}
}

static void device_reset(struct virtio_mmio *m)
{
	if (m->ops->reset)
		m->ops->reset(m);
	for (unsigned i = 0; i < VIRTIO_MMIO_MAX_QUEUES; i++)
		virtq_reset(&m->queues[i]);
	m->status = 0;
	m->device_features_sel = m->driver_features_sel = m->queue_sel = 0;
	m->driver_features = 0;
	m->interrupt_status = 0;
	m->needs_reset_logged = false;
	update_irq(m);
}

static void write_status(struct virtio_mmio *m, uint32_t val)
{
	uint64_t f = m->driver_features;

	if (val == 0) {
		device_reset(m);
		return;
	}
	val &= 0xff & ~VIRTIO_STATUS_NEEDS_RESET;
	/* FEATURES_OK only for a subset of what is offered, with VERSION_1 (a modern driver). */
	if ((val & VIRTIO_STATUS_FEATURES_OK) && !(m->status & VIRTIO_STATUS_FEATURES_OK) &&
	    ((f & ~offered(m)) || !(f & VIRTIO_F_VERSION_1)))
		val &= ~VIRTIO_STATUS_FEATURES_OK;
	m->status = val | (m->status & VIRTIO_STATUS_NEEDS_RESET);
}

static struct virtq *selected(struct virtio_mmio *m)
{
	return virtio_mmio_queue(m, m->queue_sel);
}

static uint32_t read_queue_reg(struct virtio_mmio *m, uint64_t off)
{
	struct virtq *q = selected(m);

	if (!q)
		return 0;
	switch (off) {
	case VIRTIO_MMIO_QUEUE_NUM_MAX:
		return m->ops->queue_max;
	case VIRTIO_MMIO_QUEUE_READY:
		return q->ready;
	default:
		return 0;
	}
}

static uint32_t read_reg(struct virtio_mmio *m, uint64_t off)
{
	switch (off) {
	case VIRTIO_MMIO_MAGIC_VALUE:
		return VIRTIO_MMIO_MAGIC;
	case VIRTIO_MMIO_VERSION_REG:
		return VIRTIO_MMIO_VERSION;
	case VIRTIO_MMIO_DEVICE_ID:
		return m->ops->device_id;
	case VIRTIO_MMIO_VENDOR_ID:
		return VIRTIO_MMIO_VENDOR;
	case VIRTIO_MMIO_DEVICE_FEATURES:
		return m->device_features_sel < 2
			   ? (uint32_t)(offered(m) >> (32 * m->device_features_sel))
			   : 0;
	case VIRTIO_MMIO_INTERRUPT_STATUS:
		return m->interrupt_status;
	case VIRTIO_MMIO_STATUS:
		return m->status;
	case VIRTIO_MMIO_CONFIG_GENERATION:
		return m->config_generation;
	default:
		return read_queue_reg(m, off);
	}
}

static void set_half(uint64_t *v, bool high, uint32_t val)
{
	if (high)
		*v = (*v & 0xffffffffULL) | (uint64_t)val << 32;
	else
		*v = (*v & ~0xffffffffULL) | val;
}

static void write_queue_ready(struct virtio_mmio *m, struct virtq *q, uint32_t val)
{
	struct error err;

	if (!val) {
		q->ready = false;
		return;
	}
	if (virtq_check(q, m->mem, &err) < 0) {
		virtio_mmio_needs_reset(m, err.msg);
		return;
	}
	q->ready = true;
}

static void write_queue_reg(struct virtio_mmio *m, uint64_t off, uint32_t val)
{
	struct virtq *q = selected(m);

	if (!q || (off != VIRTIO_MMIO_QUEUE_READY && q->ready))
		return; /* no such queue, or a live queue's layout */
	switch (off) {
	case VIRTIO_MMIO_QUEUE_NUM:
		if (val >= 1 && val <= m->ops->queue_max && !(val & (val - 1)))
			q->size = (uint16_t)val;
		break;
	case VIRTIO_MMIO_QUEUE_READY:
		write_queue_ready(m, q, val);
		break;
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
		set_half(&q->desc, off == VIRTIO_MMIO_QUEUE_DESC_HIGH, val);
		break;
	case VIRTIO_MMIO_QUEUE_DRIVER_LOW:
	case VIRTIO_MMIO_QUEUE_DRIVER_HIGH:
		set_half(&q->avail, off == VIRTIO_MMIO_QUEUE_DRIVER_HIGH, val);
		break;
	case VIRTIO_MMIO_QUEUE_DEVICE_LOW:
	case VIRTIO_MMIO_QUEUE_DEVICE_HIGH:
		set_half(&q->used, off == VIRTIO_MMIO_QUEUE_DEVICE_HIGH, val);
		break;
	default:
		break; /* read-only or unknown: ignored */
	}
}

static void notify(struct virtio_mmio *m, uint32_t val)
{
	struct virtq *q = virtio_mmio_queue(m, val);

	if (!q || !q->ready || !(m->status & VIRTIO_STATUS_DRIVER_OK) ||
	    (m->status & VIRTIO_STATUS_NEEDS_RESET))
		return;
	m->ops->notify(m, val);
}

void virtio_mmio_notify(struct virtio_mmio *m, unsigned queue)
{
	pthread_mutex_lock(&m->lock);
	notify(m, queue);
	pthread_mutex_unlock(&m->lock);
}

static void write_reg(struct virtio_mmio *m, uint64_t off, uint32_t val)
{
	switch (off) {
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL:
		m->device_features_sel = val;
		break;
	case VIRTIO_MMIO_DRIVER_FEATURES:
		if (m->driver_features_sel < 2 && !(m->status & VIRTIO_STATUS_FEATURES_OK))
			set_half(&m->driver_features, m->driver_features_sel == 1, val);
		break;
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL:
		m->driver_features_sel = val;
		break;
	case VIRTIO_MMIO_QUEUE_SEL:
		m->queue_sel = val;
		break;
	case VIRTIO_MMIO_QUEUE_NOTIFY:
		notify(m, val);
		break;
	case VIRTIO_MMIO_INTERRUPT_ACK:
		ack_irq(m, val);
		break;
	case VIRTIO_MMIO_STATUS:
		write_status(m, val);
		break;
	default:
		write_queue_reg(m, off, val);
		break;
	}
}

static void config_access(struct virtio_mmio *m, uint64_t off, uint8_t *data, uint32_t len,
			  bool is_write)
{
	bool ok = (len == 1 || len == 2 || len == 4 || len == 8) && off < m->ops->config_size &&
		  len <= m->ops->config_size - off;

	if (!is_write) {
		memset(data, 0, len);
		if (ok)
			m->ops->config_read(m, (uint32_t)off, data, len);
	} else if (ok && m->ops->config_write) {
		m->ops->config_write(m, (uint32_t)off, data, len);
	}
}

void virtio_mmio_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct virtio_mmio *m = opaque;
	uint32_t val = 0;

	pthread_mutex_lock(&m->lock);
	if (offset >= VIRTIO_MMIO_CONFIG) {
		config_access(m, offset - VIRTIO_MMIO_CONFIG, data, len, is_write);
	} else if (len != 4 || offset % 4) {
		if (!is_write)
			memset(data, 0, len); /* registers are 32-bit only */
	} else if (is_write) {
		memcpy(&val, data, 4);
		write_reg(m, offset, le32toh(val));
	} else {
		val = htole32(read_reg(m, offset));
		memcpy(data, &val, 4);
	}
	pthread_mutex_unlock(&m->lock);
}
