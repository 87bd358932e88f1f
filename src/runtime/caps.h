/* caps: Linux capability names and sets (libcap). */
#ifndef VESSEL_RUNTIME_CAPS_H
#define VESSEL_RUNTIME_CAPS_H

#include <stdint.h>

#include "runtime/spec.h"
#include "util/error.h"

/* "CAP_SYS_ADMIN" -> 21; -1 if unknown. */
int caps_from_name(const char *name);
/* 21 -> "CAP_SYS_ADMIN"; NULL if unknown. */
const char *caps_name(int cap);
/* The highest capability number the running kernel knows. */
int caps_last_cap(void);
/* Applies the five sets: drops from bounding what is not in it, then sets
 * effective/permitted/inheritable, then the ambient set. */
int caps_apply(const struct spec_caps *caps, struct error *err);

#endif
