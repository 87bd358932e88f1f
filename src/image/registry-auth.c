/* registry-auth: WWW-Authenticate challenges, auth.json credentials and bearer tokens. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <json-c/json.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "image/json-read.h"
#include "image/registry-internal.h"
#include "util/cleanup.h"
#include "util/fd.h"
#include "util/str.h"

#define AUTH_FILE_MAX (1u << 20)
#define AUTH_MAX      4096

static bool is_tchar(char ch)
{
	return isalnum((unsigned char)ch) || (ch && strchr("!#$%&'*+.^_`|~-", ch));
}

static const char *skip_space(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* A token or a quoted-string into buf; returns the end or NULL with err set. */
static const char *param_value(const char *p, const char *name, char *buf, size_t size,
			       struct error *err)
{
	size_t n = 0;
	bool quoted = *p == '"';

	if (quoted)
		p++;
	for (; *p; p++) {
		char ch = *p;

		if (quoted && ch == '"')
			return p + 1;
		if (!quoted && (ch == ',' || ch == ' ' || ch == '\t'))
			break;
		if (quoted && ch == '\\' && p[1])
			ch = *++p;
		if ((unsigned char)ch < 0x20 || ch == 0x7f) {
			error_set(err, EINVAL, "challenge: %s: control character", name);
			return NULL;
		}
		if (n + 1 >= size) {
			error_set(err, EINVAL, "challenge: %s: longer than %zu bytes", name,
				  size - 1);
			return NULL;
		}
		buf[n++] = ch;
	}
	if (quoted) {
		error_set(err, EINVAL, "challenge: %s: unterminated quoted string", name);
		return NULL;
	}
	buf[n] = '\0';
	return p;
}

static char *param_slot(struct image_registry_challenge *c, const char *name, size_t *ret_size)
{
	static const struct {
		const char *name;
		size_t off, size;
	} slots[] = {
	    {"realm", offsetof(struct image_registry_challenge, realm),
	     sizeof(((struct image_registry_challenge *)0)->realm)},
	    {"service", offsetof(struct image_registry_challenge, service),
	     sizeof(((struct image_registry_challenge *)0)->service)},
	    {"scope", offsetof(struct image_registry_challenge, scope),
	     sizeof(((struct image_registry_challenge *)0)->scope)},
	};

	for (size_t i = 0; i < sizeof(slots) / sizeof(slots[0]); i++) {
		if (!strcasecmp(name, slots[i].name)) {
			*ret_size = slots[i].size;
			return (char *)c + slots[i].off;
		}
	}
	return NULL;
}

/* One name=value; returns the end, or NULL at the start of another challenge (no '='). */
static const char *auth_param(const char *p, struct image_registry_challenge *c, int *r,
			      struct error *err)
{
	char name[32], other[AUTH_MAX], *slot;
	size_t n = 0, size = sizeof(other);

	while (is_tchar(*p)) {
		if (n + 1 >= sizeof(name)) {
			*r = error_set(err, EINVAL, "challenge: parameter name too long");
			return NULL;
		}
		name[n++] = *p++;
	}
	name[n] = '\0';
	if (n == 0) {
		*r = error_set(err, EINVAL, "challenge: unexpected character '%c'", *p);
		return NULL;
	}
	p = skip_space(p);
	if (*p != '=')
		return NULL; /* a second challenge: only the first one is used */
	p = skip_space(p + 1);
	slot = param_slot(c, name, &size);
	p = param_value(p, name, slot ? slot : other, size, err);
	if (!p)
		*r = -err->code;
	return p;
}

int image_registry_challenge_parse(const char *header, struct image_registry_challenge *ret,
				   struct error *err)
{
	const char *p = skip_space(header);
	size_t n = 0;
	int r = 0;

