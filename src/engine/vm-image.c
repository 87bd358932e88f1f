/* vm_image: see vm-image.h */
#include "engine/vm-image.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine/vm-modules.h"
#include "util/applets.h"
#include "util/cleanup.h"
#include "util/fd.h"
#include "util/path.h"
#include "util/str.h"
#include "vmm/cpio.h"

#define STR2(x) #x
#define STR(x)	STR2(x)

/* The guest's /init and scripts/fetch-kernel, linked in with .incbin (see the Makefile). Their
 * own section, which the linker places after .rodata rather than amid the data in use: the
 * kernel maps a file's pages a large folio at a time, and ~700 KiB that are read only when an
 * initramfs is built would otherwise share folios with hot data and count in every VM's RSS. */
extern const char vm_init_start[], vm_init_end[], vm_fetch_start[], vm_fetch_end[];
__asm__(".section .vessel_blobs, \"a\", @progbits\n"
	".balign 16\n"
	"vm_init_start:\n"
	".incbin \"" STR(VM_INIT_BIN) "\"\n"
				      "vm_init_end:\n"
				      "vm_fetch_start:\n"
				      ".incbin \"" STR(FETCH_KERNEL_SCRIPT) "\"\n"
									    "vm_fetch_end:\n"
									    ".previous\n");

/* Bump when the initramfs layout changes in a way the hash below does not see. */
#define LAYOUT_VERSION 1

/* The devices of vmm/virtio and their dependencies (resolved again from the kernel's tree). */
static const char *const modules[] = {
    "virtio",
    "virtio_ring",
    "virtio_mmio",
    "virtio_blk",
    "failover",
    "net_failover",
    "virtio_net",
    "virtio_console",
    "virtio_rng",
    "vsock",
    "vmw_vsock_virtio_transport_common",
    "vmw_vsock_virtio_transport",
};

static const char passwd[] = "root:x:0:0:root:/root:/bin/sh\n";
static const char group[] = "root:x:0:\n";

void vm_image_kernel_free(struct vm_image_kernel *k)
{
	free(k->dir);
	free(k->kernel);
	free(k->version);
	free(k->moddir);
	*k = (struct vm_image_kernel){0};
}

/* Runs the embedded fetch-kernel script on dir; its progress goes to stderr. */
static int fetch(const char *dir, struct error *err)
{
	cleanup_fd int mfd = memfd_create("vessel-fetch-kernel", MFD_CLOEXEC);
	cleanup_fd int script = mfd >= 0 ? fcntl(mfd, F_DUPFD_CLOEXEC, 10) : -1;
	char *argv[] = {(char *)"/bin/sh", (char *)"/proc/self/fd/3", (char *)dir, NULL};
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int r, status;

	if (script < 0)
		return error_errno(err, "fetch kernel: memfd");
	r = fd_write_all(script, vm_fetch_start, (size_t)(vm_fetch_end - vm_fetch_start));
	if (r < 0)
		return error_set(err, -r, "fetch kernel: %s", strerror(-r));
	if (posix_spawn_file_actions_init(&fa) != 0)
		return error_set(err, ENOMEM, "out of memory");
	r = posix_spawn_file_actions_adddup2(&fa, script, 3);
	if (r == 0)
		r = posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	if (r == 0)
		r = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (r != 0)
		return error_set(err, r, "fetch kernel: run /bin/sh: %s", strerror(r));
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 2)
		return error_set(err, ENOENT,
				 "no kernel in %s and linux-image-cloud-amd64 cannot be downloaded "
				 "(no network to Debian's mirror?); see scripts/fetch-kernel",
				 dir);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return error_set(err, EIO, "fetch kernel into %s: failed (status %d)", dir, status);
	return 0;
}

