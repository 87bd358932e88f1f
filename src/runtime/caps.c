/* caps: see caps.h */
#include "runtime/caps.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>

#include "util/cleanup.h"
#include "util/log.h"

#define CAPS_MAX 64

/* Names as config.json spells them; libcap's cap_to_name() returns lower case, owned. */
static const char *const cap_names[] = {
    [0] = "CAP_CHOWN",
    [1] = "CAP_DAC_OVERRIDE",
    [2] = "CAP_DAC_READ_SEARCH",
    [3] = "CAP_FOWNER",
    [4] = "CAP_FSETID",
    [5] = "CAP_KILL",
    [6] = "CAP_SETGID",
    [7] = "CAP_SETUID",
    [8] = "CAP_SETPCAP",
    [9] = "CAP_LINUX_IMMUTABLE",
    [10] = "CAP_NET_BIND_SERVICE",
    [11] = "CAP_NET_BROADCAST",
    [12] = "CAP_NET_ADMIN",
    [13] = "CAP_NET_RAW",
    [14] = "CAP_IPC_LOCK",
    [15] = "CAP_IPC_OWNER",
    [16] = "CAP_SYS_MODULE",
    [17] = "CAP_SYS_RAWIO",
    [18] = "CAP_SYS_CHROOT",
    [19] = "CAP_SYS_PTRACE",
    [20] = "CAP_SYS_PACCT",
    [21] = "CAP_SYS_ADMIN",
    [22] = "CAP_SYS_BOOT",
    [23] = "CAP_SYS_NICE",
    [24] = "CAP_SYS_RESOURCE",
    [25] = "CAP_SYS_TIME",
    [26] = "CAP_SYS_TTY_CONFIG",
    [27] = "CAP_MKNOD",
    [28] = "CAP_LEASE",
    [29] = "CAP_AUDIT_WRITE",
    [30] = "CAP_AUDIT_CONTROL",
    [31] = "CAP_SETFCAP",
    [32] = "CAP_MAC_OVERRIDE",
    [33] = "CAP_MAC_ADMIN",
    [34] = "CAP_SYSLOG",
    [35] = "CAP_WAKE_ALARM",
    [36] = "CAP_BLOCK_SUSPEND",
    [37] = "CAP_AUDIT_READ",
    [38] = "CAP_PERFMON",
    [39] = "CAP_BPF",
    [40] = "CAP_CHECKPOINT_RESTORE",
};

int caps_from_name(const char *name)
{
	char lower[64];
	cap_value_t v;
	size_t i;

	if (!name || strncmp(name, "CAP_", 4) != 0)
		return -1;
	for (i = 0; i < ARRAY_SIZE(cap_names); i++)
		if (strcmp(cap_names[i], name) == 0)
			return (int)i;
	/* A name newer than the table: ask libcap, which knows what it was built with. */
	for (i = 0; name[i] && i < sizeof(lower) - 1; i++) {
		if (!isupper((unsigned char)name[i]) && !isdigit((unsigned char)name[i]) &&
		    name[i] != '_')
			return -1;
		lower[i] = (char)tolower((unsigned char)name[i]);
	}
	if (name[i])
		return -1;
	lower[i] = '\0';
	if (cap_from_name(lower, &v) < 0 || v < 0 || v >= CAPS_MAX)
		return -1;
	return (int)v;
}

const char *caps_name(int cap)
{
	if (cap < 0 || (size_t)cap >= ARRAY_SIZE(cap_names))
		return NULL;
	return cap_names[cap];
}

/* Asks the kernel, not /proc: in a container's init, /proc may be the container's own fake,
 * and a lie here would leave capabilities in the bounding set. */
int caps_last_cap(void)
{
	for (int cap = CAPS_MAX - 1; cap > 0; cap--) {
		if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) >= 0)
			return cap;
	}
	return 0;
}

static const char *cap_label(int cap, char *buf, size_t len)
{
	const char *name = caps_name(cap);

	if (name)
		return name;
	snprintf(buf, len, "capability %d", cap);
	return buf;
}

/* Makes effective = permitted, so that CAP_SETPCAP is usable after a setuid with KEEPCAPS. */
static int raise_effective(int last, struct error *err)
{
	cap_t cur = cap_get_proc();
	int r = 0;

	if (!cur)
		return error_errno(err, "get capabilities");
	for (int cap = 0; cap <= last; cap++) {
		cap_flag_value_t v = CAP_CLEAR;
		cap_value_t c = cap;
		if (cap_get_flag(cur, c, CAP_PERMITTED, &v) == 0 && v == CAP_SET)
			cap_set_flag(cur, CAP_EFFECTIVE, 1, &c, CAP_SET);
	}
	if (cap_set_proc(cur) < 0)
		r = error_errno(err, "raise effective capabilities");
	cap_free(cur);
	return r;
}

static int drop_bounding(uint64_t keep, int last, struct error *err)
{
	char buf[32];

	for (int cap = 0; cap <= last; cap++) {
		if (keep & (UINT64_C(1) << cap))
			continue;
		int have = cap_get_bound((cap_value_t)cap);
		if (have <= 0)
			continue;
		if (cap_drop_bound((cap_value_t)cap) < 0)
			return error_errno(err, "drop %s from the bounding set",
					   cap_label(cap, buf, sizeof(buf)));
	}
	return 0;
}

static void set_flag(cap_t c, cap_flag_t flag, uint64_t mask, int last)
{
	for (int cap = 0; cap <= last; cap++) {
		cap_value_t v = cap;
		if (mask & (UINT64_C(1) << cap))
			cap_set_flag(c, flag, 1, &v, CAP_SET);
	}
}

static int set_sets(const struct spec_caps *caps, int last, struct error *err)
{
	cap_t c = cap_init();
	int r = 0;

	if (!c)
		return error_errno(err, "allocate capability set");
	set_flag(c, CAP_EFFECTIVE, caps->effective, last);
	set_flag(c, CAP_PERMITTED, caps->permitted, last);
	set_flag(c, CAP_INHERITABLE, caps->inheritable, last);
	if (cap_set_proc(c) < 0)
		r = error_errno(err, "set capabilities");
	cap_free(c);
	return r;
}

static int set_ambient(const struct spec_caps *caps, int last, struct error *err)
{
	uint64_t allowed = caps->permitted & caps->inheritable;
	char buf[32];

	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0) {
		if (errno == EINVAL && !caps->ambient)
			return 0; /* kernel without ambient capabilities */
		return error_errno(err, "clear ambient capabilities");
	}
	for (int cap = 0; cap <= last; cap++) {
		uint64_t bit = UINT64_C(1) << cap;
		if (!(caps->ambient & bit))
			continue;
		if (!(allowed & bit)) {
			log_debug("ambient %s skipped: not in permitted and inheritable",
				  cap_label(cap, buf, sizeof(buf)));
			continue;
		}
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, (unsigned long)cap, 0, 0) < 0)
			return error_errno(err, "raise ambient %s",
					   cap_label(cap, buf, sizeof(buf)));
	}
	return 0;
}

int caps_apply(const struct spec_caps *caps, struct error *err)
{
	int last = caps_last_cap();
	int r;

	r = raise_effective(last, err);
	if (r < 0)
		return r;
	r = drop_bounding(caps->bounding, last, err);
	if (r < 0)
		return r;
	r = set_sets(caps, last, err);
	if (r < 0)
		return r;
	return set_ambient(caps, last, err);
}
