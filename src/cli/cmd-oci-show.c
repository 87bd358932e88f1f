/* cmd-oci-show: the runc commands that only print: ps, list, spec, features. */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/oci.h"
#include "runtime/caps.h"
#include "runtime/spec.h"
#include "util/cleanup.h"
#include "util/fd.h"
#include "util/str.h"

static bool has_pid(const pid_t *pids, size_t n, long pid)
{
	for (size_t i = 0; i < n; i++) {
		if (pids[i] == pid)
			return true;
	}
	return false;
}

/* Runs `ps ARGS` and keeps the header and the lines of the container's pids, as runc does. */
static int ps_table(const struct cli_globals *g, struct args *a, const pid_t *pids, size_t n)
{
	cleanup_free char *cmd = str_printf("ps %s", a->n_pos > 1 ? "" : "-ef");
	int pidcol = -1;
	char line[4096];

	for (int i = 1; cmd && i < a->n_pos; i++) {
		char *next = str_printf("%s '%s'", cmd, a->pos[i]);
		free(cmd);
		cmd = next;
		if (strchr(a->pos[i], '\''))
			return oci_bad_usage(g, "ps", "quote in ps arguments");
	}
	if (!cmd)
		return 1;
	cleanup_file FILE *f = popen(cmd, "re");
	if (!f)
		return oci_bad_usage(g, "ps", "cannot run ps");
	for (bool header = true; fgets(line, sizeof(line), f); header = false) {
		if (header) {
			char copy[sizeof(line)], *save = NULL;
			strcpy(copy, line);
			int col = 0;
			for (char *t = strtok_r(copy, " \t\n", &save); t;
			     t = strtok_r(NULL, " \t\n", &save), col++) {
				if (!strcmp(t, "PID"))
					pidcol = col;
			}
			fputs(line, stdout);
			continue;
		}
		char copy[sizeof(line)], *save = NULL;
		strcpy(copy, line);
		char *t = strtok_r(copy, " \t\n", &save);
		for (int col = 0; t && col < pidcol; col++)
			t = strtok_r(NULL, " \t\n", &save);
		if (t && has_pid(pids, n, strtol(t, NULL, 10)))
			fputs(line, stdout);
	}
	int st = pclose(TAKE_PTR(f));
	return pidcol < 0 || st != 0 ? 1 : 0;
}

int cmd_ps(const struct cli_globals *g, struct args *a)
{
	cleanup_free pid_t *pids = NULL;
	struct error err;
	size_t n = 0;

	if (a->n_pos < 1)
		return oci_bad_usage(g, "ps", "missing container id");
	if (container_pids(g->root, a->c.id, &pids, &n, &err) < 0)
		return cli_fail(g, &err);
	if (strcmp(a->format, "json"))
		return ps_table(g, a, pids, n);
	json_object *arr = json_object_new_array();
	for (size_t i = 0; i < n; i++)
		json_object_array_add(arr, json_object_new_int(pids[i]));
	puts(json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PLAIN));
	json_object_put(arr);
	return 0;
}

