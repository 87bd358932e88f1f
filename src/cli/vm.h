/* vm: `vessel vm ...`, the micro-VM monitor's command line (cmd-vm.c), run by the lean vessel-vmm
 * binary (src/vmm-main.c), which `vessel vm` execs (vm-exec.c). */
#ifndef VESSEL_CLI_VM_H
#define VESSEL_CLI_VM_H

#include "engine/run.h"

/* The name of the monitor's binary, installed next to vessel. */
#define CLI_VMM_BIN "vessel-vmm"

/* paths->store: where the default kernel lives (<store>/kernel); paths->state: where running VMs
 * are recorded (vm ps, vm stop). argv[0] is "vm"; returns the process exit status: the guest's
 * debug-exit status, 0 after a reset or poweroff, 1 after printing "vessel: vm: ..." on any
 * error. */
int cli_vm(const struct engine_paths *paths, int argc, char **argv);

/* `vessel vm ...` (argv[0] is "vm"): execs CLI_VMM_BIN beside /proc/self/exe's target with paths
 * as --root and --state and argv's arguments; returns only on failure: 1, after printing
 * "vessel: vm: PATH: why". */
int cli_vm_exec(const struct engine_paths *paths, int argc, char **argv);

#endif
