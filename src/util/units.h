/* units: the slices people type on a command line: sizes ("512m"), CPUs ("0.25"), durations
 * ("3h", "1h30m", "500ms"). The same flags mean the same for a container and a VM. */
#ifndef VESSEL_UTIL_UNITS_H
#define VESSEL_UTIL_UNITS_H

#include <stdint.h>

#include "util/error.h"

/* Bytes from a decimal number with an optional binary unit: b, k/kb/kib, m, g, t (any case).
 * Fractions are allowed with a unit ("1.5g"); the result must fit in 2^62. what names the
 * flag in errors ("--memory 12q: unknown unit \"q\""). */
int units_parse_size(const char *s, const char *what, int64_t *ret, struct error *err);

/* Thousandths of a CPU from a decimal ("0.25" -> 250, "2" -> 2000); at most 3 decimals, more
 * than 0 and at most 1024 CPUs. */
int units_parse_cpus(const char *s, const char *what, int64_t *ret_millicpus, struct error *err);
/* Milliseconds from Go-style durations: a sequence of NUMBER UNIT with units ms, s, m, h, d
 * ("1h30m", "90s", "500ms"); a bare number is seconds. Positive and at most 100 years. */
int units_parse_duration(const char *s, const char *what, int64_t *ret_ms, struct error *err);

#endif
