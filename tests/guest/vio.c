/* vio: the virtio test guest (PVH entry, like pvh.elf). It lists the virtio-mmio slots, runs the
 * test its command line names and ends through the debug-exit port as the command line says
 * (see guest.h), or with status 1 after "vio: FAIL ...":
 *   rng     reads 64 bytes from virtio-rng: "rng: HEX"
 *   blk     virtio-blk: "blk: capacity N", "blk: sector0: HEX" (the first 16 bytes of sector 0),
 *           writes sector 1 with bytes i ^ 0x5a and flushes: "blk: write status S flush status S"
 *   net     virtio-net sends one broadcast frame, ethertype 0x88b5, "vessel vio": "net: sent 60"
 *   irq     virtio-rng's used-buffer interrupt, routed through the IOAPIC to a handler, wakes
 *           the halted CPU: "irq: count 1 status 1"
 *   vsock=P virtio-vsock connects to host port P and sends "hello from vio\n":
 *           "vsock: cid N sent"
 *   console virtio-console (hvc0) writes "hello from hvc0\n" on its transmit queue
 * Kernel-mode code may be emulated here: each test is a few requests. */
#include "guest.h"
#include "virtio.h"

#define BLK_T_IN    0
#define BLK_T_OUT   1
#define BLK_T_FLUSH 4

struct hvm_start_info {
	uint32_t magic, version, flags, nr_modules;
	uint64_t modlist_paddr, cmdline_paddr;
};

struct blk_header {
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;
};

static uint8_t data[512] __attribute__((aligned(16)));

void pvh_main(const struct hvm_start_info *si);

static __attribute__((noreturn)) void fail(const char *why)
{
	guest_puts("vio: FAIL ");
	guest_puts(why);
	guest_putc('\n');
	guest_finish("exit=1");
}

static void put_bytes(const uint8_t *p, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		guest_putc("0123456789abcdef"[p[i] >> 4]);
		guest_putc("0123456789abcdef"[p[i] & 0xf]);
	}
}

/* Finds device id and brings it up with nqueues queues. */
static void open_dev(struct vio_dev *d, uint32_t id, uint64_t features, unsigned nqueues,
		     const char *name)
{
	uint64_t got;

	if (vio_find(id, d) < 0)
		fail(name);
	if (vio_setup(d, features, &got, nqueues) < 0)
		fail("device setup");
	vio_ready(d);
}

static void test_rng(void)
{
	struct vio_dev d;
	struct vio_buf b = {data, 64, VIO_BUF_WRITE};
	uint32_t len = 0;

	open_dev(&d, VIO_ID_RNG, 0, 1, "no virtio-rng");
	if (vio_transfer(&d, 0, &b, 1, &len) < 0)
		fail("rng: no answer");
	if (len != 64)
		fail("rng: short read");
	guest_puts("rng: ");
	put_bytes(data, 64);
	guest_putc('\n');
}

/* One request: header, data (len bytes, device-written for IN), status; returns the status. */
static uint8_t blk_request(struct vio_dev *d, uint32_t type, uint64_t sector, uint32_t len)
{
	static struct blk_header h;
	static uint8_t status;
	struct vio_buf b[3] = {{&h, sizeof(h), 0}, {data, len, 0}, {&status, 1, VIO_BUF_WRITE}};
	unsigned n = 3;
	uint32_t used;

	h = (struct blk_header){.type = type, .sector = sector};
	status = 0xff;
	if (type == BLK_T_IN)
		b[1].flags = VIO_BUF_WRITE;
	if (!len) {
		b[1] = b[2];
		n = 2;
	}
	if (vio_transfer(d, 0, b, n, &used) < 0)
		fail("blk: no answer");
	return status;
}

static void test_blk(void)
{
	struct vio_dev d;
	uint8_t w, f;

	open_dev(&d, VIO_ID_BLOCK, 1ULL << 9 /* FLUSH */, 1, "no virtio-blk");
	guest_puts("blk: capacity ");
	guest_putdec(vio_config32(&d, 0) | (uint64_t)vio_config32(&d, 4) << 32);
	guest_putc('\n');
	if (blk_request(&d, BLK_T_IN, 0, 512) != 0)
		fail("blk: read sector 0");
	guest_puts("blk: sector0: ");
	put_bytes(data, 16);
	guest_putc('\n');
	for (unsigned i = 0; i < 512; i++)
		data[i] = (uint8_t)(i ^ 0x5a);
	w = blk_request(&d, BLK_T_OUT, 1, 512);
	f = blk_request(&d, BLK_T_FLUSH, 0, 0);
	guest_puts("blk: write status ");
	guest_putdec(w);
	guest_puts(" flush status ");
	guest_putdec(f);
	guest_putc('\n');
}

