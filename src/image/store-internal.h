/* image_store internals shared by store.c (blobs) and store-index.c (names). */
#ifndef VESSEL_IMAGE_STORE_INTERNAL_H
#define VESSEL_IMAGE_STORE_INTERNAL_H

struct image_store {
	char *root;
	int root_fd;  /* O_PATH|O_DIRECTORY */
	int blobs_fd; /* <root>/blobs/sha256 */
	int tmp_fd;   /* <root>/tmp */
};

#endif
