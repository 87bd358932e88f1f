/* image_ref: see ref.h */
#include "image/ref.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "image/digest.h"
#include "util/cleanup.h"
#include "util/str.h"

#define TAG_MAX 128

static bool is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_alnum(char c)
{
	return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

static bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* One path component, s[0..n): alnum+ (sep alnum+)*, sep = '.' | '_' | "__" | '-'+.
 * Uppercase letters count as alphanumeric here; the caller reports them separately. */
static bool component_ok(const char *s, size_t n)
{
	size_t i = 0;

	for (;;) {
		size_t start = i;

		while (i < n && (is_lower_alnum(s[i]) || (s[i] >= 'A' && s[i] <= 'Z')))
			i++;
		if (i == start)
			return false;
		if (i == n)
			return true;
		if (s[i] == '.')
			i++;
		else if (s[i] == '_')
			i += (i + 1 < n && s[i + 1] == '_') ? 2 : 1;
		else if (s[i] == '-')
			while (i < n && s[i] == '-')
				i++;
		else
			return false;
	}
}

static bool port_ok(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* host ("a.b-c.d" or "[ipv6]") with an optional ":port". */
static bool domain_ok(const char *s, size_t n)
{
	const char *colon;
	size_t i = 0;

	if (n > 0 && s[0] == '[') {
		for (i = 1; i < n && (is_hex(s[i]) || s[i] == ':'); i++)
			;
		if (i == n || s[i] != ']' || i == 1)
			return false;
		i++;
		return i == n || (s[i] == ':' && port_ok(s + i + 1, n - i - 1));
	}
	colon = memchr(s, ':', n);
	if (colon) {
		if (!port_ok(colon + 1, n - (size_t)(colon - s) - 1))
			return false;
		n = (size_t)(colon - s);
	}
	while (i < n) { /* label: alnum ([alnum-]* alnum)? */
		size_t start = i;

		while (i < n && (is_alnum(s[i]) || s[i] == '-'))
			i++;
		if (i == start || s[start] == '-' || s[i - 1] == '-')
			return false;
		if (i < n && (s[i] != '.' || i + 1 == n))
			return false;
		if (i < n)
			i++;
	}
	return n > 0;
}

static bool tag_ok(const char *t)
{
	size_t n = strlen(t);

	if (n == 0 || n > TAG_MAX || !(is_alnum(t[0]) || t[0] == '_'))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!(is_alnum(t[i]) || t[i] == '_' || t[i] == '.' || t[i] == '-'))
			return false;
	return true;
}

/* Docker's splitDockerDomain(): the first component is a domain when it looks like one. */
static bool first_is_domain(const char *name, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (name[i] == '.' || name[i] == ':' || (name[i] >= 'A' && name[i] <= 'Z'))
			return true;
	return n == 9 && memcmp(name, "localhost", 9) == 0;
}

/* Validates the path: components, then case. */
static int check_path(const char *s, const char *path, struct error *err)
{
	bool upper = false;
	const char *p = path;

	for (;;) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);

		if (!component_ok(p, n))
			return error_set(err, EINVAL, "reference \"%s\": invalid reference format",
					 s);
		if (!slash)
			break;
		p = slash + 1;
	}
	for (p = path; *p; p++)
		upper |= (*p >= 'A' && *p <= 'Z');
	if (upper)
		return error_set(err, EINVAL, "reference \"%s\": repository name must be lowercase",
				 s);
	return 0;
}

static bool is_64_hex(const char *s)
{
	if (strlen(s) != 64)
		return false;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return false;
	return true;
}

/* name is "domain/path" or "path": fills ref->domain and ref->path. */
static int split_name(const char *s, const char *name, struct image_ref *ref, struct error *err)
{
	const char *slash = strchr(name, '/');
	const char *path = name;

	if (slash && first_is_domain(name, (size_t)(slash - name))) {
		if (!domain_ok(name, (size_t)(slash - name)))
			return error_set(err, EINVAL, "reference \"%s\": invalid reference format",
					 s);
		ref->domain = strndup(name, (size_t)(slash - name));
		path = slash + 1;
	} else {
		ref->domain = strdup(IMAGE_REF_DEFAULT_DOMAIN);
	}
	if (!ref->domain)
		return error_set(err, ENOMEM, "reference: out of memory");
	if (strcmp(ref->domain, "index.docker.io") == 0) {
		free(ref->domain);
		ref->domain = strdup(IMAGE_REF_DEFAULT_DOMAIN);
		if (!ref->domain)
			return error_set(err, ENOMEM, "reference: out of memory");
	}
	if (!slash && is_64_hex(path))
		return error_set(err, EINVAL,
				 "reference \"%s\": cannot specify 64-byte hexadecimal strings", s);
	if (strcmp(ref->domain, IMAGE_REF_DEFAULT_DOMAIN) == 0 && !strchr(path, '/'))
		ref->path = str_printf("library/%s", path);
	else
		ref->path = strdup(path);
	if (!ref->path)
		return error_set(err, ENOMEM, "reference: out of memory");
	return check_path(s, path, err);
}

