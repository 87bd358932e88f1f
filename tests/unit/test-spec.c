/* Tests for runtime/spec.c: config.json parsing, validation errors, hostile input, defaults. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cmocka.h>

#include "runtime/spec.h"
#include "util/cleanup.h"

/* Test inputs use single quotes for JSON's double quotes. */
static char *dq(const char *s)
{
	char *d = strdup(s);
	assert_non_null(d);
	for (char *p = d; *p; p++)
		if (*p == '\'')
			*p = '"';
	return d;
}

static struct spec *parse_q(const char *s, struct error *err)
{
	cleanup_free char *j = dq(s);
	return spec_parse(j, strlen(j), err);
}

/* Asserts that s fails with EINVAL and a message containing want. */
static void expect_err(const char *s, const char *want)
{
	struct error err = {0};
	struct spec *spec = parse_q(s, &err);
	if (spec || !strstr(err.msg, want))
		fail_msg("input %s\n  want error containing: %s\n  got: %s", s, want,
			 spec ? "(success)" : err.msg);
	assert_int_equal(err.code, EINVAL);
}

#define MIN	"'ociVersion': '1.0.2', 'root': {'path': 'rootfs'}"
#define PROC(x) "{" MIN ", 'process': {'args': ['sh'], 'cwd': '/'" x "}}"
#define LNX(x)	"{" MIN ", 'linux': {" x "}}"
#define RES(x)	LNX("'resources': {" x "}")

static const char full[] =
    "{'ociVersion': '1.0.2', 'root': {'path': 'rootfs', 'readonly': true},"
    " 'hostname': 'box', 'domainname': 'example.org', 'futureKey': {'x': [1, 2.5]},"
    " 'process': {'terminal': true, 'consoleSize': {'height': 25, 'width': 80},"
    "  'user': {'uid': 1000, 'gid': 1001, 'umask': 18, 'additionalGids': [5, 6]},"
    "  'args': ['/bin/sh', '-c', 'echo hi'], 'env': ['PATH=/bin', 'A='], 'cwd': '/home',"
    "  'capabilities': {'bounding': ['CAP_CHOWN', 'CAP_SYS_ADMIN', 'CAP_FUTURE_THING'],"
    "   'effective': ['CAP_KILL'], 'inheritable': [], 'permitted': ['CAP_CHECKPOINT_RESTORE'],"
    "   'ambient': ['CAP_NET_RAW']},"
    "  'rlimits': [{'type': 'RLIMIT_NOFILE', 'soft': 1024, 'hard': 4096},"
    "   {'type': 'RLIMIT_CORE', 'soft': 0, 'hard': 18446744073709551615}],"
    "  'noNewPrivileges': true, 'oomScoreAdj': -500, 'apparmorProfile': 'prof',"
    "  'selinuxLabel': 'lbl'},"
    " 'mounts': [{'destination': '/proc', 'type': 'proc', 'source': 'proc'},"
    "  {'destination': '/data', 'type': 'bind', 'source': '/srv', 'options': ['ro', 'rprivate']},"
    "  {'destination': '/dev', 'type': 'tmpfs', 'options': ['nosuid', 'rw', 'mode=755',"
    "   'size=65536k', 'strictatime', 'exec', 'tmpcopyup']},"
    "  {'destination': '/x', 'source': '/y', 'options': ['rbind', 'ro', 'rw', 'rshared']}],"
    " 'hooks': {'prestart': [{'path': '/bin/true'}],"
    "  'poststop': [{'path': '/bin/hook', 'args': ['hook', 'a'], 'env': ['X=1'], 'timeout': 5}]},"
    " 'annotations': {'org.example.key': 'value'},"
    " 'linux': {'namespaces': [{'type': 'pid'}, {'type': 'network', 'path': '/proc/1/ns/net'},"
    "   {'type': 'mount'}, {'type': 'user'}, {'type': 'time'}],"
    "  'uidMappings': [{'containerID': 0, 'hostID': 100000, 'size': 65536}],"
    "  'gidMappings': [{'containerID': 0, 'hostID': 200000, 'size': 1}],"
    "  'devices': [{'path': '/dev/fuse', 'type': 'c', 'major': 10, 'minor': 229,"
    "   'fileMode': 438, 'uid': 0, 'gid': 0}, {'path': '/dev/fifo', 'type': 'p'}],"
    "  'maskedPaths': ['/proc/kcore'], 'readonlyPaths': ['/proc/sys', '/proc/bus'],"
    "  'sysctl': {'net.ipv4.ip_forward': '1'}, 'cgroupsPath': '/vessel/c1',"
    "  'rootfsPropagation': 'rslave',"
    "  'resources': {'memory': {'limit': 536870912, 'swap': -1, 'disableOOMKiller': true},"
    "   'cpu': {'shares': 512, 'quota': 50000, 'period': 100000, 'cpus': '0-1', 'mems': '0'},"
    "   'pids': {'limit': 100}, 'blockIO': {'weight': 500},"
    "   'hugepageLimits': [{'pageSize': '2MB', 'limit': 1048576}],"
    "   'unified': {'memory.high': '1G'},"
    "   'devices': [{'allow': false, 'access': 'rwm'},"
    "    {'allow': true, 'type': 'c', 'major': 1, 'minor': 3, 'access': 'rw'}]},"
    "  'seccomp': {'defaultAction': 'SCMP_ACT_ALLOW', 'syscalls': []}}}";

