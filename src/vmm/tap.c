/* tap: see tap.h. */
#include "vmm/tap.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "util/cleanup.h"

/* What the kernel accepts as an interface name (dev_valid_name), minus spaces of any kind. */
static int check_name(const char *name, struct error *err)
{
	size_t len = strlen(name);

	if (len == 0)
		return error_set(err, EINVAL, "--net tap=: missing interface name");
	if (len >= IFNAMSIZ)
		return error_set(err, EINVAL,
				 "--net tap=%.64s: interface name longer than %d bytes", name,
				 IFNAMSIZ - 1);
	if (!strcmp(name, ".") || !strcmp(name, ".."))
		return error_set(err, EINVAL, "--net tap=%s: invalid interface name", name);
	for (const char *p = name; *p; p++)
		if (*p <= ' ' || *p >= 0x7f || *p == '/' || *p == ':')
			return error_set(err, EINVAL,
					 "--net tap=%s: invalid character in interface name", name);
	return 0;
}

/* TUNSETIFF on an existing interface attaches to it; the errors say why it would not. */
static int attach(int fd, const char *name, struct error *err)
{
	struct ifreq ifr = {.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR};

	memcpy(ifr.ifr_name, name, strlen(name) + 1); /* checked: < IFNAMSIZ */
	if (ioctl(fd, TUNSETIFF, &ifr) == 0)
		return 0;
	switch (errno) {
	case EINVAL:
		return error_set(err, EINVAL,
				 "--net tap=%s: not a tap interface (a tun, a multi-queue tap or "
				 "another kind of device)",
				 name);
	case EPERM:
		return error_set(err, EPERM, "--net tap=%s: owned by another user or group", name);
	case EBUSY:
		return error_set(err, EBUSY, "--net tap=%s: already in use by another process",
				 name);
	default:
		return error_errno(err, "--net tap=%s: TUNSETIFF", name);
	}
}

int tap_open(struct tap *tap, const char *name, struct error *err)
{
	cleanup_fd int fd = -1;
	unsigned idx;
	int hdr = TAP_VNET_HDR_LEN, r;

	*tap = (struct tap){.fd = -1};
	r = check_name(name, err);
	if (r < 0)
		return r;
	idx = if_nametoindex(name);
	if (idx == 0)
		return error_set(err, ENODEV, "--net tap=%s: no such interface", name);
	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return error_errno(err, "--net tap=%s: open /dev/net/tun", name);
	r = attach(fd, name, err);
	if (r < 0)
		return r;
	/* Deleted between the lookup and TUNSETIFF, the name now belongs to a tap we created. */
	if (if_nametoindex(name) != idx)
		return error_set(err, ENODEV, "--net tap=%s: no such interface", name);
	if (ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0)
		return error_errno(err, "--net tap=%s: TUNSETVNETHDRSZ", name);
	/* Also a clean start: no offload until a driver accepts one. */
	tap->offload = ioctl(fd, TUNSETOFFLOAD, 0UL) == 0;
	memcpy(tap->name, name, strlen(name) + 1);
	tap->fd = TAKE_FD(fd);
	return 0;
}

int tap_set_offload(const struct tap *tap, unsigned tun_flags, struct error *err)
{
	if (ioctl(tap->fd, TUNSETOFFLOAD, (unsigned long)tun_flags) < 0)
		return error_errno(err, "tap %s: TUNSETOFFLOAD %#x", tap->name, tun_flags);
	return 0;
}

void tap_close(struct tap *tap)
{
	if (tap->fd >= 0)
		close(tap->fd);
	tap->fd = -1;
}