	memset(ret, 0, sizeof(*ret));
	while (is_tchar(*p)) {
		if (n + 1 >= sizeof(ret->scheme))
			return error_set(err, EINVAL, "challenge: scheme too long");
		ret->scheme[n++] = (char)tolower((unsigned char)*p++);
	}
	if (n == 0)
		return error_set(err, EINVAL, "challenge: no scheme");
	if (*p && *p != ' ' && *p != '\t')
		return error_set(err, EINVAL, "challenge: unexpected character '%c'", *p);
	for (;;) {
		p = skip_space(p);
		while (*p == ',' || *p == ' ' || *p == '\t')
			p++;
		if (!*p)
			return 0;
		p = auth_param(p, ret, &r, err);
		if (!p)
			return r;
		p = skip_space(p);
		if (*p && *p != ',')
			return error_set(err, EINVAL, "challenge: unexpected character '%c'", *p);
	}
}

bool image_registry_is_loopback(const char *domain)
{
	char host[256];
	const char *end;
	struct in_addr a4;
	struct in6_addr a6;

	if (domain[0] == '[') {
		domain++;
		end = strchr(domain, ']');
	} else {
		end = strchr(domain, ':');
	}
	if (!end)
		end = domain + strlen(domain);
	if ((size_t)(end - domain) >= sizeof(host))
		return false;
	memcpy(host, domain, (size_t)(end - domain));
	host[end - domain] = '\0';
	if (!strcasecmp(host, "localhost"))
		return true;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, host, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6);
	return false;
}

char *image_registry_auth_path(const char *explicit_path)
{
	const char *env = getenv("REGISTRY_AUTH_FILE"), *home = getenv("HOME");

	if (explicit_path && *explicit_path)
		return strdup(explicit_path);
	if (env && *env)
		return strdup(env);
	if (!home || !*home)
		return NULL;
	return str_printf("%s/.docker/config.json", home);
}

/* "https://index.docker.io/v1/" -> "index.docker.io" */
static bool key_matches(const char *key, const char *host)
{
	static const char *const docker[] = {"docker.io", "index.docker.io",
					     IMAGE_REGISTRY_DOCKER_HOST};
	const char *k = key, *slash;
	size_t len;

	if (str_has_prefix(k, "https://"))
		k += 8;
	else if (str_has_prefix(k, "http://"))
		k += 7;
	slash = strchr(k, '/');
	len = slash ? (size_t)(slash - k) : strlen(k);
	if (strlen(host) == len && !strncmp(k, host, len))
		return true;
	if (strcmp(host, "docker.io") != 0)
		return false;
	for (size_t i = 0; i < sizeof(docker) / sizeof(docker[0]); i++)
		if (strlen(docker[i]) == len && !strncmp(k, docker[i], len))
			return true;
	return false;
}

static int check_basic(const char *b64, const char *host, struct error *err)
{
	unsigned char out[AUTH_MAX];
	size_t len = strlen(b64);
	int n;

	if (len == 0 || len >= AUTH_MAX || len % 4 != 0)
		return error_set(err, EINVAL, "auths.%s.auth: not base64 of user:password", host);
	n = EVP_DecodeBlock(out, (const unsigned char *)b64, (int)len);
	if (n <= 0 || !memchr(out, ':', (size_t)n))
		return error_set(err, EINVAL, "auths.%s.auth: not base64 of user:password", host);
	return 0;
}

static int find_auth(struct json_object *auths, const char *host, char **ret, struct error *err)
{
	json_object_object_foreach (auths, key, val) {
		struct json_object *a;

		if (!key_matches(key, host) || !json_object_is_type(val, json_type_object))
			continue;
		if (!json_object_object_get_ex(val, "auth", &a) ||
		    !json_object_is_type(a, json_type_string))
			continue;
		if (check_basic(json_object_get_string(a), host, err) < 0)
			return -err->code;
		*ret = strdup(json_object_get_string(a));
		return *ret ? 0 : error_set(err, ENOMEM, "out of memory");
	}
	return 0;
}

