/* exe-seal: see exe-seal.h */
#include "runtime/exe-seal.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cleanup.h"

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif

#define SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

extern char **environ;

static int sealed_copy(int src, struct error *err)
{
	struct stat st;
	int fd = memfd_create("vessel", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);

	if (fd < 0 && errno == EINVAL)
		fd = memfd_create("vessel", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return error_errno(err, "memfd_create");
	if (fstat(src, &st) < 0) {
		close(fd);
		return error_errno(err, "stat /proc/self/exe");
	}
	for (off_t done = 0; done < st.st_size;) {
		ssize_t n = sendfile(fd, src, NULL, (size_t)(st.st_size - done));
		if (n <= 0) {
			close(fd);
			return n < 0 ? error_errno(err, "copy /proc/self/exe")
				     : error_set(err, EIO, "copy /proc/self/exe: short file");
		}
		done += n;
	}
	if (fcntl(fd, F_ADD_SEALS, SEALS) < 0) {
		close(fd);
		return error_errno(err, "seal memfd");
	}
	return fd;
}

int exe_seal_reexec(char **argv, struct error *err)
{
	cleanup_fd int exe = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);

	if (exe < 0)
		return error_errno(err, "open /proc/self/exe");
	int seals = fcntl(exe, F_GET_SEALS);
	if (seals >= 0 && (seals & SEALS) == SEALS)
		return 0;
	cleanup_fd int copy = sealed_copy(exe, err);
	if (copy < 0)
		return copy;
	fexecve(copy, argv, environ);
	return error_errno(err, "re-exec from a sealed copy");
}
