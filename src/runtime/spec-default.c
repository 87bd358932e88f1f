/* spec-default: the config.json that `spec` writes: runc's shape, Docker's 14 capabilities,
 * the standard mounts, masked and read-only paths, and Vessel's default seccomp profile. */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "runtime/seccomp.h"
#include "runtime/spec.h"
#include "util/cleanup.h"

#define DEFAULT_CAPS                                                                               \
	"['CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', "              \
	"'CAP_NET_RAW', 'CAP_SETGID', 'CAP_SETUID', 'CAP_SETFCAP', 'CAP_SETPCAP', "                \
	"'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE']"

/* Single quotes stand for double quotes. %s: devpts gid option, /sys mount, id mappings,
 * network namespace, user namespace, resources. */
#define DEFAULT_TMPL                                                                               \
	"{'ociVersion': '1.0.2-dev', 'process': {'terminal': true, 'user': {'uid': 0, 'gid': 0},"  \
	" 'args': ['sh'], 'env': ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:"  \
	"/bin', 'TERM=xterm'], 'cwd': '/', 'capabilities': {'bounding': " DEFAULT_CAPS ","         \
	" 'effective': " DEFAULT_CAPS ", 'permitted': " DEFAULT_CAPS "},"                          \
	" 'rlimits': [{'type': 'RLIMIT_NOFILE', 'hard': 1024, 'soft': 1024}],"                     \
	" 'noNewPrivileges': true}, 'root': {'path': 'rootfs', 'readonly': true},"                 \
	" 'hostname': 'vessel', 'mounts': ["                                                       \
	"{'destination': '/proc', 'type': 'proc', 'source': 'proc'},"                              \
	"{'destination': '/dev', 'type': 'tmpfs', 'source': 'tmpfs',"                              \
	" 'options': ['nosuid', 'strictatime', 'mode=755', 'size=65536k']},"                       \
	"{'destination': '/dev/pts', 'type': 'devpts', 'source': 'devpts', 'options': ['nosuid',"  \
	" 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620'%s]},"                              \
	"{'destination': '/dev/shm', 'type': 'tmpfs', 'source': 'shm',"                            \
	" 'options': ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k']},"                  \
	"{'destination': '/dev/mqueue', 'type': 'mqueue', 'source': 'mqueue',"                     \
	" 'options': ['nosuid', 'noexec', 'nodev']}, %s,"                                          \
	"{'destination': '/sys/fs/cgroup', 'type': 'cgroup', 'source': 'cgroup',"                  \
	" 'options': ['nosuid', 'noexec', 'nodev', 'relatime', 'ro']}],"                           \
	" 'linux': {%s'namespaces': [{'type': 'pid'}, %s{'type': 'ipc'}, {'type': 'uts'},"         \
	" {'type': 'mount'}, {'type': 'cgroup'}%s], %s"                                            \
	" 'maskedPaths': ['/proc/acpi', '/proc/asound', '/proc/kcore', '/proc/keys',"              \
	" '/proc/latency_stats', '/proc/timer_list', '/proc/timer_stats', '/proc/sched_debug',"    \
	" '/sys/firmware', '/proc/scsi'], 'readonlyPaths': ['/proc/bus', '/proc/fs', '/proc/irq'," \
	" '/proc/sys', '/proc/sysrq-trigger']}}"

#define SYS_MOUNT                                                                                  \
	"{'destination': '/sys', 'type': 'sysfs', 'source': 'sysfs',"                              \
	" 'options': ['nosuid', 'noexec', 'nodev', 'ro']}"
#define SYS_BIND_MOUNT                                                                             \
	"{'destination': '/sys', 'type': 'none', 'source': '/sys',"                                \
	" 'options': ['rbind', 'nosuid', 'noexec', 'nodev', 'ro']}"
#define ID_MAPPINGS                                                                                \
	"'uidMappings': [{'containerID': 0, 'hostID': %u, 'size': 1}],"                            \
	" 'gidMappings': [{'containerID': 0, 'hostID': %u, 'size': 1}], "

/* linux.seccomp: Vessel's default profile (runtime/seccomp-default.c). */
static void add_default_seccomp(json_object *o)
{
	cleanup_free char *profile = seccomp_default_json();
	json_object *lx, *sc = profile ? json_tokener_parse(profile) : NULL;

	if (sc && json_object_object_get_ex(o, "linux", &lx))
		json_object_object_add(lx, "seccomp", sc);
	else
		json_object_put(sc);
}

char *spec_default_json(bool rootless, struct error *err)
{
	cleanup_free char *tmpl = NULL;
	char maps[256] = "";
	json_object *o;
	char *out;

	if (rootless)
		snprintf(maps, sizeof(maps), ID_MAPPINGS, (unsigned)getuid(), (unsigned)getgid());
	if (asprintf(&tmpl, DEFAULT_TMPL, rootless ? "" : ", 'gid=5'",
		     rootless ? SYS_BIND_MOUNT : SYS_MOUNT, maps,
		     rootless ? "" : "{'type': 'network'}, ", rootless ? ", {'type': 'user'}" : "",
		     rootless
			 ? ""
			 : "'resources': {'devices': [{'allow': false, 'access': 'rwm'}]},") < 0) {
		tmpl = NULL;
		error_set(err, ENOMEM, "spec: out of memory");
		return NULL;
	}
	for (char *p = tmpl; *p; p++)
		if (*p == '\'')
			*p = '"';
	o = json_tokener_parse(tmpl);
	if (!o) {
		error_set(err, EINVAL, "spec: internal error: bad default template");
		return NULL;
	}
	add_default_seccomp(o);
	out = NULL;
	if (asprintf(&out, "%s\n",
		     json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
							   JSON_C_TO_STRING_SPACED |
							   JSON_C_TO_STRING_NOSLASHESCAPE)) < 0)
		out = NULL;
	json_object_put(o);
	if (!out)
		error_set(err, ENOMEM, "spec: out of memory");
	return out;
}