/* The helper's name (borrowed from doc): "credHelpers" for host, else "credsStore"; *ret NULL
 * when neither is set. */
static int find_helper(struct json_object *doc, const char *host, const char **ret,
		       struct error *err)
{
	struct json_object *helpers = NULL, *store;
	int r = image_json_object(doc, "", "credHelpers", false, &helpers, err);

	*ret = NULL;
	if (r < 0)
		return r;
	if (helpers) {
		json_object_object_foreach (helpers, key, val) {
			if (!key_matches(key, host))
				continue;
			if (!json_object_is_type(val, json_type_string))
				return error_set(err, EINVAL, "credHelpers.%.200s: not a string",
						 key);
			*ret = json_object_get_string(val);
			return 0;
		}
	}
	if (!json_object_object_get_ex(doc, "credsStore", &store) ||
	    json_object_is_type(store, json_type_null))
		return 0;
	if (!json_object_is_type(store, json_type_string))
		return error_set(err, EINVAL, "credsStore: not a string");
	*ret = *json_object_get_string(store) ? json_object_get_string(store) : NULL;
	return 0;
}

/* A helper's credentials, else the inline "auths" entry (docker's order). */
static int lookup_doc(struct json_object *doc, const char *host, char **ret_auth, struct error *err)
{
	struct json_object *auths = NULL;
	const char *helper;
	int r = find_helper(doc, host, &helper, err);

	if (r >= 0 && helper)
		r = image_registry_credhelper_get(
		    helper, strcmp(host, "docker.io") ? host : "https://index.docker.io/v1/",
		    ret_auth, err);
	if (r < 0 || *ret_auth)
		return r;
	r = image_json_object(doc, "", "auths", false, &auths, err);
	if (r >= 0 && auths)
		r = find_auth(auths, host, ret_auth, err);
	return r;
}

int image_registry_auth_lookup(const char *path, const char *host, char **ret_auth,
			       struct error *err)
{
	cleanup_free char *text = NULL;
	struct json_object *doc = NULL;
	size_t len;
	int r;

	*ret_auth = NULL;
	r = fd_read_file(path, AUTH_FILE_MAX, &text, &len, err);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	r = image_json_parse(text, len, AUTH_FILE_MAX, &doc, err);
	if (r >= 0)
		r = lookup_doc(doc, host, ret_auth, err);
	json_object_put(doc);
	if (r < 0)
		return error_wrap(err, "%s", path);
	return 0;
}

int registry_add_authz(struct registry_client *c, struct curl_slist **hdrs, struct error *err)
{
	cleanup_free char *line = NULL;
	struct curl_slist *l;

	bool have;

	pthread_mutex_lock(&c->lock);
	have = c->authz != NULL;
	if (have)
		line = str_printf("Authorization: %s", c->authz);
	pthread_mutex_unlock(&c->lock);
	if (!have)
		return 0;
	l = line ? curl_slist_append(*hdrs, line) : NULL;
	if (!l)
		return error_set(err, ENOMEM, "out of memory");
	*hdrs = l;
	return 0;
}

static int set_authz(struct registry_client *c, char *value)
{
	if (!value)
		return -ENOMEM;
	pthread_mutex_lock(&c->lock);
	free(c->authz);
	c->authz = value;
	pthread_mutex_unlock(&c->lock);
	return 0;
}

static char *token_url(const struct registry_client *c, const struct image_registry_challenge *ch)
{
	cleanup_free char *def = str_printf("repository:%s:pull", c->ref.path);
	const char *scope = ch->scope[0] ? ch->scope : def;
	char *service = curl_easy_escape(NULL, ch->service, 0);
	char *esc_scope = scope ? curl_easy_escape(NULL, scope, 0) : NULL;
	char *url = NULL;

	if (service && esc_scope)
		url = str_printf("%s%sservice=%s&scope=%s", ch->realm,
				 strchr(ch->realm, '?') ? "&" : "?", service, esc_scope);
	curl_free(service);
	curl_free(esc_scope);
	return url;
}

