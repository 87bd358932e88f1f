/* vessel-init: PID 1 of the default micro-VM (`vessel vm run`), a static binary that Vessel puts
 * at /init of the initramfs it builds (engine/vm-image.h).
 *
 * It mounts /proc, /sys, /dev, /dev/pts and /tmp, loads the modules listed in /vessel/modules,
 * names the host "vessel", then runs /vessel/cmd (NUL-separated argv, from the per-run archive)
 * or, without it, /bin/sh, in a session of its own with the console as controlling terminal.
 * When that process ends, or a stop is asked (Ctrl-Alt-Del arrives as SIGINT; SIGTERM, SIGPWR,
 * and busybox's halt and poweroff send SIGUSR1 and SIGUSR2), it writes the exit status to the
 * monitor's debug-exit port, which ends the VM with it, and powers off as a fallback.
 *
 * Run as `/init vsock-echo PORT` (not as PID 1) it is the guest side of the vsock tests: it
 * accepts one AF_VSOCK stream connection on PORT and echoes it back until EOF (busybox has no
 * vsock tool).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/io.h>
#include <sys/ioctl.h>
#include <linux/vm_sockets.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define DEBUG_EXIT_PORT 0x501 /* vmm/dev/debug-exit.h */
#define CMD_PATH	"/vessel/cmd"
#define MODULES_PATH	"/vessel/modules"
#define CMD_MAX		(256 * 1024)
#define ARGS_MAX	4096
#define STOP_GRACE_S	5
#define STATUS_STOPPED	(128 + SIGTERM)

