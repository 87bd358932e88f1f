// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * probe: a static multi-tool placed in test container rootfs (like crun's tests/init.c).
 * argv[1] selects the probe; it prints what it saw on stdout and exits 0, or prints a
 * message on stderr and exits 1.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* the Makefile builds the probe without -D_GNU_SOURCE */
#endif
#include <dirent.h>
#include <errno.h>
#include <linux/capability.h>
#include <linux/keyctl.h>
#include <netinet/in.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define UNUSED __attribute__((unused))

struct probe {
	const char *name;
	int min_args;		 /* arguments after the probe name */
	int (*run)(char **argv); /* argv: the probe's arguments, NULL-terminated */
	const char *usage;
};

/* Prints "probe: <message>[: strerror(errno)]" on stderr and returns 1. */
__attribute__((format(printf, 1, 2))) static int fail(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	fprintf(stderr, "probe: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (saved)
		fprintf(stderr, ": %s", strerror(saved));
	fputc('\n', stderr);
	return 1;
}

static const char *errno_name(int e)
{
	static const struct {
		int code;
		const char *name;
	} names[] = {
	    {0, "OK"},		{EPERM, "EPERM"},     {ENOENT, "ENOENT"},   {EIO, "EIO"},
	    {EBADF, "EBADF"},	{EAGAIN, "EAGAIN"},   {ENOMEM, "ENOMEM"},   {EACCES, "EACCES"},
	    {EFAULT, "EFAULT"}, {EBUSY, "EBUSY"},     {EEXIST, "EEXIST"},   {EXDEV, "EXDEV"},
	    {ENODEV, "ENODEV"}, {ENOTDIR, "ENOTDIR"}, {EISDIR, "EISDIR"},   {EINVAL, "EINVAL"},
	    {ENFILE, "ENFILE"}, {EMFILE, "EMFILE"},   {ETXTBSY, "ETXTBSY"}, {ENOSPC, "ENOSPC"},
	    {EROFS, "EROFS"},	{ENOSYS, "ENOSYS"},   {ELOOP, "ELOOP"},	    {ENOTSUP, "ENOTSUP"},
	    {ENXIO, "ENXIO"},	{ESRCH, "ESRCH"},     {ENOKEY, "ENOKEY"},   {ENOEXEC, "ENOEXEC"},
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].code == e)
			return names[i].name;
	return "EUNKNOWN";
}

static int print_file(const char *path)
{
	char buf[4096];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return fail("open %s", path);
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		if (fwrite(buf, 1, (size_t)n, stdout) != (size_t)n) {
			close(fd);
			return fail("write stdout");
		}
	}
	if (n < 0) {
		int r = fail("read %s", path);

		close(fd);
		return r;
	}
	close(fd);
	return 0;
}

static int p_true(char **argv UNUSED)
{
	return 0;
}

static int p_false(char **argv UNUSED)
{
	return 1;
}

static int p_exit(char **argv)
{
	char *end;
	long code = strtol(argv[0], &end, 10);

	if (*end || code < 0 || code > 255) {
		errno = 0;
		return fail("exit: bad status %s", argv[0]);
	}
	fflush(stdout);
	_exit((int)code);
}

static int p_echo(char **argv)
{
	for (int i = 0; argv[i]; i++)
		printf("%s%s", i ? " " : "", argv[i]);
	putchar('\n');
	return 0;
}

static int p_cat(char **argv)
{
	return print_file(argv[0]);
}

static int p_write(char **argv)
{
	size_t len = strlen(argv[1]);
	int fd = open(argv[0], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0)
		return fail("open %s", argv[0]);
	if (write(fd, argv[1], len) != (ssize_t)len) {
		int r = fail("write %s", argv[0]);

		close(fd);
		return r;
	}
	if (close(fd) < 0)
		return fail("close %s", argv[0]);
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Print the names in @path, sorted, one a line; skips "." and "..". */
static int list_dir(const char *path)
{
	DIR *d = opendir(path);
	char *names[4096];
	size_t n = 0;
	struct dirent *e;

	if (!d)
		return fail("opendir %s", path);
	while ((e = readdir(d)) && n < sizeof(names) / sizeof(names[0])) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		names[n] = strdup(e->d_name);
		if (!names[n])
			break;
		n++;
	}
	qsort(names, n, sizeof(names[0]), cmp_str);
	for (size_t i = 0; i < n; i++) {
		puts(names[i]);
		free(names[i]);
	}
	closedir(d);
	return 0;
}

static int p_ls(char **argv)
{
	return list_dir(argv[0]);
}

