/* cpio-read: a strict reader of "newc" cpio archives for the tests (test-cpio, test-vm-image):
 * checks the magic, the 4-byte alignment of every header and data, and that the archive ends
 * with a trailer; concatenated archives are read in turn. */
#ifndef VESSEL_TESTS_CPIO_READ_H
#define VESSEL_TESTS_CPIO_READ_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct cpio_entry {
	char name[4096];
	unsigned mode, ino, nlink, uid, gid, mtime;
	size_t size;
	const uint8_t *data;
	size_t header_offset, data_offset;
};

struct cpio_list {
	struct cpio_entry *v;
	size_t n;
	unsigned trailers;
};

static inline bool cpio_read_hex(const uint8_t *p, unsigned *ret)
{
	char buf[9];

	memcpy(buf, p, 8);
	buf[8] = '\0';
	if (strspn(buf, "0123456789ABCDEFabcdef") != 8)
		return false;
	*ret = (unsigned)strtoul(buf, NULL, 16);
	return true;
}

/* One header at buf[*off]; 0, or -1 on any malformation. */
static inline int cpio_read_one(const uint8_t *buf, size_t len, size_t *off, struct cpio_entry *e)
{
	unsigned f[13];

	memset(e, 0, sizeof(*e));
	if (*off % 4 || *off + 110 > len || memcmp(buf + *off, "070701", 6))
		return -1;
	for (int i = 0; i < 13; i++)
		if (!cpio_read_hex(buf + *off + 6 + 8 * i, &f[i]))
			return -1;
	e->ino = f[0], e->mode = f[1], e->uid = f[2], e->gid = f[3], e->nlink = f[4];
	e->mtime = f[5], e->size = f[6];
	size_t namesize = f[11], name = *off + 110;
	if (namesize == 0 || namesize > sizeof(e->name) || name + namesize > len ||
	    buf[name + namesize - 1] != '\0')
		return -1;
	memcpy(e->name, buf + name, namesize);
	e->header_offset = *off;
	e->data_offset = (name + namesize + 3) & ~(size_t)3;
	if (e->data_offset + e->size > len)
		return -1;
	e->data = buf + e->data_offset;
	*off = (e->data_offset + e->size + 3) & ~(size_t)3;
	return 0;
}

/* Every member of buf (trailers not listed); 0, or -1 when malformed or without trailer. */
static inline int cpio_read_all(const uint8_t *buf, size_t len, struct cpio_list *ret)
{
	size_t off = 0;

	memset(ret, 0, sizeof(*ret));
	while (off < len) {
		struct cpio_entry e;
		if (buf[off] == '\0') { /* padding between archives */
			off++;
			continue;
		}
		if (cpio_read_one(buf, len, &off, &e) < 0 || off > len)
			return -1;
		if (!strcmp(e.name, "TRAILER!!!")) {
			ret->trailers++;
			continue;
		}
		struct cpio_entry *v = realloc(ret->v, (ret->n + 1) * sizeof(*v));
		if (!v)
			return -1;
		ret->v = v;
		ret->v[ret->n++] = e;
	}
	return ret->trailers > 0 ? 0 : -1;
}

static inline const struct cpio_entry *cpio_find(const struct cpio_list *l, const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->v[i].name, name))
			return &l->v[i];
	return NULL;
}

#endif
