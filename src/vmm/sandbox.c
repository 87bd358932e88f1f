/* sandbox: see sandbox.h */
#include "vmm/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/kvm.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/cleanup.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Every thread: memory (never executable), locks, signals, time, its own end. */
static const int base_calls[] = {
    SCMP_SYS(brk),
    SCMP_SYS(munmap),
    SCMP_SYS(mremap),
    SCMP_SYS(madvise),
    SCMP_SYS(futex),
    SCMP_SYS(rt_sigreturn),
    SCMP_SYS(rt_sigprocmask),
    SCMP_SYS(sigaltstack),
    SCMP_SYS(restart_syscall),
    SCMP_SYS(clock_gettime),
    SCMP_SYS(clock_nanosleep),
    SCMP_SYS(nanosleep),
    SCMP_SYS(sched_yield),
    SCMP_SYS(getpid),
    SCMP_SYS(gettid),
    SCMP_SYS(getrandom),
    SCMP_SYS(read),
    SCMP_SYS(write),
    SCMP_SYS(close),
    SCMP_SYS(exit),
    SCMP_SYS(exit_group),
};

/* Threads that run device models (a vCPU on its MMIO/PIO exits, the I/O thread on kicks and
 * host events): disk, tap, console and vsock I/O on fds opened during setup. */
static const int device_calls[] = {
    SCMP_SYS(readv),	 SCMP_SYS(writev),   SCMP_SYS(pread64),	   SCMP_SYS(pwrite64),
    SCMP_SYS(preadv),	 SCMP_SYS(pwritev),  SCMP_SYS(fdatasync),  SCMP_SYS(fsync),
    SCMP_SYS(fallocate), SCMP_SYS(lseek),    SCMP_SYS(sendmsg),	   SCMP_SYS(recvmsg),
    SCMP_SYS(sendto),	 SCMP_SYS(recvfrom), SCMP_SYS(epoll_ctl),  SCMP_SYS(connect),
    SCMP_SYS(accept4),	 SCMP_SYS(shutdown), SCMP_SYS(getsockopt),
};

static const int io_calls[] = {SCMP_SYS(epoll_wait), SCMP_SYS(epoll_pwait)};

/* ioctl requests by thread kind. */
static const unsigned long vcpu_ioctls[] = {
    KVM_RUN,	   KVM_GET_REGS,	KVM_SET_REGS,	     KVM_GET_SREGS,
    KVM_SET_SREGS, KVM_GET_VCPU_EVENTS, KVM_SET_VCPU_EVENTS, KVM_GET_XSAVE,
    KVM_SET_XSAVE, KVM_GET_XCRS,	KVM_GET_FPU,	     KVM_SET_FPU,
    KVM_IRQ_LINE,  KVM_IRQ_LINE_STATUS, TUNSETOFFLOAD,
};
static const unsigned long io_ioctls[] = {KVM_IRQ_LINE, KVM_IRQ_LINE_STATUS, TUNSETOFFLOAD};

static void report(int sig, siginfo_t *si, void *uctx)
{
	char msg[96];
	int n = snprintf(msg, sizeof(msg),
			 "vessel: vm: monitor thread made a forbidden system call %d\n",
			 si->si_syscall);

	(void)sig;
	(void)uctx;
	if (n > 0 && write(STDERR_FILENO, msg, (size_t)n) < 0)
		_exit(1);
	_exit(1);
}

int sandbox_install_report(struct error *err)
{
	struct sigaction sa = {.sa_sigaction = report, .sa_flags = SA_SIGINFO};

	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) < 0)
		return error_errno(err, "sigaction SIGSYS");
	return 0;
}

/* Argument conditions, spelled out: libseccomp's SCMP_An macros leave fields to defaults that
 * -Wmissing-field-initializers (clang) rejects. */
static struct scmp_arg_cmp arg_eq(unsigned arg, scmp_datum_t value)
{
	return (struct scmp_arg_cmp){.arg = arg, .op = SCMP_CMP_EQ, .datum_a = value, .datum_b = 0};
}

static struct scmp_arg_cmp arg_clear(unsigned arg, scmp_datum_t mask)
{
	return (struct scmp_arg_cmp){
	    .arg = arg, .op = SCMP_CMP_MASKED_EQ, .datum_a = mask, .datum_b = 0};
}

static int allow(scmp_filter_ctx ctx, const int *calls, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, calls[i], 0);
		if (r < 0)
			return r;
	}
	return 0;
}

static int allow_ioctls(scmp_filter_ctx ctx, const unsigned long *reqs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int r =
		    seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1, arg_eq(1, reqs[i]));
		if (r < 0)
			return r;
	}
	return 0;
}

/* mmap/mprotect never executable; tgkill only within the monitor (vCPU kicks); sockets only
 * Unix ones (the vsock host side); fcntl only to read and set the status flags. */
static int allow_restricted(scmp_filter_ctx ctx)
{
	int r = 0;

	r = r ?: seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1, arg_clear(2, PROT_EXEC));
	r = r
		?: seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1,
				    arg_clear(2, PROT_EXEC));
	r = r
		?: seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1,
				    arg_eq(0, (scmp_datum_t)getpid()));
	r = r ?: seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1, arg_eq(0, AF_UNIX));
	r = r ?: seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(fcntl), 1, arg_eq(1, F_GETFL));
	r = r ?: seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(fcntl), 1, arg_eq(1, F_SETFL));
	return r;
}

static int build(scmp_filter_ctx ctx, enum sandbox_thread kind)
{
	int r = allow(ctx, base_calls, COUNT(base_calls));

	r = r ?: allow_restricted(ctx);
	switch (kind) {
	case SANDBOX_VCPU:
		r = r ?: allow(ctx, device_calls, COUNT(device_calls));
		return r ?: allow_ioctls(ctx, vcpu_ioctls, COUNT(vcpu_ioctls));
	case SANDBOX_IO:
		r = r ?: allow(ctx, device_calls, COUNT(device_calls));
		r = r ?: allow(ctx, io_calls, COUNT(io_calls));
		return r ?: allow_ioctls(ctx, io_ioctls, COUNT(io_ioctls));
	}
	return -EINVAL;
}

static void filter_free(void *ctx)
{
	if (ctx)
		seccomp_release(ctx);
}
DEFINE_CLEANUP(void, filter_free)

int sandbox_enter(enum sandbox_thread kind, struct error *err)
{
	static const char *const names[] = {"vcpu", "io"};
	cleanup(filter_free) scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_TRAP);
	int r;

	if (!ctx)
		return error_set(err, ENOMEM, "seccomp filter of the %s thread: out of memory",
				 names[kind]);
	r = build(ctx, kind);
	if (r == 0)
		r = seccomp_load(ctx);
	if (r < 0)
		return error_set(err, -r, "seccomp filter of the %s thread: %s", names[kind],
				 strerror(-r));
	return 0;
}
