/* units: see units.h */
#include "util/units.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
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

int units_parse_cpus(const char *s, const char *what, int64_t *ret_millicpus, struct error *err)
{
	uint64_t v, frac;
	const char *end = parse_decimal(s, &v, &frac);

	if (!end || *end)
		return error_set(err, EINVAL, "%s %s: not a number of CPUs (expected e.g. 0.25)",
				 what, s);
	if (frac % 1000000)
		return error_set(err, EINVAL, "%s %s: at most 3 decimals", what, s);
	if (v > 1024 || (v == 1024 && frac) || (v == 0 && frac == 0))
		return error_set(err, ERANGE, "%s %s: must be more than 0 and at most 1024", what,
				 s);
	*ret_millicpus = (int64_t)(v * 1000 + frac / 1000000);
	return 0;
}

static const struct {
	const char *name;
	uint64_t ms;
} duration_units[] = {
    {"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000},
};

#define DURATION_MAX_MS (UINT64_C(100) * 365 * 86400000)

/* One NUMBER UNIT term; returns the end or NULL. */
static const char *duration_term(const char *p, uint64_t *ret_ms)
{
	uint64_t v, frac;
	const char *u = parse_decimal(p, &v, &frac);
	size_t n = 0;

	if (!u)
		return NULL;
	while (isalpha((unsigned char)u[n]))
		n++;
	for (size_t i = 0; i < sizeof(duration_units) / sizeof(duration_units[0]); i++) {
		uint64_t unit = duration_units[i].ms;
		if (strlen(duration_units[i].name) != n || strncmp(u, duration_units[i].name, n))
			continue;
		if (v > DURATION_MAX_MS / unit)
			return NULL;
		*ret_ms = v * unit + frac * unit / 1000000000u;
		return u + n;
	}
	return NULL;
}

int units_parse_duration(const char *s, const char *what, int64_t *ret_ms, struct error *err)
{
	uint64_t total = 0, ms;
	const char *p = s;
	int64_t secs;

	if (*s && strspn(s, "0123456789") == strlen(s)) {
		if (strlen(s) > 12 || (secs = (int64_t)strtoll(s, NULL, 10)) <= 0)
			return error_set(err, ERANGE, "%s %s: out of range", what, s);
		*ret_ms = secs * 1000;
		return 0;
	}
	while (*p) {
		p = duration_term(p, &ms);
		if (!p)
			return error_set(err, EINVAL,
					 "%s %s: not a duration (expected e.g. 3h, 90s, 1h30m)",
					 what, s);
		total += ms;
		if (total > DURATION_MAX_MS)
			return error_set(err, ERANGE, "%s %s: out of range", what, s);
	}
	if (total == 0)
		return error_set(err, ERANGE, "%s %s: must be more than 0", what, s);
	*ret_ms = (int64_t)total;
	return 0;
}
