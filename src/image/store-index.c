/* image_store: the name index, <root>/images.json (see store.h). */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "image/json-read.h"
#include "image/ref.h"
#include "image/store-internal.h"
#include "image/store.h"
#include "util/cleanup.h"
#include "util/fd.h"
#include "util/path.h"
#include "util/str.h"

#define INDEX_FILE "images.json"
#define INDEX_MAX  (64u << 20)

static int check_entry(const char *name, struct json_object *v, struct error *err)
{
	struct json_object *d, *c;

	if (!json_object_is_type(v, json_type_object) ||
	    !json_object_object_get_ex(v, "digest", &d) ||
	    !json_object_is_type(d, json_type_string) ||
	    !image_digest_is_valid(json_object_get_string(d)))
		return error_set(err, EBADMSG, "%s: entry %.200s: bad digest", INDEX_FILE, name);
	if (json_object_object_get_ex(v, "created", &c) && !json_object_is_type(c, json_type_int))
		return error_set(err, EBADMSG, "%s: entry %.200s: bad created", INDEX_FILE, name);
	return 0;
}

/* Parses images.json text; returns the "images" object in *ret (owned). */
static int parse_index(const char *text, size_t len, struct json_object **ret, struct error *err)
{
	cleanup_json struct json_object *root = NULL;
	struct json_object *images = NULL;
	struct json_tokener *tok = json_tokener_new_ex(16);

	if (!tok)
		return error_set(err, ENOMEM, "%s: out of memory", INDEX_FILE);
	root = json_tokener_parse_ex(tok, text, (int)len);
	json_tokener_free(tok);
	if (!root || !json_object_object_get_ex(root, "images", &images) ||
	    !json_object_is_type(images, json_type_object))
		return error_set(err, EBADMSG, "%s: not a valid image index", INDEX_FILE);
	json_object_object_foreach (images, k, v) {
		int r = check_entry(k, v, err);

		if (r < 0)
			return r;
	}
	*ret = json_object_get(images);
	return 0;
}

static int load_index(const struct image_store *s, struct json_object **ret, struct error *err)
{
	cleanup_free char *path = path_join(s->root, INDEX_FILE);
	cleanup_free char *text = NULL;
	size_t len = 0;
	int r;

	*ret = NULL;
	if (!path)
		return error_set(err, ENOMEM, "out of memory");
	r = fd_read_file(path, INDEX_MAX, &text, &len, err);
	if (r == -ENOENT) {
		*ret = json_object_new_object();
		return *ret ? 0 : error_set(err, ENOMEM, "out of memory");
	}
	if (r < 0)
		return r;
	return parse_index(text, len, ret, err);
}

static int save_index(struct image_store *s, struct json_object *images, struct error *err)
{
	cleanup_json struct json_object *root = json_object_new_object();
	const char *text;

	if (!root || json_object_object_add(root, "images", json_object_get(images)) < 0)
		return error_set(err, ENOMEM, "%s: out of memory", INDEX_FILE);
	text = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY |
							JSON_C_TO_STRING_NOSLASHESCAPE);
	if (!text)
		return error_set(err, ENOMEM, "%s: out of memory", INDEX_FILE);
	return fd_write_file_atomic(s->root_fd, INDEX_FILE, text, strlen(text), err);
}

static int lock_index(struct image_store *s, struct error *err)
{
	int fd = openat(s->root_fd, "lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

	if (fd < 0)
		return error_errno(err, "open %s/lock", s->root);
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			error_errno(err, "lock %s/lock", s->root);
			close(fd);
			return -err->code;
		}
	}
	return fd;
}

/* Sets (digest != NULL) or removes name under the lock. */
static int update(struct image_store *s, const char *name, const char *digest, struct error *err)
{
	cleanup_fd int lock = lock_index(s, err);
	cleanup_json struct json_object *images = NULL;
	struct json_object *e;
	int r;

	if (lock < 0)
		return lock;
	r = load_index(s, &images, err);
	if (r < 0)
		return r;
	if (!digest) {
		if (!json_object_object_get_ex(images, name, NULL))
			return error_set(err, ENOENT, "image %s: not found", name);
		json_object_object_del(images, name);
		return save_index(s, images, err);
	}
	e = json_object_new_object();
	if (!e || json_object_object_add(images, name, e) < 0) {
		json_object_put(e);
		return error_set(err, ENOMEM, "out of memory");
	}
	if (json_object_object_add(e, "digest", json_object_new_string(digest)) < 0 ||
	    json_object_object_add(e, "created", json_object_new_int64((int64_t)time(NULL))) < 0)
		return error_set(err, ENOMEM, "out of memory");
	return save_index(s, images, err);
}

