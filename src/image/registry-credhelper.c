/* registry-credhelper: credentials from Docker credential helpers.
 *
 * The protocol of docker-credential-helpers: "docker-credential-NAME get" reads the server on
 * stdin and prints {"ServerURL", "Username", "Secret"}; a helper without credentials for the
 * server exits non-zero saying "credentials not found". The helper is found in $PATH; its
 * name is checked so that a config file cannot point at another program by path.
 */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <openssl/evp.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "image/json-read.h"
#include "image/registry.h"
#include "util/cleanup.h"
#include "util/fd.h"
#include "util/spawn.h"
#include "util/str.h"

#define HELPER_PREFIX	  "docker-credential-"
#define HELPER_NAME_MAX	  128
#define HELPER_OUTPUT_MAX (64u << 10)
#define HELPER_TIMEOUT_MS 30000
#define SECRET_MAX	  4096
#define NOT_FOUND	  "credentials not found"

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool valid_name(const char *name)
{
	size_t n =
	    strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-");

	return n > 0 && n <= HELPER_NAME_MAX && name[n] == '\0' && name[0] != '.';
}

/* Reads fd to its end (at most HELPER_OUTPUT_MAX bytes) before the deadline. */
static int read_output(int fd, int64_t deadline, char *buf, size_t *len, struct error *err)
{
	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		int64_t left = deadline - now_ms();
		ssize_t n;

		if (left <= 0)
			return error_set(err, ETIMEDOUT, "no answer within %d s",
					 HELPER_TIMEOUT_MS / 1000);
		if (poll(&pfd, 1, (int)left) < 0 && errno != EINTR)
			return error_errno(err, "poll");
		if (pfd.revents == 0)
			continue;
		n = read(fd, buf + *len, HELPER_OUTPUT_MAX - *len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return error_errno(err, "read");
		if (n == 0)
			return 0;
		*len += (size_t)n;
		if (*len == HELPER_OUTPUT_MAX)
			return error_set(err, EFBIG, "more than %u bytes of output",
					 HELPER_OUTPUT_MAX);
	}
}

/* The helper's stdin: the server, written before it starts (a pipe holds it, and nobody can
 * close the reading end on us). */
static int stdin_with(const char *server, int *ret_fd, struct error *err)
{
	int p[2];
	int r;

	if (pipe2(p, O_CLOEXEC) < 0)
		return error_errno(err, "pipe");
	r = fd_write_all(p[1], server, strlen(server));
	close(p[1]);
	if (r < 0) {
		close(p[0]);
		return error_set(err, -r, "write: %s", strerror(-r));
	}
	*ret_fd = p[0];
	return 0;
}

/* Runs "prog get"; its output in buf (HELPER_OUTPUT_MAX + 1 bytes), its wait status. */
static int run_helper(const char *prog, const char *server, char *buf, size_t *len, int *ret_status,
		      struct error *err)
{
	char *argv[] = {(char *)prog, (char *)"get", NULL};
	cleanup_fd int in = -1, out_r = -1, out_w = -1;
	pid_t pid = -1;
	int p[2], r;

	r = stdin_with(server, &in, err);
	if (r < 0)
		return r;
	if (pipe2(p, O_CLOEXEC) < 0)
		return error_errno(err, "pipe");
	out_r = p[0];
	out_w = p[1];
	r = spawn_clean(prog, argv,
			&(struct spawn_io){.in_fd = in, .out_fd = out_w, .search_path = true},
			&pid);
	if (r < 0)
		return error_set(err, -r, "%s", r == -ENOENT ? "not found in $PATH" : strerror(-r));
	close(TAKE_FD(out_w));
	r = read_output(out_r, now_ms() + HELPER_TIMEOUT_MS, buf, len, err);
	buf[*len] = '\0';
	if (r < 0)
		kill(pid, SIGKILL);
	while (waitpid(pid, ret_status, 0) < 0)
		if (errno != EINTR)
			return r < 0 ? r : error_errno(err, "wait");
	return r;
}

/* base64 of "user:secret" into *ret (owned). */
static int encode_basic(const char *user, const char *secret, char **ret, struct error *err)
{
	cleanup_free char *plain = str_printf("%s:%s", user, secret);
	size_t n = plain ? strlen(plain) : 0;
	char *b64 = plain ? malloc(4 * ((n + 2) / 3) + 1) : NULL;

	if (!b64)
		return error_set(err, ENOMEM, "out of memory");
	EVP_EncodeBlock((unsigned char *)b64, (const unsigned char *)plain, (int)n);
	explicit_bzero(plain, n);
	*ret = b64;
	return 0;
}

int image_registry_credhelper_parse(const char *text, size_t len, char **ret_auth,
				    struct error *err)
{
	cleanup_json struct json_object *doc = NULL;
	cleanup_free char *user = NULL, *secret = NULL;
	int r;

	*ret_auth = NULL;
	r = image_json_parse(text, len, HELPER_OUTPUT_MAX, &doc, err);
	if (r == 0)
		r = image_json_string(doc, "", "Username", true, &user, err);
	if (r == 0)
		r = image_json_string(doc, "", "Secret", true, &secret, err);
	if (r < 0)
		return r;
	if (!strcmp(user, "<token>"))
		return error_set(err, ENOTSUP, "an identity token, which is not supported");
	if (!*user || strchr(user, ':') || !*secret || strlen(secret) > SECRET_MAX)
		return error_set(err, EINVAL, "Username or Secret: empty, too long or with ':'");
	r = encode_basic(user, secret, ret_auth, err);
	explicit_bzero(secret, strlen(secret));
	return r;
}

/* The first line of what a failed helper said, for the message. */
static const char *first_line(char *buf)
{
	buf[strcspn(buf, "\r\n")] = '\0';
	return *buf ? buf : "(no output)";
}

int image_registry_credhelper_get(const char *helper, const char *server, char **ret_auth,
				  struct error *err)
{
	cleanup_free char *prog = NULL, *buf = NULL;
	size_t len = 0;
	int status = 0, r;

	*ret_auth = NULL;
	if (!valid_name(helper))
		return error_set(err, EINVAL, "credential helper \"%.128s\": not a valid name",
				 helper);
	prog = str_printf(HELPER_PREFIX "%s", helper);
	buf = malloc(HELPER_OUTPUT_MAX + 1);
	if (!prog || !buf)
		return error_set(err, ENOMEM, "out of memory");
	r = run_helper(prog, server, buf, &len, &status, err);
	if (r == 0 && WIFEXITED(status) && WEXITSTATUS(status) != 0 && strstr(buf, NOT_FOUND))
		r = 0; /* no credentials for this server: anonymous, as docker does */
	else if (r == 0 && (!WIFEXITED(status) || WEXITSTATUS(status) != 0))
		r = error_set(err, EACCES, "get %s failed (%s %d): %.200s", server,
			      WIFEXITED(status) ? "exit status" : "signal",
			      WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status),
			      first_line(buf));
	else if (r == 0)
		r = image_registry_credhelper_parse(buf, len, ret_auth, err);
	explicit_bzero(buf, len);
	return r < 0 ? error_wrap(err, "credential helper %s", prog) : 0;
}
