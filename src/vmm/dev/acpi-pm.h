/* acpi-pm: the power-management ports of a hardware-reduced ACPI machine, the ones the FADT
 * names (x86/acpi.c): the sleep control register, the sleep status register and the reset
 * register, three one-byte system-I/O ports from ACPI_PM_PORT.
 *
 * Linux powers off by writing SLP_TYP (from the DSDT's _S5 package) with SLP_EN to the sleep
 * control register, and reboots by writing the FADT's RESET_VALUE to the reset register; both
 * call the callback, which ends the VM. Every other write (other sleep states, other values) is
 * ignored: there is no sleep to enter. Reads return 0 (WAK_STS clear: never woken).
 */
#ifndef VESSEL_VMM_DEV_ACPI_PM_H
#define VESSEL_VMM_DEV_ACPI_PM_H

#include <stdbool.h>
#include <stdint.h>

#define ACPI_PM_PORT	 0x600
#define ACPI_PM_NR_PORTS 3

/* Offsets from ACPI_PM_PORT. */
#define ACPI_PM_REG_SLEEP_CONTROL 0
#define ACPI_PM_REG_SLEEP_STATUS  1
#define ACPI_PM_REG_RESET	  2

#define ACPI_PM_RESET_VALUE   0x01
#define ACPI_PM_SLP_TYP_SHIFT 2 /* sleep control bits 4:2 */
#define ACPI_PM_SLP_TYP_MASK  0x7
#define ACPI_PM_SLP_EN	      0x20
#define ACPI_PM_SLP_TYP_S5    5 /* the value the DSDT's _S5 package gives */
#define ACPI_PM_WAK_STS	      0x80

enum acpi_pm_event { ACPI_PM_POWEROFF, ACPI_PM_RESET, ACPI_PM_EVENT_MAX };

typedef void acpi_pm_fn(void *opaque, enum acpi_pm_event event);

struct acpi_pm {
	acpi_pm_fn *fn;
	void *opaque; /* borrowed, passed to fn */
};

/* bus_handler_fn for the ACPI_PM_NR_PORTS ports; opaque is the struct acpi_pm. */
void acpi_pm_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write);

#endif
