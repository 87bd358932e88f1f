/* test-units: sizes as people type them, and what hostile input gets. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "util/units.h"

static void test_sizes(void **state)
{
	static const struct {
		const char *in;
		int64_t want;
	} ok[] = {
	    {"0", 0},
	    {"4096", 4096},
	    {"1b", 1},
	    {"1k", 1024},
	    {"512m", 512LL << 20},
	    {"512M", 512LL << 20},
	    {"512MiB", 512LL << 20},
	    {"1.5g", 3LL << 29},
	    {"2t", 2LL << 40},
	    {"0.25k", 256},
	};
	struct error err;
	int64_t v;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(units_parse_size(ok[i].in, "--memory", &v, &err), 0);
		assert_int_equal(v, ok[i].want);
	}
}

static void test_hostile(void **state)
{
	static const char *const bad[] = {
	    "",		"m",
	    "12q",	"-1",
	    "1.5",	"1.g",
	    " 1m",	"1m ",
	    "0x10",	"1e3",
	    "1mm",	"9999999999999999999999",
	    "5000000t", "18446744073709551616",
	    "1..5m",	".5m",
	};
	struct error err;
	int64_t v = 77;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_true(units_parse_size(bad[i], "--memory", &v, &err) < 0);
		assert_non_null(strstr(err.msg, "--memory"));
		assert_int_equal(v, 77);
	}
	units_parse_size("12q", "--memory", &v, &err);
	assert_string_equal(err.msg, "--memory 12q: unknown unit \"q\"");
}

static void test_cpus(void **state)
{
	struct error err;
	int64_t v;

	assert_int_equal(units_parse_cpus("0.25", "--cpus", &v, &err), 0);
	assert_int_equal(v, 250);
	assert_int_equal(units_parse_cpus("2", "--cpus", &v, &err), 0);
	assert_int_equal(v, 2000);
	assert_int_equal(units_parse_cpus("0.001", "--cpus", &v, &err), 0);
	assert_int_equal(v, 1);
	static const char *const bad[] = {"",	    "0",     "0.0",    "-1",
					  "0.0001", "1025",  "1024.5", "1e2",
					  ".5",	    "0.25 ", "abc",    "99999999999999999999"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_true(units_parse_cpus(bad[i], "--cpus", &v, &err) < 0);
		assert_non_null(strstr(err.msg, "--cpus"));
	}
}

static void test_durations(void **state)
{
	static const struct {
		const char *in;
		int64_t ms;
	} ok[] = {
	    {"3h", 3 * 3600000}, {"90s", 90000}, {"1h30m", 5400000}, {"500ms", 500},
	    {"1.5s", 1500},	 {"10", 10000},	 {"2d", 172800000},  {"1m1s", 61000},
	};
	struct error err;
	int64_t v;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(units_parse_duration(ok[i].in, "--timeout", &v, &err), 0);
		assert_int_equal(v, ok[i].ms);
	}
	static const char *const bad[] = {
	    "",	   "0",	    "0s",	"-1s",		"3x",
	    "h",   "1h 2m", "1.s",	"101y",		"999999999999999d",
	    "3hh", "s3",    "0.0001ms", "9999999999999"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_true(units_parse_duration(bad[i], "--timeout", &v, &err) < 0);
		assert_non_null(strstr(err.msg, "--timeout"));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sizes),
	    cmocka_unit_test(test_hostile),
	    cmocka_unit_test(test_cpus),
	    cmocka_unit_test(test_durations),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
