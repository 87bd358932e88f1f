/* test-virtq: the split virtqueue with guest memory as a plain buffer: a good chain, indirect
 * tables, the used ring, and hostile rings (loops, out-of-range indices and addresses,
 * overflowing, huge and zero lengths, bad ordering, nested or malformed indirect tables, an
 * available index that jumps), each an error and never a crash. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vmm/memory.h"
#include "vmm/virtio/virtq.h"

#define MEM_SIZE  (1 << 20)
#define QSIZE	  16
#define DESC_GPA  0x1000
#define AVAIL_GPA 0x2000
#define USED_GPA  0x3000
#define IND_GPA	  0x4000
#define DATA_GPA  0x10000

struct fx {
	uint8_t *buf;
	struct guest_memory mem;
	struct virtq q;
	struct virtq_chain chain;
	struct error err;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	f->buf = aligned_alloc(4096, MEM_SIZE);
	if (!f->buf) {
		free(f);
		return -1;
	}
	memset(f->buf, 0, MEM_SIZE);
	guest_memory_init_buffer(&f->mem, f->buf, MEM_SIZE);
	virtq_reset(&f->q);
	f->q.size = QSIZE;
	f->q.desc = DESC_GPA;
	f->q.avail = AVAIL_GPA;
	f->q.used = USED_GPA;
	f->q.ready = true;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	free(f->buf);
	free(f);
	return 0;
}

static void put_desc(struct fx *f, uint64_t table, unsigned idx, uint64_t addr, uint32_t len,
		     uint16_t flags, uint16_t next)
{
	struct virtq_desc d = {.addr = addr, .len = len, .flags = flags, .next = next};

	memcpy(f->buf + table + 16 * idx, &d, sizeof(d));
}

static uint16_t *avail(struct fx *f)
{
	return (uint16_t *)(void *)(f->buf + AVAIL_GPA);
}

static void offer(struct fx *f, uint16_t head)
{
	uint16_t *a = avail(f);

	a[2 + a[1] % QSIZE] = head;
	a[1]++;
}

static int pop(struct fx *f)
{
	return virtq_pop(&f->q, &f->mem, &f->chain, &f->err);
}

static void expect_error(struct fx *f, int code, const char *what)
{
	assert_int_equal(pop(f), code);
	assert_non_null(strstr(f->err.msg, what));
}

static void test_good_chain(void **state)
{
	struct fx *f = *state;
	const struct virtq_used_elem *used = (const void *)(f->buf + USED_GPA + 4);

	assert_int_equal(virtq_check(&f->q, &f->mem, &f->err), 0);
	assert_int_equal(pop(f), 0); /* empty */
	put_desc(f, DESC_GPA, 3, DATA_GPA, 100, VIRTQ_DESC_F_NEXT, 7);
	put_desc(f, DESC_GPA, 7, DATA_GPA + 100, 50, VIRTQ_DESC_F_NEXT, 1);
	put_desc(f, DESC_GPA, 1, DATA_GPA + 0x1000, 512, VIRTQ_DESC_F_WRITE, 0);
	offer(f, 3);
	assert_int_equal(pop(f), 1);
	assert_int_equal(f->chain.head, 3);
	assert_int_equal(f->chain.nread, 2);
	assert_int_equal(f->chain.nwrite, 1);
	assert_int_equal(f->chain.read_len, 150);
	assert_int_equal(f->chain.write_len, 512);
	assert_ptr_equal(f->chain.iov[0].iov_base, f->buf + DATA_GPA);
	assert_ptr_equal(f->chain.iov[2].iov_base, f->buf + DATA_GPA + 0x1000);
	assert_int_equal(pop(f), 0);

	assert_int_equal(virtq_push(&f->q, &f->mem, 3, 512, &f->err), 0);
	assert_int_equal(((uint16_t *)(void *)(f->buf + USED_GPA))[1], 1);
	assert_int_equal(used[0].id, 3);
	assert_int_equal(used[0].len, 512);
	assert_int_equal(virtq_push(&f->q, &f->mem, QSIZE, 1, &f->err), -EINVAL);
	assert_true(virtq_need_notify(&f->q, &f->mem));
	avail(f)[0] = VIRTQ_AVAIL_F_NO_INTERRUPT;
	assert_false(virtq_need_notify(&f->q, &f->mem));
}