static char *read_version(const char *dir, struct error *err)
{
	cleanup_free char *path = str_printf("%s/version", dir);
	char *text = NULL;

	if (!path || fd_read_file(path, 256, &text, NULL, err) < 0)
		return NULL;
	text[strcspn(text, "\n")] = '\0';
	if (!*text || strchr(text, '/') || text[0] == '.') {
		error_set(err, EINVAL, "%s: not a kernel version", path);
		free(text);
		return NULL;
	}
	return text;
}

int vm_image_kernel(const char *root, bool fetch_missing, struct vm_image_kernel *ret,
		    struct error *err)
{
	struct vm_image_kernel k = {.dir = str_printf("%s/kernel", root)};
	cleanup_free char *vmlinuz = k.dir ? str_printf("%s/vmlinuz", k.dir) : NULL;
	int r = 0;

	k.kernel = k.dir ? str_printf("%s/vmlinux", k.dir) : NULL;
	if (!k.kernel || !vmlinuz)
		r = error_set(err, ENOMEM, "out of memory");
	if (r == 0 && access(k.kernel, F_OK) < 0 && access(vmlinuz, F_OK) < 0)
		r = fetch_missing ? fetch(k.dir, err)
				  : error_set(err, ENOENT,
					      "no default kernel in %s (run "
					      "scripts/fetch-kernel)",
					      k.dir);
	if (r == 0 && access(k.kernel, F_OK) < 0) {
		free(k.kernel);
		k.kernel = TAKE_PTR(vmlinuz); /* booted as a bzImage: slower, but works */
	}
	if (r == 0 && !(k.version = read_version(k.dir, err)))
		r = -err->code;
	if (r == 0 && !(k.moddir = str_printf("%s/pkg/lib/modules/%s", k.dir, k.version)))
		r = error_set(err, ENOMEM, "out of memory");
	if (r == 0 && access(k.moddir, F_OK) < 0)
		r = error_errno(err,
				"kernel modules %s (rerun scripts/fetch-kernel with "
				"FETCH_KERNEL_FORCE=1)",
				k.moddir);
	if (r < 0)
		vm_image_kernel_free(&k);
	else
		*ret = k;
	return r;
}

struct applet_ctx {
	struct cpio *cpio;
	struct error *err;
};

static int add_applet(const char *name, void *opaque)
{
	struct applet_ctx *a = opaque;
	char path[80];

	snprintf(path, sizeof(path), "bin/%s", name);
	return cpio_add_symlink(a->cpio, path, "busybox", a->err);
}

static int add_busybox(struct cpio *c, const char *busybox, struct error *err)
{
	struct applet_ctx a = {c, err};
	int r = cpio_add_file_from(c, "bin/busybox", 0755, busybox, err);

	return r < 0 ? r : applets_each(busybox, add_applet, &a, err);
}

static int add_skeleton(struct cpio *c, struct error *err)
{
	static const struct {
		const char *path;
		unsigned mode;
	} dirs[] = {{"bin", 0755},  {"dev", 0755}, {"etc", 0755},  {"proc", 0555},
		    {"root", 0700}, {"sys", 0555}, {"tmp", 01777}, {"vessel", 0755}};
	int r = 0;

	for (size_t i = 0; r == 0 && i < ARRAY_SIZE(dirs); i++)
		r = cpio_add_dir(c, dirs[i].path, dirs[i].mode, err);
	if (r == 0)
		r = cpio_add_file(c, "init", 0755, vm_init_start,
				  (size_t)(vm_init_end - vm_init_start), err);
	if (r == 0)
		r = cpio_add_file(c, "etc/passwd", 0644, passwd, strlen(passwd), err);
	if (r == 0)
		r = cpio_add_file(c, "etc/group", 0644, group, strlen(group), err);
	return r;
}

