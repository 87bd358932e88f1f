/* vm_image: the default guest of `vessel vm run`: Debian's cloud kernel and an initramfs that
 * Vessel builds from busybox-static.
 *
 * The kernel lives in <root>/kernel (root: /var/lib/vessel or VESSEL_ROOT), as scripts/
 * fetch-kernel leaves it: vmlinux (uncompressed, booted by PVH), vmlinuz, version, and pkg/
 * (the package unpacked with dpkg-deb -x, never installed into /boot). When it is missing,
 * the first use runs that script (embedded in the binary): apt-get download + dpkg-deb -x.
 *
 * The base initramfs (/init: vessel-init, src/agent/init.c; /bin/busybox and its applet
 * links; the virtio and vsock modules with their dependencies and /vessel/modules, the list
 * the init loads in order) is built once and cached beside the kernel, keyed by the kernel
 * version and this build. A command for one run goes in a second small archive appended to
 * it (/vessel/cmd: the argv, each argument NUL-terminated), so the base stays cached.
 */
#ifndef VESSEL_ENGINE_VM_IMAGE_H
#define VESSEL_ENGINE_VM_IMAGE_H

#include <stdbool.h>

#include "util/error.h"

#define VM_IMAGE_CMDLINE "console=ttyS0 panic=-1 quiet"
#define VM_IMAGE_BUSYBOX "/bin/busybox"
#define VM_IMAGE_CMD_MAX (128 * 1024) /* bytes of argv in /vessel/cmd */

struct vm_image_kernel {
	char *dir;     /* <root>/kernel */
	char *kernel;  /* dir/vmlinux, or dir/vmlinuz where there is no vmlinux */
	char *version; /* "6.1.0-56-cloud-amd64" */
	char *moddir;  /* dir/pkg/lib/modules/<version> */
};

/* Finds the default kernel under root, fetching it when fetch is true and it is missing. */
int vm_image_kernel(const char *root, bool fetch, struct vm_image_kernel *ret, struct error *err);
void vm_image_kernel_free(struct vm_image_kernel *k);

/* Writes the base initramfs for the kernel's modules and busybox (a static busybox binary). */
int vm_image_write_initramfs(int fd, const struct vm_image_kernel *k, const char *busybox,
			     struct error *err);
/* The cached base initramfs of k (built when missing or stale): *ret_path owned. */
int vm_image_initramfs(const struct vm_image_kernel *k, const char *busybox, char **ret_path,
		       struct error *err);
/* Writes the per-run archive: /vessel/cmd with argv (NULL-terminated, at least one). */
int vm_image_write_command(int fd, char *const *argv, struct error *err);
/* A sealed memfd (O_CLOEXEC) with base followed by the archive of argv: the initrd of one run,
 * booted as /proc/self/fd/N. Returns the fd. */
int vm_image_initrd_with_command(const char *base, char *const *argv, struct error *err);

#endif