static void test_full_process(const struct spec_process *p)
{
	assert_true(p->terminal);
	assert_int_equal(p->console_height, 25);
	assert_int_equal(p->console_width, 80);
	assert_int_equal(p->user.uid, 1000);
	assert_int_equal(p->user.gid, 1001);
	assert_true(p->user.has_umask);
	assert_int_equal(p->user.umask, 022);
	assert_int_equal(p->user.n_additional_gids, 2);
	assert_int_equal(p->user.additional_gids[1], 6);
	assert_string_equal(p->args[2], "echo hi");
	assert_null(p->args[3]);
	assert_string_equal(p->env[1], "A=");
	assert_string_equal(p->cwd, "/home");
	assert_true(p->has_caps);
	assert_int_equal(p->caps.bounding, (1ULL << 0) | (1ULL << 21));
	assert_int_equal(p->caps.effective, 1ULL << 5);
	assert_int_equal(p->caps.inheritable, 0);
	assert_int_equal(p->caps.permitted, 1ULL << 40);
	assert_int_equal(p->caps.ambient, 1ULL << 13);
	assert_int_equal(p->n_rlimits, 2);
	assert_int_equal(p->rlimits[0].resource, RLIMIT_NOFILE);
	assert_int_equal(p->rlimits[0].hard, 4096);
	assert_int_equal(p->rlimits[1].resource, RLIMIT_CORE);
	assert_true(p->rlimits[1].hard == UINT64_MAX);
	assert_true(p->no_new_privileges);
	assert_true(p->has_oom_score_adj);
	assert_int_equal(p->oom_score_adj, -500);
	assert_string_equal(p->apparmor_profile, "prof");
	assert_string_equal(p->selinux_label, "lbl");
}

static void test_full_mounts(const struct spec *s)
{
	assert_int_equal(s->n_mounts, 4);
	assert_string_equal(s->mounts[0].type, "proc");
	assert_string_equal(s->mounts[0].data, "");
	assert_int_equal(s->mounts[0].flags, 0);
	assert_int_equal(s->mounts[1].vflags, SPEC_MOUNT_BIND);
	assert_true(s->mounts[1].flags & MS_RDONLY);
	assert_int_equal(s->mounts[1].propagation, MS_PRIVATE | MS_REC);
	assert_string_equal(s->mounts[2].source, "");
	assert_int_equal(s->mounts[2].flags, MS_NOSUID | MS_STRICTATIME);
	assert_int_equal(s->mounts[2].clear_flags, MS_RDONLY | MS_NOEXEC);
	assert_int_equal(s->mounts[2].vflags, SPEC_MOUNT_TMPCOPYUP);
	assert_string_equal(s->mounts[2].data, "mode=755,size=65536k");
	assert_int_equal(s->mounts[3].vflags, SPEC_MOUNT_BIND | SPEC_MOUNT_RECURSIVE);
	assert_int_equal(s->mounts[3].flags, MS_BIND | MS_REC);
	assert_int_equal(s->mounts[3].clear_flags, MS_RDONLY);
	assert_int_equal(s->mounts[3].propagation, MS_SHARED | MS_REC);
}

