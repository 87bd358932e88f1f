/* x86_xsave: see xsave.h */
#include "vmm/x86/xsave.h"

#include <errno.h>
#include <string.h>

/* The legacy area (FXSAVE layout). */
#define FCW		 0
#define FIP		 8  /* XSAVE64: 8 bytes; XSAVE: FIP[31:0], FCS, reserved */
#define FDP		 16 /* likewise FDP[31:0], FDS */
#define MXCSR		 24
#define MXCSR_MASK	 28
#define ST0		 32
#define XMM0		 160
#define XMM_END		 416
#define FCW_INIT	 0x037f
#define MXCSR_MASK_DEF	 0xffbfu /* the SDM's default where the image has none */
#define XCOMP_BV	 (X86_XSAVE_HEADER + 8)
#define HEADER_CHECKED	 16 /* XCOMP_BV and the next 8 bytes must be 0 (standard form) */
#define COMPONENT_X87	 (1ULL << 0)
#define COMPONENT_SSE	 (1ULL << 1)
#define COMPONENT_AVX	 (1ULL << 2)
#define COMPONENTS_MXCSR (COMPONENT_SSE | COMPONENT_AVX)

static uint64_t get64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static void put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, sizeof(v));
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

int x86_xsave_check_layout(const struct x86_xstate *xs, struct error *err)
{
	if (xs->xcr0 >> X86_XSTATE_COMPONENTS)
		return error_set(err, ENOTSUP, "XCR0 0x%llx: components beyond %u",
				 (unsigned long long)xs->xcr0, X86_XSTATE_COMPONENTS - 1);
	for (unsigned i = 2; i < X86_XSTATE_COMPONENTS; i++) {
		if (!(xs->xcr0 & (1ULL << i)))
			continue;
		if (xs->offset[i] < X86_XSAVE_HEADER_END || xs->size[i] > X86_XSAVE_AREA_SIZE ||
		    xs->offset[i] > X86_XSAVE_AREA_SIZE - xs->size[i])
			return error_set(err, ENOTSUP,
					 "XSAVE component %u (offset %u, %u bytes) is outside the "
					 "%u-byte extended state image",
					 i, xs->offset[i], xs->size[i], X86_XSAVE_AREA_SIZE);
	}
	return 0;
}

uint32_t x86_xsave_extent(const struct x86_xstate *xs, uint64_t mask)
{
	uint32_t end = X86_XSAVE_HEADER_END;

	for (unsigned i = 2; i < X86_XSTATE_COMPONENTS; i++)
		if ((mask & (1ULL << i)) && xs->offset[i] + xs->size[i] > end)
			end = xs->offset[i] + xs->size[i];
	return end;
}

/* Where the legacy form's 32-bit pointer stores a selector, the 64-bit one has the upper half. */
static void narrow_pointers(uint8_t *legacy)
{
	memset(legacy + FIP + 4, 0, 4); /* FCS (deprecated: saved as 0) and reserved */
	memset(legacy + FDP + 4, 0, 4);
}

/* Copies (from src) or initializes (src NULL) the bytes of component i in dst. */
static void load_component(const struct x86_xstate *xs, uint8_t *dst, const uint8_t *src,
			   unsigned i)
{
	if (i == 0) {
		if (src) {
			memcpy(dst, src, MXCSR);
			memcpy(dst + ST0, src + ST0, XMM0 - ST0);
		} else {
			memset(dst, 0, MXCSR);
			memset(dst + ST0, 0, XMM0 - ST0);
			dst[FCW] = FCW_INIT & 0xff;
			dst[FCW + 1] = FCW_INIT >> 8;
		}
	} else if (i == 1) {
		if (src)
			memcpy(dst + XMM0, src + XMM0, XMM_END - XMM0);
		else
			memset(dst + XMM0, 0, XMM_END - XMM0);
	} else if (src) {
		memcpy(dst + xs->offset[i], src + xs->offset[i], xs->size[i]);
	} else {
		memset(dst + xs->offset[i], 0, xs->size[i]); /* every user component's init */
	}
}

static bool mxcsr_valid(const struct x86_xstate *xs, uint32_t mxcsr)
{
	uint32_t mask = get32(xs->area + MXCSR_MASK);

	return !(mxcsr & ~(mask ? mask : MXCSR_MASK_DEF));
}

uint32_t x86_xsave_mxcsr(const struct x86_xstate *xs)
{
	return get32(xs->area + MXCSR);
}

/* MXCSR is loaded: SSE counts as in use, so that KVM_SET_XSAVE takes it. */
static void mxcsr_loaded(struct x86_xstate *xs)
{
	put64(xs->area + X86_XSAVE_HEADER, get64(xs->area + X86_XSAVE_HEADER) | COMPONENT_SSE);
}

int x86_xsave_set_mxcsr(struct x86_xstate *xs, uint32_t mxcsr)
{
	if (!mxcsr_valid(xs, mxcsr))
		return -EINVAL;
	memcpy(xs->area + MXCSR, &mxcsr, sizeof(mxcsr));
	mxcsr_loaded(xs);
	return 0;
}

/* The #GP checks of the standard form of XRSTOR. */
static bool restore_faults(const struct x86_xstate *xs, const uint8_t *area, uint64_t rfbm)
{
	static const uint8_t zero[HEADER_CHECKED];

	if (get64(area + X86_XSAVE_HEADER) & ~xs->xcr0)
		return true;
	if (memcmp(area + XCOMP_BV, zero, HEADER_CHECKED) != 0)
		return true;
	return (rfbm & COMPONENTS_MXCSR) && !mxcsr_valid(xs, get32(area + MXCSR));
}

int x86_xsave_restore(struct x86_xstate *xs, const uint8_t *area, uint64_t rfbm, bool wide)
{
	uint64_t bv = get64(area + X86_XSAVE_HEADER);
	uint64_t cur = get64(xs->area + X86_XSAVE_HEADER);

	rfbm &= xs->xcr0;
	if (restore_faults(xs, area, rfbm))
		return -EINVAL;
	for (unsigned i = 0; i < X86_XSTATE_COMPONENTS; i++) {
		if (!(rfbm & (1ULL << i)))
			continue;
		load_component(xs, xs->area, (bv & (1ULL << i)) ? area : NULL, i);
		if (i == 0 && (bv & COMPONENT_X87) && !wide)
			narrow_pointers(xs->area); /* 32-bit pointers, zero-extended */
	}
	put64(xs->area + X86_XSAVE_HEADER, (cur & ~rfbm) | (bv & rfbm));
	if (rfbm & COMPONENTS_MXCSR) {
		memcpy(xs->area + MXCSR, area + MXCSR, 4);
		mxcsr_loaded(xs);
	}
	return 0;
}

void x86_xsave_save(const struct x86_xstate *xs, uint8_t *area, uint64_t rfbm, bool wide)
{
	uint64_t bv = get64(area + X86_XSAVE_HEADER);
	uint64_t state = get64(xs->area + X86_XSAVE_HEADER);

	rfbm &= xs->xcr0;
	for (unsigned i = 0; i < X86_XSTATE_COMPONENTS; i++)
		if (rfbm & (1ULL << i))
			load_component(xs, area, xs->area, i);
	if ((rfbm & COMPONENT_X87) && !wide)
		narrow_pointers(area);
	if (rfbm & COMPONENTS_MXCSR)
		memcpy(area + MXCSR, xs->area + MXCSR, 8); /* MXCSR and MXCSR_MASK */
	put64(area + X86_XSAVE_HEADER, (bv & ~rfbm) | (state & rfbm));
}
