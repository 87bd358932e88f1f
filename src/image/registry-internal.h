/* registry_: what the registry client's files share (private to src/image/registry*.c). */
#ifndef VESSEL_IMAGE_REGISTRY_INTERNAL_H
#define VESSEL_IMAGE_REGISTRY_INTERNAL_H

#include <curl/curl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "image/ref.h"
#include "image/registry.h"
#include "util/error.h"

#define REGISTRY_ERROR_BODY_MAX 4096
#define REGISTRY_TOKEN_MAX	(64u << 10)

/* One pull's connection to a registry; the token is shared by the layer threads. */
struct registry_client {
	struct image_ref ref;
	char *base;	 /* "https://registry-1.docker.io" (owned) */
	char *auth_file; /* owned, may be NULL */
	char *basic;	 /* base64 "user:pass" from auth.json (owned), NULL: none */
	pthread_mutex_t lock;
	char *authz; /* "Bearer ..." or "Basic ..." (owned, under lock), NULL: anonymous */
};

/* A response read into memory (bounded); every field owned. */
struct registry_resp {
	long status;
	char *body;
	size_t len, cap, max;
	bool too_big;
	char *content_type, *docker_digest, *www_auth;
};

int registry_client_init(struct registry_client *c, const char *ref,
			 const struct image_pull_opts *opts, struct error *err);
void registry_client_clear(struct registry_client *c);
/* "<base>/v2/<path>/<kind>/<what>"; owned or NULL. */
char *registry_url(const struct registry_client *c, const char *kind, const char *what);

/* A new easy handle with the common options (protocols, redirects, timeouts, user agent)
 * for url (borrowed). */
CURL *registry_easy(const char *url, struct error *err);
/* The Authorization header line for the current credentials, appended to *hdrs; 0 when there
 * are none. */
int registry_add_authz(struct registry_client *c, struct curl_slist **hdrs, struct error *err);
/* Reacts to a 401: parses the challenge (borrowed) and gets a token (or picks Basic).
 * -EACCES when there is nothing more to try. */
int registry_authenticate(struct registry_client *c, const char *www_auth, struct error *err);

/* GET url into memory: at most max bytes, retried on network errors, 5xx and 429, with
 * one authentication round on 401. Non-2xx answers are errors naming the status and the
 * registry's error code. *ret owned (registry_resp_clear()). */
int registry_get(struct registry_client *c, const char *url, const char *accept, size_t max,
		 struct registry_resp *ret, struct error *err);
void registry_resp_clear(struct registry_resp *r);
/* CURLOPT_HEADERFUNCTION keeping Content-Type, Docker-Content-Digest and WWW-Authenticate of
 * the last response in the struct registry_resp at opaque. */
size_t registry_on_header(char *buf, size_t size, size_t n, void *opaque);
/* A plain GET (no client auth logic) with optional extra headers; one try. */
int registry_get_once(const char *url, struct curl_slist *hdrs, size_t max,
		      struct registry_resp *ret, struct error *err);
/* "404 Not Found (NAME_UNKNOWN: repository name not known to registry)" into buf. */
void registry_status_text(const struct registry_resp *r, char *buf, size_t size);
/* Sets err from a failed transfer: curl's message (errbuf, may be empty) and the OS error. */
int registry_curl_error(CURL *h, CURLcode cc, const char *errbuf, struct error *err);
/* Whether a failure is worth another try. */
bool registry_retryable(CURLcode cc, long status);
/* Sleeps before try number `try` (1-based): 250 ms, 1 s, ... */
void registry_backoff(int try);
int64_t registry_now_ns(void);

/* Layers and config: streamed into the store, verified while they arrive. */
struct registry_blob {
	char digest[IMAGE_DIGEST_SIZE];
	int64_t size;
	char diff_id[IMAGE_DIGEST_SIZE]; /* "" or the layer's, to unpack it once stored */
};
/* Fetches one blob (skipped when stored); *done (may be NULL) follows the bytes received,
 * updated under lock (may be NULL); *abort (may be NULL) stops it with -ECANCELED. */
int registry_fetch_blob(struct registry_client *c, struct image_store *store,
			const struct registry_blob *b, pthread_mutex_t *lock, int64_t *done,
			const bool *abort, struct error *err);
/* Fetches the blobs with opts->parallel threads, reporting progress, and unpacks each blob
 * with a diff_id once it is stored. *ret_bytes: bytes fetched. */
int registry_fetch_layers(struct registry_client *c, struct image_store *store,
			  const struct registry_blob *blobs, size_t n,
			  const struct image_pull_opts *opts, int64_t *ret_bytes,
			  struct error *err);

#endif
