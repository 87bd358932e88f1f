/* engine_images: garbage collection of the store's blobs and unpacked layers (see images.h). */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "engine/images.h"
#include "image/manifest.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/str.h"

#define MAX_DEPTH 4
/* An unpack directory ("<hex>.tmp-XXXXXX") this old is left over from a crash. */
#define STALE_SECS (60 * 60)

typedef char hex_name[IMAGE_DIGEST_HEX_LEN + 1];

/* A set of 64-hex names: appended while marking, sorted once before the sweep. */
struct marks {
	hex_name *v;
	size_t n, cap;
};

struct gc {
	struct image_store *store;
	struct marks blobs, layers;
};

static int mark(struct marks *m, const char *digest, struct error *err)
{
	if (!image_digest_is_valid(digest))
		return error_set(err, EINVAL, "bad digest %.80s", digest);
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 64;
		hex_name *v = reallocarray(m->v, cap, sizeof(*v));
		if (!v)
			return error_set(err, ENOMEM, "out of memory");
		m->v = v;
		m->cap = cap;
	}
	memcpy(m->v[m->n++], image_digest_hex(digest), sizeof(hex_name));
	return 0;
}

static int cmp_hex(const void *a, const void *b)
{
	return strcmp(a, b);
}

static bool marked(const struct marks *m, const char *hex)
{
	return m->n && bsearch(hex, m->v, m->n, sizeof(*m->v), cmp_hex);
}

static bool is_hex64(const char *s)
{
	size_t n = strspn(s, "0123456789abcdef");

	return n == IMAGE_DIGEST_HEX_LEN && s[n] == '\0';
}

/* Reads a blob; *ret NULL (and 0) when it is not stored. */
static int read_doc(struct gc *gc, const char *digest, size_t max, char **ret, size_t *ret_len,
		    struct error *err)
{
	int r = image_store_read_blob(gc->store, digest, max, ret, ret_len, err);

	*ret = r < 0 ? NULL : *ret;
	return r == -ENOENT ? 0 : r;
}

static int walk_config(struct gc *gc, const char *digest, struct error *err)
{
	cleanup_free char *buf = NULL;
	struct image_config *c = NULL;
	size_t len;
	int r = read_doc(gc, digest, IMAGE_CONFIG_MAX_BYTES, &buf, &len, err);

	if (r < 0 || !buf)
		return r;
	r = image_config_parse(buf, len, &c, err);
	for (size_t i = 0; r == 0 && i < c->n_diff_ids; i++)
		r = mark(&gc->layers, c->diff_ids[i], err);
	image_config_free(c);
	return r < 0 ? error_wrap(err, "config %s", digest) : 0;
}

static int walk_manifest(struct gc *gc, const char *buf, size_t len, struct error *err)
{
	struct image_manifest *m = NULL;
	int r = image_manifest_parse(buf, len, &m, err);

	if (r == 0)
		r = mark(&gc->blobs, m->config.digest, err);
	for (size_t i = 0; r == 0 && i < m->n_layers; i++)
		r = mark(&gc->blobs, m->layers[i].digest, err);
	if (r == 0)
		r = walk_config(gc, m->config.digest, err);
	image_manifest_free(m);
	return r;
}

static int walk(struct gc *gc, const char *digest, int depth, struct error *err);

static int walk_index(struct gc *gc, const char *buf, size_t len, int depth, struct error *err)
{
	struct image_index *idx = NULL;
	int r = image_index_parse(buf, len, &idx, err);

	for (size_t i = 0; r == 0 && i < idx->n_manifests; i++)
		r = walk(gc, idx->manifests[i].digest, depth + 1, err);
	image_index_free(idx);
	return r;
}

/* Marks digest (a manifest or an index) and everything it reaches. */
static int walk(struct gc *gc, const char *digest, int depth, struct error *err)
{
	cleanup_free char *buf = NULL;
	enum image_media_kind kind;
	size_t len;
	int r;

	if (depth > MAX_DEPTH)
		return error_set(err, ELOOP, "%s: indexes nested too deep", digest);
	r = mark(&gc->blobs, digest, err);
	if (r == 0)
		r = read_doc(gc, digest, IMAGE_MANIFEST_MAX_BYTES, &buf, &len, err);
	if (r < 0 || !buf)
		return r;
	r = image_manifest_detect(buf, len, NULL, &kind, err);
	if (r == 0 && kind == IMAGE_MEDIA_INDEX)
		r = walk_index(gc, buf, len, depth, err);
	else if (r == 0 && kind == IMAGE_MEDIA_MANIFEST)
		r = walk_manifest(gc, buf, len, err);
	else if (r == 0)
		r = error_set(err, EINVAL, "neither a manifest nor an index");
	return r < 0 ? error_wrap(err, "%s", digest) : 0;
}

/* The layers under containers (<root>/containers/<id>/layers: one diff_id a line) stay, even
 * when no name points at their image any more: overlayfs must not lose a lower layer. */
static int mark_containers(struct gc *gc, struct error *err)
{
	cleanup_free char *dir = str_printf("%s/containers", image_store_root(gc->store));
	cleanup_dir DIR *d = dir ? opendir(dir) : NULL;
	char line[IMAGE_DIGEST_SIZE + 2];
	int r = 0;

	for (struct dirent *e; r == 0 && d && (e = readdir(d));) {
		cleanup_free char *path = str_printf("%s/%s/layers", dir, e->d_name);
		cleanup_file FILE *f = path && e->d_name[0] != '.' ? fopen(path, "re") : NULL;
		while (r == 0 && f && fgets(line, sizeof(line), f)) {
			line[strcspn(line, "\n")] = '\0';
			if (image_digest_is_valid(line))
				r = mark(&gc->layers, line, err);
		}
	}
	return r;
}

