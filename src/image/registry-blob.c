/* registry-blob: blobs streamed from the registry into the store, retried and resumed.
 *
 * The store pulls bytes through a read callback; the callback drives its own curl multi
 * handle until the transfer has bytes to give. A transfer that breaks is started again with
 * "Range: bytes=N-" from the bytes already received (a server that ignores the range answers
 * 200, and the first N bytes are dropped), so what the store sees is one continuous stream
 * that it hashes and size-checks as it goes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "image/registry-internal.h"
#include "util/cleanup.h"
#include "util/str.h"

struct reader {
	struct registry_client *c;
	const struct registry_blob *b;
	char *url;
	CURLM *multi;
	CURL *easy;
	struct curl_slist *hdrs;
	struct registry_resp resp; /* this transfer's headers, and an error answer's body */
	char errbuf[CURL_ERROR_SIZE];
	char *buf;
	size_t off, len, cap;
	int64_t received; /* bytes of the blob taken into buf, in all transfers */
	int64_t start;	  /* offset this transfer asked for */
	int64_t skip;	  /* bytes still to drop (the server ignored Range) */
	long status;	  /* of this transfer, 0 until its body starts */
	bool running, finished, authed;
	int tries;
	pthread_mutex_t *lock;
	int64_t *done;
	const bool *abort;
};

static int reserve(struct reader *rd, size_t len)
{
	if (rd->off > 0) {
		memmove(rd->buf, rd->buf + rd->off, rd->len - rd->off);
		rd->len -= rd->off;
		rd->off = 0;
	}
	if (rd->len + len > rd->cap) {
		size_t cap = rd->cap ? rd->cap : 65536;
		char *nb;

		while (cap < rd->len + len)
			cap *= 2;
		nb = realloc(rd->buf, cap);
		if (!nb)
			return -ENOMEM;
		rd->buf = nb;
		rd->cap = cap;
	}
	return 0;
}

static void keep_error_body(struct reader *rd, const char *data, size_t len)
{
	size_t room = REGISTRY_ERROR_BODY_MAX - rd->resp.len;

	if (!rd->resp.body && !(rd->resp.body = malloc(REGISTRY_ERROR_BODY_MAX + 1)))
		return;
	if (len > room)
		len = room;
	memcpy(rd->resp.body + rd->resp.len, data, len);
	rd->resp.len += len;
	rd->resp.body[rd->resp.len] = '\0';
	rd->resp.max = REGISTRY_ERROR_BODY_MAX;
}

static size_t on_data(char *data, size_t size, size_t n, void *opaque)
{
	struct reader *rd = opaque;
	size_t len = size * n, all = len;

	if (rd->status == 0) {
		curl_easy_getinfo(rd->easy, CURLINFO_RESPONSE_CODE, &rd->status);
		if (rd->status == 200)
			rd->skip = rd->start;
	}
	if (rd->status != 200 && rd->status != 206) {
		keep_error_body(rd, data, len);
		return all;
	}
	if (rd->skip > 0) {
		size_t s = (int64_t)len < rd->skip ? len : (size_t)rd->skip;

		data += s;
		len -= s;
		rd->skip -= (int64_t)s;
	}
	if (len == 0)
		return all;
	if (reserve(rd, len) < 0)
		return 0;
	memcpy(rd->buf + rd->len, data, len);
	rd->len += len;
	rd->received += (int64_t)len;
	return all;
}

static void stop(struct reader *rd)
{
	if (rd->easy) {
		curl_multi_remove_handle(rd->multi, rd->easy);
		curl_easy_cleanup(rd->easy);
		rd->easy = NULL;
	}
	curl_slist_free_all(rd->hdrs);
	rd->hdrs = NULL;
	registry_resp_clear(&rd->resp);
	rd->running = false;
}

