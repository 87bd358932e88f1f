/* image_json: see json-read.h */
#include "image/json-read.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"

#define STRING_MAX (64u << 10)

void image_json_putp(struct json_object **o)
{
	json_object_put(*o);
}

int image_json_parse_any(const char *buf, size_t len, size_t max, struct json_object **ret,
			 struct error *err)
{
	struct json_tokener *tok;
	struct json_object *o;
	size_t end;

	*ret = NULL;
	if (len > max)
		return error_set(err, EFBIG, "%zu bytes, more than the limit of %zu", len, max);
	if (len == 0 || memchr(buf, '\0', len))
		return error_set(err, EBADMSG, "not JSON text");
	tok = json_tokener_new_ex(IMAGE_JSON_DEPTH);
	if (!tok)
		return error_set(err, ENOMEM, "out of memory");
	o = json_tokener_parse_ex(tok, buf, (int)len);
	if (!o) {
		enum json_tokener_error e = json_tokener_get_error(tok);

		json_tokener_free(tok);
		return error_set(err, EBADMSG, "invalid JSON: %s",
				 e == json_tokener_continue ? "truncated"
							    : json_tokener_error_desc(e));
	}
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	for (; end < len; end++) {
		if (!strchr(" \t\r\n", buf[end])) {
			json_object_put(o);
			return error_set(err, EBADMSG, "invalid JSON: data after the document");
		}
	}
	*ret = o;
	return 0;
}

int image_json_parse(const char *buf, size_t len, size_t max, struct json_object **ret,
		     struct error *err)
{
	int r = image_json_parse_any(buf, len, max, ret, err);

	if (r == 0 && !json_object_is_type(*ret, json_type_object)) {
		json_object_put(*ret);
		*ret = NULL;
		return error_set(err, EBADMSG, "not a JSON object");
	}
	return r;
}

/* The member or NULL (absent or null); -EINVAL when required and missing. */
static int member(struct json_object *obj, const char *field, const char *key, bool required,
		  struct json_object **ret, struct error *err)
{
	*ret = NULL;
	if (!json_object_object_get_ex(obj, key, ret) || !*ret) {
		*ret = NULL;
		if (required)
			return error_set(err, EINVAL, "%s%s%s: missing", field, *field ? "." : "",
					 key);
	}
	return 0;
}

static int typed(struct json_object *obj, const char *field, const char *key, bool required,
		 enum json_type type, const char *what, struct json_object **ret, struct error *err)
{
	int r = member(obj, field, key, required, ret, err);

	if (r < 0 || !*ret)
		return r;
	if (!json_object_is_type(*ret, type))
		return error_set(err, EINVAL, "%s%s%s: not %s", field, *field ? "." : "", key,
				 what);
	return 0;
}

static int dup_string(struct json_object *s, const char *field, const char *key, char **ret,
		      struct error *err)
{
	const char *v = json_object_get_string(s);
	size_t n = (size_t)json_object_get_string_len(s);

	if (n > STRING_MAX || strlen(v) != n)
		return error_set(err, EINVAL, "%s%s%s: %s", field, *field ? "." : "", key,
				 n > STRING_MAX ? "too long" : "contains a NUL byte");
	*ret = strdup(v);
	return *ret ? 0 : error_set(err, ENOMEM, "out of memory");
}

int image_json_string(struct json_object *obj, const char *field, const char *key, bool required,
		      char **ret, struct error *err)
{
	struct json_object *s;
	int r;

	*ret = NULL;
	r = typed(obj, field, key, required, json_type_string, "a string", &s, err);
	if (r < 0 || !s)
		return r;
	return dup_string(s, field, key, ret, err);
}

int image_json_int64(struct json_object *obj, const char *field, const char *key, bool required,
		     int64_t min, int64_t max, int64_t *ret, struct error *err)
{
	struct json_object *i;
	int64_t v;
	int r;

	r = typed(obj, field, key, required, json_type_int, "an integer", &i, err);
	if (r < 0 || !i)
		return r;
	errno = 0;
	v = json_object_get_int64(i);
	if (errno == ERANGE || v < min || v > max)
		return error_set(err, ERANGE, "%s%s%s: out of range", field, *field ? "." : "",
				 key);
	*ret = v;
	return 0;
}

int image_json_array(struct json_object *obj, const char *field, const char *key, bool required,
		     size_t max, struct json_object **ret, size_t *ret_n, struct error *err)
{
	int r;

	*ret_n = 0;
	r = typed(obj, field, key, required, json_type_array, "an array", ret, err);
	if (r < 0 || !*ret)
		return r;
	*ret_n = json_object_array_length(*ret);
	if (*ret_n > max)
		return error_set(err, E2BIG, "%s%s%s: %zu entries, more than %zu", field,
				 *field ? "." : "", key, *ret_n, max);
	return 0;
}

int image_json_object(struct json_object *obj, const char *field, const char *key, bool required,
		      struct json_object **ret, struct error *err)
{
	return typed(obj, field, key, required, json_type_object, "an object", ret, err);
}

int image_json_strv(struct json_object *obj, const char *field, const char *key, size_t max,
		    char ***ret, struct error *err)
{
	struct json_object *a;
	cleanup_strv char **v = NULL;
	char name[256];
	size_t n;
	int r;

	*ret = NULL;
	r = image_json_array(obj, field, key, false, max, &a, &n, err);
	if (r < 0 || !a)
		return r;
	v = calloc(n + 1, sizeof(*v));
	if (!v)
		return error_set(err, ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		struct json_object *s = json_object_array_get_idx(a, i);

		snprintf(name, sizeof(name), "%s[%zu]", key, i);
		if (!json_object_is_type(s, json_type_string))
			return error_set(err, EINVAL, "%s%s%s: not a string", field,
					 *field ? "." : "", name);
		r = dup_string(s, field, name, &v[i], err);
		if (r < 0)
			return r;
	}
	*ret = TAKE_PTR(v);
	return 0;
}
