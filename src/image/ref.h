/* image_ref: image references by Docker's rules ("busybox" is docker.io/library/busybox:latest).
 *
 * Grammar (distribution/reference): [domain "/"] path [":" tag] ["@" digest], where a first
 * component is a domain when it contains '.' or ':', is "localhost", or has an uppercase
 * letter; path components are [a-z0-9]+ joined by '.', '_', "__" or dashes; a tag is
 * [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}; the name is at most 255 characters; digests are sha256.
 */
#ifndef VESSEL_IMAGE_REF_H
#define VESSEL_IMAGE_REF_H

#include "util/error.h"

#define IMAGE_REF_DEFAULT_DOMAIN "docker.io"
#define IMAGE_REF_DEFAULT_TAG	 "latest"
#define IMAGE_REF_NAME_MAX	 255

/* A parsed, normalised reference; every field is owned. tag is "latest" when the input named
 * neither a tag nor a digest; tag or digest may otherwise be NULL. */
struct image_ref {
	char *domain; /* "docker.io", "127.0.0.1:5000", "localhost" */
	char *path;   /* "library/busybox" */
	char *tag;    /* "latest" or NULL */
	char *digest; /* "sha256:..." or NULL */
};

/* Parses s (borrowed) into *ret (fields owned; release with image_ref_clear()). On error
 * *ret is left empty and err says e.g. `reference "Foo": repository name must be lowercase`. */
int image_ref_parse(const char *s, struct image_ref *ret, struct error *err);
/* Frees the fields and zeroes *ref; NULL-safe. */
void image_ref_clear(struct image_ref *ref);
/* "docker.io/library/busybox:latest" (tag and/or "@digest"); returns owned or NULL (ENOMEM). */
char *image_ref_format(const struct image_ref *ref);
/* "domain/path" without tag or digest; returns owned or NULL. */
char *image_ref_name(const struct image_ref *ref);
/* The short form Docker prints: "busybox:latest", "user/x:tag", "127.0.0.1:5000/x:tag";
 * returns owned or NULL. */
char *image_ref_familiar(const struct image_ref *ref);
/* Normalises s (borrowed) to its canonical form; returns owned or NULL with err set. */
char *image_ref_normalize(const char *s, struct error *err);

#endif
