/* applets: see applets.h */
#include "util/applets.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "util/cleanup.h"
#include "util/fd.h"
#include "util/path.h"
#include "util/spawn.h"

#define LIST_BYTES (64 << 10)

/* "busybox --list" (one applet a line) into an owned string. */
static int list(const char *busybox, char **ret, struct error *err)
{
	char *argv[] = {(char *)busybox, (char *)"--list", NULL};
	cleanup_fd int out = memfd_create("busybox-list", MFD_CLOEXEC);
	char path[32];
	pid_t pid;
	int r, status;

	if (out < 0)
		return error_errno(err, "%s --list: memfd", busybox);
	r = spawn_clean(busybox, argv, &(struct spawn_io){.in_fd = -1, .out_fd = out}, &pid);
	if (r < 0)
		return error_set(err, -r, "%s --list: %s", busybox, strerror(-r));
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return error_set(err, EIO, "%s --list: failed (status %d)", busybox, status);
	return fd_read_file(path_fd(out, path, sizeof(path)), LIST_BYTES, ret, NULL, err);
}

static bool name_ok(const char *s)
{
	return *s && s[0] != '.' && strlen(s) <= 64 && strcmp(s, "busybox") &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_.-[") == strlen(s);
}

int applets_each(const char *busybox, int (*fn)(const char *name, void *opaque), void *opaque,
		 struct error *err)
{
	cleanup_free char *names = NULL;
	size_t n = 0;
	int r = list(busybox, &names, err);

	for (char *save = NULL, *t = r == 0 ? strtok_r(names, "\n", &save) : NULL; r == 0 && t;
	     t = strtok_r(NULL, "\n", &save)) {
		if (!name_ok(t))
			continue;
		if (++n > APPLETS_MAX)
			return error_set(err, E2BIG, "%s: more than %d applets", busybox,
					 APPLETS_MAX);
		r = fn(t, opaque);
	}
	if (r == 0 && !n)
		r = error_set(err, EINVAL, "%s --list: no applets", busybox);
	return r;
}
