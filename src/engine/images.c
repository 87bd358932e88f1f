/* engine_images: the store's names and images; images, import and save (see images.h). */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/images-internal.h"
#include "image/busybox.h"
#include "image/layout.h"
#include "image/ref.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/str.h"

/* The manifest that digest names: itself, or linux/amd64's from an index. */
static int load_manifest(struct image_store *store, const char *digest, struct image_manifest **ret,
			 struct error *err)
{
	char d[IMAGE_DIGEST_SIZE];
	cleanup_free char *buf = NULL;
	enum image_media_kind kind;
	size_t len;
	int r;

	snprintf(d, sizeof(d), "%s", digest);
	r = image_store_read_blob(store, d, IMAGE_MANIFEST_MAX_BYTES, &buf, &len, err);
	if (r == 0)
		r = image_manifest_detect(buf, len, NULL, &kind, err);
	if (r == 0 && kind == IMAGE_MEDIA_INDEX) {
		struct image_index *index = NULL;
		const struct image_descriptor *sel;
		r = image_index_parse(buf, len, &index, err);
		if (r == 0)
			r = image_index_select(index, NULL, &sel, err);
		if (r == 0)
			snprintf(d, sizeof(d), "%s", sel->digest);
		image_index_free(index);
		free(TAKE_PTR(buf));
		if (r == 0)
			r = image_store_read_blob(store, d, IMAGE_MANIFEST_MAX_BYTES, &buf, &len,
						  err);
	}
	return r < 0 ? r : image_manifest_parse(buf, len, ret, err);
}

/* The image behind row->digest: ID, size and config. */
static int load_image(struct image_store *store, struct engine_images_row *row, struct error *err)
{
	struct image_manifest *m = NULL;
	cleanup_free char *buf = NULL;
	size_t len;
	int r = load_manifest(store, row->digest, &m, err);

	if (r < 0)
		return r;
	row->size = m->config.size;
	for (size_t i = 0; i < m->n_layers; i++)
		row->size += m->layers[i].size;
	memcpy(row->id, m->config.digest, IMAGE_DIGEST_SIZE);
	r = image_store_read_blob(store, m->config.digest, IMAGE_CONFIG_MAX_BYTES, &buf, &len, err);
	if (r == 0)
		r = image_config_parse(buf, len, &row->config, err);
	image_manifest_free(m);
	return r;
}

static int fill_row(struct image_store *store, const struct image_store_entry *e,
		    struct engine_images_row *row, struct error *err)
{
	struct image_ref ref;
	struct error ignored;

	row->name = strdup(e->name);
	memcpy(row->digest, e->digest, IMAGE_DIGEST_SIZE);
	memcpy(row->id, e->digest, IMAGE_DIGEST_SIZE);
	row->tagged = e->created;
	if (!row->name)
		return error_set(err, ENOMEM, "out of memory");
	if (image_ref_parse(e->name, &ref, err) < 0)
		return error_wrap(err, "image %s", e->name);
	row->tag = strdup(ref.tag ? ref.tag : "<none>");
	free(TAKE_PTR(ref.tag));
	free(TAKE_PTR(ref.digest));
	row->repository = image_ref_familiar(&ref);
	image_ref_clear(&ref);
	if (!row->tag || !row->repository)
		return error_set(err, ENOMEM, "out of memory");
	if (load_image(store, row, &ignored) < 0) { /* still listed, so that rmi can remove it */
		memcpy(row->id, e->digest, IMAGE_DIGEST_SIZE);
		row->size = 0;
	}
	return 0;
}

/* The store at paths->store, created (with its parents) on first use as `vessel run` does. */
static int open_store(const struct engine_paths *paths, struct image_store **ret, struct error *err)
{
	int r = fs_mkdir_p(paths->store, 0700);

	*ret = NULL;
	if (r < 0)
		return error_set(err, -r, "image store %s: %s", paths->store, strerror(-r));
	return image_store_open(paths->store, ret, err);
}

int engine_images_load(const struct engine_paths *paths, struct engine_images_table *ret,
		       struct error *err)
{
	struct image_store_entry *v = NULL;
	size_t n = 0;
	int r;

	*ret = (struct engine_images_table){0};
	r = open_store(paths, &ret->store, err);
	if (r == 0)
		r = image_store_list(ret->store, &v, &n, err);
	if (r == 0 && n) {
		ret->rows = calloc(n, sizeof(*ret->rows));
		r = ret->rows ? 0 : error_set(err, ENOMEM, "out of memory");
	}
	for (size_t i = 0; r == 0 && i < n; i++) {
		ret->n++;
		r = fill_row(ret->store, &v[i], &ret->rows[i], err);
	}
	image_store_entries_free(v, n);
	return r;
}

