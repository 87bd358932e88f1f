/* fuzz-auth: WWW-Authenticate challenges come from any registry the user names; a credential
 * helper's answer is parsed as untrusted too. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "image/registry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Every field that parsed is NUL-terminated within its buffer. */
static void check(const struct image_registry_challenge *c)
{
	if (!memchr(c->scheme, '\0', sizeof(c->scheme)) ||
	    !memchr(c->realm, '\0', sizeof(c->realm)) ||
	    !memchr(c->service, '\0', sizeof(c->service)) ||
	    !memchr(c->scope, '\0', sizeof(c->scope)))
		abort();
	if (!c->scheme[0])
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct image_registry_challenge c;
	struct error err;
	char *auth = NULL;
	char *s = malloc(size + 1);

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (image_registry_challenge_parse(s, &c, &err) == 0)
		check(&c);
	image_registry_is_loopback(s);
	if (image_registry_credhelper_parse((const char *)data, size, &auth, &err) == 0 &&
	    (!auth || !*auth || strlen(auth) % 4 != 0))
		abort(); /* base64 of "user:secret", never empty */
	free(auth);
	free(s);
	return 0;
}
