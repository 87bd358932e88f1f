/* test-vmm-pagewalk: the guest page-table walker on a buffer as guest memory: 4- and 5-level
 * paging with 4 KiB, 2 MiB and 1 GiB pages, Accessed/Dirty bits, permission faults and their
 * error codes, and hostile tables (outside RAM, self-referencing loops, reserved bits,
 * non-canonical addresses). No KVM. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vmm/x86/pagewalk.h"

#define MEM_SIZE (4u << 20)
#define P	 0x1ULL
#define W	 0x2ULL
#define U	 0x4ULL
#define A	 0x20ULL
#define D	 0x40ULL
#define PS	 0x80ULL
#define NX	 (1ULL << 63)
#define PML4	 0x1000ULL
#define PDPT	 0x2000ULL
#define PD	 0x3000ULL
#define PT	 0x4000ULL
#define PAGE	 0x5000ULL
#define CR0_PG	 (1ULL << 31)
#define CR0_WP	 (1ULL << 16)
#define LMA	 0x500ULL /* LME | LMA */
#define NXE	 (1ULL << 11)
#define LA57	 (1ULL << 12)

struct buf {
	uint8_t *mem;
	uint64_t size;
};

static void *map(void *opaque, uint64_t gpa, uint64_t len)
{
	struct buf *b = opaque;

	if (gpa >= b->size || len > b->size - gpa)
		return NULL;
	return b->mem + gpa;
}

struct fixture {
	struct buf buf;
	struct x86_phys_mem mem;
	struct x86_paging pg;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f || !(f->buf.mem = calloc(1, MEM_SIZE)))
		return -1;
	f->buf.size = MEM_SIZE;
	f->mem = (struct x86_phys_mem){.opaque = &f->buf, .map = map};
	f->pg = (struct x86_paging){
	    .cr0 = CR0_PG | CR0_WP | 1, .cr3 = PML4, .cr4 = 0x20, .efer = LMA | NXE};
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	free(f->buf.mem);
	free(f);
	return 0;
}

static uint64_t *entry(struct fixture *f, uint64_t table, uint64_t gva, unsigned level)
{
	return (uint64_t *)(f->buf.mem + table + ((gva >> (12 + 9 * level)) & 511) * 8);
}

/* Maps gva to PAGE through PML4/PDPT/PD/PT with leaf flags. */
static void map4k(struct fixture *f, uint64_t gva, uint64_t flags)
{
	*entry(f, PML4, gva, 3) = PDPT | P | W | U;
	*entry(f, PDPT, gva, 2) = PD | P | W | U;
	*entry(f, PD, gva, 1) = PT | P | W | U;
	*entry(f, PT, gva, 0) = PAGE | flags;
}

static int walk(struct fixture *f, uint64_t gva, unsigned access, uint64_t *gpa, uint32_t *code)
{
	struct error err = {0};
	int r = x86_pagewalk(&f->mem, &f->pg, gva, access, gpa, code, &err);

	if (r < 0)
		assert_true(err.msg[0] != 0);
	return r;
}

static void test_paging_off(void **state)
{
	struct fixture *f = *state;
	uint64_t gpa = 0;

	f->pg.cr0 = 1;
	assert_int_equal(walk(f, 0x123456789ULL, X86_ACCESS_READ, &gpa, NULL), 0);
	assert_int_equal(gpa, 0x23456789ULL);
}

static void test_4k_page_and_accessed_dirty(void **state)
{
	struct fixture *f = *state;
	uint64_t gva = 0xffffffff81234567ULL, gpa = 0;

	map4k(f, gva, P | W);
	assert_int_equal(walk(f, gva, X86_ACCESS_READ, &gpa, NULL), 0);
	assert_int_equal(gpa, PAGE | 0x567);
	assert_true(*entry(f, PML4, gva, 3) & A);
	assert_true(*entry(f, PT, gva, 0) & A);
	assert_false(*entry(f, PT, gva, 0) & D);
	assert_int_equal(walk(f, gva, X86_ACCESS_WRITE, &gpa, NULL), 0);
	assert_true(*entry(f, PT, gva, 0) & D);
	assert_false(*entry(f, PD, gva, 1) & D);
}

static void test_large_pages(void **state)
{
	struct fixture *f = *state;
	uint64_t gva = 0xffff888000345678ULL, gpa = 0;

	*entry(f, PML4, gva, 3) = PDPT | P | W;
	*entry(f, PDPT, gva, 2) = PD | P | W;
	*entry(f, PD, gva, 1) = 0x200000ULL | (1ULL << 12) /* PAT */ | P | W | PS;
	assert_int_equal(walk(f, gva, X86_ACCESS_WRITE, &gpa, NULL), 0);
	assert_int_equal(gpa, 0x200000ULL | 0x145678);
	assert_true(*entry(f, PD, gva, 1) & D);
	*entry(f, PDPT, gva, 2) = 0x40000000ULL | P | PS;
	assert_int_equal(walk(f, gva, X86_ACCESS_READ, &gpa, NULL), 0);
	assert_int_equal(gpa, 0x40345678ULL);
}

static void test_not_present_each_level(void **state)
{
	struct fixture *f = *state;
	uint64_t gva = 0x7f0000401000ULL, gpa = 0, *levels[4];
	uint32_t code = 0xff;

	map4k(f, gva, P | W | U);
	levels[0] = entry(f, PT, gva, 0);
	levels[1] = entry(f, PD, gva, 1);
	levels[2] = entry(f, PDPT, gva, 2);
	levels[3] = entry(f, PML4, gva, 3);
	for (int i = 0; i < 4; i++) {
		uint64_t saved = *levels[i];
		*levels[i] &= ~P;
		assert_int_equal(walk(f, gva, X86_ACCESS_WRITE, &gpa, &code), -EFAULT);
		assert_int_equal(code, X86_ACCESS_WRITE);
		*levels[i] = saved;
	}
	f->pg.cpl = 3;
	*levels[0] &= ~P;
	assert_int_equal(walk(f, gva, X86_ACCESS_READ, &gpa, &code), -EFAULT);
	assert_int_equal(code, X86_ACCESS_USER);
}

