/* records: the engine's containers as `vessel ps` shows them.
 *
 * <state>/containers/<id>/record.json holds what a container is (name, image, command, times,
 * exit code); <state>/names/<name> is a symlink to the id, created with symlinkat() so that
 * two `vessel run --name x` can never both get x. A record is replaced atomically.
 */
#ifndef VESSEL_ENGINE_RECORDS_H
#define VESSEL_ENGINE_RECORDS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/error.h"

#define ENGINE_ID_LEN 64

enum engine_status { ENGINE_RUNNING, ENGINE_EXITED, ENGINE_STATUS_MAX };

struct engine_record {
	char id[ENGINE_ID_LEN + 1];
	char *name, *image, *command;
	int64_t created, finished; /* seconds since the epoch; finished 0 while running */
	enum engine_status status;
	int exit_code;
	pid_t monitor;		/* the process that waits for the container */
	uint64_t monitor_start; /* its start time, to tell a reused pid */
	bool rm;		/* remove when it exits */
};

/* Claims name for id; EEXIST: "name x is already in use". */
int engine_name_claim(const char *state, const char *name, const char *id, struct error *err);
void engine_name_release(const char *state, const char *name);
int engine_record_save(const char *state, const struct engine_record *r, struct error *err);
/* Finds a container by name, full id or unique id prefix (at least 4 characters). */
int engine_record_find(const char *state, const char *key, struct engine_record *ret,
		       struct error *err);
/* All records, newest first; *ret owned (engine_records_free). */
int engine_record_list(const char *state, struct engine_record **ret, size_t *ret_n,
		       struct error *err);
void engine_record_clear(struct engine_record *r);
void engine_records_free(struct engine_record *v, size_t n);
/* Running, unless its monitor is gone (then it died with it: reported exited, code 255). */
enum engine_status engine_record_status(const struct engine_record *r);

#endif
