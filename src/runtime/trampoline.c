/* trampoline: see trampoline.h. The stub's bytes are linked in with .incbin. */
#include "runtime/trampoline.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "util/fd.h"

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif

#define STR2(x) #x
#define STR(x)	STR2(x)

extern const char trampoline_start[], trampoline_end[];

__asm__(".section .rodata\n"
	".balign 16\n"
	".globl trampoline_start\n"
	"trampoline_start:\n"
	".incbin \"" STR(TRAMPOLINE_BIN) "\"\n"
					 ".globl trampoline_end\n"
					 "trampoline_end:\n"
					 ".previous\n");

int trampoline_create(struct error *err)
{
	int fd = memfd_create("vessel-trampoline", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);

	if (fd < 0 && errno == EINVAL)
		fd = memfd_create("vessel-trampoline", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return error_errno(err, "trampoline: memfd_create");
	int r = fd_write_all(fd, trampoline_start, (size_t)(trampoline_end - trampoline_start));
	if (r < 0) {
		close(fd);
		return error_set(err, -r, "trampoline: write: %s", strerror(-r));
	}
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) < 0) {
		close(fd);
		return error_errno(err, "trampoline: seal");
	}
	return fd;
}

int trampoline_exec(int fd, const char *path, char *const argv[], char *const envp[],
		    struct error *err)
{
	size_t n = 0;

	while (argv[n])
		n++;
	char **v = calloc(n + 2, sizeof(char *));
	if (!v)
		return error_set(err, ENOMEM, "out of memory");
	v[0] = (char *)path;
	memcpy(v + 1, argv, n * sizeof(char *));
	execveat(fd, "", v, envp, AT_EMPTY_PATH);
	int r = error_errno(err, "exec %s", argv[0]);
	free(v);
	return r;
}
