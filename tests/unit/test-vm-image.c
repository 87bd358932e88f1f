/* Unit tests for engine/vm-modules.c and engine/vm-image.c: module load order (from a fake
 * modules.dep, and from .modinfo sections when there is none), the base initramfs built into a
 * temporary root, and the per-run command archive. */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "cpio-read.h"
#include "engine/vm-image.h"
#include "engine/vm-modules.h"
#include "util/cleanup.h"
#include "util/fd.h"
#include "util/fs.h"
#include "util/str.h"
#include "vmm/cpio.h"

#define VERSION "6.1.0-test-cloud-amd64"

/* Every module vm-image loads, as a fake modules.dep lists them (transitive deps, as depmod). */
static const char modules_dep[] =
    "kernel/drivers/virtio/virtio.ko:\n"
    "kernel/drivers/virtio/virtio_ring.ko: kernel/drivers/virtio/virtio.ko\n"
    "kernel/drivers/virtio/virtio_mmio.ko: kernel/drivers/virtio/virtio_ring.ko "
    "kernel/drivers/virtio/virtio.ko\n"
    "kernel/drivers/block/virtio_blk.ko: kernel/drivers/virtio/virtio_ring.ko "
    "kernel/drivers/virtio/virtio.ko\n"
    "kernel/net/core/failover.ko:\n"
    "kernel/drivers/net/net_failover.ko: kernel/net/core/failover.ko\n"
    "kernel/drivers/net/virtio_net.ko: kernel/drivers/net/net_failover.ko "
    "kernel/net/core/failover.ko kernel/drivers/virtio/virtio_ring.ko "
    "kernel/drivers/virtio/virtio.ko\n"
    "kernel/drivers/char/virtio_console.ko: kernel/drivers/virtio/virtio_ring.ko "
    "kernel/drivers/virtio/virtio.ko\n"
    "kernel/drivers/char/hw_random/virtio-rng.ko: kernel/drivers/virtio/virtio_ring.ko "
    "kernel/drivers/virtio/virtio.ko\n"
    "kernel/net/vmw_vsock/vsock.ko:\n"
    "kernel/net/vmw_vsock/vmw_vsock_virtio_transport_common.ko: "
    "kernel/net/vmw_vsock/vsock.ko\n"
    "kernel/net/vmw_vsock/vmw_vsock_virtio_transport.ko: "
    "kernel/net/vmw_vsock/vmw_vsock_virtio_transport_common.ko "
    "kernel/drivers/virtio/virtio_ring.ko kernel/drivers/virtio/virtio.ko "
    "kernel/net/vmw_vsock/vsock.ko\n"
    "kernel/fs/unrelated.ko: kernel/fs/missing.ko\n";

struct fixture {
	char root[64];
	char *moddir;
};

static void write_file(const char *path, const void *data, size_t len)
{
	cleanup_free char *dir = strdup(path);
	*strrchr(dir, '/') = '\0';
	assert_int_equal(fs_mkdir_p(dir, 0755), 0);
	cleanup_fd int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(fd_write_all(fd, data, len), 0);
}

/* <root>/kernel as scripts/fetch-kernel leaves it, with a fake module tree. */
static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char path[512];

	strcpy(f->root, "/tmp/test-vm-image-XXXXXX");
	assert_non_null(mkdtemp(f->root));
	f->moddir = str_printf("%s/kernel/pkg/lib/modules/" VERSION, f->root);
	snprintf(path, sizeof(path), "%s/kernel/version", f->root);
	write_file(path, VERSION "\n", strlen(VERSION) + 1);
	snprintf(path, sizeof(path), "%s/kernel/vmlinux", f->root);
	write_file(path, "\177ELF", 4);
	snprintf(path, sizeof(path), "%s/modules.dep", f->moddir);
	write_file(path, modules_dep, strlen(modules_dep));
	for (const char *p = modules_dep; *p; p = strchr(p, '\n') + 1) {
		snprintf(path, sizeof(path), "%s/%.*s", f->moddir, (int)strcspn(p, ":"), p);
		write_file(path, path, strlen(path)); /* contents: its own path */
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	fs_remove_tree(AT_FDCWD, f->root);
	free(f->moddir);
	free(f);
	return 0;
}

static size_t index_of(char **v, const char *suffix)
{
	for (size_t i = 0; v[i]; i++) {
		size_t n = strlen(v[i]), m = strlen(suffix);
		if (n >= m && !strcmp(v[i] + n - m, suffix))
			return i;
	}
	fail_msg("%s not in the list", suffix);
	return 0;
}