static void test_full_linux(const struct spec *s)
{
	assert_true(s->namespaces[SPEC_NS_PID].present);
	assert_null(s->namespaces[SPEC_NS_PID].path);
	assert_string_equal(s->namespaces[SPEC_NS_NETWORK].path, "/proc/1/ns/net");
	assert_true(s->namespaces[SPEC_NS_TIME].present);
	assert_false(s->namespaces[SPEC_NS_IPC].present);
	assert_int_equal(s->n_uid_mappings, 1);
	assert_int_equal(s->uid_mappings[0].host_id, 100000);
	assert_int_equal(s->gid_mappings[0].host_id, 200000);
	assert_int_equal(s->n_devices, 2);
	assert_int_equal(s->devices[0].minor, 229);
	assert_int_equal(s->devices[0].file_mode, 0666);
	assert_true(s->devices[0].has_uid);
	assert_int_equal(s->devices[1].type, 'p');
	assert_false(s->devices[1].has_mode);
	assert_string_equal(s->masked_paths[0], "/proc/kcore");
	assert_null(s->masked_paths[1]);
	assert_string_equal(s->readonly_paths[1], "/proc/bus");
	assert_string_equal(s->sysctl[0].key, "net.ipv4.ip_forward");
	assert_string_equal(s->cgroups_path, "/vessel/c1");
	assert_int_equal(s->rootfs_propagation, MS_SLAVE | MS_REC);
	assert_non_null(strstr(s->seccomp_json, "\"defaultAction\":\"SCMP_ACT_ALLOW\""));
}

static void test_full_resources(const struct spec_resources *r)
{
	assert_int_equal(r->memory_limit, 536870912);
	assert_int_equal(r->memory_reservation, -1);
	assert_int_equal(r->memory_swap, -1);
	assert_true(r->disable_oom_killer);
	assert_int_equal(r->cpu_shares, 512);
	assert_int_equal(r->cpu_quota, 50000);
	assert_int_equal(r->cpu_period, 100000);
	assert_int_equal(r->cpu_realtime_runtime, -1);
	assert_string_equal(r->cpu_cpus, "0-1");
	assert_int_equal(r->pids_limit, 100);
	assert_int_equal(r->blkio_weight, 500);
	assert_string_equal(r->hugepage_limits[0].key, "2MB");
	assert_string_equal(r->hugepage_limits[0].value, "1048576");
	assert_string_equal(r->unified[0].value, "1G");
	assert_int_equal(r->n_devices, 2);
	assert_false(r->devices[0].allow);
	assert_int_equal(r->devices[0].type, 'a');
	assert_int_equal(r->devices[0].major, -1);
	assert_string_equal(r->devices[0].access, "rwm");
	assert_int_equal(r->devices[1].minor, 3);
	assert_string_equal(r->devices[1].access, "rw");
}

static void test_full(void **state)
{
	struct error err = {0};
	struct spec *s = parse_q(full, &err);

	if (!s)
		fail_msg("%s", err.msg);
	assert_string_equal(s->oci_version, "1.0.2");
	assert_string_equal(s->root_path, "rootfs");
	assert_true(s->root_readonly);
	assert_string_equal(s->hostname, "box");
	assert_string_equal(s->domainname, "example.org");
	assert_true(s->has_process);
	test_full_process(&s->process);
	test_full_mounts(s);
	assert_int_equal(s->hooks[SPEC_HOOK_PRESTART].n, 1);
	assert_null(s->hooks[SPEC_HOOK_PRESTART].v[0].args[0]);
	assert_int_equal(s->hooks[SPEC_HOOK_POSTSTOP].v[0].timeout, 5);
	assert_string_equal(s->hooks[SPEC_HOOK_POSTSTOP].v[0].args[1], "a");
	assert_int_equal(s->hooks[SPEC_HOOK_POSTSTART].n, 0);
	assert_string_equal(s->annotations[0].value, "value");
	test_full_linux(s);
	assert_true(s->has_resources);
	test_full_resources(&s->resources);
	assert_null(spec_free(s));
}

static void test_minimal(void **state)
{
	struct error err = {0};
	struct spec *s = parse_q("{" MIN ", 'hostname': null}", &err);

	assert_non_null(s);
	assert_false(s->has_process);
	assert_null(s->hostname);
	assert_non_null(s->masked_paths);
	assert_null(s->masked_paths[0]);
	assert_non_null(s->readonly_paths);
	assert_false(s->has_resources);
	assert_null(s->seccomp_json);
	assert_int_equal(s->resources.memory_limit, -1);
	spec_free(s);
	assert_null(spec_free(NULL));
}

