/* image_digest: see digest.h */
#include "image/digest.h"

#include <errno.h>
#include <openssl/evp.h>
#include <string.h>

int image_digest_init(struct image_digest_ctx *ctx, struct error *err)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();

	ctx->md = NULL;
	if (!md)
		return error_set(err, ENOMEM, "sha256: out of memory");
	if (EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(md);
		return error_set(err, EIO, "sha256: init failed");
	}
	ctx->md = md;
	return 0;
}

int image_digest_update(struct image_digest_ctx *ctx, const void *buf, size_t len,
			struct error *err)
{
	if (!ctx->md)
		return error_set(err, EINVAL, "sha256: not initialised");
	if (len > 0 && EVP_DigestUpdate(ctx->md, buf, len) != 1)
		return error_set(err, EIO, "sha256: update failed");
	return 0;
}

int image_digest_final(struct image_digest_ctx *ctx, char ret[IMAGE_DIGEST_SIZE], struct error *err)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	int ok;

	if (!ctx->md)
		return error_set(err, EINVAL, "sha256: not initialised");
	ok = EVP_DigestFinal_ex(ctx->md, md, &n);
	image_digest_ctx_free(ctx);
	if (ok != 1 || n != IMAGE_DIGEST_HEX_LEN / 2)
		return error_set(err, EIO, "sha256: final failed");
	memcpy(ret, "sha256:", 7);
	for (unsigned int i = 0; i < n; i++) {
		ret[7 + 2 * i] = hex[md[i] >> 4];
		ret[8 + 2 * i] = hex[md[i] & 15];
	}
	ret[IMAGE_DIGEST_LEN] = '\0';
	return 0;
}

void image_digest_ctx_free(struct image_digest_ctx *ctx)
{
	EVP_MD_CTX_free(ctx->md);
	ctx->md = NULL;
}

int image_digest_buf(const void *buf, size_t len, char ret[IMAGE_DIGEST_SIZE], struct error *err)
{
	struct image_digest_ctx ctx = {0};
	int r;

	r = image_digest_init(&ctx, err);
	if (r < 0)
		return r;
	r = image_digest_update(&ctx, buf, len, err);
	if (r < 0) {
		image_digest_ctx_free(&ctx);
		return r;
	}
	return image_digest_final(&ctx, ret, err);
}

/* Algorithm per the OCI grammar: [a-z0-9]+ ([+._-][a-z0-9]+)* */
static bool algo_ok(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyz0123456789+._-", s[i]))
			return false;
	return n > 0;
}

int image_digest_validate(const char *s, struct error *err)
{
	const char *colon;
	size_t n;

	if (!s || !*s)
		return error_set(err, EINVAL, "digest: empty");
	colon = strchr(s, ':');
	if (!colon)
		return error_set(err, EINVAL, "digest \"%.80s\": missing algorithm", s);
	n = (size_t)(colon - s);
	if (n != 6 || memcmp(s, "sha256", 6) != 0) {
		if (!algo_ok(s, n))
			return error_set(err, EINVAL, "digest \"%.80s\": invalid algorithm", s);
		return error_set(err, EOPNOTSUPP, "digest \"%.80s\": unsupported algorithm %.*s", s,
				 (int)(n > 32 ? 32 : n), s);
	}
	n = strlen(colon + 1);
	if (n != IMAGE_DIGEST_HEX_LEN)
		return error_set(err, EINVAL,
				 "digest \"%.80s\": sha256 needs 64 hex digits, got %zu", s, n);
	for (const char *p = colon + 1; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return error_set(err, EINVAL, "digest \"%.80s\": not lowercase hexadecimal",
					 s);
	return 0;
}

bool image_digest_is_valid(const char *s)
{
	struct error err;

	return image_digest_validate(s, &err) == 0;
}

const char *image_digest_hex(const char *d)
{
	return d + 7;
}
