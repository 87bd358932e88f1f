/* Unit tests for util/log.c: the JSON line format (runc's --log-format json). */
#include <json-c/json.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "util/cleanup.h"
#include "util/error.h"
#include "util/fd.h"
#include "util/log.h"

/* Logs msg as JSON to a new file; returns its contents (owned). */
static char *log_json(enum log_level level, const char *msg)
{
	char path[] = "/tmp/test-log-XXXXXX";
	struct error err = {0};
	char *text = NULL;
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(log_open("t", path, LOG_FORMAT_JSON, LOG_DEBUG), 0);
	log_msg(level, "%s", msg);
	log_close();
	assert_int_equal(fd_read_file(path, 1 << 16, &text, NULL, &err), 0);
	unlink(path);
	return text;
}

static void test_json_escapes_like_json_c(void **state)
{
	const char *msg = "a \"quoted\" \\ path /x/y\n\ttab\x01\x1f\b\f\r caf\xc3\xa9";
	cleanup_free char *text = log_json(LOG_WARN, msg);
	json_object *s = json_object_new_string(msg);
	char want[512];

	/* byte for byte what json-c wrote for the message before, and one line */
	snprintf(want, sizeof(want), "{\"level\":\"warning\",\"msg\":%s,\"time\":\"",
		 json_object_to_json_string_ext(s, JSON_C_TO_STRING_PLAIN));
	json_object_put(s);
	assert_true(!strncmp(text, want, strlen(want)));
	assert_non_null(strchr(text, '\n'));
	assert_int_equal(strchr(text, '\n')[1], '\0');

	json_object *o = json_tokener_parse(text);
	json_object *v;
	assert_non_null(o);
	assert_true(json_object_object_get_ex(o, "msg", &v));
	assert_string_equal(json_object_get_string(v), msg);
	assert_true(json_object_object_get_ex(o, "level", &v));
	assert_string_equal(json_object_get_string(v), "warning");
	json_object_put(o);
}

/* The time is RFC 3339 UTC with nanoseconds, and now. */
static void test_json_time(void **state)
{
	time_t before = time(NULL);
	cleanup_free char *text = log_json(LOG_ERROR, "x");
	time_t after = time(NULL);
	json_object *o = json_tokener_parse(text), *v;
	struct tm tm = {0};
	char b[32], a[32];

	assert_non_null(o);
	assert_true(json_object_object_get_ex(o, "time", &v));
	const char *t = json_object_get_string(v);
	assert_int_equal(strlen(t), strlen("2026-01-02T03:04:05.123456789Z"));
	assert_int_equal(t[29], 'Z');
	assert_int_equal(t[19], '.');
	assert_int_equal(strspn(t + 20, "0123456789"), 9);
	/* between the two readings of the clock, to the second */
	strftime(b, sizeof(b), "%Y-%m-%dT%H:%M:%S", gmtime_r(&before, &tm));
	strftime(a, sizeof(a), "%Y-%m-%dT%H:%M:%S", gmtime_r(&after, &tm));
	assert_true(strncmp(t, b, 19) >= 0 && strncmp(t, a, 19) <= 0);
	json_object_put(o);
}

/* A message of control characters (6 bytes each escaped) overflows the line: cut between escapes,
 * the line is still valid JSON. */
static void test_json_long_escaped(void **state)
{
	char msg[2047];
	memset(msg, '\x01', sizeof(msg) - 1);
	msg[sizeof(msg) - 1] = '\0';
	cleanup_free char *text = log_json(LOG_INFO, msg);
	json_object *o = json_tokener_parse(text), *v;

	assert_non_null(o);
	assert_true(json_object_object_get_ex(o, "msg", &v));
	assert_true(strspn(json_object_get_string(v), "\x01") == strlen(json_object_get_string(v)));
	assert_true(json_object_get_string_len(v) > 900);
	assert_true(json_object_object_get_ex(o, "time", &v));
	json_object_put(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_json_escapes_like_json_c),
	    cmocka_unit_test(test_json_time),
	    cmocka_unit_test(test_json_long_escaped),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
