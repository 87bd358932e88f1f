/* json_read: see json-read.h */
#include "util/json-read.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *finish(struct jpath *p, int n)
{
	if (n < 0 || (size_t)n >= sizeof(p->s))
		strcpy(p->s + sizeof(p->s) - 4, "...");
	return p->s;
}

const char *jkey(struct jpath *p, const char *base, const char *key)
{
	return finish(p, snprintf(p->s, sizeof(p->s), "%s%s%s", base, *base ? "." : "", key));
}

const char *jidx(struct jpath *p, const char *base, size_t i)
{
	return finish(p, snprintf(p->s, sizeof(p->s), "%s[%zu]", base, i));
}

int jr_fail(const struct jreader *r, const char *path, const char *fmt, ...)
{
	char what[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return error_set(r->err, EINVAL, "%s%s%s%s%s", r->doc ? r->doc : "", r->doc ? ": " : "",
			 path, *path ? ": " : "", what);
}

int jr_oom(const struct jreader *r)
{
	return error_set(r->err, ENOMEM, "%s%sout of memory", r->doc ? r->doc : "",
			 r->doc ? ": " : "");
}

int jr_need(const struct jreader *r, int found, const char *base, const char *key)
{
	struct jpath p;

	if (found == 0)
		return jr_fail(r, jkey(&p, base, key), "is required");
	return found;
}

static int fail_at(const struct jreader *r, const char *json, size_t off, const char *what)
{
	unsigned line = 1, col = 1;

	for (size_t i = 0; i < off; i++, col++)
		if (json[i] == '\n')
			line++, col = 0;
	return jr_fail(r, "", "%u:%u: %s", line, col, what);
}

int jr_parse(const struct jreader *r, const char *json, size_t len, size_t max, int depth,
	     json_object **ret)
{
	struct json_tokener *tok;
	json_object *o;

	*ret = NULL;
	if (len > max)
		return error_set(r->err, EFBIG, "%s%slarger than %zu bytes", r->doc ? r->doc : "",
				 r->doc ? ": " : "", max);
	tok = json_tokener_new_ex(depth);
	if (!tok)
		return jr_oom(r);
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	o = json_tokener_parse_ex(tok, len ? json : "", (int)len);
	enum json_tokener_error e = json_tokener_get_error(tok);
	size_t end = json_tokener_get_parse_end(tok);
	if (e == json_tokener_continue) {
		/* a bare scalar ends only at a terminator; the NUL completes it or fails */
		o = json_tokener_parse_ex(tok, "", 1);
		e = json_tokener_get_error(tok);
		end = len;
	}
	json_tokener_free(tok);
	if (e != json_tokener_success)
		return fail_at(r, json, end > len ? len : end,
			       e == json_tokener_continue ? "unexpected end of data"
							  : json_tokener_error_desc(e));
	for (size_t i = end; i < len; i++) {
		if (!json[i] || !strchr(" \t\r\n", json[i])) {
			json_object_put(o);
			return fail_at(r, json, i, "unexpected data after the top-level value");
		}
	}
	if (!json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return jr_fail(r, "", "the top level must be a JSON object");
	}
	*ret = o;
	return 0;
}

json_object *jr_member(json_object *o, const char *base, const char *key, struct jpath *p)
{
	json_object *v = NULL;

	jkey(p, base, key);
	if (!json_object_object_get_ex(o, key, &v))
		return NULL;
	return v;
}

int jr_cstr(const struct jreader *r, json_object *v, const char *path, const char **ret)
{
	if (!json_object_is_type(v, json_type_string))
		return jr_fail(r, path, "must be a string");
	const char *s = json_object_get_string(v);
	if ((size_t)json_object_get_string_len(v) != strlen(s))
		return jr_fail(r, path, "must not contain NUL");
	*ret = s;
	return 0;
}

int jr_str(const struct jreader *r, json_object *v, const char *path, char **ret)
{
	const char *s = NULL;
	int res = jr_cstr(r, v, path, &s);

	if (res < 0)
		return res;
	char *d = strdup(s);
	if (!d)
		return jr_oom(r);
	free(*ret);
	*ret = d;
	return 0;
}

int jr_i64(const struct jreader *r, json_object *v, const char *path, int64_t min, int64_t max,
	   int64_t *ret)
{
	if (!json_object_is_type(v, json_type_int))
		return jr_fail(r, path, "must be an integer");
	int64_t x = json_object_get_int64(v);
	/* json-c clamps what does not fit int64 to INT64_MAX/MIN; uint64 tells the truth */
	if ((x == INT64_MAX && json_object_get_uint64(v) > (uint64_t)INT64_MAX) || x < min ||
	    x > max)
		return jr_fail(r, path, "out of range (%" PRId64 "..%" PRId64 ")", min, max);
	*ret = x;
	return 0;
}

/* The optional readers: look the member up, read it with the value reader. */
#define OPT(call)                                                                                  \
	do {                                                                                       \
		struct jpath p;                                                                    \
		json_object *v = jr_member(o, base, key, &p);                                      \
		if (!v)                                                                            \
			return 0;                                                                  \
		int res = (call);                                                                  \
		return res < 0 ? res : 1;                                                          \
	} while (0)

int jr_opt_cstr(const struct jreader *r, json_object *o, const char *base, const char *key,
		const char **ret)
{
	OPT(jr_cstr(r, v, p.s, ret));
}

int jr_opt_str(const struct jreader *r, json_object *o, const char *base, const char *key,
	       char **ret)
{
	OPT(jr_str(r, v, p.s, ret));
}

int jr_opt_i64(const struct jreader *r, json_object *o, const char *base, const char *key,
	       int64_t min, int64_t max, int64_t *ret)
{
	OPT(jr_i64(r, v, p.s, min, max, ret));
}

int jr_opt_bool(const struct jreader *r, json_object *o, const char *base, const char *key,
		bool *ret)
{
	struct jpath p;
	json_object *v = jr_member(o, base, key, &p);

	if (!v)
		return 0;
	if (!json_object_is_type(v, json_type_boolean))
		return jr_fail(r, p.s, "must be a boolean");
	*ret = json_object_get_boolean(v);
	return 1;
}

int jr_opt_u64(const struct jreader *r, json_object *o, const char *base, const char *key,
	       uint64_t max, uint64_t *ret)
{
	struct jpath p;
	json_object *v = jr_member(o, base, key, &p);

	if (!v)
		return 0;
	if (!json_object_is_type(v, json_type_int))
		return jr_fail(r, p.s, "must be an integer");
	/* json-c keeps values above INT64_MAX as uint64; negative ones read as int64 */
	uint64_t x = json_object_get_uint64(v);
	if (json_object_get_int64(v) < 0 || x > max)
		return jr_fail(r, p.s, "out of range (0..%" PRIu64 ")", max);
	*ret = x;
	return 1;
}

int jr_opt_typed(const struct jreader *r, json_object *o, const char *base, const char *key,
		 enum json_type type, json_object **ret)
{
	struct jpath p;
	json_object *v = jr_member(o, base, key, &p);

	if (!v)
		return 0;
	if (!json_object_is_type(v, type))
		return jr_fail(r, p.s, "must be an %s",
			       type == json_type_array ? "array" : "object");
	*ret = v;
	return 1;
}

int jr_opt_array(const struct jreader *r, json_object *o, const char *base, const char *key,
		 size_t max, json_object **ret, size_t *ret_n)
{
	int found = jr_opt_typed(r, o, base, key, json_type_array, ret);

	*ret_n = found > 0 ? json_object_array_length(*ret) : 0;
	if (*ret_n > max) {
		struct jpath p;
		return jr_fail(r, jkey(&p, base, key), "too many entries (%zu, at most %zu)",
			       *ret_n, max);
	}
	return found;
}
