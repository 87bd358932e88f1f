/* cmd-vm: `vessel vm run`, boot a kernel in a micro-VM on KVM (see cli/vm.h). */
#include "cli/vm.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "engine/vm-image.h"
#include "engine/vms.h"
#include "runtime/state.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/log.h"
#include "util/path.h"
#include "util/str.h"
#include "util/units.h"
#include "vmm/vm.h"

#define VM_USAGE                                                                                   \
	"usage: vessel vm run [--kernel FILE] [--initrd FILE] [--cmdline STR] [--cpus N]\n"        \
	"                     [--memory SIZE] [--hugepages] [--timeout DURATION]\n"                \
	"                     [--console stdio|none|FILE]\n"                                       \
	"                     [--name NAME] [--debug] [--disk PATH[,ro]]...\n"                     \
	"                     [--net tap=NAME|none] [--vsock CID,SOCKET] [--no-seccomp]\n"         \
	"                     [-- COMMAND...]\n"                                                   \
	"       vessel vm ps\n"                                                                    \
	"       vessel vm stop [-t SECS] NAME\n"                                                   \
	"Boots FILE (an ELF kernel with a PVH note, or a bzImage) with COM1 as the console.\n"     \
	"Without --kernel: Debian's cloud kernel (ROOT/kernel: vessel --root, $VESSEL_ROOT;\n"     \
	"fetched on first use) and Vessel's busybox initramfs, to a shell, or running COMMAND\n"   \
	"and exiting with its status; --cmdline then replaces \"" VM_IMAGE_CMDLINE "\",\n"         \
	"--initrd the initramfs.\n"                                                                \
	"Exit status: the guest's write to port 0x501, 0 after a reset or poweroff, 1 on "         \
	"errors.\n"

enum {
	OPT_KERNEL = 0x100,
	OPT_INITRD,
	OPT_CMDLINE,
	OPT_CPUS,
	OPT_MEMORY,
	OPT_TIMEOUT,
	OPT_CONSOLE,
	OPT_DEBUG,
	OPT_NAME,
	OPT_DISK,
	OPT_NET,
	OPT_VSOCK,
	OPT_NO_SECCOMP,
	OPT_HUGEPAGES,
	OPT_HELP,
};

static const struct option run_options[] = {
    {"kernel", required_argument, NULL, OPT_KERNEL},
    {"initrd", required_argument, NULL, OPT_INITRD},
    {"cmdline", required_argument, NULL, OPT_CMDLINE},
    {"cpus", required_argument, NULL, OPT_CPUS},
    {"memory", required_argument, NULL, OPT_MEMORY},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"console", required_argument, NULL, OPT_CONSOLE},
    {"debug", no_argument, NULL, OPT_DEBUG},
    {"name", required_argument, NULL, OPT_NAME},
    {"disk", required_argument, NULL, OPT_DISK},
    {"net", required_argument, NULL, OPT_NET},
    {"vsock", required_argument, NULL, OPT_VSOCK},
    {"no-seccomp", no_argument, NULL, OPT_NO_SECCOMP},
    {"hugepages", no_argument, NULL, OPT_HUGEPAGES},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0},
};

struct run_args {
	struct vm_config cfg;
	char **command; /* after "--": run by the default initramfs */
	const char *console;
	const char *name;
	bool debug;
	bool help;
};

static int fail(const struct error *err)
{
	fprintf(stderr, "vessel: vm: %s\n", err->msg);
	return 1;
}

static int parse_cpus(const char *s, unsigned *ret, struct error *err)
{
	long v;

	if (str_to_long(s, 0, 1L << 20, &v) < 0)
		return error_set(err, EINVAL, "--cpus %s: not a number", s);
	if (v < 1 || v > VM_MAX_CPUS)
		return error_set(err, EINVAL, "--cpus %s: must be 1 to %d", s, VM_MAX_CPUS);
	*ret = (unsigned)v;
	return 0;
}

/* PATH[,ro]: cuts ",ro" off arg (argv's own storage); the disk model opens and checks PATH. */
static int parse_disk(struct vm_config *cfg, char *arg, struct error *err)
{
	size_t len = strlen(arg);
	bool ro = len > 3 && !strcmp(arg + len - 3, ",ro");

	if (cfg->ndisks == VM_MAX_DISKS)
		return error_set(err, EINVAL, "--disk %s: at most %d disks", arg, VM_MAX_DISKS);
	if (!len || !strcmp(arg, ",ro"))
		return error_set(err, EINVAL, "--disk %s: expected PATH[,ro]", arg);
	if (ro)
		arg[len - 3] = '\0';
	cfg->disks[cfg->ndisks++] = (struct vm_disk){arg, ro};
	return 0;
}