static void test_modules_dep_order(void **state)
{
	struct fixture *f = *state;
	const char *names[] = {"virtio_net", "virtio-rng", "virtio", "vmw_vsock_virtio_transport"};
	cleanup_strv char **paths = NULL;
	struct error err = {0};

	assert_int_equal(vm_modules_resolve(f->moddir, names, 4, &paths, &err), 0);
	/* 4 named + virtio_ring, failover, net_failover, vsock, transport_common; each once. */
	assert_int_equal(strv_len(paths), 9);
	for (size_t i = 0; paths[i]; i++)
		for (size_t j = i + 1; paths[j]; j++)
			assert_string_not_equal(paths[i], paths[j]);
	assert_true(index_of(paths, "/virtio.ko") < index_of(paths, "/virtio_ring.ko"));
	assert_true(index_of(paths, "/failover.ko") < index_of(paths, "/net_failover.ko"));
	assert_true(index_of(paths, "/net_failover.ko") < index_of(paths, "/virtio_net.ko"));
	assert_true(index_of(paths, "/virtio_ring.ko") < index_of(paths, "/virtio_net.ko"));
	assert_true(index_of(paths, "/vsock.ko") <
		    index_of(paths, "/vmw_vsock_virtio_transport_common.ko"));
	assert_true(index_of(paths, "/vmw_vsock_virtio_transport_common.ko") <
		    index_of(paths, "/vmw_vsock_virtio_transport.ko"));
	assert_string_equal(paths[index_of(paths, "virtio-rng.ko")],
			    "kernel/drivers/char/hw_random/virtio-rng.ko");
}

static void test_modules_missing(void **state)
{
	struct fixture *f = *state;
	const char *missing[] = {"virtio", "no_such_module"}, *dep[] = {"unrelated"};
	cleanup_strv char **paths = NULL;
	struct error err = {0};

	assert_int_equal(vm_modules_resolve(f->moddir, missing, 2, &paths, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "module no_such_module: not found in"));
	assert_int_equal(vm_modules_resolve(f->moddir, dep, 1, &paths, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "module missing (needed by unrelated)"));
	assert_int_equal(vm_modules_resolve("/nonexistent", dep, 1, &paths, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "/nonexistent"));
}

/* A minimal relocatable ELF64 with a .modinfo section: what depmod and we read. */
static void write_ko(const char *path, const char *depends)
{
	static const char shstrtab[] = "\0.shstrtab\0.modinfo";
	char modinfo[256];
	size_t mlen =
	    (size_t)snprintf(modinfo, sizeof(modinfo), "license=GPL%cdepends=%s%c", 0, depends, 0);
	Elf64_Ehdr eh = {
	    .e_ident = {ELFMAG0, ELFMAG1, ELFMAG2, ELFMAG3, ELFCLASS64, ELFDATA2LSB, EV_CURRENT},
	    .e_type = ET_REL,
	    .e_machine = EM_X86_64,
	    .e_version = EV_CURRENT,
	    .e_ehsize = sizeof(Elf64_Ehdr),
	    .e_shentsize = sizeof(Elf64_Shdr),
	    .e_shnum = 3,
	    .e_shstrndx = 1};
	size_t strs = sizeof(eh), info = strs + sizeof(shstrtab);
	eh.e_shoff = (info + mlen + 7) & ~7UL;
	Elf64_Shdr sh[3] = {
	    {0},
	    {.sh_name = 1, .sh_type = SHT_STRTAB, .sh_offset = strs, .sh_size = sizeof(shstrtab)},
	    {.sh_name = 11, .sh_type = SHT_PROGBITS, .sh_offset = info, .sh_size = mlen},
	};
	uint8_t img[1024] = {0};
	memcpy(img, &eh, sizeof(eh));
	memcpy(img + strs, shstrtab, sizeof(shstrtab));
	memcpy(img + info, modinfo, mlen);
	memcpy(img + eh.e_shoff, sh, sizeof(sh));
	write_file(path, img, eh.e_shoff + sizeof(sh));
}

