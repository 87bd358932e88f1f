/* vm: `vessel vm ...`, the micro-VM monitor's command line (cmd-vm.c). */
#ifndef VESSEL_CLI_VM_H
#define VESSEL_CLI_VM_H

/* state: where running VMs are recorded (vm ps, vm stop). argv[0] is "vm"; returns the process exit
 * status: the guest's debug-exit status, 0 after a reset or poweroff, 1 after printing "vessel: vm:
 * ..." on any error. */
int cli_vm(const char *state, int argc, char **argv);

#endif
