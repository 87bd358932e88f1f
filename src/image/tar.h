/* image_tar: the libarchive chores the importers, the exporter and the busybox builder share.
 *
 * Reading: any tar (ustar, pax, GNU), possibly gzip/zstd/xz-compressed. Writing: pax tars
 * with fixed metadata (mtime 0, uid/gid 0), so the same input gives the same bytes.
 * struct archive pointers are owned by the caller of *_open and released by *_close/_free.
 */
#ifndef VESSEL_IMAGE_TAR_H
#define VESSEL_IMAGE_TAR_H

#include <archive.h>
#include <archive_entry.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "image/store.h"
#include "util/error.h"

#define IMAGE_TAR_PATH_MAX 4096

/* Opens path (borrowed) for reading; *ret owned (archive_read_free()). */
int image_tar_open_read(const char *path, struct archive **ret, struct error *err);
/* The member's name cleaned of leading "./" and trailing '/' into buf; -EINVAL when it is
 * absolute, empty or has a ".." component. */
int image_tar_member_name(struct archive_entry *e, char *buf, size_t size, struct error *err);
/* Checks that a path named by a document (borrowed) is relative without ".."; cleans it the
 * same way into buf. */
int image_tar_clean_path(const char *path, char *buf, size_t size, struct error *err);
/* Reads the current member (regular file of at most max bytes) into *ret (owned, NUL-ended). */
int image_tar_read_member(struct archive *a, struct archive_entry *e, const char *name, size_t max,
			  char **ret, size_t *ret_len, struct error *err);
/* Copies the current member into the store as a blob (expected may be NULL); the member's
 * size from its header is verified too. */
int image_tar_put_member(struct image_store *store, struct archive *a, struct archive_entry *e,
			 const char *name, const char *expected, char *ret_digest,
			 struct error *err);

/* Opens a pax writer on fd (borrowed); *ret owned: finish with image_tar_close(). */
int image_tar_open_write(int fd, struct archive **ret, struct error *err);
int image_tar_add_dir(struct archive *a, const char *path, mode_t mode, struct error *err);
int image_tar_add_buf(struct archive *a, const char *path, mode_t mode, const void *buf, size_t len,
		      struct error *err);
/* Adds size bytes read from fd (borrowed) as a regular file. */
int image_tar_add_fd(struct archive *a, const char *path, mode_t mode, int fd, int64_t size,
		     struct error *err);
int image_tar_add_symlink(struct archive *a, const char *path, const char *target,
			  struct error *err);
/* Finishes and frees the writer (NULL-safe); reports a failed final flush. */
int image_tar_close(struct archive *a, struct error *err);

#endif
