/* fuzz-units: CLI sizes, CPUs and durations are outside input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/units.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	struct error err;
	int64_t v;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (units_parse_size(s, "--memory", &v, &err) == 0 && (v < 0 || v > (INT64_C(1) << 62)))
		abort();
	if (units_parse_cpus(s, "--cpus", &v, &err) == 0 && (v <= 0 || v > 1024000))
		abort();
	if (units_parse_duration(s, "--timeout", &v, &err) == 0 && v <= 0)
		abort();
	free(s);
	return 0;
}
