/* image_manifest: platforms and their selection from an index (see manifest.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image/manifest.h"
#include "util/cleanup.h"

#define DEFAULT_PLATFORM "linux/amd64"

static int part(const char **s, bool last, char **ret)
{
	size_t n = strcspn(*s, "/");

	if (n == 0 || n > 64)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyz0123456789_.-", (*s)[i]))
			return -EINVAL;
	*ret = strndup(*s, n);
	if (!*ret)
		return -ENOMEM;
	*s += n;
	if (**s == '/' && !last)
		(*s)++;
	return 0;
}

int image_platform_parse(const char *s, struct image_platform *ret, struct error *err)
{
	const char *p = s;
	int r;

	*ret = (struct image_platform){0};
	r = part(&p, false, &ret->os);
	if (r == 0)
		r = part(&p, false, &ret->architecture);
	if (r == 0 && *p)
		r = part(&p, true, &ret->variant);
	if (r == 0 && *p)
		r = -EINVAL;
	if (r < 0) {
		image_platform_clear(ret);
		if (r == -ENOMEM)
			return error_set(err, ENOMEM, "out of memory");
		return error_set(err, EINVAL, "platform \"%.100s\": not os/arch[/variant]", s);
	}
	return 0;
}

void image_platform_clear(struct image_platform *p)
{
	free(p->os);
	free(p->architecture);
	free(p->variant);
	*p = (struct image_platform){0};
}

/* 0: no match; 1: os/arch match, variant differs from an unrequested one; 2: exact. */
static int score(const struct image_platform *want, const struct image_platform *have)
{
	if (!have->os || !have->architecture || strcmp(want->os, have->os) != 0 ||
	    strcmp(want->architecture, have->architecture) != 0)
		return 0;
	if (want->variant)
		return have->variant && strcmp(want->variant, have->variant) == 0 ? 2 : 0;
	return have->variant ? 1 : 2;
}

static void offered(const struct image_index *index, char *buf, size_t size)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < index->n_manifests && used + 1 < size; i++) {
		const struct image_platform *p = &index->manifests[i].platform;
		int n;

		if (!p->os)
			continue;
		n = snprintf(buf + used, size - used, "%s%s/%s%s%s", used ? ", " : "", p->os,
			     p->architecture, p->variant ? "/" : "", p->variant ? p->variant : "");
		if (n < 0)
			break;
		used += (size_t)n;
	}
}

int image_index_select(const struct image_index *index, const char *platform,
		       const struct image_descriptor **ret, struct error *err)
{
	struct image_platform want;
	char list[512];
	int best = 0;
	int r;

	*ret = NULL;
	r = image_platform_parse(platform ? platform : DEFAULT_PLATFORM, &want, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < index->n_manifests; i++) {
		const struct image_descriptor *d = &index->manifests[i];
		int s = image_media_kind(d->media_type) == IMAGE_MEDIA_MANIFEST
			    ? score(&want, &d->platform)
			    : 0;

		if (s > best) {
			best = s;
			*ret = d;
		}
	}
	image_platform_clear(&want);
	if (*ret)
		return 0;
	offered(index, list, sizeof(list));
	return error_set(err, ENOENT, "no image for platform %s (the index has: %s)",
			 platform ? platform : DEFAULT_PLATFORM, *list ? list : "none");
}
