/* json_path: the field path an error about untrusted JSON names ("linux.namespaces[2].type"). */
#ifndef VESSEL_UTIL_JSON_PATH_H
#define VESSEL_UTIL_JSON_PATH_H

#include <stddef.h>

struct jpath {
	char s[256]; /* truncated with "..." when longer */
};

/* base.key (just key when base is ""); returns p->s. */
const char *jkey(struct jpath *p, const char *base, const char *key);
/* base[i]; returns p->s. */
const char *jidx(struct jpath *p, const char *base, size_t i);

#endif
