/* registry: `pull`: manifests (and the platform's manifest from an index), the config and
 * the layers into the store, then the tag. */
#include "image/registry.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "image/manifest.h"
#include "image/registry-internal.h"
#include "util/cleanup.h"
#include "util/str.h"

#define ACCEPT                                                                                     \
	IMAGE_MT_OCI_INDEX ", " IMAGE_MT_DOCKER_LIST ", " IMAGE_MT_OCI_MANIFEST                    \
			   ", " IMAGE_MT_DOCKER_MANIFEST

DEFINE_CLEANUP(struct image_index, image_index_free)
DEFINE_CLEANUP(struct image_manifest, image_manifest_free)
DEFINE_CLEANUP(struct image_config, image_config_free)

int registry_client_init(struct registry_client *c, const char *ref,
			 const struct image_pull_opts *opts, struct error *err)
{
	const char *domain, *host;
	bool plain;
	int r;

	memset(c, 0, sizeof(*c));
	pthread_mutex_init(&c->lock, NULL);
	r = image_ref_parse(ref, &c->ref, err);
	if (r < 0)
		return r;
	domain = c->ref.domain;
	host = strcmp(domain, IMAGE_REF_DEFAULT_DOMAIN) ? domain : IMAGE_REGISTRY_DOCKER_HOST;
	plain = opts->insecure || image_registry_is_loopback(domain);
	c->base = str_printf("%s://%s", plain ? "http" : "https", host);
	c->auth_file = image_registry_auth_path(opts->auth_file);
	if (!c->base)
		return error_set(err, ENOMEM, "out of memory");
	if (c->auth_file) {
		r = image_registry_auth_lookup(c->auth_file, domain, &c->basic, err);
		if (r < 0)
			return r;
	}
	return 0;
}

void registry_client_clear(struct registry_client *c)
{
	image_ref_clear(&c->ref);
	free(c->base);
	free(c->auth_file);
	free(c->basic);
	free(c->authz);
	pthread_mutex_destroy(&c->lock);
	memset(c, 0, sizeof(*c));
}

char *registry_url(const struct registry_client *c, const char *kind, const char *what)
{
	return str_printf("%s/v2/%s/%s/%s", c->base, c->ref.path, kind, what);
}

/* A manifest or index read and checked: against expected (may be NULL) and expected_size
 * (-1: unknown), and against the registry's Docker-Content-Digest. */
struct doc {
	struct registry_resp resp;
	char digest[IMAGE_DIGEST_SIZE];
	enum image_media_kind kind;
};

static int check_doc(struct doc *d, const char *expected, int64_t expected_size, struct error *err)
{
	const char *header = d->resp.docker_digest;
	int r;

	r = image_digest_buf(d->resp.body ? d->resp.body : "", d->resp.len, d->digest, err);
	if (r < 0)
		return r;
	if (expected && strcmp(expected, d->digest) != 0)
		return error_set(err, EBADMSG, "digest mismatch (got %s)", d->digest);
	if (expected_size >= 0 && (int64_t)d->resp.len != expected_size)
		return error_set(err, EBADMSG, "size mismatch (got %zu bytes, expected %lld)",
				 d->resp.len, (long long)expected_size);
	if (header && image_digest_is_valid(header) && strcmp(header, d->digest) != 0)
		return error_set(err, EBADMSG, "digest mismatch (got %s, registry says %s)",
				 d->digest, header);
	r = image_manifest_detect(d->resp.body ? d->resp.body : "", d->resp.len,
				  d->resp.content_type, &d->kind, err);
	if (r < 0)
		return r;
	if (d->kind != IMAGE_MEDIA_INDEX && d->kind != IMAGE_MEDIA_MANIFEST)
		return error_set(err, EOPNOTSUPP, "unsupported media type %s",
				 d->resp.content_type ? d->resp.content_type : "(none)");
	return 0;
}

static int fetch_doc(struct registry_client *c, const char *what, const char *expected,
		     int64_t expected_size, struct doc *ret, struct error *err)
{
	cleanup_free char *url = registry_url(c, "manifests", what);
	int r;

	memset(ret, 0, sizeof(*ret));
	if (!url)
		return error_set(err, ENOMEM, "out of memory");
	if (expected_size > (int64_t)IMAGE_MANIFEST_MAX_BYTES)
		return error_set(err, EFBIG, "manifest %s: %lld bytes, more than the %u allowed",
				 what, (long long)expected_size, IMAGE_MANIFEST_MAX_BYTES);
	r = registry_get(c, url, ACCEPT, IMAGE_MANIFEST_MAX_BYTES, &ret->resp, err);
	if (r >= 0)
		r = check_doc(ret, expected, expected_size, err);
	if (r < 0) {
		registry_resp_clear(&ret->resp);
		return error_wrap(err, "manifest %s", what);
	}
	return 0;
}

static int store_doc(struct image_store *store, const struct doc *d, struct error *err)
{
	return image_store_put_blob_buf(store, d->digest, d->resp.body ? d->resp.body : "",
					d->resp.len, NULL, err);
}

/* The platform's manifest from an index (borrowed), read into *ret. */
static int from_index(struct registry_client *c, const struct doc *top,
		      const struct image_pull_opts *opts, struct doc *ret, struct error *err)
{
	cleanup(image_index_free) struct image_index *index = NULL;
	const struct image_descriptor *d;
	int r;

	r = image_index_parse(top->resp.body, top->resp.len, &index, err);
	if (r < 0)
		return error_wrap(err, "index %s", top->digest);
	r = image_index_select(index, opts->platform, &d, err);
	if (r < 0)
		return error_wrap(err, "index %s", top->digest);
	r = fetch_doc(c, d->digest, d->digest, d->size, ret, err);
	if (r >= 0 && ret->kind != IMAGE_MEDIA_MANIFEST) {
		registry_resp_clear(&ret->resp);
		return error_set(err, EINVAL, "manifest %s: an index inside an index", d->digest);
	}
	return r;
}

