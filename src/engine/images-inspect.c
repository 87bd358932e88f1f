/* engine_images: inspect and rmi (see images.h). */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/images-internal.h"
#include "image/ref.h"
#include "util/cleanup.h"
#include "util/str.h"

/* A NULL-terminated string vector as a JSON array, or null when absent. */
static struct json_object *strv_json(char *const *v)
{
	struct json_object *a = v ? json_object_new_array() : NULL;

	for (size_t i = 0; a && v[i]; i++)
		if (json_object_array_add(a, json_object_new_string(v[i])) < 0) {
			json_object_put(a);
			return NULL;
		}
	return a;
}

static struct json_object *str_json(const char *s)
{
	return json_object_new_string(s ? s : "");
}

/* Adds v (owned) to o; false when either is missing (out of memory). */
static bool add(struct json_object *o, const char *key, struct json_object *v, bool nullable)
{
	if (!o || (!v && !nullable) || json_object_object_add(o, key, v) < 0) {
		json_object_put(v);
		return false;
	}
	return true;
}

static struct json_object *labels_json(const struct image_config *c)
{
	struct json_object *o = c->n_labels ? json_object_new_object() : NULL;

	for (size_t i = 0; o && i < c->n_labels; i++)
		if (!add(o, c->labels[i].key, str_json(c->labels[i].value), false)) {
			json_object_put(o);
			return NULL;
		}
	return o;
}

static struct json_object *config_json(const struct image_config *c)
{
	struct json_object *o = json_object_new_object();
	bool ok = add(o, "Entrypoint", strv_json(c->entrypoint), true) &&
		  add(o, "Cmd", strv_json(c->cmd), true) &&
		  add(o, "Env", strv_json(c->env), true) &&
		  add(o, "WorkingDir", str_json(c->working_dir), false) &&
		  add(o, "User", str_json(c->user), false) &&
		  add(o, "Labels", labels_json(c), c->n_labels == 0);

