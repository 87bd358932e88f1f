/* Unit tests for engine/vms.c (the VM records vm ps and vm stop read) and
 * runtime/state-pid.c (the liveness check they rest on). */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "engine/vms.h"
#include "runtime/state.h"
#include "util/cleanup.h"
#include "util/fd.h"
#include "util/fs.h"
#include "util/str.h"

static char *make_state(void)
{
	char *dir = strdup("/tmp/test-vms-XXXXXX");

	assert_non_null(dir);
	assert_non_null(mkdtemp(dir));
	return dir;
}

static void remove_state(char *dir)
{
	assert_int_equal(fs_remove_tree(AT_FDCWD, dir), 0);
	free(dir);
}

static void write_record(const char *state, const char *name, const char *text)
{
	cleanup_free char *vms = str_printf("%s/vms", state);
	cleanup_fd int dfd = -1;
	struct error err = {0};

	assert_int_equal(fs_mkdir_p(vms, 0700), 0);
	dfd = open(vms, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(dfd >= 0);
	cleanup_free char *file = str_printf("%s.json", name);
	assert_int_equal(fd_write_file_new(dfd, file, text, strlen(text), &err), 0);
}

static pid_t dead_pid(void)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0)
		_exit(0);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	return pid;
}

static void test_pid_start_time(void **state)
{
	uint64_t self = state_pid_start_time(getpid());
	char comm[16];

	assert_true(self > 0);
	assert_int_equal(state_pid_start_time(dead_pid()), 0);
	assert_int_equal(state_pid_start_time(0), 0);
	/* comm with spaces and parens does not shift the fields */
	assert_int_equal(prctl(PR_GET_NAME, comm), 0);
	assert_int_equal(prctl(PR_SET_NAME, ") 1 2 (x) 3"), 0);
	assert_int_equal(state_pid_start_time(getpid()), self);
	assert_int_equal(prctl(PR_SET_NAME, comm), 0);
}

static void test_register_list_unregister(void **state)
{
	char *dir = make_state();
	struct error err = {0};
	struct engine_vm vm = {
	    .name = (char *)"vm-a",
	    .pid = getpid(),
	    .pid_start = state_pid_start_time(getpid()),
	    .cpus = 3,
	    .memory = 5LL << 30,
	    .started = 1700000000,
	};
	struct engine_vm *v = NULL;
	size_t n = 99;

	assert_int_equal(engine_vm_register(dir, &vm, &err), 0);
	assert_int_equal(engine_vm_register(dir, &vm, &err), -EEXIST);
	assert_non_null(strstr(err.msg, "already in use"));
	/* the record stays plain JSON */
	cleanup_free char *path = str_printf("%s/vms/vm-a.json", dir);
	cleanup_free char *text = NULL;
	assert_int_equal(fd_read_file(path, 4096, &text, NULL, &err), 0);
	cleanup_free char *want =
	    str_printf("{\"pid\":%d,\"pid_start\":%llu,\"cpus\":3,\"memory\":5368709120,"
		       "\"started\":1700000000}",
		       (int)getpid(), (unsigned long long)vm.pid_start);
	assert_string_equal(text, want);

	assert_int_equal(engine_vm_list(dir, &v, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].name, "vm-a");
	assert_int_equal(v[0].pid, getpid());
	assert_int_equal(v[0].pid_start, vm.pid_start);
	assert_int_equal(v[0].cpus, 3);
	assert_int_equal(v[0].memory, 5LL << 30);
	assert_int_equal(v[0].started, 1700000000);
	engine_vms_free(v, n);

	engine_vm_unregister(dir, "vm-a");
	assert_int_equal(engine_vm_list(dir, &v, &n, &err), 0);
	assert_int_equal(n, 0);
	engine_vms_free(v, n);
	remove_state(dir);
}

/* A record of a dead monitor is dropped by list and taken over by register; a record that is
 * not ours (malformed, a field missing or out of range) is never read as a VM. */
static void test_stale_and_bad_records(void **state)
{
	char *dir = make_state();
	struct error err = {0};
	cleanup_free char *dead = str_printf(
	    "{\"pid\":%d,\"pid_start\":1,\"cpus\":1,\"memory\":1,\"started\":1}", (int)dead_pid());
	struct engine_vm vm = {.name = (char *)"dead",
			       .pid = getpid(),
			       .pid_start = state_pid_start_time(getpid()),
			       .cpus = 1};
	struct engine_vm *v = NULL;
	size_t n = 99;

	write_record(dir, "dead", dead);
	write_record(dir, "garbage", "not json");
	write_record(dir, "nopid", "{\"pid_start\":1,\"cpus\":1,\"memory\":1,\"started\":1}");
	write_record(dir, "negative",
		     "{\"pid\":-1,\"pid_start\":1,\"cpus\":1,\"memory\":1,\"started\":1}");
	write_record(dir, "huge",
		     "{\"pid\":99999999999,\"pid_start\":1,\"cpus\":1,\"memory\":1,"
		     "\"started\":1}");
	assert_int_equal(engine_vm_list(dir, &v, &n, &err), 0);
	assert_int_equal(n, 0);
	engine_vms_free(v, n);
	cleanup_free char *path = str_printf("%s/vms/dead.json", dir);
	assert_int_equal(access(path, F_OK), -1); /* removed by list */

	write_record(dir, "dead", dead);
	assert_int_equal(engine_vm_register(dir, &vm, &err), 0); /* taken over */
	assert_int_equal(engine_vm_list(dir, &v, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].name, "dead");
	engine_vms_free(v, n);

	assert_int_equal(engine_vm_stop(dir, "nosuch", 0, &err), -ENOENT);
	assert_int_equal(engine_vm_stop(dir, "garbage", 0, &err), -ENOENT);
	remove_state(dir);
}

/* vm stop: SIGTERM to a live monitor, and it is gone. */
static void test_stop(void **state)
{
	char *dir = make_state();
	struct error err = {0};
	int p[2];
	pid_t pid;

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		struct engine_vm vm = {.name = (char *)"child",
				       .pid = getpid(),
				       .pid_start = state_pid_start_time(getpid()),
				       .cpus = 1};
		char ok = engine_vm_register(dir, &vm, &err) == 0 ? 'y' : 'n';
		if (write(p[1], &ok, 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(p[1]);
	char ok = 0;
	assert_int_equal(read(p[0], &ok, 1), 1);
	close(p[0]);
	assert_int_equal(ok, 'y');
	assert_int_equal(engine_vm_stop(dir, "child", 5, &err), 0);
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
	remove_state(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pid_start_time),
	    cmocka_unit_test(test_register_list_unregister),
	    cmocka_unit_test(test_stale_and_bad_records),
	    cmocka_unit_test(test_stop),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