/* The config, stored and parsed into *ret (owned). */
static int fetch_config(struct registry_client *c, struct image_store *store,
			const struct image_descriptor *d, struct image_config **ret,
			struct error *err)
{
	struct registry_blob b = {.size = d->size};
	cleanup_free char *buf = NULL;
	size_t len;
	int r;

	if (d->size > (int64_t)IMAGE_CONFIG_MAX_BYTES)
		return error_set(err, EFBIG, "config %s: %lld bytes, more than the %u allowed",
				 d->digest, (long long)d->size, IMAGE_CONFIG_MAX_BYTES);
	memcpy(b.digest, d->digest, IMAGE_DIGEST_SIZE);
	r = registry_fetch_blob(c, store, &b, NULL, NULL, NULL, err);
	if (r < 0)
		return r;
	r = image_store_read_blob(store, d->digest, IMAGE_CONFIG_MAX_BYTES, &buf, &len, err);
	if (r >= 0)
		r = image_config_parse(buf, len, ret, err);
	if (r < 0)
		return error_wrap(err, "config %s", d->digest);
	return 0;
}

static int fetch_image(struct registry_client *c, struct image_store *store, const struct doc *m,
		       const struct image_pull_opts *opts, struct image_pull_result *ret,
		       struct error *err)
{
	cleanup(image_manifest_free) struct image_manifest *manifest = NULL;
	cleanup(image_config_free) struct image_config *config = NULL;
	cleanup_free struct registry_blob *blobs = NULL;
	bool unpack;
	int r;

	r = image_manifest_parse(m->resp.body, m->resp.len, &manifest, err);
	if (r < 0)
		return error_wrap(err, "manifest %s", m->digest);
	r = fetch_config(c, store, &manifest->config, &config, err);
	if (r < 0)
		return r;
	blobs = calloc(manifest->n_layers + 1, sizeof(*blobs));
	if (!blobs)
		return error_set(err, ENOMEM, "out of memory");
	/* A config that disagrees with its manifest is the first run's error to report. */
	unpack = config->n_diff_ids == manifest->n_layers;
	for (size_t i = 0; i < manifest->n_layers; i++) {
		memcpy(blobs[i].digest, manifest->layers[i].digest, IMAGE_DIGEST_SIZE);
		blobs[i].size = manifest->layers[i].size;
		if (unpack && image_digest_is_valid(config->diff_ids[i]))
			memcpy(blobs[i].diff_id, config->diff_ids[i], IMAGE_DIGEST_SIZE);
	}
	return registry_fetch_layers(c, store, blobs, manifest->n_layers, opts, &ret->bytes, err);
}

static int pull(struct registry_client *c, struct image_store *store,
		const struct image_pull_opts *opts, struct image_pull_result *ret,
		struct error *err)
{
	const char *what = c->ref.digest ? c->ref.digest : c->ref.tag;
	struct doc top, sub = {0};
	const struct doc *m = &top;
	int r;

	r = fetch_doc(c, what, c->ref.digest, -1, &top, err);
	if (r < 0)
		return r;
	if (top.kind == IMAGE_MEDIA_INDEX) {
		r = from_index(c, &top, opts, &sub, err);
		m = &sub;
	}
	if (r >= 0)
		r = fetch_image(c, store, m, opts, ret, err);
	if (r >= 0 && m != &top)
		r = store_doc(store, m, err);
	if (r >= 0)
		r = store_doc(store, &top, err);
	if (r >= 0)
		r = image_store_tag(store, ret->name, m->digest, err);
	if (r >= 0) {
		memcpy(ret->digest, top.digest, IMAGE_DIGEST_SIZE);
		memcpy(ret->manifest, m->digest, IMAGE_DIGEST_SIZE);
	}
	registry_resp_clear(&top.resp);
	registry_resp_clear(&sub.resp);
	return r;
}

/* Under the store's shared lock: image gc waits until what was stored is tagged. */
static int pull_locked(struct registry_client *c, struct image_store *store,
		       const struct image_pull_opts *opts, struct image_pull_result *ret,
		       struct error *err)
{
	cleanup_fd int lock = image_store_lock(store, false, err);

	if (lock < 0)
		return lock;
	return pull(c, store, opts, ret, err);
}

int image_registry_pull(struct image_store *store, const char *ref,
			const struct image_pull_opts *opts, struct image_pull_result *ret,
			struct error *err)
{
	static const struct image_pull_opts defaults = {0};
	struct registry_client c;
	cleanup_free char *name = NULL, *familiar = NULL;
	int r;

	memset(ret, 0, sizeof(*ret));
	if (!opts)
		opts = &defaults;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return error_set(err, EIO, "curl: initialisation failed");
	r = registry_client_init(&c, ref, opts, err);
	if (r >= 0 && opts->platform) {
		struct image_platform p = {0};

		r = image_platform_parse(opts->platform, &p, err);
		image_platform_clear(&p);
	}
	if (r >= 0) {
		name = image_ref_format(&c.ref);
		familiar = image_ref_familiar(&c.ref);
		if (!name || !familiar || strlen(name) >= sizeof(ret->name))
			r = error_set(err, ENOMEM, "out of memory");
	}
	if (r >= 0) {
		snprintf(ret->name, sizeof(ret->name), "%s", name);
		r = pull_locked(&c, store, opts, ret, err);
		if (r < 0)
			error_wrap(err, "%s", familiar);
	}
	registry_client_clear(&c);
	curl_global_cleanup();
	return r;
}
