/* units: the sizes people type on a command line ("512m", "1.5g", "4096"). */
#ifndef VESSEL_UTIL_UNITS_H
#define VESSEL_UTIL_UNITS_H

#include <stdint.h>

#include "util/error.h"

/* Bytes from a decimal number with an optional binary unit: b, k/kb/kib, m, g, t (any case).
 * Fractions are allowed with a unit ("1.5g"); the result must fit in 2^62. what names the
 * flag in errors ("--memory 12q: unknown unit \"q\""). */
int units_parse_size(const char *s, const char *what, int64_t *ret, struct error *err);

#endif