static int p_id(char **argv UNUSED)
{
	gid_t groups[NGROUPS_MAX];
	int n = getgroups(NGROUPS_MAX, groups);

	if (n < 0)
		return fail("getgroups");
	printf("uid=%u gid=%u groups=", (unsigned)getuid(), (unsigned)getgid());
	for (int i = 0; i < n; i++)
		printf("%s%u", i ? "," : "", (unsigned)groups[i]);
	putchar('\n');
	return 0;
}

static int p_caps(char **argv UNUSED)
{
	char line[512];
	FILE *f = fopen("/proc/self/status", "re");

	if (!f)
		return fail("open /proc/self/status");
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "Cap", 3))
			fputs(line, stdout);
	fclose(f);
	return 0;
}

static int p_cwd(char **argv UNUSED)
{
	char buf[PATH_MAX];

	if (!getcwd(buf, sizeof(buf)))
		return fail("getcwd");
	puts(buf);
	return 0;
}

static int p_env(char **argv UNUSED)
{
	for (char **e = environ; *e; e++)
		puts(*e);
	return 0;
}

static int p_hostname(char **argv UNUSED)
{
	char buf[HOST_NAME_MAX + 1] = "";

	if (gethostname(buf, sizeof(buf) - 1) < 0)
		return fail("gethostname");
	puts(buf);
	return 0;
}

static int p_mounts(char **argv UNUSED)
{
	return print_file("/proc/self/mountinfo");
}

static int p_pid(char **argv UNUSED)
{
	printf("%d\n", (int)getpid());
	return 0;
}

