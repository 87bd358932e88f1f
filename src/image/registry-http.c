/* registry-http: libcurl requests into memory, retries and readable registry errors. */
#include <ctype.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "image/json-read.h"
#include "image/registry-internal.h"
#include "util/cleanup.h"
#include "util/str.h"

CURL *registry_easy(const char *url, struct error *err)
{
	CURL *h = curl_easy_init();

	if (!h) {
		error_set(err, ENOMEM, "curl: out of memory");
		return NULL;
	}
	if (curl_easy_setopt(h, CURLOPT_URL, url) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK) {
		curl_easy_cleanup(h);
		error_set(err, EINVAL, "URL %s: not usable", url);
		return NULL;
	}
	curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(h, CURLOPT_MAXREDIRS, 5L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 30L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 60L);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "vessel/0.1");
	return h;
}

/* Keeps the value of header `name` from line (not NUL-terminated) in *slot. */
static void capture(const char *line, size_t len, const char *name, char **slot)
{
	size_t nl = strlen(name);
	const char *v = line + nl + 1, *end = line + len;

	if (len <= nl || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
		return;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && isspace((unsigned char)end[-1]))
		end--;
	free(*slot);
	*slot = strndup(v, (size_t)(end - v));
}

size_t registry_on_header(char *buf, size_t size, size_t n, void *opaque)
{
	struct registry_resp *r = opaque;
	size_t len = size * n;

	if (len >= 5 && !strncmp(buf, "HTTP/", 5)) {
		/* a new response (after a redirect or 100-continue): forget the last one's */
		free(r->content_type);
		free(r->docker_digest);
		free(r->www_auth);
		r->content_type = r->docker_digest = r->www_auth = NULL;
		return len;
	}
	capture(buf, len, "Content-Type", &r->content_type);
	capture(buf, len, "Docker-Content-Digest", &r->docker_digest);
	capture(buf, len, "WWW-Authenticate", &r->www_auth);
	return len;
}

static size_t on_body(char *data, size_t size, size_t n, void *opaque)
{
	struct registry_resp *r = opaque;
	size_t len = size * n;

	if (len > r->max - r->len) {
		r->too_big = true;
		return 0; /* aborts the transfer */
	}
	if (r->len + len + 1 > r->cap) {
		size_t cap = r->cap ? r->cap : 16384;
		char *nb;

		while (cap < r->len + len + 1)
			cap *= 2;
		nb = realloc(r->body, cap);
		if (!nb)
			return 0;
		r->body = nb;
		r->cap = cap;
	}
	memcpy(r->body + r->len, data, len);
	r->len += len;
	r->body[r->len] = '\0';
	return len;
}

void registry_resp_clear(struct registry_resp *r)
{
	free(r->body);
	free(r->content_type);
	free(r->docker_digest);
	free(r->www_auth);
	memset(r, 0, sizeof(*r));
}

static int curl_errno(CURLcode cc)
{
	if (cc == CURLE_COULDNT_CONNECT)
		return ECONNREFUSED;
	if (cc == CURLE_OPERATION_TIMEDOUT)
		return ETIMEDOUT;
	if (cc == CURLE_COULDNT_RESOLVE_HOST)
		return EHOSTUNREACH;
	if (cc == CURLE_OUT_OF_MEMORY)
		return ENOMEM;
	return EIO;
}

int registry_curl_error(CURL *h, CURLcode cc, const char *errbuf, struct error *err)
{
	const char *what = errbuf && errbuf[0] ? errbuf : curl_easy_strerror(cc);
	long os_errno = 0;

	curl_easy_getinfo(h, CURLINFO_OS_ERRNO, &os_errno);
	if (os_errno > 0)
		return error_set(err, curl_errno(cc), "%s (%s)", what, strerror((int)os_errno));
	return error_set(err, curl_errno(cc), "%s", what);
}

static int perform(const char *url, struct curl_slist *hdrs, size_t max, struct registry_resp *ret,
		   CURLcode *ret_cc, struct error *err)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	CURL *h = registry_easy(url, err);
	CURLcode cc;
	int r = 0;

	memset(ret, 0, sizeof(*ret));
	ret->max = max;
	*ret_cc = CURLE_FAILED_INIT;
	if (!h)
		return -err->code;
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, registry_on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, ret);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, ret);
	cc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &ret->status);
	*ret_cc = cc;
	if (ret->too_big)
		r = error_set(err, EFBIG, "larger than %zu bytes", max);
	else if (cc != CURLE_OK)
		r = registry_curl_error(h, cc, errbuf, err);
	curl_easy_cleanup(h);
	return r;
}

