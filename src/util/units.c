/* units: see units.h */
#include "util/units.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <strings.h>

#define SIZE_MAX_BYTES (INT64_C(1) << 62)

static const struct {
	const char *name;
	int shift;
} size_units[] = {
    {"", 0},	 {"b", 0},  {"k", 10},	{"kb", 10},  {"kib", 10}, {"m", 20},  {"mb", 20},
    {"mib", 20}, {"g", 30}, {"gb", 30}, {"gib", 30}, {"t", 40},	  {"tb", 40}, {"tib", 40},
};

/* Digits [. digits]: the integer part and the fraction scaled to 10^9; returns the end. */
static const char *parse_decimal(const char *s, uint64_t *ret_int, uint64_t *ret_frac_e9)
{
	uint64_t v = 0, frac = 0, scale = 100000000;
	const char *p = s;

	for (; isdigit((unsigned char)*p); p++) {
		if (v > (UINT64_MAX - 9) / 10)
			return NULL;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (p == s)
		return NULL;
	if (*p == '.') {
		const char *f = ++p;
		for (; isdigit((unsigned char)*p); p++, scale /= 10)
			frac += (uint64_t)(*p - '0') * scale;
		if (p == f)
			return NULL;
	}
	*ret_int = v;
	*ret_frac_e9 = frac;
	return p;
}

int units_parse_size(const char *s, const char *what, int64_t *ret, struct error *err)
{
	uint64_t v, frac;
	const char *unit = parse_decimal(s, &v, &frac);

	if (!unit)
		return error_set(err, EINVAL, "%s %s: not a size (expected e.g. 512m)", what, s);
	for (size_t i = 0; i < sizeof(size_units) / sizeof(size_units[0]); i++) {
		if (strcasecmp(unit, size_units[i].name))
			continue;
		int shift = size_units[i].shift;
		if (frac && shift == 0)
			return error_set(err, EINVAL, "%s %s: a fraction of a byte", what, s);
		if (v > (uint64_t)SIZE_MAX_BYTES >> shift)
			return error_set(err, ERANGE, "%s %s: too large", what, s);
		uint64_t bytes = (v << shift) + ((frac << shift) / 1000000000u);
		if (bytes > (uint64_t)SIZE_MAX_BYTES)
			return error_set(err, ERANGE, "%s %s: too large", what, s);
		*ret = (int64_t)bytes;
		return 0;
	}
	return error_set(err, EINVAL, "%s %s: unknown unit \"%s\"", what, s, unit);
}
