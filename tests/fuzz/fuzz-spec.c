/* libFuzzer target for runtime/spec.c: config.json and bare process objects. */
#include <stddef.h>
#include <stdint.h>

#include "runtime/spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct error err = {0};
	struct spec_process p;

	spec_free(spec_parse((const char *)data, size, &err));
	if (spec_parse_process((const char *)data, size, &p, &err) == 0)
		spec_process_clear(&p);
	return 0;
}
