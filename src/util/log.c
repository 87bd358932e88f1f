/* log: see log.h. The level, format and fd are the process's only mutable globals here. */
#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
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

static void emit_json(int fd, enum log_level level, const char *msg)
{
	char stamp[64];
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	size_t n = strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(stamp + n, sizeof(stamp) - n, ".%09ldZ", ts.tv_nsec);

	json_object *o = json_object_new_object();
	json_object_object_add(o, "level", json_object_new_string(level_names[level]));
	json_object_object_add(o, "msg", json_object_new_string(msg));
	json_object_object_add(o, "time", json_object_new_string(stamp));
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	write_all(fd, s, strlen(s));
	write_all(fd, "\n", 1);
	json_object_put(o);
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
