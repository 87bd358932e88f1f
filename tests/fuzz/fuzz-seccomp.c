/* libFuzzer target for runtime/seccomp.c: linux.seccomp profiles, compiled and freed (never
 * installed). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/seccomp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct error err = {0};
	char *json = malloc(size + 1);

	if (!json)
		return 0;
	memcpy(json, data, size);
	json[size] = '\0';
	seccomp_prog_free(seccomp_compile(json, &err));
	free(json);
	return 0;
}