int image_store_tag(struct image_store *store, const char *ref, const char *digest,
		    struct error *err)
{
	cleanup_free char *name = image_ref_normalize(ref, err);
	int r;

	if (!name)
		return -err->code;
	if (image_digest_validate(digest, err) < 0)
		return error_wrap(err, "tag %s", name);
	r = update(store, name, digest, err);
	if (r < 0)
		return error_wrap(err, "tag %s", name);
	return 0;
}

int image_store_untag(struct image_store *store, const char *ref, struct error *err)
{
	cleanup_free char *name = image_ref_normalize(ref, err);

	if (!name)
		return -err->code;
	return update(store, name, NULL, err);
}

static int lookup(struct json_object *images, const char *name, const char *ref,
		  char ret[IMAGE_DIGEST_SIZE], struct error *err)
{
	struct json_object *e, *d;

	if (!json_object_object_get_ex(images, name, &e) ||
	    !json_object_object_get_ex(e, "digest", &d))
		return error_set(err, ENOENT, "image %s: not found", ref);
	snprintf(ret, IMAGE_DIGEST_SIZE, "%s", json_object_get_string(d));
	return 0;
}

int image_store_resolve(const struct image_store *store, const char *ref,
			char ret[IMAGE_DIGEST_SIZE], struct error *err)
{
	cleanup_json struct json_object *images = NULL;
	cleanup_free char *name = NULL;
	struct image_ref r = {0};
	int rc;

	if (image_ref_parse(ref, &r, err) < 0)
		return -err->code;
	if (r.digest) {
		rc = image_store_has_blob(store, r.digest)
			 ? 0
			 : error_set(err, ENOENT, "image %s: not found", ref);
		if (rc == 0)
			snprintf(ret, IMAGE_DIGEST_SIZE, "%s", r.digest);
		image_ref_clear(&r);
		return rc;
	}
	name = image_ref_format(&r);
	image_ref_clear(&r);
	if (!name)
		return error_set(err, ENOMEM, "out of memory");
	rc = load_index(store, &images, err);
	if (rc < 0)
		return rc;
	return lookup(images, name, ref, ret, err);
}

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct image_store_entry *)a)->name,
		      ((const struct image_store_entry *)b)->name);
}

static int fill_entries(struct json_object *images, struct image_store_entry *v, size_t *n,
			struct error *err)
{
	json_object_object_foreach (images, k, e) {
		struct json_object *d, *c;

		json_object_object_get_ex(e, "digest", &d);
		v[*n].name = strdup(k);
		if (!v[*n].name)
			return error_set(err, ENOMEM, "out of memory");
		snprintf(v[*n].digest, IMAGE_DIGEST_SIZE, "%s", json_object_get_string(d));
		if (json_object_object_get_ex(e, "created", &c))
			v[*n].created = json_object_get_int64(c);
		(*n)++;
	}
	return 0;
}

int image_store_list(const struct image_store *store, struct image_store_entry **ret, size_t *ret_n,
		     struct error *err)
{
	cleanup_json struct json_object *images = NULL;
	struct image_store_entry *v;
	size_t n = 0;
	int r;

	*ret = NULL;
	*ret_n = 0;
	r = load_index(store, &images, err);
	if (r < 0)
		return r;
	v = calloc((size_t)json_object_object_length(images) + 1, sizeof(*v));
	if (!v)
		return error_set(err, ENOMEM, "out of memory");
	r = fill_entries(images, v, &n, err);
	if (r < 0) {
		image_store_entries_free(v, n);
		return r;
	}
	if (n)
		qsort(v, n, sizeof(*v), cmp_entry);
	*ret = v;
	*ret_n = n;
	return 0;
}

void image_store_entries_free(struct image_store_entry *entries, size_t n)
{
	if (!entries)
		return;
	for (size_t i = 0; i < n; i++)
		free(entries[i].name);
	free(entries);
}
