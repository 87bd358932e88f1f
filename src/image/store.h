/* image_store: the content-addressed image store under a root directory.
 *
 * Layout (root is /var/lib/vessel unless the caller says otherwise):
 *   <root>/blobs/sha256/<hex>    blobs, named by the sha256 of their bytes, read-only once there
 *   <root>/tmp/                  blobs being written (renamed into blobs/ once verified)
 *   <root>/images.json           {"images": {"<canonical ref>": {"digest", "created"}}}
 *   <root>/lock                  flock() held while images.json is rewritten
 *   <root>/store.lock            flock(): shared by writers (pull, import, unpack), exclusive
 *                                for image gc, so gc never removes what a writer just stored
 *                                and has not referenced yet
 *   <root>/layers/<diffid hex>/  unpacked layers (image_store_unpack_layer)
 * A blob becomes visible only after its digest and size were verified, by rename(2); the name
 * index is replaced atomically under the lock, so concurrent writers never lose updates.
 */
#ifndef VESSEL_IMAGE_STORE_H
#define VESSEL_IMAGE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "image/digest.h"
#include "util/error.h"

#define IMAGE_STORE_DEFAULT_ROOT "/var/lib/vessel"

struct image_store;

/* One name in the index; name is owned. */
struct image_store_entry {
	char *name; /* canonical reference, "docker.io/library/busybox:latest" */
	char digest[IMAGE_DIGEST_SIZE];
	int64_t created; /* seconds since the epoch when the name was (re)tagged */
};

/* Opens (creating the directories, mode 0700 for root) the store at root (borrowed).
 * *ret is owned: release with image_store_free(). */
int image_store_open(const char *root, struct image_store **ret, struct error *err);
/* NULL-safe; returns NULL. */
struct image_store *image_store_free(struct image_store *store);
/* The root path (borrowed from store). */
const char *image_store_root(const struct image_store *store);

/* Copies a blob from read(opaque, buf, len, err) (returns the count, 0 at the end, or -errno
 * with err set) into the store, computing its digest while copying.
 * expected (borrowed, may be NULL) and expected_size (-1: unknown) are verified: a mismatch is
 * refused ("blob sha256:...: digest mismatch (got sha256:...)") and leaves no file behind.
 * When expected is already stored, nothing is read. ret_digest (may be NULL) gets the digest. */
int image_store_put_blob(struct image_store *store, const char *expected, int64_t expected_size,
			 ssize_t (*read)(void *opaque, void *buf, size_t len, struct error *err),
			 void *opaque, char *ret_digest, struct error *err);
/* The same, reading fd (borrowed) to its end. */
int image_store_put_blob_fd(struct image_store *store, const char *expected, int64_t expected_size,
			    int fd, char *ret_digest, struct error *err);
/* The same, from a buffer (borrowed). */
int image_store_put_blob_buf(struct image_store *store, const char *expected, const void *buf,
			     size_t len, char *ret_digest, struct error *err);
bool image_store_has_blob(const struct image_store *store, const char *digest);
/* Opens a blob read-only; returns an owned O_CLOEXEC fd or -errno (-ENOENT when absent). */
int image_store_open_blob(const struct image_store *store, const char *digest, struct error *err);
/* Size of a stored blob in *ret_size. */
int image_store_blob_size(const struct image_store *store, const char *digest, int64_t *ret_size,
			  struct error *err);
/* Reads a whole blob of at most max bytes and checks its digest again; *ret is owned and
 * NUL-terminated (for manifests and configs). */
int image_store_read_blob(const struct image_store *store, const char *digest, size_t max,
			  char **ret, size_t *ret_len, struct error *err);
/* "<root>/blobs/sha256/<hex>"; returns owned, NULL when digest is invalid or out of memory. */
char *image_store_blob_path(const struct image_store *store, const char *digest);
/* "<root>/layers/<hex of diffid>" (not created); returns owned or NULL. */
char *image_store_layer_dir(const struct image_store *store, const char *diffid);

/* Takes <root>/store.lock, shared (writers: held from before they look at what is stored until
 * what they wrote is referenced) or exclusive (gc), waiting for it. Returns the owned lock fd:
 * closing it releases the lock. */
int image_store_lock(struct image_store *store, bool exclusive, struct error *err);

/* One layer to unpack: its blob (compressed tar) and the diff_id its config names. */
struct image_store_layer {
	char blob[IMAGE_DIGEST_SIZE];
	char diff_id[IMAGE_DIGEST_SIZE];
};

/* Whether <root>/layers/<hex of diff_id> exists. */
bool image_store_has_layer(const struct image_store *store, const char *diff_id);
/* Unpacks the stored blob (borrowed digest) into <root>/layers/<hex of diff_id> in overlayfs
 * mode, unless already there. The directory becomes visible (rename) only after the whole tar
 * was unpacked and its diff_id matched; on failure nothing is left. Errors name the blob. */
int image_store_unpack_layer(struct image_store *store, const char *blob, const char *diff_id,
			     struct error *err);
/* The same for n layers, a few at once (one thread per CPU, at most 8); the first failure is
 * returned once all have stopped. */
int image_store_unpack_layers(struct image_store *store, const struct image_store_layer *layers,
			      size_t n, struct error *err);

/* Points the reference ref (borrowed, any form: normalised) at digest (a manifest or index). */
int image_store_tag(struct image_store *store, const char *ref, const char *digest,
		    struct error *err);
/* Removes ref; -ENOENT when it is not there. */
int image_store_untag(struct image_store *store, const char *ref, struct error *err);
/* The digest ref names; a reference with a digest resolves to that digest when its blob is
 * stored. -ENOENT ("image busybox: not found") otherwise. */
int image_store_resolve(const struct image_store *store, const char *ref,
			char ret[IMAGE_DIGEST_SIZE], struct error *err);
/* All names, sorted; *ret owned (free with image_store_entries_free()). */
int image_store_list(const struct image_store *store, struct image_store_entry **ret, size_t *ret_n,
		     struct error *err);
void image_store_entries_free(struct image_store_entry *entries, size_t n);

#endif