static int mark_all(struct gc *gc, struct error *err)
{
	struct image_store_entry *v = NULL;
	size_t n = 0;
	int r = image_store_list(gc->store, &v, &n, err);

	if (r == 0)
		r = mark_containers(gc, err);
	for (size_t i = 0; r == 0 && i < n; i++) {
		r = walk(gc, v[i].digest, 0, err);
		if (r < 0)
			error_wrap(err, "image %s", v[i].name);
	}
	image_store_entries_free(v, n);
	if (r < 0)
		return r;
	if (gc->blobs.n)
		qsort(gc->blobs.v, gc->blobs.n, sizeof(hex_name), cmp_hex);
	if (gc->layers.n)
		qsort(gc->layers.v, gc->layers.n, sizeof(hex_name), cmp_hex);
	return 0;
}

/* Opens <root>/sub as a directory stream; *ret NULL when it does not exist. */
static int open_sub(struct gc *gc, const char *sub, DIR **ret, struct error *err)
{
	cleanup_free char *path = str_printf("%s/%s", image_store_root(gc->store), sub);
	int fd;

	*ret = NULL;
	if (!path)
		return error_set(err, ENOMEM, "out of memory");
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ENOENT ? 0 : error_errno(err, "open %s", path);
	*ret = fdopendir(fd);
	if (!*ret) {
		close(fd);
		return error_errno(err, "open %s", path);
	}
	return 0;
}

static int sweep_blobs(struct gc *gc, struct engine_images_gc_stats *st, struct error *err)
{
	cleanup_dir DIR *d = NULL;
	struct dirent *de;
	struct stat s;
	int r = open_sub(gc, "blobs/sha256", &d, err);

	if (r < 0 || !d)
		return r;
	while ((errno = 0, de = readdir(d))) {
		if (!is_hex64(de->d_name) || marked(&gc->blobs, de->d_name))
			continue;
		if (fstatat(dirfd(d), de->d_name, &s, AT_SYMLINK_NOFOLLOW) < 0 ||
		    unlinkat(dirfd(d), de->d_name, 0) < 0)
			return error_errno(err, "remove blob sha256:%s", de->d_name);
		st->blobs++;
		st->bytes += s.st_size;
	}
	return errno ? error_errno(err, "read blobs/sha256") : 0;
}

/* An unpacked layer nobody reaches, or an unpack directory left over from a crash. */
static bool layer_garbage(struct gc *gc, DIR *d, const char *name)
{
	const char *tmp = strstr(name, ".tmp-");
	char hex[IMAGE_DIGEST_HEX_LEN + 1];
	struct stat s;

	if (is_hex64(name))
		return !marked(&gc->layers, name);
	if (!tmp || tmp - name != IMAGE_DIGEST_HEX_LEN)
		return false;
	snprintf(hex, sizeof(hex), "%.*s", IMAGE_DIGEST_HEX_LEN, name);
	if (!is_hex64(hex) || fstatat(dirfd(d), name, &s, AT_SYMLINK_NOFOLLOW) < 0)
		return false;
	return s.st_mtime < time(NULL) - STALE_SECS;
}

static int sweep_layers(struct gc *gc, struct engine_images_gc_stats *st, struct error *err)
{
	cleanup_dir DIR *d = NULL;
	struct dirent *de;
	int r = open_sub(gc, "layers", &d, err);

	if (r < 0 || !d)
		return r;
	while ((errno = 0, de = readdir(d))) {
		if (!layer_garbage(gc, d, de->d_name))
			continue;
		r = fs_remove_tree(dirfd(d), de->d_name);
		if (r < 0)
			return error_set(err, -r, "remove layer %s: %s", de->d_name, strerror(-r));
		st->layers++;
	}
	return errno ? error_errno(err, "read layers") : 0;
}

/* The store's lock (the one image_store_tag() takes), so no name changes during the walk. */
static int lock_store(struct image_store *store, struct error *err)
{
	cleanup_free char *path = str_printf("%s/lock", image_store_root(store));
	cleanup_fd int fd = -1;

	if (!path)
		return error_set(err, ENOMEM, "out of memory");
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return error_errno(err, "open %s", path);
	while (flock(fd, LOCK_EX) < 0)
		if (errno != EINTR)
			return error_errno(err, "lock %s", path);
	return TAKE_FD(fd);
}

int engine_images_gc(struct image_store *store, struct engine_images_gc_stats *ret,
		     struct error *err)
{
	struct engine_images_gc_stats st = {0};
	struct gc gc = {.store = store};
	/* Exclusive: waits for the writers (pull, import, unpack), whose blobs and layers are
	 * referenced only once they finish; then the names, which must not change meanwhile. */
	cleanup_fd int writers = image_store_lock(store, true, err);
	cleanup_fd int lock = writers < 0 ? writers : lock_store(store, err);
	int r = lock < 0 ? lock : mark_all(&gc, err);

	if (r == 0)
		r = sweep_blobs(&gc, &st, err);
	if (r == 0)
		r = sweep_layers(&gc, &st, err);
	free(gc.blobs.v);
	free(gc.layers.v);
	if (ret)
		*ret = st;
	return r < 0 ? error_wrap(err, "gc %s", image_store_root(store)) : 0;
}
