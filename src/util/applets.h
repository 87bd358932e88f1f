/* applets: the programs a multi-call busybox provides ("busybox --list"), for the images that
 * Vessel builds from busybox-static (the container image, the micro-VM's initramfs). */
#ifndef VESSEL_UTIL_APPLETS_H
#define VESSEL_UTIL_APPLETS_H

#include "util/error.h"

#define APPLETS_MAX 1000

/* Calls fn(name, opaque) for each applet busybox lists whose name is safe as a file name in
 * /bin (lower-case letters, digits, "_.-[", not "busybox", no leading dot), at most
 * APPLETS_MAX; stops at fn's first error. -EINVAL when busybox lists none. */
int applets_each(const char *busybox, int (*fn)(const char *name, void *opaque), void *opaque,
		 struct error *err);

#endif