static const struct {
	const char *json, *want;
} bad[] = {
    /* document */
    {"", "config.json: 1:1: unexpected end of data"},
    {"  \n ", "config.json: 2:2: unexpected end of data"},
    {"[]", "config.json: the top level must be a JSON object"},
    {"null", "the top level must be a JSON object"},
    {"'x'", "the top level must be a JSON object"},
    {"{\n  'a': 1,\n  'b' 2}", "config.json: 3:7: "},
    {"{'a': 1,}", "config.json: 1:9: "},
    {"{" MIN "} x", "config.json: 1:"},
    {"{'ociVersion': '1.0'", "config.json: 1:21: unexpected end of data"},
    /* top-level keys */
    {"{'root': {'path': 'r'}}", "config.json: ociVersion: is required"},
    {"{'ociVersion': '1'}", "config.json: root: is required"},
    {"{'ociVersion': '1', 'root': {}}", "config.json: root.path: is required"},
    {"{'ociVersion': '1', 'root': {'path': ''}}", "config.json: root.path: must not be empty"},
    {"{'ociVersion': 1, 'root': {'path': 'r'}}", "config.json: ociVersion: must be a string"},
    {"{'ociVersion': '1', 'root': 'r'}", "config.json: root: must be an object"},
    {"{'ociVersion': '1', 'root': {'path': 'r', 'readonly': 1}}",
     "root.readonly: must be a boolean"},
    {"{" MIN ", 'hostname': 5}", "config.json: hostname: must be a string"},
    {"{" MIN ", 'domainname': []}", "config.json: domainname: must be a string"},
    {"{" MIN ", 'process': []}", "config.json: process: must be an object"},
    {"{" MIN ", 'mounts': {}}", "config.json: mounts: must be an array"},
    {"{" MIN ", 'hooks': []}", "config.json: hooks: must be an object"},
    {"{" MIN ", 'annotations': ['a']}", "config.json: annotations: must be an object"},
    {"{" MIN ", 'annotations': {'a': 1}}", "config.json: annotations.a: must be a string"},
    {"{" MIN ", 'linux': 'x'}", "config.json: linux: must be an object"},
    /* process */
    {"{" MIN ", 'process': {'cwd': '/'}}",
     "config.json: process.args: must be a non-empty array of strings"},
    {PROC(", 'args': []"), "config.json: process.args: must be a non-empty array of strings"},
    {PROC(", 'args': 'sh'"), "config.json: process.args: must be a non-empty array of strings"},
    {PROC(", 'args': ['sh', 1]"), "config.json: process.args[1]: must be a string"},
    {PROC(", 'args': ['a\\u0000b']"), "config.json: process.args[0]: must not contain NUL"},
    {"{" MIN ", 'process': {'args': ['sh']}}", "config.json: process.cwd: is required"},
    {PROC(", 'cwd': 'home'"), "config.json: process.cwd: must be an absolute path"},
    {PROC(", 'env': ['NOEQUALS']"), "config.json: process.env[0]: must be KEY=VALUE"},
    {PROC(", 'terminal': 'yes'"), "process.terminal: must be a boolean"},
    {PROC(", 'consoleSize': {'height': -1}"), "process.consoleSize.height: out of range"},
    {PROC(", 'user': {'uid': 4294967296}"), "config.json: process.user.uid: out of range"},
    {PROC(", 'user': {'uid': 1.5}"), "config.json: process.user.uid: must be an integer"},
    {PROC(", 'user': {'uid': '1'}"), "config.json: process.user.uid: must be an integer"},
    {PROC(", 'user': {'umask': 512}"), "process.user.umask: out of range"},
    {PROC(", 'user': {'additionalGids': [1, -1]}"), "process.user.additionalGids[1]: out of range"},
    {PROC(", 'capabilities': {'bounding': [1]}"),
     "process.capabilities.bounding[0]: must be a string"},
    {PROC(", 'capabilities': {'ambient': 'CAP_KILL'}"),
     "process.capabilities.ambient: must be an array"},
    {PROC(", 'rlimits': [{'type': 'RLIMIT_FOO', 'soft': 1, 'hard': 1}]"),
     "config.json: process.rlimits[0].type: unknown rlimit \"RLIMIT_FOO\""},
    {PROC(", 'rlimits': [{'type': 'RLIMIT_NOFILE', 'soft': 2, 'hard': 1}]"),
     "process.rlimits[0].soft: greater than hard limit"},
    {PROC(", 'rlimits': [{'type': 'RLIMIT_NOFILE', 'soft': -1, 'hard': 1}]"),
     "process.rlimits[0].soft: out of range"},
    {PROC(", 'rlimits': [{'type': 'RLIMIT_NOFILE', 'soft': 1}]"),
     "process.rlimits[0].hard: is required"},
    {PROC(", 'rlimits': [{'type': 'RLIMIT_CPU', 'soft': 1, 'hard': 1}, {'type': 'RLIMIT_NOFILE', "
	  "'soft': 1, 'hard': 1}, {'type': 'RLIMIT_CPU', 'soft': 1, 'hard': 1}]"),
     "config.json: process.rlimits[2].type: duplicate rlimit"},
    {PROC(", 'rlimits': [5]"), "process.rlimits[0]: must be an object"},
    {PROC(", 'oomScoreAdj': 1001"), "config.json: process.oomScoreAdj: out of range (-1000..1000)"},
    {PROC(", 'oomScoreAdj': 99999999999999999999999"), "process.oomScoreAdj: out of range"},
    {PROC(", 'noNewPrivileges': 0"), "process.noNewPrivileges: must be a boolean"},
    {PROC(", 'apparmorProfile': {}"), "process.apparmorProfile: must be a string"},
    /* mounts */
    {"{" MIN ", 'mounts': [{'type': 'tmpfs'}]}", "config.json: mounts[0].destination: is required"},
    {"{" MIN ", 'mounts': [{'destination': '/a'}, {'destination': 'dev'}]}",
     "config.json: mounts[1].destination: must be an absolute path"},
    {"{" MIN ", 'mounts': [{'destination': '/a', 'options': 'ro'}]}",
     "mounts[0].options: must be an array of strings"},
    {"{" MIN ", 'mounts': [{'destination': '/a', 'source': '/\\u0000'}]}",
     "mounts[0].source: must not contain NUL"},
    /* hooks */
    {"{" MIN ", 'hooks': {'prestart': [{'args': []}]}}",
     "config.json: hooks.prestart[0].path: is required"},
    {"{" MIN ", 'hooks': {'poststop': [{'path': 'rel'}]}}",
     "hooks.poststop[0].path: must be an absolute path"},
    {"{" MIN ", 'hooks': {'createRuntime': [{'path': '/h', 'timeout': 0}]}}",
     "hooks.createRuntime[0].timeout: out of range"},
    {"{" MIN ", 'hooks': {'startContainer': {}}}", "hooks.startContainer: must be an array"},
    /* linux */
    {LNX("'namespaces': [{'type': 'pid'}, {'type': 'ipc'}, {'type': 'foo'}]"),
     "config.json: linux.namespaces[2].type: unknown namespace \"foo\""},
    {LNX("'namespaces': [{'type': 'pid'}, {'type': 'uts'}, {'type': 'pid'}]"),
     "config.json: linux.namespaces[2].type: duplicate namespace \"pid\""},
    {LNX("'namespaces': [{'path': '/x'}]"), "linux.namespaces[0].type: is required"},
    {LNX("'namespaces': [{'type': 'net', 'path': 'x'}]"),
     "linux.namespaces[0].type: unknown namespace"},
    {LNX("'namespaces': [{'type': 'network', 'path': 'x'}]"),
     "linux.namespaces[0].path: must be an absolute path"},
    {LNX("'namespaces': {}"), "linux.namespaces: must be an array"},
    {LNX("'uidMappings': [{'containerID': 0, 'hostID': 1}]"),
     "linux.uidMappings[0].size: is required"},
    {LNX("'gidMappings': [{'containerID': 0, 'hostID': -1, 'size': 1}]"),
     "linux.gidMappings[0].hostID: out of range"},
    {LNX("'devices': [{'path': '/dev/x', 'type': 'x'}]"),
     "linux.devices[0].type: must be one of c, b, u, p"},
    {LNX("'devices': [{'path': '/dev/x', 'type': 'c', 'major': 1}]"),
     "linux.devices[0].minor: is required for type c"},
    {LNX("'devices': [{'path': 'dev/x', 'type': 'p'}]"),
     "linux.devices[0].path: must be an absolute path"},
    {LNX("'maskedPaths': ['/a', 'b']"),
     "config.json: linux.maskedPaths[1]: must be an absolute path"},
    {LNX("'readonlyPaths': [true]"), "linux.readonlyPaths[0]: must be a string"},
    {LNX("'sysctl': {'a': 1}"), "linux.sysctl.a: must be a string"},
    {LNX("'cgroupsPath': 1"), "linux.cgroupsPath: must be a string"},
    {LNX("'rootfsPropagation': 'sideways'"),
     "linux.rootfsPropagation: unknown propagation \"sideways\""},
    {LNX("'seccomp': []"), "linux.seccomp: must be an object"},
    {RES("'memory': {'limit': -2}"), "config.json: linux.resources.memory.limit: out of range"},
    {RES("'memory': {'limit': 99999999999999999999}"),
     "linux.resources.memory.limit: out of range"},
    {RES("'memory': {'swap': 1.0}"), "linux.resources.memory.swap: must be an integer"},
    {RES("'cpu': {'period': 0}"), "linux.resources.cpu.period: out of range"},
    {RES("'cpu': {'cpus': '0-3;rm'}"), "linux.resources.cpu.cpus: must be a CPU list"},
    {RES("'pids': {'limit': '5'}"), "linux.resources.pids.limit: must be an integer"},
    {RES("'blockIO': {'weight': 5}"), "linux.resources.blockIO.weight: out of range (10..1000)"},
    {RES("'hugepageLimits': [{'pageSize': '2XB', 'limit': 1}]"),
     "linux.resources.hugepageLimits[0].pageSize: must be like 2MB"},
    {RES("'unified': {'../../x': '1'}"), "linux.resources.unified.../../x: not a file name"},
    {RES("'devices': [{'access': 'r'}]"), "linux.resources.devices[0].allow: is required"},
    {RES("'devices': [{'allow': true, 'access': 'rwx'}]"),
     "linux.resources.devices[0].access: must be a subset"},
    {RES("'devices': [{'allow': true, 'access': 'rr'}]"),
     "linux.resources.devices[0].access: must be a subset"},
    {RES("'devices': [{'allow': true, 'type': 'p'}]"),
     "linux.resources.devices[0].type: must be one of a, b, c"},
    {RES("'memory': []"), "linux.resources.memory: must be an object"},
};