/* Debian's package has no modules.dep: dependencies come from each module's .modinfo. */
static void test_modules_from_modinfo(void **state)
{
	struct fixture *f = *state;
	cleanup_free char *dir = str_printf("%s/modinfo", f->root);
	const char *names[] = {"virtio_rng", "virtio_mmio"};
	cleanup_strv char **paths = NULL;
	struct error err = {0};
	char path[512];

	snprintf(path, sizeof(path), "%s/kernel/a/virtio.ko", dir);
	write_ko(path, "");
	snprintf(path, sizeof(path), "%s/kernel/b/virtio_ring.ko", dir);
	write_ko(path, "virtio");
	snprintf(path, sizeof(path), "%s/kernel/c/virtio-rng.ko", dir);
	write_ko(path, "virtio_ring,virtio");
	snprintf(path, sizeof(path), "%s/kernel/a/virtio_mmio.ko", dir);
	write_ko(path, "virtio,virtio_ring");
	snprintf(path, sizeof(path), "%s/kernel/d/broken.ko", dir);
	write_file(path, "not an ELF file", 15);
	assert_int_equal(vm_modules_resolve(dir, names, 2, &paths, &err), 0);
	assert_int_equal(strv_len(paths), 4);
	assert_string_equal(paths[0], "kernel/a/virtio.ko");
	assert_string_equal(paths[1], "kernel/b/virtio_ring.ko");
	assert_string_equal(paths[2], "kernel/c/virtio-rng.ko");
	assert_string_equal(paths[3], "kernel/a/virtio_mmio.ko");
	const char *broken[] = {"broken"};
	assert_int_equal(vm_modules_resolve(dir, broken, 1, &paths, &err), -ENOEXEC);
	assert_non_null(strstr(err.msg, "broken.ko: not an ELF64 file"));
}

static void test_kernel_missing(void **state)
{
	struct vm_image_kernel k;
	struct error err = {0};

	assert_int_equal(vm_image_kernel("/nonexistent-root", false, &k, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "no default kernel in /nonexistent-root/kernel"));
}

static uint8_t *slurp(const char *path, size_t *len)
{
	char *buf = NULL;
	struct error err;

	assert_int_equal(fd_read_file(path, 256 << 20, &buf, len, &err), 0);
	return (uint8_t *)buf;
}

static void check_initramfs(const struct cpio_list *l, const char *moddir)
{
	const struct cpio_entry *e = cpio_find(l, "init");
	assert_non_null(e);
	assert_int_equal(e->mode, 0100755);
	assert_true(e->size > 4096);
	assert_memory_equal(e->data, "\177ELF", 4);
	assert_non_null(e = cpio_find(l, "bin/busybox"));
	assert_int_equal(e->mode, 0100755);
	assert_non_null(e = cpio_find(l, "bin/sh"));
	assert_int_equal(e->mode, 0120777);
	assert_memory_equal(e->data, "busybox", 7);
	assert_non_null(cpio_find(l, "tmp"));
	assert_int_equal(cpio_find(l, "tmp")->mode, 041777);
	e = cpio_find(l, "lib/modules/" VERSION "/kernel/drivers/char/hw_random/virtio-rng.ko");
	assert_non_null(e);
	assert_non_null(cpio_find(l, "lib/modules/" VERSION "/kernel/drivers/char/hw_random"));
	assert_true(e->size > 0 && memmem(e->data, e->size, moddir, strlen(moddir)));
	assert_null(cpio_find(l, "lib/modules/" VERSION "/kernel/fs/unrelated.ko"));
	for (size_t i = 0; i < l->n; i++) /* every directory once, before its members */
		for (size_t j = i + 1; j < l->n; j++)
			assert_string_not_equal(l->v[i].name, l->v[j].name);
	assert_non_null(e = cpio_find(l, "vessel/modules"));
	cleanup_free char *list = strndup((const char *)e->data, e->size);
	assert_non_null(strstr(list, "/lib/modules/" VERSION "/kernel/drivers/virtio/virtio.ko\n"));
	assert_true(strstr(list, "/virtio.ko\n") < strstr(list, "/virtio_mmio.ko\n"));
	assert_true(strstr(list, "/failover.ko\n") < strstr(list, "/net_failover.ko\n"));
	size_t lines = 0;
	for (const char *p = list; (p = strchr(p, '\n')); p++)
		lines++;
	assert_int_equal(lines, 12);
}

