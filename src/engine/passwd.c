/* passwd: see passwd.h */
#include "engine/passwd.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/path.h"
#include "util/str.h"

#define DB_MAX (1 << 20)

/* Reads /etc/<name> of the rootfs (at most DB_MAX bytes); NULL if absent. */
static char *read_db(int rootfs_fd, const char *name)
{
	struct error ignored;
	char path[32];
	char *buf;

	if (rootfs_fd < 0)
		return NULL;
	snprintf(path, sizeof(path), "/etc/%s", name);
	cleanup_fd int fd = path_open_in_root(rootfs_fd, path, O_RDONLY | O_CLOEXEC, 0, &ignored);
	if (fd < 0 || !(buf = malloc(DB_MAX + 1)))
		return NULL;
	ssize_t n = read(fd, buf, DB_MAX);
	if (n < 0) {
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	return buf;
}

/* Finds the line whose field 0 (name) or field 2 (id) matches key; splits it into fields. */
static bool find_entry(char *db, const char *key, bool numeric, char *fields[4])
{
	char *save = NULL;

	for (char *line = strtok_r(db, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *f[4] = {NULL}, *p = line;
		for (int i = 0; i < 4 && p; i++) {
			f[i] = p;
			p = strchr(p, ':');
			if (p)
				*p++ = '\0';
		}
		if (f[3] && !strcmp(numeric ? f[2] : f[0], key)) {
			memcpy(fields, f, sizeof(f)); /* f[3]: passwd's gid, group's members */
			return true;
		}
	}
	return false;
}

static int id_of(const char *s, long *ret)
{
	return str_to_long(s, 0, UINT32_MAX - 1, ret);
}

/* group: a name or a number; its gid from /etc/group when named. */
static int resolve_group(int rootfs_fd, const char *group, gid_t *ret, struct error *err)
{
	long v;
	char *f[4];

	if (id_of(group, &v) == 0) {
		*ret = (gid_t)v;
		return 0;
	}
	cleanup_free char *db = read_db(rootfs_fd, "group");
	if (!db || !find_entry(db, group, false, f) || id_of(f[2], &v) < 0)
		return error_set(err, ENOENT, "group %s: not found in the image's /etc/group",
				 group);
	*ret = (gid_t)v;
	return 0;
}

static bool is_member(const char *members, const char *user)
{
	size_t n = strlen(user);

	for (const char *p = members; p && *p;) {
		if (!strncmp(p, user, n) && (p[n] == ',' || p[n] == '\0'))
			return true;
		p = strchr(p, ',');
		p = p ? p + 1 : NULL;
	}
	return false;
}

/* The supplementary groups listing the user by name. */
static void member_groups(int rootfs_fd, const char *name, struct engine_user *u)
{
	cleanup_free char *db = read_db(rootfs_fd, "group");
	char *save = NULL;
	long v;

	for (char *line = db ? strtok_r(db, "\n", &save) : NULL; line && u->n_gids < 64;
	     line = strtok_r(NULL, "\n", &save)) {
		char *gid = strchr(line, ':') ? strchr(strchr(line, ':') + 1, ':') : NULL;
		char *members = gid ? strchr(gid + 1, ':') : NULL;
		if (!members)
			continue;
		*members++ = '\0';
		if (is_member(members, name) && id_of(gid + 1, &v) == 0)
			u->gids[u->n_gids++] = (gid_t)v;
	}
}

int engine_user_resolve(int rootfs_fd, const char *spec, struct engine_user *ret, struct error *err)
{
	cleanup_free char *user = strdup(spec ? spec : "");
	cleanup_free char *db = NULL;
	char *group, *f[4];
	long v;

	*ret = (struct engine_user){0};
	if (!user)
		return error_set(err, ENOMEM, "out of memory");
	group = strchr(user, ':');
	if (group)
		*group++ = '\0';
	if (*user) {
		bool numeric = id_of(user, &v) == 0;
		db = read_db(rootfs_fd, "passwd");
		if (db && find_entry(db, user, numeric, f) && id_of(f[2], &v) == 0) {
			long gid;
			ret->uid = (uid_t)v;
			ret->gid = id_of(f[3], &gid) == 0 ? (gid_t)gid : 0;
			member_groups(rootfs_fd, f[0], ret);
		} else if (numeric) {
			ret->uid = (uid_t)v;
		} else {
			return error_set(err, ENOENT,
					 "user %s: not found in the image's /etc/passwd", user);
		}
	}
	if (group && *group)
		return resolve_group(rootfs_fd, group, &ret->gid, err);
	return 0;
}
