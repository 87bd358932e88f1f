/* seccomp-agent: see seccomp-agent.h */
#include "runtime/seccomp-agent.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/console.h"
#include "util/fd.h"

int seccomp_agent_connect(const struct seccomp_prog *p, int *ret_sock, struct error *err)
{
	*ret_sock = -1;
	if (!p || !seccomp_has_notify(p))
		return 0;
	int fd = console_connect(seccomp_listener_path(p), err);
	if (fd < 0)
		return error_wrap(err, "linux.seccomp.listenerPath");
	*ret_sock = fd;
	return 0;
}

static char *process_state(const char *state_json, pid_t pid, const char *metadata)
{
	json_object *o = json_object_new_object();
	json_object *fds = json_object_new_array();
	json_object *st = json_tokener_parse(state_json);

	json_object_array_add(fds, json_object_new_string("seccompFd"));
	json_object_object_add(o, "ociVersion", json_object_new_string("1.0.2"));
	json_object_object_add(o, "fds", fds);
	json_object_object_add(o, "pid", json_object_new_int(pid));
	json_object_object_add(o, "metadata", json_object_new_string(metadata ? metadata : ""));
	json_object_object_add(o, "state", st ? st : json_object_new_object());
	char *ret = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	return ret;
}

int seccomp_agent_install(struct seccomp_prog *p, int agent_sock, const char *state_json, pid_t pid,
			  struct error *err)
{
	int listener = -1;
	int r = seccomp_install(p, seccomp_has_notify(p) ? &listener : NULL, err);

	if (r < 0)
		return error_wrap(err, "linux.seccomp");
	if (listener < 0)
		return 0;
	char *msg = process_state(state_json, pid, seccomp_listener_metadata(p));
	r = msg ? fd_send_with(agent_sock, listener, msg, strlen(msg), err)
		: error_set(err, ENOMEM, "out of memory");
	free(msg);
	close(listener);
	return r < 0 ? error_wrap(err, "linux.seccomp.listenerPath") : 0;
}
