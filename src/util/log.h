/* log: leveled logging to stderr or a --log file, as text or JSON (runc's format).
 *
 * The level and destination are set once by main; library layers log at debug only.
 */
#ifndef VESSEL_UTIL_LOG_H
#define VESSEL_UTIL_LOG_H

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG, LOG_LEVEL_MAX };
enum log_format { LOG_FORMAT_TEXT, LOG_FORMAT_JSON, LOG_FORMAT_MAX };

/* prog: the name text lines start with (borrowed, static); path: borrowed, NULL logs to
 * stderr. Returns 0 or -errno. */
int log_open(const char *prog, const char *path, enum log_format format, enum log_level level);
void log_close(void);
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The fd logs go to (for children that must keep it across exec), or -1. */
int log_fd(void);

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