static void test_wraparound(void **state)
{
	struct fx *f = *state;
	const struct virtq_used_elem *used = (const void *)(f->buf + USED_GPA + 4);

	put_desc(f, DESC_GPA, 0, DATA_GPA, 8, VIRTQ_DESC_F_WRITE, 0);
	/* Both indices near the 16-bit wrap: pending is computed modulo 2^16. */
	f->q.last_avail_idx = 0xfffe;
	f->q.used_idx = 0xfffe;
	avail(f)[1] = 0xfffe;
	for (unsigned i = 0; i < 4; i++) {
		offer(f, 0);
		assert_int_equal(pop(f), 1);
		assert_int_equal(virtq_push(&f->q, &f->mem, 0, i, &f->err), 0);
	}
	assert_int_equal(f->q.last_avail_idx, 2);
	assert_int_equal(((uint16_t *)(void *)(f->buf + USED_GPA))[1], 2);
	assert_int_equal(used[(0xfffeu + 3) % QSIZE].len, 3);
}

static void test_indirect(void **state)
{
	struct fx *f = *state;

	put_desc(f, IND_GPA, 0, DATA_GPA, 16, VIRTQ_DESC_F_NEXT, 2);
	put_desc(f, IND_GPA, 2, DATA_GPA + 64, 32, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 1);
	put_desc(f, IND_GPA, 1, DATA_GPA + 128, 32, VIRTQ_DESC_F_WRITE, 0);
	put_desc(f, DESC_GPA, 5, IND_GPA, 3 * 16, VIRTQ_DESC_F_INDIRECT, 0);
	offer(f, 5);
	assert_int_equal(pop(f), 1);
	assert_int_equal(f->chain.head, 5);
	assert_int_equal(f->chain.nread, 1);
	assert_int_equal(f->chain.nwrite, 2);
	assert_int_equal(f->chain.write_len, 64);
}

static void test_loop(void **state)
{
	struct fx *f = *state;

	put_desc(f, DESC_GPA, 0, DATA_GPA, 8, VIRTQ_DESC_F_NEXT, 1);
	put_desc(f, DESC_GPA, 1, DATA_GPA, 8, VIRTQ_DESC_F_NEXT, 0);
	offer(f, 0);
	expect_error(f, -EINVAL, "loops");
	/* A self loop too. */
	put_desc(f, DESC_GPA, 2, DATA_GPA, 8, VIRTQ_DESC_F_NEXT, 2);
	offer(f, 2);
	expect_error(f, -EINVAL, "loops");
	/* And inside an indirect table. */
	put_desc(f, IND_GPA, 0, DATA_GPA, 8, VIRTQ_DESC_F_NEXT, 1);
	put_desc(f, IND_GPA, 1, DATA_GPA, 8, VIRTQ_DESC_F_NEXT, 0);
	put_desc(f, DESC_GPA, 3, IND_GPA, 32, VIRTQ_DESC_F_INDIRECT, 0);
	offer(f, 3);
	expect_error(f, -EINVAL, "loops");
}

static void test_index_out_of_range(void **state)
{
	struct fx *f = *state;

	offer(f, QSIZE); /* head */
	expect_error(f, -EINVAL, "out of range");
	put_desc(f, DESC_GPA, 0, DATA_GPA, 8, VIRTQ_DESC_F_NEXT, 0xffff); /* next */
	offer(f, 0);
	expect_error(f, -EINVAL, "out of range");
	put_desc(f, IND_GPA, 0, DATA_GPA, 8, VIRTQ_DESC_F_NEXT, 2); /* inside a 2-entry table */
	put_desc(f, DESC_GPA, 1, IND_GPA, 32, VIRTQ_DESC_F_INDIRECT, 0);
	offer(f, 1);
	expect_error(f, -EINVAL, "out of range");
}

static void test_bad_addresses(void **state)
{
	struct fx *f = *state;

	put_desc(f, DESC_GPA, 0, MEM_SIZE, 1, 0, 0); /* past RAM */
	offer(f, 0);
	expect_error(f, -EFAULT, "not guest RAM");
	put_desc(f, DESC_GPA, 0, MEM_SIZE - 4, 8, 0, 0); /* straddles the end */
	offer(f, 0);
	expect_error(f, -EFAULT, "not guest RAM");
	put_desc(f, DESC_GPA, 0, UINT64_MAX - 2, 16, 0, 0); /* addr + len overflows */
	offer(f, 0);
	expect_error(f, -EFAULT, "not guest RAM");
	put_desc(f, DESC_GPA, 0, DATA_GPA, UINT32_MAX, VIRTQ_DESC_F_WRITE, 0); /* huge */
	offer(f, 0);
	expect_error(f, -EINVAL, "bytes");
	put_desc(f, DESC_GPA, 0, DATA_GPA, 0, 0, 0); /* zero */
	offer(f, 0);
	expect_error(f, -EINVAL, "zero length");
}