	if (!ok) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static struct json_object *rootfs_json(const struct image_config *c)
{
	struct json_object *o = json_object_new_object();
	struct json_object *layers = json_object_new_array();

	for (size_t i = 0; layers && i < c->n_diff_ids; i++)
		if (json_object_array_add(layers, json_object_new_string(c->diff_ids[i])) < 0) {
			json_object_put(layers);
			layers = NULL;
		}
	if (!add(o, "Type", json_object_new_string("layers"), false) ||
	    !add(o, "Layers", layers, false)) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

/* Adds s to the array a unless it is there already, then frees s; false when out of memory. */
static bool add_unique(struct json_object *a, char *s)
{
	bool ok = s != NULL, seen = false;

	for (size_t j = 0; ok && j < json_object_array_length(a); j++)
		seen |= !strcmp(json_object_get_string(json_object_array_get_idx(a, j)), s);
	if (ok && !seen)
		ok = json_object_array_add(a, json_object_new_string(s)) == 0;
	free(s);
	return ok;
}

/* RepoTags and RepoDigests of every name of the image t->rows[k] is. */
static bool repo_json(const struct engine_images_table *t, size_t k, struct json_object *o)
{
	struct json_object *tags = json_object_new_array(), *digests = json_object_new_array();
	bool ok = tags && digests;

	for (size_t i = 0; ok && i < t->n; i++) {
		const struct engine_images_row *row = &t->rows[i];
		if (strcmp(row->id, t->rows[k].id))
			continue;
		if (strcmp(row->tag, "<none>"))
			ok = add_unique(tags, str_printf("%s:%s", row->repository, row->tag));
		ok = ok && add_unique(digests, str_printf("%s@%s", row->repository, row->digest));
	}
	ok = add(o, "RepoTags", tags, false) && ok;
	return add(o, "RepoDigests", digests, false) && ok;
}

static struct json_object *image_json(const struct engine_images_table *t, size_t k)
{
	const struct engine_images_row *row = &t->rows[k];
	const struct image_config *c = row->config;
	struct json_object *o = json_object_new_object();
	char created[32];

	engine_images_rfc3339(engine_images_created(row), created, sizeof(created));
	bool ok = add(o, "Id", json_object_new_string(row->id), false) && repo_json(t, k, o) &&
		  add(o, "Created", str_json(c->created ? c->created : created), false) &&
		  add(o, "Architecture", str_json(c->architecture), false) &&
		  (!c->variant || add(o, "Variant", str_json(c->variant), false)) &&
		  add(o, "Os", str_json(c->os), false) && add(o, "Config", config_json(c), false) &&
		  add(o, "RootFS", rootfs_json(c), false) &&
		  add(o, "Size", json_object_new_int64(row->size), false);

	if (!ok) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

int engine_images_inspect(const struct engine_paths *paths, char *const *images, size_t n,
			  FILE *out, struct error *err)
{
	struct engine_images_table t = {0};
	struct json_object *a = json_object_new_array();
	size_t k;
	int r = a ? 0 : error_set(err, ENOMEM, "out of memory");

	for (size_t i = 0; r == 0 && i < n; i++)
		r = engine_images_ensure_busybox(paths, images[i], err);
	if (r == 0)
		r = engine_images_load(paths, &t, err);
	for (size_t i = 0; r == 0 && i < n; i++) {
		r = engine_images_lookup(&t, images[i], &k, err);
		if (r == 0 && !t.rows[k].config)
			r = error_set(err, EBADMSG,
				      "image %s: its manifest or config is unreadable", images[i]);
		struct json_object *o = r == 0 ? image_json(&t, k) : NULL;
		if (r == 0 && (!o || json_object_array_add(a, o) < 0)) {
			json_object_put(o);
			r = error_set(err, ENOMEM, "out of memory");
		}
	}
	if (r == 0)
		fprintf(out, "%s\n",
			json_object_to_json_string_ext(a, JSON_C_TO_STRING_PRETTY |
							      JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(a);
	engine_images_table_clear(&t);
	return r < 0 ? error_wrap(err, "inspect") : 0;
}

/* Marks the rows arg names: the name itself, or every name of an image given by ID. */
static int plan_arg(const struct engine_images_table *t, const char *arg, bool force, bool *untag,
		    struct error *err)
{
	struct error ignored;
	cleanup_free char *canon = image_ref_normalize(arg, &ignored);
	size_t k, names = 0;
	int r = engine_images_lookup(t, arg, &k, err);

	if (r < 0)
		return r;
	if (canon && !strcmp(canon, t->rows[k].name)) {
		untag[k] = true;
		return 0;
	}
	for (size_t i = 0; i < t->n; i++)
		names += !strcmp(t->rows[i].id, t->rows[k].id);
	if (names > 1 && !force)
		return error_set(err, EBUSY,
				 "image %s: referenced by %zu names (%s:%s, ...): "
				 "remove them by name, or use -f",
				 arg, names, t->rows[k].repository, t->rows[k].tag);
	for (size_t i = 0; i < t->n; i++)
		untag[i] |= !strcmp(t->rows[i].id, t->rows[k].id);
	return 0;
}

static void print_untagged(const struct engine_images_row *row, FILE *out)
{
	if (strcmp(row->tag, "<none>"))
		fprintf(out, "Untagged: %s:%s\n", row->repository, row->tag);
	else
		fprintf(out, "Untagged: %s@%s\n", row->repository, row->digest);
}

/* "Deleted: ID" for each untagged image that no remaining name refers to. */
static void print_deleted(const struct engine_images_table *t, const bool *untag, FILE *out)
{
	for (size_t i = 0; i < t->n; i++) {
		bool kept = false, dup = false;
		if (!untag[i])
			continue;
		for (size_t j = 0; j < t->n; j++) {
			kept |= !untag[j] && !strcmp(t->rows[j].id, t->rows[i].id);
			dup |= j < i && untag[j] && !strcmp(t->rows[j].id, t->rows[i].id);
		}
		if (!kept && !dup)
			fprintf(out, "Deleted: %s\n", t->rows[i].id);
	}
}

int engine_images_remove(const struct engine_paths *paths, char *const *images, size_t n,
			 bool force, FILE *out, struct error *err)
{
	struct engine_images_table t = {0};
	cleanup_free bool *untag = NULL;
	int r = engine_images_load(paths, &t, err);

	if (r == 0) {
		untag = calloc(t.n + 1, sizeof(bool));
		r = untag ? 0 : error_set(err, ENOMEM, "out of memory");
	}
	for (size_t i = 0; r == 0 && i < n; i++)
		r = plan_arg(&t, images[i], force, untag, err);
	for (size_t i = 0; r == 0 && i < t.n; i++) {
		if (!untag[i])
			continue;
		r = image_store_untag(t.store, t.rows[i].name, err);
		if (r == -ENOENT) /* removed meanwhile by someone else: the same outcome */
			r = 0;
		if (r == 0)
			print_untagged(&t.rows[i], out);
	}
	if (r == 0)
		r = engine_images_gc(t.store, NULL, err);
	if (r == 0)
		print_deleted(&t, untag, out);
	engine_images_table_clear(&t);
	return r < 0 ? error_wrap(err, "rmi") : 0;
}
