/* serial8250: a 16550A-compatible UART (COM1 at 0x3f8, IRQ 4 on a PC).
 *
 * Enough of the chip for Linux's 8250 driver (scratch and loopback probes, FIFO detection,
 * THRE and receive interrupts) and for a guest that polls LSR. Transmitted bytes go straight
 * to out_fd (or nowhere when it is -1), so THR is always empty. The device model knows
 * nothing of KVM: the interrupt line is a callback, the registers are a bus handler.
 */
#ifndef VESSEL_VMM_DEV_SERIAL8250_H
#define VESSEL_VMM_DEV_SERIAL8250_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SERIAL8250_COM1_BASE 0x3f8
#define SERIAL8250_COM1_IRQ  4
#define SERIAL8250_NR_REGS   8
#define SERIAL8250_RX_FIFO   64

/* Register offsets and bits (the names Linux's serial_reg.h uses). */
#define UART_RX	 0 /* in: receive buffer (DLAB=0) */
#define UART_TX	 0 /* out: transmit holding (DLAB=0) */
#define UART_DLL 0 /* divisor latch low (DLAB=1) */
#define UART_IER 1
#define UART_DLM 1 /* divisor latch high (DLAB=1) */
#define UART_IIR 2 /* in */
#define UART_FCR 2 /* out */
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_MSR 6
#define UART_SCR 7

#define UART_IER_RDI	    0x01
#define UART_IER_THRI	    0x02
#define UART_IIR_NO_INT	    0x01
#define UART_IIR_THRI	    0x02
#define UART_IIR_RDI	    0x04
#define UART_IIR_FIFO	    0xc0
#define UART_FCR_ENABLE	    0x01
#define UART_FCR_CLEAR_RCVR 0x02
#define UART_LCR_DLAB	    0x80
#define UART_MCR_DTR	    0x01
#define UART_MCR_RTS	    0x02
#define UART_MCR_OUT1	    0x04
#define UART_MCR_OUT2	    0x08
#define UART_MCR_LOOP	    0x10
#define UART_LSR_DR	    0x01
#define UART_LSR_THRE	    0x20
#define UART_LSR_TEMT	    0x40
#define UART_MSR_CTS	    0x10
#define UART_MSR_DSR	    0x20
#define UART_MSR_RI	    0x40
#define UART_MSR_DCD	    0x80

typedef void serial8250_irq_fn(void *opaque, int level);

struct serial8250 {
	pthread_mutex_t lock;
	int out_fd; /* borrowed; -1 discards output */
	serial8250_irq_fn *irq;
	void *irq_opaque;
	int irq_level;
	uint8_t ier, lcr, mcr, scr, fcr, dll, dlm;
	bool thri_pending; /* THR-empty interrupt armed and not yet acknowledged */
	uint8_t rx[SERIAL8250_RX_FIFO];
	size_t rx_head, rx_len;
	uint64_t tx_bytes;
};

void serial8250_init(struct serial8250 *s, int out_fd, serial8250_irq_fn *irq, void *irq_opaque);
void serial8250_destroy(struct serial8250 *s);
/* bus_handler_fn for the 8 registers; opaque is the struct serial8250. */
void serial8250_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write);
/* Queues input for the guest; returns how many bytes fit in the receive FIFO. */
size_t serial8250_receive(struct serial8250 *s, const uint8_t *buf, size_t len);

#endif