static void test_bad(void **state)
{
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		expect_err(bad[i].json, bad[i].want);
}

static void test_nesting(void **state)
{
	size_t n = 100000;
	char *deep = malloc(2 * n + 64);
	struct error err = {0};

	assert_non_null(deep);
	memset(deep, '[', n);
	memset(deep + n, ']', n);
	assert_null(spec_parse(deep, 2 * n, &err));
	assert_int_equal(err.code, EINVAL);
	assert_non_null(strstr(err.msg, "config.json: 1:"));
	/* nested under a key the parser ignores, just past the depth limit */
	int k = sprintf(deep, "{'ociVersion': '1', 'root': {'path': 'r'}, 'x': ");
	memset(deep + k, '[', 70);
	memset(deep + k + 70, ']', 70);
	strcpy(deep + k + 140, "}");
	for (char *p = deep; *p; p++)
		if (*p == '\'')
			*p = '"';
	assert_null(spec_parse(deep, strlen(deep), &err));
	assert_non_null(strstr(err.msg, "nesting too deep"));
	free(deep);
}

/* Every strict prefix of a valid document fails cleanly (and leaks nothing under ASan). */
static void test_truncated(void **state)
{
	cleanup_free char *j = dq(full);
	size_t len = strlen(j);
	struct error err = {0};

	for (size_t i = 0; i < len; i++) {
		struct spec *s = spec_parse(j, i, &err);
		if (s)
			fail_msg("prefix of %zu bytes parsed", i);
		assert_non_null(strstr(err.msg, "config.json: "));
	}
	struct spec *s = spec_parse(j, len, &err);
	assert_non_null(s);
	spec_free(s);
}

