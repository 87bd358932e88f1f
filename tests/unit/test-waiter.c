/* test-waiter: exit statuses, signals passed on, and the timeout. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "runtime/waiter.h"

static pid_t child(int how)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		if (how == 0)
			_exit(7);
		if (how == 1)
			raise(SIGKILL);
		pause(); /* how == 2: wait for a signal */
		_exit(0);
	}
	return pid;
}

static void test_status(void **state)
{
	struct error err;
	int status;

	assert_int_equal(waiter_wait(child(0), -1, 0, &status, &err), 0);
	assert_int_equal(status, 7);
	assert_int_equal(waiter_wait(child(1), -1, 0, &status, &err), 0);
	assert_int_equal(status, 128 + SIGKILL);
}

static void test_timeout(void **state)
{
	struct timespec a, b;
	struct error err;
	int status;

	clock_gettime(CLOCK_MONOTONIC, &a);
	assert_int_equal(waiter_wait(child(2), -1, 200, &status, &err), 0);
	clock_gettime(CLOCK_MONOTONIC, &b);
	assert_int_equal(status, WAITER_TIMED_OUT);
	assert_true(b.tv_sec - a.tv_sec < 5); /* SIGTERM ended it, no SIGKILL grace needed */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_status),
	    cmocka_unit_test(test_timeout),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
