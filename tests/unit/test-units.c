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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sizes),
	    cmocka_unit_test(test_hostile),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
