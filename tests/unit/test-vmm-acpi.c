/* test-vmm-acpi: the firmware tables on a buffer as guest memory, read the way a kernel reads
 * them (the legacy RSDP scan, XSDT -> FADT -> DSDT, MADT) with offsets from the ACPI 6.0 spec
 * rather than the builder's structs; the DSDT walked as AML and, where iasl is installed,
 * disassembled and recompiled by ACPICA; the RSDP hand-off to both boot protocols; and the
 * power-management ports. No KVM. */
#include <errno.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "vmm/boot.h"
#include "vmm/bus.h"
#include "vmm/dev/acpi-pm.h"
#include "vmm/memory.h"
#include "vmm/vm.h"
#include "vmm/x86/acpi.h"
#include "vmm/x86/pvh.h"
#include "vmm/x86/regs.h"

#define MEM_SIZE (4u << 20)

/* Offsets from the spec (ACPI 6.0, 5.2.5-5.2.12). */
#define HDR_LEN		   4
#define HDR_REVISION	   8
#define HDR_SIZE	   36
#define FADT_DSDT	   40
#define FADT_IAPC_BOOT	   109
#define FADT_FLAGS	   112
#define FADT_RESET_REG	   116
#define FADT_RESET_VALUE   128
#define FADT_X_DSDT	   140
#define FADT_SLEEP_CONTROL 244
#define FADT_SLEEP_STATUS  256
#define FADT_LEN	   276

struct tables {
	const uint8_t *rsdp, *xsdt, *fadt, *madt, *dsdt;
	uint64_t rsdp_gpa;
};

static struct guest_memory *new_mem(uint64_t size)
{
	struct guest_memory *m = calloc(1, sizeof(*m));
	void *buf = calloc(1, size);

	assert_non_null(m);
	assert_non_null(buf);
	guest_memory_init_buffer(m, buf, size);
	return m;
}

