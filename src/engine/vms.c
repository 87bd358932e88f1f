/* vms: see vms.h */
#include "engine/vms.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "runtime/state.h"
#include "util/cleanup.h"
#include "util/fd.h"
#include "util/fs.h"
#include "util/str.h"

static char *record_path(const char *state, const char *name)
{
	return str_printf("%s/vms/%s.json", state, name);
}

static int check_name(const char *name, struct error *err)
{
	size_t n = strlen(name);

	if (n == 0 || n > 64 || name[0] == '.' ||
	    strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != n)
		return error_set(err, EINVAL, "--name \"%.40s\": use letters, digits, _ . -", name);
	return 0;
}

/* The value of "key": in a record engine_vm_register wrote (a flat object of integers, so no
 * JSON library: vessel-vmm links none); false when it is missing or out of 0..max. */
static bool field(const char *text, const char *key, uint64_t max, uint64_t *ret)
{
	char pat[32];
	const char *p;
	char *end;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	p = strstr(text, pat);
	if (!p || !isdigit((unsigned char)p[strlen(pat)]))
		return false;
	errno = 0;
	*ret = strtoull(p + strlen(pat), &end, 10);
	return errno == 0 && *ret <= max;
}

static int load(const char *path, const char *name, struct engine_vm *ret)
{
	cleanup_free char *text = NULL;
	struct error ignored;
	uint64_t pid, start, cpus, memory, started;
	size_t len;

	*ret = (struct engine_vm){0};
	if (fd_read_file(path, 65536, &text, &len, &ignored) < 0 ||
	    !field(text, "pid", INT32_MAX, &pid) || !field(text, "pid_start", UINT64_MAX, &start) ||
	    !field(text, "cpus", UINT32_MAX, &cpus) || !field(text, "memory", INT64_MAX, &memory) ||
	    !field(text, "started", INT64_MAX, &started))
		return -ENOENT;
	*ret = (struct engine_vm){
	    .pid = (pid_t)pid,
	    .pid_start = start,
	    .cpus = (unsigned)cpus,
	    .memory = (int64_t)memory,
	    .started = (int64_t)started,
	    .name = strdup(name),
	};
	return ret->name ? 0 : -ENOMEM;
}

static bool alive(const struct engine_vm *v)
{
	return v->pid > 0 && state_pid_start_time(v->pid) == v->pid_start;
}

int engine_vm_register(const char *state, const struct engine_vm *vm, struct error *err)
{
	cleanup_free char *dir = str_printf("%s/vms", state);
	cleanup_free char *path = record_path(state, vm->name);
	struct engine_vm old;
	int r = check_name(vm->name, err);

	if (r < 0)
		return r;
	if (!dir || !path || fs_mkdir_p(dir, 0700) < 0)
		return error_set(err, EIO, "vm %s: cannot make %s/vms", vm->name, state);
	if (load(path, vm->name, &old) == 0) {
		bool taken = alive(&old);
		free(old.name);
		if (taken)
			return error_set(err, EEXIST, "vm name %s is already in use", vm->name);
		unlink(path); /* its monitor died: the name is free again */
	}
	cleanup_free char *text =
	    str_printf("{\"pid\":%d,\"pid_start\":%" PRIu64 ",\"cpus\":%u,\"memory\":%" PRId64
		       ",\"started\":%" PRId64 "}",
		       vm->pid, vm->pid_start, vm->cpus, vm->memory, vm->started);
	cleanup_fd int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	cleanup_free char *file = str_printf("%s.json", vm->name);
	if (!text || !file)
		return error_set(err, ENOMEM, "out of memory");
	r = dfd < 0 ? error_errno(err, "open %s", dir)
		    : fd_write_file_new(dfd, file, text, strlen(text), err);
	if (r == -EEXIST)
		return error_set(err, EEXIST, "vm name %s is already in use", vm->name);
	return r;
}

void engine_vm_unregister(const char *state, const char *name)
{
	cleanup_free char *path = record_path(state, name);

	if (path)
		unlink(path);
}

int engine_vm_list(const char *state, struct engine_vm **ret, size_t *ret_n, struct error *err)
{
	cleanup_free char *dir = str_printf("%s/vms", state);
	cleanup_dir DIR *d = dir ? opendir(dir) : NULL;
	struct engine_vm *v = NULL;
	size_t n = 0;

	for (struct dirent *e; d && (e = readdir(d));) {
		char *dot = strrchr(e->d_name, '.');
		if (e->d_name[0] == '.' || !dot || strcmp(dot, ".json"))
			continue;
		*dot = '\0';
		cleanup_free char *path = record_path(state, e->d_name);
		struct engine_vm vm;
		if (!path || load(path, e->d_name, &vm) < 0)
			continue;
		if (!alive(&vm)) {
			unlink(path);
			free(vm.name);
			continue;
		}
		struct engine_vm *nv = realloc(v, (n + 1) * sizeof(*v));
		if (!nv) {
			free(vm.name);
			engine_vms_free(v, n);
			return error_set(err, ENOMEM, "out of memory");
		}
		v = nv;
		v[n++] = vm;
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

void engine_vms_free(struct engine_vm *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i].name);
	free(v);
}

int engine_vm_stop(const char *state, const char *name, int grace_s, struct error *err)
{
	cleanup_free char *path = record_path(state, name);
	struct engine_vm vm;

	if (!path || check_name(name, err) < 0 || load(path, name, &vm) < 0)
		return error_set(err, ENOENT, "no such vm: %s", name);
	free(vm.name);
	if (!alive(&vm))
		return 0;
	kill(vm.pid, SIGTERM);
	for (int i = 0; i < grace_s * 50 && alive(&vm); i++)
		nanosleep(&(struct timespec){.tv_nsec = 20 * 1000 * 1000}, NULL);
	if (alive(&vm))
		kill(vm.pid, SIGKILL);
	return 0;
}
