/* log: see log.h. The level, format and fd are the process's only mutable globals here. */
#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

static int log_dest = -1;
static enum log_format log_fmt = LOG_FORMAT_TEXT;
static enum log_level log_max = LOG_WARN;
static const char *log_prog = "vessel";

static const char *const level_names[LOG_LEVEL_MAX] = {
    [LOG_ERROR] = "error",
    [LOG_WARN] = "warning",
    [LOG_INFO] = "info",
    [LOG_DEBUG] = "debug",
};

int log_open(const char *prog, const char *path, enum log_format format, enum log_level level)
{
	log_prog = prog;
	log_fmt = format;
	log_max = level;
	if (!path)
		return 0;
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	log_close();
	log_dest = fd;
	return 0;
}

void log_close(void)
{
	if (log_dest >= 0)
		close(log_dest);
	log_dest = -1;
}

int log_fd(void)
{
	return log_dest;
}

static void write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		buf += n;
		len -= (size_t)n;
	}
}

/* json-c's escape for c, NULL when c stands for itself or is another control character. */
static const char *json_escape_char(unsigned char c)
{
	switch (c) {
	case '"':
		return "\\\"";
	case '\\':
		return "\\\\";
	case '/':
		return "\\/";
	case '\b':
		return "\\b";
	case '\f':
		return "\\f";
	case '\n':
		return "\\n";
	case '\r':
		return "\\r";
	case '\t':
		return "\\t";
	default:
		return NULL;
	}
}

/* Appends s to out (at *len, capacity size) escaped as json-c escapes strings, so that lines are
 * what they were when json-c wrote them; without json-c, which the static VM monitor does not
 * link. Stops early rather than overflow. */
static void json_escape(char *out, size_t *len, size_t size, const char *s)
{
	static const char hex[] = "0123456789abcdef";

	for (; *s && *len + 7 < size; s++) {
		unsigned char c = (unsigned char)*s;
		const char *e = json_escape_char(c);
		if (e)
			*len += (size_t)snprintf(out + *len, size - *len, "%s", e);
		else if (c < 0x20)
			*len += (size_t)snprintf(out + *len, size - *len, "\\u00%c%c", hex[c >> 4],
						 hex[c & 15]);
		else
			out[(*len)++] = (char)c;
	}
	out[*len] = '\0';
}

/* ts as RFC 3339 in UTC with nanoseconds, by the civil-from-days algorithm (Howard Hinnant's)
 * rather than gmtime_r and strftime: in a static binary those bring glibc's time-zone code, and
 * with it scanf and strtod, about 100 KiB that the VM monitor would map for nothing. */
static void utc_stamp(char *buf, size_t size, const struct timespec *ts)
{
	long long secs = ts->tv_sec > 0 ? ts->tv_sec : 0, z = secs / 86400 + 719468;
	long long era = z / 146097, doe = z - era * 146097;
	long long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	long long doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
	long long day = doy - (153 * mp + 2) / 5 + 1, month = mp < 10 ? mp + 3 : mp - 9;
	long long sod = secs % 86400;

	snprintf(buf, size, "%04lld-%02lld-%02lldT%02lld:%02lld:%02lld.%09ldZ",
		 yoe + era * 400 + (month <= 2), month, day, sod / 3600, sod / 60 % 60, sod % 60,
		 ts->tv_nsec);
}

static void emit_json(int fd, enum log_level level, const char *msg)
{
	char stamp[64], line[3 * 2048];
	struct timespec ts;
	size_t len;

	clock_gettime(CLOCK_REALTIME, &ts);
	utc_stamp(stamp, sizeof(stamp), &ts);

	len = (size_t)snprintf(line, sizeof(line), "{\"level\":\"%s\",\"msg\":\"",
			       level_names[level]);
	json_escape(line, &len, sizeof(line) - 64, msg);
	len += (size_t)snprintf(line + len, sizeof(line) - len, "\",\"time\":\"%s\"}\n", stamp);
	write_all(fd, line, len);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;
	int saved = errno;

	if (level > log_max)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);

	int fd = log_dest >= 0 ? log_dest : STDERR_FILENO;
	if (log_fmt == LOG_FORMAT_JSON) {
		emit_json(fd, level, msg);
	} else {
		char line[2200];
		int n = snprintf(line, sizeof(line), "%s: %s%s%s\n", log_prog,
				 level == LOG_ERROR ? "" : level_names[level],
				 level == LOG_ERROR ? "" : ": ", msg);
		if (n > 0)
			write_all(fd, line,
				  (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
	}
	errno = saved;
}
