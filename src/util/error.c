/* error: see error.h */
#include "util/error.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

__attribute__((format(printf, 4, 0))) static int
vset(struct error *err, int code, const char *suffix, const char *fmt, va_list ap)
{
	int n;

	if (code <= 0)
		code = EINVAL;
	err->code = code;
	n = vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	if (suffix && n >= 0 && (size_t)n < sizeof(err->msg))
		snprintf(err->msg + n, sizeof(err->msg) - (size_t)n, ": %s", suffix);
	return -code;
}

int error_set(struct error *err, int code, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vset(err, code, NULL, fmt, ap);
	va_end(ap);
	return r;
}

int error_errno(struct error *err, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vset(err, saved, strerror(saved), fmt, ap);
	va_end(ap);
	errno = saved;
	return r;
}

int error_wrap(struct error *err, const char *fmt, ...)
{
	char prefix[sizeof(err->msg)];
	char old[sizeof(err->msg)];
	va_list ap;

	if (err->code <= 0)
		err->code = EINVAL;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof(old));
	old[sizeof(old) - 1] = '\0';
	if (snprintf(err->msg, sizeof(err->msg), "%s: %s", prefix, old) >= (int)sizeof(err->msg))
		memcpy(err->msg + sizeof(err->msg) - 4, "...", 4); /* truncated: say so */
	return -err->code;
}

void error_clear(struct error *err)
{
	err->code = 0;
	err->msg[0] = '\0';
}