/* tap=NAME or none; tap_open() checks NAME (an existing tap) when the VM is built. */
static int parse_net(struct vm_config *cfg, const char *arg, struct error *err)
{
	if (!strcmp(arg, "none")) {
		cfg->tap = NULL;
		return 0;
	}
	if (!str_has_prefix(arg, "tap=") || !arg[strlen("tap=")])
		return error_set(err, EINVAL, "--net %s: expected tap=NAME or none", arg);
	cfg->tap = arg + strlen("tap=");
	return 0;
}

/* CID,SOCKET: CID 3 .. 2^32 - 2 (0-2 are reserved, -1 is "any"), SOCKET the path of the Unix
 * socket the vsock device listens on (checked when it is created). */
static int parse_vsock(struct vm_config *cfg, const char *arg, struct error *err)
{
	const char *comma = strchr(arg, ',');
	char cid[16];
	long v;

	if (!comma || comma == arg || (size_t)(comma - arg) >= sizeof(cid) || !comma[1])
		return error_set(err, EINVAL, "--vsock %s: expected CID,SOCKET", arg);
	memcpy(cid, arg, (size_t)(comma - arg));
	cid[comma - arg] = '\0';
	if (str_to_long(cid, 0, UINT32_MAX, &v) < 0)
		return error_set(err, EINVAL, "--vsock %s: CID %s is not a number", arg, cid);
	if (v < 3 || v >= UINT32_MAX)
		return error_set(err, EINVAL, "--vsock %s: CID must be 3 to %u", arg,
				 UINT32_MAX - 1);
	cfg->vsock_cid = (uint32_t)v;
	cfg->vsock_socket = comma + 1;
	return 0;
}

static int parse_one(struct run_args *a, int opt, const char *arg, struct error *err)
{
	int64_t v;
	int r;

	switch (opt) {
	case OPT_KERNEL:
		a->cfg.kernel = arg;
		return 0;
	case OPT_INITRD:
		a->cfg.initrd = arg;
		return 0;
	case OPT_CMDLINE:
		a->cfg.cmdline = arg;
		return 0;
	case OPT_CPUS:
		return parse_cpus(arg, &a->cfg.cpus, err);
	case OPT_MEMORY:
		r = units_parse_size(arg, "--memory", &v, err);
		if (r == 0 && (uint64_t)v < VM_MIN_MEMORY)
			r = error_set(err, EINVAL, "--memory %s: at least %llu MiB", arg,
				      VM_MIN_MEMORY >> 20);
		a->cfg.memory = (uint64_t)v;
		return r;
	case OPT_TIMEOUT:
		return units_parse_duration(arg, "--timeout", &a->cfg.timeout_ms, err);
	case OPT_CONSOLE:
		a->console = arg;
		return 0;
	case OPT_DEBUG:
		a->debug = true;
		return 0;
	case OPT_NAME:
		a->name = arg;
		return 0;
	case OPT_HELP:
		a->help = true;
		return 0;
	case OPT_NET:
		return parse_net(&a->cfg, arg, err);
	case OPT_VSOCK:
		return parse_vsock(&a->cfg, arg, err);
	case OPT_NO_SECCOMP:
		a->cfg.no_seccomp = true;
		return 0;
	case OPT_HUGEPAGES:
		a->cfg.hugepages = true;
		return 0;
	default:
		return error_set(err, EINVAL, "unknown option");
	}
}

static int parse_args(struct run_args *a, int argc, char **argv, struct error *err)
{
	int opt, idx = 0;

	a->cfg = (struct vm_config){.cpus = 1, .memory = VM_DEFAULT_MEMORY, .console_fd = -1};
	a->console = "stdio";
	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+h", run_options, &idx)) != -1) {
		int r;
		if (opt == '?' || opt == ':')
			return error_set(err, EINVAL, "%s: unknown option or missing value",
					 argv[optind - 1]);
		if (opt == 'h')
			opt = OPT_HELP;
		if (opt == OPT_DISK)
			r = parse_disk(&a->cfg, optarg, err);
		else
			r = parse_one(a, opt, optarg, err);
		if (r < 0)
			return r;
	}
	if (optind < argc && strcmp(argv[optind - 1], "--"))
		return error_set(err, EINVAL, "unexpected argument %s (a command goes after --)",
				 argv[optind]);
	if (optind < argc)
		a->command = argv + optind;
	return 0;
}

