/* image_json: strict readers for untrusted JSON documents (manifests, indexes, configs).
 *
 * Every helper checks the type, bounds lengths, treats a JSON null like an absent member and
 * names the field in its error ("layers[2].digest: not a string"). field is the path of obj
 * for messages ("" for the top level); obj and returned json_objects are borrowed.
 */
#ifndef VESSEL_IMAGE_JSON_READ_H
#define VESSEL_IMAGE_JSON_READ_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

#define IMAGE_JSON_DEPTH 64

/* Parses one JSON object of at most max bytes (nothing but whitespace after it); *ret owned. */
int image_json_parse(const char *buf, size_t len, size_t max, struct json_object **ret,
		     struct error *err);
/* The same for any JSON value at the top. */
int image_json_parse_any(const char *buf, size_t len, size_t max, struct json_object **ret,
			 struct error *err);
/* A string member without NUL bytes, at most 64 KiB; *ret owned, NULL when absent and optional. */
int image_json_string(struct json_object *obj, const char *field, const char *key, bool required,
		      char **ret, struct error *err);
/* An integer member in [min, max]; *ret untouched when absent and optional. */
int image_json_int64(struct json_object *obj, const char *field, const char *key, bool required,
		     int64_t min, int64_t max, int64_t *ret, struct error *err);
/* An array member of at most max elements; *ret NULL and *ret_n 0 when absent and optional. */
int image_json_array(struct json_object *obj, const char *field, const char *key, bool required,
		     size_t max, struct json_object **ret, size_t *ret_n, struct error *err);
/* An object member; *ret NULL when absent and optional. */
int image_json_object(struct json_object *obj, const char *field, const char *key, bool required,
		      struct json_object **ret, struct error *err);
/* An array of at most max strings as a NULL-terminated owned vector; *ret NULL when absent. */
int image_json_strv(struct json_object *obj, const char *field, const char *key, size_t max,
		    char ***ret, struct error *err);

void image_json_putp(struct json_object **o);
#define cleanup_json __attribute__((__cleanup__(image_json_putp)))

#endif
