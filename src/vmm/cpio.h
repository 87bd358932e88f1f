/* cpio: a writer of "newc" cpio archives, the format of a Linux initramfs.
 *
 * Regular files, directories and symlinks only (no device nodes), owned by root, mtime 0 and
 * inode numbers counted from 1, so the same input always gives the same bytes. Names are
 * stored without a leading "/". Every header and every file's data start on a 4-byte
 * boundary, so archives written one after the other form a valid concatenation, which the
 * kernel unpacks in turn (a later archive adds to the files of an earlier one).
 */
#ifndef VESSEL_VMM_CPIO_H
#define VESSEL_VMM_CPIO_H

#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

#define CPIO_NAME_MAX 4096

struct cpio {
	int fd; /* borrowed: written sequentially from its current offset */
	uint32_t ino;
	uint64_t offset; /* bytes written so far, for the alignment padding */
};

/* Starts an archive written to fd. */
void cpio_init(struct cpio *c, int fd);
/* mode: the permission bits (07777); the file type comes from the call. */
int cpio_add_dir(struct cpio *c, const char *name, unsigned mode, struct error *err);
int cpio_add_file(struct cpio *c, const char *name, unsigned mode, const void *data, size_t len,
		  struct error *err);
/* A regular file with the contents of the host file at path (its size when opened). */
int cpio_add_file_from(struct cpio *c, const char *name, unsigned mode, const char *path,
		       struct error *err);
int cpio_add_symlink(struct cpio *c, const char *name, const char *target, struct error *err);
/* Writes the trailer; nothing may be added afterwards. */
int cpio_finish(struct cpio *c, struct error *err);

#endif