static void free_mem(struct guest_memory *m)
{
	free(m->base);
	free(m);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const uint8_t *p)
{
	return rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static uint8_t sum(const uint8_t *p, size_t len)
{
	uint8_t s = 0;

	while (len--)
		s = (uint8_t)(s + *p++);
	return s;
}

/* A table's host address, after checking its signature, length and checksum. */
static const uint8_t *table_at(const struct guest_memory *m, uint64_t gpa, const char *sig)
{
	const uint8_t *t = guest_memory_hva(m, gpa, HDR_SIZE);

	assert_non_null(t);
	assert_memory_equal(t, sig, 4);
	assert_true(rd32(t + HDR_LEN) >= HDR_SIZE);
	assert_non_null(guest_memory_hva(m, gpa, rd32(t + HDR_LEN)));
	assert_int_equal(sum(t, rd32(t + HDR_LEN)), 0);
	return t;
}

/* What Linux's acpi_find_root_pointer() does without boot parameters: 16-byte steps through
 * 0xe0000-0xfffff for the signature with a good checksum. */
static uint64_t legacy_scan(const struct guest_memory *m)
{
	for (uint64_t gpa = 0xe0000; gpa < 0x100000; gpa += 16) {
		const uint8_t *p = guest_memory_hva(m, gpa, 36);
		if (p && !memcmp(p, "RSD PTR ", 8) && sum(p, 20) == 0)
			return gpa;
	}
	return 0;
}

static void find_tables(const struct guest_memory *m, uint64_t rsdp, struct tables *t)
{
	unsigned n;

	memset(t, 0, sizeof(*t));
	t->rsdp_gpa = legacy_scan(m);
	assert_int_equal(t->rsdp_gpa, rsdp);
	t->rsdp = guest_memory_hva(m, rsdp, 36);
	assert_int_equal(t->rsdp[15], 2); /* revision */
	assert_int_equal(rd32(t->rsdp + 20), 36);
	assert_int_equal(sum(t->rsdp, 36), 0);
	t->xsdt = table_at(m, rd64(t->rsdp + 24), "XSDT");
	n = (rd32(t->xsdt + HDR_LEN) - HDR_SIZE) / 8;
	for (unsigned i = 0; i < n; i++) {
		uint64_t gpa = rd64(t->xsdt + HDR_SIZE + 8 * i);
		const uint8_t *p = guest_memory_hva(m, gpa, 4);
		assert_non_null(p);
		if (!memcmp(p, "FACP", 4))
			t->fadt = table_at(m, gpa, "FACP");
		else if (!memcmp(p, "APIC", 4))
			t->madt = table_at(m, gpa, "APIC");
		else
			fail_msg("unexpected table %.4s in the XSDT", (const char *)p);
	}
	assert_non_null(t->fadt);
	t->dsdt = table_at(m, rd64(t->fadt + FADT_X_DSDT), "DSDT");
}

static struct vm_virtio_slot slot(unsigned i)
{
	return (struct vm_virtio_slot){"virtio-test",
				       VM_VIRTIO_MMIO_BASE + i * VM_VIRTIO_MMIO_STRIDE,
				       VM_VIRTIO_MMIO_STRIDE, VM_VIRTIO_GSI_BASE + i};
}

static void build(const struct guest_memory *m, unsigned ncpus, unsigned nvirtio, struct tables *t)
{
	struct vm_virtio_slot s[VM_MAX_VIRTIO];
	struct acpi_config cfg = {ncpus, true, s, nvirtio};
	struct error err;
	uint64_t rsdp = 0;

	for (unsigned i = 0; i < nvirtio; i++)
		s[i] = slot(i);
	assert_int_equal(acpi_build(m, &cfg, &rsdp, &err), 0);
	assert_int_equal(rsdp % 16, 0);
	assert_true(rsdp >= ACPI_TABLES_START && rsdp < ACPI_TABLES_END);
	find_tables(m, rsdp, t);
}

static void check_gas(const uint8_t *g, uint64_t port)
{
	assert_int_equal(g[0], 1); /* system I/O */
	assert_int_equal(g[1], 8); /* bits */
	assert_int_equal(g[2], 0);
	assert_int_equal(rd64(g + 4), port);
}

static void test_fadt(void **state)
{
	struct guest_memory *m = new_mem(MEM_SIZE);
	struct tables t;

	build(m, 1, 0, &t);
	assert_int_equal(rd32(t.fadt + HDR_LEN), FADT_LEN);
	assert_int_equal(t.fadt[HDR_REVISION], 6);
	assert_true(rd32(t.fadt + FADT_FLAGS) & (1u << 20)); /* HW_REDUCED_ACPI */
	assert_true(rd32(t.fadt + FADT_FLAGS) & (1u << 10)); /* RESET_REG_SUP */
	assert_true(t.fadt[FADT_IAPC_BOOT] & (1u << 1));     /* 8042 */
	assert_true(t.fadt[FADT_IAPC_BOOT] & (1u << 2));     /* VGA not present */
	check_gas(t.fadt + FADT_RESET_REG, ACPI_PM_PORT + ACPI_PM_REG_RESET);
	assert_int_equal(t.fadt[FADT_RESET_VALUE], ACPI_PM_RESET_VALUE);
	check_gas(t.fadt + FADT_SLEEP_CONTROL, ACPI_PM_PORT + ACPI_PM_REG_SLEEP_CONTROL);
	check_gas(t.fadt + FADT_SLEEP_STATUS, ACPI_PM_PORT + ACPI_PM_REG_SLEEP_STATUS);
	/* The 32-bit DSDT pointer, when set, must agree with X_DSDT. */
	assert_int_equal(rd32(t.fadt + FADT_DSDT), rd64(t.fadt + FADT_X_DSDT));
	/* Every table inside the area. */
	assert_true(rd64(t.fadt + FADT_X_DSDT) >= ACPI_TABLES_START);
	assert_true(rd64(t.fadt + FADT_X_DSDT) + rd32(t.dsdt + HDR_LEN) <= ACPI_TABLES_END);
	free_mem(m);
}

static void check_madt(unsigned ncpus)
{
	struct guest_memory *m = new_mem(MEM_SIZE);
	unsigned cpus = 0, ioapics = 0, overrides = 0;
	uint8_t seen[256] = {0};
	struct tables t;
	const uint8_t *e, *end;

	build(m, ncpus, 0, &t);
	assert_non_null(t.madt);
	assert_int_equal(rd32(t.madt + 36), 0xfee00000);
	assert_int_equal(rd32(t.madt + 40) & 1, 1); /* PCAT_COMPAT */
	end = t.madt + rd32(t.madt + HDR_LEN);
	for (e = t.madt + 44; e < end; e += e[1]) {
		assert_true(e[1] >= 2 && e + e[1] <= end);
		if (e[0] == 0) { /* Processor Local APIC */
			assert_int_equal(e[1], 8);
			assert_int_equal(rd32(e + 4) & 1, 1); /* enabled */
			assert_true(e[3] < ncpus);
			assert_int_equal(seen[e[3]]++, 0);
			cpus++;
		} else if (e[0] == 1) { /* I/O APIC */
			assert_int_equal(e[1], 12);
			assert_int_equal(rd32(e + 4), 0xfec00000);
			assert_int_equal(rd32(e + 8), 0); /* GSI base */
			ioapics++;
		} else if (e[0] == 2) { /* Interrupt Source Override */
			assert_int_equal(e[1], 10);
			assert_int_equal(e[2], 0);	  /* ISA */
			assert_int_equal(e[3], 0);	  /* IRQ0 (the PIT) */
			assert_int_equal(rd32(e + 4), 2); /* -> GSI2 */
			overrides++;
		} else {
			fail_msg("unexpected MADT entry type %u", e[0]);
		}
	}
	assert_ptr_equal(e, end);
	assert_int_equal(cpus, ncpus);
	assert_int_equal(ioapics, 1);
	assert_int_equal(overrides, 1);
	free_mem(m);
}

static void test_madt_1_cpu(void **state)
{
	check_madt(1);
}

static void test_madt_4_cpus(void **state)
{
	check_madt(4);
}

static void test_no_irqchip_no_madt(void **state)
{
	struct guest_memory *m = new_mem(MEM_SIZE);
	struct acpi_config cfg = {1, false, NULL, 0};
	struct tables t;
	struct error err;
	uint64_t rsdp;

	assert_int_equal(acpi_build(m, &cfg, &rsdp, &err), 0);
	find_tables(m, rsdp, &t);
	assert_null(t.madt);
	free_mem(m);
}

/* A PkgLength at p: the package's length (counting the encoding) and the encoding's size. */
static size_t pkglen(const uint8_t *p, size_t *enc)
{
	size_t n = (p[0] >> 6) + 1, len = n == 1 ? p[0] & 0x3f : p[0] & 0xf;

	for (size_t i = 1; i < n; i++)
		len |= (size_t)p[i] << (4 + 8 * (i - 1));
	*enc = n;
	return len;
}

static const uint8_t *find(const uint8_t *hay, size_t len, const void *needle, size_t n)
{
	return memmem(hay, len, needle, n);
}

/* Walks the DSDT as AML: Name(_S5_, Package(4) {5, 0, 0, 0}), then Scope(\_SB_) holding
 * exactly `devices` Device() packages whose lengths add up to the scope's end. */
static void walk_dsdt(const uint8_t *d, unsigned devices)
{
	static const uint8_t s5[] = {0x08, '_',	 'S',  '5',  '_',  0x12, 0x07,
				     0x04, 0x0a, 0x05, 0x00, 0x00, 0x00};
	size_t len = rd32(d + HDR_LEN), enc, scope_end, n = 0;
	const uint8_t *p = d + HDR_SIZE;

	assert_memory_equal(p, s5, sizeof(s5));
	p += sizeof(s5);
	assert_int_equal(p[0], 0x10); /* ScopeOp */
	scope_end = (size_t)(p + 1 - d) + pkglen(p + 1, &enc);
	assert_int_equal(scope_end, len);
	p += 1 + enc;
	assert_memory_equal(p, "\\_SB_", 5);
	for (p += 5; p < d + len; n++) {
		assert_int_equal(p[0], 0x5b); /* ExtOpPrefix */
		assert_int_equal(p[1], 0x82); /* DeviceOp */
		p += 2 + pkglen(p + 2, &enc);
	}
	assert_ptr_equal(p, d + len);
	assert_int_equal(n, devices);
}

static void test_dsdt_devices(void **state)
{
	static const uint8_t com1_hid[] = {0x08, '_', 'H', 'I', 'D', 0x0c, 0x41, 0xd0, 0x05, 0x01};
	static const uint8_t com1_io[] = {0x47, 0x01, 0xf8, 0x03, 0xf8, 0x03,
					  0x01, 0x08, 0x22, 0x10, 0x00};
	static const uint8_t kbd_hid[] = {0x0c, 0x41, 0xd0, 0x03, 0x03};
	struct guest_memory *m = new_mem(MEM_SIZE);
	struct tables t;
	size_t len;

	/* Eight slots make \_SB_ longer than 63 bytes: a multi-byte PkgLength. */
	build(m, 2, VM_MAX_VIRTIO, &t);
	len = rd32(t.dsdt + HDR_LEN);
	assert_true(len > HDR_SIZE + 64);
	assert_int_equal(t.dsdt[HDR_REVISION], 2);
	walk_dsdt(t.dsdt, 2 + VM_MAX_VIRTIO);
	assert_non_null(find(t.dsdt, len, com1_hid, sizeof(com1_hid)));
	assert_non_null(find(t.dsdt, len, com1_io, sizeof(com1_io)));
	assert_non_null(find(t.dsdt, len, kbd_hid, sizeof(kbd_hid)));
	for (unsigned i = 0; i < VM_MAX_VIRTIO; i++) {
		struct vm_virtio_slot s = slot(i);
		uint8_t mem[12] = {0x86, 0x09, 0x00, 0x01}, irq[9] = {0x89, 0x06, 0x00, 0x03, 0x01};
		char name[5];
		snprintf(name, sizeof(name), "V%03X", i);
		for (int b = 0; b < 4; b++) {
			mem[4 + b] = (uint8_t)(s.base >> (8 * b));
			mem[8 + b] = (uint8_t)(s.size >> (8 * b));
			irq[5 + b] = (uint8_t)(s.gsi >> (8 * b));
		}
		assert_non_null(find(t.dsdt, len, name, 4));
		assert_non_null(find(t.dsdt, len, mem, sizeof(mem)));
		assert_non_null(find(t.dsdt, len, irq, sizeof(irq)));
	}
	assert_non_null(find(t.dsdt, len, "\x0dLNRO0005", 10));
	/* None: the scope holds COM1 and the keyboard only, in one PkgLength byte. */
	build(m, 1, 0, &t);
	walk_dsdt(t.dsdt, 2);
	assert_null(find(t.dsdt, rd32(t.dsdt + HDR_LEN), "LNRO0005", 8));
	free_mem(m);
}

static void test_errors(void **state)
{
	struct guest_memory *m = new_mem(MEM_SIZE), *tiny = new_mem(512 << 10);
	struct vm_virtio_slot *many = calloc(5000, sizeof(*many));
	struct vm_virtio_slot high = {"virtio-x", 0xfffff000, 0x2000, 16};
	struct acpi_config cfg = {1, true, many, 0};
	struct error err;
	uint64_t rsdp = 0;

	assert_non_null(many);
	for (unsigned i = 0; i < 5000; i++)
		many[i] = slot(i % VM_MAX_VIRTIO);
	cfg.nvirtio = 4000; /* nameable, but more AML than the area holds */
	assert_int_equal(acpi_build(m, &cfg, &rsdp, &err), -ENOSPC);
	assert_non_null(strstr(err.msg, "do not fit"));
	cfg.nvirtio = 5000;
	assert_int_equal(acpi_build(m, &cfg, &rsdp, &err), -ENOSPC);
	cfg = (struct acpi_config){1, true, &high, 1};
	assert_int_equal(acpi_build(m, &cfg, &rsdp, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "virtio-x"));
	cfg = (struct acpi_config){0, true, NULL, 0};
	assert_int_equal(acpi_build(m, &cfg, &rsdp, &err), -EINVAL);
	cfg = (struct acpi_config){256, true, NULL, 0};
	assert_int_equal(acpi_build(m, &cfg, &rsdp, &err), -EINVAL);
	cfg = (struct acpi_config){1, true, NULL, 0};
	assert_int_equal(acpi_build(tiny, &cfg, &rsdp, &err), -EFAULT);
	assert_int_equal(rsdp, 0);
	/* The largest machine still fits. */
	cfg = (struct acpi_config){255, true, many, 256};
	assert_int_equal(acpi_build(m, &cfg, &rsdp, &err), 0);
	free(many);
	free_mem(tiny);
	free_mem(m);
}

static void dump(const char *dir, const char *name, const uint8_t *t)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "we");
	assert_non_null(f);
	assert_int_equal(fwrite(t, 1, rd32(t + HDR_LEN), f), rd32(t + HDR_LEN));
	assert_int_equal(fclose(f), 0);
}

