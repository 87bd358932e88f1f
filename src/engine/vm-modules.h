/* vm_modules: which kernel modules the default micro-VM loads, and in what order.
 *
 * Dependencies come from moddir/modules.dep when there is one (depmod's output), else from each
 * module's ".modinfo" section ("depends=virtio,virtio_ring"): Debian's image package ships
 * without modules.dep, which depmod writes at install time, and the kernel is never installed
 * here. Names are as modprobe takes them ("-" and "_" are the same); modules are uncompressed
 * .ko files.
 */
#ifndef VESSEL_ENGINE_VM_MODULES_H
#define VESSEL_ENGINE_VM_MODULES_H

#include <stddef.h>

#include "util/error.h"

/* The modules named and everything they depend on, each once, every module after its
 * dependencies: *ret_paths (owned, NULL-terminated) holds paths relative to moddir
 * ("kernel/drivers/virtio/virtio.ko"). A module that is not there is an error naming it (and
 * the module that needs it). */
int vm_modules_resolve(const char *moddir, const char *const *names, size_t n, char ***ret_paths,
		       struct error *err);

#endif