static void test_permissions(void **state)
{
	struct fixture *f = *state;
	uint64_t gva = 0x400000ULL, gpa = 0;
	uint32_t code = 0;

	map4k(f, gva, P); /* read-only, supervisor */
	assert_int_equal(walk(f, gva, X86_ACCESS_WRITE, &gpa, &code), -EFAULT);
	assert_int_equal(code, X86_PF_PRESENT | X86_ACCESS_WRITE);
	f->pg.cr0 &= ~CR0_WP; /* supervisor writes ignore R/O without CR0.WP */
	assert_int_equal(walk(f, gva, X86_ACCESS_WRITE, &gpa, &code), 0);
	f->pg.cpl = 3;
	assert_int_equal(walk(f, gva, X86_ACCESS_READ, &gpa, &code), -EFAULT);
	assert_int_equal(code, X86_PF_PRESENT | X86_ACCESS_USER);
	f->pg.cpl = 0;
	*entry(f, PT, gva, 0) = PAGE | P | NX;
	assert_int_equal(walk(f, gva, X86_ACCESS_FETCH, &gpa, &code), -EFAULT);
	assert_int_equal(code, X86_PF_PRESENT | X86_ACCESS_FETCH);
	f->pg.efer &= ~NXE; /* NX means nothing without EFER.NXE */
	assert_int_equal(walk(f, gva, X86_ACCESS_FETCH, &gpa, &code), 0);
}

static void test_reserved_ps_in_pml4(void **state)
{
	struct fixture *f = *state;
	uint64_t gpa = 0;
	uint32_t code = 0;

	*entry(f, PML4, 0, 3) = PDPT | P | PS;
	assert_int_equal(walk(f, 0, X86_ACCESS_READ, &gpa, &code), -EFAULT);
	assert_true(code & X86_PF_RSVD);
}

static void test_non_canonical(void **state)
{
	struct fixture *f = *state;
	uint64_t gpa = 0;

	assert_int_equal(walk(f, 0x0000800000000000ULL, X86_ACCESS_READ, &gpa, NULL), -EINVAL);
	assert_int_equal(walk(f, 0xfff0000000000000ULL, X86_ACCESS_READ, &gpa, NULL), -EINVAL);
	assert_true(x86_is_canonical(&f->pg, 0xffff800000000000ULL));
	assert_false(x86_is_canonical(&f->pg, 0x8000000000000000ULL));
	f->pg.cr4 |= LA57;
	assert_true(x86_is_canonical(&f->pg, 0x0000800000000000ULL));
	assert_false(x86_is_canonical(&f->pg, 0x0100000000000000ULL));
}

static void test_tables_outside_ram(void **state)
{
	struct fixture *f = *state;
	uint64_t gpa = 0;

	f->pg.cr3 = 0x7ffffffff000ULL;
	assert_int_equal(walk(f, 0x1000, X86_ACCESS_READ, &gpa, NULL), -ENXIO);
	f->pg.cr3 = PML4;
	*entry(f, PML4, 0x1000, 3) = 0x000ffffffffff000ULL | P; /* PDPT at the top of 52 bits */
	assert_int_equal(walk(f, 0x1000, X86_ACCESS_READ, &gpa, NULL), -ENXIO);
	f->pg.cr3 = MEM_SIZE; /* the first page past the end of RAM */
	assert_int_equal(walk(f, 0xffffff8000000000ULL, X86_ACCESS_READ, &gpa, NULL), -ENXIO);
}

static void test_self_referencing_tables_terminate(void **state)
{
	struct fixture *f = *state;
	uint64_t gpa = 0;

	/* Every level points back to the PML4: the walk still ends after four steps. */
	for (unsigned i = 0; i < 512; i++)
		*(uint64_t *)(f->buf.mem + PML4 + i * 8) = PML4 | P | W;
	assert_int_equal(walk(f, 0x123, X86_ACCESS_WRITE, &gpa, NULL), 0);
	assert_int_equal(gpa, PML4 | 0x123);
	f->pg.cr4 |= LA57;
	assert_int_equal(walk(f, 0xfffffffffffff008ULL, X86_ACCESS_READ, &gpa, NULL), 0);
	assert_int_equal(gpa, PML4 | 0x8);
}

static void test_five_level(void **state)
{
	struct fixture *f = *state;
	uint64_t gva = 0x00ff000000001000ULL, gpa = 0;

	f->pg.cr4 |= LA57;
	f->pg.cr3 = 0x6000;
	*entry(f, 0x6000, gva, 4) = PML4 | P | W;
	map4k(f, gva, P | W);
	assert_int_equal(walk(f, gva, X86_ACCESS_READ, &gpa, NULL), 0);
	assert_int_equal(gpa, PAGE);
}

static void test_32bit_paging_refused(void **state)
{
	struct fixture *f = *state;
	uint64_t gpa = 0;

	f->pg.efer = 0;
	assert_int_equal(walk(f, 0x1000, X86_ACCESS_READ, &gpa, NULL), -ENOTSUP);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_paging_off, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_4k_page_and_accessed_dirty, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_large_pages, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_not_present_each_level, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_permissions, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reserved_ps_in_pml4, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_non_canonical, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tables_outside_ram, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_self_referencing_tables_terminate, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_five_level, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_32bit_paging_refused, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