static char *slurp(const char *dir, const char *name)
{
	char path[256], *buf = calloc(1, 1 << 20);
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "re");
	assert_non_null(f);
	assert_non_null(buf);
	assert_true(fread(buf, 1, (1 << 20) - 1, f) > 0);
	fclose(f);
	return buf;
}

/* iasl's decoded flag lines: "   Hardware Reduced (V5) : 1". */
static bool flag_set(const char *dsl, const char *flag)
{
	const char *p = strstr(dsl, flag), *nl;

	assert_non_null(p);
	nl = strchr(p, '\n');
	assert_non_null(nl);
	return nl - p >= 4 && !memcmp(nl - 4, " : 1", 4);
}

static int run(const char *dir, const char *args)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "cd %s && iasl %s >>iasl.log 2>&1", dir, args);
	return system(cmd);
}

/* ACPICA's own disassembler reads every table, and its compiler takes the DSDT back. */
static void test_iasl(void **state)
{
	char dir[] = "/tmp/test-vmm-acpi.XXXXXX", *dsl, *log, cmd[64];
	struct guest_memory *m;
	struct tables t;

	if (system("command -v iasl >/dev/null 2>&1") != 0) {
		print_message("iasl is missing (Debian: acpica-tools)\n");
		skip();
	}
	m = new_mem(MEM_SIZE);
	build(m, 4, 3, &t);
	assert_non_null(mkdtemp(dir));
	dump(dir, "dsdt.dat", t.dsdt);
	dump(dir, "facp.dat", t.fadt);
	dump(dir, "apic.dat", t.madt);
	assert_int_equal(run(dir, "-d dsdt.dat"), 0);
	assert_int_equal(run(dir, "-d facp.dat"), 0);
	assert_int_equal(run(dir, "-d apic.dat"), 0);
	dsl = slurp(dir, "dsdt.dsl");
	assert_non_null(strstr(dsl, "\"LNRO0005\""));
	assert_non_null(strstr(dsl, "Name (_S5, Package (0x04)"));
	assert_non_null(strstr(dsl, "EisaId (\"PNP0501\")"));
	assert_non_null(strstr(dsl, "Memory32Fixed (ReadWrite,\n"));
	assert_non_null(strstr(dsl, "0xD0002000"));
	free(dsl);
	dsl = slurp(dir, "apic.dsl");
	assert_null(strstr(dsl, "Incorrect checksum"));
	assert_non_null(strstr(dsl, "Local Apic Address : FEE00000"));
	free(dsl);
	dsl = slurp(dir, "facp.dsl");
	assert_null(strstr(dsl, "Incorrect checksum"));
	assert_true(flag_set(dsl, "Hardware Reduced"));
	assert_true(flag_set(dsl, "Reset Register Supported"));
	assert_true(flag_set(dsl, "8042 Present"));
	free(dsl);
	assert_int_equal(run(dir, "-p recompiled dsdt.dsl"), 0);
	log = slurp(dir, "iasl.log");
	assert_null(strstr(log, "ACPI Error"));
	assert_null(strstr(log, "ACPI Warning"));
	assert_non_null(strstr(log, "Compilation successful. 0 Errors, 0 Warnings"));
	free(log);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
	free_mem(m);
}