static int p_sleep(char **argv)
{
	char *end;
	double secs = strtod(argv[0], &end);
	struct timespec ts;

	if (*end || secs < 0) {
		errno = 0;
		return fail("sleep: bad duration %s", argv[0]);
	}
	ts.tv_sec = (time_t)secs;
	ts.tv_nsec = (long)((secs - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
	return 0;
}

static void print_limit(rlim_t v)
{
	if (v == RLIM_INFINITY)
		printf("unlimited");
	else
		printf("%llu", (unsigned long long)v);
}

static int p_rlimit(char **argv)
{
	static const struct {
		const char *name;
		int resource;
	} res[] = {
	    {"NOFILE", RLIMIT_NOFILE}, {"NPROC", RLIMIT_NPROC},	    {"CORE", RLIMIT_CORE},
	    {"STACK", RLIMIT_STACK},   {"AS", RLIMIT_AS},	    {"CPU", RLIMIT_CPU},
	    {"FSIZE", RLIMIT_FSIZE},   {"MEMLOCK", RLIMIT_MEMLOCK},
	};
	const char *name = argv[0];
	struct rlimit rl;

	if (!strncmp(name, "RLIMIT_", 7))
		name += 7;
	for (size_t i = 0; i < sizeof(res) / sizeof(res[0]); i++) {
		if (strcmp(res[i].name, name))
			continue;
		if (getrlimit(res[i].resource, &rl) < 0)
			return fail("getrlimit %s", name);
		print_limit(rl.rlim_cur);
		putchar(' ');
		print_limit(rl.rlim_max);
		putchar('\n');
		return 0;
	}
	errno = 0;
	return fail("rlimit: unknown resource %s", argv[0]);
}

static int p_isatty(char **argv UNUSED)
{
	printf("%s %s\n", isatty(0) ? "yes" : "no", isatty(1) ? "yes" : "no");
	return 0;
}

static int p_fds(char **argv UNUSED)
{
	/* The directory stream's own fd is listed too: it is the highest-numbered one. */
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int self;

	if (!d)
		return fail("opendir /proc/self/fd");
	self = dirfd(d);
	while ((e = readdir(d))) {
		char target[PATH_MAX];
		ssize_t n;

		if (e->d_name[0] == '.' || atoi(e->d_name) == self)
			continue;
		n = readlinkat(self, e->d_name, target, sizeof(target) - 1);
		target[n < 0 ? 0 : n] = '\0';
		printf("%s %s\n", e->d_name, target);
	}
	closedir(d);
	return 0;
}

static const char *file_type(mode_t m)
{
	switch (m & S_IFMT) {
	case S_IFREG:
		return "file";
	case S_IFDIR:
		return "dir";
	case S_IFLNK:
		return "symlink";
	case S_IFCHR:
		return "char";
	case S_IFBLK:
		return "block";
	case S_IFIFO:
		return "fifo";
	case S_IFSOCK:
		return "socket";
	default:
		return "unknown";
	}
}

static int p_stat(char **argv)
{
	struct stat st;

	if (lstat(argv[0], &st) < 0)
		return fail("stat %s", argv[0]);
	printf("%s %u:%u %04o %u:%u\n", file_type(st.st_mode), major(st.st_rdev), minor(st.st_rdev),
	       (unsigned)(st.st_mode & 07777), (unsigned)st.st_uid, (unsigned)st.st_gid);
	return 0;
}

static int p_nnp(char **argv UNUSED)
{
	int r = prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0);

	if (r < 0)
		return fail("prctl PR_GET_NO_NEW_PRIVS");
	printf("%d\n", r);
	return 0;
}

static int p_umask(char **argv UNUSED)
{
	mode_t m = umask(0);

	umask(m);
	printf("%04o\n", (unsigned)m);
	return 0;
}

static int p_oom(char **argv UNUSED)
{
	return print_file("/proc/self/oom_score_adj");
}

/* Prints the errno name of an O_WRONLY open: OK, EROFS, EACCES...; exits 0 either way. */
static int p_open_write(char **argv)
{
	int fd = open(argv[0], O_WRONLY | O_CLOEXEC);

	if (fd >= 0) {
		close(fd);
		puts("OK");
		return 0;
	}
	puts(errno_name(errno));
	return 0;
}

static int p_mkdir(char **argv)
{
	if (mkdir(argv[0], 0755) < 0) {
		puts(errno_name(errno));
		return fail("mkdir %s", argv[0]);
	}
	puts("OK");
	return 0;
}

/* Prints OK or the errno name of mount("proc", "/mnt", "proc"); exits 0 either way. */
static int p_mount_proc(char **argv UNUSED)
{
	if (mount("proc", "/mnt", "proc", 0, NULL) < 0) {
		puts(errno_name(errno));
		return 0;
	}
	puts("OK");
	umount("/mnt");
	return 0;
}

static int same_file(const struct stat *st, const struct stat *self, char **known)
{
	struct stat k;

	if (st->st_dev == self->st_dev && st->st_ino == self->st_ino)
		return 1;
	for (; *known; known++) {
		if (stat(*known, &k) == 0 && st->st_dev == k.st_dev && st->st_ino == k.st_ino)
			return 1;
	}
	return 0;
}

/* CVE-2019-5736 attacker: for SECS seconds, grabs an O_PATH fd of every other process's
 * executable it can reach through /proc/N/exe, except its own and those of the container's
 * files named after SECS; then tries to reopen each for writing.
 * Prints "grabbed N writable M" (M > 0 means a host binary could have been overwritten). */
static int p_grab_exe(char **argv)
{
	static int fds[4096];
	int n = 0, writable = 0;
	time_t end = time(NULL) + atoi(argv[0]);
	struct stat self;

	if (stat("/proc/self/exe", &self) < 0)
		return 1;
	while (time(NULL) < end && n < 4000) {
		DIR *d = opendir("/proc");
		struct dirent *e;
		while (d && (e = readdir(d)) && n < 4000) {
			char path[300];
			struct stat st;
			if (e->d_name[0] < '0' || e->d_name[0] > '9' || atoi(e->d_name) == getpid())
				continue;
			snprintf(path, sizeof(path), "/proc/%s/exe", e->d_name);
			int fd = open(path, O_PATH | O_CLOEXEC);
			if (fd < 0)
				continue;
			if (fstat(fd, &st) == 0 && !same_file(&st, &self, argv + 1))
				fds[n++] = fd;
			else
				close(fd);
		}
		if (d)
			closedir(d);
	}
	sleep(
	    1); /* let the processes we grabbed exit: a running binary cannot be opened for write */
	for (int i = 0; i < n; i++) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fds[i]);
		int fd = open(path, O_WRONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		int seals = fcntl(fd, F_GET_SEALS); /* a sealed memfd opens but refuses writes */
		if (seals < 0 || !(seals & F_SEAL_WRITE))
			writable++;
		close(fd);
	}
	printf("grabbed %d writable %d\n", n, writable);
	return 0;
}

/* Prints the bounding, effective and permitted sets as the kernel has them (prctl and capget,
 * not /proc, which a test may have faked): "bnd=HEX eff=HEX prm=HEX". */
static int p_capbnd(char **argv UNUSED)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[2];
	unsigned long long bnd = 0;

	for (int cap = 0; cap < 64; cap++) {
		int r = prctl(PR_CAPBSET_READ, cap, 0, 0, 0);

		if (r < 0)
			break;
		if (r > 0)
			bnd |= 1ULL << cap;
	}
	if (syscall(SYS_capget, &hdr, data) < 0)
		return fail("capget");
	printf("bnd=%016llx eff=%016llx prm=%016llx\n", bnd,
	       (unsigned long long)data[1].effective << 32 | data[0].effective,
	       (unsigned long long)data[1].permitted << 32 | data[0].permitted);
	return 0;
}