/* *fd: 1, -1 (none), or a new file, which *owned says to close. */
static int open_console(const char *console, int *fd, bool *owned, struct error *err)
{
	*owned = false;
	*fd = -1;
	if (!strcmp(console, "stdio"))
		*fd = STDOUT_FILENO;
	if (!strcmp(console, "stdio") || !strcmp(console, "none"))
		return 0;
	*fd = open(console, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY, 0600);
	if (*fd < 0)
		return error_errno(err, "--console %s", console);
	*owned = true;
	return 0;
}

/* The first SIGTERM (vessel vm stop) or SIGINT asks the guest to power off: Ctrl-Alt-Del, which
 * a guest without a keyboard driver ignores until vm stop kills it after its grace period (a
 * console on the user's terminal is raw: Ctrl-C there goes to the guest, not here). SIGHUP and
 * a second SIGTERM or SIGINT end the VM with 128 + the signal. */
static void *signal_thread(void *arg)
{
	struct vm *vm = arg;
	bool asked = false;
	sigset_t set;
	int sig;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	while (sigwait(&set, &sig) == 0) {
		if ((sig == SIGTERM || sig == SIGINT) && !asked) {
			asked = true;
			vm_request_poweroff(vm);
			continue;
		}
		vm_request_stop(vm, 128 + sig);
		break;
	}
	return NULL;
}

/* The console's input: stdin to the UART; on a terminal, raw, and Ctrl-A x ends the VM (as in
 * QEMU). The thread ends at EOF; the process ends with the VM. */
static void *console_thread(void *arg)
{
	struct vm *vm = arg;
	bool tty = isatty(STDIN_FILENO), ctrl_a = false;
	uint8_t buf[256];
	ssize_t n;

	while ((n = read(STDIN_FILENO, buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < n; i++) {
			if (tty && ctrl_a && buf[i] == 'x') {
				vm_request_stop(vm, 0);
				return NULL;
			}
			ctrl_a = tty && buf[i] == 0x01 && !ctrl_a;
			if (ctrl_a)
				continue;
			while (serial8250_receive(&vm->serial, &buf[i], 1) == 0) /* FIFO full */
				nanosleep(&(struct timespec){.tv_nsec = 1000000}, NULL);
		}
	}
	return NULL;
}

/* The embedded default guest, for what the user left out: without --kernel, Debian's kernel with
 * Vessel's initramfs (unless --initrd) and VM_IMAGE_CMDLINE (unless --cmdline); a command after
 * "--" is appended to the initramfs as a second archive. */
struct guest {
	struct vm_image_kernel kernel;
	char *initramfs;
	int initrd_fd;
	char initrd_path[32];
};

static void guest_release(struct guest *g)
{
	vm_image_kernel_free(&g->kernel);
	free(g->initramfs);
	if (g->initrd_fd >= 0)
		close(g->initrd_fd);
}

static int guest_prepare(const char *root, struct run_args *a, struct guest *g, struct error *err)
{
	int r;

	if (!a->cfg.kernel) {
		r = vm_image_kernel(root, true, &g->kernel, err);
		if (r == 0 && !a->cfg.initrd)
			r = vm_image_initramfs(&g->kernel, VM_IMAGE_BUSYBOX, &g->initramfs, err);
		if (r < 0)
			return r;
		a->cfg.kernel = g->kernel.kernel;
		a->cfg.initrd = a->cfg.initrd ? a->cfg.initrd : g->initramfs;
		a->cfg.cmdline = a->cfg.cmdline ? a->cfg.cmdline : VM_IMAGE_CMDLINE;
	}
	if (!a->command)
		return 0;
	if (!a->cfg.initrd)
		return error_set(err, EINVAL,
				 "-- %s: a command needs an initramfs (the default "
				 "kernel's, or --initrd)",
				 a->command[0]);
	g->initrd_fd = vm_image_initrd_with_command(a->cfg.initrd, a->command, err);
	if (g->initrd_fd < 0)
		return g->initrd_fd;
	a->cfg.initrd = path_fd(g->initrd_fd, g->initrd_path, sizeof(g->initrd_path));
	return 0;
}

/* Runs vm registered as name (so that vm ps and vm stop find it). */
static int run_registered(const char *state, struct run_args *a, struct vm *vm, int *status,
			  struct error *err)
{
	char fallback[32];
	struct engine_vm rec = {
	    .name = (char *)a->name,
	    .pid = getpid(),
	    .pid_start = state_pid_start_time(getpid()),
	    .cpus = a->cfg.cpus,
	    .memory = (int64_t)a->cfg.memory,
	    .started = time(NULL),
	};
	sigset_t set;
	pthread_t t;

	if (!rec.name) {
		snprintf(fallback, sizeof(fallback), "vm-%d", (int)getpid());
		rec.name = fallback;
	}
	int r = engine_vm_register(state, &rec, err);
	if (r < 0)
		return r;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL); /* the vCPU threads inherit the mask */
	if (pthread_create(&t, NULL, signal_thread, vm) == 0)
		pthread_detach(t);
	struct termios saved;
	bool raw = a->cfg.console_fd == STDOUT_FILENO && tcgetattr(STDIN_FILENO, &saved) == 0;
	if (raw) {
		struct termios t2 = saved;
		cfmakeraw(&t2);
		t2.c_oflag |= OPOST | ONLCR; /* the guest's "\n" still starts a new line */
		tcsetattr(STDIN_FILENO, TCSANOW, &t2);
	}
	if (a->cfg.console_fd == STDOUT_FILENO && pthread_create(&t, NULL, console_thread, vm) == 0)
		pthread_detach(t);
	r = vm_run(vm, status, err);
	if (raw)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved);
	engine_vm_unregister(state, rec.name);
	return r;
}

