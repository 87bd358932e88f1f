/* acpi-pm: see acpi-pm.h */
#include "vmm/dev/acpi-pm.h"

#include <string.h>

static bool is_poweroff(uint8_t v)
{
	return (v & ACPI_PM_SLP_EN) &&
	       ((v >> ACPI_PM_SLP_TYP_SHIFT) & ACPI_PM_SLP_TYP_MASK) == ACPI_PM_SLP_TYP_S5;
}

void acpi_pm_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	const struct acpi_pm *pm = opaque;

	if (!is_write) {
		memset(data, 0, len);
		return;
	}
	if (!pm->fn)
		return;
	if (offset == ACPI_PM_REG_SLEEP_CONTROL && is_poweroff(data[0]))
		pm->fn(pm->opaque, ACPI_PM_POWEROFF);
	else if (offset == ACPI_PM_REG_RESET && data[0] == ACPI_PM_RESET_VALUE)
		pm->fn(pm->opaque, ACPI_PM_RESET);
}