static void test_initramfs_cached(void **state)
{
	struct fixture *f = *state;
	cleanup_free char *path = NULL, *again = NULL, *stale = NULL;
	struct vm_image_kernel k;
	struct error err = {0};
	struct cpio_list l;
	struct stat st1, st2;
	size_t len;

	if (access(VM_IMAGE_BUSYBOX, X_OK) != 0) {
		fprintf(stderr, "skip: %s is missing (Debian package busybox-static)\n",
			VM_IMAGE_BUSYBOX);
		skip();
	}
	assert_int_equal(vm_image_kernel(f->root, false, &k, &err), 0);
	assert_non_null(strstr(k.kernel, "/kernel/vmlinux"));
	assert_string_equal(k.version, VERSION);
	stale = str_printf("%s/kernel/initramfs-0000000000000000.cpio", f->root);
	write_file(stale, "old", 3);
	assert_int_equal(vm_image_initramfs(&k, VM_IMAGE_BUSYBOX, &path, &err), 0);
	assert_int_equal(access(stale, F_OK), -1); /* replaced by this build's */
	assert_int_equal(stat(path, &st1), 0);
	assert_int_equal(st1.st_mode & 0777, 0644);
	cleanup_free uint8_t *buf = slurp(path, &len);
	assert_int_equal(cpio_read_all(buf, len, &l), 0);
	assert_int_equal(l.trailers, 1);
	check_initramfs(&l, f->moddir);
	free(l.v);
	/* The second run finds it: same file, not rebuilt. */
	assert_int_equal(vm_image_initramfs(&k, VM_IMAGE_BUSYBOX, &again, &err), 0);
	assert_string_equal(path, again);
	assert_int_equal(stat(again, &st2), 0);
	assert_int_equal(st1.st_ino, st2.st_ino);
	vm_image_kernel_free(&k);
}

static void test_command_archive(void **state)
{
	char *argv[] = {(char *)"sh", (char *)"-c", (char *)"exit 7", NULL};
	cleanup_fd int fd = memfd_create("cmd", MFD_CLOEXEC);
	char path[32];
	struct error err = {0};
	struct cpio_list l;
	size_t len;

	assert_int_equal(vm_image_write_command(fd, argv, &err), 0);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	cleanup_free uint8_t *buf = slurp(path, &len);
	assert_int_equal(cpio_read_all(buf, len, &l), 0);
	const struct cpio_entry *e = cpio_find(&l, "vessel/cmd");
	assert_non_null(e);
	assert_int_equal(e->size, 13);
	assert_memory_equal(e->data, "sh\0-c\0exit 7\0", 13);
	free(l.v);

	char *none[] = {NULL};
	assert_int_equal(vm_image_write_command(fd, none, &err), -EINVAL);
	cleanup_free char *big = malloc(VM_IMAGE_CMD_MAX + 1);
	memset(big, 'x', VM_IMAGE_CMD_MAX);
	big[VM_IMAGE_CMD_MAX] = '\0';
	char *huge[] = {big, NULL};
	assert_int_equal(vm_image_write_command(fd, huge, &err), -E2BIG);
	assert_non_null(strstr(err.msg, "-- COMMAND"));
}

/* One run's initrd: the base archive, then the command's; both are read. */
static void test_initrd_with_command(void **state)
{
	struct fixture *f = *state;
	char *argv[] = {(char *)"echo", (char *)"MARK", NULL};
	cleanup_free char *base = str_printf("%s/base.cpio", f->root);
	cleanup_fd int out = open(base, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	struct error err = {0};
	struct cpio_list l;
	struct cpio c;
	char path[32];
	size_t len;

	cpio_init(&c, out);
	assert_int_equal(cpio_add_file(&c, "init", 0755, "abc", 3, &err), 0);
	assert_int_equal(cpio_finish(&c, &err), 0);
	assert_int_equal(fd_write_all(out, "\0\0", 2), 0); /* a base not 4-byte aligned */
	int fd = vm_image_initrd_with_command(base, argv, &err);
	assert_true(fd >= 0);
	assert_true(fcntl(fd, F_GET_SEALS) & F_SEAL_WRITE);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	cleanup_free uint8_t *buf = slurp(path, &len);
	close(fd);
	assert_int_equal(cpio_read_all(buf, len, &l), 0);
	assert_int_equal(l.trailers, 2);
	assert_non_null(cpio_find(&l, "init"));
	assert_memory_equal(cpio_find(&l, "vessel/cmd")->data, "echo\0MARK\0", 10);
	free(l.v);
	assert_int_equal(vm_image_initrd_with_command("/nonexistent", argv, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "initrd /nonexistent"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_modules_dep_order),	 cmocka_unit_test(test_modules_missing),
	    cmocka_unit_test(test_modules_from_modinfo), cmocka_unit_test(test_kernel_missing),
	    cmocka_unit_test(test_initramfs_cached),	 cmocka_unit_test(test_command_archive),
	    cmocka_unit_test(test_initrd_with_command),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
