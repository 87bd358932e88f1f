/* image_unpack: write one layer tar into a directory, never outside it.
 *
 * Layer tars are hostile. Every entry is created relative to a parent directory that was
 * resolved inside the layer directory with openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)
 * (util/path.h), so "..", absolute names, and symlinks planted by earlier entries (x -> /etc,
 * then x/passwd) all land inside it. Names whose cleaned form climbs above the root are refused.
 * Hardlink targets are resolved the same way and must be regular files or symlinks (linked as
 * themselves, never followed). Whiteouts (".wh.NAME", ".wh..wh..opq") are either applied
 * (flattened copy) or recorded the overlayfs way (a 0:0 character device, the
 * trusted.overlay.opaque=y xattr) for a layer that becomes an overlayfs lower dir.
 */
#ifndef VESSEL_IMAGE_UNPACK_H
#define VESSEL_IMAGE_UNPACK_H

#include <stdbool.h>
#include <stdint.h>

#include "util/error.h"

#define IMAGE_UNPACK_MAX_ENTRIES 1000000ULL
#define IMAGE_UNPACK_MAX_BYTES	 (64ULL << 30)
#define IMAGE_UNPACK_MAX_NAME	 4096
/* "sha256:" + 64 hex digits + NUL, as IMAGE_DIGEST_SIZE */
#define IMAGE_UNPACK_DIFF_ID_SIZE 72

struct image_unpack_opts {
	bool overlay;	      /* whiteouts as overlayfs markers (true) or applied (false) */
	uint64_t max_entries; /* 0: IMAGE_UNPACK_MAX_ENTRIES */
	uint64_t max_bytes;   /* bound on the uncompressed stream and on file sizes; 0: default */
	char *diff_id_out;    /* borrowed, IMAGE_UNPACK_DIFF_ID_SIZE bytes, or NULL: receives
			       * "sha256:<hex>" of the uncompressed tar stream */
};

struct image_unpack_stats {
	uint64_t entries;	  /* tar entries read */
	uint64_t files;		  /* regular files written */
	uint64_t dirs;		  /* directories */
	uint64_t symlinks;	  /* symbolic links */
	uint64_t hardlinks;	  /* hard links */
	uint64_t devices;	  /* device nodes and fifos created */
	uint64_t devices_skipped; /* device nodes not permitted (EPERM, rootless) */
	uint64_t whiteouts;	  /* whiteouts and opaque markers */
	uint64_t xattrs_skipped;  /* xattrs outside user.* / security.capability, or refused */
	uint64_t bytes;		  /* bytes of file content written */
};

/* Reads a layer (tar, uncompressed, gzip or zstd: detected) from archive_fd (borrowed, read
 * sequentially, not closed) into dest_dir (borrowed path of an existing directory, normally new
 * and empty). opts may be NULL (defaults, overlay=false); ret may be NULL. On error the message
 * names the entry ("layer entry \"a/../../b\": path escapes the layer"); dest_dir may then hold
 * a partial layer that the caller removes, but nothing was written outside it. */
int image_unpack_layer(int archive_fd, const char *dest_dir, const struct image_unpack_opts *opts,
		       struct image_unpack_stats *ret, struct error *err);

#endif
