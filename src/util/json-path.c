/* json_path: see json-path.h */
#include "util/json-path.h"

#include <stdio.h>
#include <string.h>

static const char *finish(struct jpath *p, int n)
{
	if (n < 0 || (size_t)n >= sizeof(p->s))
		strcpy(p->s + sizeof(p->s) - 4, "...");
	return p->s;
}

const char *jkey(struct jpath *p, const char *base, const char *key)
{
	return finish(p, snprintf(p->s, sizeof(p->s), "%s%s%s", base, *base ? "." : "", key));
}

const char *jidx(struct jpath *p, const char *base, size_t i)
{
	return finish(p, snprintf(p->s, sizeof(p->s), "%s[%zu]", base, i));
}
