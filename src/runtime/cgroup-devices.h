/* cgroup_devices: device access rules for the cgroup backends.
 *
 * v1 writes the rules to devices.allow/devices.deny and lets the kernel keep the list. v2 has no
 * such files: the rules become an eBPF program (BPF_PROG_TYPE_CGROUP_DEVICE) attached to the
 * cgroup. The program decides exactly as the v1 controller would after the same writes in the
 * same order (a type 'a' rule resets to allow-all or deny-all; other rules add exceptions or take
 * access bits away from an equal exception).
 *
 * Not for use outside src/runtime/cgroup*.c.
 */
#ifndef VESSEL_RUNTIME_CGROUP_DEVICES_H
#define VESSEL_RUNTIME_CGROUP_DEVICES_H

#include <linux/bpf.h>
#include <stddef.h>

#include "runtime/spec.h"
#include "util/error.h"

/* The most rules one program takes (each becomes at most 8 instructions). */
#define CGROUP_DEVICES_MAX_RULES 4096

/* Formats a rule as devices.allow/deny take it ("c 1:3 rwm", "b *:* m", "a") into buf. */
void cgroup_devices_v1_line(const struct spec_device_rule *rule, char *buf, size_t size);
/* Builds the device program for rules (borrowed). *ret: owned instructions (free()). */
int cgroup_devices_bpf_build(const struct spec_device_rule *rules, size_t n, struct bpf_insn **ret,
			     size_t *ret_n, struct error *err);
/* Loads the program into the kernel; returns the program fd (O_CLOEXEC) or -errno. */
int cgroup_devices_bpf_load(const struct bpf_insn *insns, size_t n, struct error *err);
/* Attaches prog_fd to the cgroup directory dir (BPF_F_ALLOW_MULTI), then detaches the device
 * programs that were attached there before, so the new rules replace the old ones without a
 * moment unfiltered. */
int cgroup_devices_bpf_attach(const char *dir, int prog_fd, struct error *err);
/* The number of device programs attached to the cgroup directory dir, or -errno. */
int cgroup_devices_bpf_count(const char *dir, struct error *err);

#endif
