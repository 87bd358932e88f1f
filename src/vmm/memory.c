/* memory: see memory.h */
#include "vmm/memory.h"

#include <errno.h>
#include <string.h>
#include <linux/mman.h>
#include <stdint.h>
#include <sys/mman.h>

static void layout(struct guest_memory *mem, uint8_t *base, uint64_t size)
{
	uint64_t low = size < GUEST_MMIO_HOLE_START ? size : GUEST_MMIO_HOLE_START;

	memset(mem, 0, sizeof(*mem));
	mem->base = base;
	mem->size = size;
	mem->regions[0] = (struct guest_region){.gpa = 0, .size = low, .hva = base};
	mem->nregions = 1;
	if (size > low) {
		mem->regions[1] = (struct guest_region){
		    .gpa = GUEST_HIGH_RAM_START, .size = size - low, .hva = base + low};
		mem->nregions = 2;
	}
}

/* 2 MiB pages from the host's hugetlb pool, reserved now (no MAP_NORESERVE: a pool that runs
 * dry later would SIGBUS the monitor on a guest's first touch). */
static void *map_huge(uint64_t size, struct error *err)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_HUGE_2MB, -1, 0);

	if (p == MAP_FAILED)
		error_set(err, errno,
			  "--hugepages: %llu MiB of 2 MiB huge pages: %s (see HugePages_Free in "
			  "/proc/meminfo, /proc/sys/vm/nr_hugepages)",
			  (unsigned long long)(size >> 20), strerror(errno));
	return p;
}

int guest_memory_map(struct guest_memory *mem, uint64_t size, bool hugepages, struct error *err)
{
	void *p;

	if (size == 0 || size > SIZE_MAX / 2)
		return error_set(err, EINVAL, "guest memory: invalid size %llu",
				 (unsigned long long)size);
	if (hugepages) {
		size = (size + GUEST_HUGE_PAGE - 1) & ~(GUEST_HUGE_PAGE - 1);
		p = map_huge(size, err);
		if (p == MAP_FAILED)
			return -err->code;
	} else {
		p = mmap(NULL, size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (p == MAP_FAILED)
			return error_errno(err, "guest memory: mmap %llu bytes",
					   (unsigned long long)size);
		madvise(p, size, MADV_MERGEABLE);
	}
	layout(mem, p, size);
	mem->owned = true;
	return 0;
}

void guest_memory_init_buffer(struct guest_memory *mem, void *buf, uint64_t size)
{
	layout(mem, buf, size);
}

void guest_memory_release(struct guest_memory *mem)
{
	if (mem->owned && mem->base)
		munmap(mem->base, mem->size);
	memset(mem, 0, sizeof(*mem));
}

void *guest_memory_hva(const struct guest_memory *mem, uint64_t gpa, uint64_t len)
{
	if (len == 0)
		len = 1;
	for (unsigned i = 0; i < mem->nregions; i++) {
		const struct guest_region *r = &mem->regions[i];
		if (gpa < r->gpa)
			continue;
		uint64_t off = gpa - r->gpa;
		if (off >= r->size || len > r->size - off)
			continue;
		return r->hva + off;
	}
	return NULL;
}

int guest_memory_write(const struct guest_memory *mem, uint64_t gpa, const void *src, uint64_t len)
{
	void *p = guest_memory_hva(mem, gpa, len);

	if (!p)
		return -EFAULT;
	memcpy(p, src, len);
	return 0;
}

int guest_memory_read(const struct guest_memory *mem, uint64_t gpa, void *dst, uint64_t len)
{
	const void *p = guest_memory_hva(mem, gpa, len);

	if (!p)
		return -EFAULT;
	memcpy(dst, p, len);
	return 0;
}

uint64_t guest_memory_low_end(const struct guest_memory *mem)
{
	return mem->nregions ? mem->regions[0].size : 0;
}