/* The RSDP reaches the kernel through both boot protocols, leaving the rest intact. */
static void test_rsdp_handoff(void **state)
{
	struct guest_memory *m = new_mem(MEM_SIZE);
	struct boot_result res = {.protocol = BOOT_PVH};
	struct hvm_start_info si;
	struct error err;
	uint64_t v = 0;

	assert_int_equal(pvh_setup_start_info(m, "quiet", 0, 0, &err), 0);
	assert_int_equal(boot_set_rsdp(m, &res, ACPI_TABLES_START, &err), 0);
	assert_int_equal(guest_memory_read(m, X86_START_INFO_ADDR, &si, sizeof(si)), 0);
	assert_int_equal(si.rsdp_paddr, ACPI_TABLES_START);
	assert_int_equal(si.magic, HVM_START_MAGIC);
	assert_int_equal(si.cmdline_paddr, X86_CMDLINE_ADDR);
	res.protocol = BOOT_LINUX64;
	assert_int_equal(boot_set_rsdp(m, &res, 0xe0040, &err), 0);
	assert_int_equal(guest_memory_read(m, X86_BOOT_PARAMS_ADDR + 0x070, &v, sizeof(v)), 0);
	assert_int_equal(v, 0xe0040);
	free_mem(m);
}

struct pm_log {
	unsigned poweroffs, resets;
};

