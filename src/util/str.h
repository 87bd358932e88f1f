/* str: small string helpers. */
#ifndef VESSEL_UTIL_STR_H
#define VESSEL_UTIL_STR_H

#include <stdbool.h>
#include <stddef.h>

/* asprintf that returns the owned string, or NULL when out of memory. */
char *str_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Number of entries of a NULL-terminated string array (NULL counts as empty). */
size_t strv_len(char *const *v);
/* Parses a whole decimal integer in [min, max]; 0 or -EINVAL/-ERANGE. */
int str_to_long(const char *s, long min, long max, long *ret);
bool str_has_prefix(const char *s, const char *prefix);

#endif
