/* test-cpuset: CPU lists as config.json gives them. */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "runtime/cpuset.h"

#define WORD_BITS (sizeof(unsigned long) * CHAR_BIT)

static int bit(const unsigned long *b, unsigned i)
{
	return !!(b[i / WORD_BITS] & (1UL << (i % WORD_BITS)));
}

static void test_parse(void **state)
{
	unsigned long b[CPUSET_MAX / WORD_BITS];

	assert_int_equal(cpuset_parse("0-3,5\n", b), 0);
	assert_true(bit(b, 0) && bit(b, 3) && bit(b, 5));
	assert_false(bit(b, 4) || bit(b, 6));
	assert_int_equal(cpuset_parse("4095", b), 0);
	assert_true(bit(b, 4095));
	static const char *const bad[] = {"",	  "-",	  "1-",	     "3-1", "a",
					  "1,,2", "4096", "0-99999", "1 2", "18446744073709551617"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(cpuset_parse(bad[i], b), -22);
}

static void test_check(void **state)
{
	struct spec_resources res = {.cpu_cpus = (char *)"0-999"};
	struct error err;

	assert_true(cpuset_check(&res, &err) < 0);
	assert_non_null(strstr(err.msg, "linux.resources.cpu.cpus"));
	res.cpu_cpus = (char *)"0";
	assert_int_equal(cpuset_check(&res, &err), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse),
	    cmocka_unit_test(test_check),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
