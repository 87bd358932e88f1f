/* acpi: see acpi.h */
#include "vmm/x86/acpi.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "vmm/dev/acpi-pm.h"
#include "vmm/dev/i8042.h"
#include "vmm/dev/serial8250.h"
#include "vmm/vm.h"
#include "vmm/x86/regs.h"

_Static_assert(ACPI_TABLES_START >= X86_EBDA_START && ACPI_TABLES_END <= X86_HIMEM_START,
	       "the ACPI tables must stay inside the e820's reserved legacy hole");

#define AREA_SIZE   (ACPI_TABLES_END - ACPI_TABLES_START)
#define TABLE_ALIGN 16
#define OEM_ID	    "VESSEL"
#define OEM_TABLE   "VESSELVM"
#define CREATOR_ID  "VSSL"
#define LAPIC_ADDR  0xfee00000u
#define IOAPIC_ADDR 0xfec00000u
#define IOAPIC_ID   0 /* what KVM's in-kernel IOAPIC reports in its ID register */
#define PIT_IRQ	    0
#define PIT_GSI	    2
#define MAX_MMIO    0x1000 /* device names V000..VFFF */

/* FADT Flags and IAPC_BOOT_ARCH bits (ACPI 6.0, 5.2.9). */
#define FADT_PWR_BUTTON	       (1u << 4)
#define FADT_SLP_BUTTON	       (1u << 5)
#define FADT_RESET_REG_SUP     (1u << 10)
#define FADT_HW_REDUCED_ACPI   (1u << 20)
#define IAPC_8042	       (1u << 1)
#define IAPC_VGA_NOT_PRESENT   (1u << 2)
#define IAPC_CMOS_RTC_NOT_PRES (1u << 5)

#define MADT_PCAT_COMPAT  1u
#define MADT_LAPIC	  0
#define MADT_IOAPIC	  1
#define MADT_ISO	  2
#define MADT_LAPIC_ENABLE 1u
#define GAS_SYSTEM_IO	  1
#define GAS_ACCESS_BYTE	  1

struct acpi_header {
	char signature[4];
	uint32_t length;
	uint8_t revision;
	uint8_t checksum;
	char oem_id[6];
	char oem_table_id[8];
	uint32_t oem_revision;
	char creator_id[4];
	uint32_t creator_revision;
} __attribute__((packed));

struct acpi_rsdp {
	char signature[8];
	uint8_t checksum; /* over the first 20 bytes (the ACPI 1.0 part) */
	char oem_id[6];
	uint8_t revision;
	uint32_t rsdt; /* none: the XSDT lists everything */
	uint32_t length;
	uint64_t xsdt;
	uint8_t ext_checksum; /* over all 36 bytes */
	uint8_t reserved[3];
} __attribute__((packed));

struct acpi_gas {
	uint8_t space_id;
	uint8_t bit_width;
	uint8_t bit_offset;
	uint8_t access_size;
	uint64_t address;
} __attribute__((packed));

/* The FADT, ACPI 6.0 layout; hardware-reduced, so the PM1/GPE/timer blocks stay zero. */
struct acpi_fadt {
	struct acpi_header h;
	uint32_t firmware_ctrl, dsdt;
	uint8_t reserved0, pm_profile;
	uint16_t sci_int;
	uint32_t smi_cmd;
	uint8_t acpi_enable, acpi_disable, s4bios_req, pstate_cnt;
	uint32_t pm1a_evt, pm1b_evt, pm1a_cnt, pm1b_cnt, pm2_cnt, pm_tmr, gpe0, gpe1;
	uint8_t pm1_evt_len, pm1_cnt_len, pm2_cnt_len, pm_tmr_len, gpe0_len, gpe1_len, gpe1_base;
	uint8_t cst_cnt;
	uint16_t p_lvl2_lat, p_lvl3_lat, flush_size, flush_stride;
	uint8_t duty_offset, duty_width, day_alrm, mon_alrm, century;
	uint16_t iapc_boot_arch;
	uint8_t reserved1;
	uint32_t flags;
	struct acpi_gas reset_reg;
	uint8_t reset_value;
	uint16_t arm_boot_arch;
	uint8_t minor_version;
	uint64_t x_firmware_ctrl, x_dsdt;
	struct acpi_gas x_pm1a_evt, x_pm1b_evt, x_pm1a_cnt, x_pm1b_cnt, x_pm2_cnt, x_pm_tmr;
	struct acpi_gas x_gpe0, x_gpe1, sleep_control, sleep_status;
	uint64_t hypervisor_id;
} __attribute__((packed));