static void list_json(const struct container_info *v, size_t n)
{
	json_object *arr = json_object_new_array();

	for (size_t i = 0; i < n; i++) {
		json_object *o = json_object_new_object();
		json_object_object_add(o, "ociVersion", json_object_new_string("1.0.2"));
		json_object_object_add(o, "id", json_object_new_string(v[i].id));
		json_object_object_add(o, "pid", json_object_new_int(v[i].pid));
		json_object_object_add(o, "status", json_object_new_string(v[i].status));
		json_object_object_add(o, "bundle", json_object_new_string(v[i].bundle));
		json_object_object_add(o, "rootfs", json_object_new_string(v[i].rootfs));
		json_object_object_add(o, "created", json_object_new_string(v[i].created));
		json_object_object_add(o, "owner",
				       json_object_new_string(v[i].owner ? "" : "root"));
		json_object_array_add(arr, o);
	}
	puts(json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PLAIN |
						     JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(arr);
}

int cmd_list(const struct cli_globals *g, struct args *a)
{
	struct container_info *v = NULL;
	struct error err;
	size_t n = 0;
	int w = 2;

	if (container_list(g->root, &v, &n, &err) < 0)
		return cli_fail(g, &err);
	if (!strcmp(a->format, "json")) {
		list_json(v, n);
	} else if (a->quiet) {
		for (size_t i = 0; i < n; i++)
			puts(v[i].id);
	} else {
		for (size_t i = 0; i < n; i++)
			w = (int)strlen(v[i].id) > w ? (int)strlen(v[i].id) : w;
		printf("%-*s   %-8s %-10s %-40s %-32s %s\n", w, "ID", "PID", "STATUS", "BUNDLE",
		       "CREATED", "OWNER");
		for (size_t i = 0; i < n; i++)
			printf("%-*s   %-8d %-10s %-40s %-32s %s\n", w, v[i].id, v[i].pid,
			       v[i].status, v[i].bundle, v[i].created, v[i].owner ? "" : "root");
	}
	container_list_free(v, n);
	return 0;
}

int cmd_spec(const struct cli_globals *g, struct args *a)
{
	struct error err;
	cleanup_free char *json = spec_default_json(a->rootless, &err);

	if (!json)
		return cli_fail(g, &err);
	cleanup_fd int dir =
	    open(a->c.bundle ? a->c.bundle : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0) {
		error_errno(&err, "spec: bundle %s", a->c.bundle ? a->c.bundle : ".");
		return cli_fail(g, &err);
	}
	if (faccessat(dir, "config.json", F_OK, 0) == 0) {
		error_set(&err, EEXIST, "spec: config.json exists; remove it first");
		return cli_fail(g, &err);
	}
	if (fd_write_file_atomic(dir, "config.json", json, strlen(json), &err) < 0)
		return cli_fail(g, &err);
	return 0;
}

static json_object *strings(const char *const *v, size_t n)
{
	json_object *arr = json_object_new_array();

	for (size_t i = 0; i < n; i++)
		json_object_array_add(arr, json_object_new_string(v[i]));
	return arr;
}

int cmd_features(const struct cli_globals *g, struct args *a)
{
	static const char *const hooks[] = {"prestart",	      "createRuntime", "createContainer",
					    "startContainer", "poststart",     "poststop"};
	static const char *const mount_opts[] = {
	    "async",	 "atime",     "bind",	     "dev",	      "diratime",
	    "exec",	 "mand",      "noatime",     "nodev",	      "nodiratime",
	    "noexec",	 "nomand",    "norelatime",  "nostrictatime", "nosuid",
	    "private",	 "rbind",     "relatime",    "remount",	      "ro",
	    "rprivate",	 "rshared",   "rslave",	     "runbindable",   "rw",
	    "shared",	 "slave",     "strictatime", "suid",	      "sync",
	    "tmpcopyup", "unbindable"};
	static const char *const nss[] = {"cgroup", "ipc",  "mount", "network",
					  "pid",    "time", "user",  "uts"};
	json_object *o = json_object_new_object(), *lx = json_object_new_object();
	json_object *caps = json_object_new_array(), *cg = json_object_new_object();

	json_object_object_add(o, "ociVersionMin", json_object_new_string("1.0.0"));
	json_object_object_add(o, "ociVersionMax", json_object_new_string("1.1.0"));
	json_object_object_add(o, "hooks", strings(hooks, ARRAY_SIZE(hooks)));
	json_object_object_add(o, "mountOptions", strings(mount_opts, ARRAY_SIZE(mount_opts)));
	json_object_object_add(lx, "namespaces", strings(nss, ARRAY_SIZE(nss)));
	for (int c = 0; c <= caps_last_cap(); c++) {
		if (caps_name(c))
			json_object_array_add(caps, json_object_new_string(caps_name(c)));
	}
	json_object_object_add(lx, "capabilities", caps);
	json_object_object_add(cg, "v1", json_object_new_boolean(1));
	json_object_object_add(cg, "v2", json_object_new_boolean(1));
	json_object_object_add(cg, "systemd", json_object_new_boolean(0));
	json_object_object_add(cg, "systemdUser", json_object_new_boolean(0));
	json_object_object_add(lx, "cgroup", cg);
	json_object_object_add(o, "linux", lx);
	int r = oci_print_json(json_object_to_json_string(o));
	json_object_put(o);
	return r;
}