/* Whether credentials may travel to the realm: https, or a loopback host. */
static bool realm_safe(const char *realm)
{
	char host[256];
	size_t n;

	if (str_has_prefix(realm, "https://"))
		return true;
	if (!str_has_prefix(realm, "http://"))
		return false;
	n = strcspn(realm + 7, "/?#");
	if (n >= sizeof(host))
		return false;
	memcpy(host, realm + 7, n);
	host[n] = '\0';
	return image_registry_is_loopback(host);
}

static int token_from(const struct registry_resp *resp, char **ret, struct error *err)
{
	struct json_object *doc = NULL;
	char *tok = NULL;
	int r;

	r = image_json_parse(resp->body, resp->len, REGISTRY_TOKEN_MAX, &doc, err);
	if (r >= 0)
		r = image_json_string(doc, "", "token", false, &tok, err);
	if (r >= 0 && !tok)
		r = image_json_string(doc, "", "access_token", true, &tok, err);
	json_object_put(doc);
	if (r < 0)
		return r;
	for (const char *p = tok; *p; p++) {
		if ((unsigned char)*p <= 0x20 || *p == 0x7f) {
			free(tok);
			return error_set(err, EINVAL, "token: invalid character");
		}
	}
	*ret = tok;
	return 0;
}

static int fetch_token(struct registry_client *c, const struct image_registry_challenge *ch,
		       struct error *err)
{
	cleanup_free char *url = NULL, *basic = NULL, *tok = NULL;
	struct registry_resp resp = {0};
	struct curl_slist *hdrs = NULL;
	char status[256];
	int r;

	if (!str_has_prefix(ch->realm, "https://") && !str_has_prefix(ch->realm, "http://"))
		return error_set(err, EINVAL, "token realm \"%s\": not an http(s) URL", ch->realm);
	url = token_url(c, ch);
	if (!url)
		return error_set(err, ENOMEM, "out of memory");
	if (c->basic && realm_safe(ch->realm)) {
		basic = str_printf("Authorization: Basic %s", c->basic);
		hdrs = basic ? curl_slist_append(NULL, basic) : NULL;
		if (!hdrs)
			return error_set(err, ENOMEM, "out of memory");
	}
	r = registry_get_once(url, hdrs, REGISTRY_TOKEN_MAX, &resp, err);
	curl_slist_free_all(hdrs);
	if (r >= 0 && resp.status != 200) {
		registry_status_text(&resp, status, sizeof(status));
		r = error_set(err, resp.status == 401 || resp.status == 403 ? EACCES : EIO, "%s",
			      status);
	}
	if (r >= 0)
		r = token_from(&resp, &tok, err);
	registry_resp_clear(&resp);
	if (r < 0)
		return error_wrap(err, "token from %s", ch->realm);
	if (set_authz(c, str_printf("Bearer %s", tok)) < 0)
		return error_set(err, ENOMEM, "out of memory");
	return 0;
}

int registry_authenticate(struct registry_client *c, const char *www_auth, struct error *err)
{
	struct image_registry_challenge ch;

	if (!www_auth)
		return error_set(err, EACCES, "401 Unauthorized (no WWW-Authenticate challenge)");
	if (image_registry_challenge_parse(www_auth, &ch, err) < 0)
		return -err->code;
	if (!strcmp(ch.scheme, "bearer")) {
		if (!ch.realm[0])
			return error_set(err, EINVAL, "challenge: bearer without realm");
		return fetch_token(c, &ch, err);
	}
	if (!strcmp(ch.scheme, "basic") && c->basic) {
		if (set_authz(c, str_printf("Basic %s", c->basic)) < 0)
			return error_set(err, ENOMEM, "out of memory");
		return 0;
	}
	return error_set(err, EACCES, "401 Unauthorized (%s authentication%s)", ch.scheme,
			 c->basic ? " refused" : " needs credentials");
}
