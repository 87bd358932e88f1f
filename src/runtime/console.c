/* console: see console.h */
#include "runtime/console.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "runtime/mounts.h"
#include "util/fd.h"
#include "util/log.h"

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

/* Unix98 pty slaves: majors 136..143 (UNIX98_PTY_SLAVE_MAJOR + 8). */
#define PTS_MAJOR_FIRST 136
#define PTS_MAJOR_LAST	143

int console_connect(const char *path, struct error *err)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	size_t len = strlen(path);
	cleanup_fd int fd = -1;

	if (len == 0 || len >= sizeof(addr.sun_path))
		return error_set(err, ENAMETOOLONG, "console socket %s: path too long", path);
	memcpy(addr.sun_path, path, len + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return error_errno(err, "console socket %s: socket", path);
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		return error_errno(err, "connect console socket %s", path);
	return TAKE_FD(fd);
}

static int check_slave(int fd, struct error *err)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return error_errno(err, "stat pty slave");
	if (!S_ISCHR(st.st_mode) || major(st.st_rdev) < PTS_MAJOR_FIRST ||
	    major(st.st_rdev) > PTS_MAJOR_LAST)
		return error_set(err, EPERM, "pty slave: not a pts device (%u:%u)",
				 major(st.st_rdev), minor(st.st_rdev));
	return 0;
}

/* Opens the slave of master. TIOCGPTPEER avoids any path lookup (CVE-2025-52565: a
 * /dev/pts entry swapped for a symlink); older kernels go by name, without following links. */
static int open_slave(int master, struct error *err)
{
	cleanup_fd int fd = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	char name[64];
	int r;

	if (fd < 0) {
		if (errno != EINVAL && errno != ENOTTY)
			return error_errno(err, "open pty slave");
		r = ptsname_r(master, name, sizeof(name));
		if (r != 0) {
			errno = r;
			return error_errno(err, "ptsname");
		}
		fd = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0)
			return error_errno(err, "open %s", name);
	}
	r = check_slave(fd, err);
	if (r < 0)
		return r;
	return TAKE_FD(fd);
}

static int become_terminal(int slave, struct error *err)
{
	if (getsid(0) != getpid() && setsid() < 0)
		return error_errno(err, "setsid");
	if (ioctl(slave, TIOCSCTTY, 0) < 0)
		return error_errno(err, "set controlling terminal");
	for (int i = 0; i <= 2; i++)
		if (slave != i && dup2(slave, i) < 0)
			return error_errno(err, "dup2 pty slave to %d", i);
	return 0;
}

/* /dev/console names the container's terminal, as with runc: programs that write to it (init
 * systems, getty) reach the same pty. Done after pivot_root, so the path is the container's;
 * a /dev that cannot hold the file (read-only, absent) leaves it out. */
static int bind_dev_console(int slave, struct error *err)
{
	cleanup_fd int target = open("/dev/console", O_PATH | O_NOFOLLOW | O_CLOEXEC);
	cleanup_fd int mnt = -1;
	struct stat st;

	if (target < 0 && errno == ENOENT) {
		int fd = open("/dev/console", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			      0600);
		if (fd < 0) {
			log_debug("no /dev/console: %s", strerror(errno));
			return 0;
		}
		close(fd);
		target = open("/dev/console", O_PATH | O_NOFOLLOW | O_CLOEXEC);
	}
	if (target < 0)
		return error_errno(err, "open /dev/console");
	if (fstat(target, &st) < 0)
		return error_errno(err, "stat /dev/console");
	if (S_ISLNK(st.st_mode) || S_ISDIR(st.st_mode))
		return error_set(err, EINVAL, "/dev/console: not a file or device");
	mnt = mounts_clone(slave, "", false, err);
	if (mnt < 0)
		return error_wrap(err, "bind the terminal on /dev/console");
	return mounts_attach(mnt, target, err);
}

int console_setup(int sock, const struct spec_process *p, bool for_init, struct error *err)
{
	cleanup_fd int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	cleanup_fd int slave = -1;
	int r;

	if (master < 0)
		return error_errno(err, "open /dev/ptmx");
	if (unlockpt(master) < 0)
		return error_errno(err, "unlockpt");
	slave = open_slave(master, err);
	if (slave < 0)
		return slave;
	if (p && (p->console_width || p->console_height)) {
		struct winsize ws = {
		    .ws_row = (unsigned short)p->console_height,
		    .ws_col = (unsigned short)p->console_width,
		};
		if (ioctl(slave, TIOCSWINSZ, &ws) < 0)
			return error_errno(err, "set console size");
	}
	r = for_init ? bind_dev_console(slave, err) : 0;
	if (r < 0)
		return r;
	r = fd_send(sock, master, err);
	if (r < 0)
		return error_wrap(err, "console socket");
	r = become_terminal(slave, err);
	if (r < 0)
		return r;
	if (slave <= 2)
		slave = -1; /* now one of stdin/stdout/stderr: keep it */
	return 0;
}
