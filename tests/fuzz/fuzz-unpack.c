/* fuzz-unpack: layer tars are hostile. Each input is unpacked into a fresh directory next to
 * a sentinel directory; anything that appears in or disappears from the sentinel, or next to
 * the layer directory, aborts. Odd-sized inputs unpack in overlay mode. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/unpack.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	if (flag == FTW_DP)
		chmod(path, 0700);
	return remove(path);
}

/* Counts the entries of dir (without . and ..); -1 when it cannot be read. */
static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		n += strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
	closedir(d);
	return n;
}

static void check_sentinel(const char *base)
{
	char p[128], buf[16] = "";
	struct stat st;
	int fd;

	snprintf(p, sizeof(p), "%s/outside/sentinel", base);
	fd = open(p, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || read(fd, buf, sizeof(buf)) != 8 || memcmp(buf, "sentinel", 8) != 0)
		abort();
	if (fstat(fd, &st) < 0 || st.st_nlink != 1 || (st.st_mode & 07777) != 0644)
		abort();
	close(fd);
	snprintf(p, sizeof(p), "%s/outside", base);
	if (count_entries(base) != 2 || count_entries(p) != 1)
		abort();
}

static int setup(char *base, char *dest, size_t size)
{
	char p[128];
	int fd;

	if (!mkdtemp(base))
		return -1;
	snprintf(dest, size, "%s/dest", base);
	snprintf(p, sizeof(p), "%s/outside", base);
	if (mkdir(dest, 0755) < 0 || mkdir(p, 0755) < 0)
		return -1;
	snprintf(p, sizeof(p), "%s/outside/sentinel", base);
	fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, "sentinel", 8) != 8)
		return -1;
	fchmod(fd, 0644);
	close(fd);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char base[] = "/tmp/vessel-fuzz-unpack-XXXXXX", dest[64];
	char diff_id[IMAGE_UNPACK_DIFF_ID_SIZE];
	struct image_unpack_opts opts = {
	    .overlay = size % 2 == 1,
	    .max_entries = 256,
	    .max_bytes = 4 << 20,
	    .diff_id_out = diff_id,
	};
	struct error err = {0};
	int fd;

	if (setup(base, dest, sizeof(dest)) < 0)
		abort();
	fd = memfd_create("layer", MFD_CLOEXEC);
	if (fd < 0 || (size && write(fd, data, size) != (ssize_t)size) || lseek(fd, 0, SEEK_SET))
		abort();
	if (image_unpack_layer(fd, dest, &opts, NULL, &err) < 0 && (err.code <= 0 || !err.msg[0]))
		abort();
	close(fd);
	check_sentinel(base);
	if (nftw(base, rm_one, 16, FTW_DEPTH | FTW_PHYS) < 0 || rmdir(base) == 0 || errno != ENOENT)
		abort();
	return 0;
}
