/* guest: what the freestanding test guests share: port I/O, a polled COM1 and the ways out.
 * Kernel-mode code is emulated (slowly) under kvm_pvm: keep every guest to a few thousand
 * instructions. */
#ifndef VESSEL_TEST_GUEST_H
#define VESSEL_TEST_GUEST_H

#include <stdint.h>

void guest_putc(char c);
void guest_puts(const char *s);
void guest_puthex(uint64_t v);
void guest_putdec(uint64_t v);
/* What follows the first "key" in the command line (key "exit=" gives "7 ..."), or NULL. */
const char *guest_arg(const char *cmdline, const char *key);
/* Ends the VM as the command line asks: "exit=N" writes N to the debug-exit port 0x501,
 * "reset" pulses the i8042 reset line, "triple" triple-faults (#UD with an empty IDT), "int3"
 * executes int3 with an empty IDT (a KVM internal error under kvm_pvm), "hang" halts forever;
 * default: exit=0. */
void guest_finish(const char *cmdline) __attribute__((noreturn));

#endif
