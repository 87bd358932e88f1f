/* json_read: strict, typed readers for untrusted JSON (config.json, seccomp profiles).
 *
 * A struct jreader carries the document's name and the error to fill; every reader checks
 * the type and range of one value and names its path in the error ("config.json:
 * process.args[2]: must be a string"). A JSON null counts as absent. The jr_opt_* readers
 * return 1 when the member was there, 0 when absent, -errno on a bad value; combine with
 * jr_need() for required members. json_objects returned are borrowed from their parent.
 */
#ifndef VESSEL_UTIL_JSON_READ_H
#define VESSEL_UTIL_JSON_READ_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

/* The path of a field, for messages: truncated with "..." when longer. */
struct jpath {
	char s[256];
};

/* base.key (just key when base is ""); returns p->s. */
const char *jkey(struct jpath *p, const char *base, const char *key);
/* base[i]; returns p->s. */
const char *jidx(struct jpath *p, const char *base, size_t i);

struct jreader {
	const char *doc; /* prefixes every message ("config.json"); NULL: none */
	struct error *err;
};

/* Parses len bytes (at most max, nesting at most depth) of strict JSON whose top level is an
 * object; errors give the line and column. *ret owned. */
int jr_parse(const struct jreader *r, const char *json, size_t len, size_t max, int depth,
	     json_object **ret);

int jr_fail(const struct jreader *r, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int jr_oom(const struct jreader *r);
/* found as returned by a jr_opt_* reader: -EINVAL "is required" when 0, else found. */
int jr_need(const struct jreader *r, int found, const char *base, const char *key);

/* The member's value, NULL when absent or null; fills p with its path. */
json_object *jr_member(json_object *o, const char *base, const char *key, struct jpath *p);

/* One value at path. */
int jr_cstr(const struct jreader *r, json_object *v, const char *path, const char **ret);
int jr_str(const struct jreader *r, json_object *v, const char *path, char **ret);
int jr_i64(const struct jreader *r, json_object *v, const char *path, int64_t min, int64_t max,
	   int64_t *ret);

/* One optional member of o. Strings: borrowed (cstr) or a strdup replacing *ret (str). */
int jr_opt_cstr(const struct jreader *r, json_object *o, const char *base, const char *key,
		const char **ret);
int jr_opt_str(const struct jreader *r, json_object *o, const char *base, const char *key,
	       char **ret);
int jr_opt_bool(const struct jreader *r, json_object *o, const char *base, const char *key,
		bool *ret);
int jr_opt_i64(const struct jreader *r, json_object *o, const char *base, const char *key,
	       int64_t min, int64_t max, int64_t *ret);
int jr_opt_u64(const struct jreader *r, json_object *o, const char *base, const char *key,
	       uint64_t max, uint64_t *ret);
/* An object or array member (type json_type_object or json_type_array). */
int jr_opt_typed(const struct jreader *r, json_object *o, const char *base, const char *key,
		 enum json_type type, json_object **ret);
/* An array member of at most max elements; *ret_n 0 when absent. */
int jr_opt_array(const struct jreader *r, json_object *o, const char *base, const char *key,
		 size_t max, json_object **ret, size_t *ret_n);

#endif