void engine_images_table_clear(struct engine_images_table *t)
{
	for (size_t i = 0; i < t->n; i++) {
		free(t->rows[i].name);
		free(t->rows[i].repository);
		free(t->rows[i].tag);
		image_config_free(t->rows[i].config);
	}
	free(t->rows);
	image_store_free(t->store);
	*t = (struct engine_images_table){0};
}

/* An ID or digest prefix: hex, optionally after "sha256:". NULL when s is not one. */
static const char *id_prefix(const char *s)
{
	if (str_has_prefix(s, "sha256:"))
		s += 7;
	size_t n = strspn(s, "0123456789abcdef");
	return n && n <= IMAGE_DIGEST_HEX_LEN && !s[n] ? s : NULL;
}

static int lookup_prefix(const struct engine_images_table *t, const char *arg, size_t *ret_row,
			 struct error *err)
{
	const char *p = id_prefix(arg), *found = NULL;
	size_t n = p ? strlen(p) : 0;

	for (size_t i = 0; p && i < t->n; i++) {
		const struct engine_images_row *row = &t->rows[i];
		if (strncmp(image_digest_hex(row->id), p, n) &&
		    strncmp(image_digest_hex(row->digest), p, n))
			continue;
		if (found && strcmp(found, row->id))
			return error_set(err, EINVAL,
					 "image %s: ambiguous, it prefixes several images", arg);
		if (!found)
			*ret_row = i;
		found = row->id;
	}
	return found ? 0 : error_set(err, ENOENT, "image %s: not found", arg);
}

int engine_images_lookup(const struct engine_images_table *t, const char *arg, size_t *ret_row,
			 struct error *err)
{
	struct error ignored;
	cleanup_free char *name = image_ref_normalize(arg, &ignored);
	const char *at = name ? strchr(name, '@') : NULL;

	for (size_t i = 0; name && i < t->n; i++) {
		if (!strcmp(t->rows[i].name, name) || (at && !strcmp(t->rows[i].digest, at + 1))) {
			*ret_row = i;
			return 0;
		}
	}
	return lookup_prefix(t, at ? at + 1 : arg, ret_row, err);
}

/* "2024-05-01T10:00:00[.frac](Z|+hh:mm|-hh:mm)"; -1 when it does not parse. */
static int64_t parse_rfc3339(const char *s)
{
	struct tm tm = {0};
	int n = 0, oh = 0, om = 0;
	char sign;

	if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
			 &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6)
		return -1;
	s += n;
	if (*s == '.')
		s += 1 + strspn(s + 1, "0123456789");
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	int64_t t = timegm(&tm);
	if (!strcmp(s, "Z") || !strcmp(s, "z"))
		return t;
	if (sscanf(s, "%c%2d:%2d%n", &sign, &oh, &om, &n) != 3 || s[n] ||
	    (sign != '+' && sign != '-'))
		return -1;
	return sign == '+' ? t - oh * 3600 - om * 60 : t + oh * 3600 + om * 60;
}

int64_t engine_images_created(const struct engine_images_row *row)
{
	int64_t t = parse_rfc3339(row->config ? row->config->created : NULL);

	return t < 0 ? row->tagged : t;
}

void engine_images_rfc3339(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) || !strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, len, "%s", "");
}

/* Docker's units.HumanDuration: "About a minute", "3 hours", "2 weeks". */
static void human_duration(int64_t secs, char *buf, size_t len)
{
	int64_t min = secs / 60, hours = (secs + 1800) / 3600;

	if (secs < 1)
		snprintf(buf, len, "Less than a second");
	else if (secs == 1)
		snprintf(buf, len, "1 second");
	else if (secs < 60)
		snprintf(buf, len, "%lld seconds", (long long)secs);
	else if (min == 1)
		snprintf(buf, len, "About a minute");
	else if (min < 60)
		snprintf(buf, len, "%lld minutes", (long long)min);
	else if (hours == 1)
		snprintf(buf, len, "About an hour");
	else if (hours < 48)
		snprintf(buf, len, "%lld hours", (long long)hours);
	else if (hours < 24 * 7 * 2)
		snprintf(buf, len, "%lld days", (long long)(hours / 24));
	else if (hours < 24 * 30 * 2)
		snprintf(buf, len, "%lld weeks", (long long)(hours / 24 / 7));
	else if (hours < 24 * 365 * 2)
		snprintf(buf, len, "%lld months", (long long)(hours / 24 / 30));
	else
		snprintf(buf, len, "%lld years", (long long)(secs / 3600 / 24 / 365));
}

