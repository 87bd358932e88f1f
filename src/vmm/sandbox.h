/* sandbox: the monitor's threads confined to the system calls they make once the VM runs.
 *
 * The threads that handle what a guest controls (the vCPUs: exits, emulation and the devices
 * they drive; the I/O thread: queue kicks and the devices' host sides) are confined. A guest
 * that finds a bug in a device model gets that thread, and with it only what the thread may
 * ask of the kernel: no execve, no open, no new sockets but Unix ones (vsock), no executable
 * memory, and ioctl only with the requests that thread sends. Each thread loads its own filter
 * (seccomp without TSYNC) after its setup, before it touches guest state. The main thread only
 * waits and tears down; it stays unfiltered. A forbidden call traps: the SIGSYS handler names
 * it on stderr and ends the monitor with status 1 (a bug in Vessel or an attack, never
 * something a guest can do by design).
 */
#ifndef VESSEL_VMM_SANDBOX_H
#define VESSEL_VMM_SANDBOX_H

#include "util/error.h"

enum sandbox_thread {
	SANDBOX_VCPU, /* KVM_RUN and the devices the vCPU drives on its exits */
	SANDBOX_IO,   /* the epoll loop and the devices' host sides */
};

/* Installs the SIGSYS report handler (process-wide; once). */
int sandbox_install_report(struct error *err);
/* Confines the calling thread. */
int sandbox_enter(enum sandbox_thread kind, struct error *err);

#endif