int registry_get_once(const char *url, struct curl_slist *hdrs, size_t max,
		      struct registry_resp *ret, struct error *err)
{
	CURLcode cc;
	int r = perform(url, hdrs, max, ret, &cc, err);

	if (r < 0)
		registry_resp_clear(ret);
	return r;
}

static const char *reason(long status)
{
	switch (status) {
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 416:
		return "Range Not Satisfiable";
	case 429:
		return "Too Many Requests";
	case 500:
		return "Internal Server Error";
	case 502:
		return "Bad Gateway";
	case 503:
		return "Service Unavailable";
	case 504:
		return "Gateway Timeout";
	default:
		return "HTTP error";
	}
}

/* The first entry of the registry's {"errors": [{"code", "message"}]}, printable only. */
static void error_detail(const struct registry_resp *r, char *buf, size_t size)
{
	struct json_object *doc = NULL, *errors, *e, *code, *msg;
	struct error ignored;

	buf[0] = '\0';
	if (!r->body || image_json_parse(r->body, r->len, r->max, &doc, &ignored) < 0)
		return;
	if (json_object_object_get_ex(doc, "errors", &errors) &&
	    json_object_is_type(errors, json_type_array) && json_object_array_length(errors) > 0 &&
	    (e = json_object_array_get_idx(errors, 0)) &&
	    json_object_is_type(e, json_type_object) &&
	    json_object_object_get_ex(e, "code", &code) &&
	    json_object_object_get_ex(e, "message", &msg))
		snprintf(buf, size, " (%.64s: %.160s)", json_object_get_string(code),
			 json_object_get_string(msg));
	json_object_put(doc);
	for (char *p = buf; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
}

void registry_status_text(const struct registry_resp *r, char *buf, size_t size)
{
	char detail[256];

	error_detail(r, detail, sizeof(detail));
	snprintf(buf, size, "%ld %s%s", r->status, reason(r->status), detail);
}

bool registry_retryable(CURLcode cc, long status)
{
	static const CURLcode network[] = {
	    CURLE_COULDNT_CONNECT,    CURLE_COULDNT_RESOLVE_HOST,
	    CURLE_OPERATION_TIMEDOUT, CURLE_PARTIAL_FILE,
	    CURLE_RECV_ERROR,	      CURLE_SEND_ERROR,
	    CURLE_GOT_NOTHING,	      CURLE_HTTP2,
	    CURLE_HTTP2_STREAM,
	};

	if (cc == CURLE_OK)
		return status >= 500 || status == 429;
	for (size_t i = 0; i < sizeof(network) / sizeof(network[0]); i++)
		if (cc == network[i])
			return true;
	return false;
}

void registry_backoff(int try)
{
	long ms = 250;
	struct timespec ts;

	for (int i = 1; i < try && ms < 8000; i++)
		ms *= 4;
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int64_t registry_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int headers(struct registry_client *c, const char *accept, struct curl_slist **ret,
		   struct error *err)
{
	cleanup_free char *line = accept ? str_printf("Accept: %s", accept) : NULL;
	struct curl_slist *l = NULL;

	*ret = NULL;
	if (accept && (!line || !(l = curl_slist_append(NULL, line))))
		return error_set(err, ENOMEM, "out of memory");
	*ret = l;
	return registry_add_authz(c, ret, err);
}

static int status_error(struct registry_resp *r, struct error *err)
{
	char text[320];
	int code = r->status == 404 ? ENOENT : r->status == 401 || r->status == 403 ? EACCES : EIO;

	registry_status_text(r, text, sizeof(text));
	registry_resp_clear(r);
	return error_set(err, code, "%s", text);
}

int registry_get(struct registry_client *c, const char *url, const char *accept, size_t max,
		 struct registry_resp *ret, struct error *err)
{
	bool authed = false;
	struct curl_slist *hdrs;
	CURLcode cc;
	int r;

	for (int try = 1;;) {
		r = headers(c, accept, &hdrs, err);
		if (r < 0) {
			curl_slist_free_all(hdrs);
			return r;
		}
		r = perform(url, hdrs, max, ret, &cc, err);
		curl_slist_free_all(hdrs);
		if (r >= 0 && ret->status == 401 && !authed) {
			authed = true;
			r = registry_authenticate(c, ret->www_auth, err);
			registry_resp_clear(ret);
			if (r < 0)
				return r;
			continue;
		}
		if (!ret->too_big && registry_retryable(cc, ret->status) &&
		    try < IMAGE_REGISTRY_TRIES) {
			registry_resp_clear(ret);
			registry_backoff(try++);
			continue;
		}
		if (r < 0) {
			registry_resp_clear(ret);
			return r;
		}
		if (ret->status / 100 != 2)
			return status_error(ret, err);
		return 0;
	}
}