/* Docker's units.HumanSize: decimal units, 3 significant digits ("4.26MB"). */
static void human_size(int64_t size, char *buf, size_t len)
{
	static const char *const units[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB"};
	double v = (double)size;
	size_t i = 0;

	while (v >= 1000 && i + 1 < ARRAY_SIZE(units)) {
		v /= 1000;
		i++;
	}
	snprintf(buf, len, "%.3g%s", v, units[i]);
}

struct cells {
	char id[16], created[64], size[32];
};

static void row_cells(const struct engine_images_row *row, struct cells *c)
{
	snprintf(c->id, sizeof(c->id), "%.12s", image_digest_hex(row->id));
	human_duration((int64_t)time(NULL) - engine_images_created(row), c->created,
		       sizeof(c->created) - 4);
	strcat(c->created, " ago");
	human_size(row->size, c->size, sizeof(c->size));
}

/* Like Go's tabwriter as docker uses it: each column max(10, widest + 3) wide. */
static void print_table(const struct engine_images_table *t, FILE *out)
{
	size_t w[4] = {10, 10, 10, 10};
	struct cells c;

	for (size_t i = 0; i <= t->n; i++) {
		const struct engine_images_row *row = i < t->n ? &t->rows[i] : NULL;
		size_t l[4] = {row ? strlen(row->repository) : 10, row ? strlen(row->tag) : 3, 12,
			       0};
		if (row)
			row_cells(row, &c);
		l[3] = row ? strlen(c.created) : 7;
		for (int k = 0; k < 4; k++)
			w[k] = l[k] + 3 > w[k] ? l[k] + 3 : w[k];
	}
	fprintf(out, "%-*s%-*s%-*s%-*s%s\n", (int)w[0], "REPOSITORY", (int)w[1], "TAG", (int)w[2],
		"IMAGE ID", (int)w[3], "CREATED", "SIZE");
	for (size_t i = 0; i < t->n; i++) {
		const struct engine_images_row *row = &t->rows[i];
		row_cells(row, &c);
		fprintf(out, "%-*s%-*s%-*s%-*s%s\n", (int)w[0], row->repository, (int)w[1],
			row->tag, (int)w[2], c.id, (int)w[3], c.created, c.size);
	}
}

static struct json_object *row_json(const struct engine_images_row *row)
{
	struct json_object *o = json_object_new_object();
	char created[32];

	engine_images_rfc3339(engine_images_created(row), created, sizeof(created));
	if (!o ||
	    json_object_object_add(o, "repository", json_object_new_string(row->repository)) ||
	    json_object_object_add(o, "tag", json_object_new_string(row->tag)) ||
	    json_object_object_add(o, "id", json_object_new_string(row->id)) ||
	    json_object_object_add(o, "digest", json_object_new_string(row->digest)) ||
	    json_object_object_add(o, "created", json_object_new_string(created)) ||
	    json_object_object_add(o, "size", json_object_new_int64(row->size))) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static int print_json(const struct engine_images_table *t, FILE *out, struct error *err)
{
	struct json_object *a = json_object_new_array();
	int r = a ? 0 : -ENOMEM;

	for (size_t i = 0; r == 0 && i < t->n; i++) {
		struct json_object *o = row_json(&t->rows[i]);
		if (!o || json_object_array_add(a, o) < 0) {
			json_object_put(o);
			r = -ENOMEM;
		}
	}
	if (r == 0)
		fprintf(out, "%s\n",
			json_object_to_json_string_ext(a, JSON_C_TO_STRING_PRETTY |
							      JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(a);
	return r < 0 ? error_set(err, ENOMEM, "images: out of memory") : 0;
}

int engine_images_list(const struct engine_paths *paths, enum engine_images_format format,
		       FILE *out, struct error *err)
{
	struct engine_images_table t;
	int r = engine_images_load(paths, &t, err);

	if (r == 0 && format == ENGINE_IMAGES_JSON)
		r = print_json(&t, out, err);
	else if (r == 0 && format == ENGINE_IMAGES_QUIET)
		for (size_t i = 0; i < t.n; i++)
			fprintf(out, "%.12s\n", image_digest_hex(t.rows[i].id));
	else if (r == 0)
		print_table(&t, out);
	engine_images_table_clear(&t);
	return r < 0 ? error_wrap(err, "images") : 0;
}

/* After a failed import: every name it tagged back to what it was before (or gone). */
static void restore_names(struct image_store *store, const struct engine_images_table *before,
			  char **names)
{
	struct error ignored;

	for (char **n = names; n && *n; n++) {
		const char *prev = NULL;
		for (size_t i = 0; i < before->n && !prev; i++)
			if (!strcmp(before->rows[i].name, *n))
				prev = before->rows[i].digest;
		if (prev)
			image_store_tag(store, *n, prev, &ignored);
		else
			image_store_untag(store, *n, &ignored);
	}
}

/* NAME for an image the source left unnamed (a docker-archive without RepoTags, an OCI
 * layout whose annotation is a full reference): tags the only digest unless already named. */
static int tag_name(struct image_store *store, const char *name, struct image_layout_result *res,
		    struct error *err)
{
	cleanup_free char *canon = image_ref_normalize(name, err);

	if (!canon)
		return -err->code;
	for (size_t i = 0; i < res->n_names; i++)
		if (!strcmp(res->names[i], canon))
			return 0;
	if (res->n_digests != 1)
		return error_set(err, EINVAL, "name %s: the source holds %zu images", name,
				 res->n_digests);
	int r = image_store_tag(store, canon, res->digests[0], err);
	char **v = r < 0 ? NULL : realloc(res->names, (res->n_names + 2) * sizeof(char *));

	if (r < 0)
		return r;
	if (!v)
		return error_set(err, ENOMEM, "out of memory");
	res->names = v;
	v[res->n_names++] = TAKE_PTR(canon);
	v[res->n_names] = NULL;
	return 0;
}

static void print_loaded(const struct image_layout_result *res, FILE *out)
{
	for (size_t i = 0; i < res->n_names; i++) {
		struct image_ref ref;
		struct error ignored;
		cleanup_free char *f = NULL;
		if (image_ref_parse(res->names[i], &ref, &ignored) == 0)
			f = image_ref_familiar(&ref);
		image_ref_clear(&ref);
		fprintf(out, "Loaded image: %s\n", f ? f : res->names[i]);
	}
	for (size_t i = 0; i < res->n_digests; i++)
		fprintf(out, "Loaded image digest: %s\n", res->digests[i]);
}

int engine_images_import(const struct engine_paths *paths, const char *path, const char *name,
			 FILE *out, struct error *err)
{
	struct engine_images_table before;
	struct image_layout_result res = {0};
	cleanup_free char *canon = name ? image_ref_normalize(name, err) : NULL;
	cleanup_fd int lock = -1;
	int r = name && !canon ? -err->code : 0;

	if (r == 0)
		r = engine_images_load(paths, &before, err);
	else
		before = (struct engine_images_table){0};
	/* Shared: image gc waits until what the import stored is tagged. */
	if (r == 0)
		lock = image_store_lock(before.store, false, err);
	if (r == 0 && lock < 0)
		r = lock;
	if (r == 0)
		r = image_layout_import(before.store, path, name, &res, err);
	if (r == 0 && name)
		r = tag_name(before.store, name, &res, err);
	if (r < 0 && before.store)
		restore_names(before.store, &before, res.names);
	if (r == 0)
		print_loaded(&res, out);
	image_layout_result_clear(&res);
	engine_images_table_clear(&before);
	if (r < 0 && !str_has_prefix(err->msg, "import"))
		return error_wrap(err, "import %s", path);
	return r;
}

int engine_images_ensure_busybox(const struct engine_paths *paths, const char *image,
				 struct error *err)
{
	struct error ignored;
	cleanup_free char *canon = image_ref_normalize(image, &ignored);
	struct image_store *store = NULL;
	int r;

	if (!canon || strcmp(canon, IMAGE_BUSYBOX_REF))
		return 0;
	r = open_store(paths, &store, err);
	if (r == 0)
		r = image_busybox_ensure(store, err);
	image_store_free(store);
	return r;
}

int engine_images_save(const struct engine_paths *paths, const char *image, const char *output,
		       struct error *err)
{
	struct engine_images_table t = {0};
	size_t i;
	int r = engine_images_ensure_busybox(paths, image, err);

	if (r == 0)
		r = engine_images_load(paths, &t, err);
	if (r == 0)
		r = engine_images_lookup(&t, image, &i, err);
	if (r == 0)
		r = image_layout_save(t.store, t.rows[i].name, output, err);
	engine_images_table_clear(&t);
	if (r < 0 && !str_has_prefix(err->msg, "save "))
		return error_wrap(err, "save %s", image);
	return r;
}
