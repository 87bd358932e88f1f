/* image_manifest: image configs (see manifest.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "image/json-read.h"
#include "image/manifest.h"
#include "util/cleanup.h"

#define STRV_MAX   10000
#define LABELS_MAX 10000

static int parse_labels(struct json_object *cfg, struct image_config *c, struct error *err)
{
	struct json_object *l;
	size_t n = 0;
	int r;

	r = image_json_object(cfg, "config", "Labels", false, &l, err);
	if (r < 0 || !l)
		return r;
	if ((size_t)json_object_object_length(l) > LABELS_MAX)
		return error_set(err, E2BIG, "config.Labels: more than %d entries", LABELS_MAX);
	c->labels = calloc((size_t)json_object_object_length(l) + 1, sizeof(*c->labels));
	if (!c->labels)
		return error_set(err, ENOMEM, "out of memory");
	json_object_object_foreach (l, k, v) {
		c->labels[n].key = strdup(k);
		c->n_labels = ++n;
		if (!c->labels[n - 1].key)
			return error_set(err, ENOMEM, "out of memory");
		r = image_json_string(l, "config.Labels", k, true, &c->labels[n - 1].value, err);
		if (r < 0)
			return r;
	}
	return 0;
}

/* The "config" member: what the engine turns into a process. */
static int parse_run_config(struct json_object *o, struct image_config *c, struct error *err)
{
	struct json_object *cfg;
	int r;

	r = image_json_object(o, "", "config", false, &cfg, err);
	if (r < 0 || !cfg)
		return r;
	r = image_json_strv(cfg, "config", "Entrypoint", STRV_MAX, &c->entrypoint, err);
	if (r < 0)
		return r;
	r = image_json_strv(cfg, "config", "Cmd", STRV_MAX, &c->cmd, err);
	if (r < 0)
		return r;
	r = image_json_strv(cfg, "config", "Env", STRV_MAX, &c->env, err);
	if (r < 0)
		return r;
	r = image_json_string(cfg, "config", "WorkingDir", false, &c->working_dir, err);
	if (r < 0)
		return r;
	r = image_json_string(cfg, "config", "User", false, &c->user, err);
	if (r < 0)
		return r;
	return parse_labels(cfg, c, err);
}

static int parse_rootfs(struct json_object *o, struct image_config *c, struct error *err)
{
	cleanup_free char *type = NULL;
	struct json_object *rootfs;
	int r;

	r = image_json_object(o, "", "rootfs", true, &rootfs, err);
	if (r < 0)
		return r;
	r = image_json_string(rootfs, "rootfs", "type", true, &type, err);
	if (r < 0)
		return r;
	if (strcmp(type, "layers") != 0)
		return error_set(err, EINVAL, "rootfs.type: \"%.64s\" is not \"layers\"", type);
	r = image_json_strv(rootfs, "rootfs", "diff_ids", IMAGE_MANIFEST_MAX_ITEMS, &c->diff_ids,
			    err);
	if (r < 0)
		return r;
	if (!c->diff_ids)
		return error_set(err, EINVAL, "rootfs.diff_ids: missing");
	for (c->n_diff_ids = 0; c->diff_ids[c->n_diff_ids]; c->n_diff_ids++) {
		r = image_digest_validate(c->diff_ids[c->n_diff_ids], err);
		if (r < 0)
			return error_wrap(err, "rootfs.diff_ids[%zu]", c->n_diff_ids);
	}
	return 0;
}

static int parse_config(struct json_object *o, struct image_config *c, struct error *err)
{
	int r;

	r = image_json_string(o, "", "architecture", true, &c->architecture, err);
	if (r < 0)
		return r;
	r = image_json_string(o, "", "os", true, &c->os, err);
	if (r < 0)
		return r;
	r = image_json_string(o, "", "variant", false, &c->variant, err);
	if (r < 0)
		return r;
	r = image_json_string(o, "", "created", false, &c->created, err);
	if (r < 0)
		return r;
	r = parse_run_config(o, c, err);
	if (r < 0)
		return r;
	return parse_rootfs(o, c, err);
}

int image_config_parse(const char *buf, size_t len, struct image_config **ret, struct error *err)
{
	cleanup_json struct json_object *o = NULL;
	struct image_config *c;
	int r;

	*ret = NULL;
	r = image_json_parse(buf, len, IMAGE_CONFIG_MAX_BYTES, &o, err);
	if (r < 0)
		return error_wrap(err, "image config");
	c = calloc(1, sizeof(*c));
	if (!c)
		return error_set(err, ENOMEM, "image config: out of memory");
	r = parse_config(o, c, err);
	if (r < 0) {
		image_config_free(c);
		return error_wrap(err, "image config");
	}
	*ret = c;
	return 0;
}

struct image_config *image_config_free(struct image_config *c)
{
	if (!c)
		return NULL;
	free(c->architecture);
	free(c->os);
	free(c->variant);
	free(c->created);
	strv_free(c->entrypoint);
	strv_free(c->cmd);
	strv_free(c->env);
	free(c->working_dir);
	free(c->user);
	for (size_t i = 0; i < c->n_labels; i++) {
		free(c->labels[i].key);
		free(c->labels[i].value);
	}
	free(c->labels);
	strv_free(c->diff_ids);
	free(c);
	return NULL;
}