/* Every error path inside the full document: corrupt each value in turn. */
static void test_corrupt_each_value(void **state)
{
	cleanup_free char *j = dq(full);
	size_t len = strlen(j);
	struct error err = {0};
	int failures = 0;

	for (size_t i = 0; i < len; i++) {
		if (j[i] != ':' && j[i] != '[' && j[i] != ',')
			continue;
		char *m = malloc(len + 16);
		assert_non_null(m);
		memcpy(m, j, i + 1);
		int n = sprintf(m + i + 1, " {},");
		memcpy(m + i + 1 + n, j + i + 1, len - i);
		struct spec *s = spec_parse(m, strlen(m), &err);
		failures += !s;
		spec_free(s);
		free(m);
	}
	assert_true(failures > 50);
}

static void test_raw_nul(void **state)
{
	const char in[] = "{\"ociVersion\": \"1\0\", \"root\": {\"path\": \"r\"}}";
	const char tail[] = "{\"ociVersion\": \"1\", \"root\": {\"path\": \"r\"}}\0";
	struct error err = {0};

	assert_null(spec_parse(in, sizeof(in) - 1, &err));
	assert_int_equal(err.code, EINVAL);
	assert_null(spec_parse(tail, sizeof(tail) - 1, &err));
	assert_non_null(strstr(err.msg, "unexpected data after"));
	struct spec *s = spec_parse(tail, sizeof(tail) - 2, &err);
	assert_non_null(s);
	spec_free(s);
}