/* Splits off "@digest" and ":tag" from name (modified in place). */
static int split_suffixes(const char *s, char *name, struct image_ref *ref, struct error *err)
{
	char *at = strchr(name, '@');
	char *colon, *slash;
	int r;

	if (at) {
		*at = '\0';
		r = image_digest_validate(at + 1, err);
		if (r < 0)
			return error_wrap(err, "reference \"%s\"", s);
		ref->digest = strdup(at + 1);
		if (!ref->digest)
			return error_set(err, ENOMEM, "reference: out of memory");
	}
	colon = strrchr(name, ':');
	slash = strrchr(name, '/');
	if (colon && (!slash || colon > slash)) {
		*colon = '\0';
		if (!tag_ok(colon + 1))
			return error_set(err, EINVAL, "reference \"%s\": invalid tag", s);
		ref->tag = strdup(colon + 1);
		if (!ref->tag)
			return error_set(err, ENOMEM, "reference: out of memory");
	}
	return 0;
}

static int parse(const char *s, struct image_ref *ref, struct error *err)
{
	cleanup_free char *name = NULL;
	int r;

	if (!s || !*s)
		return error_set(err, EINVAL,
				 "reference: repository name must have at least one "
				 "component");
	if (strlen(s) > IMAGE_REF_NAME_MAX + 1 + TAG_MAX + 1 + IMAGE_DIGEST_LEN)
		return error_set(err, EINVAL, "reference \"%.64s...\": too long", s);
	name = strdup(s);
	if (!name)
		return error_set(err, ENOMEM, "reference: out of memory");
	r = split_suffixes(s, name, ref, err);
	if (r < 0)
		return r;
	if (!*name)
		return error_set(err, EINVAL, "reference \"%s\": invalid reference format", s);
	if (strlen(name) > IMAGE_REF_NAME_MAX)
		return error_set(err, EINVAL,
				 "reference \"%.64s...\": repository name must not be more than "
				 "%d characters",
				 s, IMAGE_REF_NAME_MAX);
	r = split_name(s, name, ref, err);
	if (r < 0)
		return r;
	if (strlen(ref->domain) + 1 + strlen(ref->path) > IMAGE_REF_NAME_MAX)
		return error_set(err, EINVAL,
				 "reference \"%.64s...\": repository name must not be more than "
				 "%d characters",
				 s, IMAGE_REF_NAME_MAX);
	if (!ref->tag && !ref->digest) {
		ref->tag = strdup(IMAGE_REF_DEFAULT_TAG);
		if (!ref->tag)
			return error_set(err, ENOMEM, "reference: out of memory");
	}
	return 0;
}

int image_ref_parse(const char *s, struct image_ref *ret, struct error *err)
{
	struct image_ref ref = {0};
	int r;

	*ret = (struct image_ref){0};
	r = parse(s, &ref, err);
	if (r < 0) {
		image_ref_clear(&ref);
		return r;
	}
	*ret = ref;
	return 0;
}

void image_ref_clear(struct image_ref *ref)
{
	if (!ref)
		return;
	free(ref->domain);
	free(ref->path);
	free(ref->tag);
	free(ref->digest);
	*ref = (struct image_ref){0};
}

static char *format_with(const char *name, const struct image_ref *ref)
{
	return str_printf("%s%s%s%s%s", name, ref->tag ? ":" : "", ref->tag ? ref->tag : "",
			  ref->digest ? "@" : "", ref->digest ? ref->digest : "");
}

char *image_ref_name(const struct image_ref *ref)
{
	return str_printf("%s/%s", ref->domain, ref->path);
}

char *image_ref_format(const struct image_ref *ref)
{
	cleanup_free char *name = image_ref_name(ref);

	return name ? format_with(name, ref) : NULL;
}

char *image_ref_familiar(const struct image_ref *ref)
{
	cleanup_free char *name = NULL;
	const char *path = ref->path;

	if (strcmp(ref->domain, IMAGE_REF_DEFAULT_DOMAIN) != 0)
		return image_ref_format(ref);
	if (str_has_prefix(path, "library/") && !strchr(path + 8, '/') && !is_64_hex(path + 8))
		path += 8;
	/* "docker.io/a.b/c" must keep its domain: "a.b/c" would name the registry a.b */
	if (strchr(path, '/') && first_is_domain(path, strcspn(path, "/")))
		return image_ref_format(ref);
	name = strdup(path);
	return name ? format_with(name, ref) : NULL;
}

char *image_ref_normalize(const char *s, struct error *err)
{
	struct image_ref ref;
	char *out;

	if (image_ref_parse(s, &ref, err) < 0)
		return NULL;
	out = image_ref_format(&ref);
	image_ref_clear(&ref);
	if (!out)
		error_set(err, ENOMEM, "reference: out of memory");
	return out;
}