/* Prints OK or the errno name of a syscall's result; exits 0 either way. */
static int print_result(long r)
{
	puts(r < 0 ? errno_name(errno) : "OK");
	return 0;
}

static int p_rawsock(char **argv UNUSED)
{
	int fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP);

	if (fd >= 0)
		close(fd);
	return print_result(fd);
}

static int p_init_module(char **argv UNUSED)
{
#ifdef SYS_finit_module
	return print_result(syscall(SYS_finit_module, -1, "", 0));
#else
	errno = ENOSYS;
	return print_result(-1);
#endif
}

static int p_kexec(char **argv UNUSED)
{
#ifdef SYS_kexec_file_load
	return print_result(syscall(SYS_kexec_file_load, -1, -1, 0UL, "", 0UL));
#else
	errno = ENOSYS;
	return print_result(-1);
#endif
}

/* keyctl(KEYCTL_GET_KEYRING_ID, session keyring, don't create): ENOKEY or OK without a filter. */
static int p_keyctl(char **argv UNUSED)
{
	return print_result(
	    syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0L, 0L, 0L));
}

/* Prints the file system magic of PATH (followed), e.g. 0x9fa0 for procfs. */
static int p_statfs(char **argv)
{
	struct statfs sf;

	if (statfs(argv[0], &sf) < 0)
		return fail("statfs %s", argv[0]);
	printf("0x%lx\n", (unsigned long)sf.f_type);
	return 0;
}

/* fstat of an open fd: "TYPE MAJ:MIN". */
static int p_fdstat(char **argv)
{
	struct stat st;

	if (fstat(atoi(argv[0]), &st) < 0)
		return fail("fstat %s", argv[0]);
	printf("%s %u:%u\n", file_type(st.st_mode), major(st.st_rdev), minor(st.st_rdev));
	return 0;
}

/* CVE-2021-30465 attacker: in DIR, makes NAME a directory and NAME.lnk a symlink to TARGET,
 * then swaps the two (renameat2 RENAME_EXCHANGE) as fast as it can for SECS seconds.
 * Touches DIR/.ready once it has started; prints the number of swaps. */