/* Adds the directories of path ("lib/modules/V/kernel/x/y.ko") not yet in *dirs (owned). */
static int add_parents(struct cpio *c, const char *path, char ***dirs, size_t *ndirs,
		       struct error *err)
{
	for (const char *slash = strchr(path, '/'); slash; slash = strchr(slash + 1, '/')) {
		cleanup_free char *dir = strndup(path, (size_t)(slash - path));
		bool seen = false;
		for (size_t i = 0; dir && !seen && i < *ndirs; i++)
			seen = !strcmp((*dirs)[i], dir);
		if (seen)
			continue;
		char **v = dir ? realloc(*dirs, (*ndirs + 2) * sizeof(char *)) : NULL;
		if (!v)
			return error_set(err, ENOMEM, "out of memory");
		*dirs = v;
		int r = cpio_add_dir(c, dir, 0755, err);
		(*dirs)[(*ndirs)++] = TAKE_PTR(dir);
		(*dirs)[*ndirs] = NULL;
		if (r < 0)
			return r;
	}
	return 0;
}

/* The modules under lib/modules/<version>/ and /vessel/modules, their load order. */
static int add_modules(struct cpio *c, const struct vm_image_kernel *k, struct error *err)
{
	cleanup_strv char **paths = NULL, **dirs = NULL;
	cleanup_free char *list = NULL;
	size_t ndirs = 0, len = 0;
	int r = vm_modules_resolve(k->moddir, (const char *const *)modules, ARRAY_SIZE(modules),
				   &paths, err);

	for (char **p = paths; r == 0 && *p; p++) {
		cleanup_free char *name = str_printf("lib/modules/%s/%s", k->version, *p);
		cleanup_free char *src = str_printf("%s/%s", k->moddir, *p);
		char *l = name ? realloc(list, len + strlen(name) + 3) : NULL;
		if (!src || !l)
			return error_set(err, ENOMEM, "out of memory");
		list = l;
		len += (size_t)sprintf(list + len, "/%s\n", name);
		r = add_parents(c, name, &dirs, &ndirs, err);
		if (r == 0)
			r = cpio_add_file_from(c, name, 0644, src, err);
	}
	if (r == 0)
		r = cpio_add_file(c, "vessel/modules", 0644, list, len, err);
	return r;
}

int vm_image_write_initramfs(int fd, const struct vm_image_kernel *k, const char *busybox,
			     struct error *err)
{
	struct cpio c;
	int r;

	cpio_init(&c, fd);
	r = add_skeleton(&c, err);
	if (r == 0)
		r = add_busybox(&c, busybox, err);
	if (r == 0)
		r = add_modules(&c, k, err);
	if (r == 0)
		r = cpio_finish(&c, err);
	return r;
}

static uint64_t fnv1a(uint64_t h, const void *data, size_t len)
{
	const uint8_t *p = data;

	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return h;
}

/* "initramfs-<hash>.cpio": the hash of everything the archive is made of, cheaply (busybox by
 * its identity, the modules by the kernel version). */
static int cache_name(const struct vm_image_kernel *k, const char *busybox, char *buf, size_t size,
		      struct error *err)
{
	uint64_t h = 0xcbf29ce484222325ULL, layout = LAYOUT_VERSION;
	struct stat st;

	if (stat(busybox, &st) < 0)
		return error_errno(err, "%s", busybox);
	uint64_t id[] = {(uint64_t)st.st_dev,	       (uint64_t)st.st_ino,
			 (uint64_t)st.st_size,	       (uint64_t)st.st_mtim.tv_sec,
			 (uint64_t)st.st_mtim.tv_nsec, layout};
	h = fnv1a(h, id, sizeof(id));
	h = fnv1a(h, busybox, strlen(busybox));
	h = fnv1a(h, vm_init_start, (size_t)(vm_init_end - vm_init_start));
	h = fnv1a(h, k->moddir, strlen(k->moddir));
	for (size_t i = 0; i < ARRAY_SIZE(modules); i++)
		h = fnv1a(h, modules[i], strlen(modules[i]) + 1);
	snprintf(buf, size, "initramfs-%016llx.cpio", (unsigned long long)h);
	return 0;
}

