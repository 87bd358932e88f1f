/* serial8250: see serial8250.h */
#include "vmm/dev/serial8250.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

void serial8250_init(struct serial8250 *s, int out_fd, serial8250_irq_fn *irq, void *irq_opaque)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	s->out_fd = out_fd;
	s->irq = irq;
	s->irq_opaque = irq_opaque;
	s->dll = 0x0c; /* 9600 baud, as after a PC's BIOS */
	s->mcr = UART_MCR_OUT2;
}

void serial8250_destroy(struct serial8250 *s)
{
	pthread_mutex_destroy(&s->lock);
}

static uint8_t iir_locked(const struct serial8250 *s)
{
	uint8_t fifo = (s->fcr & UART_FCR_ENABLE) ? UART_IIR_FIFO : 0;

	if ((s->ier & UART_IER_RDI) && s->rx_len)
		return fifo | UART_IIR_RDI;
	if ((s->ier & UART_IER_THRI) && s->thri_pending)
		return fifo | UART_IIR_THRI;
	return fifo | UART_IIR_NO_INT;
}

static void update_irq_locked(struct serial8250 *s)
{
	int level = !(iir_locked(s) & UART_IIR_NO_INT);

	if (level == s->irq_level)
		return;
	s->irq_level = level;
	if (s->irq)
		s->irq(s->irq_opaque, level);
}

static void rx_push_locked(struct serial8250 *s, uint8_t c)
{
	if (s->rx_len == SERIAL8250_RX_FIFO)
		return; /* overrun: the byte is lost, as on the chip */
	s->rx[(s->rx_head + s->rx_len) % SERIAL8250_RX_FIFO] = c;
	s->rx_len++;
}

static void transmit_locked(struct serial8250 *s, uint8_t c)
{
	if (s->mcr & UART_MCR_LOOP) {
		rx_push_locked(s, c);
	} else if (s->out_fd >= 0) {
		/* A console that went away must not stop the guest: errors are dropped. */
		while (write(s->out_fd, &c, 1) < 0 && errno == EINTR)
			;
	}
	s->tx_bytes++;
	s->thri_pending = true; /* the byte left at once: THR is empty again */
}

static uint8_t msr_locked(const struct serial8250 *s)
{
	uint8_t m = s->mcr;

	if (!(m & UART_MCR_LOOP))
		return UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS;
	return (uint8_t)(((m & UART_MCR_RTS) ? UART_MSR_CTS : 0) |
			 ((m & UART_MCR_DTR) ? UART_MSR_DSR : 0) |
			 ((m & UART_MCR_OUT1) ? UART_MSR_RI : 0) |
			 ((m & UART_MCR_OUT2) ? UART_MSR_DCD : 0));
}

static uint8_t read_locked(struct serial8250 *s, unsigned reg)
{
	bool dlab = s->lcr & UART_LCR_DLAB;
	uint8_t v;

	switch (reg) {
	case UART_RX:
		if (dlab)
			return s->dll;
		if (!s->rx_len)
			return 0;
		v = s->rx[s->rx_head];
		s->rx_head = (s->rx_head + 1) % SERIAL8250_RX_FIFO;
		s->rx_len--;
		return v;
	case UART_IER:
		return dlab ? s->dlm : s->ier;
	case UART_IIR:
		v = iir_locked(s);
		if ((v & 0x0f) == UART_IIR_THRI)
			s->thri_pending = false; /* reading IIR acknowledges THRE */
		return v;
	case UART_LCR:
		return s->lcr;
	case UART_MCR:
		return s->mcr;
	case UART_LSR:
		return (uint8_t)(UART_LSR_THRE | UART_LSR_TEMT | (s->rx_len ? UART_LSR_DR : 0));
	case UART_MSR:
		return msr_locked(s);
	default:
		return s->scr;
	}
}

static void write_locked(struct serial8250 *s, unsigned reg, uint8_t v)
{
	bool dlab = s->lcr & UART_LCR_DLAB;

	switch (reg) {
	case UART_TX:
		if (dlab)
			s->dll = v;
		else
			transmit_locked(s, v);
		break;
	case UART_IER:
		if (dlab) {
			s->dlm = v;
			break;
		}
		/* Enabling THRI with THR empty raises the interrupt at once. */
		if ((v & UART_IER_THRI) && !(s->ier & UART_IER_THRI))
			s->thri_pending = true;
		s->ier = v & 0x0f;
		break;
	case UART_FCR:
		s->fcr = v & 0xc9;
		if (v & UART_FCR_CLEAR_RCVR)
			s->rx_head = s->rx_len = 0;
		break;
	case UART_LCR:
		s->lcr = v;
		break;
	case UART_MCR:
		s->mcr = v & 0x1f;
		break;
	case UART_LSR:
	case UART_MSR:
		break; /* read-only on the 16550A */
	default:
		s->scr = v;
		break;
	}
}

void serial8250_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct serial8250 *s = opaque;

	if (offset >= SERIAL8250_NR_REGS)
		return;
	pthread_mutex_lock(&s->lock);
	if (is_write)
		write_locked(s, (unsigned)offset, data[0]);
	else
		data[0] = read_locked(s, (unsigned)offset);
	if (!is_write && len > 1)
		memset(data + 1, 0xff, len - 1);
	update_irq_locked(s);
	pthread_mutex_unlock(&s->lock);
}

size_t serial8250_receive(struct serial8250 *s, const uint8_t *buf, size_t len)
{
	size_t n = 0;

	pthread_mutex_lock(&s->lock);
	for (; n < len && s->rx_len < SERIAL8250_RX_FIFO; n++)
		rx_push_locked(s, buf[n]);
	update_irq_locked(s);
	pthread_mutex_unlock(&s->lock);
	return n;
}
