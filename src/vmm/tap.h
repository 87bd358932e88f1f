/* tap: an existing tap interface opened as the backend of a VM's network device (--net tap=NAME).
 *
 * Vessel never creates, configures or deletes the interface: whoever runs the VM makes it
 * (`ip tuntap add dev NAME mode tap`), so a VM leaves nothing behind. Every frame read from or
 * written to the fd starts with a TAP_VNET_HDR_LEN-byte vnet header (struct virtio_net_hdr_v1,
 * num_buffers included), the same header a virtio-net driver uses, so frames pass through as is.
 * The fd is non-blocking and close-on-exec.
 */
#ifndef VESSEL_VMM_TAP_H
#define VESSEL_VMM_TAP_H

#include <net/if.h>
#include <stdbool.h>

#include "util/error.h"

#define TAP_VNET_HDR_LEN 12

struct tap {
	int fd;	      /* -1 when closed */
	bool offload; /* TUNSETOFFLOAD works: the reader may accept checksum/TSO offloads */
	char name[IFNAMSIZ];
};

/* Opens the existing tap interface name into *tap (tap->fd is -1 on failure). Errors start
 * with "--net tap=NAME: ": no such interface, not a tap, owned by someone else, in use.
 * name: borrowed. */
int tap_open(struct tap *tap, const char *name, struct error *err);
/* Sets the offloads the reader accepts (TUN_F_* bits from <linux/if_tun.h>): 0 for fully
 * checksummed, unsegmented frames. */
int tap_set_offload(const struct tap *tap, unsigned tun_flags, struct error *err);
/* Closes the fd; safe on a closed tap or one tap_open() failed on. */
void tap_close(struct tap *tap);

#endif
