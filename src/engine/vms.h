/* vms: the running micro-VMs as `vessel vm ps` lists them: <state>/vms/<name>.json, created with
 * O_EXCL while the VM runs (a record left by a monitor that died is taken over). */
#ifndef VESSEL_ENGINE_VMS_H
#define VESSEL_ENGINE_VMS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/error.h"

struct engine_vm {
	char *name; /* owned */
	pid_t pid;  /* the monitor */
	uint64_t pid_start;
	unsigned cpus;
	int64_t memory;
	int64_t started; /* seconds since the epoch */
};

/* Registers the calling process as the VM name (borrowed fields); EEXIST when taken. */
int engine_vm_register(const char *state, const struct engine_vm *vm, struct error *err);
void engine_vm_unregister(const char *state, const char *name);
/* The live VMs (records of dead monitors are removed); *ret owned. */
int engine_vm_list(const char *state, struct engine_vm **ret, size_t *ret_n, struct error *err);
void engine_vms_free(struct engine_vm *v, size_t n);
/* SIGTERM to the VM's monitor, SIGKILL after grace_s. */
int engine_vm_stop(const char *state, const char *name, int grace_s, struct error *err);

#endif