static void test_console(void)
{
	static const char msg[] = "hello from hvc0\n";
	struct vio_buf b = {(void *)msg, sizeof(msg) - 1, 0};
	struct vio_dev d;
	uint32_t len;

	open_dev(&d, VIO_ID_CONSOLE, 0, 2, "no virtio-console");
	if (vio_transfer(&d, 1, &b, 1, &len) < 0)
		fail("console: no answer");
}

/* One broadcast frame of ethertype 0x88b5 (local experimental) saying "vessel vio". */
static void test_net(void)
{
	static uint8_t hdr[12], frame[60];
	static const char msg[] = "vessel vio";
	struct vio_buf b[2] = {{hdr, sizeof(hdr), 0}, {frame, sizeof(frame), 0}};
	struct vio_dev d;
	uint32_t len;

	open_dev(&d, VIO_ID_NET, 0, 2, "no virtio-net");
	for (unsigned i = 0; i < 6; i++)
		frame[i] = 0xff;
	frame[6] = 0x02;
	frame[11] = 0x01;
	frame[12] = 0x88;
	frame[13] = 0xb5;
	for (unsigned i = 0; i < sizeof(msg) - 1; i++)
		frame[14 + i] = (uint8_t)msg[i];
	if (vio_transfer(&d, 1, b, 2, &len) < 0)
		fail("net: no answer");
	guest_puts("net: sent 60\n");
}

