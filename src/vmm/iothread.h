/* iothread: the monitor's one I/O thread, an epoll loop over host file descriptors.
 *
 * Devices register the fds of their host side (a tap, a vsock socket, a console input, the
 * eventfds KVM signals on a queue kick) while the VM is built; the handlers then run on the I/O
 * thread, one at a time, so a device sees its host side serialised. A handler that touches
 * queues takes its transport's lock (virtio_mmio_lock). Registration after iothread_start()
 * is allowed (a vsock connection accepted later); a handler may remove (and free) its own watch,
 * not another one's.
 */
#ifndef VESSEL_VMM_IOTHREAD_H
#define VESSEL_VMM_IOTHREAD_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "util/error.h"

/* events: the EPOLL* bits that fired. */
typedef void iothread_fn(void *opaque, uint32_t events);

/* One watched fd; the caller owns it (embed it in the device's state), nothing allocates. */
struct iothread_watch {
	int fd;
	iothread_fn *fn;
	void *opaque;
};

struct iothread {
	int epfd;
	int stopfd; /* an eventfd: written by iothread_stop() */
	pthread_t thread;
	bool running;
	bool confine;	    /* set before iothread_start(): enter the I/O thread's sandbox */
	struct error start; /* what the thread met while starting (code 0: nothing) */
	pthread_mutex_t lock;
	pthread_cond_t started;
	bool ready;
};

int iothread_init(struct iothread *io, struct error *err);
/* Watches fd for events (EPOLLIN, EPOLLOUT, ...; level-triggered) and calls fn(opaque, events)
 * on the I/O thread. fd stays the caller's; remove the watch before closing it. w: borrowed
 * until iothread_remove() or iothread_destroy(). */
int iothread_add(struct iothread *io, struct iothread_watch *w, int fd, uint32_t events,
		 iothread_fn *fn, void *opaque, struct error *err);
/* Changes the events watched (e.g. adds EPOLLOUT while output is pending). */
int iothread_modify(struct iothread *io, struct iothread_watch *w, uint32_t events,
		    struct error *err);
void iothread_remove(struct iothread *io, struct iothread_watch *w);
/* Starts the thread and waits until it is confined (io->confine) and looping. */
int iothread_start(struct iothread *io, struct error *err);
/* Stops and joins the thread (no handler runs after it returns); safe when never started. */
void iothread_stop(struct iothread *io);
/* Stops, then closes the epoll and stop fds; safe on a zeroed struct after iothread_init failed. */
void iothread_destroy(struct iothread *io);

#endif
