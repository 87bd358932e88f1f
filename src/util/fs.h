/* fs: file-system chores. */
#ifndef VESSEL_UTIL_FS_H
#define VESSEL_UTIL_FS_H

/* Removes dirfd/name and everything under it, never following a symlink nor crossing into a
 * mount (which fails with EBUSY). 0 if it is gone (or never was), else -errno. */
int fs_remove_tree(int dirfd, const char *name);
/* mkdir -p of an absolute host path (trusted: the runtime's own directories). */
int fs_mkdir_p(const char *path, unsigned mode);

#endif