static void test_segments_bounded(void **state)
{
	struct fx *f = *state;
	const unsigned n = VIRTQ_CHAIN_MAX_SEGS + 44;

	/* An indirect table of 300 one-byte buffers: more than a chain may hold. */
	for (unsigned i = 0; i < n; i++)
		put_desc(f, DATA_GPA, i, 0x80000 + i, 1, VIRTQ_DESC_F_NEXT, (uint16_t)(i + 1));
	put_desc(f, DATA_GPA, n - 1, 0x80000, 1, 0, 0);
	put_desc(f, DESC_GPA, 0, DATA_GPA, n * 16, VIRTQ_DESC_F_INDIRECT, 0);
	offer(f, 0);
	expect_error(f, -EINVAL, "longer than 256 buffers");
	/* Exactly the limit is fine. */
	put_desc(f, DATA_GPA, VIRTQ_CHAIN_MAX_SEGS - 1, 0x80000, 1, 0, 0);
	offer(f, 0);
	assert_int_equal(pop(f), 1);
	assert_int_equal(f->chain.nread, VIRTQ_CHAIN_MAX_SEGS);
}

static void test_write_before_read(void **state)
{
	struct fx *f = *state;

	put_desc(f, DESC_GPA, 0, DATA_GPA, 8, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	put_desc(f, DESC_GPA, 1, DATA_GPA, 8, 0, 0);
	offer(f, 0);
	expect_error(f, -EINVAL, "readable after writable");
}

static void test_bad_indirect(void **state)
{
	struct fx *f = *state;

	put_desc(f, IND_GPA, 0, IND_GPA + 0x100, 16, VIRTQ_DESC_F_INDIRECT, 0); /* nested */
	put_desc(f, DESC_GPA, 0, IND_GPA, 16, VIRTQ_DESC_F_INDIRECT, 0);
	offer(f, 0);
	expect_error(f, -EINVAL, "nested indirect");
	put_desc(f, DESC_GPA, 0, IND_GPA, 24, VIRTQ_DESC_F_INDIRECT, 0); /* not 16n */
	offer(f, 0);
	expect_error(f, -EINVAL, "indirect table of 24 bytes");
	put_desc(f, DESC_GPA, 0, IND_GPA, 0, VIRTQ_DESC_F_INDIRECT, 0); /* empty */
	offer(f, 0);
	expect_error(f, -EINVAL, "indirect table of 0 bytes");
	put_desc(f, DESC_GPA, 0, MEM_SIZE - 16, 32, VIRTQ_DESC_F_INDIRECT, 0); /* past RAM */
	offer(f, 0);
	expect_error(f, -EFAULT, "not guest RAM");
	put_desc(f, DESC_GPA, 0, IND_GPA, 0xfffffff0u, VIRTQ_DESC_F_INDIRECT, 0); /* huge */
	offer(f, 0);
	expect_error(f, -EINVAL, "indirect table");
	/* Indirect in the middle of a chain. */
	put_desc(f, DESC_GPA, 0, DATA_GPA, 8, VIRTQ_DESC_F_NEXT, 1);
	put_desc(f, DESC_GPA, 1, IND_GPA, 16, VIRTQ_DESC_F_INDIRECT, 0);
	offer(f, 0);
	expect_error(f, -EINVAL, "inside a chain");
}

static void test_avail_jump(void **state)
{
	struct fx *f = *state;

	avail(f)[1] = QSIZE + 1;
	expect_error(f, -EINVAL, "moved by 17");
	assert_int_equal(f->q.last_avail_idx, 0); /* nothing consumed */
}

static void test_bad_rings(void **state)
{
	struct fx *f = *state;

	f->q.size = 12; /* not a power of two */
	assert_int_equal(virtq_check(&f->q, &f->mem, &f->err), -EINVAL);
	assert_int_equal(pop(f), -EINVAL);
	f->q.size = QSIZE;
	f->q.desc = DESC_GPA + 8; /* misaligned */
	assert_int_equal(virtq_check(&f->q, &f->mem, &f->err), -EINVAL);
	f->q.desc = MEM_SIZE - 16 * 8; /* table runs past RAM */
	assert_int_equal(virtq_check(&f->q, &f->mem, &f->err), -EFAULT);
	assert_int_equal(virtq_push(&f->q, &f->mem, 0, 1, &f->err), -EFAULT);
	assert_false(virtq_need_notify(&f->q, &f->mem));
	f->q.desc = DESC_GPA;
	f->q.used = UINT64_MAX - 3;
	assert_int_equal(pop(f), -EFAULT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_good_chain, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_wraparound, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_indirect, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_loop, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_index_out_of_range, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_addresses, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_segments_bounded, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_write_before_read, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_indirect, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_avail_jump, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_rings, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