static void pm_event(void *opaque, enum acpi_pm_event event)
{
	struct pm_log *l = opaque;

	if (event == ACPI_PM_POWEROFF)
		l->poweroffs++;
	else if (event == ACPI_PM_RESET)
		l->resets++;
}

static void pm_write(struct bus *bus, unsigned reg, uint8_t v)
{
	assert_true(bus_access(bus, ACPI_PM_PORT + reg, &v, 1, true));
}

static void test_pm_ports(void **state)
{
	struct pm_log log = {0};
	struct acpi_pm pm = {pm_event, &log};
	struct error err;
	struct bus bus;
	uint32_t wide = 0xffffffff;
	uint8_t v = 0xff;

	bus_init(&bus, "pio");
	assert_int_equal(
	    bus_register(&bus, ACPI_PM_PORT, ACPI_PM_NR_PORTS, "acpi-pm", acpi_pm_io, &pm, &err),
	    0);
	/* What the kernel's acpi_hw_extended_sleep(S5) writes: WAK_STS clear, then SLP_TYP|SLP_EN.
	 */
	pm_write(&bus, ACPI_PM_REG_SLEEP_STATUS, ACPI_PM_WAK_STS);
	assert_int_equal(log.poweroffs, 0);
	pm_write(&bus, ACPI_PM_REG_SLEEP_CONTROL, 5 << 2 | ACPI_PM_SLP_EN);
	assert_int_equal(log.poweroffs, 1);
	/* Ignored: S5 without SLP_EN, SLP_EN with S3, another reset value, resets elsewhere. */
	pm_write(&bus, ACPI_PM_REG_SLEEP_CONTROL, 5 << 2);
	pm_write(&bus, ACPI_PM_REG_SLEEP_CONTROL, 3 << 2 | ACPI_PM_SLP_EN);
	pm_write(&bus, ACPI_PM_REG_RESET, 0x06);
	pm_write(&bus, ACPI_PM_REG_SLEEP_CONTROL, ACPI_PM_RESET_VALUE);
	assert_int_equal(log.poweroffs, 1);
	assert_int_equal(log.resets, 0);
	pm_write(&bus, ACPI_PM_REG_RESET, ACPI_PM_RESET_VALUE);
	assert_int_equal(log.resets, 1);
	assert_int_equal(log.poweroffs, 1);
	/* Reads: WAK_STS never set, every port reads 0. */
	assert_true(bus_access(&bus, ACPI_PM_PORT + ACPI_PM_REG_SLEEP_STATUS, &v, 1, false));
	assert_int_equal(v, 0);
	acpi_pm_io(&pm, 0, (uint8_t *)&wide, sizeof(wide), false);
	assert_int_equal(wide, 0);
	/* Without a callback a poweroff write is dropped, not dereferenced. */
	pm.fn = NULL;
	pm_write(&bus, ACPI_PM_REG_SLEEP_CONTROL, 5 << 2 | ACPI_PM_SLP_EN);
	assert_int_equal(log.poweroffs, 1);
	bus_release(&bus);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fadt),	 cmocka_unit_test(test_madt_1_cpu),
	    cmocka_unit_test(test_madt_4_cpus),	 cmocka_unit_test(test_no_irqchip_no_madt),
	    cmocka_unit_test(test_dsdt_devices), cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_iasl),	 cmocka_unit_test(test_rsdp_handoff),
	    cmocka_unit_test(test_pm_ports),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