static void warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void warn(const char *fmt, ...)
{
	va_list ap;

	fputs("vessel-init: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Without a /dev/console in the (device-free) initramfs the kernel gives us no stdio: once
 * devtmpfs is up, the console becomes fds 0-2. Inherited stdio (a test on the host) is kept. */
static void console_stdio(void)
{
	int fd;

	if (fcntl(STDERR_FILENO, F_GETFD) >= 0)
		return;
	fd = open("/dev/console", O_RDWR | O_NOCTTY);
	if (fd < 0)
		return;
	for (int i = 0; i < 3; i++)
		if (fd != i)
			dup2(fd, i);
	if (fd > 2)
		close(fd);
}

static void mount_one(const char *type, const char *target, unsigned long flags, const char *data)
{
	mkdir(target, 0755);
	if (mount(type, target, type, flags, data) < 0 && errno != EBUSY)
		warn("mount %s on %s: %m", type, target);
}

static void mount_all(void)
{
	mount_one("devtmpfs", "/dev", MS_NOSUID, "mode=0755");
	console_stdio();
	mount_one("proc", "/proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	mount_one("sysfs", "/sys", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	mount_one("devpts", "/dev/pts", MS_NOSUID | MS_NOEXEC, "mode=0620,ptmxmode=0666");
	mount_one("tmpfs", "/tmp", MS_NOSUID | MS_NODEV, "mode=1777");
}

/* Reads a whole small file; NULL (errno set) when missing or too large. */
static char *read_file(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), saved;
	char *buf = fd >= 0 ? malloc(CMD_MAX + 1) : NULL;
	ssize_t n = 0;

	*len = 0;
	while (buf && *len <= CMD_MAX && (n = read(fd, buf + *len, CMD_MAX + 1 - *len)) > 0)
		*len += (size_t)n;
	saved = n < 0 ? errno : *len > CMD_MAX ? EFBIG : errno;
	if (fd >= 0)
		close(fd);
	if (buf && (n < 0 || *len > CMD_MAX)) {
		free(buf);
		buf = NULL;
	}
	if (buf)
		buf[*len] = '\0';
	errno = saved;
	return buf;
}

/* finit_module for each line of /vessel/modules; a module that fails is only a warning. */
static void load_modules(void)
{
	size_t len;
	char *list = read_file(MODULES_PATH, &len), *save = NULL;

	if (!list) {
		if (errno != ENOENT)
			warn("%s: %m", MODULES_PATH);
		return;
	}
	for (char *path = strtok_r(list, "\n", &save); path; path = strtok_r(NULL, "\n", &save)) {
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || (syscall(SYS_finit_module, fd, "", 0) < 0 && errno != EEXIST))
			warn("module %s: %m", path);
		if (fd >= 0)
			close(fd);
	}
	free(list);
}

/* argv from /vessel/cmd (each argument NUL-terminated), or /bin/sh when there is none. */
static char **command(bool *shell)
{
	static char sh[] = "/bin/sh";
	static char *sh_argv[] = {sh, NULL};
	char **argv = calloc(ARGS_MAX + 1, sizeof(char *));
	size_t len, n = 0;
	char *buf = read_file(CMD_PATH, &len);

	*shell = !buf;
	if (!buf && errno != ENOENT)
		warn("%s: %m", CMD_PATH);
	if (!buf || !argv) {
		free(argv);
		free(buf);
		return sh_argv;
	}
	for (size_t i = 0; i < len && n < ARGS_MAX; i += strlen(buf + i) + 1)
		argv[n++] = buf + i;
	return argv;
}

/* The child: its own session, the console as controlling terminal, default signals. */
static void exec_child(char **argv, const sigset_t *saved)
{
	sigprocmask(SIG_SETMASK, saved, NULL);
	if (!argv[0]) {
		warn("%s: empty command", CMD_PATH);
		_exit(127);
	}
	setsid();
	if (isatty(STDIN_FILENO) && ioctl(STDIN_FILENO, TIOCSCTTY, 0) < 0)
		warn("console as controlling terminal: %m");
	execvp(argv[0], argv);
	warn("%s: %m", argv[0]);
	_exit(errno == ENOENT ? 127 : 126);
}

static int exit_status(int wstatus)
{
	return WIFSIGNALED(wstatus) ? 128 + WTERMSIG(wstatus) : WEXITSTATUS(wstatus);
}

/* Reaps every child that ended; true when pid was one of them (its status in *status). */
static bool reap(pid_t pid, int *status)
{
	bool found = false;
	pid_t p;
	int ws;

	while ((p = waitpid(-1, &ws, WNOHANG)) > 0) {
		if (p == pid) {
			*status = exit_status(ws);
			found = true;
		}
	}
	return found;
}

/* To pid's process group, or to pid alone before its setsid(). */
static void signal_group(pid_t pid, int sig)
{
	if (kill(-pid, sig) < 0)
		kill(pid, sig);
}

static time_t now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* Waits for pid, reaping orphans; a stop signal sends SIGTERM (and SIGHUP to an interactive
 * shell, which ignores SIGTERM) to its process group, and SIGKILL after STOP_GRACE_S. */
static int supervise(pid_t pid, bool shell, const sigset_t *set)
{
	struct timespec tick = {.tv_sec = 1};
	time_t deadline = 0;
	int status = 0, sig;

	for (;;) {
		sig = sigtimedwait(set, NULL, &tick);
		if (reap(pid, &status))
			return deadline && status == 128 + SIGKILL ? STATUS_STOPPED : status;
		if (sig > 0 && sig != SIGCHLD && !deadline) {
			signal_group(pid, SIGTERM);
			if (shell)
				signal_group(pid, SIGHUP);
			signal_group(pid, SIGCONT);
			deadline = now() + STOP_GRACE_S;
		} else if (deadline && now() >= deadline) {
			signal_group(pid, SIGKILL);
		}
	}
}

/* The monitor's debug-exit device ends the VM with status; a real poweroff is the fallback. */
static __attribute__((noreturn)) void power_off(int status)
{
	sync();
	if (ioperm(DEBUG_EXIT_PORT, 1, 1) == 0)
		outb((unsigned char)status, DEBUG_EXIT_PORT);
	else
		warn("exit status %d: port 0x%x: %m", status, DEBUG_EXIT_PORT);
	reboot(RB_POWER_OFF);
	warn("power off: %m");
	_exit(status);
}

static int vsock_echo(const char *port)
{
	struct sockaddr_vm addr = {.svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY};
	int s = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0), c;
	char buf[4096];
	ssize_t n;

	addr.svm_port = (unsigned)strtoul(port, NULL, 10);
	if (s < 0 || bind(s, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(s, 1) < 0 ||
	    (c = accept4(s, NULL, NULL, SOCK_CLOEXEC)) < 0) {
		warn("vsock-echo %s: %m", port);
		return 1;
	}
	while ((n = read(c, buf, sizeof(buf))) > 0)
		if (write(c, buf, (size_t)n) != n)
			return 1;
	return n < 0;
}

int main(int argc, char **argv)
{
	static const int stop_signals[] = {SIGINT, SIGTERM, SIGPWR, SIGUSR1, SIGUSR2};
	sigset_t set, saved;
	bool shell;
	pid_t pid;

	if (argc == 3 && strcmp(argv[1], "vsock-echo") == 0)
		return vsock_echo(argv[2]);
	if (getpid() != 1) {
		warn("must run as PID 1 (the init of a Vessel micro-VM)");
		return 1;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	for (size_t i = 0; i < sizeof(stop_signals) / sizeof(stop_signals[0]); i++)
		sigaddset(&set, stop_signals[i]);
	sigprocmask(SIG_BLOCK, &set, &saved);
	mount_all();
	load_modules();
	if (sethostname("vessel", strlen("vessel")) < 0)
		warn("sethostname: %m");
	if (reboot(RB_DISABLE_CAD) < 0) /* Ctrl-Alt-Del becomes SIGINT */
		warn("disable Ctrl-Alt-Del: %m");
	setenv("PATH", "/bin:/sbin:/usr/bin:/usr/sbin", 1);
	setenv("HOME", "/root", 0);
	setenv("TERM", "linux", 0);
	char **cmd = command(&shell);
	pid = fork();
	if (pid == 0)
		exec_child(cmd, &saved);
	if (pid < 0) {
		warn("fork: %m");
		power_off(1);
	}
	int status = supervise(pid, shell, &set);
	power_off(shell ? 0 : status);
}
