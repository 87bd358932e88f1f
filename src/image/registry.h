/* image_registry: pulls images with the OCI distribution protocol (libcurl).
 *
 * GET /v2/<name>/manifests/<tag|digest> (OCI index/manifest, Docker list/manifest v2), the
 * platform's manifest from an index, then the config and every layer from /v2/<name>/blobs/,
 * each streamed into the store and verified (digest and size) while it arrives. Layers come
 * in parallel, are retried (network errors, 5xx, 429) and resumed with Range; each layer is
 * unpacked into the store (image_store_unpack_layer) as soon as its blob was verified, while
 * the others still download, so that the first run finds it ready. Auth: anonymous,
 * Basic, and bearer tokens from the WWW-Authenticate challenge, with credentials from a
 * Docker-style auth.json. Plain HTTP only for loopback registries or when asked (insecure).
 * The reference is tagged only after everything was verified and stored.
 */
#ifndef VESSEL_IMAGE_REGISTRY_H
#define VESSEL_IMAGE_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "image/digest.h"
#include "image/store.h"
#include "util/error.h"

#define IMAGE_REGISTRY_DOCKER_HOST "registry-1.docker.io"
#define IMAGE_REGISTRY_PARALLEL	   3
#define IMAGE_REGISTRY_TRIES	   3

enum image_pull_state {
	IMAGE_PULL_WAITING,
	IMAGE_PULL_DOWNLOADING,
	IMAGE_PULL_EXTRACTING, /* verified, being unpacked into the store's layers */
	IMAGE_PULL_DONE,
	IMAGE_PULL_EXISTS, /* already in the store */
	IMAGE_PULL_FAILED,
	IMAGE_PULL_STATE_MAX
};

/* One layer as the progress callback sees it. */
struct image_pull_layer {
	char digest[IMAGE_DIGEST_SIZE];
	int64_t size;	    /* from the manifest */
	int64_t done;	    /* bytes verified and written so far */
	int64_t elapsed_ns; /* since its transfer started (0 while waiting) */
	enum image_pull_state state;
};

struct image_pull_opts {
	const char *platform;  /* "os/arch[/variant]", NULL: linux/amd64 (borrowed) */
	const char *auth_file; /* NULL: $REGISTRY_AUTH_FILE, else ~/.docker/config.json */
	bool insecure;	       /* plain HTTP for any registry */
	unsigned parallel;     /* layers at once; 0: IMAGE_REGISTRY_PARALLEL */
	/* Called on the calling thread about ten times a second while layers transfer and once
	 * when they are all done; layers are borrowed for the call. May be NULL. */
	void (*progress)(void *opaque, const struct image_pull_layer *layers, size_t n);
	void *opaque;
};

struct image_pull_result {
	char name[512];			  /* canonical reference that was tagged */
	char digest[IMAGE_DIGEST_SIZE];	  /* the registry's digest of what ref named */
	char manifest[IMAGE_DIGEST_SIZE]; /* the platform's manifest, which name points at */
	int64_t bytes;			  /* bytes transferred for layers */
};

/* Pulls ref (borrowed, any form Docker accepts) into store and tags it. opts may be NULL.
 * Errors name the thing: `127.0.0.1:5000/x:v1: manifest v1: 404 Not Found (MANIFEST_UNKNOWN:
 * manifest unknown)`, `blob sha256:...: digest mismatch (got sha256:...)`. */
int image_registry_pull(struct image_store *store, const char *ref,
			const struct image_pull_opts *opts, struct image_pull_result *ret,
			struct error *err);

/* A parsed WWW-Authenticate challenge (the first one of the header). Empty strings when
 * absent; scheme is lowercased ("bearer", "basic"). */
struct image_registry_challenge {
	char scheme[16];
	char realm[1024];
	char service[256];
	char scope[512];
};

/* Parses a WWW-Authenticate value (borrowed): scheme, then comma-separated auth-params with
 * token or quoted-string values. -EINVAL naming the fault for malformed or overlong input. */
int image_registry_challenge_parse(const char *header, struct image_registry_challenge *ret,
				   struct error *err);

/* Looks up the credentials for host (borrowed: "127.0.0.1:5000", "docker.io") in the
 * Docker-style auth.json at path (borrowed; a missing file is no credentials): first the
 * credential helper named by "credHelpers" for host, else by "credsStore"
 * (image_registry_credhelper_get), then "auths", whose keys match with or without a scheme
 * or path ("https://index.docker.io/v1/" for docker.io).
 * *ret_auth: owned base64 "user:pass" (checked to decode to one), NULL when there are none. */
int image_registry_auth_lookup(const char *path, const char *host, char **ret_auth,
			       struct error *err);

/* Runs "docker-credential-<helper> get" (found in $PATH; helper must be a plain name) with
 * server (borrowed) on stdin, for at most 30 s. *ret_auth: owned base64 "Username:Secret", or
 * NULL when the helper says it has no credentials for server ("credentials not found").
 * A helper that is missing, fails, hangs or prints anything else is an error naming it:
 * "credential helper docker-credential-pass: get 127.0.0.1:5000 failed (exit status 1): ...". */
int image_registry_credhelper_get(const char *helper, const char *server, char **ret_auth,
				  struct error *err);
/* Parses a helper's answer (text: len bytes, borrowed), {"Username", "Secret", ...}, into
 * *ret_auth (owned base64 "Username:Secret"). Identity tokens ("<token>") are refused. */
int image_registry_credhelper_parse(const char *text, size_t len, char **ret_auth,
				    struct error *err);

/* The auth.json to use: explicit (borrowed, may be NULL), $REGISTRY_AUTH_FILE, or
 * $HOME/.docker/config.json. Returns owned, NULL when out of memory or no HOME. */
char *image_registry_auth_path(const char *explicit_path);

/* Whether a registry domain (borrowed, "127.0.0.1:5000", "[::1]:5000", "localhost") names
 * the loopback interface, where plain HTTP is allowed. */
bool image_registry_is_loopback(const char *domain);

#endif
