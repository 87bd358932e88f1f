/* iothread: see iothread.h */
#include "vmm/iothread.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "util/log.h"
#include "vmm/sandbox.h"

int iothread_init(struct iothread *io, struct error *err)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};

	memset(io, 0, sizeof(*io));
	io->epfd = io->stopfd = -1;
	pthread_mutex_init(&io->lock, NULL);
	pthread_cond_init(&io->started, NULL);
	io->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (io->epfd < 0)
		return error_errno(err, "iothread: epoll_create1");
	io->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (io->stopfd < 0)
		return error_errno(err, "iothread: eventfd");
	if (epoll_ctl(io->epfd, EPOLL_CTL_ADD, io->stopfd, &ev) < 0)
		return error_errno(err, "iothread: epoll_ctl");
	return 0;
}

static int ctl(struct iothread *io, int op, struct iothread_watch *w, uint32_t events,
	       struct error *err)
{
	struct epoll_event ev = {.events = events, .data.ptr = w};

	if (epoll_ctl(io->epfd, op, w->fd, &ev) < 0)
		return error_errno(err, "iothread: epoll_ctl fd %d", w->fd);
	return 0;
}

int iothread_add(struct iothread *io, struct iothread_watch *w, int fd, uint32_t events,
		 iothread_fn *fn, void *opaque, struct error *err)
{
	*w = (struct iothread_watch){fd, fn, opaque};
	return ctl(io, EPOLL_CTL_ADD, w, events, err);
}

int iothread_modify(struct iothread *io, struct iothread_watch *w, uint32_t events,
		    struct error *err)
{
	return ctl(io, EPOLL_CTL_MOD, w, events, err);
}

void iothread_remove(struct iothread *io, struct iothread_watch *w)
{
	epoll_ctl(io->epfd, EPOLL_CTL_DEL, w->fd, NULL);
}

/* Confines the thread when asked, then tells iothread_start() how it went. */
static bool begin(struct iothread *io)
{
	struct error err = {0};
	bool ok = !io->confine || sandbox_enter(SANDBOX_IO, &err) == 0;

	pthread_mutex_lock(&io->lock);
	io->start = err;
	io->ready = true;
	pthread_cond_signal(&io->started);
	pthread_mutex_unlock(&io->lock);
	return ok;
}

static void *loop(void *arg)
{
	struct iothread *io = arg;
	struct epoll_event evs[32];

	if (!begin(io))
		return NULL;
	for (;;) {
		int n = epoll_wait(io->epfd, evs, 32, -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			log_error("iothread: epoll_wait: %s", strerror(errno));
			return NULL;
		}
		for (int i = 0; i < n; i++) {
			struct iothread_watch *w = evs[i].data.ptr;
			if (!w)
				return NULL; /* the stop eventfd */
			w->fn(w->opaque, evs[i].events);
		}
	}
}

int iothread_start(struct iothread *io, struct error *err)
{
	int r = pthread_create(&io->thread, NULL, loop, io);

	if (r)
		return error_set(err, r, "iothread: pthread_create: %s", strerror(r));
	io->running = true;
	pthread_mutex_lock(&io->lock);
	while (!io->ready)
		pthread_cond_wait(&io->started, &io->lock);
	pthread_mutex_unlock(&io->lock);
	if (io->start.code) {
		pthread_join(io->thread, NULL);
		io->running = false;
		*err = io->start;
		return -io->start.code;
	}
	return 0;
}

void iothread_stop(struct iothread *io)
{
	uint64_t one = 1;

	if (!io->running)
		return;
	if (write(io->stopfd, &one, sizeof(one)) < 0)
		log_error("iothread: stop: %s", strerror(errno));
	pthread_join(io->thread, NULL);
	io->running = false;
}

void iothread_destroy(struct iothread *io)
{
	iothread_stop(io);
	if (io->epfd >= 0)
		close(io->epfd);
	if (io->stopfd >= 0)
		close(io->stopfd);
	io->epfd = io->stopfd = -1;
	pthread_cond_destroy(&io->started);
	pthread_mutex_destroy(&io->lock);
}
