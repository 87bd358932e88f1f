/* image_digest: sha256 content digests, "sha256:<64 lowercase hex>".
 *
 * Digests name every blob of an image, and most of them come from outside (manifests,
 * registries, tarballs): image_digest_validate() accepts sha256 only, in canonical form.
 */
#ifndef VESSEL_IMAGE_DIGEST_H
#define VESSEL_IMAGE_DIGEST_H

#include <stdbool.h>
#include <stddef.h>

#include "util/error.h"

#define IMAGE_DIGEST_ALGO    "sha256"
#define IMAGE_DIGEST_HEX_LEN 64
#define IMAGE_DIGEST_LEN     71 /* "sha256:" + 64 hex */
#define IMAGE_DIGEST_SIZE    (IMAGE_DIGEST_LEN + 1)

/* A streaming sha256; zero-initialise, then init/update/final. The EVP context is owned. */
struct image_digest_ctx {
	void *md; /* EVP_MD_CTX */
};

int image_digest_init(struct image_digest_ctx *ctx, struct error *err);
int image_digest_update(struct image_digest_ctx *ctx, const void *buf, size_t len,
			struct error *err);
/* Writes "sha256:<hex>" into ret and releases the context. */
int image_digest_final(struct image_digest_ctx *ctx, char ret[IMAGE_DIGEST_SIZE],
		       struct error *err);
/* Releases the context (after an error); safe to call twice and on a zeroed ctx. */
void image_digest_ctx_free(struct image_digest_ctx *ctx);
/* The digest of one buffer. */
int image_digest_buf(const void *buf, size_t len, char ret[IMAGE_DIGEST_SIZE], struct error *err);
/* 0 when s (borrowed) is "sha256:" + 64 lowercase hex; -EINVAL naming the fault otherwise,
 * -EOPNOTSUPP for another algorithm ("sha512:..."). */
int image_digest_validate(const char *s, struct error *err);
bool image_digest_is_valid(const char *s);
/* The hex part of a valid digest (borrowed from d). */
const char *image_digest_hex(const char *d);

#endif