_Static_assert(offsetof(struct acpi_fadt, iapc_boot_arch) == 109, "FADT layout");
_Static_assert(offsetof(struct acpi_fadt, x_dsdt) == 140, "FADT layout");
_Static_assert(offsetof(struct acpi_fadt, sleep_control) == 244, "FADT layout");
_Static_assert(sizeof(struct acpi_fadt) == 276, "FADT layout");

struct acpi_madt {
	struct acpi_header h;
	uint32_t lapic_addr;
	uint32_t flags;
} __attribute__((packed));

struct madt_lapic {
	uint8_t type, length, uid, apic_id;
	uint32_t flags;
} __attribute__((packed));

struct madt_ioapic {
	uint8_t type, length, id, reserved;
	uint32_t address, gsi_base;
} __attribute__((packed));

struct madt_iso {
	uint8_t type, length, bus, source;
	uint32_t gsi;
	uint16_t flags; /* 0: as the ISA bus says (edge, active high) */
} __attribute__((packed));

/* ---- The AML emitter (ACPI 6.0, chapter 20) ---- */

#define AML_ZERO	 0x00
#define AML_ONE		 0x01
#define AML_NAME	 0x08
#define AML_BYTE_PREFIX	 0x0a
#define AML_WORD_PREFIX	 0x0b
#define AML_DWORD_PREFIX 0x0c
#define AML_STRING	 0x0d
#define AML_QWORD_PREFIX 0x0e
#define AML_SCOPE	 0x10
#define AML_BUFFER	 0x11
#define AML_PACKAGE	 0x12
#define AML_EXT_PREFIX	 0x5b
#define AML_DEVICE	 0x82 /* after AML_EXT_PREFIX */
#define AML_ROOT	 '\\'

/* Bytes appended to buf. Running out of room sets full and drops everything after, so a
 * builder checks once at the end instead of after every byte. */
struct aml {
	uint8_t *buf;
	size_t len;
	size_t cap;
	bool full;
};

static void aml_bytes(struct aml *a, const void *p, size_t n)
{
	if (a->full || n > a->cap - a->len) {
		a->full = true;
		return;
	}
	memcpy(a->buf + a->len, p, n);
	a->len += n;
}

static void aml_byte(struct aml *a, uint8_t b)
{
	aml_bytes(a, &b, 1);
}