static int p_swap_race(char **argv)
{
	char lnk[NAME_MAX + 1];
	time_t end = time(NULL) + atoi(argv[3]);
	long swaps = 0;
	int dir = open(argv[0], O_PATH | O_DIRECTORY | O_CLOEXEC);

	if (dir < 0)
		return fail("open %s", argv[0]);
	snprintf(lnk, sizeof(lnk), "%s.lnk", argv[1]);
	if ((mkdirat(dir, argv[1], 0755) < 0 && errno != EEXIST) ||
	    (symlinkat(argv[2], dir, lnk) < 0 && errno != EEXIST)) {
		close(dir);
		return fail("set up %s", argv[0]);
	}
	close(openat(dir, ".ready", O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
	while (time(NULL) < end) {
		if (syscall(SYS_renameat2, dir, argv[1], dir, lnk, RENAME_EXCHANGE) < 0) {
			close(dir);
			return fail("renameat2 %s", argv[1]);
		}
		swaps++;
	}
	close(dir);
	printf("swaps %ld\n", swaps);
	return 0;
}

/* Seconds since an arbitrary start, from CLOCK_MONOTONIC. */
static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* mallocs MIB MiB and writes every page (so it is charged to the memory cgroup), prints
 * "allocated MIB", then sleeps 1 s. Under a smaller memory limit the OOM killer ends it. */
static int p_alloc(char **argv)
{
	long mib = atol(argv[0]);
	long page = sysconf(_SC_PAGESIZE);
	size_t size;
	char *buf;

	if (mib <= 0 || mib > 65536 || page <= 0) {
		errno = 0;
		return fail("alloc: bad size %s", argv[0]);
	}
	size = (size_t)mib << 20;
	buf = malloc(size);
	if (!buf)
		return fail("alloc: malloc %ld MiB", mib);
	for (size_t off = 0; off < size; off += (size_t)page)
		((volatile char *)buf)[off] = 1;
	printf("allocated %ld\n", mib);
	fflush(stdout);
	sleep(1);
	free(buf);
	return 0;
}

/* Busy-loops on the CPU for SECS seconds (wall time), then prints "spun". */
static int p_spin(char **argv)
{
	double end = now_s() + atof(argv[0]);
	volatile unsigned long n = 0;

	while (now_s() < end)
		for (int i = 0; i < 100000; i++)
			n++;
	puts("spun");
	return 0;
}

#define FORKBOMB_MAX 2000 /* live children at most: a bound for when no pids limit holds */

static void forkbomb_reap(pid_t *kids, int n)
{
	for (int i = 0; i < n; i++)
		kill(kids[i], SIGKILL);
	for (int i = 0; i < n; i++)
		waitpid(kids[i], NULL, 0);
}

/* Forks children that sleep (and die with their parent) as fast as it can for SECS seconds,
 * then prints "forks N error ENAME" (the first fork failure, OK if none), keeps the children
 * for HOLD more seconds (default 0), kills and reaps them. At most FORKBOMB_MAX live children. */
static int p_forkbomb(char **argv)
{
	static pid_t kids[FORKBOMB_MAX];
	double end = now_s() + atof(argv[0]);
	int n = 0, first_err = 0;
	pid_t parent = getpid();

	while (now_s() < end && n < FORKBOMB_MAX) {
		pid_t pid = fork();

		if (pid == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
			if (getppid() != parent)
				_exit(0);
			for (;;)
				pause();
		}
		if (pid > 0)
			kids[n++] = pid;
		else if (!first_err)
			first_err = errno;
	}
	printf("forks %d error %s\n", n, errno_name(first_err));
	fflush(stdout);
	if (argv[1])
		p_sleep(argv + 1);
	forkbomb_reap(kids, n);
	return 0;
}

static const struct probe probes[] = {
    {"true", 0, p_true, ""},
    {"false", 0, p_false, ""},
    {"exit", 1, p_exit, "N"},
    {"echo", 0, p_echo, "[ARGS...]"},
    {"cat", 1, p_cat, "FILE"},
    {"write", 2, p_write, "FILE TEXT"},
    {"ls", 1, p_ls, "DIR"},
    {"id", 0, p_id, ""},
    {"caps", 0, p_caps, ""},
    {"cwd", 0, p_cwd, ""},
    {"env", 0, p_env, ""},
    {"hostname", 0, p_hostname, ""},
    {"mounts", 0, p_mounts, ""},
    {"pid", 0, p_pid, ""},
    {"sleep", 1, p_sleep, "SECS"},
    {"rlimit", 1, p_rlimit, "NOFILE|NPROC|..."},
    {"isatty", 0, p_isatty, ""},
    {"fds", 0, p_fds, ""},
    {"stat", 1, p_stat, "PATH"},
    {"nnp", 0, p_nnp, ""},
    {"umask", 0, p_umask, ""},
    {"oom", 0, p_oom, ""},
    {"open-write", 1, p_open_write, "PATH"},
    {"mkdir", 1, p_mkdir, "PATH"},
    {"mount-proc", 0, p_mount_proc, ""},
    {"grab-exe", 1, p_grab_exe, "SECS [CONTAINER-FILES...]"},
    {"capbnd", 0, p_capbnd, ""},
    {"rawsock", 0, p_rawsock, ""},
    {"init-module", 0, p_init_module, ""},
    {"kexec", 0, p_kexec, ""},
    {"keyctl", 0, p_keyctl, ""},
    {"statfs", 1, p_statfs, "PATH"},
    {"fdstat", 1, p_fdstat, "FD"},
    {"swap-race", 4, p_swap_race, "DIR NAME TARGET SECS"},
    {"alloc", 1, p_alloc, "MIB"},
    {"spin", 1, p_spin, "SECS"},
    {"forkbomb", 1, p_forkbomb, "SECS [HOLD-SECS]"},
};

static void usage(FILE *out)
{
	fprintf(out, "usage: probe COMMAND [ARGS...]\n");
	for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++)
		fprintf(out, "  %s %s\n", probes[i].name, probes[i].usage);
}

int main(int argc, char **argv)
{
	int r;

	if (argc < 2) {
		usage(stderr);
		return 1;
	}
	for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
		const struct probe *p = &probes[i];

		if (strcmp(p->name, argv[1]))
			continue;
		if (argc - 2 < p->min_args) {
			fprintf(stderr, "probe: usage: probe %s %s\n", p->name, p->usage);
			return 1;
		}
		errno = 0;
		r = p->run(argv + 2);
		if (fflush(stdout) != 0)
			return 1;
		return r ? 1 : 0;
	}
	fprintf(stderr, "probe: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 1;
}