static void test_unknown_caps_and_keys(void **state)
{
	struct error err = {0};
	struct spec *s = parse_q(
	    PROC(", 'capabilities': {'bounding': ['CAP_NOPE', 'CAP_KILL']}, 'future': 1"), &err);

	assert_non_null(s);
	assert_int_equal(s->process.caps.bounding, 1ULL << 5);
	assert_non_null(s->process.env);
	assert_null(s->process.env[0]);
	assert_false(s->process.has_oom_score_adj);
	spec_free(s);
}

static void check_default(const struct spec *s, bool rootless)
{
	assert_string_equal(s->oci_version, "1.0.2-dev");
	assert_string_equal(s->root_path, "rootfs");
	assert_true(s->root_readonly);
	assert_string_equal(s->hostname, "vessel");
	assert_string_equal(s->process.args[0], "sh");
	assert_null(s->process.args[1]);
	assert_string_equal(s->process.env[1], "TERM=xterm");
	assert_true(s->process.terminal);
	assert_true(s->process.no_new_privileges);
	assert_int_equal(__builtin_popcountll(s->process.caps.bounding), 14);
	assert_int_equal(s->process.caps.bounding, s->process.caps.permitted);
	assert_int_equal(s->process.caps.inheritable, 0);
	assert_int_equal(s->process.rlimits[0].soft, 1024);
	assert_int_equal(s->n_mounts, 7);
	assert_string_equal(s->mounts[2].destination, "/dev/pts");
	assert_int_equal(s->mounts[2].flags, MS_NOSUID | MS_NOEXEC);
	assert_string_equal(s->mounts[2].data, rootless
						   ? "newinstance,ptmxmode=0666,mode=0620"
						   : "newinstance,ptmxmode=0666,mode=0620,gid=5");
	assert_string_equal(s->mounts[5].destination, "/sys");
	assert_int_equal(!!(s->mounts[5].vflags & SPEC_MOUNT_BIND), rootless);
	assert_true(s->mounts[5].flags & MS_RDONLY);
	assert_true(s->namespaces[SPEC_NS_PID].present && s->namespaces[SPEC_NS_MOUNT].present);
	assert_true(s->namespaces[SPEC_NS_CGROUP].present);
	assert_int_equal(s->namespaces[SPEC_NS_NETWORK].present, !rootless);
	assert_int_equal(s->namespaces[SPEC_NS_USER].present, rootless);
	assert_string_equal(s->masked_paths[0], "/proc/acpi");
	assert_string_equal(s->readonly_paths[4], "/proc/sysrq-trigger");
}