static int vm_run_command(const struct engine_paths *paths, int argc, char **argv)
{
	struct run_args a = {0};
	struct guest guest = {.initrd_fd = -1};
	struct error err = {0};
	struct vm *vm = NULL;
	bool owned = false;
	int status = 1, r, fd;

	if (parse_args(&a, argc, argv, &err) < 0)
		return fail(&err);
	if (a.help) {
		fputs(VM_USAGE, stdout);
		return 0;
	}
	if (a.debug)
		log_open("vessel", NULL, LOG_FORMAT_TEXT, LOG_DEBUG);
	if (open_console(a.console, &fd, &owned, &err) < 0)
		return fail(&err);
	a.cfg.console_fd = fd;
	r = guest_prepare(paths->store, &a, &guest, &err);
	if (r == 0)
		r = vm_create(&a.cfg, NULL, &vm, &err);
	if (r == 0) {
		if (vm->caps.missing[0])
			log_debug("vm: %s lacks %s", vm->ops->name, vm->caps.missing);
		r = run_registered(paths->state, &a, vm, &status, &err);
	}
	vm_destroy(vm);
	guest_release(&guest);
	if (owned)
		close(fd);
	return r < 0 ? fail(&err) : status;
}

static int vm_ps(const char *state)
{
	struct engine_vm *v = NULL;
	struct error err;
	size_t n = 0;

	if (engine_vm_list(state, &v, &n, &err) < 0)
		return fail(&err);
	printf("%-20s  %-8s  %-5s  %-10s  %s\n", "NAME", "PID", "CPUS", "MEMORY", "UPTIME");
	for (size_t i = 0; i < n; i++) {
		char mem[32];
		snprintf(mem, sizeof(mem), "%lldM", (long long)(v[i].memory >> 20));
		printf("%-20s  %-8d  %-5u  %-10s  %llds\n", v[i].name, v[i].pid, v[i].cpus, mem,
		       (long long)(time(NULL) - v[i].started));
	}
	engine_vms_free(v, n);
	return 0;
}

static int vm_stop(const char *state, int argc, char **argv)
{
	struct error err;
	long secs = 10;
	int c;

	optind = 0;
	while ((c = getopt(argc, argv, "+t:")) != -1) {
		if (c != 't' || str_to_long(optarg, 0, 3600, &secs) < 0) {
			fputs(VM_USAGE, stderr);
			return 1;
		}
	}
	if (optind != argc - 1) {
		fputs(VM_USAGE, stderr);
		return 1;
	}
	if (engine_vm_stop(state, argv[optind], (int)secs, &err) < 0)
		return fail(&err);
	return 0;
}

int cli_vm(const struct engine_paths *paths, int argc, char **argv)
{
	struct error err;

	if (argc >= 2 && !strcmp(argv[1], "run"))
		return vm_run_command(paths, argc - 1, argv + 1);
	if (argc == 2 && !strcmp(argv[1], "ps"))
		return vm_ps(paths->state);
	if (argc >= 2 && !strcmp(argv[1], "stop"))
		return vm_stop(paths->state, argc - 1, argv + 1);
	if (argc >= 2 && (!strcmp(argv[1], "help") || !strcmp(argv[1], "--help"))) {
		fputs(VM_USAGE, stdout);
		return 0;
	}
	if (argc < 2) {
		fputs(VM_USAGE, stderr);
		return 1;
	}
	error_set(&err, EINVAL, "unknown command %s (try: vessel vm run --help)", argv[1]);
	return fail(&err);
}