static int start(struct reader *rd, struct error *err)
{
	cleanup_free char *range = NULL;
	struct curl_slist *l;

	stop(rd);
	rd->easy = registry_easy(rd->url, err);
	if (!rd->easy)
		return -err->code;
	if (registry_add_authz(rd->c, &rd->hdrs, err) < 0)
		return -err->code;
	if (rd->received > 0) {
		range = str_printf("Range: bytes=%lld-", (long long)rd->received);
		l = range ? curl_slist_append(rd->hdrs, range) : NULL;
		if (!l)
			return error_set(err, ENOMEM, "out of memory");
		rd->hdrs = l;
	}
	rd->start = rd->received;
	rd->skip = 0;
	rd->status = 0;
	rd->errbuf[0] = '\0';
	curl_easy_setopt(rd->easy, CURLOPT_HTTPHEADER, rd->hdrs);
	curl_easy_setopt(rd->easy, CURLOPT_ERRORBUFFER, rd->errbuf);
	curl_easy_setopt(rd->easy, CURLOPT_HEADERFUNCTION, registry_on_header);
	curl_easy_setopt(rd->easy, CURLOPT_HEADERDATA, &rd->resp);
	curl_easy_setopt(rd->easy, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(rd->easy, CURLOPT_WRITEDATA, rd);
	if (curl_multi_add_handle(rd->multi, rd->easy) != CURLM_OK)
		return error_set(err, ENOMEM, "curl: cannot add a transfer");
	rd->running = true;
	return 0;
}

/* A transfer ended: done, or to be tried again (0 with running false), or an error. */
static int finish(struct reader *rd, CURLcode cc, struct error *err)
{
	char text[320];
	long status = 0;

	curl_easy_getinfo(rd->easy, CURLINFO_RESPONSE_CODE, &status);
	rd->resp.status = status;
	if (cc == CURLE_OK && (status == 200 || status == 206)) {
		rd->finished = true;
		return 0;
	}
	if (cc == CURLE_OK && status == 401 && !rd->authed) {
		rd->authed = true;
		return registry_authenticate(rd->c, rd->resp.www_auth, err);
	}
	if (cc == CURLE_OK && status == 416 && rd->received == rd->b->size) {
		rd->finished = true; /* everything was there before the break */
		return 0;
	}
	if (registry_retryable(cc, status) && ++rd->tries < IMAGE_REGISTRY_TRIES) {
		registry_backoff(rd->tries);
		return 0;
	}
	if (cc != CURLE_OK)
		return registry_curl_error(rd->easy, cc, rd->errbuf, err);
	registry_status_text(&rd->resp, text, sizeof(text));
	return error_set(err, status == 404 ? ENOENT : EIO, "%s", text);
}

static int pump(struct reader *rd, struct error *err)
{
	CURLMsg *m;
	int still = 0, queued, r;

	if (curl_multi_perform(rd->multi, &still) != CURLM_OK)
		return error_set(err, EIO, "curl: transfer failed");
	while ((m = curl_multi_info_read(rd->multi, &queued))) {
		if (m->msg != CURLMSG_DONE)
			continue;
		r = finish(rd, m->data.result, err);
		stop(rd);
		return r;
	}
	if (still && rd->off == rd->len)
		curl_multi_poll(rd->multi, NULL, 0, 1000, NULL);
	return 0;
}

static ssize_t blob_read(void *opaque, void *buf, size_t len, struct error *err)
{
	struct reader *rd = opaque;
	size_t n;
	int r;

	while (rd->off == rd->len) {
		if (rd->abort && __atomic_load_n(rd->abort, __ATOMIC_RELAXED))
			return error_set(err, ECANCELED, "cancelled");
		if (rd->finished)
			return 0;
		r = rd->running ? 0 : start(rd, err);
		if (r >= 0)
			r = pump(rd, err);
		if (r < 0)
			return r;
	}
	n = rd->len - rd->off < len ? rd->len - rd->off : len;
	memcpy(buf, rd->buf + rd->off, n);
	rd->off += n;
	if (rd->done) {
		if (rd->lock)
			pthread_mutex_lock(rd->lock);
		*rd->done += (int64_t)n;
		if (rd->lock)
			pthread_mutex_unlock(rd->lock);
	}
	return (ssize_t)n;
}

int registry_fetch_blob(struct registry_client *c, struct image_store *store,
			const struct registry_blob *b, pthread_mutex_t *lock, int64_t *done,
			const bool *abort, struct error *err)
{
	struct reader rd = {.c = c, .b = b, .lock = lock, .done = done, .abort = abort};
	int r;

	if (image_store_has_blob(store, b->digest))
		return 0;
	rd.url = registry_url(c, "blobs", b->digest);
	rd.multi = curl_multi_init();
	if (!rd.url || !rd.multi)
		r = error_set(err, ENOMEM, "out of memory");
	else
		r = image_store_put_blob(store, b->digest, b->size, blob_read, &rd, NULL, err);
	stop(&rd);
	if (rd.multi)
		curl_multi_cleanup(rd.multi);
	free(rd.url);
	free(rd.buf);
	return r;
}