static void test_default(void **state)
{
	for (int rootless = 0; rootless < 2; rootless++) {
		struct error err = {0};
		cleanup_free char *j = spec_default_json(rootless, &err);
		assert_non_null(j);
		assert_non_null(strstr(j, "\n  \"ociVersion\": \"1.0.2-dev\""));
		assert_non_null(strstr(j, "\"PATH=/usr/local/sbin:/usr/local/bin:"));
		assert_null(strstr(j, "\\/"));
		struct spec *s = spec_parse(j, strlen(j), &err);
		if (!s)
			fail_msg("%s", err.msg);
		check_default(s, rootless);
		if (rootless) {
			assert_int_equal(s->n_uid_mappings, 1);
			assert_int_equal(s->uid_mappings[0].host_id, getuid());
			assert_int_equal(s->uid_mappings[0].container_id, 0);
			assert_int_equal(s->gid_mappings[0].host_id, getgid());
			assert_false(s->has_resources);
		} else {
			assert_int_equal(s->n_uid_mappings, 0);
			assert_int_equal(s->resources.n_devices, 1);
		}
		spec_free(s);
	}
}

static void test_process(void **state)
{
	struct error err = {0};
	struct spec_process p;
	cleanup_free char *ok = dq("{'args': ['ls', '-l'], 'cwd': '/tmp', 'env': ['A=1'],"
				   " 'user': {'uid': 7}}");
	cleanup_free char *bad_args = dq("{'args': [], 'cwd': '/'}");
	cleanup_free char *bad_cwd = dq("{'args': ['x'], 'cwd': 'rel'}");

	assert_int_equal(spec_parse_process(ok, strlen(ok), &p, &err), 0);
	assert_string_equal(p.args[1], "-l");
	assert_int_equal(p.user.uid, 7);
	spec_process_clear(&p);
	assert_null(p.args);
	assert_int_equal(spec_parse_process(bad_args, strlen(bad_args), &p, &err), -EINVAL);
	assert_string_equal(err.msg, "process: args: must be a non-empty array of strings");
	assert_null(p.args);
	assert_int_equal(spec_parse_process(bad_cwd, strlen(bad_cwd), &p, &err), -EINVAL);
	assert_string_equal(err.msg, "process: cwd: must be an absolute path");
	assert_null(p.args);
	assert_int_equal(spec_parse_process("[1]", 3, &p, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "process: the top level must be"));
	assert_int_equal(spec_parse_process("{", 1, &p, &err), -EINVAL);
	assert_string_equal(err.msg, "process: 1:2: unexpected end of data");
}

static void test_load(void **state)
{
	char dir[] = "/tmp/test-spec-XXXXXX", path[64];
	struct error err = {0};
	cleanup_free char *j = dq("{" MIN "}");

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/config.json", dir);
	FILE *f = fopen(path, "we");
	assert_non_null(f);
	fputs(j, f);
	fclose(f);
	struct spec *s = spec_load(path, &err);
	assert_non_null(s);
	assert_string_equal(s->root_path, "rootfs");
	spec_free(s);

	f = fopen(path, "we");
	assert_non_null(f);
	for (int i = 0; i < (4 << 20) + 1; i++)
		fputc(' ', f);
	fclose(f);
	assert_null(spec_load(path, &err));
	assert_int_equal(err.code, EFBIG);

	f = fopen(path, "we");
	assert_non_null(f);
	fclose(f);
	assert_null(spec_load(path, &err));
	assert_non_null(strstr(err.msg, "config.json: 1:1: unexpected end of data"));
	unlink(path);
	rmdir(dir);

	assert_null(spec_load("/nonexistent/config.json", &err));
	assert_int_equal(err.code, ENOENT);
	assert_non_null(strstr(err.msg, "open /nonexistent/config.json"));
}

static void test_ns_name(void **state)
{
	assert_string_equal(spec_ns_name(SPEC_NS_NETWORK), "network");
	assert_string_equal(spec_ns_name(SPEC_NS_TIME), "time");
	assert_null(spec_ns_name(SPEC_NS_MAX));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_full),      cmocka_unit_test(test_minimal),
	    cmocka_unit_test(test_bad),	      cmocka_unit_test(test_nesting),
	    cmocka_unit_test(test_truncated), cmocka_unit_test(test_corrupt_each_value),
	    cmocka_unit_test(test_raw_nul),   cmocka_unit_test(test_unknown_caps_and_keys),
	    cmocka_unit_test(test_default),   cmocka_unit_test(test_process),
	    cmocka_unit_test(test_load),      cmocka_unit_test(test_ns_name),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