/* Other builds' archives are stale: they are removed once this one is in place. */
static void remove_stale(const char *dir, const char *keep)
{
	cleanup_dir DIR *d = opendir(dir);
	struct dirent *e;

	while (d && (e = readdir(d))) {
		size_t n = strlen(e->d_name);
		if (str_has_prefix(e->d_name, "initramfs-") && n > 5 &&
		    !strcmp(e->d_name + n - 5, ".cpio") && strcmp(e->d_name, keep))
			unlinkat(dirfd(d), e->d_name, 0);
	}
}

int vm_image_initramfs(const struct vm_image_kernel *k, const char *busybox, char **ret_path,
		       struct error *err)
{
	char name[64];
	int r = cache_name(k, busybox, name, sizeof(name), err);

	if (r < 0)
		return r;
	cleanup_free char *path = str_printf("%s/%s", k->dir, name);
	cleanup_free char *tmp = str_printf("%s/.initramfs-XXXXXX", k->dir);
	if (!path || !tmp)
		return error_set(err, ENOMEM, "out of memory");
	if (access(path, R_OK) == 0) {
		*ret_path = TAKE_PTR(path);
		return 0;
	}
	cleanup_fd int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return error_errno(err, "initramfs: create %s", tmp);
	r = vm_image_write_initramfs(fd, k, busybox, err);
	if (r == 0 && fchmod(fd, 0644) < 0)
		r = error_errno(err, "initramfs: chmod %s", tmp);
	if (r == 0 && rename(tmp, path) < 0)
		r = error_errno(err, "initramfs: rename %s to %s", tmp, path);
	if (r < 0) {
		unlink(tmp);
		return error_wrap(err, "initramfs %s", path);
	}
	remove_stale(k->dir, name);
	*ret_path = TAKE_PTR(path);
	return 0;
}

int vm_image_write_command(int fd, char *const *argv, struct error *err)
{
	cleanup_free char *buf = NULL;
	size_t len = 0;
	struct cpio c;
	int r;

	if (!argv || !argv[0])
		return error_set(err, EINVAL, "-- COMMAND: no command");
	for (char *const *a = argv; *a; a++) {
		size_t n = strlen(*a) + 1;
		if (len + n > VM_IMAGE_CMD_MAX)
			return error_set(err, E2BIG, "-- COMMAND: longer than %d bytes",
					 VM_IMAGE_CMD_MAX);
		char *b = realloc(buf, len + n);
		if (!b)
			return error_set(err, ENOMEM, "out of memory");
		buf = b;
		memcpy(buf + len, *a, n);
		len += n;
	}
	cpio_init(&c, fd);
	r = cpio_add_dir(&c, "vessel", 0755, err);
	if (r == 0)
		r = cpio_add_file(&c, "vessel/cmd", 0644, buf, len, err);
	if (r == 0)
		r = cpio_finish(&c, err);
	return r;
}

int vm_image_initrd_with_command(const char *base, char *const *argv, struct error *err)
{
	cleanup_fd int fd = memfd_create("vessel-initrd", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	cleanup_fd int in = open(base, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	struct stat st;
	off_t left;
	int r;

	if (fd < 0)
		return error_errno(err, "initrd: memfd");
	if (in < 0 || fstat(in, &st) < 0)
		return error_errno(err, "initrd %s", base);
	for (left = st.st_size; left > 0;) {
		ssize_t n = sendfile(fd, in, NULL, (size_t)left);
		if (n == 0)
			errno = EIO; /* the file shrank */
		if (n <= 0 && errno != EINTR)
			return error_errno(err, "initrd %s: copy", base);
		left -= n > 0 ? n : 0;
	}
	/* The kernel reads concatenated archives from 4-byte boundaries. */
	if (st.st_size % 4 && fd_write_all(fd, "\0\0\0", (size_t)(4 - st.st_size % 4)) < 0)
		return error_errno(err, "initrd: write");
	r = vm_image_write_command(fd, argv, err);
	if (r == 0 && fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) < 0)
		r = error_errno(err, "initrd: seal");
	return r < 0 ? r : TAKE_FD(fd);
}