static void aml_le(struct aml *a, uint64_t v, unsigned n)
{
	uint8_t b[8];

	for (unsigned i = 0; i < n; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	aml_bytes(a, b, n);
}

/* A PkgLength counts its own 1-4 bytes and the package body after it, so it is written last:
 * pkg_begin() notes where the body starts, pkg_end() measures the body and moves it up to make
 * room for the encoding. One byte holds up to 63; longer lengths put the byte count in bits 7:6
 * of the first byte, the low nibble in its bits 3:0, and the rest in the following bytes. */
static size_t pkg_begin(const struct aml *a)
{
	return a->len;
}

static void pkg_end(struct aml *a, size_t start)
{
	size_t body = a->len - start, n, total;
	uint8_t enc[4];

	if (a->full)
		return;
	n = body + 1 <= 0x3f ? 1 : body + 2 <= 0xfff ? 2 : body + 3 <= 0xfffff ? 3 : 4;
	total = body + n;
	if (n == 4 && total > 0xfffffff)
		a->full = true;
	if (n > a->cap - a->len)
		a->full = true;
	if (a->full)
		return;
	enc[0] = n == 1 ? (uint8_t)total : (uint8_t)((n - 1) << 6 | (total & 0xf));
	for (size_t i = 1; i < n; i++)
		enc[i] = (uint8_t)(total >> (4 + 8 * (i - 1)));
	memmove(a->buf + start + n, a->buf + start, body);
	memcpy(a->buf + start, enc, n);
	a->len += n;
}

/* A NameSeg: exactly four characters, short names padded with '_' by the caller. */
static void aml_nameseg(struct aml *a, const char *name)
{
	aml_bytes(a, name, 4);
}

/* The shortest encoding: ZeroOp, OneOp, or a Byte/Word/DWord/QWord constant. */
static void aml_integer(struct aml *a, uint64_t v)
{
	if (v <= 1) {
		aml_byte(a, v ? AML_ONE : AML_ZERO);
	} else if (v <= UINT8_MAX) {
		aml_byte(a, AML_BYTE_PREFIX);
		aml_le(a, v, 1);
	} else if (v <= UINT16_MAX) {
		aml_byte(a, AML_WORD_PREFIX);
		aml_le(a, v, 2);
	} else if (v <= UINT32_MAX) {
		aml_byte(a, AML_DWORD_PREFIX);
		aml_le(a, v, 4);
	} else {
		aml_byte(a, AML_QWORD_PREFIX);
		aml_le(a, v, 8);
	}
}

static unsigned hexval(char c)
{
	return c <= '9' ? (unsigned)(c - '0') : (unsigned)(c - 'A' + 10);
}

/* EISAID("PNP0501"): three letters of five bits each and four hex digits, packed into a
 * 32-bit big-endian value that AML then stores as a little-endian DWord. */
static void aml_eisaid(struct aml *a, const char *id)
{
	uint32_t v = (uint32_t)(id[0] - '@') << 26 | (uint32_t)(id[1] - '@') << 21 |
		     (uint32_t)(id[2] - '@') << 16;

	for (int i = 3; i < 7; i++)
		v |= hexval(id[i]) << (4 * (6 - i));
	aml_byte(a, AML_DWORD_PREFIX);
	aml_le(a, __builtin_bswap32(v), 4);
}

static void name_integer(struct aml *a, const char *name, uint64_t v)
{
	aml_byte(a, AML_NAME);
	aml_nameseg(a, name);
	aml_integer(a, v);
}

static void name_eisaid(struct aml *a, const char *name, const char *id)
{
	aml_byte(a, AML_NAME);
	aml_nameseg(a, name);
	aml_eisaid(a, id);
}

static void name_string(struct aml *a, const char *name, const char *s)
{
	aml_byte(a, AML_NAME);
	aml_nameseg(a, name);
	aml_byte(a, AML_STRING);
	aml_bytes(a, s, strlen(s) + 1);
}

/* Name(_CRS, ResourceTemplate() {...}): a Buffer of the descriptors in res and the End Tag
 * (checksum 0: "treat as valid"). */
static void name_crs(struct aml *a, const struct aml *res)
{
	static const uint8_t end_tag[] = {0x79, 0x00};
	size_t p;

	if (res->full)
		a->full = true;
	aml_byte(a, AML_NAME);
	aml_nameseg(a, "_CRS");
	aml_byte(a, AML_BUFFER);
	p = pkg_begin(a);
	aml_integer(a, res->len + sizeof(end_tag));
	aml_bytes(a, res->buf, res->len);
	aml_bytes(a, end_tag, sizeof(end_tag));
	pkg_end(a, p);
}

/* Device(name) {...}: returns what device_end() needs. */
static size_t device_begin(struct aml *a, const char *name)
{
	size_t p;

	aml_byte(a, AML_EXT_PREFIX);
	aml_byte(a, AML_DEVICE);
	p = pkg_begin(a);
	aml_nameseg(a, name);
	return p;
}

/* ---- Resource descriptors (ACPI 6.0, 6.4) ---- */

/* IO(Decode16, base, base, 1, len): a fixed range of ports. */
static void res_io(struct aml *r, uint16_t base, uint8_t len)
{
	aml_byte(r, 0x47);
	aml_byte(r, 0x01); /* 16-bit decode */
	aml_le(r, base, 2);
	aml_le(r, base, 2);
	aml_byte(r, 1);
	aml_byte(r, len);
}

/* IRQNoFlags() {irq}: an ISA interrupt, edge-triggered, active high, exclusive. */
static void res_irq(struct aml *r, unsigned irq)
{
	aml_byte(r, 0x22);
	aml_le(r, 1u << irq, 2);
}

/* Memory32Fixed(ReadWrite, base, size). */
static void res_mem32(struct aml *r, uint32_t base, uint32_t size)
{
	aml_byte(r, 0x86);
	aml_le(r, 9, 2);
	aml_byte(r, 0x01); /* read-write */
	aml_le(r, base, 4);
	aml_le(r, size, 4);
}

/* Interrupt(ResourceConsumer, Edge, ActiveHigh, Exclusive) {gsi}. */
static void res_gsi(struct aml *r, uint32_t gsi)
{
	aml_byte(r, 0x89);
	aml_le(r, 6, 2);
	aml_byte(r, 0x03); /* bit 0 consumer, bit 1 edge; active high and exclusive are 0 */
	aml_byte(r, 1);	   /* one interrupt */
	aml_le(r, gsi, 4);
}

/* ---- The DSDT ---- */

/* Name(\_S5, Package() {5, 0, 0, 0}): SLP_TYP for the sleep control register. */
static void aml_s5(struct aml *a)
{
	size_t p;

	aml_byte(a, AML_NAME);
	aml_nameseg(a, "_S5_");
	aml_byte(a, AML_PACKAGE);
	p = pkg_begin(a);
	aml_byte(a, 4);
	aml_integer(a, ACPI_PM_SLP_TYP_S5);
	for (int i = 0; i < 3; i++)
		aml_integer(a, 0);
	pkg_end(a, p);
}

static void aml_com1(struct aml *a)
{
	uint8_t rb[32];
	struct aml res = {rb, 0, sizeof(rb), false};
	size_t p = device_begin(a, "COM1");

	name_eisaid(a, "_HID", "PNP0501");
	name_integer(a, "_UID", 0);
	res_io(&res, SERIAL8250_COM1_BASE, SERIAL8250_NR_REGS);
	res_irq(&res, SERIAL8250_COM1_IRQ);
	name_crs(a, &res);
	pkg_end(a, p);
}

static void aml_i8042(struct aml *a)
{
	uint8_t rb[32];
	struct aml res = {rb, 0, sizeof(rb), false};
	size_t p = device_begin(a, "PS2K");

	name_eisaid(a, "_HID", "PNP0303");
	res_io(&res, I8042_DATA_PORT, 1);
	res_io(&res, I8042_COMMAND_PORT, 1);
	res_irq(&res, I8042_KBD_IRQ);
	name_crs(a, &res);
	pkg_end(a, p);
}

static void aml_virtio(struct aml *a, unsigned i, const struct vm_virtio_slot *s)
{
	static const char hex[] = "0123456789ABCDEF";
	char name[4] = {'V', hex[(i >> 8) & 0xf], hex[(i >> 4) & 0xf], hex[i & 0xf]};
	uint8_t rb[32];
	struct aml res = {rb, 0, sizeof(rb), false};
	size_t p = device_begin(a, name);

	name_string(a, "_HID", "LNRO0005");
	name_integer(a, "_UID", i);
	res_mem32(&res, (uint32_t)s->base, (uint32_t)s->size);
	res_gsi(&res, s->gsi);
	name_crs(a, &res);
	pkg_end(a, p);
}

static int check_config(const struct acpi_config *cfg, struct error *err)
{
	if (cfg->irqchip && (cfg->ncpus == 0 || cfg->ncpus > 255))
		return error_set(err, EINVAL, "ACPI tables: %u vCPUs, the MADT takes 1 to 255",
				 cfg->ncpus);
	if (cfg->nvirtio > MAX_MMIO)
		return error_set(err, ENOSPC, "ACPI tables: %u virtio-mmio devices, at most %u",
				 cfg->nvirtio, MAX_MMIO);
	for (unsigned i = 0; i < cfg->nvirtio; i++) {
		const struct vm_virtio_slot *s = &cfg->virtio[i];
		if (s->size == 0 || s->base > UINT32_MAX || s->size > (1ULL << 32) - s->base)
			return error_set(
			    err, EINVAL, "ACPI tables: %s at 0x%llx (%llu bytes): not below 4 GiB",
			    s->name, (unsigned long long)s->base, (unsigned long long)s->size);
	}
	return 0;
}

/* ---- Tables ---- */

/* Where the next table goes in the area, TABLE_ALIGN-aligned. */
struct layout {
	uint8_t *base; /* the area's host address */
	size_t used;
	bool full;
};

static size_t place(struct layout *l, size_t size)
{
	size_t off = (l->used + TABLE_ALIGN - 1) & ~(size_t)(TABLE_ALIGN - 1);

	if (off > AREA_SIZE || size > AREA_SIZE - off) {
		l->full = true;
		return 0;
	}
	l->used = off + size;
	return off;
}

static uint64_t gpa_of(size_t off)
{
	return ACPI_TABLES_START + off;
}

static uint8_t checksum(const uint8_t *p, size_t len)
{
	uint8_t sum = 0;

	while (len--)
		sum = (uint8_t)(sum + *p++);
	return (uint8_t)-sum;
}

static struct acpi_header header(const char *sig, size_t len, uint8_t revision)
{
	struct acpi_header h = {.length = (uint32_t)len,
				.revision = revision,
				.oem_revision = 1,
				.creator_revision = 1};

	memcpy(h.signature, sig, 4);
	memcpy(h.oem_id, OEM_ID, 6);
	memcpy(h.oem_table_id, OEM_TABLE, 8);
	memcpy(h.creator_id, CREATOR_ID, 4);
	return h;
}

/* Sets the checksum of the len-byte table at off, written with a zero checksum. */
static void seal(struct layout *l, size_t off, size_t len)
{
	l->base[off + offsetof(struct acpi_header, checksum)] = checksum(l->base + off, len);
}

/* Builds the DSDT in place at the end of what is used; returns its offset. */
static size_t build_dsdt(struct layout *l, const struct acpi_config *cfg)
{
	size_t off = place(l, 0), scope;
	struct aml a = {l->base + off, 0, AREA_SIZE - off, l->full};
	struct acpi_header h;

	aml_bytes(&a, &(struct acpi_header){0}, sizeof(h));
	aml_s5(&a);
	aml_byte(&a, AML_SCOPE);
	scope = pkg_begin(&a);
	aml_byte(&a, AML_ROOT);
	aml_nameseg(&a, "_SB_");
	aml_com1(&a);
	aml_i8042(&a);
	for (unsigned i = 0; i < cfg->nvirtio; i++)
		aml_virtio(&a, i, &cfg->virtio[i]);
	pkg_end(&a, scope);
	if (a.full) {
		l->full = true;
		return 0;
	}
	/* Revision 2: integers are 64 bits wide. */
	h = header("DSDT", a.len, 2);
	memcpy(a.buf, &h, sizeof(h));
	l->used = off + a.len;
	seal(l, off, a.len);
	return off;
}

static struct acpi_gas pm_port(unsigned reg)
{
	return (struct acpi_gas){.space_id = GAS_SYSTEM_IO,
				 .bit_width = 8,
				 .access_size = GAS_ACCESS_BYTE,
				 .address = ACPI_PM_PORT + reg};
}

static size_t build_fadt(struct layout *l, uint64_t dsdt)
{
	struct acpi_fadt f = {
	    .h = header("FACP", sizeof(f), 6),
	    .dsdt = (uint32_t)dsdt,
	    .x_dsdt = dsdt,
	    .iapc_boot_arch = IAPC_8042 | IAPC_VGA_NOT_PRESENT | IAPC_CMOS_RTC_NOT_PRES,
	    .flags = FADT_PWR_BUTTON | FADT_SLP_BUTTON | FADT_RESET_REG_SUP | FADT_HW_REDUCED_ACPI,
	    .reset_reg = pm_port(ACPI_PM_REG_RESET),
	    .reset_value = ACPI_PM_RESET_VALUE,
	    .sleep_control = pm_port(ACPI_PM_REG_SLEEP_CONTROL),
	    .sleep_status = pm_port(ACPI_PM_REG_SLEEP_STATUS),
	};
	size_t off = place(l, sizeof(f));

	if (!l->full) {
		memcpy(l->base + off, &f, sizeof(f));
		seal(l, off, sizeof(f));
	}
	return off;
}

static size_t build_madt(struct layout *l, unsigned ncpus)
{
	size_t len = sizeof(struct acpi_madt) + ncpus * sizeof(struct madt_lapic) +
		     sizeof(struct madt_ioapic) + sizeof(struct madt_iso);
	size_t off = place(l, len), at = off + sizeof(struct acpi_madt);
	struct acpi_madt m = {header("APIC", len, 4), LAPIC_ADDR, MADT_PCAT_COMPAT};
	struct madt_ioapic io = {MADT_IOAPIC, sizeof(io), IOAPIC_ID, 0, IOAPIC_ADDR, 0};
	struct madt_iso iso = {MADT_ISO, sizeof(iso), 0, PIT_IRQ, PIT_GSI, 0};

	if (l->full)
		return 0;
	memcpy(l->base + off, &m, sizeof(m));
	/* ACPI processor UID and APIC ID are both the vCPU index (KVM's vcpu id). */
	for (unsigned i = 0; i < ncpus; i++, at += sizeof(struct madt_lapic)) {
		struct madt_lapic c = {MADT_LAPIC, sizeof(c), (uint8_t)i, (uint8_t)i,
				       MADT_LAPIC_ENABLE};
		memcpy(l->base + at, &c, sizeof(c));
	}
	memcpy(l->base + at, &io, sizeof(io));
	memcpy(l->base + at + sizeof(io), &iso, sizeof(iso));
	seal(l, off, len);
	return off;
}

static void build_xsdt(struct layout *l, size_t off, const uint64_t *tables, unsigned n)
{
	struct acpi_header h = header("XSDT", sizeof(h) + n * sizeof(uint64_t), 1);

	memcpy(l->base + off + sizeof(h), tables, n * sizeof(uint64_t));
	memcpy(l->base + off, &h, sizeof(h));
	seal(l, off, h.length);
}

static void build_rsdp(struct layout *l, size_t off, uint64_t xsdt)
{
	struct acpi_rsdp r = {.revision = 2, .length = sizeof(r), .xsdt = xsdt};

	memcpy(r.signature, "RSD PTR ", 8);
	memcpy(r.oem_id, OEM_ID, 6);
	r.checksum = checksum((const uint8_t *)&r, 20);
	r.ext_checksum = checksum((const uint8_t *)&r, sizeof(r));
	memcpy(l->base + off, &r, sizeof(r));
}

int acpi_build(const struct guest_memory *mem, const struct acpi_config *cfg, uint64_t *ret_rsdp,
	       struct error *err)
{
	struct layout l = {guest_memory_hva(mem, ACPI_TABLES_START, AREA_SIZE), 0, false};
	uint64_t tables[2];
	unsigned n = 0;
	size_t rsdp, xsdt, dsdt;
	int r = check_config(cfg, err);

	if (r < 0)
		return r;
	if (!l.base)
		return error_set(err, EFAULT, "ACPI tables at 0x%x-0x%x: not in guest RAM",
				 ACPI_TABLES_START, ACPI_TABLES_END - 1);
	memset(l.base, 0, AREA_SIZE);
	rsdp = place(&l, sizeof(struct acpi_rsdp));
	xsdt = place(&l, sizeof(struct acpi_header) + sizeof(tables));
	dsdt = build_dsdt(&l, cfg);
	tables[n++] = gpa_of(build_fadt(&l, gpa_of(dsdt)));
	if (cfg->irqchip)
		tables[n++] = gpa_of(build_madt(&l, cfg->ncpus));
	if (l.full)
		return error_set(err, ENOSPC,
				 "ACPI tables: %u vCPUs and %u virtio-mmio devices do not fit in "
				 "%u KiB",
				 cfg->ncpus, cfg->nvirtio, AREA_SIZE / 1024);
	build_xsdt(&l, xsdt, tables, n);
	build_rsdp(&l, rsdp, gpa_of(xsdt));
	*ret_rsdp = gpa_of(rsdp);
	return 0;
}