static void put32(uint8_t *p, uint32_t v)
{
	for (unsigned i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* A stream packet header from our port 1234 to the host's port. */
static void vsock_hdr(uint8_t *h, uint32_t cid, uint32_t port, uint32_t len, uint16_t op)
{
	for (unsigned i = 0; i < 44; i++)
		h[i] = 0;
	put32(h, cid);
	put32(h + 8, 2); /* the host */
	put32(h + 16, 1234);
	put32(h + 20, port);
	put32(h + 24, len);
	h[28] = 1; /* SOCK_STREAM */
	h[30] = (uint8_t)op;
	put32(h + 36, 4096); /* buf_alloc */
}

/* Connects to host port (vsock=PORT), waits for the answer, sends a line. */
static void test_vsock(const char *port_arg)
{
	static uint8_t rx[44 + 64], tx[44];
	static const char line[] = "hello from vio\n";
	struct vio_buf rb = {rx, sizeof(rx), VIO_BUF_WRITE};
	struct vio_buf tb[2] = {{tx, sizeof(tx), 0}, {(void *)line, sizeof(line) - 1, 0}};
	struct vio_dev d;
	uint32_t cid, port = 0, len;

	for (; *port_arg >= '0' && *port_arg <= '9'; port_arg++)
		port = port * 10 + (uint32_t)(*port_arg - '0');
	open_dev(&d, VIO_ID_VSOCK, 0, 3, "no virtio-vsock");
	cid = vio_config32(&d, 0);
	vio_submit(&d, 0, &rb, 1);
	vio_kick(&d, 0);
	vsock_hdr(tx, cid, port, 0, 1 /* REQUEST */);
	if (vio_transfer(&d, 1, tb, 1, &len) < 0 || vio_wait(&d, 0, &len) < 0)
		fail("vsock: no answer");
	if (rx[30] != 2 /* RESPONSE */)
		fail("vsock: connection refused");
	vsock_hdr(tx, cid, port, sizeof(line) - 1, 5 /* RW */);
	if (vio_transfer(&d, 1, tb, 2, &len) < 0)
		fail("vsock: send");
	guest_puts("vsock: cid ");
	guest_putdec(cid);
	guest_puts(" sent\n");
}

#define IOAPIC	   0xfec00000UL
#define LAPIC	   0xfee00000UL
#define LAPIC_EOI  0xb0
#define LAPIC_SVR  0xf0
#define IRQ_VECTOR 0x30
#define VIRTIO_GSI 16 /* slot 0's */
#define R_INT_STAT 0x060
#define R_INT_ACK  0x064

struct idt_gate {
	uint16_t off_lo, sel;
	uint8_t ist, type;
	uint16_t off_mid;
	uint32_t off_hi, zero;
};

static struct idt_gate idt[256] __attribute__((aligned(16)));
static struct __attribute__((packed)) {
	uint16_t limit;
	uint64_t base;
} idtr;

volatile uint64_t irq_count;
void irq_handler(void);
void spurious_handler(void);

__asm__(".text\n"
	"irq_handler:\n"
	"	push %rax\n"
	"	incq irq_count(%rip)\n"
	"	movabs $0xfee000b0, %rax\n"
	"	movl $0, (%rax)\n" /* EOI */
	"	pop %rax\n"
	"	iretq\n"
	"spurious_handler:\n"
	"	iretq\n");

static void mmio_wr(uintptr_t a, uint32_t v)
{
	*(volatile uint32_t *)a = v;
}

static void set_gate(unsigned vector, void (*handler)(void))
{
	uint64_t a = (uint64_t)(uintptr_t)handler;

	idt[vector] = (struct idt_gate){.off_lo = (uint16_t)a,
					.sel = 0x08,
					.type = 0x8e,
					.off_mid = (uint16_t)(a >> 16),
					.off_hi = (uint32_t)(a >> 32)};
}

/* Routes slot 0's GSI (edge, active high) to IRQ_VECTOR on this CPU. */
static void route_irq(void)
{
	set_gate(IRQ_VECTOR, irq_handler);
	set_gate(0xff, spurious_handler);
	idtr.limit = sizeof(idt) - 1;
	idtr.base = (uint64_t)(uintptr_t)idt;
	__asm__ volatile("lidt %0" : : "m"(idtr));
	mmio_wr(LAPIC + LAPIC_SVR, 0x1ff); /* enabled, spurious vector 0xff */
	mmio_wr(IOAPIC, 0x10 + 2 * VIRTIO_GSI + 1);
	mmio_wr(IOAPIC + 0x10, 0); /* destination: APIC id 0 */
	mmio_wr(IOAPIC, 0x10 + 2 * VIRTIO_GSI);
	mmio_wr(IOAPIC + 0x10, IRQ_VECTOR); /* fixed, physical, edge, high, unmasked */
}

/* virtio-rng with its interrupt taken: the used buffer wakes the halted CPU. */
static void test_irq(void)
{
	struct vio_dev d;
	struct vio_buf b = {data, 16, VIO_BUF_WRITE};
	uint32_t isr;

	open_dev(&d, VIO_ID_RNG, 0, 1, "no virtio-rng");
	if (d.slot != 0)
		fail("irq: virtio-rng not in slot 0");
	route_irq();
	vio_submit(&d, 0, &b, 1);
	vio_kick(&d, 0);
	while (!irq_count) /* a VM that never interrupts ends by --timeout */
		__asm__ volatile("sti; hlt; cli" ::: "memory");
	isr = *(volatile uint32_t *)(d.base + R_INT_STAT);
	*(volatile uint32_t *)(d.base + R_INT_ACK) = isr;
	guest_puts("irq: count ");
	guest_putdec(irq_count);
	guest_puts(" status ");
	guest_putdec(isr);
	guest_putc('\n');
}

void pvh_main(const struct hvm_start_info *si)
{
	const char *cmdline = (const char *)(uintptr_t)si->cmdline_paddr;

	if (!cmdline)
		cmdline = "";
	guest_puts("boot: vio\n");
	vio_list();
	if (guest_arg(cmdline, "rng"))
		test_rng();
	if (guest_arg(cmdline, "blk"))
		test_blk();
	if (guest_arg(cmdline, "net"))
		test_net();
	if (guest_arg(cmdline, "irq"))
		test_irq();
	if (guest_arg(cmdline, "vsock="))
		test_vsock(guest_arg(cmdline, "vsock="));
	if (guest_arg(cmdline, "console"))
		test_console();
	guest_finish(cmdline);
}
