/* fuzz-ref: image references come from the command line and from image archives. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "image/ref.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A parsed reference formats to a canonical form that parses to itself. */
static void round_trip(const struct image_ref *ref)
{
	struct image_ref again;
	struct error err;
	char *c = image_ref_format(ref), *c2, *fam;

	if (!c)
		return;
	if (image_ref_parse(c, &again, &err) != 0)
		abort();
	c2 = image_ref_format(&again);
	if (!c2 || strcmp(c, c2) != 0)
		abort();
	fam = image_ref_familiar(ref);
	if (fam) {
		char *c3 = image_ref_normalize(fam, &err);

		if (!c3 || strcmp(c3, c) != 0)
			abort();
		free(c3);
	}
	free(fam);
	free(c2);
	free(c);
	image_ref_clear(&again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct image_ref ref;
	struct error err;
	char *s = malloc(size + 1);

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (image_ref_parse(s, &ref, &err) == 0) {
		round_trip(&ref);
		image_ref_clear(&ref);
	}
	free(s);
	return 0;
}
