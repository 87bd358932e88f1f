/* error: a fixed-size error that gathers context on its way up to the CLI.
 *
 * A function that can fail takes `struct error *err` last and returns 0 (or a
 * valid pointer) on success, -errno (or NULL) on failure after filling *err.
 * Callers add context with error_wrap(): "create c1: mount /proc: Permission denied".
 * The struct is plain data, so a forked child can write it raw down a pipe.
 */
#ifndef VESSEL_UTIL_ERROR_H
#define VESSEL_UTIL_ERROR_H

#include <stdarg.h>

struct error {
	int code;	/* positive errno-style code, 0 when unset */
	char msg[1024]; /* "outer: inner: strerror" */
};

/* Fills *err with code and the formatted message; returns -code. */
int error_set(struct error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* error_set(err, errno, fmt ...) with ": strerror(errno)" appended. */
int error_errno(struct error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prepends "fmt: " to err->msg; returns -err->code. */
int error_wrap(struct error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Clears *err. */
void error_clear(struct error *err);

#endif
